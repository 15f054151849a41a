//! Server memory per idle client: how much the hub's resident set grows for each parked
//! client of a technique.
//!
//! Measuring inside our own process would mix the clients' memory (and everything the
//! comparison run allocated before) into the server's. So each technique gets a fresh hub in
//! a **child process** — this same binary, run as `compare --serve` — whose `VmRSS`
//! (`/proc/PID/status`) contains nothing but the server:
//!
//! ```text
//!  child = compare --serve            prints "listening on http://ADDR", serves until stdin closes
//!  warm-up: one client of the technique, kept open (code paths and first allocations touched)
//!  before = VmRSS(child)
//!  open N clients, each parked in the technique's idle state; settle 300 ms
//!  after  = VmRSS(child)              per client = (after - before) / N
//! ```
//!
//! Idle states: short polling = a keep-alive connection between polls (one 204 answered);
//! long polling = a held request; SSE = an open stream after its head; WebSocket = an open
//! connection after the 101. RSS counts user-space pages only: kernel socket buffers are not
//! in it, and the granularity is a 4 KiB page (÷ N per client).

use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use talkback_server::{HubRoutes, Options, Service};

use crate::client::Technique;
use crate::http::HttpConn;
use crate::stream::{open_sse, open_websocket};
use crate::wire::Counters;

/// Time for the hub to finish accepting and parking the last clients before RSS is read.
const SETTLE: Duration = Duration::from_millis(300);

/// `compare --serve`: the hub alone, until stdin reaches end of file.
pub(crate) fn serve(threads: usize) -> io::Result<()> {
    let mut options = Options::with_defaults(64 << 10);
    options.threads = threads;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("listening on http://{}", listener.local_addr()?);
    let server = talkback_server::start(listener, Service::Hub(HubRoutes::ALL), options, false)?;
    let shutdown = server.shutdown_handle();
    std::thread::spawn(move || {
        let _ = io::stdin().read_to_end(&mut Vec::new());
        shutdown.stop_now();
    });
    server.join()
}

/// The hub in a child process, stopped (stdin closed, then killed if need be) when dropped.
struct ChildHub {
    child: Child,
    addr: SocketAddr,
}

impl ChildHub {
    fn spawn(threads: usize) -> io::Result<ChildHub> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--serve", "--threads", &threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("child has no stdout"))?;
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line.trim().strip_prefix("listening on http://").and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(ChildHub { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!("child hub said {line:?}")))
            }
        }
    }

    /// The child's resident set size, in bytes.
    fn rss(&self) -> io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or_else(|| io::Error::other("no VmRSS"))?;
        let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        Ok(kib * 1024)
    }
}

impl Drop for ChildHub {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens one client of `technique` and leaves it in its idle state.
fn park(technique: Technique, addr: SocketAddr, counters: &Arc<Counters>) -> io::Result<HttpConn> {
    let stop = AtomicBool::new(false);
    let mut conn = HttpConn::connect(addr, counters, "")?;
    match technique {
        Technique::ShortPoll(_) => {
            conn.get("/ch/memory/poll?after=0", "Accept: application/json\r\n")?;
            conn.read_response(&stop)?;
        }
        Technique::LongPoll => conn.get("/ch/memory/longpoll?after=0&timeout=120", "Accept: application/json\r\n")?,
        Technique::Sse => open_sse(&mut conn, "memory", 0, &stop)?,
        Technique::WebSocket => drop(open_websocket(&mut conn, "/ch/memory/ws", &[], &stop, false)?),
        Technique::WebSocketDeflate => drop(open_websocket(&mut conn, "/ch/memory/ws", &[], &stop, true)?),
    }
    Ok(conn)
}

/// Bytes of server RSS per idle client of `technique`, with `clients` clients.
pub(crate) fn per_client(technique: Technique, clients: usize, threads: usize) -> io::Result<f64> {
    let hub = ChildHub::spawn(threads)?;
    let counters = Arc::new(Counters::default());
    let _warm = park(technique, hub.addr, &counters)?;
    std::thread::sleep(SETTLE);
    let before = hub.rss()?;
    let parked = (0..clients).map(|_| park(technique, hub.addr, &counters)).collect::<io::Result<Vec<_>>>()?;
    std::thread::sleep(SETTLE);
    let after = hub.rss()?;
    drop(parked);
    Ok((after as f64 - before as f64) / clients as f64)
}
