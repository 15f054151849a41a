//! What the cluster keeps in Redis, and the one script that publishes.
//!
//! For channel `room` under prefix `talkback` (the `{room}` braces are a Redis Cluster hash
//! tag: a channel's keys would share a slot):
//!
//! | key | type | what |
//! |---|---|---|
//! | `talkback:{room}:id` | string | the channel's last id (`INCR`) |
//! | `talkback:{room}:h` | stream | the last `--history` messages, entry id `N-0`, field `d` = the text |
//! | `talkback:channels` | set | every channel name ever published to (a node that starts reads their history) |
//! | `talkback:{room}:m` | pub/sub channel | `N TEXT`: each message as it is stored, for the other nodes |

use sha1::{Digest, Sha1};
use talkback_longpoll::MessageId;
use talkback_resp::encode_command;

/// The publish script, run atomically by Redis (`EVALSHA`, reloaded with `SCRIPT LOAD` on
/// `NOSCRIPT`). docs/scaling.md explains it line by line.
///
/// KEYS: the id counter, the history stream, the channel set. ARGV: the text, the history
/// cap, the floor (the last id the publishing node has seen), the channel name, the pub/sub
/// channel. Returns the new id.
pub const PUBLISH: &str = "\
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[3])
if last < floor then redis.call('SET', KEYS[1], floor) end
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], id .. '-0', 'd', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[5], id .. ' ' .. ARGV[1])
return id
";

/// Raises a channel's counter (KEYS[1]) to ARGV[1] if it is lower: a node that rejoins sends
/// it for every channel it has, so a Redis that lost its data goes on after the ids the node's
/// clients have seen, whichever node publishes next.
pub const RAISE: &str = "\
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
";

/// `EVAL` of [`RAISE`] for `channel` up to `last_id`.
pub fn encode_raise(out: &mut Vec<u8>, keys: &Keys, channel: &str, last_id: MessageId) {
    let (counter, last) = (keys.counter(channel), last_id.to_string());
    encode_command(out, &[b"EVAL".as_slice(), RAISE.as_bytes(), b"1", counter.as_bytes(), last.as_bytes()]);
}

/// The script's SHA-1, as `EVALSHA` names it (lowercase hex).
pub fn publish_sha() -> String {
    Sha1::digest(PUBLISH.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The names of one prefix's keys.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`.
    pub fn new(prefix: &str) -> Keys {
        Keys { prefix: prefix.to_string() }
    }

    /// `P:{c}:id`.
    pub fn counter(&self, channel: &str) -> String {
        format!("{}:{{{channel}}}:id", self.prefix)
    }

    /// `P:{c}:h`.
    pub fn history(&self, channel: &str) -> String {
        format!("{}:{{{channel}}}:h", self.prefix)
    }

    /// `P:{c}:m`.
    pub fn pubsub(&self, channel: &str) -> String {
        format!("{}:{{{channel}}}:m", self.prefix)
    }

    /// `P:channels`.
    pub fn channels(&self) -> String {
        format!("{}:channels", self.prefix)
    }

    /// The pattern every channel's pub/sub channel matches: `P:{*}:m`.
    pub fn pattern(&self) -> String {
        self.pubsub("*")
    }

    /// The channel name inside a pub/sub channel `P:{c}:m`.
    pub fn channel_of<'a>(&self, pubsub: &'a str) -> Option<&'a str> {
        let rest = pubsub.strip_prefix(self.prefix.as_str())?.strip_prefix(":{")?;
        rest.strip_suffix("}:m")
    }
}

/// One publish: the script's text on `channel`, the history cap, and the floor.
#[derive(Debug, Clone, Copy)]
pub struct Publish<'a> {
    /// The channel.
    pub channel: &'a str,
    /// The message.
    pub text: &'a str,
    /// `--history`: the stream's `MAXLEN`.
    pub history: usize,
    /// The last id the publishing node has seen of the channel.
    pub floor: MessageId,
}

/// `EVALSHA` (the script's SHA-1 `sha`) of `publish`.
pub fn encode_publish(out: &mut Vec<u8>, keys: &Keys, sha: &str, publish: Publish<'_>) {
    let Publish { channel, text, history, floor } = publish;
    let (history, floor) = (history.to_string(), floor.to_string());
    let (counter, stream, set, pubsub) =
        (keys.counter(channel), keys.history(channel), keys.channels(), keys.pubsub(channel));
    let args: [&[u8]; 11] = [
        b"EVALSHA",
        sha.as_bytes(),
        b"3",
        counter.as_bytes(),
        stream.as_bytes(),
        set.as_bytes(),
        text.as_bytes(),
        history.as_bytes(),
        floor.as_bytes(),
        channel.as_bytes(),
        pubsub.as_bytes(),
    ];
    encode_command(out, &args);
}

/// `XRANGE P:{c}:h (after+1)-0 +`: the retained history after `after`.
pub fn encode_range(out: &mut Vec<u8>, keys: &Keys, channel: &str, after: MessageId) {
    let start = format!("{}-0", after.saturating_add(1));
    encode_command(out, &[b"XRANGE".as_slice(), keys.history(channel).as_bytes(), start.as_bytes(), b"+"]);
}

/// The largest id the cluster takes from Redis: 2^53 − 1, the largest integer a browser's
/// JSON parser reads exactly. An id past it (a Redis that was tampered with) is not a message
/// but a fault, so no counter downstream can overflow.
pub const MAX_ID: MessageId = (1 << 53) - 1;

/// An id from Redis, if it is one (1 ..= [`MAX_ID`]).
pub fn valid_id(id: i64) -> Option<MessageId> {
    MessageId::try_from(id).ok().filter(|&id| (1..=MAX_ID).contains(&id))
}

/// A pub/sub payload `N TEXT` read back.
pub fn parse_payload(payload: &[u8]) -> Option<(MessageId, &str)> {
    let space = payload.iter().position(|&b| b == b' ')?;
    let id = valid_id(std::str::from_utf8(&payload[..space]).ok()?.parse().ok()?)?;
    Some((id, std::str::from_utf8(&payload[space + 1..]).ok()?))
}

/// The `N` of a stream entry id `N-0`.
pub fn parse_entry_id(entry: &[u8]) -> Option<MessageId> {
    valid_id(std::str::from_utf8(entry).ok()?.strip_suffix("-0")?.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_channels_hash_tag_and_read_back() {
        let keys = Keys::new("talkback");
        assert_eq!(keys.counter("room"), "talkback:{room}:id");
        assert_eq!(keys.history("room"), "talkback:{room}:h");
        assert_eq!(keys.pattern(), "talkback:{*}:m");
        assert_eq!(keys.channel_of("talkback:{room}:m"), Some("room"));
        assert_eq!(keys.channel_of("other:{room}:m"), None);
    }

    #[test]
    fn payloads_and_entry_ids_parse_back_and_junk_does_not() {
        assert_eq!(parse_payload(b"12 hello world"), Some((12, "hello world")));
        assert_eq!(parse_payload(b"7 "), Some((7, "")));
        assert_eq!(parse_payload(b"x hello"), None);
        assert_eq!(parse_payload(b"12"), None);
        assert_eq!(parse_entry_id(b"42-0"), Some(42));
        assert_eq!(parse_entry_id(b"42-1"), None);
        assert_eq!(parse_payload(b"9007199254740992 too big"), None, "past 2^53 - 1");
        assert_eq!(parse_payload(b"0 zero"), None, "ids start at 1");
        assert_eq!(parse_entry_id(b"18446744073709551615-0"), None);
        assert_eq!(publish_sha().len(), 40);
    }
}
