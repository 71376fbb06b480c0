//! `TimeReader` as the workers and `--explain` use it: every source, format and form, the reuse
//! of the last reading, and random times written by jiff and read back.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::fmt::strtime::BrokenDownTime;
use jiff::tz::{self, TimeZone};

use super::*;

fn utc(text: &str) -> i64 {
    text.parse::<Timestamp>().unwrap().as_second()
}

fn spec(source: TimeSource, format: TimeFormat, zone: &str) -> TimeSpec {
    TimeSpec {
        source,
        format,
        zone: TimeZone::get(zone).unwrap(),
    }
}

fn reader(source: TimeSource, format: TimeFormat, zone: &str) -> TimeReader {
    TimeReader::new(&spec(source, format, zone))
}

/// A reader of the automatic forms anywhere in the line, in `zone`.
fn auto(zone: &str) -> TimeReader {
    reader(TimeSource::Auto, TimeFormat::Auto, zone)
}

fn strftime(format: &str) -> TimeFormat {
    TimeFormat::parse(format).unwrap()
}

fn regex(pattern: &str, group: usize) -> TimeSource {
    TimeSource::Regex {
        regex: Regex::new(pattern).unwrap(),
        group,
    }
}

/// The text `explain` finds in `line`, and its seconds.
fn found<'a>(reader: &mut TimeReader, line: &'a str) -> Option<(&'a str, i64)> {
    let (range, seconds) = reader.explain(line.as_bytes()).ok()?;
    assert_eq!(reader.seconds(line.as_bytes()), Some(seconds), "{line}");
    Some((&line[range], seconds))
}

/// Checks that `reader` finds in `marked` (a line with its time text in braces) that text, and
/// that it is the instant `expected`.
fn finds(reader: &mut TimeReader, marked: &str, expected: &str) {
    let line = marked.replace(['{', '}'], "");
    let (start, end) = (marked.find('{').unwrap(), marked.find('}').unwrap() - 1);
    assert_eq!(
        found(reader, &line),
        Some((&line[start..end], utc(expected))),
        "{marked}"
    );
}

const CLF_LINE: &str = r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326"#;

#[test]
fn apache_times_anywhere_or_at_their_field() {
    let expected = Some(("[10/Oct/2000:13:55:36 -0700]", utc("2000-10-10T20:55:36Z")));
    assert_eq!(found(&mut auto("UTC"), CLF_LINE), expected);
    // Field 4 is `[10/Oct/2000:13:55:36`: the time runs on into field 5.
    let mut field = reader(TimeSource::Field(4), TimeFormat::Auto, "UTC");
    assert_eq!(found(&mut field, CLF_LINE), expected);
    let mut field = reader(TimeSource::Field(2), TimeFormat::Auto, "UTC");
    let line = "host 10/Oct/2000:13:55:36 +0530 GET";
    assert_eq!(
        found(&mut field, line),
        Some(("10/Oct/2000:13:55:36 +0530", utc("2000-10-10T08:25:36Z")))
    );
    let line = "x [01/Jan/2026:00:00:00 +0000] y";
    assert_eq!(
        found(&mut auto("Europe/Berlin"), line).map(|f| f.1),
        Some(utc("2026-01-01T00:00:00Z"))
    );
}

#[test]
fn iso_times_and_their_variants() {
    let mut berlin = auto("Europe/Berlin");
    for (marked, expected) in [
        ("{2026-03-10T14:05:09.123Z} INFO", "2026-03-10T14:05:09Z"),
        ("at {2026-03-10T14:05:09+05:30} x", "2026-03-10T08:35:09Z"),
        ("{2026-03-10T14:05:09-0700}", "2026-03-10T21:05:09Z"),
        ("{2026-03-10 14:05:09+0000}", "2026-03-10T14:05:09Z"),
        ("{2026-03-10 14:05:09.999999999999Z}", "2026-03-10T14:05:09Z"),
        ("[{2026-03-10 14:05:09,250}] WARN", "2026-03-10T13:05:09Z"),
        ("{2026-03-10 14:05:09 +0100} fix", "2026-03-10T13:05:09Z"),
        (
            "<34>1 {2003-10-11T22:14:15.003Z} mymachine su - ID47",
            "2003-10-11T22:14:15Z",
        ),
        (
            "<165>1 {2003-08-24T05:14:15.000003-07:00} host",
            "2003-08-24T12:14:15Z",
        ),
    ] {
        finds(&mut berlin, marked, expected);
    }
}

