//! Turning one line into a key (and a value): awk fields, fixed-delimiter fields, regex captures.
//!
//! Everything works on bytes and allocates nothing per line: a single-part key borrows the
//! line, a composite key is built in a buffer the extractor reuses, and regex captures go into
//! capture locations made once per extractor.

use std::ops::Range;

use regex::bytes::{CaptureLocations, Regex};

use crate::filter::{Dropped, LineFilter};
use crate::key::encode_part;
use crate::logtime::{self, TimeReader, TimeSpec};
use crate::structured::{JsonPath, JsonScanner, LogfmtScanner, Member};
use crate::tail_capture::{Found, TailCapture};

/// How a line is split into fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separator {
    /// awk's default: runs of blanks separate fields and leading blanks are ignored.
    Blanks,
    /// Every occurrence of this byte separates two fields, so empty fields count.
    Byte(u8),
}

/// Where the key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// The whole line, like `sort | uniq -c`.
    Line,
    /// Nothing but the line's bucket (`--bucket` with no key flag): lines per bucket.
    Bucket,
    /// One or more fields (1-based; negative counts from the end), in order.
    Fields(Vec<i64>),
    /// Members of a JSON object (`--json-key`), in order.
    Json(Vec<JsonPath>),
    /// Keys of a logfmt line (`--logfmt-key`), in order.
    Logfmt(Vec<Vec<u8>>),
    /// Capture groups of a regex.
    Regex {
        regex: Regex,
        /// The groups forming the key, in order; group 0 is the whole match.
        key_groups: Vec<usize>,
        /// The group holding the value, if the regex names one `value`.
        value_group: Option<usize>,
        /// A faster way to the key, for regexes of the shape it handles.
        tail: Option<TailCapture>,
    },
}

/// What to extract from each line; shared by every worker, which builds its own `Extractor`.
#[derive(Clone, Debug)]
pub struct ExtractSpec {
    pub key: KeySource,
    pub separator: Separator,
    /// Where the value to add instead of 1 is (a regex's `value` group is in `key`).
    pub value: Option<ValueSource>,
    /// `--match` and `--exclude`, applied before anything else.
    pub filter: Option<LineFilter>,
    /// `--bucket`: the key's first part is the start of the bucket of the line's own time.
    pub bucket: Option<Bucketing>,
}

/// Where a line's value is.
#[derive(Clone, Debug)]
pub enum ValueSource {
    /// `--value-field N`.
    Field(i64),
    /// `--json-value PATH`.
    Json(JsonPath),
    /// `--logfmt-value NAME`.
    Logfmt(Vec<u8>),
}

/// How lines are put in time buckets.
#[derive(Clone, Debug)]
pub struct Bucketing {
    pub time: TimeSpec,
    /// The bucket's length in seconds.
    pub width: u64,
}

/// The result of extracting from one line.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The line gives this key and adds this value.
    Key(&'a [u8], i64),
    /// The line lacks what the key or the value is taken from.
    Unmatched(Miss),
    /// The line has a key but its value is not an integer.
    BadValue,
    /// A JSON key or value was asked for and the line is not one JSON object.
    NotJson,
    /// `--match` or `--exclude` dropped the line.
    Filtered(Dropped),
    /// With `--bucket`, the line holds no time that can be read.
    NoTime,
}

/// What an unmatched line lacks, in the terms of the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Miss {
    /// The field of this `--key-field`.
    KeyField(i64),
    /// The field of `--value-field`.
    ValueField(i64),
    /// The regex does not match.
    Regex,
    /// The member of this `--json-key` (counted from 0) is absent or null.
    JsonKey(usize),
    /// The member of `--json-value` is absent or null.
    JsonValue,
    /// The key of this `--logfmt-key` (counted from 0) is absent, or the line is not logfmt.
    LogfmtKey(usize),
    /// The key of `--logfmt-value` is absent, or the line is not logfmt.
    LogfmtValue,
}

/// Why a line has no value.
enum NoValue {
    Missing(Miss),
    Bad,
    NotJson,
}

