//! The values a command-line flag takes, parsed by hand (no dependency) so that every binary —
//! the servers' [`crate::Options`], `ws-client`, `compare` — reads them the same way and says the
//! same thing when one is wrong:
//!
//! | kind | accepts | examples |
//! |---|---|---|
//! | count | a whole number | `--threads 4` |
//! | size | bytes: a whole number, optionally followed by `K`, `M` or `G` — powers of 1024, as in nginx (`64K` = 65536); `KiB`/`MiB`/`GiB`, `KB`/`MB`/`GB` and lower case mean the same | `--max-body 16M` |
//! | duration | a number and a unit — `us`, `ms`, `s`, `m`, `h` — or a bare number in the unit the flag names (`SECS`, `MS`, `MICROS` in `--help`), so scripts written before units keep working | `--max-hold 2m`, `--max-hold 120`, `--head-timeout 1.5s` |
//! | address | `HOST:PORT`: an IPv4 literal, a bracketed IPv6 literal, or a host name, resolved once when the flag is read (the first address the resolver gives) | `--addr localhost:8080`, `--addr [::1]:0` |
//!
//! [`Args`] walks the command line: `--flag value` and `--flag=value` both work, a flag that
//! needs a value and is followed by nothing (or by another `--flag`) says so, and a flag the
//! binary does not know is named as unknown before any value is looked at. Every error is one
//! line naming the flag, the value and the reason.

use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The command line being read, one flag at a time.
#[derive(Debug, Clone)]
pub struct Args {
    words: VecDeque<String>,
    /// The `value` of a `--flag=value` just returned by [`Args::next_flag`].
    inline: Option<String>,
}

impl Args {
    /// The words after the program name.
    pub fn new(words: impl IntoIterator<Item = String>) -> Args {
        Args { words: words.into_iter().collect(), inline: None }
    }

    /// The next flag (or positional word), with a `--flag=value`'s value split off and kept
    /// for [`Args::value`] (or refused by [`Args::switch`]).
    pub fn next_flag(&mut self) -> Option<String> {
        let word = self.words.pop_front()?;
        match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                self.inline = Some(value.to_owned());
                Some(flag.to_owned())
            }
            _ => Some(word),
        }
    }

    /// The value of `flag`: after `=`, else the next word unless that is another flag.
    pub fn value(&mut self, flag: &str) -> Result<String, String> {
        if let Some(value) = self.inline.take() {
            return Ok(value);
        }
        match self.words.front() {
            Some(next) if !next.starts_with("--") => Ok(self.words.pop_front().unwrap_or_default()),
            Some(next) => Err(format!("{flag} needs a value, but {next} follows it (see --help)")),
            None => Err(format!("{flag} needs a value (see --help)")),
        }
    }

    /// Checks that a switch (a flag without a value) was not given one with `=`.
    pub fn switch(&mut self, flag: &str) -> Result<(), String> {
        match self.inline.take() {
            Some(value) => Err(format!("{flag} takes no value (given {value:?})")),
            None => Ok(()),
        }
    }
}

/// Prints a `--help` text to stdout; a closed pipe (`--help | head`) is not an error.
pub fn print_help(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// The one-line error for a word that is not a flag this binary knows.
pub fn unknown(word: &str) -> String {
    if word.starts_with('-') {
        format!("unknown flag {word} (see --help)")
    } else {
        format!("unexpected argument {word:?} (flags start with --; see --help)")
    }
}

/// A whole number.
pub fn count(flag: &str, value: &str) -> Result<u64, String> {
    value.parse::<u64>().map_err(|_| format!("{flag}: {value:?} is not a whole number"))
}

/// `n` if it is at least `min`, else an error saying why smaller makes no sense.
pub fn at_least<T: PartialOrd + std::fmt::Debug>(flag: &str, n: T, min: T, why: &str) -> Result<T, String> {
    if n < min { Err(format!("{flag} must be at least {min:?}: {why}")) } else { Ok(n) }
}

/// A size in bytes: `65536`, `64K`, `16M`, `1G` (K = 1024).
pub fn size(flag: &str, value: &str) -> Result<usize, String> {
    let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, suffix) = value.split_at(digits);
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("{flag}: {value:?} is not a size (bytes, or a number with K, M or G; K = 1024)")),
    };
    let n = count(flag, number).map_err(|_| format!("{flag}: {value:?} is not a size (e.g. 65536, 64K, 16M)"))?;
    n.checked_mul(1 << shift)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .ok_or_else(|| format!("{flag}: {value} is too large"))
}

