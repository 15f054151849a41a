//! Abuse, tried the way an attacker would, bounded in count and time and on loopback only:
//! trickling heads, a stalled subscriber, running out of file descriptors, connection churn,
//! and random bytes where a protocol is expected. Each test checks that the server keeps
//! serving everyone else, and that what it holds comes back down.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use talkback_harness::Client;

use common::{get, spawn_hub};

/// A server binary in a child process, on `127.0.0.1:0`, killed (by its PID) on drop.
struct Binary {
    child: Child,
    addr: SocketAddr,
}

impl Binary {
    /// Starts `demo` with `args`; with `max_files`, under that open-files limit (`ulimit -n`).
    fn demo(args: &[&str], max_files: Option<u32>) -> Binary {
        let demo = env!("CARGO_BIN_EXE_demo");
        let mut command = match max_files {
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(format!("ulimit -n {n} && exec \"$0\" \"$@\"")).arg(demo);
                sh
            }
            None => Command::new(demo),
        };
        command.args(["--addr", "127.0.0.1:0"]).args(args);
        let mut child =
            command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start demo");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut first).expect("demo's first line");
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        Binary { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User plus system CPU time the server has used, in clock ticks (`/proc/PID/stat`).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
    }

    /// Open file descriptors of the server.
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |dir| dir.count())
    }

    /// Resident memory of the server, in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
        line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("kB") * 1024
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The soft limit on open files of this process (the child inherits it).
fn open_files_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or("");
    line.split_whitespace().nth(3).and_then(|n| n.parse().ok()).unwrap_or(1024)
}

