//! The command line: how big a stream to send, how long to stay idle, how hard to compress the
//! idle time, and where to write the results. Parsed by hand, like the server binaries'
//! options, so every knob that shapes a number in the table is visible in one place.

use std::path::PathBuf;
use std::time::Duration;

use talkback_server::flags::{self, Unit};

pub(crate) const HELP: &str = "\
compare: runs the hub in-process and measures short polling, long polling, Server-Sent Events
and WebSocket clients against the same message stream, from the sockets.

usage: compare [--quick] [flags]

  --quick                  100 messages at 50/s, 60 s idle compressed 15x, 100 memory clients (< 30 s)
  --messages N             messages published in the active phase (default 500)
  --rate N                 messages per second, fractions too: 0.1 = one every 10 s (default 50)
  --idle SECS              idle phase, in simulated seconds (default 60s; or 500ms, 2m, 1h)
  --time-scale K           idle phase runs K times faster: idle time, poll intervals, the SSE
                           heartbeat and the long-poll hold are all divided by K (default 6)
  --poll-interval MS[,MS]  short-polling intervals, one table row each (default 250,1000;
                           a bare number is milliseconds, or 2s, 1500ms)
  --reconnect N            messages in the reconnect scenario: halfway through, every client
                           loses its connection (half drop it, half have it cut by the server's
                           side) and resumes from its cursor (default 40; 0 = skip)
  --outage MS              how long a client stays disconnected before it reconnects
                           (default 250ms; a bare number is milliseconds)
  --clients N              idle clients per technique for the memory probe (default 500; 0 = skip)
  --browser-headers        add the ~400 bytes of headers Chrome sends to every client request
  --trace                  the hub's annotated wire dump on stderr (every request, event, frame)
  --threads N              server event loops (default: one per core less one, at least 1)
  --out DIR                where comparison.svg and comparison.md go (default reports/compare,
                           git-ignored; `just figures` writes the tracked docs/figures)
  --help                   this text

Internal: `compare --serve [--threads N]` runs only the hub; the memory probe starts it as a child.";

/// Everything one run is told.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// Messages the publisher sends in the active phase.
    pub(crate) messages: u64,
    /// Publish rate, messages per second (a fraction is a message every few seconds).
    pub(crate) rate: f64,
    /// The idle phase's simulated length.
    pub(crate) idle: Duration,
    /// How many times faster than real time the idle phase runs.
    pub(crate) time_scale: u32,
    /// One short-polling client (and table row) per interval.
    pub(crate) poll_intervals: Vec<Duration>,
    /// Messages published in the reconnect scenario (0: no scenario).
    pub(crate) reconnect: u64,
    /// How long a client of the reconnect scenario stays away before it reconnects.
    pub(crate) outage: Duration,
    /// Idle clients opened per technique by the memory probe.
    pub(crate) clients: usize,
    /// Server event loops.
    pub(crate) threads: usize,
    /// Output directory for the SVG and the markdown table.
    pub(crate) out: PathBuf,
    /// Add [`crate::http::BROWSER_HEADERS`] to every client request.
    pub(crate) browser_headers: bool,
    /// `--trace`: the in-process hub prints its wire dump to stderr.
    pub(crate) trace: bool,
    /// `--quick` was given (recorded in the command line printed with the table).
    pub(crate) quick: bool,
    /// The command line as typed, for the "how this was made" line; without `--out DIR`, which
    /// shapes no number (so the tracked figure reads the same wherever a run wrote it).
    pub(crate) command: String,
}

/// What `main` should do.
#[derive(Debug)]
pub(crate) enum Mode {
    /// Run the comparison.
    Compare(Args),
    /// Run only the hub, for the memory probe (a child process of `Compare`).
    Serve { threads: usize },
    /// `--help` was printed.
    Help,
}

impl Args {
    fn defaults() -> Args {
        Args {
            messages: 500,
            rate: 50.0,
            idle: Duration::from_secs(60),
            time_scale: 6,
            poll_intervals: vec![Duration::from_millis(250), Duration::from_millis(1000)],
            reconnect: 40,
            outage: Duration::from_millis(250),
            clients: 500,
            threads: talkback_reactor::default_threads(),
            out: PathBuf::from("reports/compare"),
            browser_headers: false,
            trace: false,
            quick: false,
            command: String::from("compare"),
        }
    }

    /// `--quick`: small enough for CI, still every technique and every column.
    fn make_quick(&mut self) {
        self.quick = true;
        self.messages = 100;
        self.rate = 50.0;
        self.idle = Duration::from_secs(60);
        self.time_scale = 15;
        self.clients = 100;
    }

