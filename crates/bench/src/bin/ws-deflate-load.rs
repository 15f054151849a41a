//! ws-deflate-load: the compressed echo scenario of `scripts/bench-ws.sh` (permessage-deflate,
//! RFC 7692).
//!
//! ```text
//! ws-deflate-load --url ws://127.0.0.1:PORT/ [--label NAME] [--secs 10] [--warmup 1]
//!                 [--conns 64] [--inflight 16] [--size 1024] [--threads 1]
//! ```
//!
//! Each connection offers `permessage-deflate; client_max_window_bits` (what Chromium offers)
//! and keeps `inflight` JSON-like text messages of about `size` bytes outstanding — each
//! different (its sequence number and fields vary), as compressible as real JSON. The client
//! side is `talkback-ws`'s own `Connection`: it compresses what it sends per the agreement and
//! inflates and validates every echo, which is then compared with what was sent. A server
//! that declines deflate, a mismatch, a lost echo or a close counts as an error.
//!
//! Output: one `BENCH tool=ws-load scenario=deflate …` line and a table. The client costs
//! CPU too (it compresses and inflates every message): on a small machine the figure is a
//! comparison between servers under the same client, not an absolute.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use talkback_bench::args::Args;
use talkback_bench::echo::Tally;
use talkback_bench::http::Url;
use talkback_bench::net::runtime;
use talkback_bench::report::{self, Line};
use talkback_ws::handshake::ClientHandshake;
use talkback_ws::{Config, Connection, DeflateOffer, Event, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    match run() {
        Ok(errors) => std::process::exit(if errors == 0 { 0 } else { 2 }),
        Err(e) => {
            eprintln!("ws-deflate-load: {e}");
            std::process::exit(1);
        }
    }
}

/// Message `seq`: a JSON array of small records, about `size` bytes.
fn message(seq: u64, size: usize) -> String {
    let mut text = format!("{{\"seq\":{seq},\"items\":[");
    let mut i = 0u64;
    while text.len() + 80 < size {
        let n = seq.wrapping_mul(2654435761).wrapping_add(i * 40503) % 10_000;
        text.push_str(&format!(
            "{{\"id\":{i},\"name\":\"item-{n}\",\"price\":{}.{:02},\"ok\":true}},",
            n / 100,
            n % 100
        ));
        i += 1;
    }
    text.push_str("{}]}");
    text
}

fn run() -> Result<u64, String> {
    let args = Args::from_env()?;
    let url = Url::parse(args.required("url")?)?;
    let label = args.get("label").unwrap_or("server").to_owned();
    let conns: usize = args.parse_or("conns", 64)?;
    let inflight: usize = args.parse_or("inflight", 16usize)?.max(1);
    let size: usize = args.parse_or("size", 1024)?;
    let secs: f64 = args.parse_or("secs", 10.0)?;
    let warmup: f64 = args.parse_or("warmup", 1.0)?;
    let rt = runtime(args.parse_or("threads", 1usize)?)?;
    rt.block_on(async move {
        let mut opened = Vec::with_capacity(conns);
        for _ in 0..conns {
            opened.push(open(&url).await?);
        }
        let start = Instant::now();
        let window = (start + Duration::from_secs_f64(warmup), start + Duration::from_secs_f64(warmup + secs));
        let tasks: Vec<_> =
            opened.into_iter().map(|(s, c)| tokio::spawn(drive(s, c, inflight, size, window))).collect();
        let mut total = Tally::default();
        for t in tasks {
            total.merge(t.await.map_err(|e| e.to_string())?);
        }
        let rate = total.msgs as f64 / secs;
        let h = &total.latency;
        Line::new("ws-load", "deflate", &label)
            .field("conns", conns)
            .field("inflight", inflight)
            .field("size", message(0, size).len())
            .float("secs", secs)
            .field("msgs", total.msgs)
            .float("msg_per_s", rate)
            .micros("p50_us", h.quantile(0.5))
            .micros("p99_us", h.quantile(0.99))
            .micros("mean_us", h.mean())
            .field("errors", total.errors)
            .print();
        report::table(
            &["server", "scenario", "conns×inflight×size", "msg/s", "p50", "p99", "errors"],
            &[vec![
                label.clone(),
                "deflate".into(),
                format!("{conns}×{inflight}×{size}"),
                report::human_rate(rate),
                report::human_duration(h.quantile(0.5)),
                report::human_duration(h.quantile(0.99)),
                total.errors.to_string(),
            ]],
        );
        if let Some(e) = total.first_error {
            eprintln!("ws-deflate-load: first error: {e}");
        }
        Ok(total.errors)
    })
}

