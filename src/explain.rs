//! `--explain`: what the key flags make of the first lines of the input, line by line.
//!
//! Each line goes through the same `Extractor` the workers use, so what is shown is what
//! would be counted. When a line would be skipped, the explanation says why in the terms of the
//! flags: which field is missing, that the regex did not match, which value text is not an
//! integer, how long an oversize line is. Only the lines shown are read, and no sink is opened.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, ErrorKind, Write};

use anyhow::Context;

use crate::config::Config;
use crate::extract::{Bucketing, ExtractSpec, Extractor, KeySource, Miss, Outcome, Separator, ValueSource};
use crate::filter::Dropped;
use crate::input::{self, Input, Source};
use crate::key::{BUCKET_NAME, KeySchema};
use crate::logtime::{self, TimeFormat, TimeSource};
use crate::structured::JsonPath;

/// How much of a line is echoed before it is cut short.
const SHOWN_LINE_BYTES: usize = 240;

/// Explains the first `lines` lines of the first input on stdout, read as the counting
/// reads it (a compressed input decoded). A closed stdout (`statbuf --explain | head`) ends
/// the explanation quietly.
pub fn run(config: &Config, lines: usize) -> anyhow::Result<()> {
    let input = config.inputs.first().cloned().unwrap_or(Input::Stdin);
    let name = input.display();
    let source = match &input {
        Input::Stdin => Source::stdin(config.read.decompress),
        Input::File(path) => Source::open(path, config.read.decompress),
    };
    let mut reader = BufReader::new(source.with_context(|| name.clone())?);
    // An input that cannot be read at all (a directory) is an error before any output.
    reader.fill_buf().with_context(|| name.clone())?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result =
        explain(config, &name, reader, lines, &mut out).and_then(|_| out.flush().map_err(Failure::Write));
    match result {
        Ok(()) => Ok(()),
        Err(Failure::Write(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(Failure::Write(e)) => Err(anyhow::Error::new(e).context("writing to stdout")),
        Err(Failure::Read(e)) => Err(anyhow::Error::new(e).context(name)),
    }
}

/// Why an explanation stopped.
#[derive(Debug)]
pub enum Failure {
    /// The input could not be read.
    Read(io::Error),
    /// The explanation could not be written.
    Write(io::Error),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Failure {
        Failure::Write(error)
    }
}

/// What the lines explained gave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub lines: u64,
    pub keys: u64,
    pub unmatched: u64,
    pub bad_values: u64,
    pub oversize: u64,
    pub filtered: u64,
    pub no_time: u64,
    pub not_json: u64,
}

/// Writes the explanation of the first `lines` lines of `input` (named `name`) to `out`.
pub fn explain(
    config: &Config,
    name: &str,
    mut input: impl BufRead,
    lines: usize,
    out: &mut impl Write,
) -> Result<Tally, Failure> {
    let spec = &config.extract;
    let max_line_bytes = config.read.max_line_bytes;
    let mut extractor = Extractor::new(spec);
    let mut tally = Tally::default();
    writeln!(out, "# {name}: {}", describe(spec, &config.schema))?;
    let width = lines.to_string().len();
    for number in 1..=lines {
        let Some(raw) = read_line(&mut input, max_line_bytes).map_err(Failure::Read)? else {
            break;
        };
        tally.lines += 1;
        let verdict = match raw {
            RawLine::Oversize(bytes) => {
                writeln!(out, "{number:>width$}  ({bytes} bytes)")?;
                tally.oversize += 1;
                format!("oversize: {bytes} bytes, over --max-line-bytes {max_line_bytes}")
            }
            RawLine::Line(bytes) => {
                let line = input::lines(&bytes).next().unwrap_or_default();
                writeln!(out, "{number:>width$}  {}", shown_line(line))?;
                if line.len() > max_line_bytes {
                    tally.oversize += 1;
                    format!(
                        "oversize: {} bytes, over --max-line-bytes {max_line_bytes}",
                        line.len()
                    )
                } else {
                    if let Some(time) = extractor.explain_time(line) {
                        writeln!(out, "{:width$}  {}", "", time_text(line, time))?;
                    }
                    match extractor.extract(line) {
                        Outcome::Key(key, value) => {
                            tally.keys += 1;
                            key_text(&config.schema, key, value, has_value(spec))
                        }
                        Outcome::Unmatched(miss) => {
                            tally.unmatched += 1;
                            format!("unmatched: {}", why_unmatched(spec, miss, &mut extractor, line))
                        }
                        Outcome::BadValue => {
                            tally.bad_values += 1;
                            let text = extractor.value_text(line).unwrap_or_default();
                            format!("bad value: {}", why_bad_value(spec, &text))
                        }
                        Outcome::NotJson => {
                            tally.not_json += 1;
                            "not JSON: the line is not one JSON object".to_string()
                        }
                        Outcome::Filtered(Dropped::NoMatch) => {
                            tally.filtered += 1;
                            "filtered out: no --match pattern matches".to_string()
                        }
                        Outcome::NoTime => {
                            tally.no_time += 1;
                            "no time: skipped".to_string()
                        }
                        Outcome::Filtered(Dropped::Excluded) => {
                            tally.filtered += 1;
                            "filtered out: an --exclude pattern matches".to_string()
                        }
                    }
                }
            }
        };
        writeln!(out, "{:width$}  -> {verdict}", "")?;
    }
    write!(
        out,
        "# {} {}: {} with a key, {} unmatched, {} bad {}, {} oversize",
        tally.lines,
        if tally.lines == 1 { "line" } else { "lines" },
        tally.keys,
        tally.unmatched,
        tally.bad_values,
        if tally.bad_values == 1 { "value" } else { "values" },
        tally.oversize,
    )?;
    if spec.bucket.is_some() {
        write!(out, ", {} no time", tally.no_time)?;
    }
    if reads_json(spec) {
        write!(out, ", {} not JSON", tally.not_json)?;
    }
    if spec.filter.is_some() {
        write!(out, ", {} filtered out", tally.filtered)?;
    }
    writeln!(out)?;
    Ok(tally)
}

/// One line as read: its bytes (with the newline), or only the length of an oversize one,
/// whose bytes are not kept.
enum RawLine {
    Line(Vec<u8>),
    Oversize(u64),
}

/// Reads one line, holding at most a few bytes more than `max_line_bytes` of it; `None` at end
/// of input.
fn read_line(input: &mut impl BufRead, max_line_bytes: usize) -> io::Result<Option<RawLine>> {
    let mut line = Vec::new();
    let mut length = 0u64;
    let mut oversize = false;
    let mut read_any = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, complete) = match memchr::memchr(b'\n', buf) {
            Some(newline) => (&buf[..newline], true),
            None => (buf, false),
        };
        length += chunk.len() as u64;
        // Past the limit by more than a trailing `\r` could account for, the line is oversize
        // whatever it holds: stop keeping it.
        if !oversize {
            line.extend_from_slice(chunk);
            if line.len() > max_line_bytes.saturating_add(1) {
                oversize = true;
                line = Vec::new();
            }
        }
        let used = chunk.len() + usize::from(complete);
        input.consume(used);
        if complete {
            break;
        }
    }
    Ok(match (read_any, oversize) {
        (false, _) => None,
        (true, true) => Some(RawLine::Oversize(length)),
        (true, false) => Some(RawLine::Line(line)),
    })
}

