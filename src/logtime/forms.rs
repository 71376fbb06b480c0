//! The time forms read without a format: Apache/nginx `[10/Oct/2000:13:55:36 -0700]`, RFC 3339
//! and ISO 8601 `2026-03-10T14:05:09.123Z`, syslog `Mar 10 14:05:09`; and Unix epoch numbers.
//!
//! Each reader works on bytes at a position of a text and says, besides the time, how many
//! bytes it looked at (`Text::seen`), so that a caller can reuse the result for any later text
//! that starts with those same bytes (the digits of a fraction aside: they never matter).
//! `scan` finds where in a line such a time may start from the colons memchr finds, no regex.

use super::calendar::days_in_month;

/// A civil time as the text gives it, before any time zone is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stamp {
    /// `None` for syslog times, which carry no year.
    pub year: Option<i64>,
    /// 1..=12.
    pub month: u32,
    /// 1..=31, checked against the month (and the year, when there is one).
    pub day: u32,
    /// Seconds since midnight, 0..86,400 (a leap second `:60` reads as `:59`).
    pub clock: u32,
    /// Seconds east of UTC, when the text has an offset or `Z`.
    pub offset: Option<i32>,
}

/// A time read, and where its text lies in what was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Read {
    pub start: usize,
    pub end: usize,
    pub stamp: Stamp,
    /// The digits of the fractional seconds, when there are any: whatever they are, and however
    /// many, the reading is the same.
    pub fraction: Option<(usize, usize)>,
}

/// Why nothing was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fail {
    /// The text does not have the shape of a time.
    Shape,
    /// The text has the shape of a time ending at `end`, but no such time exists.
    Value { end: usize, what: Bad },
}

/// What is wrong with a time-shaped text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bad {
    Date,
    Clock,
    Offset,
    Range,
}

impl Bad {
    /// A few words for `--explain`.
    pub(super) fn describe(self) -> &'static str {
        match self {
            Bad::Date => "no such date",
            Bad::Clock => "no such time of day",
            Bad::Offset => "no such UTC offset",
            Bad::Range => "out of the range of years -9999 to 9999",
        }
    }
}

/// A text being read, and how far into it the reading has looked: a byte past the end counts
/// as looked at when the reading asked for it (and so depended on where the text ends).
pub(super) struct Text<'a> {
    pub bytes: &'a [u8],
    pub seen: usize,
}

impl<'a> Text<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Text<'a> {
        Text { bytes, seen: 0 }
    }

    /// The byte at `i`, noted as looked at.
    #[inline]
    fn at(&mut self, i: usize) -> Option<u8> {
        self.seen = self.seen.max(i + 1);
        self.bytes.get(i).copied()
    }

    /// The value of the ASCII digit at `i`.
    #[inline]
    fn digit(&mut self, i: usize) -> Option<u32> {
        match self.at(i) {
            Some(b @ b'0'..=b'9') => Some(u32::from(b - b'0')),
            _ => None,
        }
    }

    /// The value of the two ASCII digits at `i`.
    #[inline]
    fn two(&mut self, i: usize) -> Option<u32> {
        Some(self.digit(i)? * 10 + self.digit(i + 1)?)
    }

    /// The `len` bytes from `at`, looked at together: shorter texts are not times.
    #[inline]
    fn fixed<const N: usize>(&mut self, at: usize) -> Result<&'a [u8; N], Fail> {
        let bytes = self
            .bytes
            .get(at..)
            .and_then(|rest| rest.first_chunk::<N>())
            .ok_or(Fail::Shape)?;
        self.seen = self.seen.max(at + N);
        Ok(bytes)
    }
}

/// The value of two ASCII digits.
#[inline(always)]
fn two_digits(pair: &[u8]) -> Result<u32, Fail> {
    // A byte below `0` wraps around to far above 9.
    let (tens, ones) = (pair[0].wrapping_sub(b'0'), pair[1].wrapping_sub(b'0'));
    if tens > 9 || ones > 9 {
        return Err(Fail::Shape);
    }
    Ok(u32::from(tens) * 10 + u32::from(ones))
}