#[test]
fn zoneless_times_in_berlin_across_both_changes_of_2026() {
    let mut berlin = auto("Europe/Berlin");
    let at = |reader: &mut TimeReader, line: &str| reader.seconds(line.as_bytes());
    for (line, expected) in [
        ("2026-03-29 01:59:59 a", "2026-03-29T00:59:59Z"),
        // Skipped by the change to summer time: moved forward by the hour skipped.
        ("2026-03-29 02:30:00 b", "2026-03-29T01:30:00Z"),
        ("2026-03-29 03:00:00 c", "2026-03-29T01:00:00Z"),
        ("2026-10-25 01:59:59 d", "2026-10-24T23:59:59Z"),
        // Twice when clocks go back: the first.
        ("2026-10-25 02:00:00 e", "2026-10-25T00:00:00Z"),
        ("2026-10-25 02:59:59 f", "2026-10-25T00:59:59Z"),
        ("2026-10-25 03:00:00 g", "2026-10-25T02:00:00Z"),
        ("2026-07-01 12:00:00", "2026-07-01T10:00:00Z"),
        ("2026-12-01 12:00:00", "2026-12-01T11:00:00Z"),
    ] {
        assert_eq!(at(&mut berlin, line), Some(utc(expected)), "{line}");
    }
    // The same text in another zone.
    assert_eq!(
        at(&mut auto("UTC"), "2026-03-29 02:30:00"),
        Some(utc("2026-03-29T02:30:00Z"))
    );
    assert_eq!(
        at(&mut auto("Asia/Kolkata"), "2026-03-29 02:30:00"),
        Some(utc("2026-03-28T21:00:00Z"))
    );
}

#[test]
fn syslog_times_take_their_year_from_the_reference() {
    // One reader through references and lines in turn: a reference set applies to the lines
    // after it, even a line read just before with the same text.
    let mut reader = auto("UTC");
    for (reference, line, expected) in [
        // A file last written on New Year's morning holds last year's December.
        (
            "2027-01-01T00:10:00Z",
            "Dec 31 23:59:59 host cron[1]: done",
            "2026-12-31T23:59:59Z",
        ),
        ("", "Jan  1 00:05:00 host x", "2027-01-01T00:05:00Z"),
        ("", "Dec 31 23:59:59 host cron[1]: done", "2026-12-31T23:59:59Z"),
        // Against a reference in the December itself: that year for December, not for January.
        (
            "2026-12-31T23:59:59Z",
            "Dec 31 23:59:59 host cron[1]: done",
            "2026-12-31T23:59:59Z",
        ),
        ("", "Jan  1 00:05:00 host x", "2026-01-01T00:05:00Z"),
        (
            "2026-03-10T14:10:00Z",
            "Mar 10 14:05:09 host x",
            "2026-03-10T14:05:09Z",
        ),
        ("", "Mar  1 04:05:09 host x", "2026-03-01T04:05:09Z"),
        ("", "Mar 11 14:05:09 host x", "2026-03-11T14:05:09Z"),
        ("", "Mar 12 14:05:09 host x", "2025-03-12T14:05:09Z"),
    ] {
        if !reference.is_empty() {
            reader.set_reference(utc(reference));
        }
        assert_eq!(
            reader.seconds(line.as_bytes()),
            Some(utc(expected)),
            "{line} against {reference}"
        );
    }
    // In a zone: the clock is Berlin's. At a field: the same.
    for (mut reader, line, expected) in [
        (auto("Europe/Berlin"), "Jul 31 23:00:00 h", "2026-07-31T21:00:00Z"),
        (
            reader_at_field(1, "UTC"),
            "Mar 10 14:05:09 host",
            "2026-03-10T14:05:09Z",
        ),
    ] {
        reader.set_reference(utc("2026-08-01T00:00:00Z"));
        assert_eq!(reader.seconds(line.as_bytes()), Some(utc(expected)), "{line}");
    }
}

