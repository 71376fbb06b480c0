//! Member paths in jq's notation: `.status`, `.request.uri`, `."odd key"`, `.["x"]`.

use std::fmt;

use super::escape::unescape_into;

/// The members to follow from the top object of a JSON line down to a value, as
/// `--json-key` and `--json-value` take them.
///
/// The notation is jq's, restricted to object members: `.name` for a member whose name is
/// ASCII letters, digits and `_` (not starting with a digit), `."any name"` or `.["any name"]`
/// for any other name (JSON string escapes inside the quotes), and `["name"]` straight after
/// another member, as in `.a["b"]`. Array indexes (`.[0]`, `.[]`) and jq's filters are not part
/// of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    /// The path as it was written.
    text: String,
    /// The member names, escapes decoded; never empty.
    members: Vec<String>,
}

impl JsonPath {
    /// Parses a path such as `.status`, `.request.uri`, `."user agent"` or `.["a.b"]`.
    ///
    /// The error is one line saying what is wrong with the path, for a message that names the
    /// flag.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let bytes = text.as_bytes();
        if bytes.first() != Some(&b'.') {
            return Err(if text.is_empty() {
                "the path is empty: give one like .status".to_string()
            } else {
                "a path starts with '.', as in .status or .request.uri".to_string()
            });
        }
        let mut members = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let after_dot = bytes[at] == b'.';
            if after_dot {
                at += 1;
            }
            let (member, end) = match (bytes.get(at), after_dot) {
                (Some(b'['), _) => bracketed(text, at)?,
                (Some(b'"'), true) => quoted(text, at)?,
                (Some(&b), true) if b == b'_' || b.is_ascii_alphabetic() => {
                    let len = bytes[at..]
                        .iter()
                        .position(|&b| b != b'_' && !b.is_ascii_alphanumeric())
                        .unwrap_or(bytes.len() - at);
                    (text[at..at + len].to_string(), at + len)
                }
                (None, _) if members.is_empty() => {
                    return Err("'.' alone names no member: give one, as in .status".to_string());
                }
                (None, _) => return Err("the path ends with '.': a member name must follow".to_string()),
                (Some(_), _) => return Err(unexpected(text, at)),
            };
            members.push(member);
            at = end;
            if at < bytes.len() && !matches!(bytes[at], b'.' | b'[') {
                return Err(unexpected(text, at));
            }
        }
        Ok(JsonPath {
            text: text.to_string(),
            members,
        })
    }

    /// The last member's name, escapes decoded: the column name of this part of a key.
    pub fn last_member(&self) -> &str {
        // `parse` never makes a path without members.
        self.members.last().map_or("", String::as_str)
    }

    /// The member names from the top object down, escapes decoded.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// The path as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `["name"]` at `at`: the name and where the path goes on.
fn bracketed(text: &str, at: usize) -> Result<(String, usize), String> {
    let bytes = text.as_bytes();
    match bytes.get(at + 1) {
        Some(b'"') => {}
        Some(b']' | b'0'..=b'9' | b'-') => {
            return Err(
                "array elements ([0], []) are not supported: a path names object members".to_string(),
            );
        }
        _ => {
            return Err("'[' must be followed by a quoted member name, as in .[\"a b\"]".to_string());
        }
    }
    let (member, end) = quoted(text, at + 1)?;
    if bytes.get(end) != Some(&b']') {
        return Err(format!("a ']' must close the quoted name at byte {}", end + 1));
    }
    Ok((member, end + 1))
}

/// The quoted name whose opening quote is at `at`: the name and where the path goes on.
fn quoted(text: &str, at: usize) -> Result<(String, usize), String> {
    let bytes = text.as_bytes();
    let mut close = at + 1;
    loop {
        match bytes.get(close) {
            None => return Err(format!("the quoted name at byte {} has no closing quote", at + 1)),
            Some(b'"') => break,
            Some(b'\\') => {
                if bytes.get(close + 1) == Some(&b'(') {
                    return Err("string interpolation \\( is not supported in a path".to_string());
                }
                close += 2;
            }
            Some(_) => close += 1,
        }
    }
    let mut name = Vec::new();
    if unescape_into(&bytes[at + 1..close], &mut name).is_err() {
        return Err(format!(
            "the quoted name at byte {} holds an invalid escape \
             (JSON's are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
            at + 1
        ));
    }
    // Escapes decode to UTF-8 and the rest is a slice of a `str`: `from_utf8` cannot fail.
    let name = String::from_utf8(name).map_err(|e| e.to_string())?;
    Ok((name, close + 1))
}

