//! JSON string escapes: reading them (`\n`, `\u00e9`, surrogate pairs) and writing strings back
//! the way `jq -c` prints them.

/// A string body holds a backslash that does not start a JSON escape.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadEscape;

/// The end of the escape whose backslash is at `at` in `text`: `\"`, `\\`, `\/`, `\b`, `\f`,
/// `\n`, `\r`, `\t` are two bytes, `\uXXXX` six; anything else is not JSON.
#[inline]
pub(crate) fn escape_end(text: &[u8], at: usize) -> Result<usize, BadEscape> {
    match text.get(at + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
        Some(b'u') => match text.get(at + 2..at + 6) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => Ok(at + 6),
            _ => Err(BadEscape),
        },
        _ => Err(BadEscape),
    }
}

/// The code unit of the `\uXXXX` escape at `at` in `text`, if there is one there.
fn hex4_at(text: &[u8], at: usize) -> Option<u32> {
    let escape = text.get(at..at + 6)?;
    if escape[..2] != *b"\\u" {
        return None;
    }
    escape[2..].iter().try_fold(0u32, |value, &digit| {
        Some(value << 4 | char::from(digit).to_digit(16)?)
    })
}

/// The character of the `\uXXXX` escape at `at` in `text`, and where it ends: a high surrogate
/// followed by a low-surrogate escape is one character, and any other surrogate is U+FFFD
/// (the escape after it is left to be read on its own). `None` when `at` does not hold `\u`
/// and four hex digits.
pub(crate) fn unicode_escape(text: &[u8], at: usize) -> Option<(char, usize)> {
    let unit = hex4_at(text, at)?;
    let end = at + 6;
    let decoded = match unit {
        0xd800..=0xdbff => match hex4_at(text, end) {
            Some(low @ 0xdc00..=0xdfff) => {
                let c = char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00));
                return Some((c.unwrap_or(char::REPLACEMENT_CHARACTER), end + 6));
            }
            _ => None,
        },
        _ => char::from_u32(unit),
    };
    Some((decoded.unwrap_or(char::REPLACEMENT_CHARACTER), end))
}

/// Appends the UTF-8 bytes of `c` to `out`.
pub(crate) fn push_char(out: &mut Vec<u8>, c: char) {
    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}

/// Appends the text of the JSON string body `body` (what stands between the quotes) to `out`,
/// escapes decoded (see `unicode_escape` for surrogates). Bytes that are not escapes are copied
/// as they are, valid UTF-8 or not: the caller checks what it needs.
pub(crate) fn unescape_into(body: &[u8], out: &mut Vec<u8>) -> Result<(), BadEscape> {
    let mut at = 0;
    while let Some(backslash) = memchr::memchr(b'\\', &body[at..]) {
        let backslash = at + backslash;
        out.extend_from_slice(&body[at..backslash]);
        at = escape_end(body, backslash)?;
        let byte = match body[backslash + 1] {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (c, end) = unicode_escape(body, backslash).ok_or(BadEscape)?;
                push_char(out, c);
                at = end;
                continue;
            }
            // `"`, `\` and `/` stand for themselves.
            other => other,
        };
        out.push(byte);
    }
    out.extend_from_slice(&body[at..]);
    Ok(())
}

/// Appends `text` to `out` as a quoted JSON string, escaped as jq prints it: `\"`, `\\`, the
/// five short escapes for control characters that have one, `\u00XX` (lowercase) for the other
/// control characters and DEL, and every other character as it is.
pub(crate) fn write_jq_string(text: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut start = 0;
    for (at, &byte) in text.iter().enumerate() {
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x00..=0x1f | 0x7f => 0,
            _ => continue,
        };
        out.extend_from_slice(&text[start..at]);
        start = at + 1;
        if short != 0 {
            out.extend_from_slice(&[b'\\', short]);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let (high, low) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]);
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
        }
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescape(body: &[u8]) -> Result<Vec<u8>, BadEscape> {
        let mut out = Vec::new();
        unescape_into(body, &mut out).map(|()| out)
    }

    #[test]
    fn every_short_escape() {
        assert_eq!(
            unescape(br#"a\"b\\c\/d\be\ff\ng\rh\ti"#).unwrap(),
            b"a\"b\\c/d\x08e\x0cf\ng\rh\ti"
        );
        assert_eq!(unescape(b"").unwrap(), b"");
        assert_eq!(unescape(b"plain").unwrap(), b"plain");
    }

    #[test]
    fn unicode_escapes_and_surrogate_pairs() {
        assert_eq!(unescape(br"\u0041\u00e9\u20AC").unwrap(), "Aé€".as_bytes());
        assert_eq!(unescape(br"\u0000").unwrap(), b"\0");
        assert_eq!(unescape(br"\ud83d\ude00!").unwrap(), "😀!".as_bytes());
        assert_eq!(unescape(br"\uD83D\uDE00").unwrap(), "😀".as_bytes());
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(unescape(br"\ud800").unwrap(), "\u{fffd}".as_bytes());
        assert_eq!(unescape(br"\ud800x").unwrap(), "\u{fffd}x".as_bytes());
        assert_eq!(unescape(br"\udc00").unwrap(), "\u{fffd}".as_bytes());
        // Two high surrogates: each alone; a low one after a high one pairs with it.
        assert_eq!(unescape(br"\ud800\ud800").unwrap(), "\u{fffd}\u{fffd}".as_bytes());
        assert_eq!(unescape(br"\ud800\ud800\udc00").unwrap(), "\u{fffd}𐀀".as_bytes());
        assert_eq!(unescape(br"\udc00\ud800").unwrap(), "\u{fffd}\u{fffd}".as_bytes());
        assert_eq!(unescape(br"\ud800\n").unwrap(), "\u{fffd}\n".as_bytes());
        assert_eq!(unescape(br"\ud800\u00e9").unwrap(), "\u{fffd}é".as_bytes());
    }

    #[test]
    fn bad_escapes_are_refused() {
        for body in [
            &br"\x"[..],
            br"\",
            br"\u",
            br"\u12",
            br"\u12g4",
            br"\U0041",
            br"\'",
            br"\ud800\u12",
            br"\u+123",
        ] {
            assert_eq!(unescape(body), Err(BadEscape), "{}", body.escape_ascii());
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_copied() {
        assert_eq!(unescape(b"\xff\\n\xc3").unwrap(), b"\xff\n\xc3");
    }

    #[test]
    fn jq_string_escapes() {
        let mut out = Vec::new();
        write_jq_string(b"a\"\\/\x08\x0c\n\r\t\x00\x1f\x7f \xc3\xa9\xe2\x80\xa8", &mut out);
        assert_eq!(
            out,
            "\"a\\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f é\u{2028}\"".as_bytes()
        );
        out.clear();
        write_jq_string(b"", &mut out);
        assert_eq!(out, b"\"\"");
    }
}
