//! The log and the parked table against a simple model, driven by a deterministic PRNG; and the
//! 10 000-parked release the hub relies on. The parked table keeps no deadlines: the model
//! plays the caller too, with its own hold timers, the way the server's reactor does.

use std::collections::{BTreeMap, HashMap};

use talkback_longpoll::{ChannelLog, LogLimits, MessageId, Parked};

/// xorshift64: the same sequence on every run, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn one_publish_releases_10_000_parked_each_with_its_batch() {
    let mut log = ChannelLog::with_limits(LogLimits { max_messages: 64, max_bytes: None });
    for i in 0..100u64 {
        log.publish(i, 1);
    }
    let mut parked = Parked::new();
    for key in 0..10_000u64 {
        let cursor = 100 - key % 80; // 21..=100: some beyond the history (first id is 37)
        parked.park(key, cursor);
    }
    let id = log.publish(100, 1);
    assert_eq!(id, 101);
    let mut released = 0;
    for (key, batch) in parked.release(&log) {
        let cursor = 100 - key % 80;
        let ids: Vec<MessageId> = batch.iter().map(|(id, _)| id).collect();
        let first = cursor.max(log.first_id() - 1) + 1;
        assert_eq!(ids, (first..=101).collect::<Vec<_>>(), "key {key}");
        assert_eq!(batch.missed(), (log.first_id() - 1).saturating_sub(cursor), "key {key}");
        released += 1;
    }
    assert_eq!(released, 10_000);
    assert!(parked.is_empty());
}

#[test]
fn remove_is_cheap_with_10_000_parked() {
    let mut log = ChannelLog::new();
    let mut parked = Parked::new();
    for key in 0..10_000u32 {
        parked.park(key, 0);
    }
    for key in (0..10_000u32).step_by(2) {
        assert!(parked.remove(key));
    }
    assert_eq!(parked.len(), 5_000);
    log.publish((), 1);
    let released: Vec<u32> = parked.release(&log).map(|(key, _)| key).collect();
    assert_eq!(released, (1..10_000u32).step_by(2).collect::<Vec<_>>());
}

/// The model of the log: every message ever published, and the retained count.
fn model_after(all: &[u64], keep: usize, cursor: u64) -> (Vec<(u64, u64)>, u64) {
    let first = all.len().saturating_sub(keep) as u64 + 1;
    let retained = (first..=all.len() as u64).map(|id| (id, all[id as usize - 1]));
    let missed = (first - 1).saturating_sub(cursor);
    (retained.filter(|&(id, _)| id > cursor).collect(), missed)
}

#[test]
fn log_matches_model() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for keep in [1, 2, 3, 7, 64] {
        let mut log = ChannelLog::with_limits(LogLimits { max_messages: keep, max_bytes: None });
        let mut all = Vec::new();
        for _ in 0..300 {
            let value = rng.next();
            all.push(value);
            assert_eq!(log.publish(value, 1), all.len() as u64);
            let cursor = rng.below(all.len() as u64 + 3);
            let batch = log.after(cursor);
            let got: Vec<_> = batch.iter().map(|(id, &v)| (id, v)).collect();
            assert_eq!((got, batch.missed()), model_after(&all, keep, cursor), "keep {keep} cursor {cursor}");
        }
    }
}

/// The model of the parked table: key → (cursor, park order).
type Model = HashMap<u8, (u64, u64)>;

/// The caller's hold timers, as the server keeps them: one deadline (in ms) per parked key,
/// in a map ordered by (deadline, arming order) so that equal deadlines fire in order.
#[derive(Default)]
struct Timers {
    by_key: HashMap<u8, (u64, u64)>,
    due: BTreeMap<(u64, u64), u8>,
}

impl Timers {
    fn arm(&mut self, key: u8, at: u64, order: u64) {
        self.cancel(key);
        self.by_key.insert(key, (at, order));
        self.due.insert((at, order), key);
    }

    fn cancel(&mut self, key: u8) {
        if let Some(slot) = self.by_key.remove(&key) {
            self.due.remove(&slot);
        }
    }

    /// Keys whose deadline is at or before `now`, earliest first.
    fn fire(&mut self, now: u64) -> Vec<u8> {
        let mut fired = Vec::new();
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.by_key.remove(&key);
            fired.push(key);
        }
        fired
    }
}

fn model_release(model: &mut Model, last_id: u64) -> Vec<(u8, u64)> {
    let mut out: Vec<_> = model.iter().filter(|(_, v)| v.0 < last_id).map(|(&k, &v)| (v.0, v.1, k)).collect();
    out.sort();
    out.iter()
        .map(|&(cursor, _, k)| {
            model.remove(&k);
            (k, cursor)
        })
        .collect()
}

#[test]
fn parked_matches_model() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut log = ChannelLog::with_limits(LogLimits { max_messages: 8, max_bytes: None });
    let mut parked = Parked::new();
    let mut model = Model::new();
    let mut timers = Timers::default();
    let (mut now, mut order) = (0u64, 0u64);
    let (mut released, mut timed_out) = (0, 0);
    for step in 0..20_000 {
        let key = rng.below(40) as u8;
        match rng.below(20) {
            0..=9 => {
                // Mostly waiting cursors (= last id, or ahead), some already behind.
                let cursor = (log.last_id() + rng.below(3)).saturating_sub(rng.below(4));
                assert_eq!(parked.park(key, cursor), model.contains_key(&key), "step {step}");
                model.insert(key, (cursor, order));
                timers.arm(key, now + rng.below(50), order);
                order += 1;
            }
            10 => {
                assert_eq!(parked.remove(key), model.remove(&key).is_some(), "step {step}");
                timers.cancel(key);
            }
            11 => {
                log.publish((), 1);
                let got: Vec<_> = parked.release(&log).map(|(k, b)| (k, b.len(), b.missed())).collect();
                let expect: Vec<_> = model_release(&mut model, log.last_id())
                    .into_iter()
                    .map(|(k, cursor)| {
                        let batch = log.after(cursor);
                        (k, batch.len(), batch.missed())
                    })
                    .collect();
                assert_eq!(got, expect, "step {step}");
                // Every other release leaves its timer armed, as a caller that does not cancel:
                // the stale timer must then find nothing to remove.
                for &(k, ..) in got.iter().filter(|_| step % 2 == 0) {
                    timers.cancel(k);
                }
                released += got.len();
            }
            _ => {
                now += rng.below(20);
                for k in timers.fire(now) {
                    assert_eq!(parked.remove(k), model.remove(&k).is_some(), "step {step} key {k}");
                    timed_out += 1;
                }
            }
        }
        assert_eq!(parked.len(), model.len(), "step {step}");
        assert_eq!(parked.cursor_of(key), model.get(&key).map(|v| v.0), "step {step}");
        assert_eq!(parked.contains(key), model.contains_key(&key), "step {step}");
    }
    assert!(released > 1000 && timed_out > 1000, "released {released}, timed out {timed_out}");
}