fn reader_at_field(n: usize, zone: &str) -> TimeReader {
    reader(TimeSource::Field(n), TimeFormat::Auto, zone)
}

#[test]
fn the_first_time_in_the_line_wins() {
    let mut reader = auto("UTC");
    reader.set_reference(utc("2026-06-01T00:00:00Z"));
    let line = "Mar 10 14:05:09 host app: request at 2026-01-01T00:00:00Z [01/Jan/2020:00:00:00 +0000]";
    assert_eq!(found(&mut reader, line).unwrap().0, "Mar 10 14:05:09");
    let line = "2026-01-01T00:00:00Z Mar 10 14:05:09";
    assert_eq!(found(&mut reader, line).unwrap().0, "2026-01-01T00:00:00Z");
    // An impossible time is passed over for a later one.
    let line = "2026-02-30T00:00:00Z then 2026-03-01T00:00:00Z";
    assert_eq!(found(&mut reader, line).unwrap().0, "2026-03-01T00:00:00Z");
}

#[test]
fn impossible_times_are_none() {
    let mut reader = auto("UTC");
    for line in [
        "2026-02-30T00:00:00Z",
        "2026-03-10T24:00:00Z",
        "2026-13-10T10:00:00Z",
        "[10/Foo/2000:13:55:36 -0700]",
        "[30/Feb/2000:13:55:36 -0700]",
        "[10/Oct/2000:13:55:36]",
        "Feb 30 10:00:00 host",
        "Foo 10 10:00:00 host",
        "no time at all",
        "",
    ] {
        assert_eq!(reader.seconds(line.as_bytes()), None, "{line}");
    }
    // Beyond the range of jiff's timestamps.
    assert_eq!(reader.seconds(b"9999-12-31T23:59:59Z"), None);
    assert_eq!(
        reader.seconds(b"9999-12-30T23:00:00+01:00"),
        Some(utc("9999-12-30T22:00:00Z"))
    );
    assert_eq!(reader.seconds(b"9999-12-30T23:00:01+01:00"), None);
    assert_eq!(
        reader.seconds(b"0000-01-01T00:00:00Z"),
        Some(utc("0000-01-01T00:00:00Z"))
    );
    let mut strftime = super::tests::reader(TimeSource::Auto, strftime("%Y-%m-%d %H:%M:%S %z"), "UTC");
    assert_eq!(strftime.seconds(b"9999-12-30 23:00:01 +0100"), None);
    assert_eq!(
        strftime.seconds(b"9999-12-30 23:00:00 +0100"),
        Some(utc("9999-12-30T22:00:00Z"))
    );
    let mut field = reader_at_field(1, "UTC");
    assert_eq!(field.seconds(b"Foo 10 10:00:00"), None);
    assert_eq!(field.seconds(b"2026-02-30 10:00:00"), None);
}