/// The value of four ASCII digits.
#[inline(always)]
fn four_digits(quad: &[u8]) -> Result<u32, Fail> {
    Ok(two_digits(&quad[..2])? * 100 + two_digits(&quad[2..])?)
}

/// The number (1..=12) of the English month abbreviation starting `bytes` (`Jan`, not `jan`
/// or `JAN`, as Apache and syslog write them whatever the locale).
#[inline]
pub(super) fn month_number(bytes: &[u8]) -> Option<u32> {
    let [a, b, c, ..] = *bytes else { return None };
    Some(match &[a, b, c] {
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
    })
}

/// `HH:MM:SS` (already known to be 8 bytes) as seconds since midnight, unchecked; and whether
/// the values are a time of day (a leap second `:60` reads as `:59`, as jiff reads it).
#[inline]
fn clock(bytes: &[u8]) -> Result<(u32, bool), Fail> {
    if bytes[2] != b':' || bytes[5] != b':' {
        return Err(Fail::Shape);
    }
    let (hour, minute, second) = (
        two_digits(&bytes[..2])?,
        two_digits(&bytes[3..5])?,
        two_digits(&bytes[6..8])?,
    );
    let valid = hour < 24 && minute < 60 && second <= 60;
    Ok((hour * 3600 + minute * 60 + second.min(59), valid))
}

/// Optional fractional seconds at `at` (`.` or `,` then digits, any number of them, ignored):
/// the span of the digits.
#[inline]
fn fraction(text: &mut Text, at: usize) -> Option<(usize, usize)> {
    if !matches!(text.at(at), Some(b'.' | b',')) || text.digit(at + 1).is_none() {
        return None;
    }
    let mut end = at + 2;
    while text.digit(end).is_some() {
        end += 1;
    }
    Some((at + 1, end))
}

/// How an offset is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OffsetStyle {
    /// Right after the seconds of an ISO time: `+05:30`, `+0530` or `+05`.
    Attached,
    /// After a space: `+0530` or `+05:30`, and no digit after (Apache, git).
    Spaced,
}

/// An offset at `at` (the sign): seconds east of UTC and where it ends; `Ok(None)` when there
/// is no offset of this style there, an error when it is shaped like one but out of range.
fn offset(text: &mut Text, at: usize, style: OffsetStyle) -> Result<Option<(i32, usize)>, Fail> {
    let sign = match text.at(at) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Ok(None),
    };
    let Some(hours) = text.two(at + 1) else {
        return Ok(None);
    };
    let (minutes, end) = if text.at(at + 3) == Some(b':')
        && let Some(minutes) = text.two(at + 4)
    {
        (minutes, at + 6)
    } else if let Some(minutes) = text.two(at + 3) {
        (minutes, at + 5)
    } else if style == OffsetStyle::Attached {
        (0, at + 3)
    } else {
        return Ok(None);
    };
    if style == OffsetStyle::Spaced && text.digit(end).is_some() {
        return Ok(None);
    }
    if hours > 23 || minutes > 59 {
        return Err(Fail::Value {
            end,
            what: Bad::Offset,
        });
    }
    Ok(Some((sign * (hours * 3600 + minutes * 60) as i32, end)))
}

/// Checks a dated stamp's values.
#[inline]
fn checked(
    (start, end): (usize, usize),
    stamp: Stamp,
    clock_valid: bool,
    fraction: Option<(usize, usize)>,
) -> Result<Read, Fail> {
    let year = stamp.year.unwrap_or(2000);
    if !(1..=12).contains(&stamp.month) || stamp.day == 0 || stamp.day > days_in_month(year, stamp.month) {
        return Err(Fail::Value { end, what: Bad::Date });
    }
    if !clock_valid {
        return Err(Fail::Value {
            end,
            what: Bad::Clock,
        });
    }
    Ok(Read {
        start,
        end,
        stamp,
        fraction,
    })
}