    /// The real duration of an interval of simulated idle time.
    pub(crate) fn compress(&self, simulated: Duration) -> Duration {
        simulated / self.time_scale
    }
}

/// Parses `args` (without the program name).
pub(crate) fn parse(args: Vec<String>) -> Result<Mode, String> {
    let mut parsed = Args::defaults();
    parsed.command = command_line(&args);
    // --quick first, so explicit flags after it (or before it) still win.
    if args.iter().any(|a| a == "--quick") {
        parsed.make_quick();
    }
    let mut serve = false;
    let mut words = flags::Args::new(args);
    while let Some(flag) = words.next_flag() {
        match flag.as_str() {
            "--help" | "-h" => {
                words.switch(&flag)?;
                flags::print_help(HELP);
                return Ok(Mode::Help);
            }
            "--quick" => words.switch(&flag)?,
            "--browser-headers" => words.switch(&flag).map(|()| parsed.browser_headers = true)?,
            "--trace" => words.switch(&flag).map(|()| parsed.trace = true)?,
            "--serve" => words.switch(&flag).map(|()| serve = true)?,
            _ if !VALUE_FLAGS.contains(&flag.as_str()) => return Err(flags::unknown(&flag)),
            _ => {
                let value = words.value(&flag)?;
                set(&mut parsed, &flag, &value)?;
            }
        }
    }
    if serve {
        return Ok(Mode::Serve { threads: parsed.threads });
    }
    Ok(Mode::Compare(parsed))
}

/// The flags that take a value (each has an arm in [`set`]).
const VALUE_FLAGS: &[&str] = &[
    "--messages",
    "--rate",
    "--idle",
    "--time-scale",
    "--poll-interval",
    "--reconnect",
    "--outage",
    "--clients",
    "--threads",
    "--out",
];

/// `compare` and its flags as typed, except `--out DIR`.
fn command_line(args: &[String]) -> String {
    let mut words = vec!["compare"];
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--out" {
            it.next();
        } else {
            words.push(arg);
        }
    }
    words.join(" ")
}

fn set(args: &mut Args, flag: &str, value: &str) -> Result<(), String> {
    let number = || flags::count(flag, value);
    let positive = |why: &str| number().and_then(|n| flags::at_least(flag, n, 1, why));
    match flag {
        "--messages" => args.messages = positive("a stream needs a message")?,
        "--rate" => args.rate = rate(flag, value)?,
        "--idle" => args.idle = flags::duration(flag, value, Unit::Secs)?,
        "--time-scale" => {
            let scale = positive("1 is real time; the idle phase cannot run slower")?;
            args.time_scale = u32::try_from(scale).map_err(|_| format!("{flag}: {value} is too large"))?;
        }
        "--poll-interval" => args.poll_intervals = parse_intervals(value)?,
        "--reconnect" => args.reconnect = reconnect_messages(flag, number()?)?,
        "--outage" => args.outage = flags::duration(flag, value, Unit::Millis)?,
        "--clients" => args.clients = number()? as usize,
        "--threads" => args.threads = positive("each event loop is a thread")? as usize,
        "--out" => args.out = PathBuf::from(value),
        _ => return Err(flags::unknown(flag)),
    }
    Ok(())
}

/// `--rate`: messages per second, a positive number that may be a fraction (`0.1` = one
/// message every 10 s), at most one a microsecond.
fn rate(flag: &str, value: &str) -> Result<f64, String> {
    let plain = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.');
    match value.parse::<f64>() {
        Ok(rate) if plain && rate > 0.0 && rate <= 1e6 => Ok(rate),
        Ok(_) if plain => Err(format!("{flag}: {value} is out of range (more than 0, at most 1000000 a second)")),
        _ => Err(format!("{flag}: {value:?} is not a number of messages per second (e.g. 50, 0.1)")),
    }
}

/// `--reconnect`: 0 (skip) or enough messages that the cut falls between two of them.
fn reconnect_messages(flag: &str, n: u64) -> Result<u64, String> {
    if n == 1 {
        return Err(format!("{flag} must be 0 (skip) or at least 2: the connection is lost between two messages"));
    }
    Ok(n)
}

