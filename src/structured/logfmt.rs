//! One key of a logfmt line (`ts=... level=info msg="GET /x" status=200`), for `--logfmt-key`
//! and `--logfmt-value`.
//!
//! The reference is the decoder of `github.com/go-logfmt/logfmt` (v0.6), Go kit's logfmt
//! package: a line is read the way its `ScanKeyval` reads one record, byte for byte.

use super::escape::{push_char, unicode_escape};

/// Finds a key's value in logfmt lines, reusing its buffer from line to line.
///
/// A line, as go-logfmt reads it:
///
/// - Pairs are separated by any run of bytes up to and including the space (control
///   characters count as blanks); a quoted value may be followed by the next key at once.
/// - A key is a run of bytes above the space other than `=` and `"`, compared byte for byte
///   with the name looked up.
/// - `key=value`: the value runs to the next blank; it may not hold `=` or `"`.
/// - `key="quoted value"`: the value is between the quotes, where a backslash escapes the next
///   byte. Without a backslash the bytes are taken as they are. With one, they are decoded as
///   go-logfmt decodes them (as Go's encoding/json does): `\"`, `\\`, `\/`, `\'`, `\b`, `\f`,
///   `\n`, `\r`, `\t` and `\uXXXX`, a surrogate pair to one character and an unpaired
///   surrogate to U+FFFD; a byte that is not UTF-8 becomes U+FFFD.
/// - `key=` and `key=""`: the key is there, with an empty value.
/// - A bare `key` with no `=`: the key is there, with an empty value too (go-logfmt gives a
///   nil value, which reads as empty). A line of plain words is thus a line of bare keys.
/// - The same key twice: the last one counts.
///
/// A line go-logfmt stops on with a syntax error is malformed, and gives `None` for every key,
/// even the ones before the error: a `"` inside a key or an unquoted value, an `=` with no key
/// before it or inside an unquoted value (`a=b=c`), a quote that is not closed, a quoted value
/// with escapes whose decoding fails (a bad escape, or a control character next to an escape),
/// a key that is not UTF-8 or holds U+FFFD. So does a line with no pair at all (empty or
/// blank). Unlike go-logfmt, which reads lines of up to 64 KiB, statbuf takes lines of any
/// length.
#[derive(Debug, Default)]
pub struct LogfmtScanner {
    /// The value, when its quotes held escapes to decode.
    value: Vec<u8>,
}

/// A value found, by its span in the line.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    /// A quoted value with a backslash, to be decoded.
    escaped: bool,
}

/// The line is malformed.
struct Malformed;

impl LogfmtScanner {
    /// A scanner with an empty buffer.
    pub fn new() -> LogfmtScanner {
        LogfmtScanner::default()
    }

    /// The value of key `name` in `line`: `None` when the key is absent or the line is
    /// malformed (see `LogfmtScanner`).
    pub fn lookup<'a>(&'a mut self, line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
        let found = self.scan(line, name).ok()??;
        let raw = &line[found.start..found.end];
        if !found.escaped {
            return Some(raw);
        }
        self.value.clear();
        unquote_into(raw, &mut self.value).ok()?;
        Some(&self.value)
    }

    /// The last value of key `name` in `line`, checking the whole line.
    fn scan(&mut self, line: &[u8], name: &[u8]) -> Result<Option<Span>, Malformed> {
        let mut found = None;
        let mut at = 0;
        loop {
            // Blanks (and control characters) before a key.
            at += line[at..].iter().take_while(|&&b| b <= b' ').count();
            if at == line.len() {
                return Ok(found);
            }
            let start = at;
            at += line[at..]
                .iter()
                .take_while(|&&b| b > b' ' && b != b'=' && b != b'"')
                .count();
            let key = &line[start..at];
            if key.is_empty() || line.get(at) == Some(&b'"') {
                return Err(Malformed);
            }
            if !key.is_ascii() && std::str::from_utf8(key).map_or(true, |k| k.contains('\u{fffd}')) {
                return Err(Malformed);
            }
            let value = match line.get(at) {
                Some(b'=') => {
                    at += 1;
                    self.value_at(line, &mut at)?
                }
                // A bare key, at a blank or at the end of the line.
                _ => Span {
                    start: at,
                    end: at,
                    escaped: false,
                },
            };
            if key == name {
                found = Some(value);
            }
        }
    }

    /// The value after an `=` (at `*at`), which the cursor moves past.
    fn value_at(&mut self, line: &[u8], at: &mut usize) -> Result<Span, Malformed> {
        let start = *at;
        if line.get(start) != Some(&b'"') {
            let len = line[start..].iter().take_while(|&&b| b > b' ').count();
            *at = start + len;
            if line[start..*at].iter().any(|&b| b == b'=' || b == b'"') {
                return Err(Malformed);
            }
            return Ok(Span {
                start,
                end: *at,
                escaped: false,
            });
        }
        let mut close = start + 1;
        let mut escaped = false;
        loop {
            match line.get(close) {
                None => return Err(Malformed),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    close += 2;
                }
                Some(_) => close += 1,
            }
        }
        *at = close + 1;
        let span = Span {
            start: start + 1,
            end: close,
            escaped,
        };
        if escaped {
            // Decoded here to see whether it can be, and again if it is the value asked for.
            self.value.clear();
            unquote_into(&line[span.start..span.end], &mut self.value)?;
        }
        Ok(span)
    }
}

/// Appends the decoded contents of a quoted logfmt value (between the quotes) to `out`, as
/// go-logfmt decodes a quoted value that holds a backslash.
fn unquote_into(body: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        match byte {
            b'\\' => {
                let decoded = match body.get(at + 1) {
                    Some(&c @ (b'"' | b'\\' | b'/' | b'\'')) => c,
                    Some(b'b') => 0x08,
                    Some(b'f') => 0x0c,
                    Some(b'n') => b'\n',
                    Some(b'r') => b'\r',
                    Some(b't') => b'\t',
                    Some(b'u') => {
                        let (c, end) = unicode_escape(body, at).ok_or(Malformed)?;
                        push_char(out, c);
                        at = end;
                        continue;
                    }
                    _ => return Err(Malformed),
                };
                out.push(decoded);
                at += 2;
            }
            0x00..=0x1f | b'"' => return Err(Malformed),
            0x20..=0x7f => {
                out.push(byte);
                at += 1;
            }
            _ => {
                // One U+FFFD for each byte of a sequence that is not UTF-8, as Go's DecodeRune
                // reads them.
                let run = &body[at..];
                let end = run.iter().position(|&b| b < 0x80).unwrap_or(run.len());
                for chunk in run[..end].utf8_chunks() {
                    out.extend_from_slice(chunk.valid().as_bytes());
                    for _ in chunk.invalid() {
                        push_char(out, char::REPLACEMENT_CHARACTER);
                    }
                }
                at += end;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