/// RFC 3339 / ISO 8601 at `at`: `2026-03-10T14:05:09`, a `t` or a space for the `T`, optional
/// fractional seconds, then `Z`, an offset attached (`+05:30`, `-0700`, `+05`) or after a space
/// (`+0100`, as git writes it), or no zone at all.
pub(super) fn iso(text: &mut Text, at: usize) -> Result<Read, Fail> {
    let bytes = text.fixed::<19>(at)?;
    let year = four_digits(&bytes[..4])?;
    if bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return Err(Fail::Shape);
    }
    let (month, day) = (two_digits(&bytes[5..7])?, two_digits(&bytes[8..10])?);
    let (clock, clock_valid) = clock(&bytes[11..])?;
    let fraction = fraction(text, at + 19);
    let mut end = fraction.map_or(at + 19, |(_, end)| end);
    let offset = match text.at(end) {
        Some(b'Z' | b'z') => {
            end += 1;
            Some(0)
        }
        Some(b'+' | b'-') => offset(text, end, OffsetStyle::Attached)?.map(|(offset, after)| {
            end = after;
            offset
        }),
        // After a space an offset is a guess: a number out of range is just not one.
        Some(b' ') => offset(text, end + 1, OffsetStyle::Spaced)
            .ok()
            .flatten()
            .map(|(offset, after)| {
                end = after;
                offset
            }),
        _ => None,
    };
    let stamp = Stamp {
        year: Some(i64::from(year)),
        month,
        day,
        clock,
        offset,
    };
    checked((at, end), stamp, clock_valid, fraction)
}

/// Apache's common log format at `at`: `10/Oct/2000:13:55:36 -0700`, in brackets or not (the
/// closing bracket is taken when there is an opening one). The offset is required.
pub(super) fn clf(text: &mut Text, at: usize) -> Result<Read, Fail> {
    let bracket = text.at(at) == Some(b'[');
    let from = at + usize::from(bracket);
    let bytes = text.fixed::<21>(from)?;
    if bytes[2] != b'/' || bytes[6] != b'/' || bytes[11] != b':' || bytes[20] != b' ' {
        return Err(Fail::Shape);
    }
    let day = two_digits(&bytes[..2])?;
    let month = month_number(&bytes[3..6]).ok_or(Fail::Shape)?;
    let year = four_digits(&bytes[7..11])?;
    let (clock, clock_valid) = clock(&bytes[12..20])?;
    let (offset, mut end) = offset(text, from + 21, OffsetStyle::Spaced)?.ok_or(Fail::Shape)?;
    if bracket && text.at(end) == Some(b']') {
        end += 1;
    }
    let stamp = Stamp {
        year: Some(i64::from(year)),
        month,
        day,
        clock,
        offset: Some(offset),
    };
    checked((at, end), stamp, clock_valid, None)
}

/// Syslog (RFC 3164) at `at`: `Mar 10 14:05:09`, the day padded with a space (`Mar  1`) or not
/// (`Mar 1`), optional fractional seconds. No year and no zone.
pub(super) fn syslog(text: &mut Text, at: usize) -> Result<Read, Fail> {
    let bytes = text.fixed::<6>(at)?;
    let month = month_number(bytes).ok_or(Fail::Shape)?;
    if bytes[3] != b' ' {
        return Err(Fail::Shape);
    }
    let (day, after_day) = match (bytes[4], bytes[5]) {
        (b' ', b'0'..=b'9') => (u32::from(bytes[5] - b'0'), at + 6),
        (b'0'..=b'9', b' ') => (u32::from(bytes[4] - b'0'), at + 5),
        _ => (two_digits(&bytes[4..6])?, at + 6),
    };
    let bytes = text.fixed::<9>(after_day)?;
    if bytes[0] != b' ' {
        return Err(Fail::Shape);
    }
    let (clock, clock_valid) = clock(&bytes[1..])?;
    let fraction = fraction(text, after_day + 9);
    let end = fraction.map_or(after_day + 9, |(_, end)| end);
    let stamp = Stamp {
        year: None,
        month,
        day,
        clock,
        offset: None,
    };
    checked((at, end), stamp, clock_valid, fraction)
}

