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

use talkback_server::ws_client::{Options, autobahn, interactive};

const HELP: &str = "usage: ws-client [--trace] [--max-message BYTES] ws://HOST[:PORT][/PATH]
       ws-client --autobahn [--max-message BYTES] ws://HOST:PORT

  (default)         send each stdin line as a text message, print each message received
  --autobahn        run the Autobahn client protocol (getCaseCount, runCase, updateReports)
  --trace           print every frame in and out on stderr
  --max-message N   largest frame and message accepted, in bytes (default 16777216)
  --no-deflate      do not offer permessage-deflate (RFC 7692; offered by default)
  --help            this text

wss:// (TLS) is not supported.";

fn main() {
    let result = parse_args().and_then(|opts| if opts.autobahn { autobahn(&opts) } else { interactive(&opts) });
    if let Err(message) = result {
        eprintln!("ws-client: {message}");
        std::process::exit(1);
    }
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options { url: String::new(), autobahn: false, trace: false, max_message: 16 << 20, deflate: true };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            "--autobahn" => opts.autobahn = true,
            "--trace" => opts.trace = true,
            "--no-deflate" => opts.deflate = false,
            "--max-message" => {
                let value = args.next().ok_or("--max-message needs a number of bytes")?;
                opts.max_message = value.parse().map_err(|_| format!("bad --max-message {value:?}"))?;
            }
            url if !url.starts_with('-') && opts.url.is_empty() => opts.url = url.to_owned(),
            other => return Err(format!("unexpected argument {other:?}\n{HELP}")),
        }
    }
    if opts.url.is_empty() {
        return Err(format!("missing URL\n{HELP}"));
    }
    Ok(opts)
}
