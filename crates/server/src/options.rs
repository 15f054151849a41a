//! Command-line flags shared by every binary: `--addr`, `--threads`, `--trace`, `--help`, and
//! one flag per limit. Parsed by hand (no dependency) so the whole contract is visible here.

use std::net::SocketAddr;
use std::time::Duration;

use talkback_http1::Limits;

/// Everything a talkback server binary can be told on its command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (`--addr`, default `127.0.0.1:8080`; port 0 picks a free port).
    pub addr: SocketAddr,
    /// Event loops (`--threads`, default: the number of cores).
    pub threads: usize,
    /// Keep polling this long after a turn with work before sleeping (`--busy-poll`,
    /// microseconds, default 0 = off): lower latency for a core's worth of CPU under load.
    pub busy_poll: Duration,
    /// Print an annotated wire dump to stderr (`--trace`).
    pub trace: bool,
    /// HTTP/1.1 parsing limits (`--max-request-line`, `--max-head`, `--max-headers`, `--max-body`).
    pub http: Limits,
    /// Time allowed to send a request head (`--head-timeout`, seconds, default 10): 408, close.
    pub head_timeout: Duration,
    /// Time an idle keep-alive connection is kept (`--keepalive-timeout`, seconds, default 60).
    pub keepalive_timeout: Duration,
    /// Output queued per connection before backpressure (`--output-cap`, bytes, default 1 MiB).
    pub output_cap: usize,
    /// Connections open at once (`--max-connections`, default 100 000).
    pub max_connections: usize,
    /// Largest WebSocket message (`--max-message`, bytes; 16 MiB for ws-echo, 64 KiB for the hub).
    pub max_message: usize,
    /// Largest WebSocket frame (`--max-frame`, bytes; defaults to `max_message`).
    pub max_frame: Option<usize>,
    /// Interval of keepalive pings on an idle WebSocket (`--ping-interval`, seconds, 0 = off).
    pub ping_interval: Option<Duration>,
    /// Time to wait for the pong (`--pong-timeout`, seconds, default 10).
    pub pong_timeout: Duration,
    /// Messages each channel retains (`--history`, default 1024).
    pub history: usize,
    /// Bytes all channels retain together, every form of a message kept counted
    /// (`--max-retained-bytes`, default [`DEFAULT_MAX_RETAINED_BYTES`]): past it the oldest
    /// messages, across channels, are evicted; late readers are told what they missed.
    pub max_retained_bytes: usize,
    /// Channels at once (`--max-channels`, default 100 000): a request that would make one
    /// more is answered 503 with `Retry-After`; unused channels are freed.
    pub max_channels: usize,
    /// Longest long-poll hold (`--max-hold`, seconds, default 120).
    pub max_hold: Duration,
    /// SSE heartbeat comment interval (`--heartbeat`, seconds, default 15).
    pub heartbeat: Duration,
    /// Longest a `POST` is held while the loops catch up with publishers
    /// (`--max-publish-wait`, seconds, default 1; then it is answered anyway).
    pub max_publish_wait: Duration,
    /// How many broadcasts publishers may run ahead of the slowest loop before a `POST` is
    /// held (`--max-ahead`, default [`DEFAULT_MAX_AHEAD`]).
    pub max_ahead: usize,
    /// Longest a graceful drain (the first SIGINT/SIGTERM) may take before the connections
    /// still open are closed (`--drain-timeout`, seconds, default 5).
    pub drain_timeout: Duration,
    /// Negotiate permessage-deflate (RFC 7692) on WebSockets (on by default; `--no-deflate`).
    pub deflate: bool,
    /// Messages shorter than this go uncompressed (`--deflate-threshold`, bytes, default
    /// [`DEFAULT_DEFLATE_THRESHOLD`]).
    pub deflate_threshold: usize,
}

/// The default of `--deflate-threshold`: shorter messages are sent uncompressed, as deflate
/// saves little or nothing on them (a 30-byte JSON object shrinks by a few bytes at best).
pub const DEFAULT_DEFLATE_THRESHOLD: usize = 64;