/// Any of the forms, at the start of a field: the form is told by the first bytes. An ISO time
/// may be in brackets too (`[2026-03-10 14:05:09]`).
pub(super) fn any(text: &mut Text, at: usize) -> Result<Read, Fail> {
    match text.at(at) {
        Some(b'[') => match text.at(at + 1) {
            Some(b'0'..=b'9') if text.at(at + 3) == Some(b'/') => clf(text, at),
            Some(b'0'..=b'9') => iso(text, at + 1),
            _ => Err(Fail::Shape),
        },
        Some(b'0'..=b'9') if text.at(at + 2) == Some(b'/') => clf(text, at),
        Some(b'0'..=b'9') => iso(text, at),
        Some(b'A'..=b'Z') => syslog(text, at),
        _ => Err(Fail::Shape),
    }
}

/// Unix seconds (or milliseconds, with `millis`) at `at`: an optional `-`, digits, an optional
/// fraction; floored to whole seconds. Times beyond jiff's years -9999..=9999 are out of range.
pub(super) fn epoch(text: &mut Text, at: usize, millis: bool) -> Result<(i64, usize), Fail> {
    let negative = text.at(at) == Some(b'-');
    let first = at + usize::from(negative);
    let mut end = first;
    let mut magnitude: u64 = 0;
    while let Some(digit) = text.digit(end) {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(digit)))
            .ok_or(Fail::Shape)?;
        end += 1;
    }
    if end == first {
        return Err(Fail::Shape);
    }
    let mut fractional = false;
    if text.at(end) == Some(b'.') && text.digit(end + 1).is_some() {
        end += 1;
        while let Some(digit) = text.digit(end) {
            fractional |= digit != 0;
            end += 1;
        }
    }
    // -1.5 floors to -2: a negative number with a fraction is one more unit down.
    if negative && fractional {
        magnitude = magnitude.checked_add(1).ok_or(Fail::Shape)?;
    }
    let value = i64::try_from(magnitude).map_err(|_| Fail::Value {
        end,
        what: Bad::Range,
    })?;
    let value = if negative { -value } else { value };
    let seconds = if millis { value.div_euclid(1000) } else { value };
    if !(EARLIEST..=LATEST).contains(&seconds) {
        return Err(Fail::Value {
            end,
            what: Bad::Range,
        });
    }
    Ok((seconds, end))
}

/// The range of jiff's timestamps (about -9999-01-02 to 9999-12-30 in UTC), so that whatever a
/// reader gives, jiff can work with.
pub(super) const EARLIEST: i64 = -377_705_023_201;
pub(super) const LATEST: i64 = 253_402_207_200;

/// Which fixed form a place in a line may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Form {
    Clf,
    Iso,
    Syslog,
}

/// Where the first colon of `HH:MM:SS` is in each form (from the start of its text): 13 bytes
/// into `2026-03-10T14:05:09`, 12 into `[10/Oct/2000:13:55:36`, 9 into `Mar 10 14:05:09` and
/// 8 into `Mar 1 14:05:09`; in order of the start of the text, for a given colon.
const FIRST_COLON: [(usize, Form); 4] = [
    (13, Form::Iso),
    (12, Form::Clf),
    (9, Form::Syslog),
    (8, Form::Syslog),
];