/// `key from field 7 (fields split at runs of blanks), each line counts 1`
fn describe(spec: &ExtractSpec, schema: &KeySchema) -> String {
    let fields = match spec.separator {
        Separator::Blanks => "fields split at runs of spaces and tabs".to_string(),
        Separator::Byte(b) => format!("fields split at every {}", quote(&[b])),
    };
    // The bucket is a part of its own, described apart.
    let part_names: Vec<&str> = schema
        .part_names()
        .iter()
        .map(String::as_str)
        .filter(|&name| name != BUCKET_NAME)
        .collect();
    let key = match &spec.key {
        KeySource::Line => "key: the whole line".to_string(),
        KeySource::Bucket => "key: the bucket alone".to_string(),
        KeySource::Json(paths) => {
            let list = paths.iter().map(JsonPath::as_str).collect::<Vec<_>>().join(", ");
            let word = if paths.len() == 1 { "member" } else { "members" };
            format!("key: JSON {word} {list}")
        }
        KeySource::Logfmt(names) => {
            let list = names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ");
            let word = if names.len() == 1 { "key" } else { "keys" };
            format!("key: logfmt {word} {list}")
        }
        KeySource::Fields(indexes) => {
            let list = indexes.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            let word = if indexes.len() == 1 { "field" } else { "fields" };
            format!("key: {word} {list} ({fields})")
        }
        KeySource::Regex { key_groups, .. } => match key_groups[..] {
            // Named groups give their names to the key's parts.
            _ if part_names != ["key"] => {
                let word = if part_names.len() == 1 { "group" } else { "groups" };
                format!("key: regex {word} {}", part_names.join(", "))
            }
            [0] => "key: the whole regex match".to_string(),
            [group] => format!("key: regex group {group}"),
            _ => "key: regex groups".to_string(),
        },
    };
    let value = match (&spec.value, &spec.key) {
        (Some(ValueSource::Field(n)), KeySource::Fields(_)) => format!("value: field {n}"),
        (Some(ValueSource::Field(n)), _) => format!("value: field {n} ({fields})"),
        (Some(ValueSource::Json(path)), _) => format!("value: JSON member {path}"),
        (Some(ValueSource::Logfmt(name)), _) => format!("value: logfmt key {}", quote(name)),
        (
            None,
            KeySource::Regex {
                value_group: Some(_), ..
            },
        ) => "value: regex group value".to_string(),
        (None, _) => "each line counts 1".to_string(),
    };
    match &spec.bucket {
        Some(bucket) => format!("{}; {key}; {value}", describe_bucket(bucket)),
        None => format!("{key}; {value}"),
    }
}

