//! The two streaming clients: one request, then the hub pushes.
//!
//! - **Server-Sent Events**: `GET /ch/{c}/sse`, a `200 text/event-stream` head, then
//!   `id: N` / `data: …` blocks and `: heartbeat` comments, parsed with `talkback-sse`'s
//!   WHATWG parser exactly as `EventSource` would. The id comes from the `id:` field.
//! - **WebSocket**: the RFC 6455 opening handshake (`talkback-ws`'s `ClientHandshake`), then
//!   unmasked text frames from the hub, decoded by a client-role `Connection`. Plain frames
//!   carry no id, so the id is the `seq` inside the message text. To resume after a drop the
//!   client needs the hub's ids: in the reconnect scenario it offers the subprotocol
//!   `talkback.json`, gets each message as `{"id":N,"data":"…"}` (`{"missed":K}` first when the
//!   history no longer reaches back), and reconnects to `/ch/{c}/ws?after=N` — what SSE has
//!   built in (`id:` fields, `Last-Event-ID`). "WebSocket + deflate" offers
//!   permessage-deflate (RFC 7692) as Chromium does; the hub's frames then arrive compressed
//!   (once per broadcast, shared), and the bytes on the wire show what that saves.
//!
//! Both resume from the cursor when they connect again: SSE sends `Last-Event-ID: N`, the
//! WebSocket asks for `?after=N` (`client::run` decides when).

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use talkback_sse::Parser;
use talkback_ws::handshake::ClientHandshake;
use talkback_ws::{Config, Connection, Deflate, DeflateOffer, Event, Role};

use crate::ctx::{Ctx, deliver};
use crate::http::HttpConn;
use crate::tally::{Tally, parse_element, parse_missed, parse_stamp};
use crate::wire::Counters;

/// The hub's WebSocket message limit (64 KiB); the client accepts the same.
const MAX_MESSAGE: usize = 64 << 10;

/// The subprotocol in which the hub's WebSocket frames carry ids.
const JSON_PROTOCOL: &str = "talkback.json";

/// Opens an SSE stream on `channel` — resuming after `last_id` when it is not 0, as
/// `EventSource` does when it reconnects — leaving the connection positioned after the head.
pub(crate) fn open_sse(conn: &mut HttpConn, channel: &str, last_id: u64, stop: &AtomicBool) -> io::Result<()> {
    let resume = if last_id > 0 { format!("Last-Event-ID: {last_id}\r\n") } else { String::new() };
    let accept = format!("Accept: text/event-stream\r\nCache-Control: no-cache\r\n{resume}");
    conn.get(&format!("/ch/{channel}/sse"), &accept)?;
    match conn.read_head(stop)? {
        Some(head) if head.status == 200 => Ok(()),
        Some(head) => Err(io::Error::other(format!("SSE: unexpected status {}", head.status))),
        None => Err(io::Error::other("stopped during the SSE head")),
    }
}

/// What the hub agreed to in a WebSocket handshake.
pub(crate) struct Agreed {
    /// The subprotocol it chose, if any.
    pub(crate) protocol: Option<String>,
    /// The permessage-deflate parameters, if it took the offer.
    pub(crate) deflate: Option<Deflate>,
}

