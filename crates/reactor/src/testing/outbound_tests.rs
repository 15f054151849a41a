//! The test loop drives outbound connections and the loop's timer on its virtual clock, as
//! the real loop does on sockets (`tests/outbound.rs`).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::TestLoop;
use crate::{ConnId, ConnectionSet, Cx, Handler, LoopState};

/// How long a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the state waits before dialling again.
const RETRY: Duration = Duration::from_secs(1);

/// The loop's one client: says `hi` once connected, records what it hears.
struct Link;

/// What happened, in order.
#[derive(Default)]
struct Dialer {
    events: Vec<String>,
    /// The id of the link being dialled or open.
    link: Option<ConnId>,
}

impl Dialer {
    fn dial(&mut self, conns: &mut impl ConnectionSet<Link>) {
        let peer = SocketAddr::from(([127, 0, 0, 1], 6379));
        self.link = conns.connect(peer, CONNECT_TIMEOUT, Link).ok();
        self.events.push("dial".into());
    }
}

impl Handler for Link {
    type State = Dialer;

    fn on_input(&mut self, input: &[u8], _cx: &mut Cx<'_>, state: &mut Dialer) -> usize {
        state.events.push(format!("read {}", String::from_utf8_lossy(input)));
        input.len()
    }

    fn on_deadline(&mut self, _cx: &mut Cx<'_>, _state: &mut Dialer) {}

    fn on_connected(&mut self, cx: &mut Cx<'_>, state: &mut Dialer) {
        cx.write(b"hi");
        state.events.push("connected".into());
    }

    fn on_connect_failed(&mut self, error: &io::Error, state: &mut Dialer) {
        state.events.push(format!("failed {:?}", error.kind()));
    }

    fn on_closed(&mut self, _id: ConnId, state: &mut Dialer) {
        state.events.push("closed".into());
    }
}

impl LoopState<Link> for Dialer {
    type Message = ();

    fn accept(&mut self, _cx: &mut Cx<'_>) -> Link {
        Link
    }

    fn on_message(&mut self, _message: (), _conns: &mut impl ConnectionSet<Link>) {}

    fn on_start(&mut self, conns: &mut impl ConnectionSet<Link>) {
        self.dial(conns);
    }

    fn on_timer(&mut self, conns: &mut impl ConnectionSet<Link>) {
        self.dial(conns);
    }

    fn on_outbound_closed(&mut self, _id: ConnId, conns: &mut impl ConnectionSet<Link>) {
        self.link = None;
        conns.set_timer(Some(conns.now() + RETRY));
    }
}

fn events(lp: &mut TestLoop<Link>) -> Vec<String> {
    std::mem::take(&mut lp.state().events)
}

#[test]
fn a_connect_waits_for_the_test_then_talks_like_any_connection() {
    let mut lp = TestLoop::<Link>::new(|_| Dialer::default());
    let link = lp.state().link.expect("dialled in on_start");
    assert_eq!(lp.connects(), [(link, SocketAddr::from(([127, 0, 0, 1], 6379)))]);
    assert!(lp.with(link, crate::OutputKind::Push, |_, cx, _| cx.write(b"x")).is_none(), "not open before it connects");
    assert!(lp.is_empty(), "an outbound connection is not counted");
    lp.establish(link);
    assert!(lp.connects().is_empty());
    assert_eq!(lp.take_output(link), b"hi", "what on_connected queued");
    lp.send(link, b"+PONG\r\n");
    assert_eq!(events(&mut lp), ["dial", "connected", "read +PONG\r\n"]);
    lp.drain();
    assert!(lp.with(link, crate::OutputKind::Push, |_, _, _| ()).is_some(), "never asked to drain");
}

#[test]
fn a_refused_or_timed_out_connect_is_reported_and_the_loop_timer_redials() {
    let mut lp = TestLoop::<Link>::new(|_| Dialer::default());
    let first = lp.state().link.expect("dialled");
    lp.refuse(first, io::ErrorKind::ConnectionRefused);
    assert_eq!(events(&mut lp), ["dial", "failed ConnectionRefused", "closed"]);
    assert_eq!(lp.timer(), Some(lp.now() + RETRY));
    lp.advance(RETRY);
    assert_eq!(events(&mut lp), ["dial"], "the timer fired once, and is cleared");
    let second = lp.state().link.expect("dialled again");
    assert_ne!(second, first, "a failed connect's id is retired");
    // Nobody answers: the connect timeout passes on the virtual clock, then the retry's.
    lp.advance(CONNECT_TIMEOUT + RETRY);
    assert_eq!(events(&mut lp), ["failed TimedOut", "closed", "dial"]);
}
