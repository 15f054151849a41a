//! The command line: how big a stream to send, how long to stay idle, how hard to compress the
//! idle time, and where to write the results. Parsed by hand, like the server binaries'
//! options, so every knob that shapes a number in the table is visible in one place.

use std::path::PathBuf;
use std::time::Duration;

pub(crate) const HELP: &str = "\
compare: runs the hub in-process and measures short polling, long polling, Server-Sent Events
and WebSocket clients against the same message stream, from the sockets.

usage: compare [--quick] [flags]

  --quick                  100 messages at 50/s, 60 s idle compressed 15x, 100 memory clients (< 30 s)
  --messages N             messages published in the active phase (default 500)
  --rate N                 messages per second (default 50)
  --idle SECS              idle phase, in simulated seconds (default 60)
  --time-scale K           idle phase runs K times faster: idle time, poll intervals, the SSE
                           heartbeat and the long-poll hold are all divided by K (default 6)
  --poll-interval MS[,MS]  short-polling intervals, one table row each (default 250,1000)
  --clients N              idle clients per technique for the memory probe (default 500; 0 = skip)
  --browser-headers        add the ~400 bytes of headers Chrome sends to every client request
  --trace                  the hub's annotated wire dump on stderr (every request, event, frame)
  --threads N              server event loops (default: number of cores)
  --out DIR                where comparison.svg and comparison.md go (default reports/compare,
                           git-ignored; `just figures` writes the tracked docs/figures)
  --help                   this text

Internal: `compare --serve [--threads N]` runs only the hub; the memory probe starts it as a child.";

/// Everything one run is told.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// Messages the publisher sends in the active phase.
    pub(crate) messages: u64,
    /// Publish rate, messages per second.
    pub(crate) rate: u64,
    /// The idle phase's simulated length.
    pub(crate) idle: Duration,
    /// How many times faster than real time the idle phase runs.
    pub(crate) time_scale: u32,
    /// One short-polling client (and table row) per interval.
    pub(crate) poll_intervals: Vec<Duration>,
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
            rate: 50,
            idle: Duration::from_secs(60),
            time_scale: 6,
            poll_intervals: vec![Duration::from_millis(250), Duration::from_millis(1000)],
            clients: 500,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
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
        self.rate = 50;
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
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(Mode::Help);
            }
            "--quick" => {}
            "--browser-headers" => parsed.browser_headers = true,
            "--trace" => parsed.trace = true,
            "--serve" => serve = true,
            _ => {
                let value = it.next().ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
                set(&mut parsed, &flag, &value)?;
            }
        }
    }
    if serve {
        return Ok(Mode::Serve { threads: parsed.threads });
    }
    Ok(Mode::Compare(parsed))
}

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
    let number = || value.parse::<u64>().map_err(|_| format!("{flag}: {value:?} is not a number"));
    let positive = || number().and_then(|n| if n == 0 { Err(format!("{flag} must be at least 1")) } else { Ok(n) });
    match flag {
        "--messages" => args.messages = positive()?,
        "--rate" => args.rate = positive()?,
        "--idle" => args.idle = Duration::from_secs(number()?),
        "--time-scale" => args.time_scale = u32::try_from(positive()?).map_err(|_| "--time-scale is too large")?,
        "--poll-interval" => args.poll_intervals = parse_intervals(value)?,
        "--clients" => args.clients = number()? as usize,
        "--threads" => args.threads = positive()? as usize,
        "--out" => args.out = PathBuf::from(value),
        _ => return Err(format!("unknown flag {flag} (see --help)")),
    }
    Ok(())
}

fn parse_intervals(value: &str) -> Result<Vec<Duration>, String> {
    value
        .split(',')
        .map(|ms| match ms.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(format!("--poll-interval: {ms:?} is not a positive number of milliseconds")),
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
    fn bad_flags_are_errors() {
        assert!(args(&["--rate"]).is_err());
        assert!(args(&["--rate", "0"]).is_err());
        assert!(args(&["--frobnicate", "1"]).is_err());
    }
}
