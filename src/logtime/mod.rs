//! Times found in log lines, for `--bucket`: every count is keyed by the start of the bucket its
//! line's own time falls in.
//!
//! A `TimeSpec` says where a line's time is (`TimeSource`), how it is written (`TimeFormat`) and
//! in which zone times without an offset are read. Each worker makes its own `TimeReader`, which
//! turns lines into Unix seconds without allocating: the common forms (Apache/nginx, RFC 3339 and
//! ISO 8601, syslog) are read by hand, byte by byte, and converted with calendar arithmetic; jiff
//! is asked only about time zone rules (once per local hour) and strftime formats.
//!
//! Lines logged in the same second share their time text, so a reader keeps the last text it read
//! and its result, and a line whose text is the same (but for the digits of a fraction of a
//! second) is not read again.

use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::tz::TimeZone;
use regex::bytes::{CaptureLocations, Regex};

mod calendar;
mod forms;
mod resolve;
mod strftime;
#[cfg(test)]
mod tests;
mod zone;

pub use calendar::{bucket_start, write_rfc3339_utc};

use forms::{Bad, Fail, Form, Text};
use resolve::Resolver;

/// Where the time is in a line.
#[derive(Clone, Debug)]
pub enum TimeSource {
    /// The first time in the line (the one starting first) in any of the forms `TimeFormat::Auto`
    /// knows; with another format, the start of the line.
    Auto,
    /// The awk field (counted from 1; fields are split at runs of spaces and tabs) where the time
    /// starts. The time may run past the end of the field: an Apache time spans two fields,
    /// `[10/Oct/2000:13:55:36` and `-0700]`, and `Field(4)` reads both. Field 0 is never found.
    Field(usize),
    /// The text of a capture group of a regex.
    Regex {
        /// The regex, run over the whole line.
        regex: Regex,
        /// The group holding the time: 0 for the whole match.
        group: usize,
    },
}

/// How the time text is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Any of these forms, whatever the locale (month names are English):
    /// - Apache/nginx `[10/Oct/2000:13:55:36 -0700]` (with `TimeSource::Field`, also without
    ///   the brackets); the offset is required;
    /// - RFC 3339 and ISO 8601 `2026-03-10T14:05:09.123Z`: a space or `t` for the `T`, a
    ///   fraction of any length after `.` or `,`, then `Z`, an offset (`+05:30`, `-0700`, `+05`,
    ///   or after a space `+0100` as git writes it), or no zone; RFC 5424 syslog is this form;
    /// - syslog (RFC 3164) `Mar 10 14:05:09`, `Mar  1 04:05:09`: no year and no zone (see
    ///   `TimeReader::set_reference` for the year).
    Auto,
    /// A strftime format as jiff reads it (`%Y-%m-%d %H:%M:%S`, `%d/%b/%Y:%H:%M:%S %z`), applied
    /// at the start of the time's place; text after the time is left alone. Without `%z`, `%Q`
    /// or `%s` the time is read in the zone; without a year, with the syslog year rule.
    Strftime(String),
    /// Unix seconds, `%s`: `1700000000`, negative, or with a fraction (`1700000000.25`).
    EpochSeconds,
    /// Unix milliseconds, written `%ms` (not a strftime directive: this program's own spelling),
    /// as Java and JavaScript log them: `1700000000123`.
    EpochMillis,
}

impl TimeFormat {
    /// Reads the value of `--time-format`: `%s` alone is `EpochSeconds`, `%ms` alone is
    /// `EpochMillis`, anything else a strftime format, checked here by writing a time with it and
    /// reading that back. The error is one line saying what is wrong, naming no flag.
    pub fn parse(text: &str) -> Result<TimeFormat, String> {
        match text {
            "%s" => Ok(TimeFormat::EpochSeconds),
            "%ms" => Ok(TimeFormat::EpochMillis),
            _ => strftime::validate(text).map(|()| TimeFormat::Strftime(text.to_string())),
        }
    }
}

/// Where and how lines give their time; shared by every worker, which makes a `TimeReader` of it.
#[derive(Clone, Debug)]
pub struct TimeSpec {
    /// Where the time is (`--time-field`, `--time-regex`).
    pub source: TimeSource,
    /// How it is written (`--time-format`).
    pub format: TimeFormat,
    /// The zone of times written without an offset.
    pub zone: TimeZone,
}

