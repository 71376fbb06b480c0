//! Times in a format given with `--time-format`, read by jiff's strptime.
//!
//! jiff reads a prefix of the text, so whatever follows the time in a line is left alone. The
//! result is completed like the fixed forms: `%z` or `%Q` when given, else the zone of `--tz`;
//! a format without a year (`%b %e %H:%M:%S`) takes the syslog year rule.

use jiff::fmt::strtime::BrokenDownTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, civil};

use super::calendar::{DAY, days_from_civil};
use super::forms::{Bad, Fail};
use super::resolve::Resolver;

/// How many bytes after the text jiff reads in `format` may have decided the reading. A number's
/// digits stop at the first byte that is not one, a run of whitespace at the first that is not
/// whitespace, a name is matched whole: one byte. An offset without colons (`%z`, and `%Q` when
/// it reads one) looks at the two bytes after its minutes for seconds: two bytes, when the format
/// may have one. One byte suffices for the common `%S` followed by milliseconds the format does
/// not read, so that such lines within a second share a reading.
pub(super) fn lookahead(format: &str) -> usize {
    if format.contains(['z', 'Q']) { 2 } else { 1 }
}

/// Checks `format` once, up front: jiff writes a sample time with it and reads it back, and the
/// result must be an instant. The message (one line) says what is wrong.
pub(super) fn validate(format: &str) -> Result<(), String> {
    if format.is_empty() {
        return Err("the format is empty".to_string());
    }
    let sample = civil::date(2026, 3, 10)
        .at(14, 5, 9, 123_456_789)
        .to_zoned_datetime(TimeZone::UTC)
        .map_err(|e| one_line(&e))?;
    let text = BrokenDownTime::from(&sample)
        .to_string(format)
        .map_err(|e| one_line(&e))?;
    let (parsed, _) = BrokenDownTime::parse_prefix(format, &text).map_err(|e| {
        format!(
            "{text:?}, a time written with it, cannot be read back: {}",
            one_line(&e)
        )
    })?;
    let mut resolver = Resolver::new(TimeZone::UTC, sample.timestamp().as_second());
    match seconds(&parsed, &mut resolver) {
        Ok(_) => Ok(()),
        Err(_) => Err(
            "it gives no date: it needs a year, month and day (%Y-%m-%d, %F), a month and day \
                       (%b %e), or %s"
                .to_string(),
        ),
    }
}

/// jiff's error as one line.
fn one_line(error: &jiff::Error) -> String {
    error.to_string().replace('\n', " ")
}

/// Reads `text` from its start in `format`: the Unix seconds (floored) and where the time ends.
pub(super) fn read(format: &str, text: &[u8], resolver: &mut Resolver) -> Result<(i64, usize), Fail> {
    let (parsed, end) = BrokenDownTime::parse_prefix(format, text).map_err(|_| Fail::Shape)?;
    match seconds(&parsed, resolver) {
        Ok(seconds) => Ok((seconds, end)),
        Err(what) => Err(Fail::Value { end, what }),
    }
}

/// Why `text` does not read in `format`, in jiff's words, for `--explain`.
pub(super) fn why_not(format: &str, text: &[u8]) -> String {
    match BrokenDownTime::parse_prefix(format, text) {
        Err(e) => one_line(&e),
        Ok((parsed, _)) => match parsed.to_datetime() {
            Err(e) => one_line(&e),
            Ok(_) => Bad::Range.describe().to_string(),
        },
    }
}

/// The Unix seconds of what was parsed: `%s` when given; else with `%Q` or `%z` when given;
/// else in the zone. Without a year but with a month and a day, the syslog year rule applies.
fn seconds(parsed: &BrokenDownTime, resolver: &mut Resolver) -> Result<i64, Bad> {
    if let Some(timestamp) = parsed.timestamp() {
        return Ok(floored(timestamp));
    }
    if parsed.iana_time_zone().is_some() {
        let zoned = parsed.to_zoned_datetime().map_err(|_| Bad::Date)?;
        return Ok(floored(zoned.timestamp()));
    }
    let offset = parsed.offset().map(|offset| offset.seconds());
    if parsed.year().is_none()
        && let (Some(month), Some(day)) = (parsed.month(), parsed.day())
    {
        let clock = clock(parsed)?;
        // Both are in range: jiff checked them when it read them.
        let (month, day) = (month as u32, day as u32);
        return resolver.yearless(month, day, clock, offset).ok_or(Bad::Date);
    }
    let datetime = parsed.to_datetime().map_err(|_| Bad::Date)?;
    let days = days_from_civil(
        i64::from(datetime.year()),
        datetime.month() as u32,
        datetime.day() as u32,
    );
    let local = days * DAY + i64::from(clock(parsed)?);
    resolver.local(local, offset).ok_or(Bad::Range)
}

/// Seconds since midnight of what was parsed (midnight when no hour was).
fn clock(parsed: &BrokenDownTime) -> Result<u32, Bad> {
    let time = parsed.to_time().map_err(|_| Bad::Clock)?;
    Ok(time.hour() as u32 * 3600 + time.minute() as u32 * 60 + time.second() as u32)
}