/// How many broadcasts a publisher may run ahead of the slowest loop (the default of
/// `--max-ahead`). A loop delivers a broadcast by queueing its shared bytes on every
/// subscriber; the writes follow in slices, and what is published meanwhile joins the same
/// writes. The bound matters when a loop falls behind — descheduled, or busy with other work:
/// then a `POST`'s answer is held instead of piling broadcasts up in front of subscribers.
/// How the setting trades deliveries/s against p99 is measured in docs/benchmarks.md.
pub const DEFAULT_MAX_AHEAD: usize = 2;

/// The default of `--max-retained-bytes`: 256 MiB of history across all channels (a quarter
/// of a small server's memory; with 30-byte messages, about a million of them).
pub const DEFAULT_MAX_RETAINED_BYTES: usize = 256 << 20;

/// How soon a client the server drained away is told to come back: a parked long-poll's 503
/// carries `Retry-After: 1`, an SSE stream's last block `retry: 1000`. Soon, because by then
/// another instance (or this one, restarted) is expected to answer.
pub const DRAIN_RETRY_AFTER: Duration = Duration::from_secs(1);

impl Options {
    /// The defaults for a binary whose WebSocket message limit is `max_message`.
    pub fn with_defaults(max_message: usize) -> Options {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            busy_poll: Duration::ZERO,
            trace: false,
            http: Limits::default(),
            head_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(60),
            output_cap: 1024 * 1024,
            max_connections: 100_000,
            max_message,
            max_frame: None,
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            history: 1024,
            max_retained_bytes: DEFAULT_MAX_RETAINED_BYTES,
            max_channels: 100_000,
            max_hold: Duration::from_secs(120),
            heartbeat: Duration::from_secs(15),
            max_publish_wait: Duration::from_secs(1),
            max_ahead: DEFAULT_MAX_AHEAD,
            drain_timeout: Duration::from_secs(5),
            deflate: true,
            deflate_threshold: DEFAULT_DEFLATE_THRESHOLD,
        }
    }

    /// Parses `args` (without the program name). `Ok(None)` means `--help` was printed.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        about: &str,
        max_message: usize,
    ) -> Result<Option<Options>, String> {
        Options::parse_with(args, about, Options::with_defaults(max_message))
    }

    /// Parses `args` over the given defaults. `Ok(None)` means `--help` was printed.
    pub fn parse_with(
        args: impl IntoIterator<Item = String>,
        about: &str,
        defaults: Options,
    ) -> Result<Option<Options>, String> {
        let mut options = defaults;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                println!("{about}\n\n{}", help(&options));
                return Ok(None);
            }
            if flag == "--trace" {
                options.trace = true;
                continue;
            }
            if flag == "--no-deflate" {
                options.deflate = false;
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
            options.set(&flag, &value)?;
        }
        Ok(Some(options))
    }

    fn set(&mut self, flag: &str, value: &str) -> Result<(), String> {
        let number = || value.parse::<u64>().map_err(|_| format!("{flag}: {value:?} is not a number"));
        let seconds = || number().map(Duration::from_secs);
        match flag {
            "--addr" => self.addr = value.parse().map_err(|_| format!("--addr: {value:?} is not HOST:PORT"))?,
            "--threads" => self.threads = (number()? as usize).max(1),
            "--busy-poll" => self.busy_poll = Duration::from_micros(number()?.min(1_000_000)),
            "--max-request-line" => self.http.max_request_line = number()? as usize,
            "--max-head" => self.http.max_head = number()? as usize,
            "--max-headers" => self.http.max_headers = number()? as usize,
            "--max-body" => self.http.max_body = number()?,
            "--head-timeout" => self.head_timeout = seconds()?,
            "--keepalive-timeout" => self.keepalive_timeout = seconds()?,
            "--output-cap" => self.output_cap = number()? as usize,
            "--max-connections" => self.max_connections = number()? as usize,
            "--max-message" => self.max_message = number()? as usize,
            "--max-frame" => self.max_frame = Some(number()? as usize),
            "--ping-interval" => self.ping_interval = Some(seconds()?).filter(|d| !d.is_zero()),
            "--pong-timeout" => self.pong_timeout = seconds()?,
            "--history" => self.history = (number()? as usize).max(1),
            "--max-retained-bytes" => self.max_retained_bytes = number()? as usize,
            "--max-channels" => self.max_channels = number()? as usize,
            "--max-hold" => self.max_hold = seconds()?,
            "--heartbeat" => self.heartbeat = seconds()?.max(Duration::from_secs(1)),
            "--max-publish-wait" => self.max_publish_wait = seconds()?,
            "--max-ahead" => self.max_ahead = number()? as usize,
            "--drain-timeout" => self.drain_timeout = seconds()?,
            "--deflate-threshold" => self.deflate_threshold = number()? as usize,
            _ => return Err(format!("unknown flag {flag} (see --help)")),
        }
        Ok(())
    }

    /// Parses the process arguments, printing errors and help; exits on `--help` or an error.
    pub fn from_env(about: &str, defaults: Options) -> Options {
        match Options::parse_with(std::env::args().skip(1), about, defaults) {
            Ok(Some(options)) => options,
            Ok(None) => std::process::exit(0),
            Err(message) => {
                eprintln!("error: {message}");
                std::process::exit(2);
            }
        }
    }
}

