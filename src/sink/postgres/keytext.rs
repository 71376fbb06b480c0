//! Keys are bytes, but PostgreSQL's `text` holds neither NUL nor invalid UTF-8: a key part
//! that cannot be text as it is would make its whole flush fail, forever. Each part is
//! therefore stored by one lossless rule:
//!
//! - valid UTF-8 with no NUL byte, not starting with `\x`: stored as it is (nearly every key);
//! - anything else: `\x` and the hex digits of its bytes, PostgreSQL's own `bytea` hex form,
//!   so that `decode(substr(key, 3), 'hex')` gives the bytes back.
//!
//! A text key that itself starts with `\x` (Apache writes undecodable request bytes as `\x16`)
//! is hex-encoded too, so no two keys ever share a stored form.

use std::borrow::Cow;

/// The text a key part is stored as.
pub fn key_text(part: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(part) {
        Ok(text) if !text.starts_with("\\x") && !part.contains(&0) => Cow::Borrowed(text),
        _ => {
            let mut text = String::with_capacity(2 + 2 * part.len());
            text.push_str("\\x");
            for byte in part {
                text.push(char::from(HEX[usize::from(byte >> 4)]));
                text.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
            Cow::Owned(text)
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of `key_text`, as SQL would compute it.
    fn key_bytes(text: &str) -> Vec<u8> {
        match text.strip_prefix("\\x") {
            Some(hex) => (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect(),
            None => text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn ordinary_keys_are_stored_as_they_are() {
        for key in ["/index.html", "", "200", "naïve", "a\\b", "x\\x41"] {
            assert_eq!(key_text(key.as_bytes()), Cow::Borrowed(key));
        }
    }

    #[test]
    fn other_keys_round_trip_through_hex() {
        let cases: [&[u8]; 5] = [b"a\0b", b"caf\xe9", b"\\x16\\x03", b"\xff", b"\0"];
        for key in cases {
            let text = key_text(key);
            assert!(text.starts_with("\\x") && !text.contains('\0'), "{text}");
            assert_eq!(key_bytes(&text), key, "{text}");
        }
        assert_eq!(key_text(b"caf\xe9"), "\\x636166e9");
    }
}