/// The message for a byte that cannot stand at `at`, with the quoted form of the name around it
/// when quotes would make it a path.
fn unexpected(text: &str, at: usize) -> String {
    let c = text[at..].chars().next().unwrap_or(' ');
    // The member being written: from the last '.' before `at` to the next '.' or '['.
    let start = text[..at].rfind('.').map_or(0, |dot| dot + 1);
    let end = text[at..].find(['.', '[']).map_or(text.len(), |i| at + i);
    let name = &text[start..end];
    if name.is_empty() || name.starts_with(['"', '[']) {
        return format!("unexpected {c:?} at byte {}", at + 1);
    }
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "unexpected {c:?} at byte {}: a member name with characters other than letters, \
         digits and '_' goes in quotes, as in .\"{escaped}\"",
        at + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Vec<String> {
        JsonPath::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .members
    }

    #[test]
    fn plain_and_nested_members() {
        assert_eq!(members(".status"), ["status"]);
        assert_eq!(members(".request.uri"), ["request", "uri"]);
        assert_eq!(members(".a.b.c"), ["a", "b", "c"]);
        assert_eq!(members("._x1.A_"), ["_x1", "A_"]);
    }

    #[test]
    fn quoted_and_bracketed_members() {
        assert_eq!(members(r#"."odd key""#), ["odd key"]);
        assert_eq!(members(r#"."a.b".c"#), ["a.b", "c"]);
        assert_eq!(members(r#".["x"]"#), ["x"]);
        assert_eq!(members(r#".a["b.c"]["d"]"#), ["a", "b.c", "d"]);
        assert_eq!(members(r#".a.["b"]"#), ["a", "b"]);
        assert_eq!(members(".\"\".\"\""), ["", ""]);
        assert_eq!(members(r#"."q\"uote\\d""#), ["q\"uote\\d"]);
        assert_eq!(members(r#"."\u00e9\n\/\ud83d\ude00""#), ["é\n/😀"]);
        assert_eq!(members(r#"."\ud800""#), ["\u{fffd}"]);
        assert_eq!(members(".\"été\""), ["été"]);
        assert_eq!(members(".\"1\""), ["1"]);
    }

    #[test]
    fn last_member_is_the_column_name() {
        let path = JsonPath::parse(r#".request."user agent""#).unwrap();
        assert_eq!(path.last_member(), "user agent");
        assert_eq!(path.to_string(), r#".request."user agent""#);
        assert_eq!(path.as_str(), r#".request."user agent""#);
        assert_eq!(JsonPath::parse(".status").unwrap().last_member(), "status");
    }

    #[test]
    fn errors_say_what_is_wrong_in_one_line() {
        let cases = [
            ("", "empty"),
            ("status", "starts with '.'"),
            (".", "names no member"),
            (".a.", "ends with '.'"),
            (".a-b", r#"as in ."a-b""#),
            (".a.b-c.d", r#"as in ."b-c""#),
            (".é", "goes in quotes"),
            (".1a", "goes in quotes"),
            (".a b", "unexpected ' '"),
            (r#"."abc"#, "no closing quote"),
            (r#"."a\x""#, "invalid escape"),
            (r#"."a\(1)""#, "interpolation"),
            (".[0]", "array elements"),
            (".a[]", "array elements"),
            (".[x]", "quoted member name"),
            (r#".["x""#, "']' must close"),
            (r#"."a"b"#, "unexpected 'b'"),
            (r#"."a"."#, "ends with '.'"),
            ("..a", "unexpected '.'"),
            (".a..b", "unexpected '.'"),
        ];
        for (text, wanted) in cases {
            let error = JsonPath::parse(text).expect_err(text);
            assert!(error.contains(wanted), "{text}: {error}");
            assert!(!error.contains('\n'), "{text}: {error}");
        }
    }
}
