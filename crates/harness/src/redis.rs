//! A real `redis-server` for tests: started on a free loopback port with a fresh temporary
//! directory, stopped (by its PID, through the child handle) when dropped.
//!
//! Tests that need Redis call [`RedisServer::start`]; where the binary is not installed it
//! returns `None` after printing one line saying so, and the test returns early — so
//! `cargo test --workspace` still passes on a machine without Redis. CI installs the Debian
//! package `redis-server`, so there every such test runs.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process on `127.0.0.1`, with persistence off.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one, or returns `None` (saying so on stderr) when `redis-server` is not on PATH.
    /// Panics if it is installed but does not come up within 10 s.
    pub fn start() -> Option<RedisServer> {
        RedisServer::start_with(&[])
    }

    /// Starts one with extra `redis-server` arguments (e.g. `["--appendonly", "yes"]`).
    pub fn start_with(extra: &[&str]) -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            eprintln!("redis-server is not installed: skipping this test (CI installs it)");
            return None;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("talkback-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the redis temp dir");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let server = RedisServer { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&server.addr, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on {} within 10 s", server.addr);
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL, as `--redis` takes it: `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody listens on right now (bound, read, released: the usual small race).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}