impl NoValue {
    fn outcome<'a>(self) -> Outcome<'a> {
        match self {
            NoValue::Missing(miss) => Outcome::Unmatched(miss),
            NoValue::Bad => Outcome::BadValue,
            NoValue::NotJson => Outcome::NotJson,
        }
    }
}

/// One worker's extractor: the filters, the time and bucket of a line, and its key and value.
pub struct Extractor {
    filter: Option<LineFilter>,
    bucketer: Option<Bucketer>,
    keys: Keys,
}

/// The bucket of each line, and the key it heads.
struct Bucketer {
    reader: TimeReader,
    width: u64,
    /// Whether the bucket is the whole key (`--bucket` with no key flag).
    alone: bool,
    /// The start of the bucket of the last line that had a time.
    start: Option<i64>,
    /// The last bucketed key: the bucket's text encoded as the key's first part (or as the
    /// whole key), then the line's own parts. Lines of one bucket only change what follows it.
    key: Vec<u8>,
    /// The length of the bucket's part of `key`.
    bucket_len: usize,
    /// The bucket's text, written there before it is encoded into `key`.
    text: Vec<u8>,
}

impl Bucketer {
    /// Leaves `key` holding the bucket of `line`'s time, alone; `false` when the line has none.
    #[inline]
    fn start_key(&mut self, line: &[u8]) -> bool {
        let Some(seconds) = self.reader.seconds(line) else {
            return false;
        };
        let start = logtime::bucket_start(seconds, self.width);
        if self.start != Some(start) {
            self.text.clear();
            logtime::write_rfc3339_utc(start, &mut self.text);
            self.key.clear();
            // A bucket prefixed to an encoded key is an encoded key with one more part.
            encode_part(&mut self.key, &self.text, self.alone);
            self.bucket_len = self.key.len();
            self.start = Some(start);
        }
        self.key.truncate(self.bucket_len);
        true
    }
}

impl Extractor {
    pub fn new(spec: &ExtractSpec) -> Extractor {
        Extractor {
            filter: spec.filter.clone(),
            bucketer: spec.bucket.as_ref().map(|bucket| Bucketer {
                reader: TimeReader::new(&bucket.time),
                width: bucket.width,
                alone: matches!(spec.key, KeySource::Bucket),
                start: None,
                key: Vec::new(),
                bucket_len: 0,
                text: Vec::new(),
            }),
            keys: Keys::new(spec),
        }
    }

    /// Extracts the key and value of `line` (which holds no `\n` and no trailing `\r`).
    #[inline]
    pub fn extract<'a>(&'a mut self, line: &'a [u8]) -> Outcome<'a> {
        if let Some(filter) = &self.filter
            && let Some(dropped) = filter.check(line)
        {
            return Outcome::Filtered(dropped);
        }
        let Some(bucketer) = self.bucketer.as_mut() else {
            return self.keys.extract(line);
        };
        if !bucketer.start_key(line) {
            return Outcome::NoTime;
        }
        if bucketer.alone {
            self.keys.split(line);
            return match self.keys.value(line) {
                Ok(value) => Outcome::Key(&bucketer.key, value),
                Err(no_value) => no_value.outcome(),
            };
        }
        match self.keys.extract(line) {
            Outcome::Key(key, value) => {
                bucketer.key.extend_from_slice(key);
                Outcome::Key(&bucketer.key, value)
            }
            other => other,
        }
    }

    /// The input's time of writing for the lines that follow (see `Block::written_by`): a
    /// syslog time, which has no year, is placed in the year before it.
    pub fn set_written_by(&mut self, at: i64) {
        if let Some(bucketer) = self.bucketer.as_mut() {
            bucketer.reader.set_reference(at);
        }
    }

    /// Where the time of `line` is and what it is, or why it has none; `None` without
    /// `--bucket` (for `--explain`).
    pub fn explain_time(&mut self, line: &[u8]) -> Option<Result<(Range<usize>, i64), String>> {
        let bucketer = self.bucketer.as_mut()?;
        Some(bucketer.reader.explain(line))
    }

