//! Invariants of statbuf's line splitter and key extractors, stated independently of the code
//! they check.
//!
//! The fuzz targets in `fuzz_targets/` check them on whatever libFuzzer generates. The
//! integration tests include this file too (`tests/integration/properties.rs`) and check it over
//! a fixed-seed sample, so that `cargo test` covers the same invariants on a stable toolchain.
//!
//! Each check takes the extractor's spec in a small, decoded form (`FieldKey`, `RegexKey`),
//! builds statbuf's extractor from it through the command line (`Config::from_args`), and
//! compares every outcome with a plain model: awk's field splitting, `str::parse` for values,
//! and `regex::bytes::Regex::captures` for regex keys.

use std::cell::RefCell;
use std::collections::HashMap;

use clap::Parser;
use regex::bytes::Regex;
use statbuf::cli::Args;
use statbuf::config::Config;
use statbuf::extract::{ExtractSpec, Extractor, Outcome};
use statbuf::key::KeySchema;

// ------------------------------------------------------------------------------------------
// Lines
// ------------------------------------------------------------------------------------------

/// Checks `statbuf::input::lines` on `data`: lines are consecutive slices of the input, each
/// followed by `\n`, `\r\n`, a lone `\r` at the very end, or nothing at the very end; no line
/// holds `\n`; a line followed by `\n` alone, or by nothing, does not end in `\r` (one trailing
/// `\r` is dropped); and there is one line per `\n`, plus one for a last line without it.
pub fn check_lines(data: &[u8]) {
    let lines: Vec<&[u8]> = statbuf::input::lines(data).collect();
    let mut at = 0;
    for (i, line) in lines.iter().enumerate() {
        let start = offset_in(data, line)
            .unwrap_or_else(|| panic!("line {i} is not a slice of the input {}", show(data)));
        assert_eq!(
            start,
            at,
            "line {i} does not start where line {} ended: {}",
            i.wrapping_sub(1),
            show(data)
        );
        assert!(!line.contains(&b'\n'), "line {i} holds a newline: {}", show(data));
        let rest = &data[start + line.len()..];
        let ends_in_cr = line.last() == Some(&b'\r');
        let terminator = if rest.starts_with(b"\r\n") {
            2
        } else if rest.starts_with(b"\n") {
            assert!(
                !ends_in_cr,
                "line {i} kept the \\r before its \\n: {}",
                show(data)
            );
            1
        } else if rest == b"\r" {
            1
        } else {
            assert!(
                rest.is_empty(),
                "line {i} stops before the end of its line: {}",
                show(data)
            );
            assert!(!ends_in_cr, "the last line kept its trailing \\r: {}", show(data));
            0
        };
        at = start + line.len() + terminator;
    }
    assert_eq!(at, data.len(), "the lines do not cover the input: {}", show(data));
    let newlines = data.iter().filter(|&&b| b == b'\n').count();
    let unterminated = usize::from(data.last().is_some_and(|&b| b != b'\n'));
    assert_eq!(
        lines.len(),
        newlines + unterminated,
        "line count of {}",
        show(data)
    );
}

// ------------------------------------------------------------------------------------------
// Field keys
// ------------------------------------------------------------------------------------------

/// A key made of fields (`-k`), or the whole line when `fields` is empty, with an optional
/// delimiter (`-d`) and value field (`--value-field`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldKey {
    pub fields: Vec<i64>,
    /// An ASCII byte; `None` splits at runs of blanks like awk.
    pub delimiter: Option<u8>,
    pub value_field: Option<i64>,
}

impl FieldKey {
    /// Decodes a spec from the first bytes of `data` and returns it with the rest.
    ///
    /// Byte 0: bits 0-1 the number of key fields (0 = the whole line), bit 2 a delimiter,
    /// bit 3 a value field. Then one byte per field index (see `index`), the delimiter byte
    /// (taken modulo 128: a delimiter is one ASCII character), the value field's index.
    pub fn decode(data: &[u8]) -> Option<(FieldKey, &[u8])> {
        let (&flags, mut rest) = data.split_first()?;
        let mut take = || {
            let (&b, r) = rest.split_first()?;
            rest = r;
            Some(b)
        };
        let fields = (0..flags & 3)
            .map(|_| take().map(index))
            .collect::<Option<Vec<i64>>>()?;
        let delimiter = if flags & 4 != 0 {
            Some(take()? & 0x7f)
        } else {
            None
        };
        let value_field = if flags & 8 != 0 {
            Some(index(take()?))
        } else {
            None
        };
        let spec = FieldKey {
            fields,
            delimiter,
            value_field,
        };
        Some((spec, rest))
    }

