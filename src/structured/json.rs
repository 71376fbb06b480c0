//! One member of a JSON line, for `--json-key` and `--json-value`: a single scan that checks the
//! line is one JSON object and keeps only the value the path leads to, without building a
//! document.
//!
//! Strings are skipped 32 bytes at a time (the bytes that matter inside a string are `"`, `\`
//! and control characters); nested values are skipped by a recursive descent that checks
//! their syntax on the way; member names are compared as raw bytes unless they hold a backslash.
//! The value found is a slice of the line when it needs no decoding, and is otherwise decoded
//! into a buffer the scanner keeps from line to line, so a line costs no allocation.

use super::escape::{BadEscape, escape_end, unescape_into, write_jq_string};
use super::path::JsonPath;

/// What a path gives on one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    /// The value, as `jq -r PATH` prints it (see `JsonScanner` for the details).
    Found(&'a [u8]),
    /// The member is absent or `null`, or the path crosses something that is not an object
    /// (an array, a string, a number...).
    Missing,
    /// The line is not one JSON object, or the value found is not valid UTF-8.
    NotJson,
}

/// Finds the member a `JsonPath` names in JSON lines, reusing its buffers from line to line.
///
/// What a line gives, compared with `jq -r PATH` (jq 1.6):
///
/// - A string: its text, escapes decoded. A `\uXXXX` escape that is half of a UTF-16 surrogate
///   pair without its other half becomes U+FFFD (jq does so for a lone low surrogate and refuses
///   the line for a lone high one).
/// - A number: the literal as the line writes it. jq rewrites some numbers through a double
///   (`1e3` → `1000`, `1.50` → `1.5`, `100000000000000000000000` → `1e+23`); statbuf keeps the
///   literal, so that `1.50` and `1.5` stay two keys if the log writes them so.
/// - `true`, `false`: that word. `null`, or no such member: `Missing` (jq prints `null`).
/// - An object or an array: compact JSON as `jq -c` prints it: no whitespace outside strings,
///   strings re-escaped as jq escapes them (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00XX`
///   for other control characters and DEL, everything else as UTF-8). Two differences: numbers
///   inside stay as written, and an inner object with a duplicate member keeps both, where jq
///   keeps the last one in the place of the first.
/// - A path through an array, a string, a number or a boolean (`.a.b` where `a` is `[...]`):
///   `Missing`, where jq stops with an error; through `null`: `Missing`, as jq's `null`.
/// - Duplicate members: the last one counts, at every level, as in jq.
///
/// The line must be one JSON object (RFC 8259), with JSON whitespace around it; anything else
/// is `NotJson`: a truncated object, trailing bytes, several values, a byte-order mark, an
/// array or a scalar at the top, an invalid escape, a control character inside a string, a
/// number jq takes but JSON does not (`01`, `.5`, `1.`, `NaN`), or objects and arrays nested
/// more than 255 deep (jq's limit). So is a value found whose text is not valid UTF-8 (jq would
/// print U+FFFD in place of the bad bytes). Bytes that are not UTF-8 elsewhere in the line,
/// inside strings that are not the value, are let be, as jq lets them be; a member name that
/// holds them matches no path (jq would read them as U+FFFD).
#[derive(Debug, Default)]
pub struct JsonScanner {
    /// The value, when it must be decoded or compacted.
    value: Vec<u8>,
    /// A member name or an inner string being decoded.
    text: Vec<u8>,
}

impl JsonScanner {
    /// A scanner with empty buffers.
    pub fn new() -> JsonScanner {
        JsonScanner::default()
    }

    /// What `path` gives on `line` (which holds one JSON object, or is `NotJson`).
    pub fn lookup<'a>(&'a mut self, line: &'a [u8], path: &JsonPath) -> Member<'a> {
        let mut cursor = Cursor {
            line,
            at: 0,
            names: &mut self.text,
        };
        cursor.skip_blanks();
        if cursor.peek() != Some(b'{') {
            return Member::NotJson;
        }
        let Ok(found) = cursor.object(path.members(), 1) else {
            return Member::NotJson;
        };
        cursor.skip_blanks();
        if cursor.at != line.len() {
            return Member::NotJson;
        }
        match found {
            None => Member::Missing,
            Some(value) => self.render(line, value),
        }
    }

