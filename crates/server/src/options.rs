//! Command-line flags shared by every binary: `--addr`, `--threads`, `--trace`, `--help`, and
//! one flag per limit. Parsed by hand (no dependency) so the whole contract is visible here.

use std::net::SocketAddr;
use std::time::Duration;

use talkback_http1::Limits;

use crate::flags::{self, Args, Unit, size_text};
use crate::redis_options::RedisOptions;

/// Everything a talkback server binary can be told on its command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (`--addr`, default `127.0.0.1:8080`; port 0 picks a free port).
    pub addr: SocketAddr,
    /// Event loops (`--threads`, default: one per core less one, at least one).
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
    /// The token a publisher must present (`--publish-token TOKEN`, or the first line of
    /// `--publish-token-file PATH`): `POST` needs `Authorization: Bearer TOKEN`, a WebSocket
    /// publishes only if its upgrade carried it. `None` (the default): anyone may publish.
    pub publish_token: Option<String>,
    /// Origins allowed to open a WebSocket and to read the hub cross-origin (`--allow-origin
    /// ORIGIN`, repeatable; `*` allows every one). Empty (the default): no CORS headers, and a
    /// WebSocket from any `Origin` is accepted.
    pub allow_origins: Vec<String>,
    /// Whether the hub answers `GET /metrics` (`--metrics on|off`, default on).
    pub metrics: bool,
    /// The cluster flags (`--redis URL` and the limits of talking to Redis).
    pub redis: RedisOptions,
    /// Negotiate permessage-deflate (RFC 7692) on WebSockets (on by default; `--no-deflate`).
    pub deflate: bool,
    /// Messages shorter than this go uncompressed (`--deflate-threshold`, bytes, default
    /// [`DEFAULT_DEFLATE_THRESHOLD`]).
    pub deflate_threshold: usize,
    /// The subscribe techniques the hub offers (`--transports LIST`, default all four): a
    /// route left out answers 404, as on a binary that never had it.
    pub transports: Transports,
}

/// Which of the four subscribe routes a hub offers (`--transports websocket,sse,longpoll,poll`).
/// An operator whose proxy cannot carry WebSockets, or buffers event streams, lists what works,
/// so that clients (talkback.js) learn it from one quick 404 instead of a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    /// `GET /ch/{c}/ws`.
    pub websocket: bool,
    /// `GET /ch/{c}/sse`.
    pub sse: bool,
    /// `GET /ch/{c}/longpoll`.
    pub longpoll: bool,
    /// `GET /ch/{c}/poll`.
    pub poll: bool,
}

impl Transports {
    /// All four (the default).
    pub const ALL: Transports = Transports { websocket: true, sse: true, longpoll: true, poll: true };

