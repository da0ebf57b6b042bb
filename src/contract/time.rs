//! Timestamps exactly as the Go implementation writes them, parsed as leniently as RFC 3339 allows.
//!
//! Go writes UTC with a `Z`, nanosecond precision, and trailing fractional zeros trimmed
//! (`…:00.12Z`, never `…:00.120Z`; no fraction at all when it is zero). That form is part of the
//! wire contract: Go recomputes `manifest_sha256` over a re-serialised `created_at`, so a pack whose
//! timestamp is written any other way fails Go's verify. Civil-date arithmetic is written here
//! (days-from-civil, after Howard Hinnant) rather than pulled in from a date crate.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant with nanosecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Seconds from 0000-03-01 to 1970-01-01, for the civil-date algorithm.
const DAYS_0000_TO_1970: i64 = 719_468;

impl Timestamp {
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs: secs + i64::from(nanos / 1_000_000_000), nanos: nanos % 1_000_000_000 }
    }

    pub fn now() -> Timestamp {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp::from_unix(d.as_secs() as i64, d.subsec_nanos()),
            // A clock before 1970 is a broken machine; clamp rather than panic.
            Err(_) => Timestamp::from_unix(0, 0),
        }
    }

    pub fn unix_seconds(self) -> i64 {
        self.secs
    }

    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Nanoseconds since the Unix epoch (saturating; for ids, not arithmetic).
    pub fn unix_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// This instant plus a duration.
    pub fn plus(self, d: std::time::Duration) -> Timestamp {
        let nanos = u64::from(self.nanos) + u64::from(d.subsec_nanos());
        let secs = self.secs.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Timestamp::from_unix(secs.saturating_add((nanos / 1_000_000_000) as i64), (nanos % 1_000_000_000) as u32)
    }

    /// Whole seconds from `earlier` to `self`, never negative.
    pub fn seconds_since(self, earlier: Timestamp) -> u64 {
        let mut diff = self.secs - earlier.secs;
        if self.nanos < earlier.nanos {
            diff -= 1;
        }
        diff.max(0) as u64
    }

    /// Parse RFC 3339: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)`, any fraction length up to 9 digits
    /// (longer fractions are truncated to nanoseconds, as Go does). Date-only forms are rejected.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(range)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(part.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..9 {
                nanos *= 10;
            }
        }
        let offset_secs = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
                let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let offset = hours * 3600 + minutes * 60;
                if *sign == b'+' { offset } else { -offset }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
        Some(Timestamp { secs, nanos })
    }
}

/// Stored as its Go text (snapshot caches keep timestamps this way); reading accepts any RFC 3339.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 timestamp: {text:?}")))
    }
}

impl fmt::Display for Timestamp {
    /// Go's RFC3339Nano in UTC: fractional zeros trimmed, `Z` suffix. Years 0-9999 are written
    /// into a stack buffer in one `write_str` (every status body, log line and event carries a
    /// timestamp; `write!` per field and a `String` for the fraction cost more than the rest of a
    /// cached status answer: issue 16); other years take the general path, which pads and signs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339() {
            Ok((buf, len)) => f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?),
            Err(parts) => self.fmt_general(f, parts),
        }
    }
}

/// (year, month, day) and the second of the day.
type CivilTime = ((i64, i64, i64), i64);

