//! talkback-http1: sans-I/O HTTP/1.1, server side (skeleton; being filled in).
//!
//! PUBLIC API CONTRACT (other crates are written against these signatures; extend, don't break):
//!
//! ```ignore
//! let mut decoder = RequestDecoder::new(Limits::default());
//! loop {
//!     match decoder.decode(&buf)? {           // Result<Decoded<'_>, Error>
//!         Decoded { consumed, event: Some(Event::Head(req)) } => ..,   // a full head; body (if any) follows
//!         Decoded { consumed, event: Some(Event::Data(bytes)) } => .., // a piece of body, borrowed from buf
//!         Decoded { consumed, event: Some(Event::End) } => ..,         // body complete; next request may follow
//!         Decoded { consumed, event: None } => break,                  // need more bytes (Partial is not an error)
//!     }
//!     buf.drain(..consumed);
//! }
//! ```
#![forbid(unsafe_code)]

mod head;
pub use head::{Method, Request, Version};