    /// `--transports`: a comma-separated list of `websocket` (or `ws`), `sse`, `longpoll`, `poll`.
    fn parse(flag: &str, value: &str) -> Result<Transports, String> {
        let mut offered = Transports { websocket: false, sse: false, longpoll: false, poll: false };
        for name in value.split(',').map(str::trim) {
            let slot = match name {
                "websocket" | "ws" => &mut offered.websocket,
                "sse" => &mut offered.sse,
                "longpoll" => &mut offered.longpoll,
                "poll" => &mut offered.poll,
                _ => return Err(format!("{flag}: {name:?} is not one of websocket, sse, longpoll, poll")),
            };
            *slot = true;
        }
        Ok(offered)
    }
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
            threads: talkback_reactor::default_threads(),
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
            publish_token: None,
            allow_origins: Vec::new(),
            metrics: true,
            redis: RedisOptions::default(),
            deflate: true,
            deflate_threshold: DEFAULT_DEFLATE_THRESHOLD,
            transports: Transports::ALL,
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
        let mut args = Args::new(args);
        while let Some(flag) = args.next_flag() {
            if flag == "--help" || flag == "-h" {
                args.switch(&flag)?;
                flags::print_help(&format!("{about}\n\n{}", help(&options)));
                return Ok(None);
            }
            if flag == "--trace" {
                args.switch(&flag)?;
                options.trace = true;
                continue;
            }
            if flag == "--no-deflate" {
                args.switch(&flag)?;
                options.deflate = false;
                continue;
            }
            // Known means listed in --help: a flag cannot be accepted and left undocumented.
            if !documented(&flag) {
                return Err(flags::unknown(&flag));
            }
            let value = args.value(&flag)?;
            options.set(&flag, &value)?;
        }
        Ok(Some(options))
    }

    fn set(&mut self, flag: &str, value: &str) -> Result<(), String> {
        let number = || flags::count(flag, value);
        let at_least = |min: u64, why: &str| number().and_then(|n| flags::at_least(flag, n, min, why));
        let bytes = || flags::size(flag, value);
        let bytes_at_least = |min: usize, why: &str| bytes().and_then(|n| flags::at_least(flag, n, min, why));
        let seconds = || flags::duration(flag, value, Unit::Secs);
        let positive = |why: &str| seconds().and_then(|d| flags::at_least(flag, d, Duration::from_millis(1), why));
        match flag {
            "--addr" => self.addr = flags::addr(flag, value)?,
            "--threads" => self.threads = at_least(1, "each event loop is a thread")? as usize,
            "--busy-poll" => self.busy_poll = busy_poll(flag, value)?,
            "--max-request-line" => self.http.max_request_line = bytes_at_least(16, "no request line is shorter")?,
            "--max-head" => self.http.max_head = bytes_at_least(16, "no request head is shorter")?,
            "--max-headers" => self.http.max_headers = at_least(1, "a request needs a Host field")? as usize,
            "--max-body" => self.http.max_body = bytes()? as u64,
            "--head-timeout" => self.head_timeout = positive("no client could send a head in no time")?,
            "--keepalive-timeout" => self.keepalive_timeout = seconds()?,
            "--output-cap" => self.output_cap = bytes_at_least(1, "nothing could ever be sent")?,
            "--max-connections" => self.max_connections = at_least(1, "no client could connect")? as usize,
            "--max-message" => self.max_message = bytes_at_least(1, "every message would be refused")?,
            "--max-frame" => self.max_frame = Some(bytes_at_least(1, "every frame would be refused")?),
            "--ping-interval" => self.ping_interval = Some(seconds()?).filter(|d| !d.is_zero()),
            "--pong-timeout" => self.pong_timeout = positive("no pong could arrive in no time")?,
            "--history" => self.history = at_least(1, "a channel keeps at least its last message")? as usize,
            "--max-retained-bytes" => self.max_retained_bytes = bytes()?,
            "--max-channels" => self.max_channels = at_least(1, "no channel could be made")? as usize,
            "--max-hold" => self.max_hold = positive("a long-poll with no hold is /poll")?,
            "--heartbeat" => self.heartbeat = seconds().and_then(|d| heartbeat(flag, d))?,
            "--max-publish-wait" => self.max_publish_wait = seconds()?,
            "--max-ahead" => self.max_ahead = number()? as usize,
            "--drain-timeout" => self.drain_timeout = seconds()?,
            "--deflate-threshold" => self.deflate_threshold = bytes()?,
            "--publish-token" => self.publish_token = Some(crate::guard::token_flag(flag, value)?),
            "--publish-token-file" => self.publish_token = Some(crate::guard::token_file(value)?),
            "--allow-origin" => self.allow_origins.push(crate::guard::origin_flag(value)?),
            "--metrics" => self.metrics = on_off(flag, value)?,
            _ if RedisOptions::owns(flag) => self.redis.set(flag, value)?,
            "--transports" => self.transports = Transports::parse(flag, value)?,
            _ => return Err(flags::unknown(flag)),
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

/// `--busy-poll`: a bare number is microseconds; at most a second (a longer spin is a busy core
/// that could as well sleep).
fn busy_poll(flag: &str, value: &str) -> Result<Duration, String> {
    let spin = flags::duration(flag, value, Unit::Micros)?;
    if spin > Duration::from_secs(1) {
        return Err(format!("{flag} must be at most 1s: past that, sleeping costs nothing"));
    }
    Ok(spin)
}

/// `--heartbeat`: at least a second (the SSE `retry`/comment cadence is in seconds).
fn heartbeat(flag: &str, every: Duration) -> Result<Duration, String> {
    flags::at_least(flag, every, Duration::from_secs(1), "a comment more often than once a second is only noise")
}

/// Whether `flag` has its own line in [`HELP`] or the cluster's part of it (the list of flags
/// this parser knows).
fn documented(flag: &str) -> bool {
    (HELP.lines().chain(crate::redis_options::HELP.lines()))
        .filter_map(|line| line.strip_prefix("  "))
        .any(|line| line.strip_prefix(flag).is_some_and(|rest| rest.starts_with(' ')) && line.starts_with("--"))
}

/// `on` or `off`.
fn on_off(flag: &str, value: &str) -> Result<bool, String> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{flag}: {value:?} is neither on nor off")),
    }
}

