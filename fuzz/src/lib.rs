//! talkback-fuzz: what the fuzz targets in `fuzz_targets/` check, as plain functions, so the
//! same checks replay every committed seed under `cargo test` (stable, no libFuzzer) and run
//! under `cargo +nightly fuzz run TARGET` (coverage-guided).
//!
//! | target | module | input | asserts besides "no panic" |
//! |---|---|---|---|
//! | `http1_decoder` | [`http1`] | the bytes of a connection (heads, bodies, chunked) | two- and three-way splits, one byte at a time and recycled buffers give the same events; framing invariants |
//! | `ws_connection` | [`ws`] | a role-and-config byte, then the bytes received | splits and direct payload reads give the same events; each event re-encoded decodes back; what we transmit decodes cleanly at the peer; headers re-encode to their bytes; deadlines move forward |
//! | `sse_parser` | [`sse`] | an event stream | splits give the same events; the encoder's output of each parsed event parses back to it |
//! | `longpoll_query` | [`longpoll`] | a query string (then a log's shape) | parsing matches a reference model and round-trips; a log's batches match a model; JSON strings decode back |
//! | `resp_decoder` | [`resp`] | the bytes a Redis server sends | splits and a byte at a time give the same values and error; each value re-encoded decodes back |
//! | `server_handler` | [`handler`] | `arbitrary` ops: connect, send, peer close, advance, deliver, take output | responses are well-formed; every open connection has a timer; closed ones stay closed |
//!
//! [`seeds`] turns the harness's RFC vectors into the committed seed files
//! (`cargo run --example write_seeds`).

pub mod handler;
pub mod http1;
pub mod longpoll;
pub mod resp;
pub mod seeds;
pub mod sse;
pub mod ws;

/// A cheap, deterministic hash of the input (FNV-1a), so a target can derive "random" split
/// points from the bytes it is given and still be reproducible.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The split points a target tries: the middle, and two more drawn from the input's hash
/// (sorted, each in `0..=len`).
pub fn split_points(data: &[u8]) -> [usize; 3] {
    let len = data.len();
    let hash = fnv1a(data);
    let a = (hash % (len as u64 + 1)) as usize;
    let b = ((hash >> 32) % (len as u64 + 1)) as usize;
    let mut points = [len / 2, a.min(b), a.max(b)];
    points.sort_unstable();
    points
}

/// `data` cut at `points` (sorted), as the pieces a connection would read.
pub fn pieces<'a>(data: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut at = 0;
    for &point in points {
        out.push(&data[at..point]);
        at = point;
    }
    out.push(&data[at..]);
    out
}