/// Offers `read` each place of `line` where a fixed form may start, in order of position, and
/// returns the first time it reads. Every form has a colon at a fixed distance from its start and
/// none before it, so the places are found from the colons, which memchr finds many bytes at a
/// time: `[` and a digit, 12 bytes before a colon; four digits and `-` (not after a letter or
/// digit) 13 bytes before; a month abbreviation and a space (not after a letter or digit) 9 or
/// 8 bytes before. Places come in order because no form's text can start inside another's first
/// bytes: whatever the next colon offers starts after any time the ones before it could.
#[inline]
pub(super) fn scan<T>(line: &[u8], mut read: impl FnMut(usize, Form) -> Option<T>) -> Option<T> {
    for colon in memchr::memchr_iter(b':', line) {
        for (distance, form) in FIRST_COLON {
            let Some(at) = colon.checked_sub(distance) else {
                continue;
            };
            if announces(line, at, form)
                && let Some(found) = read(at, form)
            {
                return Some(found);
            }
        }
    }
    None
}

/// Whether `line` at `at` starts like `form` (and not within a word or a number).
#[inline]
fn announces(line: &[u8], at: usize, form: Form) -> bool {
    let word_start = at == 0 || !line[at - 1].is_ascii_alphanumeric();
    match form {
        Form::Clf => line[at] == b'[' && line[at + 1].is_ascii_digit(),
        Form::Iso => line[at + 4] == b'-' && line[at..at + 4].iter().all(u8::is_ascii_digit) && word_start,
        Form::Syslog => line[at + 3] == b' ' && month_number(&line[at..]).is_some() && word_start,
    }
}

