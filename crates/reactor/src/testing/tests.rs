//! The test loop's own rules, with a handler scripted by its input lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ConnStatus, TestLoop};
use crate::{ConnId, ConnectionSet, Cx, Handler, LoopHandle, LoopState, OutputKind};

/// Does what each line of its input says (`echo X`, `switch`, `park`, `body N`, `wait N`,
/// `close`, `abort`, `big N`, `shared X`); a partial line is left unconsumed.
enum Probe {
    Lines,
    /// Parked until answered from outside: consumes nothing meanwhile.
    Parked,
    /// Switched protocols: echoes whatever arrives as `[bytes]`.
    Frames,
    /// Receiving a body straight into its own buffer.
    Body {
        body: Vec<u8>,
        filled: usize,
    },
}

/// The loop's state: what happened, in order, with times relative to the start.
struct Log {
    start: Instant,
    events: Vec<String>,
    handle: LoopHandle<String>,
    /// Every deadline sets the next one this much later.
    repeat_every: Option<Duration>,
}

impl Log {
    fn note(&mut self, cx: &Cx<'_>, what: &str) {
        let at = cx.now() - self.start;
        self.events.push(format!("{} {what} at {}s", cx.id().slot, at.as_secs()));
    }
}

impl Probe {
    /// One command; returns whether to go on with the next line.
    fn command(&mut self, line: &str, cx: &mut Cx<'_>, log: &mut Log) -> bool {
        let (word, arg) = line.split_once(' ').unwrap_or((line, ""));
        let number = || arg.parse::<u64>().expect("a number");
        match word {
            "echo" => cx.write(format!("{arg}\n").as_bytes()),
            "switch" => {
                *self = Probe::Frames;
                cx.replay_input();
                return false;
            }
            "park" => *self = Probe::Parked,
            "body" => *self = Probe::Body { body: vec![0; number() as usize], filled: 0 },
            "wait" => cx.set_deadline(Some(cx.now() + Duration::from_secs(number()))),
            "close" => {
                cx.write(b"bye\n");
                cx.close();
                return false;
            }
            "abort" => cx.abort(),
            "big" => cx.write_owned(vec![b'x'; number() as usize]),
            "shared" => cx.write_shared(Arc::from(format!("{arg}\n").as_bytes())),
            "tell" => log.handle.send(arg.to_string()),
            other => panic!("unknown command {other}"),
        }
        true
    }
}

impl Handler for Probe {
    type State = Log;

    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, log: &mut Log) -> usize {
        let mut consumed = 0;
        while let Probe::Lines = self {
            let Some(end) = input[consumed..].iter().position(|&b| b == b'\n') else { break };
            let line = std::str::from_utf8(&input[consumed..consumed + end]).expect("text");
            consumed += end + 1;
            if !self.command(line, cx, log) {
                return consumed;
            }
        }
        match self {
            Probe::Frames => {
                cx.write(format!("[{}]", String::from_utf8_lossy(&input[consumed..])).as_bytes());
                input.len()
            }
            Probe::Body { body, filled } => {
                // Body bytes read with the command come through here, the rest directly.
                let n = (body.len() - *filled).min(input.len() - consumed);
                body[*filled..*filled + n].copy_from_slice(&input[consumed..consumed + n]);
                self.on_direct_input(n, cx, log);
                consumed + n
            }
            Probe::Lines | Probe::Parked => consumed,
        }
    }

    fn direct_input(&mut self, _log: &mut Log) -> Option<&mut [u8]> {
        match self {
            Probe::Body { body, filled } => Some(&mut body[*filled..]),
            _ => None,
        }
    }

    fn on_direct_input(&mut self, n: usize, cx: &mut Cx<'_>, _log: &mut Log) {
        let Probe::Body { body, filled } = self else { panic!("no body is expected") };
        *filled += n;
        if *filled == body.len() {
            cx.write(format!("got {}\n", String::from_utf8_lossy(body)).as_bytes());
            *self = Probe::Lines;
        }
    }

    fn on_deadline(&mut self, cx: &mut Cx<'_>, log: &mut Log) {
        log.note(cx, "deadline");
        cx.write(b"tick\n");
        if let Some(every) = log.repeat_every {
            cx.set_deadline(Some(cx.now() + every));
        }
    }

    fn on_drain(&mut self, cx: &mut Cx<'_>, log: &mut Log) {
        log.note(cx, "drain");
        cx.write(b"going\n");
        cx.close();
    }

    fn on_closed(&mut self, id: ConnId, log: &mut Log) {
        log.events.push(format!("{} closed", id.slot));
    }
}

impl LoopState<Probe> for Log {
    type Message = String;

    fn accept(&mut self, _cx: &mut Cx<'_>) -> Probe {
        Probe::Lines
    }

