//! Parking: an open connection with nothing in flight, reduced to the few bytes it needs to
//! carry on.
//!
//! A [`Connection`] is some 600 bytes — header and control buffers, the text assembler, the
//! event and transmit queues, the limits — nearly all of it needed only while a frame is
//! being received or sent. Most WebSockets of a server are idle most of the time (a chat
//! member who reads, a dashboard that waits), and 10 000 of them would spend 6 MB on buffers
//! that hold nothing. So between messages a caller may *park* the connection:
//!
//! ```text
//!  caller                                     Connection / Parked
//!    │ handle_bytes, poll_event, poll_transmit ─▶ (a message handled, everything polled)
//!    │ park() ─────────────────────────────────▶ idle?  Some(Parked): role, deflate, last_seen
//!    │ drop the Connection; keep the Parked       (24 bytes, no heap memory)
//!    │   … the socket is readable again …
//!    │ parked.receive_small(bytes, …) ─────────▶ whole small messages lent; bytes used
//!    │   … bytes left over (a ping, a large or split frame)? …
//!    │ parked.resume(config, now) ─────────────▶ a Connection as it was, ready for the rest
//! ```
//!
//! A chat message or an echo's arrives whole on a parked socket and is handled at once:
//! `receive_small` takes such messages from the parked state itself, so the socket never
//! wakes for them; anything else is left for the resumed connection, which then makes of the
//! bytes exactly what it would have made of all of them.
//!
//! A connection can be parked only while nothing is lost by it: in the `Open` phase, between
//! frames (no header or payload half read, no fragmented message), with every event and wire
//! byte polled, no keepalive ping unanswered, no compression context kept between messages
//! (RFC 7692 §7.1.1 context takeover keeps a window of history: such a connection stays
//! awake), no frame log (`--trace`), no spares lent, and — for a client — no seeded masking
//! keys (their generator's state would be lost). The limits are not kept: the caller gives
//! the same [`Config`] back to `resume` (every connection of a server shares one), and only
//! what was negotiated for this connection, its permessage-deflate parameters, is remembered.
//! (One hint is dropped: whether the last frame was large, which only decides whether the next
//! header is read on its own, `direct.rs`; a resumed connection reads it the ordinary way.)

use std::time::Instant;

use super::receive::{SmallFrame, is_utf8};
use super::{Config, Connection, Phase, Read, Role};
use crate::extension::Deflate;
use crate::frame::{OpCode, apply_mask};

/// A parked connection: what an idle [`Connection`] needs to resume (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parked {
    /// When the peer last sent anything (keepalive counts idleness from here).
    last_seen: Instant,
    /// permessage-deflate as negotiated for this connection.
    deflate: Option<Deflate>,
    /// Which end this is.
    role: Role,
}

impl Connection {
    /// Parks the connection if nothing is in flight (see the module docs): `Some` with what
    /// [`Parked::resume`] needs, after which the `Connection` may be dropped without loss;
    /// `None` if it must stay as it is.
    pub fn park(&self) -> Option<Parked> {
        let idle = self.phase == Phase::Open
            && self.error.is_none()
            && self.read == Read::ExpectFrameHeader
            && self.header_len == 0
            && self.partial.is_none()
            && self.text.len() == 0
            && self.binary.is_empty()
            && self.direct.is_none()
            && self.events.is_empty()
            && self.transmit.is_empty()
            && self.pong_deadline.is_none()
            && self.inflater.is_none()
            && self.deflater.is_none()
            && self.log.is_none()
            && self.spares.is_empty()
            && self.config.mask_seed.is_none();
        idle.then_some(Parked { last_seen: self.last_seen, deflate: self.config.deflate, role: self.role })
    }
}

impl Parked {
    /// The connection again, as it was parked, with `config`'s limits and timers (the one it
    /// was made with; its `deflate` is replaced by what this connection negotiated). `now` is
    /// the time of the event that wakes it.
    pub fn resume(self, config: Config, now: Instant) -> Connection {
        let mut connection = Connection::new(self.role, Config { deflate: self.deflate, ..config }, now);
        connection.last_seen = self.last_seen;
        connection
    }

    /// The permessage-deflate parameters this connection negotiated, if any.
    pub fn deflate(&self) -> Option<Deflate> {
        self.deflate
    }

