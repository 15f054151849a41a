//! ws-client: a blocking WebSocket client on `talkback-ws` (std::net only, no TLS).
//!
//! ```text
//! ws-client ws://127.0.0.1:8080/chat          stdin lines -> text messages; prints what arrives
//! ws-client --trace ws://127.0.0.1:8080/      ... and every frame in and out on stderr
//! ws-client --autobahn ws://127.0.0.1:9001    run the Autobahn client cases against a fuzzingserver
//! ```
//!
//! Try it against `ws-echo`: `cargo run --bin ws-echo -- --addr 127.0.0.1:8080`, then
//! `printf 'hello\nworld\n' | cargo run --bin ws-client -- ws://127.0.0.1:8080/`.
//! On stdin EOF it waits until the server has been quiet for 300 ms (so the replies to the last
//! lines get printed), sends close 1000, waits for the server's close and for the server to
//! close TCP (RFC 6455 §7.1.1), and exits 0. `wss://` is out of scope: there is no TLS here.

use talkback_server::flags::{self, Args};
use talkback_server::ws_client::{Options, autobahn, interactive};

const HELP: &str = "usage: ws-client [--trace] [--max-message BYTES] [--no-deflate] ws://HOST[:PORT][/PATH]
       ws-client --autobahn [--max-message BYTES] ws://HOST:PORT

  (default)         send each stdin line as a text message, print each message received
  --autobahn        run the Autobahn client protocol (getCaseCount, runCase, updateReports)
  --trace           print every frame in and out on stderr
  --max-message N   largest frame and message accepted, in bytes or with K, M, G
                    (powers of 1024; default 16M)
  --no-deflate      do not offer permessage-deflate (RFC 7692; offered by default)
  --help            this text

HOST is a name (resolved when connecting), an IPv4 address or a bracketed IPv6 address
([::1]). wss:// (TLS) is not supported.";

fn main() {
    let result = match parse_args(std::env::args().skip(1)) {
        Ok(None) => {
            flags::print_help(HELP);
            return;
        }
        Ok(Some(opts)) => {
            if opts.autobahn {
                autobahn(&opts)
            } else {
                interactive(&opts)
            }
        }
        Err(message) => {
            eprintln!("ws-client: {message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = result {
        eprintln!("ws-client: {message}");
        std::process::exit(1);
    }
}

/// The options, or `None` for `--help`.
fn parse_args(words: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut opts = Options { url: String::new(), autobahn: false, trace: false, max_message: 16 << 20, deflate: true };
    let mut args = Args::new(words);
    while let Some(word) = args.next_flag() {
        match word.as_str() {
            "--help" | "-h" => return args.switch(&word).map(|()| None),
            "--autobahn" => args.switch(&word).map(|()| opts.autobahn = true)?,
            "--trace" => args.switch(&word).map(|()| opts.trace = true)?,
            "--no-deflate" => args.switch(&word).map(|()| opts.deflate = false)?,
            "--max-message" => {
                let value = args.value(&word)?;
                let bytes = flags::size(&word, &value)?;
                opts.max_message = flags::at_least(&word, bytes, 1, "every message would be refused")?;
            }
            url if !url.starts_with('-') && opts.url.is_empty() => opts.url = url.to_owned(),
            url if !url.starts_with('-') => return Err(format!("one URL only: {:?}, then {url:?}", opts.url)),
            other => return Err(flags::unknown(other)),
        }
    }
    if opts.url.is_empty() {
        return Err("missing URL: ws-client ws://HOST[:PORT][/PATH] (see --help)".into());
    }
    Ok(Some(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Option<Options>, String> {
        parse_args(words.iter().map(|w| w.to_string()))
    }

    #[test]
    fn max_message_takes_a_size_with_a_suffix() {
        let opts = parse(&["--max-message", "64K", "ws://localhost:8080/"]).unwrap().unwrap();
        assert_eq!((opts.max_message, opts.url.as_str()), (64 << 10, "ws://localhost:8080/"));
        let opts = parse(&["ws://[::1]:9001", "--max-message=1M", "--trace"]).unwrap().unwrap();
        assert_eq!((opts.max_message, opts.trace, opts.deflate), (1 << 20, true, true));
        assert!(!parse(&["--no-deflate", "ws://x/"]).unwrap().unwrap().deflate);
        assert_eq!(
            parse(&["--max-message", "0", "ws://x/"]).unwrap_err(),
            "--max-message must be at least 1: every message would be refused"
        );
    }

    #[test]
    fn unknown_flags_missing_values_and_missing_urls_are_one_line_errors() {
        assert_eq!(parse(&["--bogus"]).unwrap_err(), "unknown flag --bogus (see --help)");
        assert_eq!(parse(&["ws://x/", "--max-message"]).unwrap_err(), "--max-message needs a value (see --help)");
        assert!(parse(&[]).unwrap_err().starts_with("missing URL"));
        assert!(parse(&["ws://a/", "ws://b/"]).unwrap_err().starts_with("one URL only"));
        assert!(parse(&["--help"]).unwrap().is_none());
        for error in [parse(&["--bogus"]), parse(&[]), parse(&["--autobahn=1", "ws://x/"])] {
            assert!(!error.unwrap_err().contains('\n'));
        }
    }
}