/// One request on a fresh connection; `None` if the server closed or did not answer.
fn try_request(addr: SocketAddr, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(request).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A small deterministic generator of "random" bytes (xorshift64), so a failure replays.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Slow-loris: thousands of connections trickle a head a byte at a time; a normal client on
/// the same server is answered throughout, and every trickler is still held only by its
/// head timeout (README, "Limits": 408 and close).
#[test]
fn thousands_of_trickling_heads_leave_a_normal_client_served() {
    let trickling = 2000.min(open_files_limit().saturating_sub(200) / 2);
    let server = Binary::demo(&["--threads", "2", "--head-timeout", "10"], None);
    let mut tricklers: Vec<TcpStream> = (0..trickling).filter_map(|_| TcpStream::connect(server.addr).ok()).collect();
    assert!(tricklers.len() >= trickling * 9 / 10, "{} of {trickling} connected", tricklers.len());
    let head = b"GET /ch/slow/poll HTTP/1.1\r\nHost: t";
    let mut probe = Client::connect(server.addr);
    probe.set_timeout(Duration::from_secs(5));
    let mut slowest = Duration::ZERO;
    for (round, byte) in head.iter().enumerate().take(12) {
        for stream in &mut tricklers {
            let _ = stream.write_all(&[*byte]);
        }
        for _ in 0..5 {
            let started = Instant::now();
            let response = probe.request(&get("/ch/probe/poll"));
            assert_eq!(response.status, 204, "round {round}");
            slowest = slowest.max(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A liveness bound, not a speed target: a starved probe would wait for the trickles.
    assert!(slowest < Duration::from_secs(1), "slowest probe answer {slowest:?} among {} tricklers", tricklers.len());
    drop(tricklers);
}

/// README, "Limits" (output queue per connection): a subscriber that stops reading is cut
/// off at the output cap while every other subscriber receives every message.
#[test]
fn a_stalled_subscriber_among_many_is_cut_off_and_the_rest_get_everything() {
    const READERS: usize = 4;
    const MESSAGES: usize = 3000;
    const SIZE: usize = 16 << 10;
    // More than the stalled socket's kernel buffers and the 1 MiB cap can hold, by far.
    let server = spawn_hub(|o| o.output_cap = 1 << 20);
    let open = |addr| {
        let mut client = Client::connect(addr);
        client.set_timeout(Duration::from_secs(30));
        client.send(&get("/ch/stall/sse"));
        client.read_until(b"\r\n\r\n");
        client
    };
    let mut stalled = open(server.addr());
    // Every event is `id: N\ndata: {SIZE bytes}\n\n`: a reader knows how many bytes to expect.
    let expected: usize = (1..=MESSAGES).map(|id| 4 + id.to_string().len() + 7 + SIZE + 2).sum();
    // Each reader says how many bytes it has, and the publisher stays at most 16 messages
    // (a quarter of the cap) ahead of the slowest: on a loaded machine, a reader thread
    // descheduled for a while must not look like a stalled subscriber.
    let progress: Vec<Arc<AtomicUsize>> = (0..READERS).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let readers: Vec<_> = (progress.iter().map(Arc::clone))
        .map(|bytes| {
            let mut client = open(server.addr());
            std::thread::spawn(move || {
                let mut got = client.take_buffered();
                let mut buf = vec![0u8; 1 << 20];
                while got.len() < expected {
                    match client.stream().read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                    bytes.store(got.len(), Ordering::Relaxed);
                }
                got
            })
        })
        .collect();
    let body = "s".repeat(SIZE);
    let mut publisher = server.client();
    for sent in 0..MESSAGES {
        let deadline = Instant::now() + Duration::from_secs(10);
        let slowest = || progress.iter().map(|b| b.load(Ordering::Relaxed)).min().unwrap_or(0) / SIZE;
        while sent > slowest() + 16 && Instant::now() < deadline && !readers.iter().any(|r| r.is_finished()) {
            std::thread::sleep(Duration::from_micros(200));
        }
        assert_eq!(publisher.request(&common::post("/ch/stall", body.as_bytes())).status, 200);
    }
    let last = format!("id: {MESSAGES}\ndata: ");
    for reader in readers {
        let got = reader.join().expect("reader");
        assert_eq!(got.len(), expected, "every message, once");
        let tail = &got[got.len() - SIZE - 2 - last.len()..];
        assert!(tail.starts_with(last.as_bytes()), "the last event is the last message");
    }
    // The stalled one was dropped: after what its socket buffers held, the stream ends.
    let mut rest = stalled.take_buffered();
    stalled.stream().set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let ended = loop {
        let mut buf = vec![0u8; 1 << 20];
        match stalled.stream().read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => rest.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    assert!(ended, "the stalled subscriber's connection was closed");
    assert!(rest.len() < expected, "it did not get everything ({} of {expected} bytes)", rest.len());
}

/// EMFILE: under a low open-files limit the server cannot accept more; it must not spin
/// (accept is retried after a pause) and must serve again as soon as descriptors free up.
#[test]
fn running_out_of_file_descriptors_costs_no_cpu_and_recovers() {
    let server = Binary::demo(&["--threads", "1"], Some(48));
    // More connections than the server has descriptors for: the kernel queues the rest.
    let held: Vec<TcpStream> = (0..80).filter_map(|_| TcpStream::connect(server.addr).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = server.cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let used = server.cpu_ticks() - before;
    // One clock tick is 10 ms: a spinning accept loop would use all 100 of them.
    assert!(used <= 10, "{used} ticks of CPU in one second while out of descriptors");
    drop(held);
    let answered = (0..30).find_map(|_| {
        try_request(server.addr, &get("/ch/back/poll")).or_else(|| {
            std::thread::sleep(Duration::from_millis(100));
            None
        })
    });
    assert_eq!(answered, Some(204), "served again once the descriptors were freed");
}

/// Connection churn: thousands of connect–request–close cycles leave no descriptor behind
/// and no memory growth beyond the allocator's pools.
#[test]
fn connection_churn_leaves_no_descriptors_or_memory_behind() {
    let server = Binary::demo(&["--threads", "2"], None);
    let cycle = |n: usize| {
        for i in 0..n {
            let status = try_request(server.addr, &get(&format!("/ch/churn{}/poll", i % 16)));
            assert_eq!(status, Some(204), "cycle {i}");
        }
    };
    cycle(500); // warm up the pools and the channel map
    let settle = |target: usize| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.open_fds() > target && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        server.open_fds()
    };
    let fds = settle(0);
    let rss = server.rss();
    cycle(5000);
    assert_eq!(settle(fds), fds, "every churned connection's descriptor is closed");
    let grown = server.rss().saturating_sub(rss);
    assert!(grown < 2 << 20, "RSS grew {grown} bytes over 5000 connections");
}

/// Random bytes after a valid request head: the request is answered, then the garbage gets an
/// error status and the connection closes (RFC 9112 §3: a request line that does not parse), and
/// other clients are not disturbed.
#[test]
fn random_bytes_after_a_valid_head_are_refused_and_disturb_nobody() {
    let server = spawn_hub(|_| {});
    for seed in 1..=20u64 {
        let mut client = server.client();
        client.set_timeout(Duration::from_secs(5));
        let mut bytes = get("/ch/noise/poll");
        bytes.extend_from_slice(&noise(seed, 4096));
        bytes.extend_from_slice(b"\r\n\r\n"); // the garbage "head" ends: it must be judged now
        client.send(&bytes);
        assert_eq!(client.read_response().status, 204, "seed {seed}: the valid request first");
        let rest = client.expect_close();
        let status = std::str::from_utf8(rest.get(9..12).unwrap_or_default()).unwrap_or_default();
        let refused = status.starts_with('4') || status.starts_with('5');
        assert!(refused, "seed {seed}: an error status, then close: {:?}", String::from_utf8_lossy(&rest));
        assert_eq!(server.client().request(&get("/ch/noise/poll")).status, 204, "others are served");
    }
}

/// Random bytes after a WebSocket upgrade: the server fails the connection with a close
/// frame (RFC 6455 §7.1.7) or closes it, never answers garbage, and keeps serving others.
#[test]
fn random_bytes_after_an_upgrade_fail_the_websocket_and_disturb_nobody() {
    let server = spawn_hub(|_| {});
    let upgrade = "GET /ch/noise/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    for seed in 1..=20u64 {
        let mut client = server.client();
        client.set_timeout(Duration::from_secs(5));
        let mut bytes = upgrade.as_bytes().to_vec();
        bytes.extend_from_slice(&noise(seed, 4096));
        client.send(&bytes);
        let head = client.read_until(b"\r\n\r\n");
        assert!(head.starts_with(b"HTTP/1.1 101 "), "seed {seed}");
        let rest = client.expect_close();
        // What it sent before closing ends the WebSocket properly: a close frame (0x88) is in it.
        assert!(rest.is_empty() || rest.contains(&0x88), "seed {seed}: {rest:02x?}");
        assert_eq!(server.client().request(&get("/ch/noise/poll")).status, 204, "others are served");
    }
}
