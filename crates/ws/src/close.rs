//! The close frame's payload ([RFC 6455 §5.5.1](https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1))
//! and which status codes may appear on the wire ([§7.4](https://www.rfc-editor.org/rfc/rfc6455#section-7.4)).

use crate::Error;

/// The body of a close frame: a 2-byte status code, then an optional UTF-8 reason.
/// An empty close frame (no code at all) is `None` wherever an `Option<CloseFrame>` appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Status code (§7.4.1), e.g. 1000 normal closure, 1001 going away.
    pub code: u16,
    /// Human-readable reason; at most 123 bytes so the payload fits a control frame.
    pub reason: String,
}

impl CloseFrame {
    /// Decodes a close payload (already unmasked).
    ///
    /// Empty → `Ok(None)`; 1 byte → [`Error::CloseLengthOne`]; a code that may not be sent →
    /// [`Error::InvalidCloseCode`]; a reason that is not UTF-8 → [`Error::InvalidUtf8`] (1007).
    pub fn decode(payload: &[u8]) -> Result<Option<CloseFrame>, Error> {
        match payload {
            [] => Ok(None),
            [_] => Err(Error::CloseLengthOne),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                if !is_valid_code(code) {
                    return Err(Error::InvalidCloseCode(code));
                }
                let reason = std::str::from_utf8(reason).map_err(|_| Error::InvalidUtf8)?;
                Ok(Some(CloseFrame { code, reason: reason.to_owned() }))
            }
        }
    }

    /// Appends the payload (code big-endian, then the reason) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.code.to_be_bytes());
        out.extend_from_slice(self.reason.as_bytes());
    }
}

/// Whether `code` may appear in a close frame (§7.4.1, §7.4.2).
///
/// | range | verdict |
/// |---|---|
/// | 0–999 | not used → invalid |
/// | 1000–1003, 1007–1011 | defined by RFC 6455 (1010 is client-only in meaning, still valid on the wire) |
/// | 1004 reserved, 1005 no status, 1006 abnormal, 1015 TLS | "MUST NOT be set as a status code" → invalid |
/// | 1012–1014 | registered later with IANA (restart, try again later, bad gateway); rejected here because Autobahn 7.9.x and most peers treat unassigned 1012–2999 as invalid |
/// | 1016–2999 | reserved for future RFCs → invalid |
/// | 3000–4999 | libraries, frameworks, applications → valid |
/// | 5000+ | not defined → invalid |
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_5_5_1_close_frame_round_trips() {
        let frame = CloseFrame { code: 4001, reason: "bye ✓".into() };
        let mut out = Vec::new();
        frame.encode(&mut out);
        assert_eq!(CloseFrame::decode(&out), Ok(Some(frame)));
        assert_eq!(CloseFrame::decode(&[]), Ok(None));
    }

    #[test]
    fn rfc6455_5_5_1_rejects_one_byte_close_payload() {
        assert_eq!(CloseFrame::decode(&[0x03]), Err(Error::CloseLengthOne));
    }

    #[test]
    fn rfc6455_5_5_1_rejects_non_utf8_reason_with_1007() {
        let err = CloseFrame::decode(&[0x03, 0xE8, 0xFF]).unwrap_err();
        assert_eq!((err, err.close_code()), (Error::InvalidUtf8, 1007));
    }

    #[test]
    fn rfc6455_7_4_close_code_table() {
        let valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
        let invalid = [0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
        for code in valid {
            assert!(is_valid_code(code), "{code} should be valid");
        }
        for code in invalid {
            assert!(!is_valid_code(code), "{code} should be invalid");
            let payload = code.to_be_bytes();
            assert_eq!(CloseFrame::decode(&payload), Err(Error::InvalidCloseCode(code)));
        }
    }
}
