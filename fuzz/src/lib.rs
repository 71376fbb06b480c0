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
            | (Expected::BadValue, Outcome::BadValue)
            | (Expected::UnmatchedOrBadValue, Outcome::Unmatched(_) | Outcome::BadValue) => {}
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

// ------------------------------------------------------------------------------------------
// JSON lines
// ------------------------------------------------------------------------------------------

/// Paths for `check_json`: members that are prefixes of each other, nested members, names
/// that need quotes, and the empty name.
pub const JSON_PATHS: &[&str] = &[
    ".a",
    ".ab",
    ".a.b",
    ".b.a",
    ".a.a.a",
    r#"."""#,
    r#"."a b""#,
    r#".["a.b"]"#,
    r#"."é""#,
];

/// The deepest nesting of objects and arrays the documentation promises to read.
const JSON_MAX_DEPTH: usize = 255;

/// serde_json's two readings of a line: whether its syntax is one JSON object (serde's
/// `IgnoredAny`, which checks escapes but neither UTF-8 nor surrogate pairs, after a `{`), and
/// the object itself when serde_json also takes its text (valid UTF-8, paired surrogates,
/// nesting within its own limit of 128).
fn serde_reading(line: &[u8]) -> (bool, Option<serde_json::Map<String, serde_json::Value>>) {
    let starts_an_object = line.iter().find(|b| !b" \t\n\r".contains(b)) == Some(&b'{');
    let syntax = starts_an_object && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
    let object = match serde_json::from_slice(line) {
        Ok(serde_json::Value::Object(map)) if syntax => Some(map),
        _ => None,
    };
    (syntax, object)
}

/// The deepest nesting of `[` and `{` in `line`, outside strings (a plain count, for lines
/// whose syntax is known to be right).
fn nesting(line: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut bytes = line.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'"' => {
                while let Some(&c) = bytes.next() {
                    if c == b'\\' {
                        bytes.next();
                    } else if c == b'"' {
                        break;
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Whether JSON text `json` holds whitespace outside its strings.
fn has_blanks_outside_strings(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, false, b'"') => in_string = !in_string,
            (false, _, b' ' | b'\t' | b'\n' | b'\r') => return true,
            _ => {}
        }
    }
    false
}

/// Checks `statbuf::structured::JsonScanner` on `line` for `path`:
///
/// - a line whose syntax serde_json refuses, or that is not an object, is `NotJson`;
/// - a line serde_json reads as an object, or whose syntax it takes when the line is valid
///   UTF-8 and nested at most 255 deep, is not `NotJson`;
/// - where serde_json reads the object, the value follows jq's reading of the path: `null`, no
///   member, or a member that is not an object on the way is `Missing`; a string is its text
///   exactly; anything else, read back by serde_json, is the same value, and an object or an
///   array holds no whitespace outside its strings;
/// - a value found is valid UTF-8.
pub fn check_json(path: &str, line: &[u8]) {
    let parsed = statbuf::structured::JsonPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut scanner = statbuf::structured::JsonScanner::new();
    let member = scanner.lookup(line, &parsed);
    let what = || format!("{path} on {}: statbuf says {member:?}", show(line));
    let not_json = member == statbuf::structured::Member::NotJson;
    let (syntax, object) = serde_reading(line);
    if !syntax {
        assert!(not_json, "serde_json refuses the line: {}", what());
    }
    let readable = std::str::from_utf8(line).is_ok() && nesting(line) <= JSON_MAX_DEPTH;
    if object.is_some() || (syntax && readable) {
        assert!(!not_json, "serde_json takes the line: {}", what());
    }
    if let statbuf::structured::Member::Found(text) = member {
        assert!(
            std::str::from_utf8(text).is_ok(),
            "the value is not UTF-8: {}",
            what()
        );
    }
    let Some(object) = object else {
        return;
    };
    let mut value = None;
    let mut members = parsed.members().iter();
    if let Some(first) = members.next() {
        value = object.get(first);
        for name in members {
            value = value.and_then(|v| v.as_object()).and_then(|o| o.get(name));
        }
    }
    match (value, member) {
        (None | Some(serde_json::Value::Null), statbuf::structured::Member::Missing) => {}
        (Some(serde_json::Value::String(want)), statbuf::structured::Member::Found(text)) => {
            assert_eq!(show(text), show(want.as_bytes()), "string of {}", what());
        }
        (Some(want), statbuf::structured::Member::Found(text)) => {
            let back: Result<serde_json::Value, _> = serde_json::from_slice(text);
            assert_eq!(back.ok().as_ref(), Some(want), "read back from {}", what());
            assert!(!has_blanks_outside_strings(text), "not compact: {}", what());
        }
        (want, _) => panic!("{}: serde_json reads {want:?}", what()),
    }
}

/// Picks a path with the first byte of `data` (from `JSON_PATHS`, or, with the high bit set,
/// the text that follows up to a NUL byte, when it is a path) and checks it on the lines of
/// the rest.
pub fn fuzz_json(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (path, rest) = if selector & 0x80 == 0 {
        (
            JSON_PATHS[usize::from(selector) % JSON_PATHS.len()].to_string(),
            rest,
        )
    } else {
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len()).min(64);
        match std::str::from_utf8(&rest[..end]) {
            Ok(text) if statbuf::structured::JsonPath::parse(text).is_ok() => {
                (text.to_string(), &rest[(end + 1).min(rest.len())..])
            }
            _ => return,
        }
    };
    for line in statbuf::input::lines(rest) {
        check_json(&path, line);
    }
}

// ------------------------------------------------------------------------------------------
// logfmt lines
// ------------------------------------------------------------------------------------------