#[test]
fn bytes_that_are_not_text() {
    let mut reader = auto("UTC");
    let line = b"\xff\xfe\x00 [10/Oct/2000:13:55:36 -0700] \x00\xc3(";
    assert_eq!(reader.seconds(line), Some(utc("2000-10-10T20:55:36Z")));
    assert_eq!(
        reader.seconds(b"2026-03-10T14:05:09\x00Z"),
        Some(utc("2026-03-10T14:05:09Z"))
    );
    assert_eq!(reader.seconds(b"2026-03-10T14:05:\x009Z"), None);
    assert_eq!(reader.seconds(b"\x00\x00\x00"), None);
    assert_eq!(reader.seconds(&[0xff; 300]), None);
    let message = reader_at_field(1, "UTC").explain(b"\xff\x00x y").unwrap_err();
    assert_eq!(
        message,
        "field 1 is \"\u{fffd}\\0x\", not a time (--time-field 1)"
    );
}

#[test]
fn the_last_reading_is_reused_only_for_the_same_text() {
    let mut reader = auto("Europe/Berlin");
    // Texts that share their first bytes but not their zone, or their end.
    let lines: [(&[u8], &str); 6] = [
        (b"2026-03-10 14:05:09 GET /a", "2026-03-10T13:05:09Z"),
        (b"2026-03-10 14:05:09+05:00 GET /a", "2026-03-10T09:05:09Z"),
        (b"2026-03-10 14:05:09", "2026-03-10T13:05:09Z"),
        (b"2026-03-10 14:05:09Z", "2026-03-10T14:05:09Z"),
        (b"2026-03-10 14:05:09 +0100", "2026-03-10T13:05:09Z"),
        (b"2026-03-10 14:05:09 -0100", "2026-03-10T15:05:09Z"),
    ];
    let mut rng = fastrand::Rng::with_seed(3);
    for _ in 0..500 {
        let (line, expected) = lines[rng.usize(..lines.len())];
        assert_eq!(
            reader.seconds(line),
            Some(utc(expected)),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    // Alternating seconds, and the same text at different places of the line.
    for (line, expected) in [
        ("a 2026-03-10T14:05:09Z", "2026-03-10T14:05:09Z"),
        ("2026-03-10T14:05:10Z b", "2026-03-10T14:05:10Z"),
        ("bb 2026-03-10T14:05:09Z", "2026-03-10T14:05:09Z"),
        ("2026-03-10T14:05:09Z", "2026-03-10T14:05:09Z"),
        ("2026-03-10T14:05:10Z", "2026-03-10T14:05:10Z"),
    ] {
        assert_eq!(found(&mut reader, line), Some((expected, utc(expected))));
    }
    // Fractions differ from line to line within a second; they do not change the reading.
    reader.set_reference(utc("2026-06-01T00:00:00Z"));
    for (marked, expected) in [
        ("{2026-03-10T14:05:09.123Z} a", "2026-03-10T14:05:09Z"),
        ("{2026-03-10T14:05:09.4567Z} b", "2026-03-10T14:05:09Z"),
        ("x {2026-03-10T14:05:09.9Z}", "2026-03-10T14:05:09Z"),
        ("{2026-03-10T14:05:09.5+01:00}", "2026-03-10T13:05:09Z"),
        ("{2026-03-10T14:05:09}.Z", "2026-03-10T13:05:09Z"),
        ("{2026-03-10T14:05:09.77}", "2026-03-10T13:05:09Z"),
        ("{2026-03-10T14:05:09.8}", "2026-03-10T13:05:09Z"),
        ("{2026-03-10T14:05:09.88} x", "2026-03-10T13:05:09Z"),
        ("{2026-03-10T14:05:09.88+0100}", "2026-03-10T13:05:09Z"),
        ("{2026-03-10T14:05:09.88-0100}", "2026-03-10T15:05:09Z"),
        ("{2026-03-10T14:05:09,88-0100}", "2026-03-10T15:05:09Z"),
        ("{Mar 10 14:05:09.250} h", "2026-03-10T13:05:09Z"),
        ("{Mar 10 14:05:09.1} h", "2026-03-10T13:05:09Z"),
    ] {
        finds(&mut reader, marked, expected);
    }
    // A negative epoch time's fraction does matter.
    let mut epoch = super::tests::reader(TimeSource::Auto, TimeFormat::EpochSeconds, "UTC");
    assert_eq!(epoch.seconds(b"-5.0 a"), Some(-5));
    assert_eq!(epoch.seconds(b"-5.1 a"), Some(-6));
    assert_eq!(epoch.seconds(b"-5.0 a"), Some(-5));
    // A strftime reading depends on the bytes after the time too.
    let mut reader = super::tests::reader(TimeSource::Auto, strftime("%Y-%m-%d %H:%M:%S%.f"), "UTC");
    for (line, expected) in [
        ("2026-03-10 14:05:09 x", Some("2026-03-10T14:05:09Z")),
        ("2026-03-10 14:05:09 y", Some("2026-03-10T14:05:09Z")),
        ("2026-03-10 14:05:09.5", Some("2026-03-10T14:05:09Z")),
        ("2026-03-10 14:05:091", Some("2026-03-10T14:05:09Z")),
        ("2026-03-10 14:05:0", Some("2026-03-10T14:05:00Z")),
        ("2026-03-10 14:05:", None),
    ] {
        assert_eq!(reader.seconds(line.as_bytes()), expected.map(utc), "{line}");
    }
}

#[test]
fn strftime_formats_at_each_source() {
    let format = || strftime("%d/%b/%Y:%H:%M:%S %z");
    let seconds = utc("2000-10-10T20:55:36Z");
    let expected = Some(seconds);
    assert_eq!(
        reader(TimeSource::Field(4), format(), "UTC").seconds(CLF_LINE.as_bytes()),
        None
    );
    let line = CLF_LINE.replace('[', "");
    assert_eq!(
        reader(TimeSource::Field(4), format(), "UTC").seconds(line.as_bytes()),
        expected
    );
    let mut regexed = reader(regex(r"\[([^\]]+)\]", 1), format(), "UTC");
    assert_eq!(
        found(&mut regexed, CLF_LINE),
        Some(("10/Oct/2000:13:55:36 -0700", seconds))
    );
    let mut at_start = reader(TimeSource::Auto, strftime("%Y%m%d-%H%M%S"), "Europe/Berlin");
    assert_eq!(
        found(&mut at_start, "20260310-140509 rest"),
        Some(("20260310-140509", utc("2026-03-10T13:05:09Z")))
    );
    assert_eq!(at_start.seconds(b"x20260310-140509"), None);
}

#[test]
fn regex_sources() {
    let mut reader = reader(regex(r"time=(\S+)", 1), TimeFormat::Auto, "UTC");
    assert_eq!(
        found(&mut reader, "a=1 time=2026-03-10T14:05:09Z b=2"),
        Some(("2026-03-10T14:05:09Z", utc("2026-03-10T14:05:09Z")))
    );
    assert_eq!(reader.seconds(b"a=1 time=yesterday"), None);
    assert_eq!(reader.seconds(b"a=1"), None);
    let mut whole = reader_for(regex(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", 0), "UTC");
    assert_eq!(
        whole.seconds(b"x 2026-03-10 14:05:09Z"),
        Some(utc("2026-03-10T14:05:09Z"))
    );
}

fn reader_for(source: TimeSource, zone: &str) -> TimeReader {
    reader(source, TimeFormat::Auto, zone)
}

#[test]
fn epoch_seconds_and_millis() {
    let mut seconds = reader(TimeSource::Auto, TimeFormat::EpochSeconds, "Europe/Berlin");
    assert_eq!(seconds.seconds(b"1700000000 GET"), Some(1_700_000_000));
    assert_eq!(seconds.seconds(b"1700000000.25 GET"), Some(1_700_000_000));
    assert_eq!(seconds.seconds(b"-1.5"), Some(-2));
    assert_eq!(seconds.seconds(b"-1"), Some(-1));
    assert_eq!(seconds.seconds(b"x1700000000"), None);
    let mut millis = reader(TimeSource::Field(2), TimeFormat::EpochMillis, "UTC");
    assert_eq!(millis.seconds(b"a 1700000000123 b"), Some(1_700_000_000));
    assert_eq!(millis.seconds(b"a -1 b"), Some(-1));
    assert_eq!(millis.seconds(b"a -1000 b"), Some(-1));
    assert_eq!(millis.seconds(b"a -1001 b"), Some(-2));
    assert_eq!(millis.seconds(b"a"), None);
    assert_eq!(TimeFormat::parse("%s"), Ok(TimeFormat::EpochSeconds));
    assert_eq!(TimeFormat::parse("%ms"), Ok(TimeFormat::EpochMillis));
}

#[test]
fn time_formats_are_checked_up_front() {
    assert_eq!(
        TimeFormat::parse("%F %T"),
        Ok(TimeFormat::Strftime("%F %T".to_string()))
    );
    for bad in ["", "%H:%M", "%Y-%m-%d %Z", "%Y-%!"] {
        let message = TimeFormat::parse(bad).unwrap_err();
        assert!(!message.is_empty() && !message.contains('\n'), "{bad}: {message}");
    }
}

#[test]
fn zones_from_the_flag() {
    assert_eq!(zone_from_flag(Some("UTC")).unwrap(), TimeZone::UTC);
    assert_eq!(
        zone_from_flag(Some("Europe/Berlin")).unwrap().iana_name(),
        Some("Europe/Berlin")
    );
    let message = zone_from_flag(Some("Mars/Olympus_Mons")).unwrap_err();
    assert!(message.contains("\"Mars/Olympus_Mons\""), "{message}");
    // The machine's zone is whatever `TZ` and /etc/localtime say; there is always one.
    assert!(zone_from_flag(None).is_ok());
}

#[test]
fn explanations_name_the_flag() {
    let why = |mut reader: TimeReader, line: &str| reader.explain(line.as_bytes()).unwrap_err();
    assert_eq!(
        why(auto("UTC"), "GET /index.html 200"),
        "no time found (looked for [10/Oct/2000:13:55:36 -0700], 2026-03-10T14:05:09Z, Mar 10 14:05:09)"
    );
    assert_eq!(
        why(auto("UTC"), "x 2026-02-30T00:00:00Z y"),
        "no time found: \"2026-02-30T00:00:00Z\" at byte 2 is not one (no such date)"
    );
    assert_eq!(
        why(reader_at_field(4, "UTC"), "a b c foo bar"),
        "field 4 is \"foo\", not a time (--time-field 4)"
    );
    assert_eq!(
        why(reader_at_field(4, "UTC"), "a b c"),
        "the line has fewer than 4 fields (--time-field 4)"
    );
    assert_eq!(
        why(reader_at_field(1, "UTC"), "2026-03-10T25:00:00Z x"),
        "field 1 is \"2026-03-10T25:00:00Z\", not a time: no such time of day (--time-field 1)"
    );
    assert_eq!(
        why(reader_for(regex(r"t=(\S+)", 1), "UTC"), "x"),
        "--time-regex does not match"
    );
    assert_eq!(
        why(reader_for(regex(r"t=(\d+)|u=", 1), "UTC"), "u="),
        "group 1 of --time-regex is not part of the match"
    );
    assert_eq!(
        why(reader_for(regex(r"t=(\S+)", 1), "UTC"), "t=soon"),
        "group 1 of --time-regex is \"soon\", not a time"
    );
    let message = why(
        reader(TimeSource::Auto, strftime("%Y-%m-%d"), "UTC"),
        "2026-02-30 x",
    );
    assert!(
        message.starts_with("the line starts \"2026-02-30\", not a time in --time-format \"%Y-%m-%d\": "),
        "{message}"
    );
    assert_eq!(
        why(
            reader(TimeSource::Field(2), TimeFormat::EpochMillis, "UTC"),
            "a b"
        ),
        "field 2 is \"b\", not a number of milliseconds (--time-format %ms) (--time-field 2)"
    );
    let long = format!("{} x", "y".repeat(100));
    assert_eq!(
        why(reader_at_field(1, "UTC"), &long),
        format!("field 1 is \"{}\"…, not a time (--time-field 1)", "y".repeat(40))
    );
}

/// A random instant from 1900 to 2100, with nanoseconds.
fn random_instant(rng: &mut fastrand::Rng) -> Timestamp {
    Timestamp::new(rng.i64(-2_208_988_800..4_102_444_800), rng.i32(0..1_000_000_000)).unwrap()
}

/// Formats of times with an offset.
const WITH_OFFSET: [&str; 3] = [
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S,%3f %z",
];

/// Formats of times without a zone.
const ZONELESS: [&str; 3] = [
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S,%3f",
];

/// Formats for `--time-format`, read at field 2.
const CUSTOM: [&str; 4] = [
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y %I:%M:%S %p",
    "%A %d %B %Y %T",
    "%FT%T%.6f",
];

/// Formats of the stream of times one reader reads.
const STREAM: [&str; 5] = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.3f%:z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S,%3f",
    "%b %e %H:%M:%S%.f",
];

/// What may follow the time in a line of the stream.
const AFTER: [&str; 5] = [" x", "", "1", ".5 y", "+01"];

/// One of `choices`, at random.
fn pick<'a>(rng: &mut fastrand::Rng, choices: &[&'a str]) -> &'a str {
    choices[rng.usize(..choices.len())]
}

