//! The log and the parked table against a simple model, driven by a deterministic PRNG; and the
//! 10 000-parked release the hub relies on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    let t0 = Instant::now();
    let mut log = ChannelLog::with_limits(LogLimits { max_messages: 64, max_bytes: None });
    for i in 0..100u64 {
        log.publish(i, 1);
    }
    let mut parked = Parked::new();
    for key in 0..10_000u64 {
        let cursor = 100 - key % 80; // 21..=100: some beyond the history (first id is 37)
        parked.park(key, cursor, t0 + Duration::from_secs(key % 30));
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
    assert_eq!(parked.next_deadline(), None);
}

#[test]
fn remove_is_cheap_with_10_000_parked() {
    let t0 = Instant::now();
    let mut parked = Parked::new();
    for key in 0..10_000u32 {
        parked.park(key, 0, t0 + Duration::from_millis(u64::from(key)));
    }
    for key in (0..10_000u32).step_by(2) {
        assert!(parked.remove(key));
    }
    let expired = parked.expire(t0 + Duration::from_secs(60));
    assert_eq!(expired, (1..10_000u32).step_by(2).collect::<Vec<_>>());
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

/// The model of the parked table: key → (cursor, deadline, park order).
type Model = HashMap<u8, (u64, Instant, u64)>;

fn model_expire(model: &mut Model, now: Instant) -> Vec<u8> {
    let mut due: Vec<_> = model.iter().filter(|(_, v)| v.1 <= now).map(|(&k, &v)| (v.1, v.2, k)).collect();
    due.sort();
    due.iter()
        .map(|&(_, _, k)| {
            model.remove(&k);
            k
        })
        .collect()
}

fn model_release(model: &mut Model, last_id: u64) -> Vec<(u8, u64)> {
    let mut out: Vec<_> = model.iter().filter(|(_, v)| v.0 < last_id).map(|(&k, &v)| (v.0, v.2, k)).collect();
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
    let t0 = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut log = ChannelLog::with_limits(LogLimits { max_messages: 8, max_bytes: None });
    let mut parked = Parked::new();
    let mut model = Model::new();
    let (mut now, mut order) = (t0, 0u64);
    let (mut released, mut expired) = (0, 0);
    for step in 0..20_000 {
        let key = rng.below(40) as u8;
        match rng.below(20) {
            0..=9 => {
                // Mostly waiting cursors (= last id, or ahead), some already behind.
                let cursor = (log.last_id() + rng.below(3)).saturating_sub(rng.below(4));
                let deadline = now + Duration::from_millis(rng.below(50));
                assert_eq!(parked.park(key, cursor, deadline), model.contains_key(&key), "step {step}");
                model.insert(key, (cursor, deadline, order));
                order += 1;
            }
            10 => assert_eq!(parked.remove(key), model.remove(&key).is_some(), "step {step}"),
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
                released += got.len();
            }
            _ => {
                now += Duration::from_millis(rng.below(20));
                let got = parked.expire(now);
                assert_eq!(got, model_expire(&mut model, now), "step {step}");
                expired += got.len();
            }
        }
        assert_eq!(parked.len(), model.len(), "step {step}");
        assert_eq!(parked.next_deadline(), model.values().map(|v| v.1).min(), "step {step}");
        assert_eq!(parked.cursor_of(key), model.get(&key).map(|v| v.0), "step {step}");
    }
    assert!(released > 1000 && expired > 1000, "released {released}, expired {expired}");
}
