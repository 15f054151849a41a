//! Issue 14's flood, end to end through the reactor on `127.0.0.1:0`: anonymous publishers
//! POST 3000 messages of 60 KiB to 3000 new channel names, over six keep-alive connections,
//! against a hub with a 32 MiB budget of retained history (README, Limits: retained history).
//! Without the budget this took the hub from 2 MB to 530 MB of RSS. Now:
//!
//! * every POST is answered 200 (publishing never fails because of the budget);
//! * the hub's own retained-bytes figure stays within the budget (exactly, whenever no publish
//!   is under way; while one is, by at most the messages being published — one per loop);
//! * the process's resident memory grows by at most the budget plus [`FIXED_OVERHEAD`];
//! * the newest messages are served by `/poll`, the oldest are gone (and a poll says so), and
//!   channels left with nothing were freed.
//!
//! This file holds this one test, so nothing else in its process moves the RSS it measures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::{get, post, spawn_hub_with_handle};

use talkback_harness::Client;

const BUDGET: usize = 32 << 20;
const MESSAGE: usize = 60 * 1024;
/// Each a keep-alive connection sending one POST after another (not pipelined: a POST whose
/// answer is held while the loops catch up keeps at most one request head's worth of what
/// follows it, and 60 KiB bodies are more).
const CONNECTIONS: usize = 6;
const PER_CONNECTION: usize = 500;
/// What the process may grow by beyond the budget: the hub's fixed costs (its table of id
/// floors, 512 KiB; the channel map and a few hundred bytes per channel not yet freed), the
/// messages still queued to the loops, each side's buffers for one 60 KiB request per
/// connection, the allocator's per-thread arenas and free lists, and the test's threads.
/// Measured on the build machine: 3 to 16 MiB over the budget (the test prints it); the spread
/// is the allocator's: 60 KiB blocks freed by one thread and made by another stay in their
/// arenas' free lists, resident, until reused. The limit leaves room for that, and is still a
/// small fraction of what the same flood took without a budget (530 MB).
const FIXED_OVERHEAD: usize = 24 << 20;

/// This process's resident set, from `/proc/self/statm` (its second field, in pages of 4 KiB:
/// the page size of the Linux machines this runs on).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    pages * 4096
}

/// `"{connection}/{i} xxx…"`, `MESSAGE` bytes.
fn body(connection: usize, i: usize) -> Vec<u8> {
    let mut body = vec![b'x'; MESSAGE];
    let tag = format!("{connection}/{i} ");
    body[..tag.len()].copy_from_slice(tag.as_bytes());
    body
}

#[test]
fn a_flood_of_3000_new_channels_of_60_kib_stays_within_a_32_mib_budget() {
    let (server, hub) = spawn_hub_with_handle(|o| o.max_retained_bytes = BUDGET);
    let addr = server.addr();
    // Warm up: every loop has run, the allocator has its arenas.
    assert_eq!(Client::connect(addr).request(&post("/ch/warm-up", b"x")).status, 200);
    let rss_before = rss_bytes();
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    // While the flood runs: the hub's figure, sampled (a publish under way may be over by its
    // own message until it evicts; at most one per loop).
    let sampler = {
        let (hub, done) = (Arc::clone(&hub), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::Acquire) {
                peak = peak.max(hub.retained_bytes());
                std::thread::sleep(Duration::from_micros(200));
            }
            peak
        })
    };
    let publishers: Vec<_> = (0..CONNECTIONS)
        .map(|connection| {
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                client.set_timeout(Duration::from_secs(20));
                for i in 0..PER_CONNECTION {
                    let response = client.request(&post(&format!("/ch/flood-{connection}-{i}"), &body(connection, i)));
                    assert_eq!((response.status, response.text()), (200, "1"), "POST {connection}/{i}");
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.join().expect("a publisher");
    }
    done.store(true, Ordering::Release);
    let peak = sampler.join().expect("the sampler");
    let flood = started.elapsed();
    assert!(flood < Duration::from_secs(60), "bounded in time: {flood:?}");

    // The newest messages are served: a last round, in a known order.
    let mut client = Client::connect(addr);
    for k in 0..20 {
        assert_eq!(client.request(&post(&format!("/ch/final-{k}"), &body(9, k))).status, 200);
    }
    let retained = hub.retained_bytes();
    for k in 0..20 {
        let response = client.request(&get(&format!("/ch/final-{k}/poll")));
        assert_eq!(response.status, 200, "final-{k}");
        assert!(response.text().starts_with(&format!(r#"[{{"id":1,"data":"9/{k} xxx"#)), "final-{k}");
        assert_eq!(response.text().len(), MESSAGE + r#"[{"id":1,"data":""}]"#.len());
    }
    // The oldest are gone, and a late poll is told so.
    let response = client.request(&get("/ch/flood-0-0/poll?after=0"));
    assert_eq!((response.status, response.header("talkback-missed")), (204, Some("1")), "evicted long ago");
    let rss_after = rss_bytes();
    let growth = rss_after.saturating_sub(rss_before);
    let channels = hub.channel_count();
    let mib = |bytes: usize| bytes as f64 / (1 << 20) as f64;
    eprintln!(
        "3000 x 60 KiB in {flood:.2?}: retained {:.1} MiB (peak sampled {:.1} MiB) of a {:.0} MiB budget; \
         {channels} channels left; RSS {:.1} -> {:.1} MiB (+{:.1} MiB)",
        mib(retained),
        mib(peak),
        mib(BUDGET),
        mib(rss_before),
        mib(rss_after),
        mib(growth)
    );
    assert!(retained <= BUDGET, "retained {retained} > budget {BUDGET}");
    assert!(retained > BUDGET - 2 * (MESSAGE + 1024), "evicted only what it had to: {retained}");
    assert!(peak <= BUDGET + 2 * (MESSAGE + 1024), "peak {peak}: over only by messages being published");
    assert!(channels < 1000, "{channels} channels: those left with nothing retained were freed");
    assert!(growth <= BUDGET + FIXED_OVERHEAD, "RSS grew by {growth} bytes, budget {BUDGET} + {FIXED_OVERHEAD}");
}
