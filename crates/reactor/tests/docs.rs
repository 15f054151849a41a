//! The example handler in `docs/event-loop.md` is the doctest at the top of `src/lib.rs`: the
//! chapter shows code that compiles and passes.

use std::path::Path;

/// The first fenced block of `text` that starts with `first_line`, without its fences.
fn block<'a>(text: &'a str, first_line: &str) -> &'a str {
    let start = text.find(first_line).unwrap_or_else(|| panic!("no block starting with {first_line:?}"));
    let end = text[start..].find("\n```").expect("the block ends");
    &text[start..start + end]
}

#[test]
fn the_chapters_example_handler_is_the_crates_doctest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    let chapter = std::fs::read_to_string(root.join("../../docs/event-loop.md")).expect("docs/event-loop.md");
    // The crate docs as rustdoc reads them: `//! ` taken off every line.
    let docs: String = (lib.lines())
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .flat_map(|line| [line, "\n"])
        .collect();
    let first_line = "use std::time::Duration;";
    assert_eq!(block(&chapter, first_line), block(&docs, first_line));
}
