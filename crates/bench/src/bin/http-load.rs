//! http-load: HTTP/1.1 load generator that times every response, for `scripts/bench-http.sh`.
//!
//! ```text
//! http-load --url http://127.0.0.1:PORT/ [--label NAME] [--conns 64] [--threads 2]
//!           [--depth 16] [--secs 10] [--warmup 1]
//! ```
//!
//! Each connection writes `--depth` GET requests in one write (`--depth 1`: plain
//! keep-alive), reads until every one has its response, and starts over. A response's
//! latency is the time from the write that carried its request to the read that completed
//! it; responses completed inside the measuring window (after `--warmup`) are counted and
//! timed. Every response must be `2xx` with a `Content-Length` body (what the hello servers
//! send); anything else, an I/O error or a missing response counts as an error.
//!
//! Why not wrk's figures for pipelining: wrk records one sample per batch (when the last
//! response of the batch arrives) and, before reporting, "corrects" its histogram for
//! coordinated omission assuming one response per round trip: expected interval = run time
//! ÷ responses per connection, which with 16 requests per write is a sixteenth of the real
//! round trip. The made-up samples it adds fall below the recorded minimum, where its
//! percentile walk never looks, so its pipelined p99 reads `0 µs` for a tight distribution
//! and is distorted for a wide one. This tool adds nothing to what it measured.
//!
//! Output: one `BENCH tool=http-load …` line (see `talkback_bench::report`) and a table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use talkback_bench::args::Args;
use talkback_bench::hist::Histogram;
use talkback_bench::http::Url;
use talkback_bench::net::{read_once, runtime};
use talkback_bench::report::{self, Line};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// What one run asks for.
#[derive(Debug, Clone)]
struct Plan {
    url: Url,
    label: String,
    conns: usize,
    depth: usize,
    secs: f64,
    warmup: f64,
}

fn main() {
    match run() {
        Ok(errors) => std::process::exit(if errors == 0 { 0 } else { 2 }),
        Err(e) => {
            eprintln!("http-load: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<u64, String> {
    let args = Args::from_env()?;
    if args.flag("help") {
        println!(
            "http-load --url http://HOST:PORT/PATH [--label NAME] [--conns 64] [--threads 2] [--depth 16] [--secs 10]"
        );
        return Ok(0);
    }
    let plan = Plan {
        url: Url::parse(args.required("url")?)?,
        label: args.get("label").unwrap_or("server").to_owned(),
        conns: args.parse_or("conns", 64usize)?.max(1),
        depth: args.parse_or("depth", 16usize)?.max(1),
        secs: args.parse_or("secs", 10.0)?,
        warmup: args.parse_or("warmup", 1.0)?,
    };
    let rt = runtime(args.parse_or("threads", 2usize)?)?;
    rt.block_on(load(plan))
}

/// What one connection (or all of them, merged) saw inside the window.
#[derive(Debug, Default)]
struct Tally {
    responses: u64,
    latency: Histogram,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }

    fn merge(&mut self, other: Tally) {
        self.responses += other.responses;
        self.latency.merge(&other.latency);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

async fn load(plan: Plan) -> Result<u64, String> {
    let one = format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", plan.url.path, plan.url.host);
    let batch: Arc<[u8]> = one.repeat(plan.depth).into_bytes().into();
    let mut streams = Vec::with_capacity(plan.conns);
    for _ in 0..plan.conns {
        let s = TcpStream::connect(plan.url.addr).await.map_err(|e| format!("connect: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        streams.push(s);
    }
    let start = Instant::now();
    let window =
        (start + Duration::from_secs_f64(plan.warmup), start + Duration::from_secs_f64(plan.warmup + plan.secs));
    let tasks: Vec<_> =
        streams.into_iter().map(|s| tokio::spawn(drive(s, batch.clone(), plan.depth, window))).collect();
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await.map_err(|e| e.to_string())?);
    }
    let rate = total.responses as f64 / plan.secs;
    let h = &total.latency;
    Line::new("http-load", if plan.depth > 1 { "pipelined" } else { "keep-alive" }, &plan.label)
        .field("conns", plan.conns)
        .field("depth", plan.depth)
        .float("secs", plan.secs)
        .field("requests", total.responses)
        .float("req_per_s", rate)
        .micros("p50_us", h.quantile(0.5))
        .micros("p99_us", h.quantile(0.99))
        .micros("mean_us", h.mean())
        .micros("max_us", h.max())
        .field("errors", total.errors)
        .print();
    report::table(
        &["server", "conns×depth", "req/s", "p50", "p99", "max", "errors"],
        &[vec![
            plan.label.clone(),
            format!("{}×{}", plan.conns, plan.depth),
            report::human_rate(rate),
            report::human_duration(h.quantile(0.5)),
            report::human_duration(h.quantile(0.99)),
            report::human_duration(h.max()),
            total.errors.to_string(),
        ]],
    );
    if let Some(e) = total.first_error {
        eprintln!("http-load: first error: {e}");
    }
    Ok(total.errors)
}

/// One connection: batches of `depth` requests until the window closes, each batch's
/// responses read and timed before the next is written.
async fn drive(mut stream: TcpStream, batch: Arc<[u8]>, depth: usize, window: (Instant, Instant)) -> Tally {
    let mut tally = Tally::default();
    let mut input = Input::default();
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < window.1 {
        let sent = Instant::now();
        if let Err(e) = stream.write_all(&batch).await {
            tally.error(format!("write: {e}"));
            break;
        }
        let mut answered = 0;
        while answered < depth {
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    stream.ready(Interest::READABLE).await?;
                    match read_once(&stream, &mut buf) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        other => return other,
                    }
                }
            })
            .await;
            let n = match read {
                Ok(Ok(0)) => Err("closed by the server".to_string()),
                Ok(Ok(n)) => Ok(n),
                Ok(Err(e)) => Err(format!("read: {e}")),
                Err(_) => Err(format!("{} responses missing after 5 s", depth - answered)),
            };
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    tally.error(e);
                    return tally;
                }
            };
            let now = Instant::now();
            input.extend(&buf[..n]);
            loop {
                match input.next_response() {
                    Ok(Some(status)) => {
                        answered += 1;
                        if !(200..300).contains(&status) {
                            tally.error(format!("status {status}"));
                        } else if now >= window.0 && now < window.1 {
                            tally.responses += 1;
                            tally.latency.record(now - sent);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tally.error(e);
                        return tally;
                    }
                }
            }
        }
        if input.pending() > 0 {
            tally.error(format!("{} bytes nobody asked for", input.pending()));
            break;
        }
    }
    tally
}

