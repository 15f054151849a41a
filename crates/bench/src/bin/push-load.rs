//! push-load: fan-out load for `scripts/bench-push.sh`, against talkback's `demo` or Nchan.
//!
//! ```text
//! push-load --scenario sse|longpoll|held|ws|wsplain --style talkback|nchan|uws   (alias: --longpoll-style)
//!           --publish-url 'http://H:P/ch/{c}' --sse-url 'http://H:P/ch/{c}/sse'
//!           [--sse-url URL ...: more than one splits the subscribers across them, round-robin]
//!           --longpoll-url 'http://H:P/ch/{c}/longpoll' --ws-url 'http://H:P/ch/{c}/ws'
//!           [--label NAME] [--subscribers 1000] [--messages 200] [--size 64]
//!           [--publish-interval-ms 0] [--drain-secs 10] [--threads 1] [--pid PID,...] [--details]
//! ```
//!
//! | scenario | what happens | figures |
//! |---|---|---|
//! | `sse` | 1 000 `EventSource`-style subscribers on one channel; 200 POSTs | delivered, lost, duplicated, p50/p99 publish→receive, deliveries/s |
//! | `longpoll` | 1 000 long-poll loops, each re-asking after its last id; 200 POSTs | the same |
//! | `held` | 10 000 parked long-polls (`--pid` needed) | server RSS growth per held request; then one publish must release all |
//! | `ws` | 1 000 WebSocket subscribers offering permessage-deflate (RFC 7692, as Chromium does; a server that declines is an error); 200 POSTs of `--size` bytes | the same, plus bytes on the wire per delivered message and, with `--pid`, server CPU per delivered message |
//! | `wsplain` | the same WebSocket fan-out without offering an extension (a server that answers one is an error), so that servers without compress-once (uWebSockets' own pub/sub, `--style uws`) compare like for like | the same as `ws` |
//!
//! `{c}` in the URLs is replaced by a fresh channel name per run. Each body carries its
//! sequence number and publish time (`"<seq> <ns since start>"`), so loss, duplication (by
//! sequence) and latency are measured the same way against both servers. The long-poll
//! cursor follows each server's own protocol: `?after=<last id>&timeout=S` for talkback
//! (`--style talkback`), `If-Modified-Since` + `If-None-Match` from the previous answer's
//! `Last-Modified` + `Etag` for Nchan (`--style nchan`, multipart batches understood).
//! Publishing is back-to-back on one keep-alive connection (each POST waits for its answer)
//! unless `--publish-interval-ms` spaces them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use talkback_bench::args::Args;
use talkback_bench::hist::Histogram;
use talkback_bench::http::{Conn, Url};
use talkback_bench::net::runtime;
use talkback_bench::procfs;
use talkback_bench::push::{self, Seen, SseParser};
use talkback_bench::report::{self, Line};
use talkback_ws::handshake::ClientHandshake;
use talkback_ws::{Config, Connection, DeflateOffer, Event, Role};
use tokio::sync::{Semaphore, watch};

/// The run's settings, shared by every task.
#[derive(Debug)]
struct Plan {
    scenario: String,
    label: String,
    nchan: bool,
    publish: Url,
    /// Where subscribers subscribe: subscriber `i` uses `subscribe[i % len]` (several
    /// `--sse-url`s split them across the nodes of a cluster).
    subscribe: Vec<Url>,
    subscribers: usize,
    messages: u64,
    size: usize,
    interval: Duration,
    drain: Duration,
    pids: Vec<u32>,
    base: Instant,
    ready: AtomicUsize,
    gate: Semaphore,
    /// `--details`: latency per ten messages and the publish answers, on stderr.
    details: bool,
    /// `ws`: bytes the subscribers read after their handshakes (frames), all together.
    wire: AtomicU64,
}