    /// When the connection, resumed with `config`, would want its timers run
    /// ([`Connection::poll_deadline`]): its keepalive ping is due `ping_interval` after the
    /// peer's last byte. (A parked connection has no pong to wait for, nor a close.)
    pub fn poll_deadline(&self, config: &Config) -> Option<Instant> {
        config.ping_interval.map(|interval| self.last_seen + interval)
    }

    /// Takes in the small whole messages `input` starts with without waking the connection,
    /// lending each to `on_message` as [`Connection::handle_bytes_lending`] would, and returns
    /// the bytes used. It stops at the first frame it cannot take whole — any other frame, one
    /// not all in `input`, text that is not UTF-8 — and the caller resumes the connection
    /// (with the same `config`) and gives it the rest: what is lent, queued, answered and
    /// refused is then exactly what `resume` and one `handle_bytes_lending` of all of `input`
    /// would have made of it.
    ///
    /// Fast path (*a parked connection echoes without waking*): a chat message or an echo's
    /// arrives on a parked socket, is handled at once, and the socket is idle again; waking
    /// the ~600-byte state for it, and parking it after, would be most of the work. The
    /// payload is unmasked into a buffer on the stack.
    pub fn receive_small(
        &mut self,
        input: &[u8],
        now: Instant,
        config: &Config,
        mut on_message: impl FnMut(OpCode, &[u8]),
    ) -> usize {
        let mut used = 0;
        let mut unmasked = [0u8; 125]; // a small frame's payload is under 126 bytes (§5.2)
        while let Some(frame) = SmallFrame::at_start_of(&input[used..], self.role, config) {
            let payload = &mut unmasked[..frame.payload.len()];
            payload.copy_from_slice(frame.payload);
            apply_mask(payload, frame.mask.unwrap_or([0; 4]), 0);
            if frame.opcode == OpCode::Text && !is_utf8(payload) {
                break; // the woken connection refuses it (§8.1), after what came before
            }
            on_message(frame.opcode, payload);
            used += frame.len;
        }
        if used > 0 {
            self.last_seen = now; // the peer was heard (keepalive counts from here)
        }
        used
    }