    /// The text of `line`'s value when it is not an integer (for `--explain`).
    pub fn value_text(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        let keys = &mut self.keys;
        let text = match keys.spec.value.as_ref() {
            Some(ValueSource::Field(index)) => {
                split_fields(line, keys.spec.separator, usize::MAX, &mut keys.spans);
                field(line, &keys.spans, *index)?.to_vec()
            }
            Some(ValueSource::Json(path)) => match keys.json.lookup(line, path) {
                Member::Found(text) => text.to_vec(),
                Member::Missing | Member::NotJson => return None,
            },
            Some(ValueSource::Logfmt(name)) => keys.logfmt.lookup(line, name)?.to_vec(),
            None => match &keys.spec.key {
                KeySource::Regex {
                    regex,
                    value_group: Some(group),
                    ..
                } => regex
                    .captures(line)?
                    .get(*group)
                    .map_or(Vec::new(), |m| m.as_bytes().to_vec()),
                _ => return None,
            },
        };
        Some(text)
    }

    /// How many fields `line` has, split as the key flags split it (for `--explain`).
    pub fn field_count(&mut self, line: &[u8]) -> usize {
        split_fields(line, self.keys.spec.separator, usize::MAX, &mut self.keys.spans);
        self.keys.spans.len()
    }
}

/// The key and value of a line: the spec plus the buffers it reuses from line to line.
struct Keys {
    spec: ExtractSpec,
    /// The key is this one awk field (counted from 1) and nothing else is needed from the
    /// line: the commonest job, which skips whole words of the line to the field.
    single_blank_field: Option<usize>,
    /// Fields needed from the front of the line: the largest positive index asked for, or
    /// `usize::MAX` when a negative index means every field must be found.
    fields_needed: usize,
    spans: Vec<(usize, usize)>,
    key_buf: Vec<u8>,
    locations: Option<CaptureLocations>,
    /// The groups `TailCapture` finds, last first.
    tail_spans: Vec<(usize, usize)>,
    json: JsonScanner,
    logfmt: LogfmtScanner,
}

impl Keys {
    fn new(spec: &ExtractSpec) -> Keys {
        let mut indexes: Vec<i64> = match spec.value {
            Some(ValueSource::Field(index)) => vec![index],
            _ => Vec::new(),
        };
        if let KeySource::Fields(fields) = &spec.key {
            indexes.extend(fields);
        }
        let fields_needed = if indexes.iter().any(|&i| i < 0) {
            usize::MAX
        } else {
            indexes.iter().map(|&i| i as usize).max().unwrap_or(0)
        };
        let locations = match &spec.key {
            KeySource::Regex { regex, .. } => Some(regex.capture_locations()),
            _ => None,
        };
        let single_blank_field = match (&spec.key, spec.separator, &spec.value) {
            (KeySource::Fields(f), Separator::Blanks, None) if f.len() == 1 && f[0] > 0 => {
                usize::try_from(f[0]).ok()
            }
            _ => None,
        };
        Keys {
            spec: spec.clone(),
            single_blank_field,
            fields_needed,
            spans: Vec::new(),
            key_buf: Vec::new(),
            locations,
            tail_spans: Vec::new(),
            json: JsonScanner::new(),
            logfmt: LogfmtScanner::new(),
        }
    }

    /// Splits `line` into the fields the key and value flags need.
    #[inline]
    fn split(&mut self, line: &[u8]) {
        if self.fields_needed > 0 {
            split_fields(line, self.spec.separator, self.fields_needed, &mut self.spans);
        }
    }

    /// The value of `line`: 1, or what its value flag finds. Fields must have been split.
    #[inline]
    fn value(&mut self, line: &[u8]) -> Result<i64, NoValue> {
        let text = match &self.spec.value {
            None => return Ok(1),
            Some(ValueSource::Field(index)) => {
                field(line, &self.spans, *index).ok_or(NoValue::Missing(Miss::ValueField(*index)))?
            }
            Some(ValueSource::Json(path)) => match self.json.lookup(line, path) {
                Member::Found(text) => text,
                Member::Missing => return Err(NoValue::Missing(Miss::JsonValue)),
                Member::NotJson => return Err(NoValue::NotJson),
            },
            Some(ValueSource::Logfmt(name)) => self
                .logfmt
                .lookup(line, name)
                .ok_or(NoValue::Missing(Miss::LogfmtValue))?,
        };
        parse_value(text).ok_or(NoValue::Bad)
    }