/// The `--help` text, with the defaults of this binary where they differ between binaries.
fn help(defaults: &Options) -> String {
    let ping = defaults.ping_interval.map_or(0, |d| d.as_secs());
    HELP.replace("{max_message}", &defaults.max_message.to_string())
        .replace("{ping}", &ping.to_string())
        .replace("{max_ahead}", &DEFAULT_MAX_AHEAD.to_string())
        .replace("{max_retained}", &DEFAULT_MAX_RETAINED_BYTES.to_string())
        .replace("{deflate_threshold}", &defaults.deflate_threshold.to_string())
}

const HELP: &str = "\
Options:
  --addr HOST:PORT           listen address (default 127.0.0.1:8080; port 0 = any free port)
  --threads N                event loops, one per thread (default: number of cores)
  --busy-poll MICROS         after a turn with work, poll this long before sleeping (default 0 = off;
                             saves a thread wake-up per message at the cost of a busy core)
  --trace                    annotated wire dump on stderr
  --max-request-line BYTES   longest request line (default 8192; over it: 414, close)
  --max-head BYTES           largest request head (default 16384; over it: 431, close)
  --max-headers N            most header fields (default 100; over it: 431, close)
  --max-body BYTES           largest request body (default 1048576; over it: 413, close)
  --head-timeout SECS        time to send a request head (default 10; then 408, close)
  --keepalive-timeout SECS   idle keep-alive connection lifetime (default 60)
  --output-cap BYTES         output queued per connection before backpressure (default 1048576)
  --max-connections N        connections open at once (default 100000; more are refused)
  --max-message BYTES        largest WebSocket message (default {max_message}; close 1009 past it;
                             the hub's POST body limit too: 413 past it)
  --max-frame BYTES          largest WebSocket frame (default: the message limit)
  --ping-interval SECS       WebSocket keepalive ping when idle (default {ping}; 0 = off)
  --pong-timeout SECS        time to wait for the pong (default 10)
  --history N                messages each channel keeps for late readers (default 1024)
  --max-retained-bytes BYTES history kept across all channels, every form of a message counted
                             (default {max_retained}; past it the oldest messages, whichever
                             channel, are evicted and late readers told what they missed)
  --max-channels N           channels at once (default 100000; a request that would make one
                             more: 503 with Retry-After; unused channels are freed)
  --max-hold SECS            longest long-poll hold (default 120; then 204)
  --heartbeat SECS           SSE heartbeat comment interval (default 15)
  --max-ahead N              broadcasts publishers may run ahead of delivery before a POST's
                             answer is held (default {max_ahead})
  --max-publish-wait SECS    longest a POST is held while delivery catches up (default 1)
  --drain-timeout SECS       on SIGTERM/SIGINT, time to finish what is in flight before the rest
                             is closed (default 5; a second signal exits at once)
  --no-deflate               do not negotiate permessage-deflate (RFC 7692) on WebSockets
  --deflate-threshold BYTES  WebSocket messages shorter than this go uncompressed (default
                             {deflate_threshold}); the hub compresses a broadcast once per window size
  --help                     this text";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        Options::parse(args.iter().map(|s| s.to_string()), "test", 1024)
    }

    #[test]
    fn flags_set_their_limits() {
        let options =
            parse(&["--addr", "127.0.0.1:0", "--threads", "3", "--trace", "--max-body", "10"]).unwrap().unwrap();
        assert_eq!(options.addr.port(), 0);
        assert_eq!(options.threads, 3);
        assert!(options.trace);
        assert_eq!(options.http.max_body, 10);
        let options = parse(&["--busy-poll", "50", "--max-ahead", "8", "--drain-timeout", "30"]).unwrap().unwrap();
        assert_eq!(options.busy_poll, Duration::from_micros(50));
        assert_eq!(options.max_ahead, 8);
        assert_eq!(options.drain_timeout, Duration::from_secs(30));
        assert_eq!(parse(&[]).unwrap().unwrap().drain_timeout, Duration::from_secs(5), "the default");
        let options = parse(&["--max-retained-bytes", "33554432", "--max-channels", "3000"]).unwrap().unwrap();
        assert_eq!((options.max_retained_bytes, options.max_channels), (32 << 20, 3000));
    }

    #[test]
    fn the_memory_limits_default_to_256_mib_and_100_000_channels() {
        let options = Options::with_defaults(64 << 10);
        assert_eq!((options.max_retained_bytes, options.max_channels), (256 << 20, 100_000));
        let text = help(&options);
        assert!(text.contains("--max-retained-bytes BYTES history kept across all channels"), "{text}");
        assert!(text.contains("(default 268435456;"), "{text}");
        assert!(text.contains("--max-channels N           channels at once (default 100000;"), "{text}");
        assert!(parse(&["--max-channels", "-1"]).is_err());
    }

    #[test]
    fn help_names_this_binarys_own_defaults() {
        let mut hub = Options::with_defaults(64 << 10);
        hub.ping_interval = Some(Duration::from_secs(30));
        let text = help(&hub);
        assert!(text.contains("largest WebSocket message (default 65536;"), "{text}");
        assert!(text.contains("when idle (default 30;"));
        assert!(help(&Options::with_defaults(16 << 20)).contains("(default 16777216;"));
        assert!(text.contains("--drain-timeout SECS"), "{text}");
        assert!(!text.contains('{'), "every placeholder is filled");
    }

    #[test]
    fn bad_flags_are_errors_not_panics() {
        assert!(parse(&["--threads"]).is_err());
        assert!(parse(&["--threads", "many"]).is_err());
        assert!(parse(&["--frobnicate", "1"]).is_err());
        assert!(parse(&["--addr", "nowhere"]).is_err());
        assert!(parse(&["--deflate-threshold", "big"]).is_err());
    }

    #[test]
    fn deflate_is_on_by_default_and_the_flags_turn_it_off_or_set_the_threshold() {
        let options = parse(&[]).unwrap().unwrap();
        assert!(options.deflate);
        assert_eq!(options.deflate_threshold, DEFAULT_DEFLATE_THRESHOLD);
        let options = parse(&["--no-deflate", "--deflate-threshold", "512"]).unwrap().unwrap();
        assert!(!options.deflate);
        assert_eq!(options.deflate_threshold, 512);
    }
}
