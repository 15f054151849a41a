//! A strict reader of whole HTTP/1.1 responses, for assertions.

/// One response, head and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (panics if it is not).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("body is UTF-8")
    }

    /// Whether the server said it will close the connection.
    pub fn closes(&self) -> bool {
        self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Parses one response from the front of `bytes`. `Ok(None)` means more bytes are needed;
/// `eof` says the connection has ended (which ends a close-delimited body).
pub fn parse_response(bytes: &[u8], head_request: bool, eof: bool) -> Result<Option<(Response, usize)>, String> {
    let Some(head_end) = find(bytes, b"\r\n\r\n") else { return Ok(None) };
    let head = std::str::from_utf8(&bytes[..head_end]).map_err(|_| "head is not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if parts.next() != Some("HTTP/1.1") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or("bad status code")?;
    let reason = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("bad field {line:?}"))?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut response = Response { status, reason, headers, body: Vec::new() };
    let body_start = head_end + 4;
    let body = &bytes[body_start..];
    let no_body = head_request || status / 100 == 1 || status == 204 || status == 304;
    if no_body {
        return Ok(Some((response, body_start)));
    }
    if response.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return Ok(parse_chunked(body)?.map(|(data, used)| {
            response.body = data;
            (response, body_start + used)
        }));
    }
    if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().map_err(|_| "bad content-length")?;
        if body.len() < length {
            return Ok(None);
        }
        response.body = body[..length].to_vec();
        return Ok(Some((response, body_start + length)));
    }
    if !eof {
        return Ok(None);
    }
    response.body = body.to_vec();
    Ok(Some((response, bytes.len())))
}

fn parse_chunked(mut body: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let total = body.len();
    let mut data = Vec::new();
    loop {
        let Some(line_end) = find(body, b"\r\n") else { return Ok(None) };
        let line = std::str::from_utf8(&body[..line_end]).map_err(|_| "bad chunk line")?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or_default(), 16)
            .map_err(|_| format!("bad chunk size {line:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            let Some(end) = find(body, b"\r\n") else { return Ok(None) };
            // Trailers are not used by talkback: the last chunk is followed by CRLF.
            if end != 0 {
                return Err("trailers not expected".into());
            }
            body = &body[2..];
            return Ok(Some((data, total - body.len())));
        }
        if body.len() < size + 2 {
            return Ok(None);
        }
        data.extend_from_slice(&body[..size]);
        if &body[size..size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        body = &body[size + 2..];
    }
}

/// Position of `needle` in `haystack` (the reader finds CRLFs with it; `Client::read_until` too).
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_length_chunked_and_close_delimited_bodies() {
        let fixed = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA";
        let (r, used) = parse_response(fixed, false, false).unwrap().unwrap();
        assert_eq!((r.status, r.body.as_slice(), used), (200, &b"hi"[..], fixed.len() - 5));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n1\r\n!\r\n0\r\n\r\n";
        let (r, used) = parse_response(chunked, false, false).unwrap().unwrap();
        assert_eq!((r.body.as_slice(), used), (&b"hi!"[..], chunked.len()));
        let close = b"HTTP/1.1 200 OK\r\n\r\nuntil close";
        assert!(parse_response(close, false, false).unwrap().is_none());
        assert_eq!(parse_response(close, false, true).unwrap().unwrap().0.body, b"until close");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhi", false, false).unwrap().is_none());
    }
}