fn parse_intervals(value: &str) -> Result<Vec<Duration>, String> {
    value
        .split(',')
        .map(|ms| match flags::duration("--poll-interval", ms.trim(), Unit::Millis) {
            Ok(interval) if interval >= Duration::from_millis(1) => Ok(interval),
            Ok(_) => Err(format!("--poll-interval must be at least 1ms (given {ms:?})")),
            Err(e) => Err(e),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Mode, String> {
        parse(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn quick_sets_small_defaults_and_explicit_flags_win() {
        let Ok(Mode::Compare(a)) = args(&["--messages", "7", "--quick"]) else { panic!("not a compare run") };
        assert!(a.quick);
        assert_eq!(a.messages, 7);
        assert_eq!(a.time_scale, 15);
        assert_eq!(a.command, "compare --messages 7 --quick");
    }

    #[test]
    fn output_goes_to_reports_unless_told_and_out_is_not_in_the_command() {
        let Ok(Mode::Compare(a)) = args(&[]) else { panic!("not a compare run") };
        assert_eq!(a.out, PathBuf::from("reports/compare"));
        let Ok(Mode::Compare(a)) = args(&["--quick", "--out", "docs/figures"]) else { panic!("not a compare run") };
        assert_eq!(a.out, PathBuf::from("docs/figures"));
        assert_eq!(a.command, "compare --quick");
    }

    #[test]
    fn poll_intervals_are_a_comma_list() {
        let Ok(Mode::Compare(a)) = args(&["--poll-interval", "100,2000"]) else { panic!("not a compare run") };
        assert_eq!(a.poll_intervals, [Duration::from_millis(100), Duration::from_millis(2000)]);
        assert!(args(&["--poll-interval", "0"]).is_err());
    }

    #[test]
    fn poll_intervals_take_units_and_a_bare_number_is_milliseconds() {
        let Ok(Mode::Compare(a)) = args(&["--poll-interval", "2s,1500ms,250"]) else { panic!("not a compare run") };
        assert_eq!(a.poll_intervals, [Duration::from_secs(2), Duration::from_millis(1500), Duration::from_millis(250)]);
        let Ok(Mode::Compare(a)) = args(&["--idle", "2m", "--outage", "1s"]) else { panic!("not a compare run") };
        assert_eq!((a.idle, a.outage), (Duration::from_secs(120), Duration::from_secs(1)));
        let Ok(Mode::Compare(a)) = args(&["--idle", "90"]) else { panic!("not a compare run") };
        assert_eq!(a.idle, Duration::from_secs(90), "a bare --idle is seconds, as before");
    }

    #[test]
    fn rate_accepts_fractions_one_message_every_ten_seconds_is_0_1() {
        let Ok(Mode::Compare(a)) = args(&["--rate", "0.1"]) else { panic!("not a compare run") };
        assert_eq!(a.rate, 0.1);
        assert_eq!(format!("{}/s", a.rate), "0.1/s", "as the notes print it");
        let Ok(Mode::Compare(a)) = args(&["--rate=250"]) else { panic!("not a compare run") };
        assert_eq!(format!("{}/s", a.rate), "250/s");
        for bad in ["0", "0.0", "-1", "1e3", "NaN", "inf", "fast", "", "2000000"] {
            let error = args(&["--rate", bad]).unwrap_err();
            assert!(error.starts_with("--rate: ") && !error.contains('\n'), "{bad:?}: {error}");
        }
    }

    #[test]
    fn reconnect_is_zero_to_skip_or_at_least_two_messages() {
        let Ok(Mode::Compare(a)) = args(&["--reconnect", "0"]) else { panic!("not a compare run") };
        assert_eq!(a.reconnect, 0);
        assert!(args(&["--reconnect", "1"]).unwrap_err().contains("at least 2"));
    }

    #[test]
    fn bad_flags_are_one_line_errors_that_name_the_flag() {
        assert_eq!(args(&["--rate"]).unwrap_err(), "--rate needs a value (see --help)");
        assert!(args(&["--rate", "0"]).is_err());
        assert_eq!(args(&["--bogus"]).unwrap_err(), "unknown flag --bogus (see --help)");
        assert_eq!(args(&["--frobnicate", "1"]).unwrap_err(), "unknown flag --frobnicate (see --help)");
        assert_eq!(args(&["--threads", "0"]).unwrap_err(), "--threads must be at least 1: each event loop is a thread");
        assert_eq!(
            args(&["--messages", "--quick"]).unwrap_err(),
            "--messages needs a value, but --quick follows it (see --help)"
        );
        assert_eq!(args(&["--quick=yes"]).unwrap_err(), "--quick takes no value (given \"yes\")");
        assert!(args(&["--poll-interval", "0"]).unwrap_err().contains("at least 1ms"));
        assert!(args(&["--poll-interval", "1x"]).unwrap_err().contains("is not a duration"));
    }

    #[test]
    fn every_value_flag_has_an_arm_and_a_help_line() {
        for flag in VALUE_FLAGS {
            assert!(HELP.contains(&format!("  {flag} ")), "{flag} is in --help");
            let value = if *flag == "--out" { "x" } else { "2" };
            assert!(!set(&mut Args::defaults(), flag, value).is_err_and(|e| e.contains("unknown")), "{flag}");
        }
    }
}
