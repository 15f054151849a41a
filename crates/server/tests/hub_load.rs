//! The hub under load, through the real reactor on `127.0.0.1:0`, bounded in count and time
//! (well under a minute on two cores, debug build):
//!
//! * a long-poll client loop keeps up with 10 000 messages published concurrently from another
//!   thread, and sees every id exactly once, in order, with its data;
//! * 10 000 long-polls parked on one channel are all released by one publish.
//!
//! The second test needs 10 000 sockets on each side. Both sides in one process would need
//! more than 20 000 descriptors, more than this machine's hard limit, so the server is the real
//! `demo` binary in a child process (its own descriptor table), stopped by its PID when the test
//! ends. If even 10 000 do not fit in this process's soft limit the test scales down and says so.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{get, post, spawn_hub};

use talkback_harness::{Client, Response};

/// `[{"id":N,"data":"…"},…]` for data without escapes (this file's messages are `msg-N`).
fn parse_plain_batch(response: &Response) -> Vec<(u64, String)> {
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.text();
    let inner = body.strip_prefix("[{").and_then(|b| b.strip_suffix("}]")).unwrap_or_else(|| panic!("batch {body}"));
    inner
        .split("},{")
        .map(|element| {
            let (id, data) = element
                .strip_prefix("\"id\":")
                .and_then(|e| e.split_once(",\"data\":\""))
                .and_then(|(id, data)| Some((id.parse().ok()?, data.strip_suffix('"')?)))
                .unwrap_or_else(|| panic!("element {element}"));
            (id, data.to_string())
        })
        .collect()
}

fn message(id: u64) -> String {
    format!("msg-{id}")
}

#[test]
fn longpoll_loop_across_10000_concurrent_publishes_loses_and_duplicates_nothing() {
    const N: u64 = 10_000;
    const PIPELINE: u64 = 100;
    let server = spawn_hub(|o| o.history = 16_384);
    let addr = server.addr();
    let started = Instant::now();
    // The publisher: keep-alive, 100 requests in flight at a time, checking every id it gets.
    let publisher = std::thread::spawn(move || {
        let mut client = Client::connect(addr);
        for first in (1..=N).step_by(PIPELINE as usize) {
            let last = (first + PIPELINE - 1).min(N);
            let requests: Vec<u8> = (first..=last).flat_map(|id| post("/ch/load", message(id).as_bytes())).collect();
            client.send(&requests);
            for id in first..=last {
                let response = client.read_response();
                assert_eq!((response.status, response.text()), (200, id.to_string().as_str()), "publish {id}");
            }
        }
    });
    // The long-poller: one keep-alive connection, each answer's last id is the next cursor.
    let mut client = Client::connect(addr);
    let mut received: Vec<(u64, String)> = Vec::with_capacity(N as usize);
    let mut answers = 0u64;
    while (received.len() as u64) < N {
        assert!(answers < 2 * N, "too many answers: the loop is not making progress");
        assert!(started.elapsed() < Duration::from_secs(45), "took too long: {} of {N}", received.len());
        let after = received.last().map_or(0, |(id, _)| *id);
        let response = client.request(&get(&format!("/ch/load/longpoll?after={after}&timeout=5")));
        answers += 1;
        if response.status == 204 {
            continue;
        }
        assert_eq!(response.header("talkback-missed"), None, "history is large enough: nothing missed");
        received.extend(parse_plain_batch(&response));
    }
    publisher.join().expect("the publisher");
    let expected: Vec<(u64, String)> = (1..=N).map(|id| (id, message(id))).collect();
    if let Some(at) = received.iter().zip(&expected).position(|(got, want)| got != want) {
        panic!("first difference at index {at}: got {:?}, expected {:?}", received[at], expected[at]);
    }
    assert_eq!(received.len(), expected.len(), "nothing duplicated after the last id");
    eprintln!("{N} messages through {answers} long-poll answers in {:.2?}", started.elapsed());
}

/// The soft limit on open files of this process, from `/proc/self/limits`.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The `demo` binary on `127.0.0.1:0` in a child process, killed (by its PID) on drop.
struct Demo {
    child: Child,
    addr: SocketAddr,
}

impl Demo {
    fn start() -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--addr", "127.0.0.1:0", "--threads", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the demo binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("the first line of demo's stdout");
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        Demo { child, addr }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ten_thousand_parked_longpolls_are_released_by_one_publish() {
    const WANTED: u64 = 10_000;
    const CONNECT_THREADS: usize = 16;
    // This process holds one socket per client, plus a few for the harness and the child.
    let limit = open_files_limit().unwrap_or(1024);
    let n = WANTED.min(limit.saturating_sub(200)) as usize;
    if (n as u64) < WANTED {
        eprintln!(
            "NOTE: open-files limit is {limit}; running {n} parked long-polls instead of {WANTED} \
             (run `ulimit -n 65536` first for the full test)"
        );
    }
    assert!(n >= 100, "open-files limit {limit} is too low for this test");
    let demo = Demo::start();
    let started = Instant::now();
    let request = get("/ch/herd/longpoll?after=0&timeout=60");
    // Connect from a few threads: the listen backlog is 128 (std's), and a SYN dropped on a
    // full backlog costs its connect a 1 s retransmit; in parallel those waits overlap.
    let mut clients: Vec<Client> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECT_THREADS)
            .map(|t| {
                let (addr, request) = (demo.addr, &request);
                let count = n / CONNECT_THREADS + usize::from(t < n % CONNECT_THREADS);
                scope.spawn(move || {
                    (0..count)
                        .map(|_| {
                            let mut client = Client::connect(addr);
                            client.send(request);
                            client
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a connecting thread")).collect()
    });
    assert_eq!(clients.len(), n);
    let connected = started.elapsed();
    // Give the server a moment to read every request, then check that none was answered.
    std::thread::sleep(Duration::from_millis(500));
    let mut probe = [0u8; 1];
    for (i, client) in clients.iter().enumerate() {
        let mut stream = client.stream();
        stream.set_nonblocking(true).expect("nonblocking");
        match stream.read(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("long-poll {i} was answered before the publish: {other:?}"),
        }
        stream.set_nonblocking(false).expect("blocking again");
    }
    let published = Instant::now();
    let response = Client::connect(demo.addr).request(&post("/ch/herd", b"wake"));
    assert_eq!((response.status, response.text()), (200, "1"));
    for (i, client) in clients.iter_mut().enumerate() {
        let response = client.read_response();
        assert_eq!(response.status, 200, "long-poll {i}: {response:?}");
        assert_eq!(parse_plain_batch(&response), [(1, "wake".to_string())], "long-poll {i}");
    }
    eprintln!(
        "{n} parked long-polls: connected in {connected:.2?}, all released {:.2?} after the publish",
        published.elapsed()
    );
    drop(clients);
    drop(demo);
}
