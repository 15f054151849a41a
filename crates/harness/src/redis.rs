//! A real `redis-server` for tests: started on a free loopback port with a fresh temporary
//! directory, stopped (by its PID, through the child handle) when dropped.
//!
//! Tests that need Redis call [`RedisServer::start`]; where the binary is not installed it
//! returns `None` after printing one line saying so, and the test returns early — so
//! `cargo test --workspace` still passes on a machine without Redis. CI installs the Debian
//! package `redis-server`, so there every such test runs.

use std::io::{Read, Write};
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
    /// The extra arguments it was started with (a restart uses them again).
    extra: Vec<String>,
    /// It is stopped ([`RedisServer::stop`]) and not yet restarted.
    stopped: bool,
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
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let child = spawn(addr, &dir, &extra);
        let server = RedisServer { child, addr, dir, extra, stopped: false };
        server.wait_listening();
        Some(server)
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on {} within 10 s", self.addr);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it, as a crash or an operator would: `keep_data` saves what it holds first
    /// (`SHUTDOWN SAVE`: a restart loads it back), otherwise it is killed and its data
    /// deleted (a restart comes back empty). Its port stays its own until [`restart`].
    ///
    /// [`restart`]: RedisServer::restart
    pub fn stop(&mut self, keep_data: bool) {
        if keep_data {
            // RESP: *2 $8 SHUTDOWN $4 SAVE. Redis saves, replies nothing and exits.
            if let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)) {
                let _ = stream.write_all(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n");
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = stream.read(&mut [0u8; 64]);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() {
                assert!(Instant::now() < deadline, "redis-server did not shut down within 10 s");
                std::thread::sleep(Duration::from_millis(10));
            }
        } else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_file(self.dir.join("dump.rdb"));
        }
        self.stopped = true;
    }

    /// Starts it again on the same port and directory (with what [`stop`] kept, if anything).
    ///
    /// [`stop`]: RedisServer::stop
    pub fn restart(&mut self) {
        assert!(self.stopped, "restart after stop");
        self.child = spawn(self.addr, &self.dir, &self.extra);
        self.stopped = false;
        self.wait_listening();
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

/// `redis-server` on `addr` over `dir`, persistence off unless `extra` turns it on.
fn spawn(addr: SocketAddr, dir: &PathBuf, extra: &[String]) -> Child {
    Command::new("redis-server")
        .args(["--port", &addr.port().to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(extra)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server")
}

/// A port nobody listens on right now (bound, read, released: the usual small race).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}