/// The zone of `--tz`: an IANA name (`Europe/Berlin`) or `UTC`. Without the flag, the zone of
/// the machine as `date` shows it: `TZ`, then `/etc/localtime`; UTC when neither gives a zone,
/// as `date` does. The error is one line, naming no flag.
pub fn zone_from_flag(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
        Some(name) => TimeZone::get(name).map_err(|_| {
            let hint = "an IANA name like Europe/Berlin, or UTC";
            format!("unknown time zone {name:?}: not in the time zone database ({hint})")
        }),
    }
}

/// The text a reader read last and what it gave.
#[derive(Default)]
struct Last {
    /// The bytes that decided the reading: the time text and the few bytes after it that were
    /// looked at to find its end; without the digits of fractional seconds, which do not matter
    /// (so that lines logged in the same second with different milliseconds share a reading).
    key: Vec<u8>,
    /// Where in the key the digits of fractional seconds were taken out, if they were.
    digits_at: Option<usize>,
    /// Whether the end of the text was among what decided (then the next must end there too).
    through_end: bool,
    /// Where the time text starts (before any fraction), and where it ends, counted from the
    /// end of the fraction's digits when there are any.
    start: usize,
    end_after_digits: usize,
    seconds: i64,
}

impl Last {
    /// What `text` reads as, when it has the bytes that decided the last reading: where its time
    /// starts and ends, and its seconds.
    #[inline]
    fn get(&self, text: &[u8]) -> Option<(usize, usize, i64)> {
        let (before, after) = self.key.split_at(self.digits_at.unwrap_or(0));
        let rest = text.strip_prefix(before)?;
        let digits = match self.digits_at {
            Some(_) => rest.iter().take_while(|b| b.is_ascii_digit()).count(),
            None => 0,
        };
        if self.digits_at.is_some() && digits == 0 {
            return None;
        }
        let rest = rest[digits..].strip_prefix(after)?;
        if self.through_end && !rest.is_empty() {
            return None;
        }
        let digits_end = before.len() + digits;
        Some((self.start, digits_end + self.end_after_digits, self.seconds))
    }

    /// Keeps a reading of `text` that looked at its first `seen` bytes (one more when it looked
    /// for the end), and whose fraction digits, if any, span `fraction`.
    fn set(&mut self, text: &[u8], seen: usize, fraction: Option<(usize, usize)>, read: (usize, usize, i64)) {
        let seen_bytes = &text[..seen.min(text.len())];
        let (digits_start, digits_end) = fraction.unwrap_or((0, 0));
        self.key.clear();
        self.key.extend_from_slice(&seen_bytes[..digits_start]);
        self.key.extend_from_slice(&seen_bytes[digits_end..]);
        self.digits_at = fraction.map(|_| digits_start);
        self.through_end = seen > text.len();
        (self.start, self.end_after_digits, self.seconds) = (read.0, read.1 - digits_end, read.2);
    }
}

/// Why a line gave no time (the hot path's reason: no text, nothing allocated).
enum Miss {
    /// The field of `TimeSource::Field` is not in the line.
    NoField,
    /// The regex does not match.
    NoMatch,
    /// The group is not part of the match.
    NoGroup,
    /// `TimeSource::Auto` with `TimeFormat::Auto` found no time; the first place that looked
    /// like one but was not, if any.
    NotFound(Option<(Range<usize>, Bad)>),
    /// The text at `at` (the start of the field, group or line) is not a time.
    NotATime { at: usize, fail: Fail },
}

/// Reads lines' times; one per worker thread, holding what it reuses from line to line.
pub struct TimeReader {
    source: TimeSource,
    format: TimeFormat,
    resolver: Resolver,
    locations: Option<CaptureLocations>,
    last: Option<Last>,
}

impl TimeReader {
    /// A reader for `spec`, with the current time as the reference of yearless times until
    /// `set_reference` says otherwise.
    pub fn new(spec: &TimeSpec) -> TimeReader {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let locations = match &spec.source {
            TimeSource::Regex { regex, .. } => Some(regex.capture_locations()),
            _ => None,
        };
        TimeReader {
            source: spec.source.clone(),
            format: spec.format.clone(),
            resolver: Resolver::new(spec.zone.clone(), now),
            locations,
            last: None,
        }
    }

    /// The reference instant (Unix seconds) for syslog times, which have no year (RFC 3164): the
    /// input file's mtime, or now for stdin. Set it for each input. A yearless time takes the
    /// year the reference has in the zone, or the year before when that would put it more than a
    /// day after the reference (or on a 29 February that year lacks): a file last written at
    /// 2027-01-01 00:10 holding `Dec 31 23:59:59` means 2026-12-31, while `Jan  1 00:05:00` in
    /// it means 2027-01-01. The day of slack allows for clocks that disagree a little.
    pub fn set_reference(&mut self, epoch_seconds: i64) {
        self.resolver.set_reference(epoch_seconds);
        // What was read last may have taken its year from the old reference.
        self.last = None;
    }