/// `buckets of 60s by the first time in the line`
fn describe_bucket(bucket: &Bucketing) -> String {
    let place = match &bucket.time.source {
        TimeSource::Auto => "the first time in the line".to_string(),
        TimeSource::Field(n) => format!("the time at field {n}"),
        TimeSource::Regex { group, .. } => format!("the time in regex group {group}"),
    };
    let format = match &bucket.time.format {
        TimeFormat::Auto => String::new(),
        TimeFormat::Strftime(format) => format!(" read as {format}"),
        TimeFormat::EpochSeconds => " read as Unix seconds".to_string(),
        TimeFormat::EpochMillis => " read as Unix milliseconds".to_string(),
    };
    format!("buckets of {}s by {place}{format}", bucket.width)
}

/// `time "[10/Oct/2000:13:55:36 -0700]" is 2000-10-10T20:55:36Z`, or why there is none.
fn time_text(line: &[u8], time: Result<(std::ops::Range<usize>, i64), String>) -> String {
    match time {
        Ok((at, seconds)) => {
            let mut utc = Vec::new();
            logtime::write_rfc3339_utc(seconds, &mut utc);
            format!(
                "time {} is {}",
                quote(line.get(at).unwrap_or_default()),
                String::from_utf8_lossy(&utc)
            )
        }
        Err(why) => format!("time: {why}"),
    }
}

/// Whether a JSON key or value is asked for, so that lines can be not JSON.
fn reads_json(spec: &ExtractSpec) -> bool {
    matches!(spec.key, KeySource::Json(_)) || matches!(spec.value, Some(ValueSource::Json(_)))
}

fn has_value(spec: &ExtractSpec) -> bool {
    spec.value.is_some()
        || matches!(
            spec.key,
            KeySource::Regex {
                value_group: Some(_),
                ..
            }
        )
}

/// `key "/index.html", value 1844`, or each part with its column name.
fn key_text(schema: &KeySchema, key: &[u8], value: i64, show_value: bool) -> String {
    let mut text = String::new();
    if schema.parts() == 1 {
        let _ = write!(text, "{} {}", schema.part_names()[0], quote(key));
    } else {
        for (i, (name, part)) in schema.part_names().iter().zip(schema.parts_of(key)).enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "{name} {}", quote(part));
        }
    }
    if show_value {
        let _ = write!(text, ", value {value}");
    }
    text
}

