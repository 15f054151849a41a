//! ws-load: WebSocket load generator for `scripts/bench-ws.sh`.
//!
//! ```text
//! ws-load --url ws://127.0.0.1:PORT/ --scenario latency|throughput|bandwidth|idle
//!         [--label NAME] [--secs 10] [--warmup 1] [--conns N] [--inflight N] [--size BYTES]
//!         [--binary] [--threads 1] [--spin] [--pid SERVER_PID]   (idle needs --pid)
//! ```
//!
//! | scenario | default shape | figure |
//! |---|---|---|
//! | `latency` | 1 connection, 1 in flight, 32 B text | p50 / p99 / mean round trip |
//! | `throughput` | 64 connections × 16 in flight × 32 B text | messages/s |
//! | `bandwidth` | 8 connections × 4 in flight × 64 KiB binary | MB/s (payload, one way) |
//! | `idle` | 10 000 connections, handshake, hold | server RSS growth / connection |
//!
//! The client is built to stay out of the server's way on a small machine: frames are masked
//! once up front (only the 16 sequence digits change), each connection is one task doing
//! non-blocking `writev`/`read` on a raw socket, and echoes are checked byte by byte as
//! they stream in (sequence, length, opcode, content) without being buffered. Any mismatch,
//! lost echo, close or I/O error counts as an error; the run must end with `errors=0`.
//!
//! Output: one `BENCH tool=ws-load …` line (see `talkback_bench::report`) and a table.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use talkback_bench::args::Args;
use talkback_bench::echo::{Echoer, Tally};
use talkback_bench::http::Url;
use talkback_bench::net::{read_once, runtime};
use talkback_bench::procfs;
use talkback_bench::report::{self, Line};
use talkback_bench::wsframe::{self, ClientFrames, Echo, ServerFrames};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// What one run asks for.
#[derive(Debug, Clone)]
struct Plan {
    url: Url,
    label: String,
    scenario: String,
    conns: usize,
    inflight: usize,
    frames: Arc<ClientFrames>,
    secs: f64,
    warmup: f64,
    pids: Vec<u32>,
    /// Busy-poll the socket instead of sleeping in epoll (takes a core per connection).
    spin: bool,
}

fn main() {
    match run() {
        Ok(errors) => std::process::exit(if errors == 0 { 0 } else { 2 }),
        Err(e) => {
            eprintln!("ws-load: {e}");
            std::process::exit(1);
        }
    }
}

fn plan(args: &Args) -> Result<Plan, String> {
    let scenario = args.get("scenario").unwrap_or("latency").to_owned();
    let (conns, inflight, size, binary) = match scenario.as_str() {
        "latency" => (1, 1, 32, false),
        "throughput" => (64, 16, 32, false),
        "bandwidth" => (8, 4, 64 * 1024, true),
        "idle" => (10_000, 1, 32, false),
        other => return Err(format!("unknown scenario {other:?}")),
    };
    let size = args.parse_or("size", size)?;
    let opcode = if args.flag("binary") || binary { wsframe::OP_BINARY } else { wsframe::OP_TEXT };
    Ok(Plan {
        url: Url::parse(args.required("url")?)?,
        label: args.get("label").unwrap_or("server").to_owned(),
        conns: args.parse_or("conns", conns)?,
        inflight: args.parse_or("inflight", inflight)?.max(1),
        frames: Arc::new(ClientFrames::new(opcode, size.max(wsframe::SEQ_LEN))),
        secs: args.parse_or("secs", 10.0)?,
        warmup: args.parse_or("warmup", 1.0)?,
        pids: procfs::parse_pids(&args.all("pid"))?,
        spin: args.flag("spin"),
        scenario,
    })
}

fn run() -> Result<u64, String> {
    let args = Args::from_env()?;
    if args.flag("help") {
        println!(
            "ws-load --url ws://HOST:PORT/PATH --scenario latency|throughput|bandwidth|idle [--label NAME] [--secs S] [--pid PID]"
        );
        return Ok(0);
    }
    let plan = plan(&args)?;
    let rt = runtime(args.parse_or("threads", 1usize)?)?;
    rt.block_on(async move { if plan.scenario == "idle" { idle(plan).await } else { load(plan).await } })
}

/// Connects and completes the opening handshake.
async fn open(url: &Url) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(url.addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .write_all(&wsframe::handshake_request(&url.host, &url.path))
        .await
        .map_err(|e| format!("handshake write: {e}"))?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 512];
    loop {
        // Read no further than the head: echoes have not been asked for yet, so nothing
        // follows it, but peek first to be sure not to swallow frame bytes.
        let n = stream.peek(&mut byte).await.map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("closed during handshake".into());
        }
        let before = head.len();
        head.extend_from_slice(&byte[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let take = end + 4 - before;
            stream.read_exact(&mut byte[..take]).await.map_err(|e| e.to_string())?;
            head.truncate(end + 4);
            wsframe::check_handshake(&head)?;
            return Ok(stream);
        }
        stream.read_exact(&mut byte[..n]).await.map_err(|e| e.to_string())?;
        if head.len() > 16 * 1024 {
            return Err("handshake response head too large".into());
        }
    }
}