/// Runs the WebSocket opening handshake for `target` offering `protocols` (and
/// permessage-deflate if `deflate`), leaving in `conn.buf` the bytes after the 101 head.
pub(crate) fn open_websocket(
    conn: &mut HttpConn,
    target: &str,
    protocols: &[&str],
    stop: &AtomicBool,
    deflate: bool,
) -> io::Result<Agreed> {
    let host = conn.stream.peer_host();
    let mut handshake = ClientHandshake::new(&host, target, protocols);
    if deflate {
        handshake = handshake.offer_deflate(DeflateOffer::default());
    }
    let mut request = Vec::new();
    handshake.encode_request(&mut request);
    if request.ends_with(b"\r\n\r\n") {
        // The browser's extra headers go before the blank line that ends the head.
        request.truncate(request.len() - 2);
        request.extend_from_slice(conn.extra.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    conn.stream.counters().request();
    conn.stream.write_all(&request)?;
    loop {
        match handshake.handle_response(&conn.buf) {
            Ok(Some((consumed, protocol))) => {
                conn.buf.drain(..consumed);
                if deflate && handshake.deflate().is_none() {
                    return Err(io::Error::other("the hub declined permessage-deflate"));
                }
                return Ok(Agreed { protocol, deflate: handshake.deflate() });
            }
            Ok(None) if stop.load(Relaxed) => return Err(io::Error::other("stopped during the handshake")),
            Ok(None) => {
                conn.fill()?;
            }
            Err(e) => return Err(io::Error::other(format!("WebSocket handshake: {e}"))),
        }
    }
}

/// The SSE client: one request, then events until `ctx.stop`.
pub(crate) fn sse(ctx: &Ctx, counters: &Arc<Counters>, tally: &mut Tally, ready: impl FnOnce()) -> io::Result<()> {
    let mut conn = HttpConn::connect(ctx.addr, counters, ctx.headers)?;
    open_sse(&mut conn, &ctx.channel, tally.last_id, &ctx.stop)?;
    ready();
    let mut parser = Parser::new();
    while !ctx.stop.load(Relaxed) {
        let bytes = std::mem::take(&mut conn.buf);
        parser.handle_bytes(&bytes).map_err(|e| io::Error::other(format!("SSE: {e}")))?;
        while let Some(event) = parser.poll_event() {
            match event.event_type.as_str() {
                "missed" => tally.missed_reported += event.data.parse::<u64>().unwrap_or(0),
                _ => match event.last_event_id.parse() {
                    Ok(id) => deliver(ctx, counters, tally, id, &event.data),
                    Err(_) => tally.malformed += 1,
                },
            }
        }
        conn.fill()?;
    }
    Ok(())
}

/// The WebSocket client: the handshake, then frames until `ctx.stop`; then a close frame.
/// Resuming (`ctx.resume`), it offers `talkback.json` and asks for `?after=` its cursor.
pub(crate) fn websocket(
    ctx: &Ctx,
    counters: &Arc<Counters>,
    tally: &mut Tally,
    ready: impl FnOnce(),
    deflate: bool,
) -> io::Result<()> {
    let mut conn = HttpConn::connect(ctx.addr, counters, ctx.headers)?;
    let mut target = format!("/ch/{}/ws", ctx.channel);
    let protocols: &[&str] = if ctx.resume.is_some() { &[JSON_PROTOCOL] } else { &[] };
    if ctx.resume.is_some() && tally.last_id > 0 {
        target += &format!("?after={}", tally.last_id);
    }
    let agreed = open_websocket(&mut conn, &target, protocols, &ctx.stop, deflate)?;
    let (json, deflate) = (agreed.protocol.as_deref() == Some(JSON_PROTOCOL), agreed.deflate);
    if ctx.resume.is_some() && !json {
        tally.resumed_by = "nothing: the hub did not choose `talkback.json`, so frames carry no ids";
    }
    ready();
    let config = Config { max_frame_size: MAX_MESSAGE, max_message_size: MAX_MESSAGE, deflate, ..Config::default() };
    let mut ws = Connection::new(Role::Client, config, Instant::now());
    let mut out = Vec::new();
    while !ctx.stop.load(Relaxed) {
        let bytes = std::mem::take(&mut conn.buf);
        if let Err(e) = ws.handle_bytes(&bytes, Instant::now()) {
            ws.fail(&e);
        }
        while let Some(event) = ws.poll_event() {
            match event {
                Event::Text(text) if json => match (parse_element(&text), parse_missed(&text)) {
                    (Some((id, data)), _) => deliver(ctx, counters, tally, id, &data),
                    (None, Some(missed)) => tally.missed_reported += missed,
                    (None, None) => tally.malformed += 1,
                },
                Event::Text(text) => match parse_stamp(&text) {
                    Some((_, seq)) => deliver(ctx, counters, tally, seq, &text),
                    None => tally.malformed += 1,
                },
                Event::Close(_) => return Err(io::Error::other("the hub closed the WebSocket")),
                Event::Binary(_) | Event::Ping(_) | Event::Pong(_) => {}
            }
        }
        flush(&mut ws, &mut conn, &mut out)?; // pongs, and the close after a failure
        if ws.is_closed() {
            return Err(io::Error::other("WebSocket failed"));
        }
        conn.fill()?;
    }
    let _ = ws.close(1000, "");
    flush(&mut ws, &mut conn, &mut out)
}

fn flush(ws: &mut Connection, conn: &mut HttpConn, out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    ws.poll_transmit(out);
    if !out.is_empty() {
        conn.stream.write_all(out)?;
    }
    Ok(())
}