/// Whole seconds of `instant`, floored.
fn floored(instant: Timestamp) -> i64 {
    instant.as_second() - i64::from(instant.subsec_nanosecond() < 0)
}

/// A random offset of whole quarter hours.
fn random_offset(rng: &mut fastrand::Rng) -> tz::Offset {
    tz::Offset::from_seconds(rng.i32(-48..=56) * 900).unwrap()
}

const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
];

/// Writes `instant` in `zone` with a strftime format.
fn written(instant: Timestamp, zone: &TimeZone, format: &str) -> String {
    BrokenDownTime::from(&instant.to_zoned_datetime(zone.clone()))
        .to_string(format)
        .unwrap()
}

/// The Unix seconds jiff gives the civil time of `instant` in `zone` (to the second), read in
/// `zone` again: what a zoneless text of that instant means.
fn zoneless(instant: Timestamp, zone: &TimeZone) -> i64 {
    let civil = zone.to_datetime(instant);
    let civil = DateTime::new(
        civil.year(),
        civil.month(),
        civil.day(),
        civil.hour(),
        civil.minute(),
        civil.second(),
        0,
    )
    .unwrap();
    zone.to_timestamp(civil).unwrap().as_second()
}

#[test]
fn random_times_written_by_jiff_read_back() {
    let mut rng = fastrand::Rng::with_seed(20_260_310);
    for case in 0..1200 {
        let instant = random_instant(&mut rng);
        let zone_name = ZONES[rng.usize(..ZONES.len())];
        let zone = TimeZone::get(zone_name).unwrap();
        let fixed = TimeZone::fixed(random_offset(&mut rng));
        let (line, expected, source, format) = match case % 8 {
            0 => {
                let text = written(instant, &fixed, "%d/%b/%Y:%H:%M:%S %z");
                let line = format!("10.0.0.{case} - - [{text}] \"GET /x HTTP/1.1\" 200 1");
                let source = if rng.bool() {
                    TimeSource::Field(4)
                } else {
                    TimeSource::Auto
                };
                (line, floored(instant), source, TimeFormat::Auto)
            }
            1 => {
                let format = pick(&mut rng, &WITH_OFFSET);
                let line = format!("[pid {case}] {} msg", written(instant, &fixed, format));
                (line, floored(instant), TimeSource::Auto, TimeFormat::Auto)
            }
            2 => {
                let text = written(instant, &TimeZone::UTC, "%Y-%m-%dT%H:%M:%S%.fZ");
                (
                    format!("<34>1 {text} host app - - hi"),
                    floored(instant),
                    TimeSource::Auto,
                    TimeFormat::Auto,
                )
            }
            3 => {
                let format = pick(&mut rng, &ZONELESS);
                let line = format!("{} INFO x", written(instant, &zone, format));
                (line, zoneless(instant, &zone), TimeSource::Auto, TimeFormat::Auto)
            }
            4 => {
                let line = format!(
                    "{} host app[{case}]: y",
                    written(instant, &zone, "%b %e %H:%M:%S")
                );
                (line, zoneless(instant, &zone), TimeSource::Auto, TimeFormat::Auto)
            }
            5 => {
                let format = pick(&mut rng, &CUSTOM);
                let line = format!("- {} z", written(instant, &zone, format));
                (
                    line,
                    zoneless(instant, &zone),
                    TimeSource::Field(2),
                    strftime(format),
                )
            }
            6 => {
                let line = format!("{} {case}", instant.as_second());
                (
                    line,
                    instant.as_second(),
                    TimeSource::Auto,
                    TimeFormat::EpochSeconds,
                )
            }
            _ => {
                let line = format!("{case} {}", instant.as_millisecond());
                (
                    line,
                    instant.as_millisecond().div_euclid(1000),
                    TimeSource::Field(2),
                    TimeFormat::EpochMillis,
                )
            }
        };
        let mut reader = TimeReader::new(&TimeSpec {
            source,
            format,
            zone: zone.clone(),
        });
        // A reference between a day before and 300 days after the time: the year is recovered.
        reader.set_reference(floored(instant) + rng.i64(-86_399..300 * 86_400));
        assert_eq!(
            reader.seconds(line.as_bytes()),
            Some(expected),
            "{zone_name}: {line}"
        );
        // Read again, from what was kept.
        assert_eq!(
            reader.seconds(line.as_bytes()),
            Some(expected),
            "{zone_name}: {line} again"
        );
    }
}