fn main() {
    match run() {
        Ok(bad) => std::process::exit(if bad == 0 { 0 } else { 2 }),
        Err(e) => {
            eprintln!("push-load: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<u64, String> {
    let args = Args::from_env()?;
    if args.flag("help") {
        println!(
            "push-load --scenario sse|longpoll|held|ws|wsplain --style talkback|nchan|uws --publish-url URL --sse-url URL --longpoll-url URL --ws-url URL [--pid PID]"
        );
        return Ok(0);
    }
    let scenario = args.get("scenario").unwrap_or("sse").to_owned();
    let style = args.get("style").or(args.get("longpoll-style")).unwrap_or("talkback");
    let channel = match args.get("channel") {
        Some(c) => c.to_owned(),
        None => format!(
            "bench{}x{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0)
        ),
    };
    let url = |name: &str| -> Result<Url, String> { Url::parse(&args.required(name)?.replace("{c}", &channel)) };
    let name = match scenario.as_str() {
        "sse" => "sse-url",
        "ws" | "wsplain" => "ws-url",
        _ => "longpoll-url",
    };
    let mut subscribe = vec![url(name)?];
    for more in args.all(name).into_iter().skip(1) {
        subscribe.push(Url::parse(&more.replace("{c}", &channel))?);
    }
    let default_subs = if scenario == "held" { 10_000 } else { 1_000 };
    let plan = Arc::new(Plan {
        label: args.get("label").unwrap_or(style).to_owned(),
        nchan: match style {
            // uWebSockets' pub/sub differs only in its URLs, which the caller gives.
            "talkback" | "uws" => false,
            "nchan" => true,
            other => return Err(format!("--style {other:?}: talkback, nchan or uws")),
        },
        publish: url("publish-url")?,
        subscribe,
        subscribers: args.parse_or("subscribers", default_subs)?,
        messages: if scenario == "held" { 1 } else { args.parse_or("messages", 200)? },
        size: args.parse_or("size", 64)?,
        interval: Duration::from_millis(args.parse_or("publish-interval-ms", 0)?),
        drain: Duration::from_secs(args.parse_or("drain-secs", 10)?),
        pids: procfs::parse_pids(&args.all("pid"))?,
        base: Instant::now(),
        ready: AtomicUsize::new(0),
        gate: Semaphore::new(256),
        details: args.flag("details"),
        wire: AtomicU64::new(0),
        scenario,
    });
    if plan.scenario == "held" && plan.pids.is_empty() {
        return Err("held needs --pid SERVER_PID (several for nginx workers)".into());
    }
    if !["sse", "longpoll", "held", "ws", "wsplain"].contains(&plan.scenario.as_str()) {
        return Err(format!("unknown scenario {:?}", plan.scenario));
    }
    let rt = runtime(args.parse_or("threads", 1usize)?)?;
    rt.block_on(fan_out(plan))
}

/// Starts the subscribers, waits until all are listening, publishes, waits for delivery,
/// and reports. Returns the number of problems (errors + lost + duplicated).
async fn fan_out(plan: Arc<Plan>) -> Result<u64, String> {
    let rss_before = if plan.pids.is_empty() { 0 } else { procfs::rss_sum(&plan.pids).map_err(|e| e.to_string())? };
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = (0..plan.subscribers)
        .map(|i| {
            let (plan, stop) = (plan.clone(), stop_rx.clone());
            let url = plan.subscribe[i % plan.subscribe.len()].clone();
            tokio::spawn(async move {
                let mut seen = Seen::new(plan.messages);
                // A subscriber that has everything keeps its connection until the end of the
                // run: closing a thousand sockets while others still receive would put the
                // client's own teardown into the last messages' latency.
                let mut conn = None;
                let run = async {
                    if plan.scenario == "sse" {
                        sse(&plan, &url, &mut seen, &mut conn).await
                    } else if plan.scenario.starts_with("ws") {
                        ws(&plan, &url, &mut seen, &mut conn).await
                    } else {
                        longpoll(&plan, &url, &mut seen, &mut conn).await
                    }
                };
                if let Err(e) = with_stop(stop, run).await {
                    seen.error.get_or_insert(e);
                }
                (seen, conn)
            })
        })
        .collect();
    let wait_start = Instant::now();
    while plan.ready.load(Ordering::Relaxed) < plan.subscribers {
        if wait_start.elapsed() > Duration::from_secs(60) {
            eprintln!(
                "push-load: only {} of {} subscribers ready after 60 s",
                plan.ready.load(Ordering::Relaxed),
                plan.subscribers
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the server park the last requests it was sent.
    tokio::time::sleep(Duration::from_millis(if plan.scenario == "held" { 2000 } else { 300 })).await;
    let rss_after = if plan.pids.is_empty() { 0 } else { procfs::rss_sum(&plan.pids).map_err(|e| e.to_string())? };
    let cpu_before = procfs::cpu_sum(&plan.pids).unwrap_or_default();
    let own_cpu_before = procfs::cpu_time(std::process::id()).unwrap_or_default();
    // The publisher gets its own thread and runtime, so a thousand busy subscriber tasks
    // cannot slow the publishing down (it would look like a slow server).
    let publisher = {
        let plan = plan.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            Ok::<_, std::io::Error>(rt.block_on(publish_all(&plan)))
        })
    };
    let (first_publish, publish_errors, published, answers) = tokio::task::spawn_blocking(move || publisher.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "publisher thread panicked".to_string())?
        .map_err(|e| format!("publisher runtime: {e}"))?;
    let mut results = Vec::with_capacity(tasks.len());
    let mut held = Vec::with_capacity(tasks.len());
    let deadline = tokio::time::Instant::now() + plan.drain;
    let mut stop_tx = Some(stop_tx);
    for t in tasks {
        let mut t = t;
        let seen = match tokio::time::timeout_at(deadline, &mut t).await {
            Ok(r) => r,
            Err(_) => {
                if let Some(tx) = stop_tx.take() {
                    let _ = tx.send(true);
                }
                t.await
            }
        };
        let (seen, conn) = seen.map_err(|e| e.to_string())?;
        results.push(seen);
        held.push(conn);
    }
    let cpu = procfs::cpu_sum(&plan.pids).unwrap_or_default().saturating_sub(cpu_before);
    let own_cpu = procfs::cpu_time(std::process::id()).unwrap_or_default().saturating_sub(own_cpu_before);
    drop(held);
    let publish = Publish { first: first_publish, errors: publish_errors, took: published, answers, cpu, own_cpu };
    Ok(summarize(&plan, &results, &publish, (rss_before, rss_after)))
}

async fn with_stop(
    mut stop: watch::Receiver<bool>,
    work: impl Future<Output = Result<(), String>>,
) -> Result<(), String> {
    tokio::select! {
        r = work => r,
        _ = stop.wait_for(|s| *s) => Err("not done when the drain time ran out".into()),
    }
}

async fn connect(plan: &Plan, url: &Url) -> Result<Conn, String> {
    let _permit = plan.gate.acquire().await.map_err(|e| e.to_string())?;
    Conn::connect(url.addr).await.map_err(|e| format!("connect: {e}"))
}

async fn sse(plan: &Plan, url: &Url, seen: &mut Seen, keep: &mut Option<Conn>) -> Result<(), String> {
    let conn = keep.insert(connect(plan, url).await?);
    let req = format!("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", url.path, url.host);
    conn.send(req.as_bytes()).await.map_err(|e| e.to_string())?;
    let head = conn.head().await.map_err(|e| format!("sse head: {e}"))?;
    if head.status != 200 {
        return Err(format!("sse answered {}", head.status));
    }
    plan.ready.fetch_add(1, Ordering::Relaxed);
    let mut parser = SseParser::default();
    while !seen.done(plan.messages) {
        let mut feed = |bytes: &[u8]| {
            let now = Instant::now();
            parser.feed(bytes, &mut |data| seen.deliver(plan.base, data, now));
        };
        if conn.stream_with(&mut feed).await.map_err(|e| format!("sse read: {e}"))? {
            return Err("event stream ended".into());
        }
    }
    seen.error.clone().map_or(Ok(()), Err)
}

/// A WebSocket subscriber: the opening handshake offering permessage-deflate (its answer
/// checked per RFC 7692 §7.1), then text frames — compressed or not — decoded and inflated by
/// `talkback-ws`'s client `Connection`.
async fn ws(plan: &Plan, url: &Url, seen: &mut Seen, keep: &mut Option<Conn>) -> Result<(), String> {
    let conn = keep.insert(connect(plan, url).await?);
    let offer = DeflateOffer::default();
    let compressed = plan.scenario == "ws";
    let mut handshake = ClientHandshake::new(&url.host, &url.path, &[]);
    if compressed {
        handshake = handshake.offer_deflate(offer);
    }
    let mut request = Vec::new();
    handshake.encode_request(&mut request);
    conn.send(&request).await.map_err(|e| e.to_string())?;
    let head = conn.head().await.map_err(|e| format!("ws head: {e}"))?;
    if head.status != 101 {
        return Err(format!("ws answered {}", head.status));
    }
    conn.upgraded();
    let answer = head.header("sec-websocket-extensions").map(str::as_bytes);
    let deflate = if compressed {
        let deflate = offer.check_answer(answer.into_iter()).map_err(|e| format!("bad extension answer: {e:?}"))?;
        if deflate.is_none() {
            return Err("the server declined permessage-deflate".into());
        }
        deflate
    } else if let Some(answer) = answer {
        return Err(format!("an extension nobody offered: {}", String::from_utf8_lossy(answer)));
    } else {
        None
    };
    plan.ready.fetch_add(1, Ordering::Relaxed);
    let config = Config { deflate, max_message_size: 1 << 20, max_frame_size: 1 << 20, ..Config::default() };
    let mut socket = Connection::new(Role::Client, config, Instant::now());
    let mut out = Vec::new();
    while !seen.done(plan.messages) {
        let mut protocol_error = None;
        let mut feed = |bytes: &[u8]| {
            plan.wire.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            let now = Instant::now();
            if let Err(e) = socket.handle_bytes(bytes, now) {
                protocol_error.get_or_insert(e);
                return;
            }
            while let Some(event) = socket.poll_event() {
                if let Event::Text(text) = event {
                    seen.deliver(plan.base, text.as_bytes(), now);
                    socket.recycle(text.into_bytes()); // the next message's buffer
                }
            }
        };
        let ended = conn.stream_with(&mut feed).await.map_err(|e| format!("ws read: {e}"))?;
        if let Some(e) = protocol_error {
            return Err(format!("ws: {e}"));
        }
        if ended {
            return Err("the WebSocket ended".into());
        }
        out.clear();
        socket.poll_transmit(&mut out); // pongs
        if !out.is_empty() {
            conn.send(&out).await.map_err(|e| e.to_string())?;
        }
    }
    seen.error.clone().map_or(Ok(()), Err)
}

/// One long-poll request on `conn` with this server's cursor.
fn longpoll_request(plan: &Plan, u: &Url, cursor: &Cursor) -> String {
    if plan.nchan {
        let mut req = format!("GET {} HTTP/1.1\r\nHost: {}\r\n", u.path, u.host);
        if let Some((modified, etag)) = &cursor.nchan {
            req.push_str(&format!("If-Modified-Since: {modified}\r\nIf-None-Match: {etag}\r\n"));
        }
        req + "\r\n"
    } else {
        let sep = if u.path.contains('?') { '&' } else { '?' };
        format!("GET {}{sep}after={}&timeout=60 HTTP/1.1\r\nHost: {}\r\n\r\n", u.path, cursor.after, u.host)
    }
}

/// Where a long-poll loop is in the channel.
#[derive(Debug, Default)]
struct Cursor {
    after: u64,
    nchan: Option<(String, String)>,
}

async fn longpoll(plan: &Plan, url: &Url, seen: &mut Seen, keep: &mut Option<Conn>) -> Result<(), String> {
    let mut conn = keep.insert(connect(plan, url).await?);
    let mut cursor = Cursor::default();
    let mut first = true;
    while !seen.done(plan.messages) {
        conn.send(longpoll_request(plan, url, &cursor).as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        if first {
            plan.ready.fetch_add(1, Ordering::Relaxed);
            first = false;
        }
        let head = conn.head().await.map_err(|e| format!("long-poll head: {e}"))?;
        let body = conn.body().await.map_err(|e| format!("long-poll body: {e}"))?;
        let body = String::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
        match head.status {
            200 => {}
            204 | 304 | 408 => continue,
            s => return Err(format!("long-poll answered {s}: {body:?}")),
        }
        let now = Instant::now();
        if plan.nchan {
            let modified = head.header("last-modified").unwrap_or_default().to_owned();
            let etag = head.header("etag").unwrap_or_default().to_owned();
            cursor.nchan = Some((modified, etag));
            match head.header("content-type").and_then(push::boundary) {
                Some(b) => {
                    push::parse_multipart(&body, b)?.iter().for_each(|m| seen.deliver(plan.base, m.as_bytes(), now))
                }
                None => seen.deliver(plan.base, body.as_bytes(), now),
            }
        } else {
            for (id, data) in push::parse_json_batch(&body)? {
                cursor.after = cursor.after.max(id);
                seen.deliver(plan.base, data.as_bytes(), now);
            }
        }
        if head.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close")) {
            conn = keep.insert(connect(plan, url).await?);
        }
    }
    seen.error.clone().map_or(Ok(()), Err)
}

/// Publishes every message on one keep-alive connection; returns when the first was sent,
/// how many publishes failed, how long publishing took, and how long each `POST` waited for
/// its answer.
async fn publish_all(plan: &Plan) -> (Instant, u64, Duration, Histogram) {
    let first = Instant::now();
    let mut errors = 0;
    let mut conn = None;
    let mut rtts = Histogram::default();
    for seq in 1..=plan.messages {
        if conn.is_none() {
            conn = Conn::connect(plan.publish.addr).await.ok();
        }
        let Some(c) = conn.as_mut() else {
            errors += 1;
            continue;
        };
        let body = push::message_body(seq, plan.base, Instant::now(), plan.size);
        let req = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nAccept: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            plan.publish.path,
            plan.publish.host,
            body.len()
        );
        let asked = Instant::now();
        let ok = async {
            c.send(req.as_bytes()).await?;
            let head = c.head().await?;
            c.body().await?;
            Ok::<_, std::io::Error>((200..300).contains(&head.status))
        };
        let answered = ok.await;
        rtts.record(asked.elapsed());
        match answered {
            Ok(true) => {}
            Ok(false) => errors += 1,
            Err(e) => {
                eprintln!("push-load: publish {seq}: {e}");
                errors += 1;
                conn = None;
            }
        }
        if !plan.interval.is_zero() {
            tokio::time::sleep(plan.interval).await;
        }
    }
    (first, errors, first.elapsed(), rtts)
}

/// How publishing went.
#[derive(Debug)]
struct Publish {
    first: Instant,
    errors: u64,
    took: Duration,
    /// `POST` to its answer.
    answers: Histogram,
    /// Server CPU (the `--pid`s) from the subscribers being ready to the end of the drain.
    cpu: Duration,
    /// This process's own CPU (subscribers and publisher) over the same span: which side of
    /// the run was the busy one.
    own_cpu: Duration,
}

fn summarize(plan: &Plan, results: &[Seen], publish: &Publish, rss: (u64, u64)) -> u64 {
    let first_publish = publish.first;
    let mut latency = Histogram::default();
    let (mut unique, mut total, mut errors) = (0u64, 0u64, publish.errors);
    let mut last = first_publish;
    let mut first_error = None;
    for s in results {
        unique += s.unique;
        total += s.total;
        s.latencies.iter().for_each(|&d| latency.record(d));
        last = last.max(s.last.unwrap_or(first_publish));
        if let Some(e) = &s.error {
            errors += 1;
            first_error.get_or_insert(e.clone());
        }
    }
    if plan.details {
        // Message i is the i-th latency of every subscriber (each gets them in order).
        for b in (0..plan.messages as usize).step_by(10) {
            let mut h = Histogram::default();
            for s in results {
                for d in s.latencies.iter().skip(b).take(10) {
                    h.record(*d);
                }
            }
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let (p50, p99, max) = (ms(h.quantile(0.5)), ms(h.quantile(0.99)), ms(h.max()));
            eprintln!("messages {:4}-{:4}: p50 {p50:7.1} ms  p99 {p99:7.1} ms  max {max:7.1} ms", b + 1, b + 10);
        }
        let ms = |q| publish.answers.quantile(q).as_secs_f64() * 1e3;
        eprintln!("POST answered after: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms", ms(0.5), ms(0.9), ms(0.99));
    }
    let expected = plan.subscribers as u64 * plan.messages;
    let (lost, dup) = (expected.saturating_sub(unique), total - unique);
    let secs = (last - first_publish).as_secs_f64().max(1e-9);
    let rate = unique as f64 / secs;
    let mut line = Line::new("push-load", &plan.scenario, &plan.label)
        .field("subscribers", plan.subscribers)
        .field("messages", plan.messages)
        .field("expected", expected)
        .field("delivered", unique)
        .field("lost", lost)
        .field("duplicated", dup)
        .float("secs", secs)
        .float("publish_secs", publish.took.as_secs_f64())
        .micros("publish_p50_us", publish.answers.quantile(0.5))
        .micros("publish_p99_us", publish.answers.quantile(0.99))
        .float("msg_per_s", rate)
        .micros("p50_us", latency.quantile(0.5))
        .micros("p99_us", latency.quantile(0.99))
        .micros("max_us", latency.max())
        .field("errors", errors);
    let per_held = rss.1.saturating_sub(rss.0) as f64 / plan.subscribers.max(1) as f64;
    if plan.scenario == "held" {
        line = line.field("rss_before", rss.0).field("rss_after", rss.1).float("bytes_per_held", per_held);
    }
    let wire_per_msg = plan.wire.load(Ordering::Relaxed) as f64 / unique.max(1) as f64;
    let cpu_per_msg = publish.cpu.as_secs_f64() * 1e9 / unique.max(1) as f64;
    if plan.scenario.starts_with("ws") {
        line = line.float("wire_bytes_per_msg", wire_per_msg);
    }
    if !plan.pids.is_empty() {
        line = line.float("cpu_ns_per_msg", cpu_per_msg);
    }
    line = line.float("client_cpu_ns_per_msg", publish.own_cpu.as_secs_f64() * 1e9 / unique.max(1) as f64);
    line.print();
    let mut header =
        vec!["server", "scenario", "subs×msgs", "delivered", "lost", "dup", "deliveries/s", "p50", "p99", "errors"];
    let mut row = vec![
        plan.label.clone(),
        plan.scenario.clone(),
        format!("{}×{}", plan.subscribers, plan.messages),
        unique.to_string(),
        lost.to_string(),
        dup.to_string(),
        report::human_rate(rate),
        report::human_duration(latency.quantile(0.5)),
        report::human_duration(latency.quantile(0.99)),
        errors.to_string(),
    ];
    if plan.scenario == "held" {
        header.push("bytes/held");
        row.push(format!("{per_held:.0}"));
    }
    if plan.scenario.starts_with("ws") {
        header.extend(["wire B/msg", "CPU ns/msg"]);
        row.push(format!("{wire_per_msg:.0}"));
        row.push(if plan.pids.is_empty() { "-".into() } else { format!("{cpu_per_msg:.0}") });
    }
    report::table(&header, &[row]);
    if let Some(e) = first_error {
        eprintln!("push-load: first error: {e}");
    }
    errors + lost + dup
}
