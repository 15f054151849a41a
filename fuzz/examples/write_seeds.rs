//! Writes the committed seeds (`seeds/<target>/<name>`) from the harness's RFC vectors:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example write_seeds              # (re)write
//! cargo run --manifest-path fuzz/Cargo.toml --example write_seeds -- --check   # verify
//! ```
//!
//! `--check` exits 1 if a seed file is missing or differs. Files named `regression-*` (crash
//! reproducers) are left alone.

use std::path::Path;

fn main() {
    let check = std::env::args().any(|arg| arg == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut stale = Vec::new();
    let seeds = talkback_fuzz::seeds::all();
    for seed in &seeds {
        let dir = root.join(seed.target);
        let path = dir.join(&seed.name);
        if check {
            if std::fs::read(&path).ok().as_deref() != Some(seed.bytes.as_slice()) {
                stale.push(path.display().to_string());
            }
            continue;
        }
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        std::fs::write(&path, &seed.bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    if !stale.is_empty() {
        eprintln!("stale seeds (run the example without --check):\n{}", stale.join("\n"));
        std::process::exit(1);
    }
    let verb = if check { "checked" } else { "wrote" };
    println!("{verb} {} seeds in {}", seeds.len(), root.display());
}