    /// The command-line flags for this key.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = self.fields.iter().map(|n| format!("--key-field={n}")).collect();
        if let Some(d) = self.delimiter {
            args.push(format!("--delimiter={}", char::from(d)));
        }
        if let Some(n) = self.value_field {
            args.push(format!("--value-field={n}"));
        }
        args
    }

    /// Parts in the key: one for a single field or the whole line.
    pub fn parts(&self) -> usize {
        self.fields.len().max(1)
    }

    /// The fields of `line` as this key splits them.
    fn split<'a>(&self, line: &'a [u8]) -> Vec<&'a [u8]> {
        match self.delimiter {
            None => line
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|f| !f.is_empty())
                .collect(),
            // Like awk with a one-character FS: an empty line has no fields at all.
            Some(_) if line.is_empty() => Vec::new(),
            Some(d) => line.split(|&b| b == d).collect(),
        }
    }

    /// What the key flags promise for `line`.
    fn expect<'a>(&self, line: &'a [u8]) -> Expected<'a> {
        let fields = self.split(line);
        let key: Option<Vec<&[u8]>> = if self.fields.is_empty() {
            Some(vec![line])
        } else {
            self.fields.iter().map(|&n| nth(&fields, n)).collect()
        };
        let value = match self.value_field {
            None => Value::Is(1),
            Some(n) => match nth(&fields, n) {
                None => Value::Missing,
                Some(text) => match parse_value(text) {
                    Some(v) => Value::Is(v),
                    None => Value::Bad,
                },
            },
        };
        Expected::from(key, value)
    }
}

/// A field index from one fuzz byte: mostly small positive and negative indexes, sometimes
/// the extremes; never 0, which the command line refuses.
fn index(b: u8) -> i64 {
    match b {
        0 => i64::MAX,
        1 => i64::MIN,
        2 => 1 << 40,
        _ => match i64::from(b as i8) {
            0 => 1,
            n => n / 4 + n.signum(),
        },
    }
}

/// Field `n` (from 1; negative from the end) of `fields`.
fn nth<'a>(fields: &[&'a [u8]], n: i64) -> Option<&'a [u8]> {
    let position = if n > 0 {
        usize::try_from(n - 1).ok()?
    } else {
        fields
            .len()
            .checked_sub(usize::try_from(n.unsigned_abs()).ok()?)?
    };
    fields.get(position).copied()
}