    /// The line's time in whole Unix seconds (a fraction is floored), or `None` when no time
    /// can be read; always within the range of `jiff::Timestamp`. Times without an offset are
    /// read in the spec's zone: a time that a change to summer time skips moves forward by the
    /// change, and a time that occurs twice when clocks go back is the earlier one (jiff's
    /// "compatible" disambiguation).
    #[inline]
    pub fn seconds(&mut self, line: &[u8]) -> Option<i64> {
        self.find(line).ok().map(|(_, seconds)| seconds)
    }

    /// For `--explain`: the byte range of the time text found and its seconds, or why there is
    /// none, in a few words naming the flag involved.
    pub fn explain(&mut self, line: &[u8]) -> Result<(Range<usize>, i64), String> {
        self.find(line).map_err(|miss| self.describe(line, miss))
    }

    fn find(&mut self, line: &[u8]) -> Result<(Range<usize>, i64), Miss> {
        let (at, text) = match &self.source {
            TimeSource::Auto if matches!(self.format, TimeFormat::Auto) => return self.scan(line),
            TimeSource::Auto => (0, line),
            &TimeSource::Field(n) => {
                let at = field_start(line, n).ok_or(Miss::NoField)?;
                (at, &line[at..])
            }
            TimeSource::Regex { regex, group } => {
                // `new` makes locations for every regex source.
                let locations = self.locations.as_mut().ok_or(Miss::NoMatch)?;
                regex.captures_read(locations, line).ok_or(Miss::NoMatch)?;
                let (start, end) = locations.get(*group).ok_or(Miss::NoGroup)?;
                (start, &line[start..end])
            }
        };
        match self.read(text, None) {
            Ok((start, end, seconds)) => Ok((at + start..at + end, seconds)),
            Err(fail) => Err(Miss::NotATime { at, fail }),
        }
    }

    /// The first time in `line` in a fixed form.
    fn scan(&mut self, line: &[u8]) -> Result<(Range<usize>, i64), Miss> {
        let mut first_bad = None;
        let found = forms::scan(line, |at, form| match self.read(&line[at..], Some(form)) {
            Ok((start, end, seconds)) => Some((at + start..at + end, seconds)),
            Err(Fail::Value { end, what }) => {
                first_bad = first_bad.take().or(Some((at..at + end, what)));
                None
            }
            Err(Fail::Shape) => None,
        });
        found.ok_or(Miss::NotFound(first_bad))
    }

    /// Reads the time at the start of `text` (in `form`, when the scan knows it): where its text
    /// lies and its seconds. What decided the reading is kept, and a text that starts with the
    /// same bytes is answered without reading.
    #[inline]
    fn read(&mut self, text: &[u8], form: Option<Form>) -> Result<(usize, usize, i64), Fail> {
        if let Some(read) = self.last.as_ref().and_then(|last| last.get(text)) {
            return Ok(read);
        }
        let mut reading = Text::new(text);
        let (read, fraction) = match &self.format {
            TimeFormat::Auto => {
                let read = match form {
                    Some(form) => forms::read_form(&mut reading, 0, form),
                    None => forms::any(&mut reading, 0),
                }?;
                // A date without a year fails when neither year it may take has it (29 February);
                // a dated one, only beyond the years a time can have.
                let failed = Fail::Value {
                    end: read.end,
                    what: match read.stamp.year {
                        Some(_) => Bad::Range,
                        None => Bad::Date,
                    },
                };
                let seconds = self.resolver.stamp(&read.stamp).ok_or(failed)?;
                ((read.start, read.end, seconds), read.fraction)
            }
            TimeFormat::EpochSeconds | TimeFormat::EpochMillis => {
                let millis = matches!(self.format, TimeFormat::EpochMillis);
                let (seconds, end) = forms::epoch(&mut reading, 0, millis)?;
                ((0, end, seconds), None)
            }
            TimeFormat::Strftime(format) => {
                let (seconds, end) = strftime::read(format, text, &mut self.resolver)?;
                reading.seen = end + strftime::lookahead(format);
                ((0, end, seconds), None)
            }
        };
        // Near the ends of years 0 and 9999, an offset can take a time out of jiff's range.
        let (_, end, seconds) = read;
        if !(forms::EARLIEST..=forms::LATEST).contains(&seconds) {
            return Err(Fail::Value {
                end,
                what: Bad::Range,
            });
        }
        self.last
            .get_or_insert_with(Last::default)
            .set(text, reading.seen, fraction, read);
        Ok(read)
    }

