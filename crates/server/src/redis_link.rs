//! The Redis links as connections of the owner loop: the reactor connects them out, this
//! module turns their bytes into values for the cluster client (`cluster/client.rs`) and
//! writes what it queues — and [`drive`] does what the client decided for the links as a
//! whole (connect, drop, reconnect after the back-off).
//!
//! ```text
//!  on_start / on_timer / a link gone / Drive ──▶ drive: drop · connect (both links) · write
//!                                                  queued commands · set the loop timer
//!  a link's bytes ──▶ RedisLink::on_input ──▶ Decoder ──▶ Client::on_value ──▶ hub, answers
//!                     └─ its own queued commands written back at once; work for the other
//!                        link ──▶ ClusterMessage::Drive (the loop's own mailbox)
//! ```

use std::io;

use talkback_reactor::{ConnId, ConnectionSet, Cx, Handler, OutputKind};
use talkback_resp::{Decoder, Limits};

use crate::cluster::client::Fault;
use crate::state::LoopCtx;

/// One link to Redis: its reply decoder.
#[derive(Debug)]
pub struct RedisLink {
    decoder: Decoder,
}

impl RedisLink {
    /// A link whose replies may be as large as `max_reply` bytes (a history read: `--history`
    /// messages of up to `--max-message` bytes each).
    pub fn new(max_reply: usize) -> RedisLink {
        let limits = Limits { max_reply: max_reply.max(Limits::default().max_reply), ..Limits::default() };
        RedisLink { decoder: Decoder::new(limits) }
    }

    /// The connect succeeded: the client queues the link's first commands.
    pub fn on_connected(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        state.observer.note(cx.id(), || "connected to Redis".into());
        let LoopCtx { cluster, hub, .. } = state;
        let client = cluster.as_mut().and_then(|c| c.client.as_mut());
        if !client.is_some_and(|client| client.connected(cx.id(), cx.now(), hub)) {
            return cx.abort(); // given up while it was connecting
        }
        settle(cx, state);
    }

    /// Bytes from Redis: every whole value goes to the client; bytes that are not RESP drop
    /// the links (there is no resynchronising a RESP stream).
    pub fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> usize {
        self.decoder.feed(input);
        let LoopCtx { cluster, hub, .. } = state;
        let Some(client) = cluster.as_mut().and_then(|c| c.client.as_mut()) else { return input.len() };
        loop {
            match self.decoder.next_value() {
                Ok(Some(value)) => client.on_value(cx.id(), value, cx.now(), hub),
                Ok(None) => break,
                Err(error) => {
                    client.fault(Fault(format!("Redis sent bytes that are not RESP: {error:?}")), cx.now());
                    break;
                }
            }
        }
        settle(cx, state);
        input.len()
    }

    /// A command (or the subscription) is overdue.
    pub fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if let Some(client) = client(state) {
            client.on_deadline(cx.id(), cx.now());
        }
        settle(cx, state);
    }

    /// The connect failed; the loop's `on_outbound_closed` tells the client.
    pub fn on_connect_failed(&mut self, error: &io::Error, state: &mut LoopCtx) {
        if let Some(client) = client(state) {
            eprintln!("talkback: cannot connect to Redis at {}: {error}", client.settings().addr);
        }
    }
}

/// The owner loop's client.
fn client(state: &mut LoopCtx) -> Option<&mut crate::cluster::Client> {
    state.cluster.as_mut()?.client.as_mut()
}

/// After a link's own call: write what the client queued for it and arm its deadline; if
/// the client dropped this link, drop it now; if there is work for the other link, ask the
/// loop to [`drive`].
fn settle(cx: &mut Cx<'_>, state: &mut LoopCtx) {
    let Some(cluster) = state.cluster.as_mut() else { return };
    let Some(client) = cluster.client.as_mut() else { return };
    let mine = cx.id();
    let mut drops = client.take_drops();
    if let Some(at) = drops.iter().position(|&id| id == mine) {
        drops.swap_remove(at);
        cx.abort();
    }
    let out = client.take_output(mine);
    if !out.is_empty() {
        cx.write(&out);
    }
    cx.set_deadline(client.deadline(mine));
    let rest = !drops.is_empty() || client.needs_drive(mine);
    client.give_back_drops(drops);
    if rest {
        cluster.drive();
    }
}

/// Does what the client decided for the links: drops the ones it gave up, connects both
/// when the back-off has passed (`link()` makes a link's handler), writes what it queued on
/// each, and sets the loop's timer for the next try. The owner loop calls it from every
/// loop-state hook that may change the links.
pub fn drive<H: Handler<State = LoopCtx>>(
    state: &mut LoopCtx,
    conns: &mut impl ConnectionSet<H>,
    link: impl Fn(&LoopCtx) -> H,
) {
    let now = conns.now();
    let Some(client) = client(state) else { return };
    let (addr, timeout) = (client.settings().addr, client.settings().timeout);
    for role in client.due_connects(now) {
        let handler = link(state);
        let Some(client) = self::client(state) else { return };
        match conns.connect(addr, timeout, handler) {
            Ok(id) => client.connecting(role, id),
            Err(error) => client.fault(Fault(format!("no socket for Redis: {error}")), now),
        }
    }
    let Some(client) = self::client(state) else { return };
    if let Some(fault) = client.take_new_fault() {
        let wait = client.retry_at().map_or(0, |at| at.saturating_duration_since(now).as_millis());
        eprintln!("talkback: Redis unreachable ({}); reconnecting in {wait} ms", fault.0);
    }
    let drops = client.take_drops();
    let links: Vec<ConnId> = client.links().collect();
    conns.set_timer(client.retry_at());
    for id in drops {
        conns.with(id, OutputKind::Push, state, |_, cx, _| cx.abort());
    }
    for id in links {
        conns.with(id, OutputKind::Answer, state, |_, cx, state| {
            let Some(client) = self::client(state) else { return };
            let out = client.take_output(cx.id());
            if !out.is_empty() {
                cx.write(&out);
            }
            cx.set_deadline(client.deadline(cx.id()));
        });
    }
}

/// A link of the owner loop is gone: the client starts again after the back-off.
pub fn closed<H: Handler<State = LoopCtx>>(
    id: ConnId,
    state: &mut LoopCtx,
    conns: &mut impl ConnectionSet<H>,
    link: impl Fn(&LoopCtx) -> H,
) {
    if let Some(client) = client(state) {
        client.closed(id, conns.now());
    }
    drive(state, conns, link);
}