/// Reads the form `form` at `at`.
#[inline]
pub(super) fn read_form(text: &mut Text, at: usize, form: Form) -> Result<Read, Fail> {
    match form {
        Form::Clf => clf(text, at),
        Form::Iso => iso(text, at),
        Form::Syslog => syslog(text, at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of the readers of a form.
    type Reader = fn(&mut Text, usize) -> Result<Read, Fail>;

    /// Reads `text` with `reader` from its start: the stamp, the text read, and the bytes seen.
    fn read_with(reader: Reader, text: &str) -> Result<(Stamp, &str, usize), Fail> {
        let mut t = Text::new(text.as_bytes());
        let read = reader(&mut t, 0)?;
        Ok((read.stamp, &text[read.start..read.end], t.seen))
    }

    fn stamp(ymd: (i64, u32, u32), hms: (u32, u32, u32), offset: Option<i32>) -> Stamp {
        Stamp {
            year: Some(ymd.0),
            month: ymd.1,
            day: ymd.2,
            clock: hms.0 * 3600 + hms.1 * 60 + hms.2,
            offset,
        }
    }

    #[test]
    fn iso_variants() {
        let at_five = stamp((2026, 3, 10), (14, 5, 9), Some(0));
        // The text read is in braces.
        for (marked, offset) in [
            ("{2026-03-10T14:05:09Z}", Some(0)),
            ("{2026-03-10t14:05:09z} x", Some(0)),
            ("{2026-03-10 14:05:09.123Z}", Some(0)),
            ("{2026-03-10T14:05:09.123456789123+05:30}", Some(19_800)),
            ("{2026-03-10T14:05:09,5-0700} y", Some(-25_200)),
            ("{2026-03-10T14:05:09+05}]", Some(18_000)),
            ("{2026-03-10T14:05:09+0000}", Some(0)),
            ("{2026-03-10 14:05:09 +0100} commit", Some(3600)),
            ("{2026-03-10 14:05:09 -07:00}", Some(-25_200)),
            ("{2026-03-10 14:05:09}", None),
            ("{2026-03-10 14:05:09} INFO", None),
            ("{2026-03-10 14:05:09} -12345", None),
            ("{2026-03-10 14:05:09} - x", None),
            ("{2026-03-10T14:05:09}. ", None),
            ("{2026-03-10T14:05:09}-x", None),
        ] {
            let text = marked.replace(['{', '}'], "");
            let (got, got_read, _) = read_with(iso, &text).unwrap();
            assert_eq!(got, Stamp { offset, ..at_five }, "{marked}");
            assert_eq!(got_read, &marked[1..marked.find('}').unwrap()], "{marked}");
        }
    }

    #[test]
    fn impossible_values_are_not_times() {
        let value = |reader: Reader, text: &str| match read_with(reader, text) {
            Err(Fail::Value { what, .. }) => Some(what),
            _ => None,
        };
        let (iso_, clf_, syslog_): (Reader, Reader, Reader) = (iso, clf, syslog);
        for (reader, text, what) in [
            (iso_, "2026-02-30T00:00:00Z", Bad::Date),
            (iso_, "2026-02-29T00:00:00Z", Bad::Date),
            (iso_, "2026-13-01T00:00:00Z", Bad::Date),
            (iso_, "2026-00-01T00:00:00Z", Bad::Date),
            (iso_, "2026-01-00T00:00:00Z", Bad::Date),
            (iso_, "2026-03-10T24:00:00Z", Bad::Clock),
            (iso_, "2026-03-10T23:60:00Z", Bad::Clock),
            (iso_, "2026-03-10T23:59:61Z", Bad::Clock),
            (iso_, "2026-03-10T23:59:00+24:00", Bad::Offset),
            (iso_, "2026-03-10T23:59:00+05:60", Bad::Offset),
            (clf_, "[30/Feb/2026:00:00:00 +0000]", Bad::Date),
            (clf_, "10/Oct/2000:24:00:00 +0000", Bad::Clock),
            (syslog_, "Feb 30 00:00:00", Bad::Date),
            (syslog_, "Feb 29 24:00:00", Bad::Clock),
        ] {
            assert_eq!(value(reader, text), Some(what), "{text}");
        }
        assert!(read_with(iso, "2024-02-29T00:00:00Z").is_ok());
        // A leap second is the second before it.
        let (leap, _, _) = read_with(iso, "2016-12-31T23:59:60Z").unwrap();
        assert_eq!(leap.clock, 86_399);
        for shapeless in [
            "",
            "2026",
            "2026-03-10",
            "2026-03-10T14:05",
            "2026-3-10T14:05:09Z",
            "2026-03-10X14:05:09",
        ] {
            assert_eq!(read_with(iso, shapeless), Err(Fail::Shape), "{shapeless}");
        }
        assert_eq!(read_with(clf, "[10/Foo/2000:13:55:36 -0700]"), Err(Fail::Shape));
        assert_eq!(read_with(clf, "[10/Oct/2000:13:55:36]"), Err(Fail::Shape));
        assert_eq!(read_with(clf, "[10/oct/2000:13:55:36 -0700]"), Err(Fail::Shape));
        assert_eq!(read_with(syslog, "Foo 10 14:05:09"), Err(Fail::Shape));
        assert_eq!(read_with(syslog, "Mar 10 14:05"), Err(Fail::Shape));
    }

    #[test]
    fn clf_with_and_without_brackets() {
        let expected = stamp((2000, 10, 10), (13, 55, 36), Some(-25_200));
        let (got, text, seen) = read_with(clf, "[10/Oct/2000:13:55:36 -0700] \"GET /\"").unwrap();
        assert_eq!((got, text, seen), (expected, "[10/Oct/2000:13:55:36 -0700]", 28));
        let (got, text, _) = read_with(clf, "10/Oct/2000:13:55:36 -0700 x").unwrap();
        assert_eq!((got, text), (expected, "10/Oct/2000:13:55:36 -0700"));
        let (got, _, _) = read_with(clf, "[01/Jan/2026:00:00:00 +0530]").unwrap();
        assert_eq!(got, stamp((2026, 1, 1), (0, 0, 0), Some(19_800)));
        let (got, _, _) = read_with(clf, "[01/Jan/2026:00:00:00 +00:00]").unwrap();
        assert_eq!(got.offset, Some(0));
    }

    #[test]
    fn syslog_days_padded_or_not() {
        for (text, day, read) in [
            ("Mar 10 14:05:09 host", 10, "Mar 10 14:05:09"),
            ("Mar  1 04:05:09 host", 1, "Mar  1 04:05:09"),
            ("Mar 1 04:05:09 host", 1, "Mar 1 04:05:09"),
            ("Mar 01 04:05:09.250 host", 1, "Mar 01 04:05:09.250"),
        ] {
            let (got, got_read, _) = read_with(syslog, text).unwrap();
            assert_eq!(
                (got.year, got.month, got.day, got.offset),
                (None, 3, day, None),
                "{text}"
            );
            assert_eq!(got_read, read);
        }
        assert!(read_with(syslog, "Feb 29 00:00:00").is_ok());
    }

    #[test]
    fn any_form_at_a_field() {
        for (text, month) in [
            ("[10/Oct/2000:13:55:36 -0700]", 10),
            ("10/Oct/2000:13:55:36 -0700", 10),
            ("[2026-03-10 14:05:09] INFO", 3),
            ("2026-03-10T14:05:09Z", 3),
            ("Mar 10 14:05:09", 3),
        ] {
            assert_eq!(read_with(any, text).unwrap().0.month, month, "{text}");
        }
        for text in ["", "foo", "-", "[x", "mar 10 14:05:09"] {
            assert_eq!(read_with(any, text), Err(Fail::Shape), "{text}");
        }
    }

    #[test]
    fn seen_counts_what_decided_the_reading() {
        // The byte after the seconds decides that there is no fraction or zone.
        assert_eq!(read_with(iso, "2026-03-10T14:05:09 GET /a").unwrap().2, 21);
        assert_eq!(read_with(iso, "2026-03-10T14:05:09Z GET").unwrap().2, 20);
        // The end of the text was looked for.
        assert_eq!(read_with(iso, "2026-03-10T14:05:09").unwrap().2, 20);
        assert_eq!(read_with(iso, "2026-03-10 14:05:09 +0100 x").unwrap().2, 26);
        assert_eq!(read_with(syslog, "Mar 10 14:05:09 host").unwrap().2, 16);
    }

    fn epoch_of(text: &str, millis: bool) -> Result<(i64, usize), Fail> {
        epoch(&mut Text::new(text.as_bytes()), 0, millis)
    }

    #[test]
    fn epoch_numbers_floor() {
        assert_eq!(epoch_of("1700000000", false), Ok((1_700_000_000, 10)));
        assert_eq!(epoch_of("1700000000.25 x", false), Ok((1_700_000_000, 13)));
        assert_eq!(epoch_of("1700000000. x", false), Ok((1_700_000_000, 10)));
        assert_eq!(epoch_of("-1", false), Ok((-1, 2)));
        assert_eq!(epoch_of("-1.5", false), Ok((-2, 4)));
        assert_eq!(epoch_of("-1.000", false), Ok((-1, 6)));
        assert_eq!(epoch_of("0.9", false), Ok((0, 3)));
        assert_eq!(epoch_of("-0.1", false), Ok((-1, 4)));
        assert_eq!(epoch_of("1700000000123", true), Ok((1_700_000_000, 13)));
        assert_eq!(epoch_of("-1", true), Ok((-1, 2)));
        assert_eq!(epoch_of("-1000", true), Ok((-1, 5)));
        assert_eq!(epoch_of("-1001", true), Ok((-2, 5)));
        assert_eq!(epoch_of("-1000.5", true), Ok((-2, 7)));
        assert_eq!(epoch_of("999.9", true), Ok((0, 5)));
        assert_eq!(epoch_of("", false), Err(Fail::Shape));
        assert_eq!(epoch_of("-", false), Err(Fail::Shape));
        assert_eq!(epoch_of("x1", false), Err(Fail::Shape));
        assert_eq!(epoch_of("99999999999999999999", false), Err(Fail::Shape));
        assert!(matches!(
            epoch_of("9223372036854775807", false),
            Err(Fail::Value { what: Bad::Range, .. })
        ));
        assert!(matches!(epoch_of("253402207201", false), Err(Fail::Value { .. })));
        assert_eq!(epoch_of("253402207200", false), Ok((LATEST, 12)));
        assert_eq!(epoch_of("253402207200999", true), Ok((LATEST, 15)));
        assert_eq!(epoch_of("-377705023201", false), Ok((EARLIEST, 13)));
        assert_eq!(EARLIEST, jiff::Timestamp::MIN.as_second());
        assert_eq!(LATEST, jiff::Timestamp::MAX.as_second());
    }

    /// The places `scan` offers in `line`.
    fn places(line: &str) -> Vec<(usize, Form)> {
        let mut offered = Vec::new();
        let _ = scan(line.as_bytes(), |at, form| {
            offered.push((at, form));
            None::<()>
        });
        offered
    }

    #[test]
    fn scan_offers_places_in_order() {
        assert_eq!(
            places("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /\""),
            [(12, Form::Clf)]
        );
        assert_eq!(
            places("[2026-03-10 14:05:09] Mar 10 14:05:09"),
            [(1, Form::Iso), (22, Form::Syslog)]
        );
        assert_eq!(places("<34>1 2003-10-11T22:14:15.003Z host"), [(6, Form::Iso)]);
        // Not inside words or numbers.
        assert_eq!(
            places("12026-03-10T14:05:09Z x2026-03-10T14:05:09Z xMar 10 14:05:09 Octo 1 14:05:09"),
            []
        );
        assert_eq!(places("Mar 10 14:05:09"), [(0, Form::Syslog)]);
        assert_eq!(places("Mar 1 14:05:09"), [(0, Form::Syslog)]);
        assert_eq!(places("http://x:80/ {\"a\":1}"), []);
        assert_eq!(places(""), []);
        // The first time read wins.
        let line = b"2026-02-30T00:00:00Z 2026-03-01T00:00:00Z";
        let found = scan(line, |at, form| {
            read_form(&mut Text::new(&line[..]), at, form).ok()
        });
        assert_eq!(found.map(|read| read.start), Some(21));
    }

    /// The first time in `line` found the slow way: every form at every position.
    fn first_time_naively(line: &[u8]) -> Option<Read> {
        (0..line.len()).find_map(|at| {
            let word_start = at == 0 || !line[at - 1].is_ascii_alphanumeric();
            [Form::Clf, Form::Iso, Form::Syslog].into_iter().find_map(|form| {
                let starts = match form {
                    Form::Clf => line[at] == b'[',
                    Form::Iso | Form::Syslog => word_start,
                };
                starts
                    .then(|| read_form(&mut Text::new(line), at, form).ok())
                    .flatten()
            })
        })
    }

    #[test]
    fn scan_finds_the_first_time_like_trying_every_position() {
        // Lines of pieces of times, run together or apart, whole or cut short.
        let pieces: [&[u8]; 14] = [
            b"[10/Oct/2000:13:55:36 -0700]",
            b"10/Oct/2000:13:55:36 +0000",
            b"2026-03-10T14:05:09Z",
            b"2026-03-10 14:05:09",
            b"2026-02-30 14:05:09",
            b"Mar 10 14:05:09",
            b"Mar  1 04:05:09",
            b"Feb 1 04:05:09",
            b"Dec 31 24:00:00",
            b"12:34:56",
            b"[",
            b":",
            b" ",
            b"x1",
        ];
        let mut rng = fastrand::Rng::with_seed(5);
        let mut line = Vec::new();
        for _ in 0..20_000 {
            line.clear();
            for _ in 0..rng.usize(1..6) {
                let piece = pieces[rng.usize(..pieces.len())];
                let cut = if rng.u8(..4) == 0 {
                    rng.usize(..=piece.len())
                } else {
                    piece.len()
                };
                line.extend_from_slice(&piece[..cut]);
                if rng.bool() {
                    line.push(b' ');
                }
            }
            let scanned = scan(&line, |at, form| read_form(&mut Text::new(&line), at, form).ok());
            assert_eq!(
                scanned,
                first_time_naively(&line),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
    }
}