    /// The text of a value found in `line`.
    fn render<'a>(&'a mut self, line: &'a [u8], value: Value) -> Member<'a> {
        let json = &line[value.start..value.end];
        let text: &[u8] = match value.kind {
            Kind::Scalar => return Member::Found(json),
            Kind::Text { escaped: false } => json,
            Kind::Text { escaped: true } => {
                self.value.clear();
                if unescape_into(json, &mut self.value).is_err() {
                    return Member::NotJson;
                }
                &self.value
            }
            Kind::Nested => {
                self.value.clear();
                if compact_into(json, &mut self.value, &mut self.text).is_err() {
                    return Member::NotJson;
                }
                &self.value
            }
        };
        // Most values are ASCII, which a word-at-a-time test says faster than `from_utf8`.
        if text.is_ascii() || std::str::from_utf8(text).is_ok() {
            Member::Found(text)
        } else {
            Member::NotJson
        }
    }
}

/// Objects and arrays nested deeper than this (the top object is 1) make a line `NotJson`, as
/// jq 1.6 refuses them; the limit also bounds the scanner's recursion.
const MAX_DEPTH: usize = 255;

/// The line is not one JSON object.
#[derive(Debug)]
struct Invalid;

impl From<BadEscape> for Invalid {
    fn from(_: BadEscape) -> Invalid {
        Invalid
    }
}

/// What kind of value was found, for turning it into text.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A string; its span is what stands between the quotes.
    Text { escaped: bool },
    /// A number, `true` or `false`: printed as written.
    Scalar,
    /// An object or an array.
    Nested,
}

/// A value found, by its span in the line.
#[derive(Clone, Copy, Debug)]
struct Value {
    start: usize,
    end: usize,
    kind: Kind,
}

/// A position in a line being scanned.
struct Cursor<'a, 's> {
    line: &'a [u8],
    at: usize,
    /// Where member names with escapes are decoded to be compared.
    names: &'s mut Vec<u8>,
}