    /// The key and value of `line`.
    #[inline]
    fn extract<'a>(&'a mut self, line: &'a [u8]) -> Outcome<'a> {
        if let Some(n) = self.single_blank_field {
            return match nth_blank_field(line, n) {
                Some(key) => Outcome::Key(key, 1),
                None => Outcome::Unmatched(Miss::KeyField(n as i64)),
            };
        }
        self.split(line);
        let value = match self.value(line) {
            Ok(value) => value,
            Err(no_value) => return no_value.outcome(),
        };
        match &self.spec.key {
            KeySource::Line => Outcome::Key(line, value),
            // `Extractor::extract` keys these lines by their bucket before they come here.
            KeySource::Bucket => Outcome::Key(&line[..0], value),
            KeySource::Fields(indexes) => {
                if let [index] = indexes[..] {
                    return match field(line, &self.spans, index) {
                        Some(key) => Outcome::Key(key, value),
                        None => Outcome::Unmatched(Miss::KeyField(index)),
                    };
                }
                self.key_buf.clear();
                for (i, &index) in indexes.iter().enumerate() {
                    match field(line, &self.spans, index) {
                        Some(part) => encode_part(&mut self.key_buf, part, i + 1 == indexes.len()),
                        None => return Outcome::Unmatched(Miss::KeyField(index)),
                    }
                }
                Outcome::Key(&self.key_buf, value)
            }
            KeySource::Json(paths) => {
                if let [path] = &paths[..] {
                    return match self.json.lookup(line, path) {
                        Member::Found(key) => Outcome::Key(key, value),
                        Member::Missing => Outcome::Unmatched(Miss::JsonKey(0)),
                        Member::NotJson => Outcome::NotJson,
                    };
                }
                self.key_buf.clear();
                for (i, path) in paths.iter().enumerate() {
                    match self.json.lookup(line, path) {
                        Member::Found(part) => encode_part(&mut self.key_buf, part, i + 1 == paths.len()),
                        Member::Missing => return Outcome::Unmatched(Miss::JsonKey(i)),
                        Member::NotJson => return Outcome::NotJson,
                    }
                }
                Outcome::Key(&self.key_buf, value)
            }
            KeySource::Logfmt(names) => {
                if let [name] = &names[..] {
                    return match self.logfmt.lookup(line, name) {
                        Some(key) => Outcome::Key(key, value),
                        None => Outcome::Unmatched(Miss::LogfmtKey(0)),
                    };
                }
                self.key_buf.clear();
                for (i, name) in names.iter().enumerate() {
                    match self.logfmt.lookup(line, name) {
                        Some(part) => encode_part(&mut self.key_buf, part, i + 1 == names.len()),
                        None => return Outcome::Unmatched(Miss::LogfmtKey(i)),
                    }
                }
                Outcome::Key(&self.key_buf, value)
            }
            KeySource::Regex {
                regex,
                key_groups,
                value_group,
                tail,
            } => {
                if let Some(tail) = tail {
                    match tail.find(line, &mut self.tail_spans) {
                        Found::Spans => {
                            let spans = &self.tail_spans;
                            let group = |run: usize| &line[spans[run].0..spans[run].1];
                            let value = match tail.value_run() {
                                None => value,
                                Some(run) => match parse_value(group(run)) {
                                    Some(v) => v,
                                    None => return Outcome::BadValue,
                                },
                            };
                            let runs = tail.key_runs();
                            if let [run] = runs[..] {
                                return Outcome::Key(group(run), value);
                            }
                            self.key_buf.clear();
                            for (i, &run) in runs.iter().enumerate() {
                                encode_part(&mut self.key_buf, group(run), i + 1 == runs.len());
                            }
                            return Outcome::Key(&self.key_buf, value);
                        }
                        Found::NoMatch => return Outcome::Unmatched(Miss::Regex),
                        Found::Unsure => {}
                    }
                }
                // Extractor::new always makes locations for a regex key.
                let Some(locs) = self.locations.as_mut() else {
                    return Outcome::Unmatched(Miss::Regex);
                };
                if regex.captures_read(locs, line).is_none() {
                    return Outcome::Unmatched(Miss::Regex);
                }
                let group = |g: usize| locs.get(g).map_or(&line[..0], |(s, e)| &line[s..e]);
                let value = match value_group {
                    None => value,
                    Some(g) => match parse_value(group(*g)) {
                        Some(v) => v,
                        None => return Outcome::BadValue,
                    },
                };
                if let [g] = key_groups[..] {
                    return Outcome::Key(group(g), value);
                }
                self.key_buf.clear();
                for (i, &g) in key_groups.iter().enumerate() {
                    encode_part(&mut self.key_buf, group(g), i + 1 == key_groups.len());
                }
                Outcome::Key(&self.key_buf, value)
            }
        }
    }
}

