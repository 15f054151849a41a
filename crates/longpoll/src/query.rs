//! The channel URLs' query parameters: `?after=N&timeout=S` (poll, long-poll) and
//! `?lastEventId=N` (SSE, for clients that cannot set the `Last-Event-ID` header).

use std::time::Duration;

use talkback_http1::DecimalError;

/// A query the hub answers with 400 Bad Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// A value that is not one or more ASCII digits: `abc`, `-1`, `+1`, `1.5`, ``, `%31`.
    NotDecimal,
    /// Digits for a number above `u64::MAX`.
    Overflow,
    /// The same parameter twice (`after=1&after=2`): which one did the client mean?
    Duplicate,
}

impl QueryError {
    /// The HTTP status to answer with.
    pub fn status_hint(self) -> u16 {
        400
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueryError::NotDecimal => "query value is not a decimal number",
            QueryError::Overflow => "query value is too large",
            QueryError::Duplicate => "query parameter given twice",
        })
    }
}

impl std::error::Error for QueryError {}

impl From<DecimalError> for QueryError {
    fn from(err: DecimalError) -> QueryError {
        match err {
            DecimalError::NotDecimal => QueryError::NotDecimal,
            DecimalError::Overflow => QueryError::Overflow,
        }
    }
}

/// The parameters the hub's channel URLs understand. Other parameters are ignored, so a
/// cache-busting `_=1700000000` from an old library does no harm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelQuery {
    /// `after=N`: the client has seen every message up to id N.
    pub after: Option<u64>,
    /// `timeout=S`: hold a long-poll at most S seconds (see [`hold_duration`]).
    pub timeout: Option<u64>,
    /// `lastEventId=N`: the SSE replay cursor when the header cannot be sent.
    pub last_event_id: Option<u64>,
}

impl ChannelQuery {
    /// Parses the part of the target after `?` (without the `?`). Pairs are split at `&`, keys
    /// and values compared as bytes, no percent-decoding: our values are plain digits.
    pub fn parse(query: &[u8]) -> Result<Self, QueryError> {
        let mut parsed = ChannelQuery::default();
        for pair in query.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let slot = match key {
                b"after" => &mut parsed.after,
                b"timeout" => &mut parsed.timeout,
                b"lastEventId" => &mut parsed.last_event_id,
                _ => continue,
            };
            if slot.is_some() {
                return Err(QueryError::Duplicate);
            }
            *slot = Some(parse_decimal(value)?);
        }
        Ok(parsed)
    }
}

/// The `after` cursor of a query string: `parse_cursor(b"after=12&timeout=5")` is `Ok(Some(12))`.
pub fn parse_cursor(query: &[u8]) -> Result<Option<u64>, QueryError> {
    ChannelQuery::parse(query).map(|q| q.after)
}

/// A strict decimal `u64`: one or more ASCII digits and nothing else
/// ([`talkback_http1::parse_decimal`], with its error as a [`QueryError`]). Also right for a
/// `Last-Event-ID` header value, since the hub's ids are decimal.
pub fn parse_decimal(value: &[u8]) -> Result<u64, QueryError> {
    Ok(talkback_http1::parse_decimal(value)?)
}

/// How long to hold a long-poll: `timeout` seconds if given, else `default`, never more than
/// `max` (`--max-hold`). `timeout=0` means "answer now": 200 if there is news, else 204.
pub fn hold_duration(timeout: Option<u64>, default: Duration, max: Duration) -> Duration {
    timeout.map_or(default, Duration::from_secs).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_parameters_and_ignores_others() {
        let q = ChannelQuery::parse(b"after=12&timeout=5&_=99&&lastEventId=007").unwrap();
        assert_eq!(q, ChannelQuery { after: Some(12), timeout: Some(5), last_event_id: Some(7) });
        assert_eq!(ChannelQuery::parse(b"").unwrap(), ChannelQuery::default());
        assert_eq!(parse_cursor(b"after=12&timeout=5"), Ok(Some(12)));
        assert_eq!(parse_cursor(b"timeout=5"), Ok(None));
    }

    #[test]
    fn rejects_anything_but_plain_digits() {
        let cases: &[(&[u8], QueryError)] = &[
            (b"after=abc", QueryError::NotDecimal),
            (b"after=-1", QueryError::NotDecimal),
            (b"after=+1", QueryError::NotDecimal),
            (b"after=", QueryError::NotDecimal),
            (b"after", QueryError::NotDecimal),
            (b"after=1.0", QueryError::NotDecimal),
            (b"after=%31", QueryError::NotDecimal),
            (b"after= 1", QueryError::NotDecimal),
            (b"after=\xd9\xa1", QueryError::NotDecimal),
            (b"after=18446744073709551616", QueryError::Overflow),
            (b"after=1&after=1", QueryError::Duplicate),
            (b"timeout=x", QueryError::NotDecimal),
        ];
        for &(query, expect) in cases {
            assert_eq!(ChannelQuery::parse(query), Err(expect), "{:?}", String::from_utf8_lossy(query));
            assert_eq!(expect.status_hint(), 400);
        }
        assert_eq!(parse_decimal(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), Err(QueryError::Overflow));
        assert_eq!(parse_decimal(b"1x"), Err(QueryError::NotDecimal));
    }

    #[test]
    fn hold_is_capped_by_max_hold() {
        let (default, max) = (Duration::from_secs(30), Duration::from_secs(120));
        assert_eq!(hold_duration(None, default, max), default);
        assert_eq!(hold_duration(Some(5), default, max), Duration::from_secs(5));
        assert_eq!(hold_duration(Some(0), default, max), Duration::ZERO);
        assert_eq!(hold_duration(Some(u64::MAX), default, max), max);
    }
}