    /// [`Parked::resume`] into `spare`, a connection the caller no longer needs (one that was
    /// parked before): its empty buffers are kept, so a server that keeps a few spares wakes a
    /// socket without allocating.
    pub fn resume_into(self, spare: &mut Connection, config: Config, now: Instant) {
        // Field by field, in place (a whole new `Connection` moved in would copy 600 bytes on
        // every wake-up); the exhaustive pattern makes a new field fail to compile here until
        // it is reset too.
        let Connection {
            role,
            config: limits,
            read,
            phase,
            header_buf: _, // only `header_len` bytes of it are ever read
            header_len,
            partial,
            text,
            binary,
            direct,
            large_frames,
            spares,
            scratch,
            control: _, // filled before it is read, within one control frame
            inflating,
            compressed_in,
            inflater,
            deflater,
            packed,
            events,
            transmit,
            now: clock,
            last_seen,
            pong_deadline,
            error,
            log,
        } = spare;
        *role = self.role;
        *limits = Config { deflate: self.deflate, ..config };
        *read = Read::ExpectFrameHeader;
        *phase = Phase::Open;
        *header_len = 0;
        *partial = None;
        text.clear();
        binary.clear();
        *direct = None;
        *large_frames = false;
        spares.clear();
        scratch.clear();
        *inflating = false;
        *compressed_in = 0;
        *inflater = None;
        *deflater = None;
        packed.clear();
        events.clear();
        transmit.clear();
        *clock = now;
        *last_seen = self.last_seen;
        *pong_deadline = None;
        *error = None;
        *log = None;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Event;

    fn masked_text(text: &[u8]) -> Vec<u8> {
        let key = [1, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | text.len() as u8];
        frame.extend_from_slice(&key);
        let start = frame.len();
        frame.extend_from_slice(text);
        crate::apply_mask(&mut frame[start..], key, 0);
        frame
    }

    fn server() -> (Connection, Instant) {
        let now = Instant::now();
        (Connection::new(Role::Server, Config::default(), now), now)
    }

    #[test]
    fn a_parked_connection_is_small_and_holds_no_heap_memory() {
        // `Copy` cannot own a heap allocation: this fails to compile if a field ever would.
        fn no_heap<T: Copy>() {}
        no_heap::<Parked>();
        assert!(std::mem::size_of::<Parked>() <= 24, "Parked is {} bytes", std::mem::size_of::<Parked>());
        assert!(std::mem::size_of::<Option<Parked>>() <= 24);
    }

    /// RFC 6455 §5.2 / §5.4: a frame's header may arrive in any split; a connection halfway
    /// through one, or through a fragmented message (§5.4), has state that parking would lose.
    #[test]
    fn rfc6455_5_4_a_half_received_frame_or_message_keeps_the_connection_awake() {
        let frame = masked_text(b"hello");
        for split in 1..frame.len() {
            let (mut ws, now) = server();
            ws.handle_bytes(&frame[..split], now).unwrap();
            assert_eq!(ws.park(), None, "split at {split}");
            ws.handle_bytes(&frame[split..], now).unwrap();
            assert_eq!(ws.poll_event(), Some(Event::Text("hello".into())));
            assert!(ws.park().is_some(), "the whole frame polled, at split {split}");
        }
        let (mut ws, now) = server();
        // A text message's first fragment (FIN clear, §5.4): the message is in progress.
        let mut first = masked_text(b"hel");
        first[0] = 0x01;
        ws.handle_bytes(&first, now).unwrap();
        assert_eq!(ws.park(), None);
    }

    #[test]
    fn unpolled_events_or_bytes_keep_the_connection_awake() {
        let (mut ws, now) = server();
        ws.handle_bytes(&masked_text(b"hi"), now).unwrap();
        assert_eq!(ws.park(), None, "an event not polled");
        ws.poll_event();
        ws.send_text("back").unwrap();
        assert_eq!(ws.park(), None, "a frame not polled");
        let mut out = Vec::new();
        ws.poll_transmit(&mut out);
        assert!(ws.park().is_some());
    }

    /// §7: only an open connection parks — closing, it has a deadline and a reply to wait for.
    #[test]
    fn rfc6455_7_a_closing_connection_stays_awake() {
        let (mut ws, _) = server();
        ws.close(1000, "").unwrap();
        let mut out = Vec::new();
        ws.poll_transmit(&mut out);
        assert_eq!(ws.park(), None);
    }

    /// A keepalive ping waiting for its answer has a deadline of its own; before the ping,
    /// the idle time counts on from `last_seen` across a park.
    #[test]
    fn rfc6455_5_5_2_keepalive_counts_from_the_last_byte_across_a_park_and_an_unanswered_ping_stays_awake() {
        let start = Instant::now();
        let config = Config { ping_interval: Some(Duration::from_secs(30)), ..Config::default() };
        let mut ws = Connection::new(Role::Server, config.clone(), start);
        let heard = start + Duration::from_secs(5);
        ws.handle_bytes(&masked_text(b"hi"), heard).unwrap();
        ws.poll_event();
        let parked = ws.park().expect("idle");
        let later = start + Duration::from_secs(20);
        let mut ws = parked.resume(config, later);
        assert_eq!(ws.poll_deadline(), Some(heard + Duration::from_secs(30)));
        ws.handle_timeout(heard + Duration::from_secs(30));
        assert_eq!(ws.park(), None, "the ping is not polled yet");
        let mut out = Vec::new();
        ws.poll_transmit(&mut out);
        assert_eq!(out, [0x89, 0x00], "a ping (§5.5.2)");
        assert_eq!(ws.park(), None, "its pong is awaited");
    }

    /// RFC 7692 §7.1.1: without context takeover nothing is kept between messages, so the
    /// negotiated parameters are all that is remembered — and they come back on resume.
    #[test]
    fn rfc7692_7_1_1_the_negotiated_deflate_parameters_survive_a_park() {
        let deflate = Deflate {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 10,
            ..Deflate::default()
        };
        let now = Instant::now();
        let ws = Connection::new(Role::Server, Config { deflate: Some(deflate), ..Config::default() }, now);
        let resumed = ws.park().expect("idle").resume(Config::default(), now);
        assert_eq!(resumed.deflate(), Some(deflate));
    }

    /// Resuming into a spare keeps its buffers but none of its state: the same as a fresh
    /// resume, byte for byte, from the next frame on.
    #[test]
    fn resuming_into_a_spare_keeps_its_buffers_and_none_of_its_state() {
        let (mut spare, now) = server();
        spare.handle_bytes(&masked_text(b"half"), now).unwrap(); // an event left unpolled
        spare.send_text("unsent").unwrap();
        let (idle, _) = server();
        idle.park().expect("idle").resume_into(&mut spare, Config::default(), now);
        assert!(spare.park().is_some(), "nothing of the spare's state is left");
        spare.handle_bytes(&masked_text(b"hello"), now).unwrap();
        assert_eq!(spare.poll_event(), Some(Event::Text("hello".into())));
        assert_eq!(spare.poll_event(), None);
        spare.send_text("back").unwrap();
        let mut out = Vec::new();
        spare.poll_transmit(&mut out);
        assert_eq!(out, b"\x81\x04back");
    }

    /// A client's seeded masking keys (§5.3, for reproducible tests) are a generator's state:
    /// parking would restart the sequence, so such a client stays awake.
    #[test]
    fn rfc6455_5_3_a_client_with_seeded_keys_stays_awake_and_an_unseeded_one_parks() {
        let now = Instant::now();
        let seeded = Connection::new(Role::Client, Config { mask_seed: Some(7), ..Config::default() }, now);
        assert_eq!(seeded.park(), None);
        let client = Connection::new(Role::Client, Config::default(), now);
        assert_eq!(client.park().expect("idle").resume(Config::default(), now).role(), Role::Client);
    }

    /// A client frame, masked (§5.1), with any first byte (FIN, RSV, opcode) and payload.
    fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![b0];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&key);
        let start = frame.len();
        frame.extend_from_slice(payload);
        crate::apply_mask(&mut frame[start..], key, 0);
        frame
    }

    /// What a caller sees of one read: messages lent, then events, wire bytes and any error.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Lent(OpCode, Vec<u8>),
        Event(Event),
        Wire(Vec<u8>),
        Refused(crate::Error),
        Deadline(Option<Instant>),
    }

    /// One read through an awake connection, as a server takes it: what it lends, the error
    /// (failing the connection), then everything `poll_all` polls.
    fn take_read(ws: &mut Connection, read: &[u8], now: Instant, seen: &mut Vec<Seen>) {
        let mut lent = Vec::new();
        let result = ws.handle_bytes_lending(read, now, |op, payload| lent.push(Seen::Lent(op, payload.to_vec())));
        seen.append(&mut lent);
        if let Err(error) = result {
            seen.push(Seen::Refused(error));
            ws.fail(&error);
        }
        poll_all(ws, seen);
    }

    /// After a read: the events, the wire bytes, the deadline — as a server polls them.
    fn poll_all(ws: &mut Connection, seen: &mut Vec<Seen>) {
        while let Some(event) = ws.poll_event() {
            seen.push(Seen::Event(event));
        }
        let mut wire = Vec::new();
        ws.poll_transmit(&mut wire);
        if !wire.is_empty() {
            seen.push(Seen::Wire(wire));
        }
        seen.push(Seen::Deadline(ws.poll_deadline()));
    }

    /// The reads through one connection that never parks.
    fn awake_throughout(reads: &[&[u8]], config: &Config, start: Instant) -> Vec<Seen> {
        let mut ws = Connection::new(Role::Server, config.clone(), start);
        let mut seen = Vec::new();
        for (i, read) in reads.iter().enumerate() {
            let now = start + Duration::from_secs(i as u64 + 1);
            take_read(&mut ws, read, now, &mut seen);
        }
        seen
    }

    /// The same reads as a server takes them: a parked connection takes what
    /// `receive_small` can, is woken for the rest, and parks again whenever it can.
    fn parked_between_reads(reads: &[&[u8]], config: &Config, start: Instant) -> Vec<Seen> {
        enum State {
            Awake(Box<Connection>),
            Parked(Parked),
        }
        let mut state = State::Awake(Box::new(Connection::new(Role::Server, config.clone(), start)));
        let mut seen = Vec::new();
        for (i, read) in reads.iter().enumerate() {
            let now = start + Duration::from_secs(i as u64 + 1);
            let mut rest: &[u8] = read;
            if let State::Parked(parked) = &mut state {
                let used =
                    parked.receive_small(read, now, config, |op, payload| seen.push(Seen::Lent(op, payload.to_vec())));
                rest = &read[used..];
                if rest.is_empty() {
                    seen.push(Seen::Deadline(parked.poll_deadline(config)));
                    continue;
                }
            }
            let mut ws = match state {
                State::Awake(ws) => ws,
                State::Parked(parked) => Box::new(parked.resume(config.clone(), now)),
            };
            take_read(&mut ws, rest, now, &mut seen);
            state = match ws.park() {
                Some(parked) => State::Parked(parked),
                None => State::Awake(ws),
            };
        }
        seen
    }

    /// RFC 6455 §5.2, §5.4, §5.5, §8.1: whatever the frames and wherever the reads split them,
    /// a parked connection that takes small messages without waking lends, answers, refuses
    /// and schedules exactly what a connection that never parks does — small messages and
    /// empty ones, a 125- and a 126-byte one, pings, fragments, bad UTF-8 with frames behind
    /// it, an unmasked frame, an RSV bit, a message over the limit, a close.
    #[test]
    fn rfc6455_5_2_a_parked_connection_takes_small_messages_as_an_awake_one_would_at_every_split() {
        let text = |t: &[u8]| masked(0x81, t);
        let long_125 = vec![b'a'; 125];
        let long_126 = vec![b'b'; 126];
        let streams: Vec<Vec<Vec<u8>>> = vec![
            vec![
                text(b"hello"),
                masked(0x82, &[0, 1, 2]),
                text(b""),
                masked(0x89, b"p"),
                text(&long_125),
                text(&long_126),
                text(b"again"),
            ],
            vec![text(b"one"), text(b"\xce\xba\xe1\xbd\xb9"), text(b"\xff"), text(b"after")],
            vec![text(b"x"), masked(0x01, b"hel"), masked(0x80, b"lo"), text(b"y"), masked(0x88, &[0x03, 0xe8])],
            vec![text(b"a"), vec![0x81, 0x01, b'b'], text(b"c")],
            vec![text(b"a"), masked(0xc1, b"rsv1"), text(b"c")],
            vec![text(b"fits"), text(b"over the limit"), text(b"z")],
        ];
        let config = Config { max_message_size: 8, ping_interval: Some(Duration::from_secs(30)), ..Config::default() };
        let start = Instant::now();
        for frames in &streams {
            let all = frames.concat();
            let mut splits: Vec<Vec<&[u8]>> = (0..=all.len()).map(|k| vec![&all[..k], &all[k..]]).collect();
            splits.push(all.chunks(1).collect());
            splits.push(frames.iter().map(Vec::as_slice).collect());
            for reads in &splits {
                let expected = awake_throughout(reads, &config, start);
                assert_eq!(parked_between_reads(reads, &config, start), expected, "reads {reads:?}");
            }
            // Read frame by frame, the small messages before any error are lent (not queued).
            let frame_by_frame = awake_throughout(splits.last().expect("pushed"), &config, start);
            assert!(matches!(frame_by_frame[0], Seen::Lent(OpCode::Text, _)), "{frame_by_frame:?}");
        }
    }

    /// The small messages are taken while parked: nothing is woken for them, and the
    /// keepalive deadline moves to the last byte heard (§5.5.2).
    #[test]
    fn small_messages_on_a_parked_connection_are_lent_without_waking_it() {
        let start = Instant::now();
        let config = Config { ping_interval: Some(Duration::from_secs(30)), ..Config::default() };
        let mut parked = Connection::new(Role::Server, config.clone(), start).park().expect("idle");
        let input = [masked_text(b"one"), masked_text(b"two"), masked_text(b"thr")].concat();
        let mut lent = Vec::new();
        let later = start + Duration::from_secs(7);
        let used = parked.receive_small(&input, later, &config, |op, payload| lent.push((op, payload.to_vec())));
        assert_eq!(used, input.len());
        assert_eq!(
            lent,
            [(OpCode::Text, b"one".to_vec()), (OpCode::Text, b"two".to_vec()), (OpCode::Text, b"thr".to_vec())]
        );
        assert_eq!(parked.poll_deadline(&config), Some(later + Duration::from_secs(30)));
        // A ping is for the woken connection (its pong is queued there): nothing is used.
        let ping = [0x89, 0x80, 1, 2, 3, 4];
        assert_eq!(parked.receive_small(&ping, later, &config, |_, _| panic!("not lent")), 0);
    }
}
