//! A TCP relay between some clients and the hub that can cut every connection through it at
//! once — what a client sees when the server restarts, a proxy in the path is reloaded or a
//! NAT forgets the flow: the server's side of the connection goes away (a FIN arrives) while
//! the client did nothing. The reconnect scenario (`reconnect.rs`) sends the clients whose
//! connection "the server cuts" through one.
//!
//! One thread accepts; each connection gets two pump threads (client → hub, hub → client).
//! The relay counts nothing: the clients count their own bytes at their sockets.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// How often the accepting thread checks whether it should stop.
const ACCEPT_TICK: Duration = Duration::from_millis(5);

/// A running relay; [`Relay::stop`] (or dropping it) ends it.
#[derive(Debug)]
pub(crate) struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    /// Both sockets of every relayed connection still open: (client side, hub side).
    open: Mutex<Vec<(TcpStream, TcpStream)>>,
}

impl Relay {
    /// Listens on 127.0.0.1 (a free port) and relays every connection to `upstream`.
    pub(crate) fn start(upstream: SocketAddr) -> io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let for_acceptor = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept(&listener, upstream, &for_acceptor));
        Ok(Relay { addr, shared, acceptor: Some(acceptor) })
    }

    /// Where clients connect.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every connection open through the relay, both ways; returns how many. New
    /// connections are relayed as before (the "server" is back at once).
    pub(crate) fn cut(&self) -> usize {
        let open = std::mem::take(&mut *self.shared.open.lock().unwrap_or_else(PoisonError::into_inner));
        for (client, hub) in &open {
            let _ = client.shutdown(Shutdown::Both);
            let _ = hub.shutdown(Shutdown::Both);
        }
        open.len()
    }

    /// Stops accepting and cuts what is open.
    pub(crate) fn stop(&mut self) {
        self.shared.stop.store(true, Relaxed);
        self.cut();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept(listener: &TcpListener, upstream: SocketAddr, shared: &Arc<Shared>) {
    while !shared.stop.load(Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                if let Err(e) = relay(client, upstream, shared) {
                    eprintln!("compare: relay to the hub failed: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(ACCEPT_TICK),
            Err(e) => eprintln!("compare: relay accept failed: {e}"),
        }
    }
}

/// Connects `client` to the hub and starts its two pumps.
fn relay(client: TcpStream, upstream: SocketAddr, shared: &Shared) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_nodelay(true)?;
    let hub = TcpStream::connect(upstream)?;
    hub.set_nodelay(true)?;
    shared.open.lock().unwrap_or_else(PoisonError::into_inner).push((client.try_clone()?, hub.try_clone()?));
    let (client_in, hub_out) = (client.try_clone()?, hub.try_clone()?);
    thread::spawn(move || pump(client_in, hub_out));
    thread::spawn(move || pump(hub, client));
    Ok(())
}

/// Copies `from` to `to` until either ends, then passes the end on (a FIN for a FIN).
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_both_ways_and_a_cut_ends_the_clients_connection_from_the_server_side() {
        let hub = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut relay = Relay::start(hub.local_addr().unwrap()).unwrap();
        let mut client = TcpStream::connect(relay.addr()).unwrap();
        let (mut upstream, _) = hub.accept().unwrap();
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        upstream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        upstream.write_all(b"pong").unwrap();
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
        assert_eq!(relay.cut(), 1);
        assert_eq!(client.read(&mut buf).unwrap(), 0, "the client sees the end of the stream");
        assert_eq!(upstream.read(&mut buf).unwrap(), 0, "and so does the hub");
        // The relay still takes new connections after a cut.
        let _again = TcpStream::connect(relay.addr()).unwrap();
        assert!(hub.accept().is_ok());
        relay.stop();
    }
}