impl Cursor<'_, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.line.get(self.at).copied()
    }

    #[inline]
    fn skip_blanks(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The object whose `{` is at the cursor, at nesting level `depth`: moves past its `}` and
    /// returns the value `path` leads to inside it, if any (always `None` for an empty path,
    /// which skips the object).
    fn object(&mut self, path: &[String], depth: usize) -> Result<Option<Value>, Invalid> {
        if !self.enter(depth, b'}')? {
            return Ok(None);
        }
        let mut found = None;
        loop {
            if self.peek() != Some(b'"') {
                return Err(Invalid);
            }
            let name_start = self.at + 1;
            let escaped = self.string()?;
            let name = (name_start, self.at - 1, escaped);
            self.skip_blanks();
            if self.peek() != Some(b':') {
                return Err(Invalid);
            }
            self.at += 1;
            self.skip_blanks();
            match path.split_first() {
                // Every match replaces the one before: the last duplicate counts.
                Some((wanted, rest)) if self.name_is(name, wanted) => {
                    found = if rest.is_empty() {
                        self.value_found(depth)?
                    } else if self.peek() == Some(b'{') {
                        self.object(rest, depth + 1)?
                    } else {
                        self.skip(depth)?;
                        None
                    };
                }
                _ => self.skip(depth)?,
            }
            if !self.another(b'}')? {
                return Ok(found);
            }
        }
    }

    /// Whether the member name spanning `start..end` (escaped or not) is `wanted`.
    #[inline]
    fn name_is(&mut self, (start, end, escaped): (usize, usize, bool), wanted: &str) -> bool {
        let raw = &self.line[start..end];
        if !escaped {
            return raw == wanted.as_bytes();
        }
        self.names.clear();
        unescape_into(raw, self.names).is_ok() && self.names[..] == *wanted.as_bytes()
    }

    /// The value at the cursor, in an object at nesting level `depth`, as the value the path
    /// leads to: `None` for `null`.
    fn value_found(&mut self, depth: usize) -> Result<Option<Value>, Invalid> {
        let start = self.at;
        let kind = match self.value(depth)? {
            None => return Ok(None),
            Some(kind) => kind,
        };
        let (start, end) = match kind {
            Kind::Text { .. } => (start + 1, self.at - 1),
            _ => (start, self.at),
        };
        Ok(Some(Value { start, end, kind }))
    }

    /// Skips the value at the cursor, inside a container at nesting level `depth`: strings
    /// and numbers (most values of a log line) here, without the call `value` costs.
    #[inline(always)]
    fn skip(&mut self, depth: usize) -> Result<(), Invalid> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'0'..=b'9') => self.number(),
            _ => self.value(depth).map(drop),
        }
    }

    /// Skips the value at the cursor, inside a container at nesting level `depth`, and says
    /// what kind it was (`None` for `null`).
    fn value(&mut self, depth: usize) -> Result<Option<Kind>, Invalid> {
        let kind = match self.peek() {
            Some(b'"') => Kind::Text {
                escaped: self.string()?,
            },
            Some(b'{') => {
                self.object(&[], depth + 1)?;
                Kind::Nested
            }
            Some(b'[') => {
                self.array(depth + 1)?;
                Kind::Nested
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Kind::Scalar
            }
            Some(b't') => self.word(b"true")?,
            Some(b'f') => self.word(b"false")?,
            Some(b'n') => {
                self.word(b"null")?;
                return Ok(None);
            }
            _ => return Err(Invalid),
        };
        Ok(Some(kind))
    }

    /// Skips the array whose `[` is at the cursor, at nesting level `depth`.
    fn array(&mut self, depth: usize) -> Result<(), Invalid> {
        if self.enter(depth, b']')? {
            self.skip(depth)?;
            while self.another(b']')? {
                self.skip(depth)?;
            }
        }
        Ok(())
    }

    /// Enters the object or array whose opening bracket is at the cursor, at nesting level
    /// `depth`: `false` when it is empty, and the cursor past its `close`.
    #[inline]
    fn enter(&mut self, depth: usize, close: u8) -> Result<bool, Invalid> {
        if depth > MAX_DEPTH {
            return Err(Invalid);
        }
        self.at += 1;
        self.skip_blanks();
        if self.peek() == Some(close) {
            self.at += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// Moves past what follows an element of an object or array: `true` for a `,` (and the
    /// blanks after it), `false` for the `close` that ends the container.
    #[inline]
    fn another(&mut self, close: u8) -> Result<bool, Invalid> {
        self.skip_blanks();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                self.skip_blanks();
                Ok(true)
            }
            Some(byte) if byte == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Invalid),
        }
    }

    /// Skips the string whose opening quote is at the cursor; says whether it holds escapes.
    #[inline]
    fn string(&mut self) -> Result<bool, Invalid> {
        let (close, escaped) = closing_quote(self.line, self.at + 1)?;
        self.at = close + 1;
        Ok(escaped)
    }

    /// Skips a number: `-`, then `0` or digits not starting with `0`, then an optional
    /// fraction and an optional exponent, each with at least one digit.
    fn number(&mut self) -> Result<(), Invalid> {
        let line = self.line;
        let mut at = self.at;
        if line.get(at) == Some(&b'-') {
            at += 1;
        }
        at = match line.get(at) {
            Some(b'0') => at + 1,
            Some(b'1'..=b'9') => digits_end(line, at + 1),
            _ => return Err(Invalid),
        };
        if line.get(at) == Some(&b'.') {
            at = some_digits_end(line, at + 1)?;
        }
        if let Some(b'e' | b'E') = line.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = line.get(at) {
                at += 1;
            }
            at = some_digits_end(line, at)?;
        }
        self.at = at;
        Ok(())
    }

    /// Skips `word` (`true` or `false` or `null`) at the cursor.
    fn word(&mut self, word: &[u8]) -> Result<Kind, Invalid> {
        if !self.line[self.at..].starts_with(word) {
            return Err(Invalid);
        }
        self.at += word.len();
        Ok(Kind::Scalar)
    }
}