/// How [`size_text`] writes a size: the largest suffix that divides it.
pub fn size_text(bytes: usize) -> String {
    for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes != 0 && bytes.is_multiple_of(1 << shift) {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// The unit of a bare number given to a duration flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds (`MICROS` in `--help`).
    Micros,
    /// Milliseconds (`MS`).
    Millis,
    /// Seconds (`SECS`).
    Secs,
}

impl Unit {
    fn nanos(self) -> f64 {
        match self {
            Unit::Micros => 1e3,
            Unit::Millis => 1e6,
            Unit::Secs => 1e9,
        }
    }
}

/// A duration: `500ms`, `30s`, `2m`, `1h`, `250us`, `1.5s`, or a bare number in `bare` units.
pub fn duration(flag: &str, value: &str, bare: Unit) -> Result<Duration, String> {
    let end = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, suffix) = value.split_at(end);
    let nanos_per = match suffix {
        "" => bare.nanos(),
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "{flag}: {value:?} is not a duration (a number with us, ms, s, m or h, e.g. 500ms, 30s, 2m)"
            ));
        }
    };
    let n: f64 = match number.parse() {
        Ok(n) if !number.starts_with('.') && !number.ends_with('.') => n,
        _ => return Err(format!("{flag}: {value:?} is not a duration (e.g. 500ms, 30s, 2m)")),
    };
    let nanos = n * nanos_per;
    if nanos >= u64::MAX as f64 {
        return Err(format!("{flag}: {value} is too long"));
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// `HOST:PORT`, resolved now: IPv4 or `[IPv6]` literals as they are, a host name to the first
/// address the system resolver gives for it.
pub fn addr(flag: &str, value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let port = value.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(_))) if !host.is_empty() && !host.contains(':') => {}
        _ => {
            return Err(format!(
                "{flag}: {value:?} is not HOST:PORT (e.g. 127.0.0.1:8080, localhost:8080, [::1]:8080; port 0 = any free port)"
            ));
        }
    }
    let mut found = value.to_socket_addrs().map_err(|e| format!("{flag}: cannot resolve {value:?}: {e}"))?;
    found.next().ok_or_else(|| format!("{flag}: {value:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args::new(words.iter().map(|w| w.to_string()))
    }

    #[test]
    fn sizes_take_k_m_g_suffixes_in_powers_of_1024() {
        assert_eq!(size("--max-body", "65536"), Ok(65536));
        assert_eq!(size("--max-body", "64K"), Ok(64 << 10));
        assert_eq!(size("--max-body", "64k"), Ok(64 << 10));
        assert_eq!(size("--max-body", "64KiB"), Ok(64 << 10));
        assert_eq!(size("--max-body", "16M"), Ok(16 << 20));
        assert_eq!(size("--max-body", "1G"), Ok(1 << 30));
        assert_eq!(size("--max-body", "1gb"), Ok(1 << 30));
        assert_eq!(size("--max-body", "0"), Ok(0));
    }

    #[test]
    fn a_bad_size_is_a_one_line_reason_naming_the_flag() {
        for bad in ["", "K", "-1", "1.5M", "12Q", "1 K", "M1"] {
            let error = size("--max-body", bad).unwrap_err();
            assert!(error.starts_with("--max-body: ") && !error.contains('\n'), "{bad:?}: {error}");
        }
        assert_eq!(size("--max-body", "99999999999G"), Err("--max-body: 99999999999G is too large".into()));
    }

    #[test]
    fn sizes_are_written_back_with_the_largest_suffix_that_divides_them() {
        assert_eq!(size_text(65536), "64K");
        assert_eq!(size_text(16 << 20), "16M");
        assert_eq!(size_text(256 << 20), "256M");
        assert_eq!(size_text(1 << 30), "1G");
        assert_eq!(size_text(8192), "8K");
        assert_eq!(size_text(100), "100");
        assert_eq!(size_text(0), "0");
        for n in [0, 100, 8192, 65536, 3 << 30] {
            assert_eq!(size("f", &size_text(n)), Ok(n), "round trip");
        }
    }

    #[test]
    fn durations_take_a_unit_or_a_bare_number_in_the_flags_own_unit() {
        assert_eq!(duration("--max-hold", "30s", Unit::Secs), Ok(Duration::from_secs(30)));
        assert_eq!(duration("--max-hold", "500ms", Unit::Secs), Ok(Duration::from_millis(500)));
        assert_eq!(duration("--max-hold", "2m", Unit::Secs), Ok(Duration::from_secs(120)));
        assert_eq!(duration("--max-hold", "1h", Unit::Secs), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("--max-hold", "250us", Unit::Secs), Ok(Duration::from_micros(250)));
        assert_eq!(duration("--max-hold", "1.5s", Unit::Secs), Ok(Duration::from_millis(1500)));
        // A bare number keeps meaning what it meant before units existed.
        assert_eq!(duration("--max-hold", "120", Unit::Secs), Ok(Duration::from_secs(120)));
        assert_eq!(duration("--poll-interval", "250", Unit::Millis), Ok(Duration::from_millis(250)));
        assert_eq!(duration("--busy-poll", "50", Unit::Micros), Ok(Duration::from_micros(50)));
    }

    #[test]
    fn a_bad_duration_is_a_one_line_reason_naming_the_flag() {
        for bad in ["", "s", "-1s", "10 s", "10x", "1.s", ".5s", "1..2s", "5sec"] {
            let error = duration("--max-hold", bad, Unit::Secs).unwrap_err();
            assert!(error.starts_with("--max-hold: ") && !error.contains('\n'), "{bad:?}: {error}");
        }
        assert!(duration("--max-hold", "1e30h", Unit::Secs).is_err());
        assert!(duration("--max-hold", "99999999999999h", Unit::Secs).unwrap_err().contains("too long"));
    }

    #[test]
    fn addresses_are_literals_or_host_names_resolved_once() {
        assert_eq!(addr("--addr", "127.0.0.1:8080"), Ok(SocketAddr::from(([127, 0, 0, 1], 8080))));
        let v6 = addr("--addr", "[::1]:0").unwrap();
        assert!(v6.is_ipv6() && v6.ip().is_loopback() && v6.port() == 0);
        // `localhost` is in every /etc/hosts: no DNS server is needed.
        let named = addr("--addr", "localhost:8080").unwrap();
        assert!(named.ip().is_loopback() && named.port() == 8080, "{named}");
    }

    #[test]
    fn an_address_without_a_port_or_with_a_bad_one_says_host_port() {
        for bad in ["localhost", "127.0.0.1", "::1", ":8080", "localhost:http", "localhost:70000", "[::1]"] {
            let error = addr("--addr", bad).unwrap_err();
            assert!(error.contains("is not HOST:PORT"), "{bad:?}: {error}");
        }
        let error = addr("--addr", "no-such-host.invalid:80").unwrap_err();
        assert!(error.starts_with("--addr: cannot resolve \"no-such-host.invalid:80\""), "{error}");
    }

    #[test]
    fn a_flag_takes_its_value_after_a_space_or_an_equals_sign() {
        let mut a = args(&["--threads", "3", "--max-body=16M", "--trace"]);
        assert_eq!(a.next_flag().as_deref(), Some("--threads"));
        assert_eq!(a.value("--threads"), Ok("3".into()));
        assert_eq!(a.next_flag().as_deref(), Some("--max-body"));
        assert_eq!(a.value("--max-body"), Ok("16M".into()));
        assert_eq!(a.next_flag().as_deref(), Some("--trace"));
        assert_eq!(a.switch("--trace"), Ok(()));
        assert_eq!(a.next_flag(), None);
    }

    #[test]
    fn a_flag_without_its_value_says_it_needs_one() {
        let mut a = args(&["--threads"]);
        a.next_flag();
        assert_eq!(a.value("--threads"), Err("--threads needs a value (see --help)".into()));
        let mut a = args(&["--threads", "--trace"]);
        a.next_flag();
        assert_eq!(a.value("--threads"), Err("--threads needs a value, but --trace follows it (see --help)".into()));
        let mut a = args(&["--trace=yes"]);
        a.next_flag();
        assert_eq!(a.switch("--trace"), Err("--trace takes no value (given \"yes\")".into()));
    }

    #[test]
    fn unknown_words_are_named() {
        assert_eq!(unknown("--bogus"), "unknown flag --bogus (see --help)");
        assert_eq!(unknown("bogus"), "unexpected argument \"bogus\" (flags start with --; see --help)");
        assert_eq!(
            at_least("--threads", 0, 1, "each event loop is a thread"),
            Err("--threads must be at least 1: each event loop is a thread".into())
        );
        assert_eq!(at_least("--threads", 2, 1, "x"), Ok(2));
    }
}