/// The `--help` text, with the defaults of this binary where they differ between binaries.
fn help(defaults: &Options) -> String {
    let ping = defaults.ping_interval.map_or("0".into(), |d| format!("{}s", d.as_secs()));
    let http = Limits::default();
    HELP.replace("{max_message}", &size_text(defaults.max_message))
        .replace("{ping}", &ping)
        .replace("{max_ahead}", &DEFAULT_MAX_AHEAD.to_string())
        .replace("{max_retained}", &size_text(DEFAULT_MAX_RETAINED_BYTES))
        .replace("{max_request_line}", &size_text(http.max_request_line))
        .replace("{max_head}", &size_text(http.max_head))
        .replace("{max_body}", &size_text(http.max_body as usize))
        .replace("{output_cap}", &size_text(defaults.output_cap))
        .replace("{redis}", crate::redis_options::HELP)
        .replace("{deflate_threshold}", &size_text(defaults.deflate_threshold))
}

const HELP: &str = "\
Sizes are bytes, or a whole number with K, M or G (powers of 1024: 64K = 65536, 16M, 1G).
Times take a unit (500ms, 30s, 2m, 1h, 250us); a bare number is in the unit the flag names.
Values follow the flag (--max-body 16M) or an equals sign (--max-body=16M).

Options:
  --addr HOST:PORT           listen address (default 127.0.0.1:8080; port 0 = any free port;
                             HOST may be a name, resolved once at start, or [IPv6] like [::1])
  --threads N                event loops, one per thread (default: one per core less one, at
                             least 1)
  --busy-poll MICROS         after a turn with work, poll this long before sleeping (default 0 = off,
                             at most 1s; saves a thread wake-up per message at the cost of a busy core)
  --trace                    annotated wire dump on stderr
  --max-request-line BYTES   longest request line (default {max_request_line}; over it: 414, close)
  --max-head BYTES           largest request head (default {max_head}; over it: 431, close)
  --max-headers N            most header fields (default 100; over it: 431, close)
  --max-body BYTES           largest request body (default {max_body}; over it: 413, close)
  --head-timeout SECS        time to send a request head (default 10s; then 408, close)
  --keepalive-timeout SECS   idle keep-alive connection lifetime (default 60s)
  --output-cap BYTES         output queued per connection before backpressure (default {output_cap})
  --max-connections N        connections open at once (default 100000; more are refused)
  --max-message BYTES        largest WebSocket message (default {max_message}; close 1009 past it;
                             the hub's POST body limit too: 413 past it)
  --max-frame BYTES          largest WebSocket frame (default: the message limit)
  --ping-interval SECS       WebSocket keepalive ping when idle (default {ping}; 0 = off)
  --pong-timeout SECS        time to wait for the pong (default 10s)
  --history N                messages each channel keeps for late readers (default 1024; at least 1)
  --max-retained-bytes BYTES history kept across all channels, every form of a message counted
                             (default {max_retained}; past it the oldest messages, whichever
                             channel, are evicted and late readers told what they missed)
  --max-channels N           channels at once (default 100000; a request that would make one
                             more: 503 with Retry-After; unused channels are freed)
  --max-hold SECS            longest long-poll hold (default 120s; then 204)
  --heartbeat SECS           SSE heartbeat comment interval (default 15s; at least 1s)
  --max-ahead N              broadcasts publishers may run ahead of delivery before a POST's
                             answer is held (default {max_ahead})
  --max-publish-wait SECS    longest a POST is held while delivery catches up (default 1s)
  --drain-timeout SECS       on SIGTERM/SIGINT, time to finish what is in flight before the rest
                             is closed (default 5s; a second signal exits at once)
  --no-deflate               do not negotiate permessage-deflate (RFC 7692) on WebSockets
  --deflate-threshold BYTES  WebSocket messages shorter than this go uncompressed (default
                             {deflate_threshold}); the hub compresses a broadcast once per window size
  --publish-token TOKEN      publishing needs this token: POST with Authorization: Bearer TOKEN
                             (else 401), a WebSocket whose upgrade carried it (header or
                             ?token=; else its text messages get close 1008); reading stays open
  --publish-token-file PATH  the same, the token read from the file's first line
  --allow-origin ORIGIN      WebSocket handshakes only from this Origin (else 403; no Origin or
                             the hub's own is fine), CORS for it on POST, poll, longpoll, sse;
                             repeatable, * for any (default: no CORS, any Origin's WebSocket)
  --metrics on|off           GET /metrics, Prometheus text format (default on)
  --transports LIST          the subscribe routes offered, comma-separated from websocket, sse,
                             longpoll, poll (default all four; one left out answers 404){redis}
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
        assert!(text.contains("(default 256M;"), "{text}");
        assert!(text.contains("--max-channels N           channels at once (default 100000;"), "{text}");
        assert!(parse(&["--max-channels", "-1"]).is_err());
    }

    #[test]
    fn help_names_this_binarys_own_defaults() {
        let mut hub = Options::with_defaults(64 << 10);
        hub.ping_interval = Some(Duration::from_secs(30));
        let text = help(&hub);
        assert!(text.contains("largest WebSocket message (default 64K;"), "{text}");
        assert!(text.contains("when idle (default 30s;"));
        assert!(help(&Options::with_defaults(16 << 20)).contains("(default 16M;"));
        assert!(text.contains("largest request body (default 1M;"), "{text}");
        assert!(text.contains("--drain-timeout SECS"), "{text}");
        assert!(!text.contains('{'), "every placeholder is filled");
    }

    #[test]
    fn every_flag_in_help_is_accepted_and_every_accepted_flag_is_in_help() {
        let listed: Vec<&str> = HELP
            .lines()
            .filter_map(|line| line.strip_prefix("  --"))
            .map(|line| line.split(' ').next().unwrap_or_default())
            .collect();
        assert!(listed.len() >= 25, "{listed:?}");
        let token_file = std::env::temp_dir().join(format!("talkback-options-test-{}", std::process::id()));
        std::fs::write(&token_file, "s3cret\n").unwrap();
        for name in listed {
            let flag = format!("--{name}");
            let value = match name {
                "addr" => "127.0.0.1:0",
                "allow-origin" => "https://a.example",
                "metrics" => "off",
                "transports" => "sse,poll",
                "publish-token-file" => token_file.to_str().unwrap_or_default(),
                _ => "64",
            };
            let words: Vec<&str> =
                if matches!(name, "trace" | "help" | "no-deflate") { vec![&flag] } else { vec![&flag, value] };
            if name != "help" {
                assert!(parse(&words).is_ok(), "{flag} {value}: {:?}", parse(&words));
            }
        }
        let _ = std::fs::remove_file(&token_file);
        assert_eq!(parse(&["--bogus", "1"]).unwrap_err(), "unknown flag --bogus (see --help)");
    }

    #[test]
    fn an_unknown_flag_is_named_as_unknown_even_without_a_value() {
        assert_eq!(parse(&["--bogus"]).unwrap_err(), "unknown flag --bogus (see --help)");
        assert_eq!(parse(&["--threads", "2", "--bogus"]).unwrap_err(), "unknown flag --bogus (see --help)");
        assert_eq!(parse(&["--bogus=1"]).unwrap_err(), "unknown flag --bogus (see --help)");
        assert!(parse(&["8080"]).unwrap_err().starts_with("unexpected argument \"8080\""));
        // A continuation line of the help text is not a flag.
        assert!(parse(&["--the", "1"]).is_err());
    }

    #[test]
    fn a_flag_that_needs_a_value_and_has_none_says_so() {
        assert_eq!(parse(&["--threads"]).unwrap_err(), "--threads needs a value (see --help)");
        assert_eq!(
            parse(&["--max-body", "--trace"]).unwrap_err(),
            "--max-body needs a value, but --trace follows it (see --help)"
        );
        assert_eq!(parse(&["--trace=1"]).unwrap_err(), "--trace takes no value (given \"1\")");
    }

    #[test]
    fn sizes_take_suffixes_where_a_flag_counts_bytes() {
        let options =
            parse(&["--max-body", "16M", "--max-message=64K", "--max-retained-bytes", "1G"]).unwrap().unwrap();
        assert_eq!(
            (options.http.max_body, options.max_message, options.max_retained_bytes),
            (16 << 20, 64 << 10, 1 << 30)
        );
        let options = parse(&["--output-cap", "2M", "--max-frame", "16k", "--max-head", "32K"]).unwrap().unwrap();
        assert_eq!((options.output_cap, options.max_frame, options.http.max_head), (2 << 20, Some(16 << 10), 32 << 10));
        assert!(parse(&["--history", "1K"]).unwrap_err().contains("is not a whole number"), "a count is no size");
    }

    #[test]
    fn durations_take_units_and_a_bare_number_keeps_its_old_unit() {
        let options =
            parse(&["--max-hold", "2m", "--head-timeout", "500ms", "--drain-timeout", "30"]).unwrap().unwrap();
        assert_eq!(options.max_hold, Duration::from_secs(120));
        assert_eq!(options.head_timeout, Duration::from_millis(500));
        assert_eq!(options.drain_timeout, Duration::from_secs(30), "bare = seconds");
        let options = parse(&["--busy-poll", "50", "--ping-interval", "0"]).unwrap().unwrap();
        assert_eq!(options.busy_poll, Duration::from_micros(50), "bare = microseconds");
        assert_eq!(options.ping_interval, None, "0 = off");
        assert_eq!(parse(&["--busy-poll", "1ms"]).unwrap().unwrap().busy_poll, Duration::from_millis(1));
        assert!(parse(&["--max-hold", "2 minutes"]).unwrap_err().contains("is not a duration"));
    }

    #[test]
    fn addr_accepts_host_names_and_ipv6_literals() {
        let options = parse(&["--addr", "localhost:0"]).unwrap().unwrap();
        assert!(options.addr.ip().is_loopback() && options.addr.port() == 0, "{}", options.addr);
        let options = parse(&["--addr", "[::1]:8081"]).unwrap().unwrap();
        assert_eq!(options.addr, "[::1]:8081".parse().unwrap());
        assert!(parse(&["--addr", "localhost"]).unwrap_err().contains("is not HOST:PORT"));
    }

    #[test]
    fn impossible_values_are_refused_with_a_one_line_reason() {
        let cases = [
            (&["--threads", "0"][..], "--threads must be at least 1: each event loop is a thread"),
            (&["--history", "0"], "--history must be at least 1: a channel keeps at least its last message"),
            (&["--max-connections", "0"], "--max-connections must be at least 1: no client could connect"),
            (&["--max-channels", "0"], "--max-channels must be at least 1: no channel could be made"),
            (&["--max-message", "0"], "--max-message must be at least 1: every message would be refused"),
            (&["--max-hold", "0"], "--max-hold must be at least 1ms: a long-poll with no hold is /poll"),
            (
                &["--heartbeat", "500ms"],
                "--heartbeat must be at least 1s: a comment more often than once a second is only noise",
            ),
            (&["--busy-poll", "2s"], "--busy-poll must be at most 1s: past that, sleeping costs nothing"),
            (&["--max-head", "8"], "--max-head must be at least 16: no request head is shorter"),
        ];
        for (words, reason) in cases {
            let error = parse(words).unwrap_err();
            assert_eq!(error, reason, "{words:?}");
            assert!(!error.contains('\n'));
        }
    }

    #[test]
    fn the_guard_flags_set_the_token_the_origins_and_the_metrics_route() {
        let options =
            parse(&["--publish-token", "s3cret", "--allow-origin", "https://a.example", "--allow-origin", "*"])
                .unwrap()
                .unwrap();
        assert_eq!(options.publish_token.as_deref(), Some("s3cret"));
        assert_eq!(options.allow_origins, ["https://a.example", "*"]);
        assert!(options.metrics, "on by default");
        assert!(!parse(&["--metrics", "off"]).unwrap().unwrap().metrics);
        assert!(parse(&["--metrics", "maybe"]).is_err());
        assert!(parse(&["--publish-token", "has space"]).is_err(), "not an RFC 6750 b64token");
        assert!(parse(&["--publish-token", ""]).is_err());
        assert!(parse(&["--allow-origin", "a.example"]).is_err(), "an origin has a scheme");
        assert!(parse(&["--allow-origin", "https://a.example/"]).is_err(), "and no path");
        assert!(parse(&["--publish-token-file", "/nonexistent/token"]).is_err());
    }

    #[test]
    fn transports_lists_the_subscribe_routes_a_hub_offers() {
        assert_eq!(parse(&[]).unwrap().unwrap().transports, Transports::ALL, "all four by default");
        let offered = parse(&["--transports", "sse,longpoll, poll"]).unwrap().unwrap().transports;
        assert_eq!(offered, Transports { websocket: false, sse: true, longpoll: true, poll: true });
        assert!(parse(&["--transports", "ws"]).unwrap().unwrap().transports.websocket, "ws is websocket");
        assert_eq!(
            parse(&["--transports", "sse,carrier-pigeon"]).unwrap_err(),
            "--transports: \"carrier-pigeon\" is not one of websocket, sse, longpoll, poll"
        );
        assert!(parse(&["--transports", ""]).is_err(), "at least one");
    }

    #[test]
    fn bad_flags_are_errors_not_panics() {
        assert!(parse(&["--threads"]).is_err());
        assert!(parse(&["--threads", "many"]).is_err());
        assert!(parse(&["--frobnicate", "1"]).is_err());
        assert!(parse(&["--addr", "nowhere"]).is_err());
        for flag in ["--max-body", "--max-hold", "--threads", "--addr"] {
            for value in ["", "-", "\u{0}", "99999999999999999999999", "1e400", "NaN", "inf", "[::1", "::"] {
                assert!(parse(&[flag, value]).is_err(), "{flag} {value:?}");
            }
        }
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