    /// Why `line` gave no time, in words.
    fn describe(&self, line: &[u8], miss: Miss) -> String {
        let (at, fail) = match miss {
            Miss::NoField => {
                let TimeSource::Field(n) = self.source else {
                    return String::new();
                };
                return match n {
                    0 => "fields count from 1 (--time-field 0)".to_string(),
                    _ => format!("the line has fewer than {n} fields (--time-field {n})"),
                };
            }
            Miss::NoMatch => return "--time-regex does not match".to_string(),
            Miss::NoGroup => {
                let TimeSource::Regex { group, .. } = self.source else {
                    return String::new();
                };
                return format!("group {group} of --time-regex is not part of the match");
            }
            Miss::NotFound(None) => return format!("no time found (looked for {EXAMPLES})"),
            Miss::NotFound(Some((range, what))) => {
                return format!(
                    "no time found: {} at byte {} is not one ({})",
                    quote(&line[range.clone()]),
                    range.start,
                    what.describe()
                );
            }
            Miss::NotATime { at, fail } => (at, fail),
        };
        // What is at the place: the field, the group, or the start of the line.
        let place = match &self.source {
            TimeSource::Field(_) => &line[at..field_end(line, at)],
            TimeSource::Regex { group, .. } => {
                let group = self.locations.as_ref().and_then(|l| l.get(*group));
                group.map_or(&line[at..], |(start, end)| &line[start..end])
            }
            TimeSource::Auto => &line[at..field_end(line, at)],
        };
        // What the reader read: the group, or the line from the place on.
        let read = match self.source {
            TimeSource::Regex { .. } => place,
            _ => &line[at..],
        };
        let shown = match fail {
            Fail::Value { end, .. } => &line[at..at + end],
            Fail::Shape => place,
        };
        let subject = match &self.source {
            TimeSource::Field(n) => format!("field {n} is {}", quote(shown)),
            TimeSource::Regex { group, .. } => format!("group {group} of --time-regex is {}", quote(shown)),
            TimeSource::Auto => format!("the line starts {}", quote(shown)),
        };
        let reason = match (&self.format, fail) {
            (TimeFormat::Auto, Fail::Shape) => "not a time".to_string(),
            (TimeFormat::Strftime(format), _) => {
                format!(
                    "not a time in --time-format {format:?}: {}",
                    strftime::why_not(format, read)
                )
            }
            (TimeFormat::EpochSeconds, Fail::Shape) => {
                "not a number of seconds (--time-format %s)".to_string()
            }
            (TimeFormat::EpochMillis, Fail::Shape) => {
                "not a number of milliseconds (--time-format %ms)".to_string()
            }
            (_, Fail::Value { what, .. }) => format!("not a time: {}", what.describe()),
        };
        match &self.source {
            TimeSource::Field(n) => format!("{subject}, {reason} (--time-field {n})"),
            _ => format!("{subject}, {reason}"),
        }
    }
}

/// What `--explain` says the automatic forms look like.
const EXAMPLES: &str = "[10/Oct/2000:13:55:36 -0700], 2026-03-10T14:05:09Z, Mar 10 14:05:09";

/// Bytes of a text shown in a reason before it is cut short.
const SHOWN_BYTES: usize = 40;

/// `text`, quoted and escaped, cut short when long.
fn quote(text: &[u8]) -> String {
    let cut = text.len() > SHOWN_BYTES;
    let shown = String::from_utf8_lossy(&text[..text.len().min(SHOWN_BYTES)]);
    format!("{shown:?}{}", if cut { "…" } else { "" })
}

/// Whether `byte` separates awk fields.
#[inline]
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Where awk field `n` (counted from 1) of `line` starts.
fn field_start(line: &[u8], n: usize) -> Option<usize> {
    let mut at = 0;
    for counted in 1..=n {
        at += line[at..].iter().position(|&b| !is_blank(b))?;
        if counted == n {
            return Some(at);
        }
        at = field_end(line, at);
    }
    None
}

/// Where the field starting at `start` ends.
fn field_end(line: &[u8], start: usize) -> usize {
    line[start..]
        .iter()
        .position(|&b| is_blank(b))
        .map_or(line.len(), |len| start + len)
}