async fn load(plan: Plan) -> Result<u64, String> {
    let mut streams = Vec::with_capacity(plan.conns);
    for _ in 0..plan.conns {
        streams.push(open(&plan.url).await?);
    }
    let start = Instant::now();
    let window =
        (start + Duration::from_secs_f64(plan.warmup), start + Duration::from_secs_f64(plan.warmup + plan.secs));
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|s| {
            let (frames, inflight) = (plan.frames.clone(), plan.inflight);
            if plan.spin {
                tokio::task::spawn_blocking(move || spin(s, frames, inflight, window))
            } else {
                tokio::spawn(drive(s, frames, inflight, window))
            }
        })
        .collect();
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await.map_err(|e| e.to_string())?);
    }
    let secs = plan.secs;
    let rate = total.msgs as f64 / secs;
    let mb = rate * plan.frames.payload_len() as f64 / 1e6;
    let h = &total.latency;
    let line = Line::new("ws-load", &plan.scenario, &plan.label)
        .field("conns", plan.conns)
        .field("inflight", plan.inflight)
        .field("size", plan.frames.payload_len())
        .field("spin", u8::from(plan.spin))
        .float("secs", secs)
        .field("msgs", total.msgs)
        .float("msg_per_s", rate)
        .float("mb_per_s", mb)
        .micros("p50_us", h.quantile(0.5))
        .micros("p99_us", h.quantile(0.99))
        .micros("mean_us", h.mean())
        .micros("max_us", h.max())
        .field("errors", total.errors);
    line.print();
    report::table(
        &["server", "scenario", "conns×inflight×size", "msg/s", "MB/s", "p50", "p99", "mean", "errors"],
        &[vec![
            plan.label.clone(),
            plan.scenario.clone(),
            format!("{}×{}×{}", plan.conns, plan.inflight, plan.frames.payload_len()),
            report::human_rate(rate),
            format!("{mb:.1}"),
            report::human_duration(h.quantile(0.5)),
            report::human_duration(h.quantile(0.99)),
            report::human_duration(h.mean()),
            total.errors.to_string(),
        ]],
    );
    if let Some(e) = total.first_error {
        eprintln!("ws-load: first error: {e}");
    }
    Ok(total.errors)
}

/// Echo loop of one connection: keeps `inflight` messages outstanding until the window
/// closes, then drains. Messages received inside the window are counted and timed.
async fn drive(stream: TcpStream, frames: Arc<ClientFrames>, inflight: usize, window: (Instant, Instant)) -> Tally {
    let mut tally = Tally::default();
    let drain_deadline = window.1 + Duration::from_secs(5);
    let give_up = tokio::time::sleep_until(drain_deadline.into());
    tokio::pin!(give_up);
    let mut conn = Echoer::new(frames, inflight);
    let mut buf = vec![0u8; (conn.frames.frame_len() * 2).clamp(64 * 1024, 1 << 20)];
    loop {
        let now = Instant::now();
        let sending = now < window.1;
        if sending {
            conn.top_up(now);
        } else if conn.outstanding() == 0 {
            break;
        }
        let interest = if conn.write_pending() { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
        // One timer for the whole run (not one armed and dropped per wait).
        let ready = tokio::select! {
            biased;
            r = stream.ready(interest) => match r {
                Ok(r) => r,
                Err(e) => {
                    tally.error(format!("poll: {e}"));
                    break;
                }
            },
            () = &mut give_up => {
                tally.error(format!("{} echoes still missing 5 s after the run", conn.outstanding()));
                break;
            }
        };
        if ready.is_writable() && conn.write_pending() {
            if let Err(e) = conn.write(|s| stream.try_write_vectored(s)) {
                tally.error(format!("write: {e}"));
                break;
            }
        }
        if ready.is_readable() && !absorb(read_once(&stream, &mut buf), &buf, &mut conn, window, &mut tally) {
            break;
        }
    }
    tally
}

async fn idle(plan: Plan) -> Result<u64, String> {
    if plan.pids.is_empty() {
        return Err("idle needs --pid SERVER_PID".into());
    }
    let before = procfs::rss_sum(&plan.pids).map_err(|e| e.to_string())?;
    let gate = Arc::new(Semaphore::new(128));
    let began = Instant::now();
    let tasks: Vec<_> = (0..plan.conns)
        .map(|_| {
            let (url, gate) = (plan.url.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                open(&url).await
            })
        })
        .collect();
    let mut conns = Vec::with_capacity(plan.conns);
    let mut tally = Tally::default();
    for t in tasks {
        match t.await.map_err(|e| e.to_string())? {
            Ok(s) => conns.push(s),
            Err(e) => tally.error(e),
        }
    }
    let opened = began.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = procfs::rss_sum(&plan.pids).map_err(|e| e.to_string())?;
    let per_conn = after.saturating_sub(before) as f64 / conns.len().max(1) as f64;
    // Prove every held connection is still alive: one echo each.
    let checks: Vec<_> = conns
        .into_iter()
        .map(|s| {
            let (frames, gate) = (plan.frames.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                one_echo(s, &frames).await
            })
        })
        .collect();
    let mut echoed = 0u64;
    for c in checks {
        match c.await.map_err(|e| e.to_string())? {
            Ok(()) => echoed += 1,
            Err(e) => tally.error(e),
        }
    }
    Line::new("ws-load", "idle", &plan.label)
        .field("conns", plan.conns)
        .field("echoed", echoed)
        .field("rss_before", before)
        .field("rss_after", after)
        .float("bytes_per_conn", per_conn)
        .float("open_secs", opened.as_secs_f64())
        .field("errors", tally.errors)
        .print();
    report::table(
        &["server", "scenario", "conns", "RSS before", "RSS after", "bytes/conn", "errors"],
        &[vec![
            plan.label.clone(),
            "idle".into(),
            plan.conns.to_string(),
            format!("{:.1} MiB", before as f64 / 1048576.0),
            format!("{:.1} MiB", after as f64 / 1048576.0),
            format!("{per_conn:.0}"),
            tally.errors.to_string(),
        ]],
    );
    if let Some(e) = tally.first_error {
        eprintln!("ws-load: first error: {e}");
    }
    Ok(tally.errors)
}