/// Whole seconds of `timestamp`, floored: jiff keeps a negative time's fraction negative.
fn floored(timestamp: Timestamp) -> i64 {
    timestamp.as_second() - i64::from(timestamp.subsec_nanosecond() < 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    fn read_in(format: &str, text: &str, zone: &str, reference: &str) -> Result<(i64, usize), Fail> {
        let mut resolver = Resolver::new(TimeZone::get(zone).unwrap(), utc(reference));
        read(format, text.as_bytes(), &mut resolver)
    }

    #[test]
    fn formats_with_offsets_zones_and_none() {
        let ref_ = "2026-06-01T00:00:00Z";
        let at = |format, text| read_in(format, text, "Europe/Berlin", ref_).map(|(s, _)| s);
        assert_eq!(
            at("%Y-%m-%d %H:%M:%S %z", "2026-03-10 14:05:09 -0700 x"),
            Ok(utc("2026-03-10T21:05:09Z"))
        );
        assert_eq!(
            at("%d/%b/%Y:%H:%M:%S %z", "10/Oct/2000:13:55:36 -0700]"),
            Ok(utc("2000-10-10T20:55:36Z"))
        );
        assert_eq!(
            at("%Y-%m-%d %H:%M:%S", "2026-03-10 14:05:09"),
            Ok(utc("2026-03-10T13:05:09Z"))
        );
        assert_eq!(
            at("%Y-%m-%dT%H:%M:%S%.f", "2026-07-10T14:05:09.999"),
            Ok(utc("2026-07-10T12:05:09Z"))
        );
        assert_eq!(
            at("%Y-%m-%d %H:%M:%S %Q", "2026-03-10 14:05:09 Asia/Tokyo"),
            Ok(utc("2026-03-10T05:05:09Z"))
        );
        assert_eq!(at("%s", "1700000000 x"), Ok(1_700_000_000));
        assert_eq!(at("%Y%m%d", "20260310"), Ok(utc("2026-03-09T23:00:00Z")));
        // No year: the syslog rule.
        assert_eq!(
            at("%b %e %H:%M:%S", "Dec 31 23:59:59"),
            Ok(utc("2025-12-31T22:59:59Z"))
        );
        assert_eq!(
            at("%b %e %H:%M:%S", "Mar  1 04:05:09"),
            Ok(utc("2026-03-01T03:05:09Z"))
        );
        // Across the autumn change in Berlin, the first 02:30 is taken.
        assert_eq!(
            at("%Y-%m-%d %H:%M", "2026-10-25 02:30"),
            Ok(utc("2026-10-25T00:30:00Z"))
        );
        // Negative fractions floor.
        assert_eq!(at("%Y-%m-%d %H:%M:%S%.f%z", "1969-12-31 23:59:59.5+0000"), Ok(-1));
        assert_eq!(
            read_in("%Y-%m-%d", "2026-03-10 rest", "UTC", ref_),
            Ok((utc("2026-03-10T00:00:00Z"), 10))
        );
    }

    #[test]
    fn what_jiff_looks_at_after_the_time() {
        assert_eq!(lookahead("%Y-%m-%d %H:%M:%S"), 1);
        assert_eq!(lookahead("%d/%b/%Y:%H:%M:%S %z"), 2);
        assert_eq!(lookahead("%F %T %Q"), 2);
        // An offset without colons takes seconds when two digits follow: the two after its
        // minutes decide where it ends.
        let mut resolver = Resolver::new(TimeZone::UTC, 0);
        let mut end = |text: &str| read("%F %H:%M %z", text.as_bytes(), &mut resolver).map(|(_, end)| end);
        assert_eq!(end("2026-03-10 00:00 +010030"), Ok(24));
        assert_eq!(end("2026-03-10 00:00 +01003x"), Ok(22));
        assert_eq!(end("2026-03-10 00:00 +0100 3"), Ok(22));
    }

    #[test]
    fn texts_that_do_not_read() {
        let ref_ = "2026-06-01T00:00:00Z";
        assert_eq!(read_in("%Y-%m-%d", "x2026-03-10", "UTC", ref_), Err(Fail::Shape));
        assert!(matches!(
            read_in("%Y-%m-%d", "2026-02-30", "UTC", ref_),
            Err(Fail::Value { .. })
        ));
        assert_eq!(read_in("%H:%M:%S", "24:00:00", "UTC", ref_), Err(Fail::Shape));
        assert!(why_not("%Y-%m-%d", b"2026-02-30").contains("day"));
        assert!(!why_not("%Y-%m-%d", b"x").is_empty());
    }

    #[test]
    fn validation_names_the_problem() {
        for good in [
            "%Y-%m-%d %H:%M:%S",
            "%d/%b/%Y:%H:%M:%S %z",
            "%b %e %H:%M:%S",
            "%s",
            "%F",
            "%FT%T%.f%:z",
            "%Q %F %T",
        ] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("%H:%M:%S", "no date"),
            ("hello", "no date"),
            ("%Y-%m-%d %Z", "cannot be read back"),
            ("%Y-%K", "K"),
            ("%Y-%m-%", "%"),
        ] {
            let message = validate(bad).unwrap_err();
            assert!(message.contains(says), "{bad}: {message}");
            assert!(!message.contains('\n'), "{bad}: {message}");
        }
    }
}