/// Finds the spans of the first `needed` fields of `line` (all of them for `usize::MAX`).
fn split_fields(line: &[u8], separator: Separator, needed: usize, spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    match separator {
        Separator::Blanks => split_blanks(line, needed, spans),
        // Like awk with a one-character FS, an empty line has no fields at all.
        Separator::Byte(_) if line.is_empty() => {}
        Separator::Byte(sep) => {
            let mut start = 0;
            for end in memchr::memchr_iter(sep, line) {
                if spans.len() == needed {
                    return;
                }
                spans.push((start, end));
                start = end + 1;
            }
            if spans.len() < needed {
                spans.push((start, line.len()));
            }
        }
    }
}

/// awk field splitting, 32 bytes at a time (see `blanks_at`): a field starts at a non-blank
/// byte after a blank (or the start of the line) and ends at a blank after a non-blank, so the
/// edges of the fields are the bits where the blank mask differs from itself shifted by one,
/// and a field costs a few instructions instead of a few per byte.
fn split_blanks(line: &[u8], needed: usize, spans: &mut Vec<(usize, usize)>) {
    // Bit 0 set when the byte before the chunk is blank; the start of the line counts as one.
    let mut blank_before = 1;
    let mut in_field = false;
    let mut start = 0;
    let mut base = 0;
    while base < line.len() {
        let (blanks, valid) = blanks_at(line, base);
        // Edges alternate, a start first: blank_before is set at the start of the line.
        let mut edges = (blanks ^ ((blanks << 1) | blank_before)) & valid;
        while edges != 0 {
            let at = base + edges.trailing_zeros() as usize;
            if in_field {
                spans.push((start, at));
                if spans.len() == needed {
                    return;
                }
            } else {
                start = at;
            }
            in_field = !in_field;
            edges &= edges - 1;
        }
        blank_before = (blanks >> (CHUNK - 1)) & 1;
        base += CHUNK;
    }
    if in_field {
        spans.push((start, line.len()));
    }
}

/// Bytes looked at together when looking for field `n`.
const CHUNK: usize = 32;

/// awk's field `n` (counted from 1), found by counting field starts 32 bytes at a time: a byte
/// starts a field when it is not blank and the byte before it (or the start of the line) is.
/// Each start costs a bit-clear, with no popcount, which x86-64 lacks without target flags.
fn nth_blank_field(line: &[u8], n: usize) -> Option<&[u8]> {
    let mut remaining = n;
    // Bit 0 set when the byte before the chunk is blank; the start of the line counts as one.
    let mut blank_before = 1;
    let mut base = 0;
    while base < line.len() {
        let (blanks, valid) = blanks_at(line, base);
        let mut starts = !blanks & ((blanks << 1) | blank_before) & valid;
        while starts != 0 {
            remaining -= 1;
            if remaining == 0 {
                let start = base + starts.trailing_zeros() as usize;
                return Some(&line[start..field_end(line, start, base, blanks)]);
            }
            starts &= starts - 1;
        }
        blank_before = (blanks >> (CHUNK - 1)) & 1;
        base += CHUNK;
    }
    None
}