async fn one_echo(mut stream: TcpStream, frames: &ClientFrames) -> Result<(), String> {
    stream.write_all(&frames.frame(0)).await.map_err(|e| format!("write: {e}"))?;
    let mut parser = ServerFrames::default();
    let mut buf = vec![0u8; 4096];
    let (mut ok, mut done) = (true, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done {
        let n = tokio::time::timeout_at(deadline.into(), stream.read(&mut buf))
            .await
            .map_err(|_| "no echo within 10 s".to_string())?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before echoing".into());
        }
        parser.feed(&buf[..n], &mut |e| match e {
            Echo::Chunk { offset, bytes } => ok &= frames.matches(0, offset, bytes),
            Echo::End { len, .. } => {
                ok &= len == frames.payload_len();
                done = true;
            }
        })?;
    }
    if ok { Ok(()) } else { Err("echo differs from what was sent".into()) }
}

/// [`drive`] without sleeping: the socket is polled in a loop on a thread of its own, so the
/// client adds no wake-up of its own to each round trip (`--spin`, for the latency scenario:
/// it needs a free core per connection).
fn spin(stream: TcpStream, frames: Arc<ClientFrames>, inflight: usize, window: (Instant, Instant)) -> Tally {
    use std::io::{Read, Write};
    let mut tally = Tally::default();
    let mut stream = match stream.into_std() {
        Ok(s) => s,
        Err(e) => {
            tally.error(format!("into_std: {e}"));
            return tally;
        }
    };
    let drain_deadline = window.1 + Duration::from_secs(5);
    let mut conn = Echoer::new(frames, inflight);
    let mut buf = vec![0u8; (conn.frames.frame_len() * 2).clamp(64 * 1024, 1 << 20)];
    loop {
        let now = Instant::now();
        if now < window.1 {
            conn.top_up(now);
        } else if conn.outstanding() == 0 {
            break;
        } else if now > drain_deadline {
            tally.error(format!("{} echoes still missing 5 s after the run", conn.outstanding()));
            break;
        }
        if conn.write_pending() {
            let mut w = &stream;
            if let Err(e) = conn.write(|s| w.write_vectored(s)) {
                tally.error(format!("write: {e}"));
                break;
            }
        }
        let result = stream.read(&mut buf);
        if !absorb(result, &buf, &mut conn, window, &mut tally) {
            break;
        }
    }
    tally
}

/// Acts on one read: checks the echoed bytes, or records why the connection is done for.
/// Returns whether to go on (`WouldBlock` is no reason to stop).
fn absorb(
    result: io::Result<usize>,
    buf: &[u8],
    conn: &mut Echoer,
    window: (Instant, Instant),
    tally: &mut Tally,
) -> bool {
    let failure = match result {
        Ok(0) => "server closed the connection".to_owned(),
        Ok(n) => match conn.read(&buf[..n], window, tally) {
            Ok(()) => return true,
            Err(e) => e,
        },
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
        Err(e) => format!("read: {e}"),
    };
    tally.error(failure);
    false
}
