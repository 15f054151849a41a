//! Every committed seed — the RFC vectors and the crash reproducers (`regression-*`) — run
//! through its target's check on stable, without libFuzzer: `cargo test` in `fuzz/`.

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use talkback_fuzz::handler::{self, Op, Setup};
use talkback_fuzz::seeds::{self, TARGETS};

#[test]
fn every_committed_seed_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut failures = Vec::new();
    for target in TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a seed").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds for {target}");
        for file in files {
            let data = std::fs::read(&file).expect("a seed file");
            if let Err(panic) = std::panic::catch_unwind(|| seeds::check(target, &data)) {
                let why = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                failures.push(format!("{} fails {target}: {why}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} seed(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn committed_seeds_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for seed in seeds::all() {
        let path = root.join(seed.target).join(&seed.name);
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(on_disk == seed.bytes, "{} is stale: cargo run --example write_seeds", path.display());
    }
}

/// The seed writer's encoding is what `arbitrary` decodes: each handler seed decodes to the
/// setup and ops it was written from.
#[test]
fn handler_seeds_decode_to_their_ops() {
    use handler::{Bytes, Which};
    let setup = Setup { which: Which::SseEcho, tight: true, ping: false };
    let ops = vec![
        Op::Connect,
        Op::Send { conn: 3, bytes: Bytes(b"GET / HTTP/1.1\r\n\r\n".to_vec()) },
        Op::SendCanned { conn: 1, which: 200 },
        Op::PeerClose { conn: 7 },
        Op::Advance { ms: 65_535 },
        Op::DeliverInbox,
        Op::TakeOutput { conn: 255 },
        Op::Send { conn: 0, bytes: Bytes(Vec::new()) },
    ];
    for which in [Which::HttpEcho, Which::WsEcho, Which::Demo, Which::SseEcho, Which::LongpollEcho] {
        let setup = Setup { which, ..setup.clone() };
        let bytes = seeds::encode_input(&setup, &ops);
        assert_eq!(handler::decode(&bytes), Some((setup.clone(), ops.clone())));
        let mut u = Unstructured::new(&bytes);
        assert_eq!(Setup::arbitrary(&mut u).ok(), Some(setup));
    }
}

/// The handler target's response checks refuse what they claim to refuse.
#[test]
fn handler_response_checks_catch_each_rule() {
    let date = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    let sse = format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n{date}\r\n");
    let ok = [
        format!("HTTP/1.1 200 OK\r\n{date}Content-Length: 0\r\n\r\n"),
        format!("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n{date}\r\n"),
        format!("{sse}id: 1\ndata: a\n\nid: 2\ndata: b\n\n"),
        format!("{sse}event: missed\ndata: 3\n\nid: 4\ndata: a\n\n"),
        "HTTP/1.".to_string(),
    ];
    for out in ok {
        assert_eq!(handler::check_responses(out.as_bytes()), Ok(()), "{out:?}");
    }
    let refused = [
        format!("HTTP/1.1 405 Method Not Allowed\r\n{date}\r\n"),
        format!("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n{date}\r\n"),
        "HTTP/1.1 200 OK\r\n\r\n".to_string(),
        format!("HTTP/1.1 200 OK\r\n{date}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
        format!("HTTP/1.1 426 Upgrade Required\r\n{date}\r\n"),
        format!("{sse}id: 1\ndata: a\n\nid: 1\ndata: a\n\n"),
        format!("{sse}id: 1\ndata: a\n\nid: 3\ndata: c\n\n"),
        "HTTP/1.0 200 OK\r\n\r\n".to_string(),
        "hello".to_string(),
    ];
    for out in refused {
        assert!(handler::check_responses(out.as_bytes()).is_err(), "{out:?}");
    }
}