/// The end of the run of ASCII digits starting at `at`.
#[inline]
fn digits_end(line: &[u8], at: usize) -> usize {
    let run = line.get(at..).unwrap_or_default();
    at + run.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The end of a run of at least one ASCII digit starting at `at`.
#[inline]
fn some_digits_end(line: &[u8], at: usize) -> Result<usize, Invalid> {
    match digits_end(line, at) {
        end if end > at => Ok(end),
        _ => Err(Invalid),
    }
}

/// The closing quote of the string whose contents start at `from`, and whether the string
/// holds escapes; `Invalid` for a bad escape, a control character or no closing quote.
/// Always inlined: a log line has a few dozen strings, and as a call it saved and restored six
/// registers for each of them.
#[inline(always)]
fn closing_quote(line: &[u8], from: usize) -> Result<(usize, bool), Invalid> {
    let mut at = from;
    let mut escaped = false;
    loop {
        at = next_special(line, at);
        match line.get(at) {
            Some(b'"') => return Ok((at, escaped)),
            Some(b'\\') => {
                escaped = true;
                at = escape_end(line, at)?;
            }
            // A control character, or the end of the line.
            _ => return Err(Invalid),
        }
    }
}

/// The first byte from `at` on that is special inside a string (`"`, `\` or a control
/// character), or the end of the line: 32 bytes at a time with SSE2, so that most strings of a
/// log line end within the first look (the loop's exit is then easy to predict).
#[cfg(target_arch = "x86_64")]
#[inline]
fn next_special(line: &[u8], mut at: usize) -> usize {
    while let Some(chunk) = line.get(at..at + 32).and_then(<[u8]>::first_chunk::<32>) {
        let special = special_mask_32(chunk);
        if special != 0 {
            return at + special.trailing_zeros() as usize;
        }
        at += 32;
    }
    let rest = line.get(at..).unwrap_or_default();
    // The last bytes, padded with bytes that are not special.
    let mut padded = [b' '; 32];
    padded[..rest.len()].copy_from_slice(rest);
    match special_mask_32(&padded) {
        0 => line.len(),
        special => at + special.trailing_zeros() as usize,
    }
}

/// Bit `i` set when byte `i` of `bytes` is special inside a string.
#[cfg(target_arch = "x86_64")]
#[inline]
fn special_mask_32(bytes: &[u8; 32]) -> u32 {
    let (low, high) = bytes.split_at(16);
    let half = |bytes: &[u8]| {
        let bytes = <&[u8; 16]>::try_from(bytes).ok().copied().unwrap_or_default();
        // SAFETY: SSE2 is part of every x86-64 CPU.
        unsafe { special_mask_16(&bytes) }
    };
    half(low) | half(high) << 16
}

/// Bit `i` set when byte `i` of `bytes` is special inside a string; a control character is a
/// byte that its unsigned minimum with 0x1f leaves unchanged.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "sse2")]
fn special_mask_16(bytes: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: an unaligned load of the 16 bytes `bytes` refers to.
    let bytes = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
    let quotes = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
    let backslashes = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
    let controls = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes);
    let special = _mm_or_si128(_mm_or_si128(quotes, backslashes), controls);
    _mm_movemask_epi8(special) as u32
}

/// `next_special` on other architectures.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn next_special(line: &[u8], at: usize) -> usize {
    next_special_portable(line, at)
}

/// Eight copies of a byte.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// `next_special` eight bytes at a time with the usual SWAR tests, whose lowest flagged byte
/// is always a true one (a borrow only flags bytes above a true match): the one other
/// architectures use, tested against SSE2's.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
#[inline]
fn next_special_portable(line: &[u8], mut at: usize) -> usize {
    const LOW: u64 = splat(0x01);
    const HIGH: u64 = splat(0x80);
    while let Some(chunk) = line.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*chunk);
        let quote = word ^ splat(b'"');
        let backslash = word ^ splat(b'\\');
        let zero_byte = |w: u64| w.wrapping_sub(LOW) & !w;
        let below_space = word.wrapping_sub(splat(0x20)) & !word;
        let special = (zero_byte(quote) | zero_byte(backslash) | below_space) & HIGH;
        if special != 0 {
            return at + (special.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let rest = line.get(at..).unwrap_or_default();
    at + rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(rest.len())
}

/// Appends the object or array `json` (whose syntax was checked) to `out` as `jq -c` prints
/// it; `text` is a buffer for decoding its strings.
fn compact_into(json: &[u8], out: &mut Vec<u8>, text: &mut Vec<u8>) -> Result<(), Invalid> {
    let mut at = 0;
    while let Some(&byte) = json.get(at) {
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => at += 1,
            b'"' => {
                let (close, _) = closing_quote(json, at + 1)?;
                text.clear();
                unescape_into(&json[at + 1..close], text)?;
                write_jq_string(text, out);
                at = close + 1;
            }
            _ => {
                out.push(byte);
                at += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