    /// `"N text"`: writes `text` to connection `N` as pushed output.
    fn on_message(&mut self, message: String, conns: &mut impl ConnectionSet<Probe>) {
        let (slot, text) = message.split_once(' ').expect("slot and text");
        let id = ConnId { slot: slot.parse().expect("a slot"), generation: 0 };
        self.events.push(format!("message for {slot}"));
        conns.with(id, OutputKind::Push, self, |_, cx, _| cx.write(text.as_bytes()));
    }
}

fn test_loop() -> TestLoop<Probe> {
    let mut lp: TestLoop<Probe> =
        TestLoop::new(|handle| Log { start: Instant::now(), events: Vec::new(), handle, repeat_every: None });
    lp.state().start = lp.now();
    lp
}

#[test]
fn bytes_left_unconsumed_come_back_in_front_of_the_next_read() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"echo one\necho t");
    assert_eq!(lp.take_output(id), b"one\n");
    lp.send(id, b"wo\n");
    assert_eq!(lp.take_output(id), b"two\n", "the kept `echo t` came first");
    assert!(lp.take_output(id).is_empty(), "a take empties the queue");
}

#[test]
fn a_handler_that_switched_gets_the_bytes_after_the_switch_replayed() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"echo hi\nswitch\nframe;");
    assert_eq!(lp.take_output(id), b"hi\n[frame;]", "the frame sent with the switch is not lost");
    lp.send(id, b"more");
    assert_eq!(lp.take_output(id), b"[more]");
}

#[test]
fn a_parked_request_keeps_the_pipelined_one_until_a_replay() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"park\necho later\n");
    assert!(lp.take_output(id).is_empty(), "parked: the pipelined request waits");
    lp.with(id, OutputKind::Answer, |probe, cx, _| {
        cx.write(b"answered\n");
        *probe = Probe::Lines;
        cx.replay_input();
    });
    assert_eq!(lp.take_output(id), b"answered\nlater\n");
}

#[test]
fn a_direct_slice_is_filled_first_and_the_rest_is_read_as_usual() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"body 5\n");
    lp.send(id, b"abcdeecho after\n"); // five bytes into the body, the rest as input
    assert_eq!(lp.take_output(id), b"got abcde\nafter\n");
    lp.send(id, b"body 3\nxy"); // read with the command: through on_input
    lp.send(id, b"zecho k\n"); // nothing kept: the last body byte directly
    assert_eq!(lp.take_output(id), b"got xyz\nk\n");
    assert_eq!(lp.with(id, OutputKind::Answer, |_, cx, _| cx.bytes_read()), Some(40));
}

#[test]
fn deadlines_fire_in_order_each_at_its_own_time() {
    let mut lp = test_loop();
    let (a, b) = (lp.connect(), lp.connect());
    lp.send(a, b"wait 5\n");
    lp.send(b, b"wait 2\n");
    assert_eq!(lp.deadline(b), Some(lp.now() + Duration::from_secs(2)));
    lp.advance(Duration::from_secs(1));
    assert!(lp.state().events.is_empty(), "nothing due yet");
    lp.advance(Duration::from_secs(9));
    assert_eq!(lp.state().events, ["1 deadline at 2s", "0 deadline at 5s"]);
    assert_eq!(lp.take_output(a), b"tick\n", "what a deadline queues is output like any other");
    assert_eq!(lp.deadline(a), None, "a deadline fires once");
    let start = lp.state().start;
    assert_eq!(lp.now(), start + Duration::from_secs(10));
}

#[test]
fn a_deadline_set_while_one_fires_fires_too_when_it_falls_due() {
    let mut lp = test_loop();
    lp.state().repeat_every = Some(Duration::from_secs(3));
    let id = lp.connect();
    lp.send(id, b"wait 3\n");
    lp.advance(Duration::from_secs(10));
    assert_eq!(lp.state().events, ["0 deadline at 3s", "0 deadline at 6s", "0 deadline at 9s"]);
    let start = lp.state().start;
    assert_eq!(lp.deadline(id), Some(start + Duration::from_secs(12)));
}

#[test]
fn the_state_and_connections_can_be_had_apart() {
    let mut lp = test_loop();
    let id = lp.connect();
    let now = lp.now();
    let (state, conns) = lp.split();
    assert_eq!(conns.now(), now);
    state.on_message(format!("{} direct", id.slot), conns);
    assert_eq!(lp.take_output(id), b"direct");
}

