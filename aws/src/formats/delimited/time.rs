//! Time parsers of the delimited formats, and the crate's one ISO-8601 parser (see the
//! [module docs](super)).

use chrono::{DateTime, NaiveDate, Utc};

/// `n` ASCII digits at `at` as a number.
#[inline]
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v: u32 = 0;
    for i in at..at + n {
        let d = b.get(i)?.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    Some(v)
}

#[inline]
fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

/// A calendar date: year, month, day.
type Date = (i32, u32, u32);
/// A time of day: hour, minute, second, nanosecond.
type Time = (u32, u32, u32, u32);

/// Builds an instant from UTC calendar fields; `offset_secs` is subtracted (local = UTC + offset).
#[inline]
fn instant((y, mo, d): Date, (h, mi, s, nanos): Time, offset_secs: i64) -> Option<DateTime<Utc>> {
    let naive = NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_nano_opt(h, mi, s, nanos)?;
    let utc = naive.and_utc();
    if offset_secs == 0 {
        Some(utc)
    } else {
        utc.checked_sub_signed(chrono::TimeDelta::try_seconds(offset_secs)?)
    }
}

/// Reads `.fraction` at `at` (1 or more digits, nanosecond precision kept); returns nanos and the
/// offset after it.
#[inline]
fn fraction(b: &[u8], mut at: usize) -> Option<(u32, usize)> {
    if b.get(at) != Some(&b'.') {
        return Some((0, at));
    }
    at += 1;
    let mut nanos: u32 = 0;
    let mut scale: u32 = 100_000_000;
    let first = at;
    while let Some(&c) = b.get(at) {
        if !c.is_ascii_digit() {
            break;
        }
        nanos += u32::from(c - b'0') * scale;
        scale /= 10;
        at += 1;
    }
    (at > first).then_some((nanos, at))
}

/// Reads a `Z`, `±HH:MM`, `±HHMM` or nothing at `at`, which must then be the end; the offset in
/// seconds.
#[inline]
fn zone(b: &[u8], at: usize) -> Option<i64> {
    match b.get(at) {
        None => Some(0),
        Some(b'Z' | b'z') if at + 1 == b.len() => Some(0),
        Some(&sign @ (b'+' | b'-')) => {
            let hh = digits(b, at + 1, 2)?;
            let (mm, end) = if b.get(at + 3) == Some(&b':') {
                (digits(b, at + 4, 2)?, at + 6)
            } else {
                (digits(b, at + 3, 2)?, at + 5)
            };
            if end != b.len() || hh > 23 || mm > 59 {
                return None;
            }
            let secs = i64::from(hh * 3600 + mm * 60);
            Some(if sign == b'-' { -secs } else { secs })
        }
        Some(_) => None,
    }
}

/// Reads `YYYY-MM-DD?HH:MM:SS[.fraction]` at the start of `b`: the date, the time and the
/// offset after them. The separator at offset 10 is not looked at: its callers accept different
/// ones.
#[inline]
fn date_time(b: &[u8]) -> Option<(Date, Time, usize)> {
    let y = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let mo = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let d = digits(b, 8, 2)?;
    let h = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let mi = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let s = digits(b, 17, 2)?;
    let (nanos, at) = fraction(b, 19)?;
    Some(((y as i32, mo, d), (h, mi, s, nanos), at))
}

/// Parses ISO-8601 `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (a space may replace the `T`; no
/// zone means UTC). The whole of `b` must be the time.
#[inline]
pub fn parse_iso8601(b: &[u8]) -> Option<DateTime<Utc>> {
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (date, time, at) = date_time(b)?;
    let offset = zone(b, at)?;
    instant(date, time, offset)
}

/// Parses a leading `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z]` (as UTC), for records that start with
/// their time and go on after it (RDS, Lambda and Redshift lines; the fast path of
/// [`parse_rfc3339`](crate::formats::json_reader::value::parse_rfc3339)). No offset is read: what
/// follows the time belongs to the caller. Returns the time and the number of bytes consumed.
#[inline]
pub fn parse_datetime_prefix(b: &[u8]) -> Option<(DateTime<Utc>, usize)> {
    if !matches!(b.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let (date, time, mut at) = date_time(b)?;
    if b.get(at) == Some(&b'Z') {
        at += 1;
    }
    Some((instant(date, time, 0)?, at))
}

#[inline]
fn month(b: &[u8]) -> Option<u32> {
    let m = match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// Parses the Common Log Format time `06/Feb/2019:00:00:38 +0000` (without brackets).
#[inline]
pub fn parse_clf_time(b: &[u8]) -> Option<DateTime<Utc>> {
    let d = digits(b, 0, 2)?;
    expect(b, 2, b'/')?;
    let mo = month(b.get(3..6)?)?;
    expect(b, 6, b'/')?;
    let y = digits(b, 7, 4)?;
    expect(b, 11, b':')?;
    let h = digits(b, 12, 2)?;
    expect(b, 14, b':')?;
    let mi = digits(b, 15, 2)?;
    expect(b, 17, b':')?;
    let s = digits(b, 18, 2)?;
    let (nanos, mut at) = fraction(b, 20)?;
    let offset = if at == b.len() {
        0
    } else {
        expect(b, at, b' ')?;
        at += 1;
        zone(b, at)?
    };
    instant((y as i32, mo, d), (h, mi, s, nanos), offset)
}

/// Parses a separate UTC date `YYYY-MM-DD` and time `HH:MM:SS[.fraction]` (CloudFront).
#[inline]
pub fn parse_date_time(date: &[u8], time: &[u8]) -> Option<DateTime<Utc>> {
    if date.len() != 10 {
        return None;
    }
    let y = digits(date, 0, 4)?;
    expect(date, 4, b'-')?;
    let mo = digits(date, 5, 2)?;
    expect(date, 7, b'-')?;
    let d = digits(date, 8, 2)?;
    let h = digits(time, 0, 2)?;
    expect(time, 2, b':')?;
    let mi = digits(time, 3, 2)?;
    expect(time, 5, b':')?;
    let s = digits(time, 6, 2)?;
    let (nanos, at) = fraction(time, 8)?;
    if at != time.len() {
        return None;
    }
    instant((y as i32, mo, d), (h, mi, s, nanos), 0)
}

/// An instant from Unix seconds.
#[inline]
pub fn from_unix_seconds(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}
