//! The frame log behind `--trace`: one [`FrameRecord`] per frame in or out, shown as
//! `<- FIN=1 RSV=000 op=text(0x1) MASK=1 key=37fa213d len=5 payload="Hello"`; a compressed
//! frame (RSV1, RFC 7692) also shows what it inflates to, the start of its compressed payload
//! in hex, and previews the inflated bytes:
//! `-> FIN=1 RSV=100 op=text(0x1) MASK=0 len=7 inflated=5 deflated=f248cdc9c90700 payload="Hello"`.

use std::collections::VecDeque;
use std::fmt;

use crate::FrameHeader;

/// At most this many payload bytes are kept for the preview.
pub const PREVIEW_LEN: usize = 40;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the peer (`<-`).
    In,
    /// To the peer (`->`).
    Out,
}

/// One frame as the trace shows it: the header and the first [`PREVIEW_LEN`] payload bytes,
/// unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRecord {
    /// In or out.
    pub direction: Direction,
    /// The frame's header as it was on the wire.
    pub header: FrameHeader,
    /// The start of the unmasked payload (inflated, for a compressed message's frames).
    pub preview: Vec<u8>,
    /// For a frame of a compressed message: how many bytes its payload inflated to.
    pub inflated: Option<u64>,
    /// For a frame of a compressed message: the start of its payload as sent (unmasked).
    pub deflated: Vec<u8>,
}

impl fmt::Display for FrameRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        let arrow = match self.direction {
            Direction::In => "<-",
            Direction::Out => "->",
        };
        write!(
            f,
            "{arrow} FIN={} RSV={:03b} op={}({:#x}) MASK={}",
            u8::from(h.fin),
            h.rsv,
            h.opcode.name(),
            h.opcode.as_u8(),
            u8::from(h.mask.is_some()),
        )?;
        if let Some(key) = h.mask {
            write!(f, " key={:08x}", u32::from_be_bytes(key))?;
        }
        write!(f, " len={}", h.payload_len)?;
        if let Some(inflated) = self.inflated {
            write!(f, " inflated={inflated} deflated=")?;
            for byte in &self.deflated {
                write!(f, "{byte:02x}")?;
            }
            if h.payload_len > self.deflated.len() as u64 {
                f.write_str("...")?;
            }
        }
        write!(f, " payload=\"{}\"", self.preview.escape_ascii())?;
        if self.inflated.unwrap_or(h.payload_len) > self.preview.len() as u64 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// The log a `Connection` keeps while tracing is on.
#[derive(Debug, Default)]
pub(crate) struct FrameLog {
    /// Finished records, oldest first.
    done: VecDeque<FrameRecord>,
    /// The inbound frame whose payload is still arriving.
    partial: Option<FrameRecord>,
}

impl FrameLog {
    /// Starts the record of an inbound frame.
    pub(crate) fn begin_in(&mut self, header: FrameHeader) {
        self.partial = Some(FrameRecord {
            direction: Direction::In,
            header,
            preview: Vec::new(),
            inflated: None,
            deflated: Vec::new(),
        });
    }

    /// Adds unmasked payload bytes of the inbound frame to its preview.
    pub(crate) fn payload_in(&mut self, bytes: &[u8]) {
        if let Some(record) = &mut self.partial {
            let room = PREVIEW_LEN - record.preview.len();
            record.preview.extend_from_slice(&bytes[..room.min(bytes.len())]);
        }
    }

    /// Compressed payload bytes of the inbound frame (unmasked), for its `deflated=` preview.
    pub(crate) fn deflated_in(&mut self, bytes: &[u8]) {
        if let Some(record) = &mut self.partial {
            let room = PREVIEW_LEN - record.deflated.len();
            record.deflated.extend_from_slice(&bytes[..room.min(bytes.len())]);
            record.inflated.get_or_insert(0);
        }
    }

    /// The inbound frame's payload inflated to `n` more bytes.
    pub(crate) fn inflated_in(&mut self, n: usize) {
        if let Some(record) = &mut self.partial {
            *record.inflated.get_or_insert(0) += n as u64;
        }
    }

    /// The inbound frame is complete.
    pub(crate) fn end_in(&mut self) {
        if let Some(record) = self.partial.take() {
            self.done.push_back(record);
        }
    }

    /// Records an outbound frame.
    pub(crate) fn out(&mut self, header: FrameHeader, payload: &[u8]) {
        let preview = payload[..PREVIEW_LEN.min(payload.len())].to_vec();
        self.done.push_back(FrameRecord {
            direction: Direction::Out,
            header,
            preview,
            inflated: None,
            deflated: Vec::new(),
        });
    }

    /// Records an outbound compressed frame: its header, the message it carries and its
    /// compressed payload.
    pub(crate) fn out_compressed(&mut self, header: FrameHeader, message: &[u8], payload: &[u8]) {
        let preview = message[..PREVIEW_LEN.min(message.len())].to_vec();
        let inflated = Some(message.len() as u64);
        let deflated = payload[..PREVIEW_LEN.min(payload.len())].to_vec();
        self.done.push_back(FrameRecord { direction: Direction::Out, header, preview, inflated, deflated });
    }

    /// The oldest finished record.
    pub(crate) fn pop(&mut self) -> Option<FrameRecord> {
        self.done.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpCode;

    #[test]
    fn frame_record_display_matches_the_trace_format() {
        let record = FrameRecord {
            direction: Direction::In,
            header: FrameHeader {
                fin: true,
                rsv: 0,
                opcode: OpCode::Text,
                mask: Some([0x37, 0xfa, 0x21, 0x3d]),
                payload_len: 5,
            },
            preview: b"Hello".to_vec(),
            inflated: None,
            deflated: Vec::new(),
        };
        let expect = r#"<- FIN=1 RSV=000 op=text(0x1) MASK=1 key=37fa213d len=5 payload="Hello""#;
        assert_eq!(record.to_string(), expect);
        let compressed = FrameRecord {
            direction: Direction::Out,
            header: FrameHeader { fin: true, rsv: 0b100, opcode: OpCode::Text, mask: None, payload_len: 7 },
            preview: b"Hello".to_vec(),
            inflated: Some(5),
            deflated: vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        };
        let expect = r#"-> FIN=1 RSV=100 op=text(0x1) MASK=0 len=7 inflated=5 deflated=f248cdc9c90700 payload="Hello""#;
        assert_eq!(compressed.to_string(), expect);
    }
}