/// The documented value syntax: `-` is 0; otherwise an optional sign and decimal digits that
/// fit in 64 signed bits. `str::parse` says exactly that for the rest.
fn parse_value(text: &[u8]) -> Option<i64> {
    if text == b"-" {
        return Some(0);
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Builds and caches statbuf's extraction spec for a set of flags; `None` when the command
/// line refuses them.
fn spec_for(args: &[String]) -> Option<ExtractSpec> {
    thread_local! {
        static SPECS: RefCell<HashMap<Vec<String>, Option<ExtractSpec>>> = RefCell::new(HashMap::new());
    }
    SPECS.with(|specs| {
        let mut specs = specs.borrow_mut();
        if specs.len() > 4096 {
            specs.clear();
        }
        specs
            .entry(args.to_vec())
            .or_insert_with(|| {
                let argv = std::iter::once("statbuf".to_string()).chain(args.iter().cloned());
                let parsed = Args::try_parse_from(argv).ok()?;
                Config::from_args(parsed).ok().map(|c| c.extract)
            })
            .clone()
    })
}

/// Checks what statbuf's extractor makes of each line against the model, for a field key.
pub fn check_field_key(key: &FieldKey, lines: &[&[u8]]) {
    let spec = spec_for(&key.args()).unwrap_or_else(|| panic!("the command line refuses {:?}", key.args()));
    let mut extractor = Extractor::new(&spec);
    for &line in lines {
        let outcome = extractor.extract(line);
        let what = || format!("{:?} on {}", key.args(), show(line));
        key.expect(line).check(&outcome, key.parts(), line, &what);
        if let Outcome::Key(bytes, _) = outcome {
            let schema = KeySchema::numbered(key.parts());
            for part in schema.decode(bytes) {
                match key.delimiter {
                    _ if key.fields.is_empty() => {}
                    None => assert!(
                        !part.is_empty() && !part.contains(&b' ') && !part.contains(&b'\t'),
                        "an awk field is empty or holds a blank: {} from {}",
                        show(part),
                        what()
                    ),
                    Some(d) => assert!(
                        !part.contains(&d),
                        "a field holds its delimiter: {} from {}",
                        show(part),
                        what()
                    ),
                }
            }
        }
    }
}

/// Decodes a field key from the first bytes of `data` and checks it on the lines of the rest.
pub fn fuzz_field_key(data: &[u8]) {
    let Some((key, rest)) = FieldKey::decode(data) else {
        return;
    };
    let lines: Vec<&[u8]> = statbuf::input::lines(rest).collect();
    check_field_key(&key, &lines);
}

// ------------------------------------------------------------------------------------------
// Regex keys
// ------------------------------------------------------------------------------------------

/// Regexes of the shapes the documentation describes: one group, no group, a group that may
/// not take part, named groups (a composite key), a `value` group, empty matches, anchors, and
/// bytes that are not UTF-8.
pub const PATTERNS: &[&str] = &[
    r#""[A-Z]+ (\S+)"#,
    r#""[A-Z]+ ([^ ?"]+)"#,
    r"x(\S*)",
    r"[a-c]+",
    r"(a)?b",
    r"(?P<first>[a-c]*),(?P<second>\S*)",
    r"(?P<k>\w+)=(?P<value>\S+)",
    r"^(\S*)",
    r"(\s*)$",
    r"(?-u:(\xff+))",
    r"(?P<value>-?\d+) (\w*)",
    r"(?P<value>\d+)",
    r"(?P<a>a|)(?P<b>b*)",
    r" (\S+) \S+$",
    r"\t([^\t]*)\t",
    r"(?P<method>[A-Z]+) (?P<path>[^ ?]+)(?:\?(?P<query>\S*))?",
];

/// A regex key (`-r`) and the model's reading of its groups.
pub struct RegexKey {
    pub pattern: String,
    regex: Regex,
    key_groups: Vec<usize>,
    value_group: Option<usize>,
}

impl RegexKey {
    /// The key for `pattern`, or `None` when the pattern is not a regex the command line takes.
    pub fn new(pattern: &str) -> Option<RegexKey> {
        let regex = Regex::new(pattern).ok()?;
        // The documented reading: the named groups in order form the key (a group named `value`
        // is the value instead); without named groups, the first group; without any, the
        // whole match.
        let mut named = Vec::new();
        let mut value_group = None;
        let mut first_unnamed = None;
        for (i, name) in regex.capture_names().enumerate().skip(1) {
            match name {
                Some("value") => value_group = Some(i),
                Some(_) => named.push(i),
                None => {
                    first_unnamed.get_or_insert(i);
                }
            }
        }
        let key_groups = if named.is_empty() {
            vec![first_unnamed.unwrap_or(0)]
        } else {
            named
        };
        Some(RegexKey {
            pattern: pattern.to_string(),
            regex,
            key_groups,
            value_group,
        })
    }

    fn args(&self) -> Vec<String> {
        vec![format!("--key-regex={}", self.pattern)]
    }

    fn expect<'a>(&self, line: &'a [u8]) -> Expected<'a> {
        let Some(captures) = self.regex.captures(line) else {
            return Expected::Unmatched;
        };
        let group = |g: usize| captures.get(g).map_or(&line[..0], |m| m.as_bytes());
        let value = match self.value_group {
            None => Value::Is(1),
            Some(g) => match parse_value(group(g)) {
                Some(v) => Value::Is(v),
                None => Value::Bad,
            },
        };
        let key = Some(self.key_groups.iter().map(|&g| group(g)).collect());
        Expected::from(key, value)
    }
}

/// Checks what statbuf's extractor makes of each line against the model, for a regex key.
/// A pattern the command line refuses (a group named like an output column) is skipped.
pub fn check_regex_key(key: &RegexKey, lines: &[&[u8]]) {
    let Some(spec) = spec_for(&key.args()) else {
        return;
    };
    let mut extractor = Extractor::new(&spec);
    for &line in lines {
        let outcome = extractor.extract(line);
        let what = || format!("-r {:?} on {}", key.pattern, show(line));
        key.expect(line)
            .check(&outcome, key.key_groups.len(), line, &what);
    }
}