/// `value` in decimal, zero-padded to fill `out` (the caller's ranges keep it within).
fn put_digits(out: &mut [u8], mut value: i64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl Timestamp {
    /// Append the form `Display` writes to `out`, without a formatter or a `String` of its own
    /// (a served status answer and its log line each carry one: issue 16).
    pub fn push_to(&self, out: &mut Vec<u8>) {
        match self.rfc3339() {
            Ok((buf, len)) => out.extend_from_slice(&buf[..len]),
            Err(_) => out.extend_from_slice(self.to_string().as_bytes()),
        }
    }

    /// The written form of a year 0-9999 in a stack buffer and its length; any other year gives
    /// back its civil date and second of the day for the general path.
    fn rfc3339(&self) -> std::result::Result<([u8; 30], usize), CivilTime> {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return Err(((year, month, day), rem));
        }
        let mut buf = *b"0000-00-00T00:00:00.000000000Z";
        put_digits(&mut buf[0..4], year);
        put_digits(&mut buf[5..7], month);
        put_digits(&mut buf[8..10], day);
        put_digits(&mut buf[11..13], rem / 3600);
        put_digits(&mut buf[14..16], rem / 60 % 60);
        put_digits(&mut buf[17..19], rem % 60);
        let mut len = 19;
        if self.nanos != 0 {
            put_digits(&mut buf[20..29], i64::from(self.nanos));
            len = 29;
            while buf[len - 1] == b'0' {
                len -= 1;
            }
        }
        buf[len] = b'Z';
        Ok((buf, len + 1))
    }

    /// The written form of a year outside 0-9999 (never seen in practice; kept exact).
    fn fmt_general(
        &self,
        f: &mut fmt::Formatter<'_>,
        ((year, month, day), rem): ((i64, i64, i64), i64),
    ) -> fmt::Result {
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)?;
        if self.nanos != 0 {
            let mut frac = format!("{:09}", self.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        f.write_str("Z")
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - DAYS_0000_TO_1970
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + DAYS_0000_TO_1970;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_trimmed_fraction() {
        let base = 1_771_005_600; // 2026-02-13T18:00:00Z
        assert_eq!(Timestamp::from_unix(base, 0).to_string(), "2026-02-13T18:00:00Z");
        assert_eq!(Timestamp::from_unix(base, 120_000_000).to_string(), "2026-02-13T18:00:00.12Z");
        assert_eq!(Timestamp::from_unix(base, 123_456_789).to_string(), "2026-02-13T18:00:00.123456789Z");
        assert_eq!(Timestamp::from_unix(base, 1).to_string(), "2026-02-13T18:00:00.000000001Z");
        assert_eq!(Timestamp::from_unix(0, 0).to_string(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn parse_normalises_like_go() {
        // The digest's own check: Go re-marshals this input as `2026-02-13T18:00:00Z`.
        let t = Timestamp::parse("2026-02-13T18:00:00.000+00:00").unwrap();
        assert_eq!(t.to_string(), "2026-02-13T18:00:00Z");
        let t = Timestamp::parse("2026-02-13T20:30:00.5+02:30").unwrap();
        assert_eq!(t.to_string(), "2026-02-13T18:00:00.5Z");
        let t = Timestamp::parse("2026-11-24T01:47:13.409670973Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-24T01:47:13.409670973Z");
    }

    #[test]
    fn parse_rejects_non_rfc3339() {
        for bad in [
            "2026-02-13",
            "2026-02-13 18:00:00Z",
            "2026-02-13T18:00:00",
            "2026-02-30T18:00:00Z",
            "2026-13-01T18:00:00Z",
            "2026-02-13T24:00:00Z",
            "2026-02-13T18:00:00.Z",
            "2026-02-13T18:00:00+0200",
            "2026-02-13T18:00:00Zjunk",
            "２026-02-13T18:00:00Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trip_across_eras() {
        for secs in [-62_135_596_800, -1, 0, 951_782_400, 4_107_542_399, 253_402_300_799] {
            let t = Timestamp::from_unix(secs, 7);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t), "{secs}");
        }
    }

    // The stack-buffer writer must give the general path's bytes for every instant it takes:
    // both ends of its year range, leap days, every fraction length, and a spread between.
    #[test]
    fn the_fast_writer_agrees_with_the_general_one() {
        let general = |t: Timestamp| {
            let days = t.secs.div_euclid(86_400);
            let mut out = String::new();
            let _ =
                fmt::write(&mut out, format_args!("{}", General(t, civil_from_days(days), t.secs.rem_euclid(86_400))));
            out
        };
        struct General(Timestamp, (i64, i64, i64), i64);
        impl fmt::Display for General {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_general(f, (self.1, self.2))
            }
        }
        let mut secs: Vec<i64> = vec![-62_167_219_200, -62_135_596_800, -1, 0, 951_782_400, 253_402_300_799];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            secs.push((x % 315_537_897_600) as i64 - 62_167_219_200);
        }
        for (i, s) in secs.into_iter().enumerate() {
            for nanos in [
                0,
                1,
                10,
                120_000_000,
                123_456_789,
                999_999_999,
                (i as u32).wrapping_mul(2_654_435_761) % 1_000_000_000,
            ] {
                let t = Timestamp::from_unix(s, nanos);
                assert_eq!(t.to_string(), general(t), "{s} {nanos}");
                let mut pushed = b"x".to_vec();
                t.push_to(&mut pushed);
                assert_eq!(pushed, format!("x{}", general(t)).into_bytes(), "push_to {s} {nanos}");
            }
        }
        // Outside 0-9999 the general path is the one taken.
        let far = Timestamp::from_unix(253_402_300_800, 0);
        assert_eq!(far.to_string(), "10000-01-01T00:00:00Z");
        let mut pushed = Vec::new();
        far.push_to(&mut pushed);
        assert_eq!(pushed, b"10000-01-01T00:00:00Z");
    }

    #[test]
    fn seconds_since_floors() {
        let a = Timestamp::from_unix(100, 900_000_000);
        let b = Timestamp::from_unix(102, 100_000_000);
        assert_eq!(b.seconds_since(a), 1);
        assert_eq!(a.seconds_since(b), 0);
    }
}
