//! The `Date` field value, IMF-fixdate
//! ([RFC 9110 §5.6.7](https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7)).
//!
//! `Sun, 06 Nov 1994 08:49:37 GMT`: formatting it is cheap but not free, and every
//! response carries one, so the server formats it at most once per second. This crate
//! has no clock: the caller passes the Unix time it read once per loop turn.

const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
/// 9999-12-31 23:59:59 UTC, the last second IMF-fixdate's four-digit year can show.
const MAX_SECS: u64 = 253_402_300_799;

/// The current `Date` value, reformatted only when the second changes.
#[derive(Debug, Clone)]
pub struct DateCache {
    /// The Unix second `text` shows.
    secs: u64,
    /// `Sun, 06 Nov 1994 08:49:37 GMT`: always 29 bytes.
    text: [u8; 29],
}

impl DateCache {
    /// A cache showing the Unix epoch until the first [`update`](DateCache::update).
    pub fn new() -> DateCache {
        DateCache { secs: 0, text: format(0) }
    }

    /// Sets the time (seconds since the Unix epoch); formats only if the second changed.
    pub fn update(&mut self, unix_secs: u64) {
        if unix_secs != self.secs {
            self.secs = unix_secs;
            self.text = format(unix_secs);
        }
    }

    /// The formatted value, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    pub fn value(&self) -> &[u8] {
        &self.text
    }
}

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache::new()
    }
}

/// Formats a Unix time (clamped to year 9999) as IMF-fixdate.
fn format(unix_secs: u64) -> [u8; 29] {
    let secs = unix_secs.min(MAX_SECS);
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], of_day / 3600);
    two_digits(&mut out[20..22], of_day / 60 % 60);
    two_digits(&mut out[23..25], of_day % 60);
    out
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), after Howard Hinnant's
/// `civil_from_days` (proleptic Gregorian calendar, eras of 400 years).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> String {
        let mut cache = DateCache::new();
        cache.update(secs);
        String::from_utf8(cache.value().to_vec()).unwrap()
    }

    #[test]
    fn rfc9110_5_6_7_imf_fixdate() {
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(at(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        assert_eq!(at(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn update_keeps_the_value_within_a_second() {
        let mut cache = DateCache::new();
        cache.update(784_111_777);
        let first = cache.value().to_vec();
        cache.update(784_111_777);
        assert_eq!(cache.value(), &first[..]);
        cache.update(784_111_778);
        assert_eq!(&cache.value()[23..25], b"38");
    }
}
