//! A readiness event, and reading: until the socket is drained, into the loop's scratch buffer
//! or straight into the handler's own, handing the bytes over as they come.

use std::io::{self, Read};

use mio::Token;

use super::Connections;
use crate::endpoint::Phase;
use crate::handler::{Handler, OutputKind};

impl<H: Handler> Connections<H> {
    /// A readiness event for `token`.
    pub(crate) fn ready(&mut self, token: Token, event: &mio::event::Event, state: &mut H::State, scratch: &mut [u8]) {
        let slot = token.0;
        let Some(conn) = self.slab.at_mut(slot) else { return };
        if event.is_read_closed() || event.is_error() {
            conn.read_closed = true;
        }
        if event.is_writable() {
            self.flush(slot, state);
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read(slot, state, scratch);
            self.flush_answer(slot, state);
        }
    }

    /// Reads until the socket would block, handing bytes to the handler as they come. What
    /// the handler queues meanwhile answers this connection's own input.
    pub(super) fn read(&mut self, slot: usize, state: &mut H::State, scratch: &mut [u8]) {
        loop {
            let Some(conn) = self.slab.at_mut(slot) else { return };
            if conn.read_paused {
                return;
            }
            // Fast path (*direct reads*, see `Endpoint::direct_target`): a handler in the middle
            // of a large body lends its own buffer, and no byte is copied out of the scratch.
            let direct = match conn.phase {
                Phase::Open => conn.endpoint.direct_target(state),
                Phase::Flushing | Phase::Lingering => None,
            };
            let (result, asked, is_direct) = match direct {
                Some(target) => (conn.socket.read(target), target.len(), true),
                None => (conn.socket.read(scratch), scratch.len(), false),
            };
            let n = match result {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.remove(slot, state),
            };
            conn.endpoint.parts.read_total += n as u64;
            self.env.io.read += n as u64;
            let answer = OutputKind::Answer;
            match conn.phase {
                Phase::Lingering if n == 0 => return self.remove(slot, state),
                // The peer is done too; the answer still going out finishes the connection.
                Phase::Flushing if n == 0 => return,
                Phase::Lingering | Phase::Flushing => {} // discarded
                Phase::Open if n == 0 => {
                    self.call(slot, answer, state, |h, cx, st| h.on_peer_closed(cx, st));
                    return;
                }
                Phase::Open if is_direct => {
                    self.call(slot, answer, state, |h, cx, st| h.on_direct_input(n, cx, st));
                }
                Phase::Open => self.deliver_input(slot, &scratch[..n], state),
            }
            if self.drained_by_short_read(slot, n, asked) {
                return;
            }
        }
    }

    /// Fast path (*short-read skip*): a read that returned fewer bytes than it asked for
    /// emptied the socket's receive buffer. Edge-triggered readiness reports any byte (or FIN)
    /// that arrives from now on as a new event, so the read that would only say `WouldBlock`
    /// is skipped — one system call per request saved. Not after the peer's FIN was reported:
    /// no new edge comes for it, so the loop reads on to the read that returns 0.
    fn drained_by_short_read(&self, slot: usize, n: usize, asked: usize) -> bool {
        let read_closed = self.slab.at(slot).is_some_and(|conn| conn.read_closed);
        n < asked && !read_closed
    }

    /// Gives `fresh` bytes (after any kept ones) to the handler and keeps what it leaves.
    fn deliver_input(&mut self, slot: usize, fresh: &[u8], state: &mut H::State) {
        let id = self.slab.id_of(slot);
        let Some(conn) = self.slab.at_mut(slot) else { return };
        let requests = conn.endpoint.give_input(id, &mut self.env, state, fresh);
        self.after_call(slot, requests, OutputKind::Answer, state);
        let Some(conn) = self.slab.at_mut(slot) else { return };
        if conn.endpoint.input.len() > self.max_input {
            // The handler should have bounded this already; this is the loop's own backstop.
            self.remove(slot, state);
        }
    }
}
