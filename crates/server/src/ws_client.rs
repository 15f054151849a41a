//! A blocking WebSocket client on `talkback-ws` over `std::net` (no TLS): the engine of the
//! `ws-client` binary — interactive mode (stdin lines → text messages, messages → stdout) and
//! the Autobahn TestSuite client protocol (getCaseCount, runCase, updateReports).
//!
//! On stdin EOF it waits until the server has been quiet for 300 ms (so the replies to the last
//! lines get printed), sends close 1000, waits for the server's close and for the server to
//! close TCP (RFC 6455 §7.1.1), and returns. `wss://` is out of scope: there is no TLS here.

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use talkback_ws::DeflateOffer;
use talkback_ws::handshake::ClientHandshake;
use talkback_ws::{Config, Connection, Event, Role};

/// How long one blocking read waits before timers and stdin get a turn.
const TICK: Duration = Duration::from_millis(50);

/// How long the server has to answer the opening handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// After stdin ends, how long the server must stay quiet before we send our close.
const LINGER: Duration = Duration::from_millis(300);

/// What the client is told to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// `ws://host[:port][/path]`.
    pub url: String,
    /// Run the Autobahn client protocol instead of the interactive mode.
    pub autobahn: bool,
    /// Print every frame in and out on stderr.
    pub trace: bool,
    /// Largest frame and message accepted.
    pub max_message: usize,
    /// Offer permessage-deflate (RFC 7692; on unless `--no-deflate`).
    pub deflate: bool,
}

/// One open WebSocket connection over a blocking socket.
struct Client {
    stream: TcpStream,
    conn: Connection,
    trace: bool,
    buf: Vec<u8>,
    /// A protocol violation seen while reading, applied with `fail_if_broken` once the
    /// events queued before it have been handled (so the messages before it get echoed).
    broken: Option<talkback_ws::Error>,
}

