//! Per-client accounting for the demo page: how many requests, empty answers, messages and
//! bytes (heads and bodies, both directions) each technique of one open page has cost.
//!
//! The page tags every request it makes with `?client=PAGE.TECHNIQUE` (PAGE: 1–32 letters or
//! digits; TECHNIQUE: `poll`, `longpoll`, `sse`, `ws` or `publish`). The server attributes the
//! bytes of each tagged request — or, for a stream, of its connection — using the reactor's own
//! per-connection byte counts, so the numbers are what crossed the socket, not guesses made by
//! the page. `GET /stats?page=PAGE` streams the counters as SSE events. Untagged traffic (every
//! benchmark, curl) costs one `Option` check and is never counted.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use talkback_http1::Request;

/// The pages remembered at once; past it the least recently updated is forgotten.
const MAX_PAGES: usize = 256;

/// The techniques a page measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Technique {
    /// `GET /ch/{c}/poll`.
    Poll = 0,
    /// `GET /ch/{c}/longpoll`.
    LongPoll = 1,
    /// `GET /ch/{c}/sse`.
    Sse = 2,
    /// `GET /ch/{c}/ws`.
    WebSocket = 3,
    /// `POST /ch/{c}` from the page's send box.
    Publish = 4,
}

const NAMES: [&str; 5] = ["poll", "longpoll", "sse", "ws", "publish"];

/// What one technique of one page has cost so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// HTTP requests (a WebSocket or SSE stream counts its one opening request).
    pub requests: u64,
    /// Answers that carried no message (204).
    pub empty: u64,
    /// Messages delivered.
    pub messages: u64,
    /// Bytes received from the client (request heads, bodies, frames).
    pub bytes_in: u64,
    /// Bytes sent to the client (response heads, bodies, events, frames).
    pub bytes_out: u64,
}

impl Counters {
    fn add(&mut self, other: &Counters) {
        self.requests += other.requests;
        self.empty += other.empty;
        self.messages += other.messages;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
    }
}

/// A request's accounting tag: which page, which technique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    page: Box<str>,
    technique: Technique,
}

impl Tag {
    /// The tag in `?client=PAGE.TECHNIQUE`, if the request carries a valid one.
    pub fn from_request(request: &Request) -> Option<Tag> {
        let query = request.query()?;
        let value = query.split('&').find_map(|pair| pair.strip_prefix("client="))?;
        let (page, technique) = value.split_once('.')?;
        if !(1..=32).contains(&page.len()) || !page.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let technique = match NAMES.iter().position(|&n| n == technique)? {
            0 => Technique::Poll,
            1 => Technique::LongPoll,
            2 => Technique::Sse,
            3 => Technique::WebSocket,
            _ => Technique::Publish,
        };
        Some(Tag { page: page.into(), technique })
    }
}

/// Where a tagged connection's byte counts stood when it was last accounted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marks {
    /// `Cx::bytes_read` then.
    pub read: u64,
    /// `Cx::bytes_queued` then.
    pub queued: u64,
}

impl Marks {
    /// The bytes since the marks, moving the marks to `now`.
    pub fn advance(&mut self, now: Marks) -> (u64, u64) {
        let delta = (now.read - self.read, now.queued - self.queued);
        *self = now;
        delta
    }
}

/// What one answer was, as the accounting counts it: its status and how many messages it
/// carried. Every responder returns one (no side channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// The status code sent.
    pub status: u16,
    /// Channel messages in the body.
    pub messages: u64,
}

impl Answered {
    /// Counters for one request answered like this, with the bytes it cost.
    pub fn counters(self, (bytes_in, bytes_out): (u64, u64)) -> Counters {
        Counters { requests: 1, empty: u64::from(self.status == 204), messages: self.messages, bytes_in, bytes_out }
    }
}

/// Every page's counters, shared by all loops.
#[derive(Debug, Default)]
pub struct Stats {
    pages: Mutex<HashMap<Box<str>, Page>>,
}

#[derive(Debug, Default)]
struct Page {
    counters: [Counters; 5],
    /// A logical clock of updates, for forgetting the stalest page.
    touched: u64,
    /// Changes since the stream last sent this page (saves sending the same numbers again).
    version: u64,
}

impl Stats {
    /// Adds `delta` to the tag's technique.
    pub fn add(&self, tag: &Tag, delta: Counters) {
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        let clock = pages.values().map(|p| p.touched).max().unwrap_or(0) + 1;
        if !pages.contains_key(&tag.page) && pages.len() >= MAX_PAGES {
            let stalest = pages.iter().min_by_key(|(_, p)| p.touched).map(|(k, _)| k.clone());
            if let Some(key) = stalest {
                pages.remove(&key);
            }
        }
        let page = pages.entry(tag.page.clone()).or_default();
        page.counters[tag.technique as usize].add(&delta);
        page.touched = clock;
        page.version += 1;
    }

    /// The page's counters as JSON, if they changed since `seen` (which is updated).
    pub fn json_if_changed(&self, page: &str, seen: &mut u64) -> Option<String> {
        let pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        let (version, counters) = pages.get(page).map_or((0, [Counters::default(); 5]), |p| (p.version, p.counters));
        if version == *seen && *seen != u64::MAX {
            return None;
        }
        *seen = version;
        let mut json = String::from("{");
        for (i, (name, c)) in NAMES.iter().zip(counters.iter()).enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(
                "\"{name}\":{{\"requests\":{},\"empty\":{},\"messages\":{},\"bytes_in\":{},\"bytes_out\":{}}}",
                c.requests, c.empty, c.messages, c.bytes_in, c.bytes_out
            ));
        }
        json.push('}');
        Some(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use talkback_http1::{Method, Version};

    fn request(target: &str) -> Request {
        Request::new(Method::Get, target.to_string(), Version::Http11)
    }

    #[test]
    fn tags_come_only_from_a_valid_client_parameter() {
        let tag = Tag::from_request(&request("/ch/x/poll?after=1&client=ab12.poll")).unwrap();
        assert_eq!((&*tag.page, tag.technique), ("ab12", Technique::Poll));
        for target in ["/ch/x/poll", "/?client=ab12", "/?client=a-b.poll", "/?client=ab12.nope", "/?client=.ws"] {
            assert!(Tag::from_request(&request(target)).is_none(), "{target}");
        }
    }

    #[test]
    fn counters_accumulate_and_report_only_changes() {
        let stats = Stats::default();
        let tag = Tag::from_request(&request("/?client=p1.ws")).unwrap();
        let mut seen = u64::MAX;
        assert!(stats.json_if_changed("p1", &mut seen).unwrap().contains("\"ws\":{\"requests\":0"));
        stats.add(&tag, Counters { requests: 1, bytes_in: 10, ..Counters::default() });
        stats.add(&tag, Counters { messages: 2, bytes_out: 30, ..Counters::default() });
        let json = stats.json_if_changed("p1", &mut seen).unwrap();
        assert!(json.contains("\"ws\":{\"requests\":1,\"empty\":0,\"messages\":2,\"bytes_in\":10,\"bytes_out\":30}"));
        assert!(stats.json_if_changed("p1", &mut seen).is_none());
    }

    #[test]
    fn the_stalest_page_is_forgotten_past_the_limit() {
        let stats = Stats::default();
        for i in 0..=MAX_PAGES {
            let tag = Tag::from_request(&request(&format!("/?client=p{i}.poll"))).unwrap();
            stats.add(&tag, Counters { requests: 1, ..Counters::default() });
        }
        let pages = stats.pages.lock().unwrap();
        assert_eq!(pages.len(), MAX_PAGES);
        assert!(!pages.contains_key("p0"));
    }
}