#[test]
fn one_reader_over_a_random_log_agrees_with_fresh_readers() {
    // A stream of times a few seconds apart, some lines repeating the time before: what one
    // reader answers, keeping its last reading, is what a new reader answers for each line.
    let mut rng = fastrand::Rng::with_seed(99);
    let reference = utc("2026-11-01T00:00:00Z");
    let formats = [
        "auto",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ];
    for (zone_name, format) in ["Europe/Berlin", "America/New_York"]
        .into_iter()
        .zip(formats)
        .chain([("Europe/Berlin", formats[2]), ("America/New_York", formats[3])])
    {
        let zone = TimeZone::get(zone_name).unwrap();
        let format = if format == "auto" {
            TimeFormat::Auto
        } else {
            strftime(format)
        };
        let spec = spec(TimeSource::Auto, format, zone_name);
        let mut kept = TimeReader::new(&spec);
        kept.set_reference(reference);
        let mut at = utc("2026-10-25T00:00:00Z");
        for i in 0..3000 {
            at += rng.i64(0..4);
            let instant = Timestamp::new(at, rng.i32(0..1_000_000_000)).unwrap();
            let line = format!(
                "{}{}",
                written(instant, &zone, pick(&mut rng, &STREAM)),
                pick(&mut rng, &AFTER)
            );
            let mut fresh = TimeReader::new(&spec);
            fresh.set_reference(reference);
            let fresh = fresh.seconds(line.as_bytes());
            assert_eq!(kept.seconds(line.as_bytes()), fresh, "{line} (n={i})");
        }
    }
}

#[test]
fn readers_go_to_worker_threads() {
    fn movable<T: Send>() {}
    fn shareable<T: Send + Sync>() {}
    movable::<TimeReader>();
    shareable::<TimeSpec>();
}
