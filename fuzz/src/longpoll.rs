//! `longpoll_query`: the hub's query strings and cursors — [`ChannelQuery::parse`],
//! [`parse_cursor`], [`parse_decimal`] — then a channel log shaped by the same bytes, asked for
//! the batch after the parsed cursor.
//!
//! Asserted, besides "no panic":
//! - the parse agrees with a reference model written from the README's rules (pairs split at
//!   `&`, key and value at the first `=`, values `1*DIGIT` that fit a `u64`, a known key twice
//!   is refused, unknown keys ignored), and a parsed query written back parses the same;
//! - `parse_cursor` is the parsed `after`; `hold_duration` never exceeds the cap;
//! - the batch after a cursor is exactly the retained messages with a larger id, oldest first,
//!   and `missed` counts the evicted ones after the cursor (a model of the eviction rules);
//! - `json_array_len` is the length `encode_json_array` writes, and each JSON string decodes
//!   back to its text (RFC 8259 §7), with no raw control character in it.

use std::time::Duration;

use talkback_longpoll::{
    ChannelLog, ChannelQuery, LogLimits, QueryError, encode_json_array, encode_json_element, encode_json_string,
    hold_duration, json_array_len, parse_cursor, parse_decimal,
};

/// The whole check, for one input.
pub fn check(data: &[u8]) {
    let parsed = ChannelQuery::parse(data);
    assert_eq!(parsed, model(data), "query {:?}", String::from_utf8_lossy(data));
    assert_eq!(parse_cursor(data), parsed.map(|q| q.after));
    if let Ok(query) = parsed {
        assert_eq!(ChannelQuery::parse(write(&query).as_bytes()), Ok(query), "written back");
        let (default, max) = (Duration::from_secs(30), Duration::from_secs(120));
        assert!(hold_duration(query.timeout, default, max) <= max);
    }
    let cursor = parsed.ok().and_then(|q| q.after).unwrap_or_else(|| u64::from(data.first().copied().unwrap_or(0)));
    log_batches(data, cursor);
    json_strings_decode_back(data);
}

/// The query rules, written again as simply as possible.
fn model(query: &[u8]) -> Result<ChannelQuery, QueryError> {
    let mut out = ChannelQuery::default();
    for pair in query.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let text = pair.to_vec();
        let (key, value) = match text.iter().position(|&b| b == b'=') {
            Some(at) => (text[..at].to_vec(), text[at + 1..].to_vec()),
            None => (text, Vec::new()),
        };
        let slot = match key.as_slice() {
            b"after" => &mut out.after,
            b"timeout" => &mut out.timeout,
            b"lastEventId" => &mut out.last_event_id,
            _ => continue,
        };
        if slot.is_some() {
            return Err(QueryError::Duplicate);
        }
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(QueryError::NotDecimal);
        }
        let digits = std::str::from_utf8(&value).expect("ASCII digits");
        *slot = Some(digits.parse::<u64>().map_err(|_| QueryError::Overflow)?);
        assert_eq!(parse_decimal(&value), Ok(slot.expect("set")));
    }
    Ok(out)
}

/// A parsed query as a client would write it.
fn write(query: &ChannelQuery) -> String {
    let pairs = [("after", query.after), ("timeout", query.timeout), ("lastEventId", query.last_event_id)];
    let written: Vec<String> = pairs.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={v}"))).collect();
    written.join("&")
}

/// A log whose limits and messages come from `data`, and a model of what it must retain.
fn log_batches(data: &[u8], cursor: u64) {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let max_messages = usize::from(byte(1) % 8);
    let max_bytes = (byte(2) % 2 == 1).then(|| usize::from(byte(3)));
    let mut log = ChannelLog::with_limits(LogLimits { max_messages, max_bytes });
    let weights: Vec<usize> = data.iter().skip(4).take(40).map(|&b| usize::from(b % 64)).collect();
    for (i, &weight) in weights.iter().enumerate() {
        assert_eq!(log.next_id(), i as u64 + 1);
        assert_eq!(log.publish(i, weight), i as u64 + 1);
    }
    // The model: keep the newest messages while they fit, always at least the newest one.
    let mut kept = 0;
    let mut bytes = 0;
    for &weight in weights.iter().rev() {
        let fits = kept < max_messages.max(1) && max_bytes.is_none_or(|max| bytes + weight <= max);
        if !(fits || kept == 0) {
            break;
        }
        kept += 1;
        bytes += weight;
    }
    let published = weights.len() as u64;
    let first_kept = published - kept as u64 + 1;
    assert_eq!((log.len(), log.retained_bytes(), log.last_id()), (kept, bytes, published));
    assert_eq!(log.first_id(), first_kept);
    for cursor in [cursor, 0, published, published / 2, u64::MAX] {
        let batch = log.after(cursor);
        let ids: Vec<u64> = batch.iter().map(|(id, _)| id).collect();
        let expect: Vec<u64> = (first_kept.max(cursor.saturating_add(1))..=published).collect();
        assert_eq!(ids, expect, "after({cursor})");
        assert!(batch.iter().all(|(id, &item)| id == item as u64 + 1), "each id with its own message");
        let evicted_after = first_kept.saturating_sub(1).saturating_sub(cursor.min(first_kept - 1));
        assert_eq!(batch.missed(), evicted_after, "missed after({cursor})");
        assert_eq!(batch.last_id(), expect.last().copied());
        assert!(!batch.is_empty() || batch.missed() == 0, "nothing to deliver, nothing missed");
    }
}

/// JSON elements from the input's text: lengths agree and strings decode back (RFC 8259 §7).
fn json_strings_decode_back(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut string = Vec::new();
    encode_json_string(&text, &mut string);
    assert!(string.iter().all(|&b| b >= 0x20), "a raw control character in {string:?}");
    assert_eq!(decode_json_string(&string).as_deref(), Some(&*text), "decodes back");
    let elements: Vec<Vec<u8>> = text
        .split('&')
        .enumerate()
        .map(|(i, part)| {
            let mut element = Vec::new();
            encode_json_element(i as u64, part, &mut element);
            element
        })
        .collect();
    let mut body = Vec::new();
    encode_json_array(elements.iter().map(Vec::as_slice), &mut body);
    assert_eq!(json_array_len(elements.iter().map(Vec::as_slice)), body.len());
}

/// A strict decoder for one JSON string (RFC 8259 §7), quotes included.
fn decode_json_string(bytes: &[u8]) -> Option<String> {
    let inner = std::str::from_utf8(bytes).ok()?.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let unit = hex4(&mut chars)?;
                    let c = match unit {
                        0xD800..=0xDBFF => {
                            let ['\\', 'u'] = [chars.next()?, chars.next()?] else { return None };
                            let low = hex4(&mut chars)?;
                            char::decode_utf16([unit, low]).next()?.ok()?
                        }
                        _ => char::from_u32(u32::from(unit))?,
                    };
                    out.push(c);
                }
                _ => return None,
            },
            c if u32::from(c) < 0x20 => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u16> {
    let digits: String = chars.take(4).collect();
    if digits.len() != 4 {
        return None;
    }
    u16::from_str_radix(&digits, 16).ok()
}