/// Why the extractor found no key: the field asked for that the line does not have, the
/// regex that does not match, the member or logfmt key that is not there.
fn why_unmatched(spec: &ExtractSpec, miss: Miss, extractor: &mut Extractor, line: &[u8]) -> String {
    let missing = |flag: &str, index: i64, count: usize| {
        let needed = index.unsigned_abs();
        let fields = if count == 1 { "field" } else { "fields" };
        format!("the line has {count} {fields}; {flag} {index} needs at least {needed}")
    };
    match miss {
        Miss::KeyField(index) => missing("--key-field", index, extractor.field_count(line)),
        Miss::ValueField(index) => missing("--value-field", index, extractor.field_count(line)),
        Miss::Regex => "the regex (--key-regex) does not match".to_string(),
        Miss::JsonKey(i) => match &spec.key {
            KeySource::Json(paths) => format!("no member {} (--json-key), or it is null", paths[i]),
            _ => "no member (--json-key)".to_string(),
        },
        Miss::LogfmtKey(i) => match &spec.key {
            KeySource::Logfmt(names) => format!(
                "no logfmt key {} (--logfmt-key), or the line is not logfmt",
                quote(&names[i])
            ),
            _ => "no logfmt key (--logfmt-key)".to_string(),
        },
        Miss::JsonValue => match &spec.value {
            Some(ValueSource::Json(path)) => format!("no member {path} (--json-value), or it is null"),
            _ => "no member (--json-value)".to_string(),
        },
        Miss::LogfmtValue => match &spec.value {
            Some(ValueSource::Logfmt(name)) => format!(
                "no logfmt key {} (--logfmt-value), or the line is not logfmt",
                quote(name)
            ),
            _ => "no logfmt key (--logfmt-value)".to_string(),
        },
    }
}

/// The value text that is not an integer.
fn why_bad_value(spec: &ExtractSpec, text: &[u8]) -> String {
    let source = match &spec.value {
        Some(ValueSource::Field(index)) => format!("field {index}"),
        Some(ValueSource::Json(path)) => format!("member {path}"),
        Some(ValueSource::Logfmt(name)) => format!("logfmt key {}", quote(name)),
        None => "group value".to_string(),
    };
    let what = if text.is_empty() {
        "is empty".to_string()
    } else {
        format!("{} is not an integer", quote(text))
    };
    format!("{source} {what} (expected digits with an optional sign, or -)")
}

/// A line as shown: escaped like a key but unquoted, and cut after [`SHOWN_LINE_BYTES`].
fn shown_line(line: &[u8]) -> String {
    if line.len() <= SHOWN_LINE_BYTES {
        return escape(line);
    }
    let mut cut = SHOWN_LINE_BYTES;
    // Cut between characters, not inside one.
    while cut > 0 && (line[cut] & 0xc0) == 0x80 {
        cut -= 1;
    }
    format!("{} [... {} more bytes]", escape(&line[..cut]), line.len() - cut)
}

/// Bytes in double quotes, escaped so that every byte can be seen: `\"`, `\\`, `\t`, `\r`,
/// `\n`, other control characters as `\u{..}`, and bytes that are not UTF-8 as `\xNN`.
pub fn quote(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() + 2);
    text.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => text.push_str("\\\""),
                _ => push_char(&mut text, c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(text, "\\x{b:02x}");
        }
    }
    text.push('"');
    text
}

fn escape(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut text, c);
        }
        for b in chunk.invalid() {
            let _ = write!(text, "\\x{b:02x}");
        }
    }
    text
}

