//! What permessage-deflate costs in memory, per window size: the resident memory a compressor
//! and an inflater hold once they have handled one message (500 of each kept alive at once,
//! measured from `/proc/self/statm`, so Linux only).
//!
//! ```text
//! cargo run --release -p talkback-ws --example deflate_memory
//! ```
//!
//! A connection with context takeover keeps both between messages; without it (the hub:
//! `server_no_context_takeover`, `client_no_context_takeover`) it keeps neither — the hub's
//! compressors are one per loop and window size, shared by every subscriber.

use talkback_ws::{DEFLATE_TAIL, Deflater, Inflater, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// How many of each are made: the resident memory they add, divided by this, is the figure.
const N: usize = 500;

/// Resident bytes of this process (Linux `/proc/self/statm`, 4 KiB pages).
fn rss() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<isize>().ok()).unwrap_or(0) * 4096
}

/// Resident memory per item that `make` builds (and uses), `N` kept alive at once.
fn per_item<T>(mut make: impl FnMut() -> T) -> isize {
    let before = rss();
    let items: Vec<T> = (0..N).map(|_| make()).collect();
    let grown = rss() - before;
    drop(items);
    grown / N as isize
}

fn main() {
    let message: Vec<u8> =
        (0..64).flat_map(|i| format!("{{\"seq\":{i},\"user\":\"ada\",\"text\":\"hello\"}},").into_bytes()).collect();
    println!("| window | compressor, level 1 | compressor, level 6 | inflater |");
    println!("|---|---|---|---|");
    let kib = |b: isize| format!("{:.1} KiB", b as f64 / 1024.0);
    for bits in MIN_WINDOW_BITS..=MAX_WINDOW_BITS {
        let deflater = |level| {
            per_item(|| {
                let mut deflater = Deflater::new(bits, level);
                let mut out = Vec::new();
                deflater.compress(&message, &mut out, false);
                deflater
            })
        };
        let (fast, default) = (deflater(1), deflater(6));
        let mut payload = Vec::new();
        Deflater::new(bits, 6).compress(&message, &mut payload, false);
        let inflater = per_item(|| {
            let mut inflater = Inflater::new(bits);
            let mut out = [0u8; 4096];
            for input in [&payload[..], &DEFLATE_TAIL[..]] {
                let _ = inflater.inflate(input, &mut out);
            }
            inflater
        });
        println!("| {bits} bits ({} B) | {} | {} | {} |", 1u32 << bits, kib(fast), kib(default), kib(inflater));
    }
}