/// The end of the field starting at `start`, inside the chunk at `base` whose blanks are
/// `blanks`: the first blank after it, or the end of the line.
fn field_end(line: &[u8], start: usize, base: usize, blanks: u64) -> usize {
    let later = blanks & !((2u64 << (start - base)) - 1);
    if later != 0 {
        return base + later.trailing_zeros() as usize;
    }
    let mut base = base + CHUNK;
    while base < line.len() {
        let (blanks, _) = blanks_at(line, base);
        if blanks != 0 {
            return base + blanks.trailing_zeros() as usize;
        }
        base += CHUNK;
    }
    line.len()
}

/// The blanks of the (up to) 32 bytes of `line` from `base`, one bit a byte, and the mask of
/// the bits that are bytes of the line.
#[inline]
fn blanks_at(line: &[u8], base: usize) -> (u64, u64) {
    match line
        .get(base..base + CHUNK)
        .and_then(|chunk| <&[u8; CHUNK]>::try_from(chunk).ok())
    {
        Some(chunk) => (blank_mask(chunk), (1 << CHUNK) - 1),
        None => {
            let rest = &line[base..];
            let mut padded = [0; CHUNK];
            padded[..rest.len()].copy_from_slice(rest);
            let valid = (1 << rest.len()) - 1;
            (blank_mask(&padded) & valid, valid)
        }
    }
}

/// Bit `i` set when byte `i` of `chunk` is a space or a tab.
#[cfg(target_arch = "x86_64")]
#[inline]
fn blank_mask(chunk: &[u8; CHUNK]) -> u64 {
    let (low, high) = chunk.split_at(16);
    let half = |bytes: &[u8]| {
        let bytes = <&[u8; 16]>::try_from(bytes).ok().copied().unwrap_or_default();
        // SAFETY: SSE2 is part of every x86-64 CPU.
        unsafe { blank_mask_16(&bytes) }
    };
    half(low) | (half(high) << 16)
}

/// `blank_mask` of 16 bytes with SSE2 compares.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "sse2")]
fn blank_mask_16(bytes: &[u8; 16]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: an unaligned load of the 16 bytes `bytes` refers to.
    let bytes = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
    let spaces = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b' ' as i8));
    let tabs = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\t' as i8));
    u64::from(_mm_movemask_epi8(_mm_or_si128(spaces, tabs)) as u16)
}

/// Bit `i` set when byte `i` of `chunk` is a space or a tab.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn blank_mask(chunk: &[u8; CHUNK]) -> u64 {
    blank_mask_portable(chunk)
}

/// `blank_mask` a byte at a time: the one other architectures use, tested against SSE2's.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
fn blank_mask_portable(chunk: &[u8; CHUNK]) -> u64 {
    let mut mask = 0;
    for (i, &b) in chunk.iter().enumerate() {
        mask |= u64::from(b == b' ' || b == b'\t') << i;
    }
    mask
}

/// Field `index` (1-based, negative from the end) among the spans found.
#[inline]
fn field<'a>(line: &'a [u8], spans: &[(usize, usize)], index: i64) -> Option<&'a [u8]> {
    let position = if index > 0 {
        usize::try_from(index - 1).ok()?
    } else {
        spans
            .len()
            .checked_sub(usize::try_from(index.unsigned_abs()).ok()?)?
    };
    spans.get(position).map(|&(s, e)| &line[s..e])
}

/// Parses a value: a base-10 integer with an optional sign, or `-` (Apache's "no bytes"),
/// which is 0. Anything else, including decimals and numbers beyond 64 bits, is `None`.
pub fn parse_value(text: &[u8]) -> Option<i64> {
    match text {
        b"-" => Some(0),
        // Through the magnitude, so that -9223372036854775808 (i64::MIN) is a value too.
        [b'-', digits @ ..] => 0i64.checked_sub_unsigned(parse_digits(digits)?),
        [b'+', digits @ ..] => i64::try_from(parse_digits(digits)?).ok(),
        digits => i64::try_from(parse_digits(digits)?).ok(),
    }
}

fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SSE2 masks and the byte-at-a-time ones agree on every byte in every position.
    #[test]
    fn blank_masks_agree_with_the_portable_one() {
        for byte in 0..=255u8 {
            for at in 0..CHUNK {
                let mut chunk = [b'x'; CHUNK];
                chunk[at] = byte;
                chunk[(at + 7) % CHUNK] = b'\t';
                assert_eq!(
                    blank_mask(&chunk),
                    blank_mask_portable(&chunk),
                    "byte {byte} at {at}"
                );
            }
        }
    }
    use crate::key::KeySchema;

    fn fields(indexes: &[i64], separator: Separator) -> Extractor {
        Extractor::new(&ExtractSpec {
            key: KeySource::Fields(indexes.to_vec()),
            separator,
            value: None,
            filter: None,
            bucket: None,
        })
    }

    fn key(ex: &mut Extractor, line: &[u8]) -> Option<Vec<u8>> {
        match ex.extract(line) {
            Outcome::Key(k, _) => Some(k.to_vec()),
            _ => None,
        }
    }

    #[test]
    fn awk_fields_skip_runs_of_blanks() {
        let mut ex = fields(&[2], Separator::Blanks);
        assert_eq!(key(&mut ex, b"  a \t b  c").as_deref(), Some(&b"b"[..]));
        assert_eq!(key(&mut ex, b"a\x0bb \rc").as_deref(), Some(&b"\rc"[..]));
        assert_eq!(key(&mut ex, b"only"), None);
        assert_eq!(key(&mut ex, b"   "), None);
        assert_eq!(key(&mut ex, b""), None);
    }

    /// The plain per-byte definition that `split_blanks` must agree with.
    fn naive_fields(line: &[u8]) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        let mut i = 0;
        while i < line.len() {
            if line[i] == b' ' || line[i] == b'\t' {
                i += 1;
                continue;
            }
            let start = i;
            while i < line.len() && line[i] != b' ' && line[i] != b'\t' {
                i += 1;
            }
            spans.push((start, i));
        }
        spans
    }

    #[test]
    fn word_at_a_time_splitting_matches_the_definition() {
        // Every line over an alphabet of blanks, near-blanks and bytes with the high bit set,
        // at every length up to 72 (three 32-byte chunks), exhaustively for short ones and
        // sampled beyond.
        let alphabet = [b' ', b'\t', b'a', 0x00, 0x20 | 0x80, 0x09 | 0x80, 0xff, b'\r'];
        let mut spans = Vec::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..=72usize {
            let cases = if len <= 5 {
                alphabet.len().pow(len as u32)
            } else {
                4000
            };
            for case in 0..cases {
                let line: Vec<u8> = (0..len)
                    .map(|i| {
                        if len <= 5 {
                            alphabet[case / alphabet.len().pow(i as u32) % alphabet.len()]
                        } else {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            alphabet[(seed % alphabet.len() as u64) as usize]
                        }
                    })
                    .collect();
                let all = naive_fields(&line);
                for needed in [1, 2, 3, usize::MAX] {
                    split_fields(&line, Separator::Blanks, needed, &mut spans);
                    assert_eq!(spans, all[..all.len().min(needed)], "{line:?} needed {needed}");
                }
                for n in 1..=all.len() + 1 {
                    let expected = all.get(n - 1).map(|&(s, e)| &line[s..e]);
                    assert_eq!(nth_blank_field(&line, n), expected, "{line:?} field {n}");
                }
            }
        }
    }

    #[test]
    fn negative_fields_count_from_the_end() {
        let mut ex = fields(&[-1], Separator::Blanks);
        assert_eq!(key(&mut ex, b"a b c ").as_deref(), Some(&b"c"[..]));
        let mut ex = fields(&[-3], Separator::Blanks);
        assert_eq!(key(&mut ex, b"a b c").as_deref(), Some(&b"a"[..]));
        assert_eq!(key(&mut ex, b"b c"), None);
        let mut ex = fields(&[i64::MIN], Separator::Blanks);
        assert_eq!(key(&mut ex, b"a b c"), None);
    }

    #[test]
    fn delimiter_keeps_empty_fields() {
        let mut ex = fields(&[2], Separator::Byte(b','));
        assert_eq!(key(&mut ex, b"a,,c").as_deref(), Some(&b""[..]));
        assert_eq!(key(&mut ex, b"a,b").as_deref(), Some(&b"b"[..]));
        assert_eq!(key(&mut ex, b"a"), None);
        let mut ex = fields(&[1], Separator::Byte(b','));
        assert_eq!(key(&mut ex, b""), None);
        assert_eq!(key(&mut ex, b",").as_deref(), Some(&b""[..]));
        let mut ex = fields(&[-1], Separator::Byte(b','));
        assert_eq!(key(&mut ex, b"a,b,").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn composite_field_key() {
        let mut ex = fields(&[3, 1], Separator::Blanks);
        let k = key(&mut ex, b"x y z").unwrap();
        let parts: Vec<&[u8]> = KeySchema::numbered(2).parts_of(&k).collect();
        assert_eq!(parts, [&b"z"[..], &b"x"[..]]);
        assert_eq!(key(&mut ex, b"x y"), None);
    }

    #[test]
    fn value_field_is_added() {
        let mut ex = Extractor::new(&ExtractSpec {
            key: KeySource::Fields(vec![1]),
            separator: Separator::Blanks,
            value: Some(ValueSource::Field(2)),
            filter: None,
            bucket: None,
        });
        assert_eq!(ex.extract(b"a 42"), Outcome::Key(b"a", 42));
        assert_eq!(ex.extract(b"a -"), Outcome::Key(b"a", 0));
        assert_eq!(ex.extract(b"a 1.5"), Outcome::BadValue);
        assert_eq!(ex.extract(b"a"), Outcome::Unmatched(Miss::ValueField(2)));
    }

    #[test]
    fn regex_groups() {
        let spec = |re: &str, key_groups: Vec<usize>, value_group| ExtractSpec {
            key: KeySource::Regex {
                regex: Regex::new(re).unwrap(),
                tail: TailCapture::new(re, &key_groups, value_group),
                key_groups,
                value_group,
            },
            separator: Separator::Blanks,
            value: None,
            filter: None,
            bucket: None,
        };
        let mut ex = Extractor::new(&spec(r#""[A-Z]+ (\S+)"#, vec![1], None));
        assert_eq!(ex.extract(b"x \"GET /a HTTP\""), Outcome::Key(b"/a", 1));
        assert_eq!(ex.extract(b"no request"), Outcome::Unmatched(Miss::Regex));
        let mut ex = Extractor::new(&spec(r"(?P<k>\w+)=(?P<value>\S+)", vec![1], Some(2)));
        assert_eq!(ex.extract(b"bytes=12"), Outcome::Key(b"bytes", 12));
        assert_eq!(ex.extract(b"bytes=x"), Outcome::BadValue);
        let mut ex = Extractor::new(&spec(r"(a)?b", vec![1], None));
        assert_eq!(ex.extract(b"b"), Outcome::Key(b"", 1));
    }

    #[test]
    fn values_parse_as_integers_only() {
        assert_eq!(parse_value(b"0"), Some(0));
        assert_eq!(parse_value(b"+7"), Some(7));
        assert_eq!(parse_value(b"-7"), Some(-7));
        assert_eq!(parse_value(b"-"), Some(0));
        assert_eq!(parse_value(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_value(b"9223372036854775808"), None);
        assert_eq!(parse_value(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_value(b"-9223372036854775809"), None);
        assert_eq!(parse_value(b""), None);
        assert_eq!(parse_value(b"+"), None);
        assert_eq!(parse_value(b"1e3"), None);
        assert_eq!(parse_value(b" 1"), None);
    }
}