/// Picks a pattern with the first byte of `data` (from `PATTERNS`, or, with the high bit set,
/// the UTF-8 text that follows up to a NUL byte) and checks it on the lines of the rest.
pub fn fuzz_regex_key(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (pattern, rest) = if selector & 0x80 == 0 {
        (PATTERNS[usize::from(selector) % PATTERNS.len()].to_string(), rest)
    } else {
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len()).min(48);
        let Ok(text) = std::str::from_utf8(&rest[..end]) else {
            return;
        };
        (text.to_string(), &rest[(end + 1).min(rest.len())..])
    };
    let lines: Vec<&[u8]> = statbuf::input::lines(rest).collect();
    thread_local! {
        static KEYS: RefCell<HashMap<String, RegexKey>> = RefCell::new(HashMap::new());
    }
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if !keys.contains_key(&pattern) {
            if keys.len() > 1024 {
                keys.clear();
            }
            // Not a regex, or too big to be one.
            let Some(key) = RegexKey::new(&pattern) else {
                return;
            };
            keys.insert(pattern.clone(), key);
        }
        check_regex_key(&keys[&pattern], &lines);
    });
}

// ------------------------------------------------------------------------------------------
// Comparing an outcome with the model
// ------------------------------------------------------------------------------------------

enum Value {
    Is(i64),
    Missing,
    Bad,
}

/// What a line must give.
enum Expected<'a> {
    Key(Vec<&'a [u8]>, i64),
    Unmatched,
    BadValue,
    /// The key is missing and the value is bad: the documentation does not say which wins.
    UnmatchedOrBadValue,
}

impl<'a> Expected<'a> {
    fn from(key: Option<Vec<&'a [u8]>>, value: Value) -> Expected<'a> {
        match (key, value) {
            (_, Value::Missing) => Expected::Unmatched,
            (None, Value::Bad) => Expected::UnmatchedOrBadValue,
            (Some(_), Value::Bad) => Expected::BadValue,
            (None, Value::Is(_)) => Expected::Unmatched,
            (Some(parts), Value::Is(v)) => Expected::Key(parts, v),
        }
    }

    fn check(&self, outcome: &Outcome, parts: usize, line: &[u8], what: &dyn Fn() -> String) {
        match (self, outcome) {
            (Expected::Key(want, value), Outcome::Key(key, got)) => {
                let schema = KeySchema::numbered(parts);
                let decoded: Vec<&[u8]> = schema.decode(key).collect();
                assert_eq!(
                    decoded.iter().map(|p| show(p)).collect::<Vec<_>>(),
                    want.iter().map(|p| show(p)).collect::<Vec<_>>(),
                    "key parts of {}",
                    what()
                );
                assert_eq!(got, value, "value of {}", what());
                if parts == 1 {
                    assert!(
                        offset_in(line, key).is_some(),
                        "a single-part key is not a slice of its line: {}",
                        what()
                    );
                }
            }
            (Expected::Unmatched, Outcome::Unmatched(_))
            | (Expected::BadValue, Outcome::BadValue(_))
            | (Expected::UnmatchedOrBadValue, Outcome::Unmatched(_) | Outcome::BadValue(_)) => {}
            (expected, got) => panic!(
                "{}: expected {}, statbuf says {got:?}",
                what(),
                match expected {
                    Expected::Key(parts, v) => format!(
                        "key {:?} with value {v}",
                        parts.iter().map(|p| show(p)).collect::<Vec<_>>()
                    ),
                    Expected::Unmatched => "unmatched".to_string(),
                    Expected::BadValue => "a bad value".to_string(),
                    Expected::UnmatchedOrBadValue => "unmatched or a bad value".to_string(),
                }
            ),
        }
    }
}

/// Where `part` starts inside `whole`, if it is a slice of it (an empty slice anywhere in or
/// just past `whole` counts).
fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let start = whole.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    (at >= start && at + part.len() <= start + whole.len()).then(|| at - start)
}

/// Bytes for a failure message: printable ASCII as is, the rest escaped.
fn show(bytes: &[u8]) -> String {
    let text = bytes.escape_ascii().to_string();
    if text.len() > 200 {
        format!("\"{}...\" ({} bytes)", &text[..200], bytes.len())
    } else {
        format!("\"{text}\"")
    }
}
