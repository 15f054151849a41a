//! A request whose answer waits for something elsewhere: a parked long-poll (for a message
//! after its cursor) or a held `POST` (for the loops to catch up with the publishers). One
//! type for both, with the rules they share: what it keeps of its request, what happens to
//! bytes that arrive meanwhile, and what the connection becomes once it is answered.
//!
//! ```text
//!  request ──▶ Held { waiting: Message | CatchUp } ──(release / catch-up / deadline)──▶ answer
//!                 │ bytes arriving meanwhile: kept (a pipelined request), at most one head's worth
//!                 ▼
//!             Resume::Http (replay the kept bytes)  or  Resume::Close (the request said close,
//!                                                           or the server is draining)
//! ```

use std::sync::Arc;
use std::time::Instant;

use talkback_longpoll::MessageId;
use talkback_reactor::Cx;

use crate::answer::ReplyTo;
use crate::stats::Answered;

/// What a held request waits for.
#[derive(Debug)]
pub enum Waiting {
    /// A long-poll: the first message after its cursor on `channel` (or its hold's end).
    Message {
        /// The channel it is parked on.
        channel: Arc<str>,
    },
    /// A `POST` whose message `id` is published: the loops to catch up (or the longest wait).
    CatchUp {
        /// The id its answer will carry.
        id: MessageId,
    },
    /// A `POST` in a cluster: Redis to store its message (the answer carries the id Redis
    /// gave it), or the command timeout.
    Stored,
}

/// A request held open. It keeps only what its answer needs.
#[derive(Debug)]
pub struct Held {
    /// What it waits for.
    pub waiting: Waiting,
    /// How to answer it.
    pub to: ReplyTo,
    /// Requests answered on this connection, this one included.
    pub requests: u64,
    /// When it was held (for the trace).
    pub since: Instant,
}

/// What the connection becomes once a held request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Back to reading requests; any kept bytes are replayed at once.
    Http {
        /// Requests answered so far on the connection.
        requests: u64,
    },
    /// The request asked to close: the connection closes after the answer.
    Close,
}

/// An answer to a held request and what the connection becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// What was answered.
    pub answered: Answered,
    /// What comes next.
    pub resume: Resume,
}

impl Held {
    /// The one rule for bytes that arrive while a request is held: a client may pipeline the
    /// next request behind it, so they are kept for later (consuming nothing) — up to one
    /// request head's worth (`max_head`); past that it is a flood, and the connection is dropped.
    pub fn on_input(&self, input: &[u8], max_head: usize, cx: &mut Cx<'_>) -> usize {
        if input.len() > max_head {
            cx.abort();
            return input.len();
        }
        0
    }

    /// The answer was written: close, or go back to HTTP and replay what arrived meanwhile.
    pub fn finish(&self, answered: Answered, cx: &mut Cx<'_>) -> Finished {
        if !self.to.keep_alive {
            return self.finish_closing(answered, cx);
        }
        cx.replay_input();
        Finished { answered, resume: Resume::Http { requests: self.requests } }
    }

    /// The answer was written (with `Connection: close`, [`ReplyTo::closing`]): close, whatever
    /// the request asked — the server is draining. A request pipelined behind it is left
    /// unanswered, which `Connection: close` tells the client to send again elsewhere.
    pub fn finish_closing(&self, answered: Answered, cx: &mut Cx<'_>) -> Finished {
        cx.close();
        Finished { answered, resume: Resume::Close }
    }
}
