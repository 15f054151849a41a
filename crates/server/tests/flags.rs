//! The command line of the real binaries: what an operator sees for a mistake (one line on
//! stderr, exit status 2, nothing started), and that the values the flags document work.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// Runs `binary` with `args`, expecting it to refuse them: returns its stderr.
fn refused(binary: &str, args: &[&str]) -> String {
    let output = Command::new(binary).args(args).output().expect("run the binary");
    assert_eq!(output.status.code(), Some(2), "{binary} {args:?} exits 2");
    assert!(output.stdout.is_empty(), "nothing started, nothing printed on stdout");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    stderr.trim_end().to_owned()
}

#[test]
fn a_server_names_an_unknown_flag_a_missing_value_and_an_impossible_one_in_one_line() {
    let demo = env!("CARGO_BIN_EXE_demo");
    assert_eq!(refused(demo, &["--bogus"]), "error: unknown flag --bogus (see --help)");
    assert_eq!(refused(demo, &["--threads"]), "error: --threads needs a value (see --help)");
    assert_eq!(refused(demo, &["--threads", "0"]), "error: --threads must be at least 1: each event loop is a thread");
    assert!(refused(demo, &["--max-body", "16Q"]).starts_with("error: --max-body: \"16Q\" is not a size"));
    assert!(refused(demo, &["--max-hold", "2 m"]).starts_with("error: --max-hold: \"2 m\" is not a duration"));
    assert!(refused(demo, &["--addr", "localhost"]).starts_with("error: --addr: \"localhost\" is not HOST:PORT"));
    let echo = env!("CARGO_BIN_EXE_ws-echo");
    assert_eq!(
        refused(echo, &["--history", "0"]),
        "error: --history must be at least 1: a channel keeps at least its last message"
    );
}

#[test]
fn ws_client_names_an_unknown_flag_and_a_missing_value_in_one_line() {
    let client = env!("CARGO_BIN_EXE_ws-client");
    assert_eq!(refused(client, &["--bogus"]), "ws-client: unknown flag --bogus (see --help)");
    assert_eq!(
        refused(client, &["ws://127.0.0.1:1/", "--max-message"]),
        "ws-client: --max-message needs a value (see --help)"
    );
}

#[test]
fn a_server_listens_on_a_host_name_resolved_at_start_with_sizes_and_times_in_their_units() {
    let demo = env!("CARGO_BIN_EXE_demo");
    let args = [
        "--addr",
        "localhost:0",
        "--threads",
        "1",
        "--max-message",
        "1K",
        "--max-hold",
        "2m",
        "--head-timeout",
        "500ms",
    ];
    let mut child = Command::new(demo).args(args).stdout(Stdio::piped()).spawn().expect("start demo");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("first line");
    let addr = first.trim().strip_prefix("listening on http://").expect("the listening line").to_owned();
    let socket: std::net::SocketAddr = addr.parse().expect("a resolved address");
    assert!(socket.ip().is_loopback(), "localhost resolved to a loopback address: {socket}");
    // --max-message 1K is 1024 bytes, the hub's POST body limit too: 1025 is refused before it
    // is read (413), where the default (64K) would wait for the body.
    let mut conn = TcpStream::connect(socket).expect("connect");
    write!(conn, "POST /ch/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n").expect("send");
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