/// Bytes read and not yet taken as responses.
#[derive(Debug, Default)]
struct Input {
    bytes: Vec<u8>,
    start: usize,
}

impl Input {
    fn extend(&mut self, more: &[u8]) {
        if self.start == self.bytes.len() {
            self.bytes.clear();
            self.start = 0;
        }
        self.bytes.extend_from_slice(more);
    }

    fn pending(&self) -> usize {
        self.bytes.len() - self.start
    }

    /// Takes one complete response off the front and returns its status, or `None` until
    /// one is complete.
    fn next_response(&mut self) -> Result<Option<u16>, String> {
        let rest = &self.bytes[self.start..];
        if rest.is_empty() {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(rest) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("bad response: {e}")),
        };
        let status = response.code.unwrap_or(0);
        let mut body_len = None;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<usize>().ok());
                body_len = Some(v.ok_or("bad Content-Length")?);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                return Err("chunked responses are not expected from a hello server".into());
            }
        }
        let body_len = match (body_len, status) {
            (Some(n), _) => n,
            (None, 204 | 304) => 0,
            (None, _) => return Err("response without Content-Length".into()),
        };
        if rest.len() < head_len + body_len {
            return Ok(None);
        }
        self.start += head_len + body_len;
        Ok(Some(status))
    }
}

#[cfg(test)]
mod tests {
    use super::Input;

    const TWO: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";

    /// RFC 9112 §6.3: a Content-Length body ends the message, so pipelined responses are
    /// found one after another whatever the read boundaries.
    #[test]
    fn rfc9112_6_3_pipelined_responses_are_split_by_content_length_at_every_boundary() {
        for split in 0..=TWO.len() {
            let mut input = Input::default();
            let mut statuses = Vec::new();
            for part in [&TWO[..split], &TWO[split..]] {
                input.extend(part);
                while let Some(s) = input.next_response().unwrap() {
                    statuses.push(s);
                }
            }
            assert_eq!(statuses, [200, 404], "split at {split}");
            assert_eq!(input.pending(), 0);
        }
    }

    #[test]
    fn a_response_without_a_length_is_an_error() {
        let mut input = Input::default();
        input.extend(b"HTTP/1.1 200 OK\r\n\r\nhello");
        assert!(input.next_response().is_err());
        let mut input = Input::default();
        input.extend(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(input.next_response().is_err());
    }
}