fn push_char(text: &mut String, c: char) {
    match c {
        '\\' => text.push_str("\\\\"),
        '\t' => text.push_str("\\t"),
        '\r' => text.push_str("\\r"),
        '\n' => text.push_str("\\n"),
        c if c.is_control() => {
            let _ = write!(text, "\\u{{{:x}}}", u32::from(c));
        }
        c => text.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;
    use clap::Parser;

    fn explained(args: &[&str], input: &[u8], lines: usize) -> (String, Tally) {
        let args = Args::try_parse_from(std::iter::once("statbuf").chain(args.iter().copied())).unwrap();
        let config = Config::from_args(args).unwrap();
        let mut out = Vec::new();
        let tally = explain(&config, "test.log", input, lines, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), tally)
    }

    #[test]
    fn fields_keys_and_reasons() {
        let input = b"a b c 10\nshort\nx y z 1.5\n\tp  q r -\n";
        let (out, tally) = explained(&["-k", "3", "--value-field", "4"], input, 10);
        assert_eq!(
            tally,
            Tally {
                lines: 4,
                keys: 2,
                unmatched: 1,
                bad_values: 1,
                oversize: 0,
                filtered: 0,
                no_time: 0,
                not_json: 0,
            }
        );
        assert!(out.contains("-> key \"c\", value 10"), "{out}");
        assert!(
            out.contains("-> unmatched: the line has 1 field; --value-field 4 needs at least 4"),
            "{out}"
        );
        assert!(
            out.contains("-> bad value: field 4 \"1.5\" is not an integer"),
            "{out}"
        );
        assert!(out.contains("-> key \"r\", value 0"), "{out}");
        assert!(out.contains("\\tp  q r -"), "{out}");
    }

    #[test]
    fn stops_after_n_lines() {
        let (out, tally) = explained(&[], b"1\n2\n3\n4\n", 2);
        assert_eq!(tally.lines, 2);
        assert!(out.ends_with("# 2 lines: 2 with a key, 0 unmatched, 0 bad values, 0 oversize\n"));
        assert!(!out.contains("\"3\""), "{out}");
    }

    #[test]
    fn composite_keys_name_their_parts() {
        let (out, _) = explained(
            &["-r", r"(?P<method>[A-Z]+) (?P<path>\S+)"],
            b"GET /x HTTP\nnope\n",
            5,
        );
        assert!(out.contains("-> method \"GET\", path \"/x\""), "{out}");
        assert!(
            out.contains("-> unmatched: the regex (--key-regex) does not match"),
            "{out}"
        );
        let (out, _) = explained(&["-k", "2", "-k", "1"], b"a b\n", 5);
        assert!(out.contains("-> key1 \"b\", key2 \"a\""), "{out}");
    }

    #[test]
    fn regex_value_group() {
        let (out, _) = explained(&["-r", r"(?P<k>\w+)=(?P<value>\S*)"], b"a=12\nb=x1\nc=\n", 5);
        assert!(out.contains("-> k \"a\", value 12"), "{out}");
        assert!(
            out.contains("-> bad value: group value \"x1\" is not an integer"),
            "{out}"
        );
        assert!(out.contains("-> bad value: group value is empty"), "{out}");
    }

    #[test]
    fn oversize_lines_are_not_kept() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nshort\n");
        let (out, tally) = explained(&["--max-line-bytes", "10"], &input, 5);
        assert_eq!((tally.oversize, tally.keys), (1, 1));
        assert!(
            out.contains("oversize: 100 bytes, over --max-line-bytes 10"),
            "{out}"
        );
        assert!(!out.contains("xxxxxxxxxxx"), "{out}");
    }

    #[test]
    fn crlf_and_missing_last_newline() {
        let (out, tally) = explained(&[], b"a\r\nb", 5);
        assert_eq!(tally.keys, 2);
        assert!(out.contains("-> key \"a\"\n"), "{out}");
        assert!(out.contains("-> key \"b\"\n"), "{out}");
    }

    #[test]
    fn delimiter_fields() {
        let (out, _) = explained(&["-d", ",", "-k", "3"], b"a,,c\na,b\n\n", 5);
        assert!(out.contains("-> key \"c\""), "{out}");
        assert!(
            out.contains("the line has 2 fields; --key-field 3 needs at least 3"),
            "{out}"
        );
        assert!(
            out.contains("the line has 0 fields; --key-field 3 needs at least 3"),
            "{out}"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(b"a\"b\\c\td\x01\xff"), r#""a\"b\\c\td\u{1}\xff""#);
        assert_eq!(quote("é".as_bytes()), "\"é\"");
    }
}