/// Connects, offers deflate, and returns the socket and the protocol state (with any bytes
/// after the 101 already fed). A server that declines deflate is an error.
async fn open(url: &Url) -> Result<(TcpStream, Connection), String> {
    let mut stream = TcpStream::connect(url.addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut handshake = ClientHandshake::new(&url.host, &url.path, &[]).offer_deflate(DeflateOffer::default());
    let mut request = Vec::new();
    handshake.encode_request(&mut request);
    stream.write_all(&request).await.map_err(|e| format!("handshake write: {e}"))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let consumed = loop {
        let n = stream.read(&mut chunk).await.map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("closed during handshake".into());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some((consumed, _)) = handshake.handle_response(&head).map_err(|e| e.to_string())? {
            break consumed;
        }
    };
    let deflate = handshake.deflate().ok_or("the server declined permessage-deflate")?;
    let config =
        Config { deflate: Some(deflate), max_message_size: 1 << 20, max_frame_size: 1 << 20, ..Config::default() };
    let mut conn = Connection::new(Role::Client, config, Instant::now());
    conn.handle_bytes(&head[consumed..], Instant::now()).map_err(|e| e.to_string())?;
    Ok((stream, conn))
}

/// One connection's echo loop: `inflight` messages outstanding until the window closes, then
/// the rest drained (at most 5 s).
async fn drive(
    mut stream: TcpStream,
    mut conn: Connection,
    inflight: usize,
    size: usize,
    window: (Instant, Instant),
) -> Tally {
    let mut tally = Tally::default();
    let mut sent: VecDeque<(u64, Instant)> = VecDeque::new();
    let (mut next_seq, mut out, mut buf) = (0u64, Vec::new(), vec![0u8; 64 * 1024]);
    loop {
        let now = Instant::now();
        if now < window.1 {
            while sent.len() < inflight {
                let _ = conn.send_text(&message(next_seq, size));
                sent.push_back((next_seq, now));
                next_seq += 1;
            }
        } else if sent.is_empty() || now > window.1 + Duration::from_secs(5) {
            if !sent.is_empty() {
                tally.error(format!("{} echoes still missing 5 s after the run", sent.len()));
            }
            return tally;
        }
        out.clear();
        conn.poll_transmit(&mut out);
        if !out.is_empty() && stream.write_all(&out).await.is_err() {
            tally.error("write failed");
            return tally;
        }
        let n = match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                tally.error("the server closed the connection");
                return tally;
            }
            Ok(Ok(n)) => n,
            Err(_) => continue,
        };
        if let Err(e) = conn.handle_bytes(&buf[..n], Instant::now()) {
            tally.error(format!("protocol error: {e}"));
            return tally;
        }
        let now = Instant::now();
        while let Some(event) = conn.poll_event() {
            let Event::Text(text) = event else { continue };
            let Some((seq, at)) = sent.pop_front() else {
                tally.error("an echo for a message never sent");
                return tally;
            };
            if text != message(seq, size) {
                tally.error(format!("echo {seq} differs from what was sent"));
                return tally;
            }
            if now >= window.0 && now < window.1 {
                tally.msgs += 1;
                tally.latency.record(now.saturating_duration_since(at));
            }
        }
    }
}
