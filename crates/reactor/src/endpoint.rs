//! One connection without its socket: its handler, the parts a [`Cx`] lends it, the input it
//! left unconsumed — and the rules for calling it, which the real loop (`conns`) and the test
//! loop (`testing`) share: how kept bytes are handed back, and when input is replayed.

use std::time::Duration;

use crate::cx::{ConnParts, Cx, LoopEnv, Requests};
use crate::handler::{Handler, LoopState};
use crate::slab::ConnId;

/// Output a connection may queue before the loop stops reading it: 1 MiB.
pub(crate) const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

/// Unconsumed input a connection may hold before the loop drops it: 32 MiB.
pub(crate) const DEFAULT_MAX_INPUT: usize = 32 * 1024 * 1024;

/// How long a closing connection waits for the peer's FIN after our own, discarding what it
/// sends, so that unread request bytes cannot turn our close into a reset that destroys the
/// response before the client reads it.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// Where a connection is in its life.
///
/// ```text
///   Open ──cx.close()──▶ Flushing ──output written──▶ Lingering ──peer FIN / LINGER──▶ (removed)
///     │                                                 ▲
///     └──cx.abort(), read/write error, reset ───────────┴──────────────────────────▶ (removed)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Reading and writing normally.
    Open,
    /// Asked to close: writing out what is queued. Input is discarded, the handler is no
    /// longer called, and its deadline just removes the connection.
    Flushing,
    /// Our FIN is sent; reading and discarding until the peer's FIN or the linger deadline.
    Lingering,
}

/// A connection's handler and what the loop keeps for it besides its socket.
#[derive(Debug)]
pub(crate) struct Endpoint<H> {
    pub(crate) handler: H,
    pub(crate) parts: ConnParts,
    /// Bytes the handler has not consumed yet. Empty (no heap memory) when idle: reads go
    /// into the loop's scratch buffer, and only an unconsumed tail is copied here.
    pub(crate) input: KeptInput,
}

/// Input a handler left unconsumed: a pointer that is null while there is none, so each slot
/// pays 8 bytes for it instead of an empty `Vec`'s 24.
#[derive(Debug, Default)]
#[expect(clippy::box_collection, reason = "the box is the point: 8 bytes in every slot, not 24")]
pub(crate) struct KeptInput(Option<Box<Vec<u8>>>);

impl KeptInput {
    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |kept| kept.len())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `bytes` behind those already kept.
    fn extend(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.0.get_or_insert_default().extend_from_slice(bytes);
        }
    }

    /// The kept bytes, lent out for a call (see [`KeptInput::put_back`]).
    fn take(&mut self) -> Vec<u8> {
        self.0.take().map(|kept| *kept).unwrap_or_default()
    }

    /// What is left of the lent bytes; none leaves no memory behind.
    fn put_back(&mut self, kept: Vec<u8>) {
        self.0 = (!kept.is_empty()).then(|| Box::new(kept));
    }
}

impl<H: Handler> Endpoint<H> {
    /// Makes the handler of a new connection with `LoopState::accept`.
    pub(crate) fn accept(id: ConnId, env: &mut LoopEnv, state: &mut H::State) -> (Self, Requests) {
        let mut parts = ConnParts::default();
        let mut cx = Cx::new(id, &mut parts, env);
        let handler = state.accept(&mut cx);
        let requests = cx.finish();
        (Endpoint { handler, parts, input: KeptInput::default() }, requests)
    }

    /// The endpoint of an outbound connection, whose handler the loop state made.
    pub(crate) fn outbound(handler: H) -> Self {
        Endpoint { handler, parts: ConnParts::default(), input: KeptInput::default() }
    }

    /// Calls `f` with the handler and a [`Cx`], then replays kept input if it asked to.
    /// Returns `f`'s result and what is left for the loop to do.
    pub(crate) fn call<R>(
        &mut self,
        id: ConnId,
        env: &mut LoopEnv,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> (R, Requests) {
        let (result, requests) = self.call_once(id, env, state, f);
        (result, self.replay_while_asked(id, env, state, requests))
    }

    fn call_once<R>(
        &mut self,
        id: ConnId,
        env: &mut LoopEnv,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> (R, Requests) {
        let mut cx = Cx::new(id, &mut self.parts, env);
        let result = f(&mut self.handler, &mut cx, state);
        (result, cx.finish())
    }

    /// Fast path (*direct reads*): where the next read should go instead of the scratch
    /// buffer, if the handler is in the middle of a large body of known length — the bytes go
    /// straight where they belong, saving a copy of each. Only while no input is kept (kept
    /// bytes come first, and they are in `input`).
    pub(crate) fn direct_target(&mut self, state: &mut H::State) -> Option<&mut [u8]> {
        if self.input.is_empty() { self.handler.direct_input(state) } else { None }
    }

    /// Gives `fresh` bytes, behind any kept ones, to `on_input`; keeps what it leaves and
    /// replays while asked. Returns what is left for the loop to do.
    pub(crate) fn give_input(&mut self, id: ConnId, env: &mut LoopEnv, state: &mut H::State, fresh: &[u8]) -> Requests {
        let requests = if self.input.is_empty() {
            self.on_input(id, env, state, Some(fresh))
        } else {
            self.input.extend(fresh);
            self.on_input(id, env, state, None)
        };
        self.replay_while_asked(id, env, state, requests)
    }

    /// Calls `on_input` with `fresh`, or with the kept bytes when `fresh` is `None`, and keeps
    /// exactly what was not consumed — before anything else is done, so a handler that
    /// switched protocols and asked for a replay gets the bytes that followed the switch (a
    /// WebSocket frame sent in the same packet as the handshake).
    fn on_input(&mut self, id: ConnId, env: &mut LoopEnv, state: &mut H::State, fresh: Option<&[u8]>) -> Requests {
        // The kept bytes are lent out of the connection for the call, and given back after.
        let kept = if fresh.is_some() { Vec::new() } else { self.input.take() };
        let input = fresh.unwrap_or(&kept);
        let call = |handler: &mut H, cx: &mut Cx<'_>, state: &mut H::State| {
            handler.on_input(input, cx, state).min(input.len())
        };
        let (consumed, requests) = self.call_once(id, env, state, call);
        match fresh {
            Some(fresh) => self.input.extend(&fresh[consumed..]),
            None => {
                let mut kept = kept;
                kept.drain(..consumed);
                // Idle connections hold no read buffer.
                self.input.put_back(kept);
            }
        }
        requests
    }

    /// Hands the kept bytes back to `on_input` for as long as the handler asks
    /// (`Cx::replay_input`) and neither closes nor aborts, and there are kept bytes.
    fn replay_while_asked(
        &mut self,
        id: ConnId,
        env: &mut LoopEnv,
        state: &mut H::State,
        mut requests: Requests,
    ) -> Requests {
        while requests.replay_input && !requests.close && !requests.abort && !self.input.is_empty() {
            let earlier = requests.behind_pushes; // what an earlier call queued still goes behind
            requests = self.on_input(id, env, state, None);
            requests.behind_pushes |= earlier;
        }
        requests
    }

    /// The connection is gone: frees its output and tells its handler.
    pub(crate) fn closed(mut self, id: ConnId, env: &mut LoopEnv, state: &mut H::State) {
        self.parts.out.clear(&mut env.pool);
        self.handler.on_closed(id, state);
    }
}
