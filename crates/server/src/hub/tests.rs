//! The hub's rules with no reactor: plain lists as mailboxes, `u32` keys as connections.

use std::sync::{Arc, Mutex};

use super::encoded::Encoded;
use super::*;

/// A loop's mailbox in a test: what was sent, in order.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<HubMessage>>>);

impl Mailbox for Inbox {
    fn send(&self, message: HubMessage) {
        self.0.lock().unwrap().push(message);
    }
}

impl Inbox {
    fn take(&self) -> Vec<HubMessage> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// No byte budget, no channel cap to speak of.
fn limits(history: usize, max_ahead: usize) -> HubLimits {
    HubLimits { history, max_ahead, max_retained_bytes: usize::MAX, max_channels: usize::MAX }
}

/// `loops` local hubs over one shared hub, with their inboxes.
fn hubs_with(loops: usize, limits: HubLimits) -> (Vec<LocalHub<u32>>, Vec<Inbox>) {
    let shared = Arc::new(Hub::new(limits, loops));
    let inboxes: Vec<Inbox> = (0..loops).map(|_| Inbox::default()).collect();
    let locals = (0..loops)
        .map(|i| {
            let boxes = inboxes.iter().map(|b| Box::new(b.clone()) as Box<dyn Mailbox>).collect();
            LocalHub::new(Arc::clone(&shared), i, boxes)
        })
        .collect();
    (locals, inboxes)
}

fn hubs(loops: usize, history: usize, max_ahead: usize) -> (Vec<LocalHub<u32>>, Vec<Inbox>) {
    hubs_with(loops, limits(history, max_ahead))
}

/// One loop whose budget holds `fit` messages of `SIZE` bytes (ids below 10), and `channels`.
fn budgeted(fit: usize, channels: usize) -> (LocalHub<u32>, Inbox) {
    let max_retained_bytes = fit * cost() + cost() / 2;
    let (mut hubs, mut inboxes) =
        hubs_with(1, HubLimits { max_retained_bytes, max_channels: channels, ..limits(16, 100) });
    (hubs.remove(0), inboxes.remove(0))
}

const SIZE: usize = 100;

fn text(tag: &str) -> String {
    format!("{tag:-<SIZE$}")
}

/// What one `SIZE`-byte message with a one-digit id costs the budget.
fn cost() -> usize {
    Encoded::new(1, &text("x"), 1).retained_bytes()
}

fn broadcast(message: HubMessage) -> Broadcast {
    match message {
        HubMessage::Broadcast(b) => b,
        HubMessage::CaughtUp => panic!("expected a broadcast"),
    }
}

fn ids(messages: &Messages) -> Vec<u64> {
    messages.messages.iter().map(|m| m.id).collect()
}

/// The retained ids of each channel, as a poll from 0 sees them.
fn retained(hub: &LocalHub<u32>, names: &[&str]) -> Vec<Vec<u64>> {
    names.iter().map(|name| ids(&hub.messages_after(name, 0))).collect()
}

#[test]
fn ids_count_per_channel_and_every_loop_gets_each_message_once_encoded() {
    let (hubs, inboxes) = hubs(2, 16, 100);
    assert_eq!(hubs[0].publish("a", "x"), Ok(1));
    assert_eq!(hubs[1].publish("a", "y"), Ok(2));
    assert_eq!(hubs[1].publish("b", "z"), Ok(1), "ids are per channel");
    for inbox in &inboxes {
        let got: Vec<(String, u64)> =
            inbox.take().into_iter().map(broadcast).map(|b| (b.channel.to_string(), b.message.id)).collect();
        assert_eq!(got, [("a".into(), 1), ("a".into(), 2), ("b".into(), 1)]);
    }
    let messages = hubs[0].messages_after("a", 0).messages;
    assert_eq!(&messages[0].sse()[..], b"id: 1\ndata: x\n\n");
    let mut json = Vec::new();
    messages[1].encode_json(&mut json);
    assert_eq!(json, br#"{"id":2,"data":"y"}"#);
    let mut frame = Vec::new();
    messages[0].ws_header().encode(&mut frame);
    frame.extend_from_slice(messages[0].text_bytes());
    assert_eq!(frame, b"\x81\x01x");
}

#[test]
fn a_subscriber_resumes_after_its_cursor_and_is_told_what_was_evicted() {
    let (mut hubs, _inboxes) = hubs(1, 3, 100);
    for i in 1..=5 {
        hubs[0].publish("c", &format!("m{i}")).unwrap();
    }
    let sub = hubs[0].subscribe("c", 7, Some(1)).unwrap();
    assert_eq!(sub.replay.missed, 1, "id 2 is gone (history 3 keeps 3..=5)");
    assert_eq!(ids(&sub.replay), [3, 4, 5]);
    assert_eq!(sub.last_sent, 5);
    let fresh = hubs[0].subscribe("c", 8, None).unwrap();
    assert!(fresh.replay.messages.is_empty());
    assert_eq!(fresh.last_sent, 5, "a new subscriber starts after the last id");
}

#[test]
fn a_broadcast_names_the_subscribers_and_releases_parked_long_polls() {
    let (mut hubs, inboxes) = hubs(1, 16, 100);
    hubs[0].subscribe("c", 1, None).unwrap();
    assert!(matches!(hubs[0].long_poll("c", 2, None, false), Ok(LongPoll::Parked { cursor: 0, .. })));
    assert!(matches!(hubs[0].long_poll("c", 3, Some(5), false), Ok(LongPoll::Parked { cursor: 5, .. })));
    hubs[0].publish("c", "hello").unwrap();
    let b = broadcast(inboxes[0].take().pop().unwrap());
    let delivery = hubs[0].deliver(&b);
    assert_eq!(delivery.subscribers, [1]);
    let released: Vec<(u32, Vec<u64>)> = delivery.released.iter().map(|(k, m)| (*k, ids(m))).collect();
    assert_eq!(released, [(2, vec![1])], "the cursor-5 poll waits for id 6");
    hubs[0].keep_subscribers("c", delivery.subscribers);
    hubs[0].unsubscribe("c", 1);
    hubs[0].publish("c", "again").unwrap();
    let b = broadcast(inboxes[0].take().pop().unwrap());
    assert!(hubs[0].deliver(&b).subscribers.is_empty(), "unsubscribed");
}

#[test]
fn a_long_poll_answers_at_once_when_news_exists_or_the_hold_is_zero() {
    let (mut hubs, _inboxes) = hubs(1, 16, 100);
    hubs[0].publish("c", "one").unwrap();
    match hubs[0].long_poll("c", 1, Some(0), false) {
        Ok(LongPoll::Now(m)) => assert_eq!(m.messages.len(), 1),
        other => panic!("{other:?}"),
    }
    match hubs[0].long_poll("c", 1, None, true) {
        Ok(LongPoll::Now(m)) => assert!(m.messages.is_empty(), "timeout=0 with nothing new: an empty answer"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_held_post_is_released_when_the_last_loop_delivers_the_backlog() {
    // Two loops, no broadcast may be ahead: every POST's answer waits for both loops.
    let (mut hubs, inboxes) = hubs(2, 16, 0);
    hubs[0].publish("c", "x").unwrap();
    assert!(hubs[0].hold_answer(42), "one broadcast undelivered: held");
    let on_0 = broadcast(inboxes[0].take().pop().unwrap());
    let on_1 = broadcast(inboxes[1].take().pop().unwrap());
    let first = hubs[1].deliver(&on_1);
    assert!(first.caught_up.is_empty(), "loop 0 has not delivered yet");
    assert!(inboxes[0].take().is_empty());
    let last = hubs[0].deliver(&on_0);
    assert_eq!(last.caught_up, [42], "the last delivery answers this loop's held POST");
    assert_eq!(hubs[0].shared().backlog(), 0);
    assert!(!hubs[0].hold_answer(43), "caught up: not held");
}

#[test]
fn a_catch_up_on_another_loop_is_sent_there() {
    let (mut hubs, inboxes) = hubs(2, 16, 0);
    hubs[1].publish("c", "x").unwrap();
    assert!(hubs[1].hold_answer(9));
    // Loop 1 delivers first; loop 0 delivers last and so tells loop 1.
    for i in [1, 0] {
        let b = broadcast(inboxes[i].take().pop().unwrap());
        assert!(hubs[i].deliver(&b).caught_up.is_empty());
    }
    assert!(matches!(inboxes[1].take().as_slice(), [HubMessage::CaughtUp]), "loop 1 is told");
    assert!(inboxes[0].take().is_empty());
    assert_eq!(hubs[1].take_waiting(), [9]);
}

#[test]
fn channel_names_follow_the_contract() {
    for good in ["a", "room-1", "A_b", &"x".repeat(64)] {
        assert!(is_valid_channel(good), "{good}");
    }
    for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
        assert!(!is_valid_channel(bad), "{bad}");
    }
}

// ---- the budget of retained history ------------------------------------------------------------

/// README, Limits (retained history): past the budget the oldest messages go first, whichever
/// channel they are in — a channel's newest included.
#[test]
fn the_budget_evicts_the_oldest_messages_across_channels_first() {
    let (mut hub, _inbox) = budgeted(3, 100);
    hub.subscribe("a", 1, None).unwrap(); // a listener keeps `a` alive when it is emptied
    for (channel, tag) in [("a", "a1"), ("b", "b1"), ("a", "a2")] {
        hub.publish(channel, &text(tag)).unwrap();
    }
    assert_eq!(retained(&hub, &["a", "b"]), [vec![1, 2], vec![1]], "three fit");
    hub.publish("c", &text("c1")).unwrap();
    assert_eq!(retained(&hub, &["a", "b", "c"]), [vec![2], vec![1], vec![1]], "a1 was the oldest");
    hub.publish("c", &text("c2")).unwrap();
    hub.publish("c", &text("c3")).unwrap();
    assert_eq!(retained(&hub, &["a", "b", "c"]), [vec![], vec![], vec![1, 2, 3]], "then b1, then a2");
    assert!(hub.shared().retained_bytes() <= 3 * cost() + cost() / 2);
    assert_eq!(hub.shared().retained_bytes(), 3 * cost(), "the budget counts exactly what the logs hold");
}

#[test]
fn late_readers_are_told_what_the_budget_evicted() {
    let (mut hub, inbox) = budgeted(2, 100);
    hub.subscribe("a", 1, None).unwrap();
    hub.publish("a", &text("a1")).unwrap();
    hub.publish("a", &text("a2")).unwrap();
    hub.publish("b", &text("b1")).unwrap(); // evicts a1
    let poll = hub.messages_after("a", 0);
    assert_eq!((poll.missed, ids(&poll)), (1, vec![2]));
    hub.publish("b", &text("b2")).unwrap(); // evicts a2: nothing of `a` is left
    let poll = hub.messages_after("a", 0);
    assert_eq!((poll.missed, ids(&poll)), (2, vec![]), "everything after the cursor is gone");
    let sse = hub.subscribe("a", 2, Some(0)).unwrap();
    assert_eq!((sse.replay.missed, ids(&sse.replay), sse.last_sent), (2, vec![], 2), "past what it was told it missed");
    // A long-poll with nothing retained after its cursor waits for the next message, and is
    // told then what it missed.
    let Ok(LongPoll::Parked { cursor: 0, .. }) = hub.long_poll("a", 3, Some(0), false) else { panic!("parked") };
    let Ok(LongPoll::Now(now)) = hub.long_poll("a", 4, Some(0), true) else { panic!("answered") };
    assert_eq!((now.missed, ids(&now)), (2, vec![]), "a zero hold answers at once, with the count");
    inbox.take();
    hub.publish("a", &text("a3")).unwrap();
    let delivery = hub.deliver(&broadcast(inbox.take().remove(0)));
    let released: Vec<(u32, u64, Vec<u64>)> = delivery.released.iter().map(|(k, m)| (*k, m.missed, ids(m))).collect();
    assert_eq!(released, [(3, 2, vec![3])]);
}

#[test]
fn a_message_larger_than_the_budget_is_published_delivered_and_not_retained() {
    let (mut hub, inbox) = budgeted(1, 100);
    hub.subscribe("a", 1, None).unwrap();
    let Ok(LongPoll::Parked { .. }) = hub.long_poll("a", 2, None, false) else { panic!("parked") };
    let huge = "h".repeat(4 * cost());
    assert_eq!(hub.publish("a", &huge), Ok(1), "publishing never fails for the budget");
    assert_eq!(hub.shared().retained_bytes(), 0);
    assert!(hub.messages_after("a", 0).messages.is_empty());
    let delivery = hub.deliver(&broadcast(inbox.take().remove(0)));
    assert_eq!(delivery.subscribers, [1], "live subscribers get it from the broadcast");
    let released: Vec<(u32, u64, usize)> =
        delivery.released.iter().map(|(k, m)| (*k, m.missed, m.messages[0].text_bytes().len())).collect();
    assert_eq!(released, [(2, 0, huge.len())], "the parked long-poll too, though the log no longer has it");
}

#[test]
fn the_publish_order_forgets_what_the_history_ring_evicted() {
    let (hubs, _inboxes) = hubs(1, 4, usize::MAX);
    for i in 0..20_000 {
        hubs[0].publish("ring", &format!("m{i}")).unwrap();
    }
    let shared = hubs[0].shared();
    assert!(shared.order_len() <= 2 * 4 + 1024 + 1, "{} entries for 4 retained messages", shared.order_len());
    let kept: usize = hubs[0].messages_after("ring", 0).messages.iter().map(|m| m.retained_bytes()).sum();
    assert_eq!(shared.retained_bytes(), kept, "the ring's evictions leave the budget too");
}

#[test]
fn concurrent_publishers_on_many_channels_keep_the_budget_and_its_count_exact() {
    let (mut hubs, _inboxes) =
        hubs_with(4, HubLimits { max_retained_bytes: 50 * cost(), max_channels: 1000, ..limits(8, usize::MAX) });
    let threads: Vec<_> = hubs
        .drain(..)
        .enumerate()
        .map(|(t, hub)| {
            std::thread::spawn(move || {
                for i in 0..3000 {
                    hub.publish(&format!("c{}", (i * 7 + t) % 40), &text("m")).unwrap();
                }
                hub
            })
        })
        .collect();
    let hubs: Vec<LocalHub<u32>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let names: Vec<String> = (0..40).map(|c| format!("c{c}")).collect();
    let kept: usize =
        names.iter().flat_map(|n| hubs[0].messages_after(n, 0).messages).map(|m| m.retained_bytes()).sum();
    let shared = hubs[0].shared();
    assert_eq!(shared.retained_bytes(), kept, "what the budget counts is what the logs hold");
    assert!(kept <= 50 * cost(), "{kept}");
    assert!(kept >= 40 * cost(), "{kept}: evicted only as far as needed (give or take a concurrent eviction)");
}

// ---- the channel cap, freeing, and ids --------------------------------------------------------

/// README, Limits (channels): a request that would make one channel too many is refused; one
/// that finds its channel is not; a short poll makes none.
#[test]
fn past_the_cap_every_request_that_would_make_a_channel_is_refused() {
    let (mut hub, _inbox) = budgeted(10, 2);
    hub.publish("a", "1").unwrap();
    hub.subscribe("b", 1, None).unwrap();
    assert_eq!(hub.publish("c", "x"), Err(TooManyChannels));
    assert_eq!(hub.subscribe("c", 2, None).err(), Some(TooManyChannels));
    assert_eq!(hub.long_poll("c", 3, None, false).err(), Some(TooManyChannels));
    assert_eq!(hub.long_poll("c", 3, None, true).err(), Some(TooManyChannels), "even a zero hold");
    assert!(hub.messages_after("c", 0).messages.is_empty(), "a poll finds nothing, and makes nothing");
    assert_eq!(hub.shared().channel_count(), 2);
    assert_eq!(hub.publish("a", "2"), Ok(2), "existing channels go on");
    assert_eq!(hub.publish("b", "1"), Ok(1));
    assert!(hub.subscribe("a", 4, None).is_ok());
}

#[test]
fn a_channel_nobody_listens_on_with_nothing_retained_is_freed() {
    let (mut hubs, inboxes) = hubs_with(2, HubLimits { max_retained_bytes: 2 * cost(), ..limits(16, 100) });
    let channels = |hubs: &[LocalHub<u32>]| hubs[0].shared().channel_count();
    // Made by listeners, freed when the last listener on the last loop goes.
    hubs[0].subscribe("s", 1, None).unwrap();
    hubs[1].subscribe("s", 1, None).unwrap();
    let Ok(LongPoll::Parked { .. }) = hubs[1].long_poll("s", 2, None, false) else { panic!("parked") };
    hubs[0].unsubscribe("s", 1);
    hubs[1].unsubscribe("s", 1);
    assert_eq!(channels(&hubs), 1, "loop 1 still has a parked long-poll");
    hubs[1].unpark("s", 2);
    assert_eq!(channels(&hubs), 0);
    // A zero-hold long-poll on a new channel leaves none behind.
    let Ok(LongPoll::Now(_)) = hubs[0].long_poll("z", 1, None, true) else { panic!("answered") };
    assert_eq!(channels(&hubs), 0);
    // Retained messages keep a channel; evicting the last of them frees it.
    hubs[0].publish("p", &text("p1")).unwrap();
    hubs[0].publish("q", &text("q1")).unwrap();
    assert_eq!(channels(&hubs), 2);
    hubs[0].publish("q", &text("q2")).unwrap();
    assert_eq!(channels(&hubs), 1, "p's only message was the oldest: evicted, p freed");
    // A released long-poll was the last listener: the channel stays while it retains.
    let Ok(LongPoll::Parked { .. }) = hubs[1].long_poll("q", 3, None, false) else { panic!("parked") };
    hubs[0].publish("q", &text("q3")).unwrap();
    let b = inboxes[1].take().into_iter().map(broadcast).last().unwrap();
    assert_eq!(hubs[1].deliver(&b).released.len(), 1);
    assert_eq!(channels(&hubs), 1);
    // Subscribers lent out in a delivery still count until they are given back.
    hubs[1].subscribe("q", 4, None).unwrap();
    hubs[0].publish("q", &text("q4")).unwrap();
    let b = inboxes[1].take().into_iter().map(broadcast).last().unwrap();
    let delivery = hubs[1].deliver(&b);
    assert_eq!(delivery.subscribers, [4]);
    hubs[1].unsubscribe("q", 4); // its connection closed during the push
    hubs[0].publish("o", &text("o1")).unwrap();
    hubs[0].publish("o", &text("o2")).unwrap(); // q3 and q4 evicted: q is empty
    assert!(hubs[0].messages_after("q", 0).messages.is_empty());
    assert_eq!(channels(&hubs), 2, "q is kept: its subscriber is still lent out");
    hubs[1].keep_subscribers("q", Vec::new()); // the push failed: nobody kept
    assert_eq!(channels(&hubs), 1, "given back, none left: q is freed");
}

/// A freed channel made again goes on after its last id: a cursor from before is never
/// mistaken for a new message's, and is told what it missed.
#[test]
fn a_channel_made_again_after_it_was_freed_goes_on_after_its_last_id() {
    let (hub, _inbox) = budgeted(2, 100);
    for tag in ["r1", "r2", "r3"] {
        hub.publish("r", &text(tag)).unwrap();
    }
    hub.publish("x", &text("x1")).unwrap();
    hub.publish("x", &text("x2")).unwrap(); // evicts all of r: r is freed
    assert!(hub.messages_after("r", 0).messages.is_empty());
    assert_eq!(hub.shared().channel_count(), 1);
    let gone = hub.messages_after("r", 1);
    assert_eq!((gone.missed, ids(&gone)), (2, vec![]), "a poll of the freed channel is told, and makes none");
    assert_eq!(hub.shared().channel_count(), 1);
    assert_eq!(hub.publish("r", &text("again")), Ok(4), "not 1");
    let poll = hub.messages_after("r", 1);
    assert_eq!((poll.missed, ids(&poll)), (2, vec![4]), "a reader at id 1 missed 2 and 3");
    assert_eq!(hub.publish("fresh", "f"), Ok(1), "a channel never freed starts at 1");
}

/// The id floors are a fixed table: a slot keeps the most recently freed name's last id. A new
/// name never takes a freed one's ids (it starts at 1); a freed name whose slot another freed
/// name took since starts at 1 again (as after a restart).
#[test]
fn a_slot_of_the_id_floors_keeps_the_last_name_freed_there_and_new_names_start_at_1() {
    let slot = Hub::floor_slot("a");
    let mut colliding = (0..).map(|i| format!("n{i}")).filter(|n| Hub::floor_slot(n) == slot);
    let (b, c) = (colliding.next().unwrap(), colliding.next().unwrap());
    let (hub, _inbox) = budgeted(1, 100);
    let evict = || hub.publish("filler", &text("f")).unwrap();
    for _ in 0..3 {
        hub.publish("a", &text("a")).unwrap();
    }
    evict();
    assert_eq!(hub.messages_after("a", 0).missed, 3, "a was freed; its last id is kept");
    assert_eq!(hub.publish(&c, &text("c")), Ok(1), "a new name in the same slot starts at 1");
    for _ in 0..4 {
        hub.publish(&b, &text("b")).unwrap();
    }
    evict(); // c was freed when b came; b (last id 4) is freed now, and keeps the slot
    assert_eq!(hub.publish(&b, &text("b")), Ok(5));
    assert_eq!(hub.publish("a", &text("a")), Ok(1), "a's last id was forgotten: it starts over");
}

/// The ids of the broadcasts in `inbox`, in order.
fn broadcast_ids(inbox: &Inbox) -> Vec<MessageId> {
    (inbox.take().into_iter())
        .filter_map(|m| match m {
            HubMessage::Broadcast(b) => Some(b.message.id),
            HubMessage::CaughtUp => None,
        })
        .collect()
}

#[test]
fn a_stored_message_is_taken_once_whichever_path_brings_it_first() {
    let (hubs, inboxes) = hubs(2, 16, 100);
    let hub = &hubs[0];
    assert_eq!(hub.publish_stored("room", 1, "a", Arrival::InOrder), Ok(Stored::Next));
    // The publish's reply and the subscription both bring id 2: the second is a duplicate.
    assert_eq!(hub.publish_stored("room", 2, "b", Arrival::OnlyNext), Ok(Stored::Next));
    assert_eq!(hub.publish_stored("room", 2, "b", Arrival::InOrder), Ok(Stored::Duplicate));
    // A reply that overtook the subscription (id 4 before 3) waits for it.
    assert_eq!(hub.publish_stored("room", 4, "d", Arrival::OnlyNext), Ok(Stored::Duplicate));
    assert_eq!(hub.publish_stored("room", 3, "c", Arrival::InOrder), Ok(Stored::Next));
    assert_eq!(hub.publish_stored("room", 4, "d", Arrival::InOrder), Ok(Stored::Next));
    assert_eq!(hub.last_id("room"), 4);
    for inbox in &inboxes {
        assert_eq!(broadcast_ids(inbox), [1, 2, 3, 4], "every loop: each id once, in order");
    }
}

#[test]
fn a_gap_the_store_cannot_fill_is_skipped_and_counted_missed() {
    let (hubs, inboxes) = hubs(1, 16, 100);
    let hub = &hubs[0];
    for id in 1..=3 {
        hub.publish_stored("room", id, "x", Arrival::InOrder).expect("stored");
    }
    assert_eq!(hub.publish_stored("room", 8, "y", Arrival::InOrder), Ok(Stored::AfterGap { missed: 4 }));
    let after = hub.messages_after("room", 2);
    assert_eq!(after.messages.iter().map(|m| m.id).collect::<Vec<_>>(), [8]);
    assert_eq!(after.missed, 5, "3 left the cache with the gap; 4..=7 were never seen");
    assert_eq!(broadcast_ids(&inboxes[0]), [1, 2, 3, 8]);
    assert_eq!(hub.shared().retained_bytes(), hub.messages_after("room", 0).messages[0].retained_bytes());
}

#[test]
fn leaving_is_constant_time_and_a_delivery_names_exactly_who_stayed_in_their_order() {
    let (mut hubs, inboxes) = hubs(1, 16, 100);
    let hub = &mut hubs[0];
    for key in 0..1000 {
        hub.subscribe("c", key, None).unwrap();
    }
    // Every third leaves: fewer than the members, so nothing is swept yet.
    for key in (0..1000).step_by(3) {
        hub.unsubscribe("c", key);
    }
    let local = &hub.local["c"];
    assert_eq!((local.subscribers.len(), local.members.len()), (1000, 666), "left in the list until a sweep");
    hub.publish("c", "one").unwrap();
    let b = broadcast(inboxes[0].take().pop().unwrap());
    let delivery = hub.deliver(&b);
    let stayed: Vec<u32> = (0..1000).filter(|k| k % 3 != 0).collect();
    assert_eq!(delivery.subscribers, stayed, "the sweep before lending keeps the order");
    // Two leave while the list is lent out; the caller's push found one of them still there.
    hub.unsubscribe("c", 1);
    hub.unsubscribe("c", 2);
    let kept: Vec<u32> = delivery.subscribers.into_iter().filter(|&k| k != 2).collect();
    hub.keep_subscribers("c", kept);
    hub.subscribe("c", 5000, None).unwrap();
    hub.publish("c", "two").unwrap();
    let b = broadcast(inboxes[0].take().pop().unwrap());
    let delivery = hub.deliver(&b);
    let mut expected: Vec<u32> = stayed.iter().copied().filter(|&k| k != 1 && k != 2).collect();
    expected.push(5000);
    assert_eq!(delivery.subscribers, expected, "neither is named again; the newcomer comes last");
    hub.keep_subscribers("c", delivery.subscribers);
    // A mass disconnect: the list is swept as the departed come to outnumber the members,
    // so it never holds more than about twice the members; when the last one goes, the
    // channel is forgotten on this loop.
    for (i, key) in expected.iter().enumerate() {
        hub.unsubscribe("c", *key);
        if let Some(local) = hub.local.get("c") {
            assert!(local.subscribers.len() <= 2 * local.members.len() + SWEEP_SLACK + 1, "after {i} left");
        }
    }
    assert!(!hub.local.contains_key("c"), "no listener left here");
    hub.subscribe("c", 7000, None).unwrap();
    hub.publish("c", "three").unwrap();
    let b = broadcast(inboxes[0].take().pop().unwrap());
    assert_eq!(hub.deliver(&b).subscribers, [7000], "a reused spare holds nobody from before");
}