/// go-logfmt's reading of a line (github.com/go-logfmt/logfmt v0.6, `Decoder.ScanKeyval`), as
/// a plain model: every pair in order, or `None` where the decoder stops with a syntax error.
/// It follows the Go code step by step: skip bytes up to the space, read a key up to `=`, a
/// blank or the end, then a bare, empty, unquoted or quoted value.
pub fn go_logfmt_pairs(line: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut pairs = Vec::new();
    let mut pos = 0;
    loop {
        while pos < line.len() && line[pos] <= b' ' {
            pos += 1;
        }
        if pos == line.len() {
            return Some(pairs);
        }
        let start = pos;
        while pos < line.len() && line[pos] > b' ' && line[pos] != b'=' {
            if line[pos] == b'"' {
                return None;
            }
            pos += 1;
        }
        let key = line[start..pos].to_vec();
        if key.is_empty() {
            return None;
        }
        // bytes.ContainsRune(key, utf8.RuneError): a byte that is not UTF-8, or U+FFFD.
        if String::from_utf8_lossy(&key).contains('\u{fffd}') {
            return None;
        }
        if pos == line.len() || line[pos] != b'=' {
            pairs.push((key, Vec::new()));
            continue;
        }
        pos += 1;
        if pos == line.len() || line[pos] <= b' ' {
            pairs.push((key, Vec::new()));
            continue;
        }
        if line[pos] != b'"' {
            let start = pos;
            while pos < line.len() && line[pos] > b' ' {
                if line[pos] == b'=' || line[pos] == b'"' {
                    return None;
                }
                pos += 1;
            }
            pairs.push((key, line[start..pos].to_vec()));
            continue;
        }
        let open = pos;
        let mut has_escape = false;
        let mut escape = false;
        let close = loop {
            pos += 1;
            let c = *line.get(pos)?;
            if escape {
                escape = false;
            } else if c == b'\\' {
                has_escape = true;
                escape = true;
            } else if c == b'"' {
                break pos;
            }
        };
        pos = close + 1;
        let inside = &line[open + 1..close];
        let value = if has_escape {
            go_unquote(inside)?
        } else {
            inside.to_vec()
        };
        pairs.push((key, value));
    }
}

/// encoding/json's unquote as go-logfmt copies it, on the bytes between the quotes.
fn go_unquote(s: &[u8]) -> Option<Vec<u8>> {
    /// strconv.ParseUint of the four bytes after `\u` at `i`, or -1.
    fn getu4(s: &[u8], i: usize) -> i64 {
        match s.get(i..i + 6) {
            Some([b'\\', b'u', hex @ ..]) => std::str::from_utf8(hex)
                .ok()
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| i64::from_str_radix(h, 16).ok())
                .unwrap_or(-1),
            _ => -1,
        }
    }
    let mut t = String::new();
    let mut r = 0;
    while r < s.len() {
        let c = s[r];
        if c == b'\\' {
            r += 1;
            let e = *s.get(r)?;
            let simple = match e {
                b'"' | b'\\' | b'/' | b'\'' => Some(char::from(e)),
                b'b' => Some('\u{8}'),
                b'f' => Some('\u{c}'),
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                b'u' => None,
                _ => return None,
            };
            if let Some(ch) = simple {
                t.push(ch);
                r += 1;
                continue;
            }
            let rr = getu4(s, r - 1);
            if rr < 0 {
                return None;
            }
            r += 5;
            if (0xd800..0xe000).contains(&rr) {
                let rr1 = getu4(s, r);
                // utf16.DecodeRune
                if (0xd800..0xdc00).contains(&rr) && (0xdc00..0xe000).contains(&rr1) {
                    let pair = (((rr - 0xd800) << 10) | (rr1 - 0xdc00)) + 0x10000;
                    t.push(char::from_u32(pair as u32)?);
                    r += 6;
                } else {
                    t.push('\u{fffd}');
                }
            } else {
                t.push(char::from_u32(rr as u32)?);
            }
        } else if c == b'"' || c < b' ' {
            return None;
        } else if c < 0x80 {
            t.push(char::from(c));
            r += 1;
        } else {
            // utf8.DecodeRune: a whole character, or one byte of U+FFFD.
            let upto = s.len().min(r + 4);
            let decoded = (2..=upto - r).rev().find_map(|n| {
                std::str::from_utf8(&s[r..r + n])
                    .ok()
                    .filter(|x| x.chars().count() == 1)
            });
            match decoded {
                Some(ch) => {
                    t.push_str(ch);
                    r += ch.len();
                }
                None => {
                    t.push('\u{fffd}');
                    r += 1;
                }
            }
        }
    }
    Some(t.into_bytes())
}

/// Checks `statbuf::structured::LogfmtScanner` on `line` against go-logfmt's reading of it
/// (`go_logfmt_pairs`): for every key of the line and a few others, the value of its last
/// pair, and nothing at all for a line go-logfmt stops on.
pub fn check_logfmt(line: &[u8]) {
    let pairs = go_logfmt_pairs(line);
    let mut names: Vec<&[u8]> = vec![b"a", b"ab", b"k", b"", b"="];
    names.extend(pairs.iter().flatten().map(|(k, _)| k.as_slice()));
    let mut scanner = statbuf::structured::LogfmtScanner::new();
    for name in names {
        let want = pairs
            .as_ref()
            .and_then(|p| p.iter().rev().find(|(k, _)| k == name))
            .map(|(_, v)| show(v));
        let got = scanner.lookup(line, name).map(show);
        assert_eq!(got, want, "key {} in {}", show(name), show(line));
    }
}

/// Checks `check_logfmt` on each line of `data`.
pub fn fuzz_logfmt(data: &[u8]) {
    for line in statbuf::input::lines(data) {
        check_logfmt(line);
    }
}