/// Splits `ws://host[:port][/path]` into (authority for Host, address to dial, path).
fn parse_url(url: &str) -> Result<(String, String, String), String> {
    if url.starts_with("wss://") {
        return Err("wss:// (TLS) is not supported; use ws://".into());
    }
    let rest = url.strip_prefix("ws://").ok_or_else(|| format!("{url:?} is not a ws:// URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']'));
    let addr = if has_port { authority.to_owned() } else { format!("{authority}:80") };
    Ok((authority.to_owned(), addr, if path.is_empty() { "/".into() } else { path.into() }))
}

impl Client {
    /// Dials, runs the opening handshake, and keeps any bytes that followed the 101.
    fn connect(url: &str, opts: &Options) -> Result<Client, String> {
        let (host, addr, path) = parse_url(url)?;
        let mut stream = TcpStream::connect(&addr).map_err(|e| format!("connecting to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT)).map_err(|e| format!("socket: {e}"))?;
        let mut handshake = ClientHandshake::new(&host, &path, &[]);
        if opts.deflate {
            // `permessage-deflate; client_no_context_takeover; client_max_window_bits`: the
            // server may choose our window, and we reset after every message (so we keep no
            // compressor between messages, and a server may ask for it: Autobahn 13.2, 13.5).
            let offer = DeflateOffer { client_no_context_takeover: true, ..DeflateOffer::default() };
            handshake = handshake.offer_deflate(offer);
        }
        let mut request = Vec::new();
        handshake.encode_request(&mut request);
        stream.write_all(&request).map_err(|e| format!("sending handshake to {addr}: {e}"))?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        let consumed = loop {
            let n = stream.read(&mut chunk).map_err(|e| format!("reading the handshake response from {addr}: {e}"))?;
            if n == 0 {
                return Err(format!("{addr} closed the connection during the handshake"));
            }
            head.extend_from_slice(&chunk[..n]);
            match handshake.handle_response(&head) {
                Ok(Some((consumed, _protocol))) => break consumed,
                Ok(None) => {}
                Err(e) => return Err(format!("handshake with {url}: {e}")),
            }
        };
        stream.set_read_timeout(Some(TICK)).map_err(|e| format!("socket: {e}"))?;
        if opts.trace {
            match handshake.deflate() {
                Some(deflate) => eprintln!("permessage-deflate agreed: {}", deflate.response()),
                None if opts.deflate => eprintln!("permessage-deflate offered, declined by the server"),
                None => {}
            }
        }
        let config = Config {
            max_frame_size: opts.max_message,
            max_message_size: opts.max_message,
            deflate: handshake.deflate(),
            ..Config::default()
        };
        let mut conn = Connection::new(Role::Client, config, Instant::now());
        conn.set_frame_log(opts.trace);
        let mut client = Client { stream, conn, trace: opts.trace, buf: vec![0; 64 * 1024], broken: None };
        client.feed(&head[consumed..]);
        Ok(client)
    }

    /// Hands received bytes to the protocol, remembering a violation for `fail_if_broken`.
    fn feed(&mut self, bytes: &[u8]) {
        if let Err(err) = self.conn.handle_bytes(bytes, Instant::now()) {
            if self.trace {
                eprintln!("!! {err}");
            }
            self.broken = Some(err);
        }
    }

    /// Fails the connection after a violation: queues the close frame with its code (§7.1.7).
    fn fail_if_broken(&mut self) {
        if let Some(err) = self.broken.take() {
            self.conn.fail(&err);
        }
    }

    /// Writes everything the protocol queued.
    fn flush(&mut self) -> Result<(), String> {
        self.fail_if_broken();
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        while let Some(record) = self.conn.poll_frame_log() {
            eprintln!("{record}");
        }
        if out.is_empty() {
            return Ok(());
        }
        self.stream.write_all(&out).map_err(|e| format!("writing: {e}"))
    }

    /// Reads once (waiting at most one tick) and runs timers; `Ok(false)` at end of stream.
    fn read_once(&mut self) -> Result<bool, String> {
        match self.stream.read(&mut self.buf) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                let bytes = std::mem::take(&mut self.buf);
                self.feed(&bytes[..n]);
                self.buf = bytes;
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(false),
            Err(e) => return Err(format!("reading: {e}")),
        }
        self.conn.handle_timeout(Instant::now());
        Ok(true)
    }

    /// After the close handshake: give the server a moment to close TCP first (§7.1.1).
    fn finish(mut self) -> Result<(), String> {
        self.flush()?;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && self.read_once()? {}
        Ok(())
    }
}

/// Stdin lines out, messages in, until stdin ends and the close handshake is done.
pub fn interactive(opts: &Options) -> Result<(), String> {
    let mut client = Client::connect(&opts.url, opts)?;
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Set at stdin EOF; we close once the server has been quiet for LINGER after it, so
    // replies to the last lines are printed (data after our close would be ignored).
    let mut quiet_since: Option<Instant> = None;
    loop {
        while quiet_since.is_none() {
            match lines.try_recv() {
                Ok(line) => {
                    let _ = client.conn.send_text(&line);
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => quiet_since = Some(Instant::now()),
            }
        }
        if quiet_since.is_some_and(|t| t.elapsed() >= LINGER) && client.conn.can_send() {
            let _ = client.conn.close(1000, "");
        }
        client.flush()?;
        let open = client.read_once()?;
        while let Some(event) = client.conn.poll_event() {
            // Only messages count as the server still talking: a server that pings more often
            // than LINGER must not keep us from closing.
            if matches!(event, Event::Text(_) | Event::Binary(_)) {
                quiet_since = quiet_since.map(|_| Instant::now());
            }
            print_event(&event);
        }
        client.flush()?;
        if client.conn.is_closed() || !open {
            return client.finish();
        }
    }
}

fn print_event(event: &Event) {
    match event {
        Event::Text(text) => println!("{text}"),
        Event::Binary(data) => {
            let hex: Vec<String> = data.iter().map(|b| format!("{b:02x}")).collect();
            println!("[binary {} bytes] {}", data.len(), hex.join(" "));
        }
        Event::Close(frame) => {
            if let Some(frame) = frame.as_ref().filter(|f| f.code != 1000) {
                eprintln!("closed by server: {} {}", frame.code, frame.reason);
            }
        }
        Event::Ping(_) | Event::Pong(_) => {}
    }
}

/// The Autobahn client protocol: ask for the case count, run each case echoing every
/// message, then ask the fuzzingserver to write its report.
pub fn autobahn(opts: &Options) -> Result<(), String> {
    let base = opts.url.trim_end_matches('/');
    let mut count = None;
    run_session(&format!("{base}/getCaseCount"), opts, |event| {
        if let Event::Text(text) = event {
            count = text.trim().parse::<u32>().ok();
        }
        None
    })?;
    let count = count.ok_or("the fuzzingserver did not send a case count")?;
    for case in 1..=count {
        eprintln!("case {case}/{count}");
        let url = format!("{base}/runCase?case={case}&agent=talkback");
        let echo = |event| match event {
            Event::Text(_) | Event::Binary(_) => Some(event),
            _ => None,
        };
        // A case may end the TCP connection rudely; report it and go on to the next case.
        if let Err(message) = run_session(&url, opts, echo) {
            eprintln!("case {case}: {message}");
        }
    }
    run_session(&format!("{base}/updateReports?agent=talkback"), opts, |_| None)?;
    eprintln!("ran {count} cases; reports updated");
    Ok(())
}

/// One connection until it closes; `reply` returns a message to echo back, if any.
fn run_session(url: &str, opts: &Options, mut reply: impl FnMut(Event) -> Option<Event>) -> Result<(), String> {
    let mut client = Client::connect(url, opts)?;
    let mut open = true;
    loop {
        while let Some(event) = client.conn.poll_event() {
            let _ = match reply(event) {
                Some(Event::Text(text)) => client.conn.send_text(&text),
                Some(Event::Binary(data)) => client.conn.send_binary(&data),
                _ => Ok(()),
            };
        }
        client.flush()?;
        if client.conn.is_closed() || !open {
            return client.finish();
        }
        open = client.read_once()?;
    }
}