#[test]
fn messages_wait_in_the_inbox_until_delivered() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"tell 0 pushed\n");
    assert!(lp.take_output(id).is_empty(), "not delivered yet");
    assert_eq!(lp.deliver_inbox(), 1);
    assert_eq!(lp.take_output(id), b"pushed");
    assert_eq!(lp.deliver_inbox(), 0);
    lp.send(id, b"tell 0 again\n");
    lp.advance(Duration::ZERO);
    assert_eq!(lp.take_output(id), b"again", "advancing delivers the inbox");
}

#[test]
fn an_abort_discards_the_output_and_calls_on_closed() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"echo lost\nabort\necho never\n");
    assert_eq!(lp.status(id), ConnStatus::Aborted);
    assert!(lp.take_output(id).is_empty());
    assert_eq!(lp.state().events, ["0 closed"]);
    assert_eq!(lp.with(id, OutputKind::Push, |_, _, _| ()), None, "an aborted id reaches nobody");
    let next = lp.connect();
    assert_eq!(next.slot, id.slot, "the slot is reused");
    assert_eq!((lp.status(next), lp.status(id)), (ConnStatus::Open, ConnStatus::Aborted));
}

#[test]
fn a_closing_connection_lingers_once_written_and_is_removed_by_the_peers_fin() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"close\n");
    assert_eq!(lp.status(id), ConnStatus::Closing);
    lp.send(id, b"echo discarded\n");
    assert_eq!(lp.take_output(id), b"bye\n");
    assert_eq!(lp.deadline(id), Some(lp.now() + Duration::from_secs(2)), "lingering");
    lp.peer_close(id);
    assert_eq!(lp.status(id), ConnStatus::Gone);
    assert_eq!(lp.state().events, ["0 closed"]);
}

#[test]
fn a_closing_connections_deadline_just_removes_it() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"wait 1\nclose\n");
    lp.advance(Duration::from_secs(1));
    assert_eq!(lp.status(id), ConnStatus::Gone);
    assert_eq!(lp.state().events, ["0 closed"], "no on_deadline for a closing connection");
}

#[test]
fn a_peer_that_half_closes_is_answered_then_closed() {
    let mut lp = test_loop();
    let id = lp.connect();
    lp.send(id, b"echo last\n");
    lp.peer_close(id); // the default on_peer_closed closes once the answer is written
    assert_eq!(lp.status(id), ConnStatus::Closing);
    assert_eq!(lp.take_output(id), b"last\n");
    assert_eq!(lp.status(id), ConnStatus::Gone);
    assert_eq!(lp.status(ConnId { slot: 7, generation: 0 }), ConnStatus::Gone, "never existed");
}

#[test]
fn owned_handed_over_and_shared_output_is_taken_in_order_and_the_cap_falls_again() {
    let mut lp = test_loop().with_output_cap(8);
    let id = lp.connect();
    lp.send(id, b"echo a\nbig 3\nshared s\necho b\n");
    assert_eq!(lp.with(id, OutputKind::Answer, |_, cx, _| cx.over_output_cap()), Some(true));
    assert_eq!(lp.take_output(id), b"a\nxxxs\nb\n");
    assert_eq!(lp.with(id, OutputKind::Answer, |_, cx, _| (cx.over_output_cap(), cx.bytes_queued())), Some((false, 9)));
}

#[test]
fn a_drain_asks_each_open_connection_once_and_later_arrivals_too() {
    let mut lp = test_loop();
    let (open, closing) = (lp.connect(), lp.connect());
    lp.send(closing, b"close\n");
    lp.drain();
    assert_eq!(lp.state().events, ["0 drain at 0s"], "a closing connection is not asked");
    assert_eq!(lp.take_output(open), b"going\n");
    assert_eq!(lp.status(open), ConnStatus::Closing);
    lp.drain();
    assert_eq!(lp.state().events.len(), 1, "a second drain asks nobody again");
    let late = lp.connect();
    assert_eq!(lp.take_output(late), b"going\n", "a connection arriving during the drain is asked at once");
    assert_eq!(lp.len(), 3);
    for id in [open, closing, late] {
        lp.take_output(id);
        lp.peer_close(id);
    }
    assert!(lp.is_empty(), "every connection gone: a real loop would return now");
}

#[test]
fn the_loops_io_totals_count_every_connections_bytes_through_its_handle() {
    let mut lp = test_loop();
    let handle = lp.state().handle.clone();
    let (a, b) = (lp.connect(), lp.connect());
    lp.send(a, b"echo hi\n");
    lp.send(b, b"echo there\n");
    assert_eq!(handle.io_totals().read, 19, "both connections' input");
    assert_eq!(handle.io_totals().written, 0, "nothing written until the socket takes it");
    assert_eq!(lp.take_output(a), b"hi\n");
    assert_eq!(lp.take_output(b), b"there\n");
    assert_eq!(handle.io_totals(), crate::IoTotals { read: 19, written: 9 });
}
