use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::structured::escape::push_char;

/// A lookup's result, owned.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Value(String),
    Missing,
    NotJson,
}

fn got(line: impl AsRef<[u8]>, path: &str) -> Got {
    let path = JsonPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match JsonScanner::new().lookup(line.as_ref(), &path) {
        Member::Found(bytes) => Got::Value(String::from_utf8(bytes.to_vec()).expect("UTF-8")),
        Member::Missing => Got::Missing,
        Member::NotJson => Got::NotJson,
    }
}

fn value(text: &str) -> Got {
    Got::Value(text.to_string())
}

/// An nginx `log_format ... escape=json` line with the request as an inner object.
const NGINX: &str = r#"{"time":"2026-03-10T14:00:00+00:00","remote_addr":"203.0.113.9","remote_user":"","request":{"method":"GET","uri":"/api/v1/items?id=42&sort=desc","protocol":"HTTP/1.1"},"status":200,"body_bytes_sent":5123,"request_time":0.004,"http_referer":"https:\/\/example.com\/","http_user_agent":"Mozilla/5.0 (X11; Linux x86_64) \"quoted\"","upstream":null,"cached":false}"#;

#[test]
fn the_end_of_string_text_is_found_wherever_it_is() {
    let naive = |line: &[u8], at: usize| {
        (at..line.len())
            .find(|&i| matches!(line[i], b'"' | b'\\' | 0..=0x1f))
            .unwrap_or(line.len())
    };
    for len in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 70] {
        for byte in 0..=255u8 {
            for special_at in [0, 5, 8, 15, 16, 23, 31, 32, 39, 47, 64, 69] {
                let mut line = vec![b'a'; len];
                if let Some(b) = line.get_mut(special_at) {
                    *b = byte;
                }
                for at in [0, 1, 6, 9, 16, 20].into_iter().filter(|&at| at <= len) {
                    let expected = naive(&line, at);
                    assert_eq!(next_special(&line, at), expected, "{byte:#x} at {special_at}");
                    assert_eq!(next_special_portable(&line, at), expected, "{byte:#x}");
                }
            }
        }
    }
}

#[test]
fn members_of_an_access_log_line() {
    assert_eq!(got(NGINX, ".request.uri"), value("/api/v1/items?id=42&sort=desc"));
    assert_eq!(got(NGINX, ".request.method"), value("GET"));
    assert_eq!(got(NGINX, ".status"), value("200"));
    assert_eq!(got(NGINX, ".request_time"), value("0.004"));
    assert_eq!(got(NGINX, ".remote_user"), value(""));
    assert_eq!(got(NGINX, ".http_referer"), value("https://example.com/"));
    assert_eq!(
        got(NGINX, ".http_user_agent"),
        value("Mozilla/5.0 (X11; Linux x86_64) \"quoted\"")
    );
    assert_eq!(got(NGINX, ".cached"), value("false"));
    assert_eq!(got(NGINX, ".upstream"), Got::Missing);
    assert_eq!(got(NGINX, ".referer"), Got::Missing);
    assert_eq!(got(NGINX, ".request.uri.x"), Got::Missing);
    assert_eq!(
        got(NGINX, ".request"),
        value(r#"{"method":"GET","uri":"/api/v1/items?id=42&sort=desc","protocol":"HTTP/1.1"}"#)
    );
}

#[test]
fn values_borrow_the_line_unless_they_need_decoding() {
    let line = br#"{"a":"plain","b":"esc\naped","c":12}"#;
    let mut scanner = JsonScanner::new();
    for (path, borrowed) in [(".a", true), (".c", true), (".b", false)] {
        let path = JsonPath::parse(path).unwrap();
        let Member::Found(text) = scanner.lookup(line, &path) else {
            panic!("{path}");
        };
        let inside = line.as_ptr_range().contains(&text.as_ptr());
        assert_eq!(inside, borrowed, "{path}");
    }
    // The buffer of one line does not leak into the next.
    let path = JsonPath::parse(".b").unwrap();
    assert_eq!(scanner.lookup(br#"{"b":"x\ty"}"#, &path), Member::Found(b"x\ty"));
    assert_eq!(scanner.lookup(br#"{"b":"z"}"#, &path), Member::Found(b"z"));
    assert_eq!(
        scanner.lookup(br#"{"b":"\u00e9"}"#, &path),
        Member::Found("é".as_bytes())
    );
}

#[test]
fn escapes_of_every_kind_are_decoded() {
    let line = r#"{"k":"q\"b\\s\/b\bf\fn\nr\rt\tu\u0041\u00e9\u20ac\uD83D\uDE00\u0000."}"#;
    assert_eq!(got(line, ".k"), value("q\"b\\s/b\u{8}f\u{c}n\nr\rt\tuAé€😀\0."));
    assert_eq!(got(r#"{"k":"\ud800"}"#, ".k"), value("\u{fffd}"));
    assert_eq!(got(r#"{"k":"\udc00x"}"#, ".k"), value("\u{fffd}x"));
    assert_eq!(got(r#"{"k":"\ud800\ud83d\ude00"}"#, ".k"), value("\u{fffd}😀"));
    assert_eq!(
        got(r#"{"k":"héllo wörld ✓ 😀"}"#, ".k"),
        value("héllo wörld ✓ 😀")
    );
    for bad in [r#"\x"#, r#"\u12"#, r#"\u12G4"#, r#"\'"#, r#"\U0041"#, r#"\a"#] {
        let line = format!(r#"{{"k":"a{bad}b","z":1}}"#);
        assert_eq!(got(&line, ".z"), Got::NotJson, "{line}");
    }
    assert_eq!(got(r#"{"k":"a\"#, ".k"), Got::NotJson);
    assert_eq!(got(r#"{"k":"a\"}"#, ".k"), Got::NotJson);
}

#[test]
fn escaped_member_names_match_their_text() {
    assert_eq!(got(r#"{"\u0061":1}"#, ".a"), value("1"));
    assert_eq!(got(r#"{"a\"b":2}"#, r#"."a\"b""#), value("2"));
    assert_eq!(got(r#"{"\ud83d\ude00":3}"#, ".\"😀\""), value("3"));
    assert_eq!(got(r#"{"a\/b":4}"#, r#"."a/b""#), value("4"));
    assert_eq!(got(r#"{"a/b":4}"#, r#"."a\/b""#), value("4"));
    assert_eq!(got(r#"{"a.b":5,"a":{"b":6}}"#, r#"."a.b""#), value("5"));
    assert_eq!(got(r#"{"a.b":5,"a":{"b":6}}"#, ".a.b"), value("6"));
    assert_eq!(got(r#"{"a b":7}"#, r#".["a b"]"#), value("7"));
    assert_eq!(got(r#"{"\u0061\u0062":8,"a":9}"#, ".ab"), value("8"));
    assert_eq!(got(r#"{"\ud800":1}"#, r#"."\udc00""#), value("1"));
}

#[test]
fn objects_and_arrays_print_as_jq_c_prints_them() {
    let line = r#"{"k" : { "b" : [ 1 , 2 ,{ "c" : "d" } ] , "e" : { } , "f" : [ ] }}"#;
    assert_eq!(got(line, ".k"), value(r#"{"b":[1,2,{"c":"d"}],"e":{},"f":[]}"#));
    assert_eq!(got(line, ".k.e"), value("{}"));
    assert_eq!(got(line, ".k.f"), value("[]"));
    let line =
        r#"{"k":["\u0041\/\u007f\u001f é\t","\ud83d\ude00","a\"b\\c", "\b\f\n\r", "\u0000", null, true]}"#;
    assert_eq!(
        got(line, ".k"),
        value(r#"["A/\u007f\u001f é\t","😀","a\"b\\c","\b\f\n\r","\u0000",null,true]"#)
    );
    // Member names are strings too; numbers stay as written; duplicates stay (jq differs).
    let line = r#"{"k":{"\u0041":1.50,"x":1E3,"x":2}}"#;
    assert_eq!(got(line, ".k"), value(r#"{"A":1.50,"x":1E3,"x":2}"#));
    // Raw DEL in a nested string is re-escaped; in a plain string value, it is the value.
    assert_eq!(got("{\"k\":[\"\x7f\"]}", ".k"), value(r#"["\u007f"]"#));
    assert_eq!(got("{\"k\":\"\x7f\"}", ".k"), value("\x7f"));
}

#[test]
fn members_in_any_order_and_names_that_are_prefixes() {
    let line = r#"{"abc":3,"ab":1,"a":2,"b":{"a":4}}"#;
    assert_eq!(got(line, ".a"), value("2"));
    assert_eq!(got(line, ".ab"), value("1"));
    assert_eq!(got(line, ".abc"), value("3"));
    assert_eq!(got(line, ".abcd"), Got::Missing);
    assert_eq!(got(line, ".b.a"), value("4"));
    let line = r#"{"a":{"ab":1},"ab":{"a":2},"re":0,"request":{"uri":"/x"},"requests":1}"#;
    assert_eq!(got(line, ".ab.a"), value("2"));
    assert_eq!(got(line, ".a.ab"), value("1"));
    assert_eq!(got(line, ".a.a"), Got::Missing);
    assert_eq!(got(line, ".request.uri"), value("/x"));
    assert_eq!(got(line, ".re.uri"), Got::Missing);
    // A name that is the wanted name's prefix and holds an escape.
    assert_eq!(got(r#"{"re\u0071":1,"req":2}"#, ".req"), value("2"));
    assert_eq!(got(r#"{"req":2,"re\u0071":1}"#, ".req"), value("1"));
}

#[test]
fn the_last_duplicate_counts_at_every_level() {
    assert_eq!(got(r#"{"a":1,"a":2}"#, ".a"), value("2"));
    assert_eq!(got(r#"{"a":1,"a":null}"#, ".a"), Got::Missing);
    assert_eq!(got(r#"{"a":null,"a":1}"#, ".a"), value("1"));
    assert_eq!(got(r#"{"a":{"b":1},"a":{"c":2}}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":{"b":1},"a":{"c":2}}"#, ".a.c"), value("2"));
    assert_eq!(got(r#"{"a":{"b":1},"a":3}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":3,"a":{"b":1}}"#, ".a.b"), value("1"));
    assert_eq!(got(r#"{"a":{"b":1,"b":2},"x":0}"#, ".a.b"), value("2"));
    assert_eq!(
        got(r#"{"a":{"b":{"c":1}},"a":{"b":{"c":2}}}"#, ".a.b.c"),
        value("2")
    );
    assert_eq!(got(r#"{"\u0061":1,"a":2,"\u0061":3}"#, ".a"), value("3"));
}

#[test]
fn whitespace_wherever_json_allows_it() {
    let line = " \t{ \"a\" :\t{\n\"b\" :\r\n\"c\" } , \"d\" : [ 1 , 2 ] ,\"e\":-1 }\r\n ";
    assert_eq!(got(line, ".a.b"), value("c"));
    assert_eq!(got(line, ".d"), value("[1,2]"));
    assert_eq!(got(line, ".e"), value("-1"));
    assert_eq!(got("{}", ".a"), Got::Missing);
    assert_eq!(got(" { } ", ".a"), Got::Missing);
    // Blanks JSON does not know are not whitespace.
    for blank in ["\u{b}", "\u{c}", "\u{a0}", "\u{feff}"] {
        assert_eq!(
            got(format!("{blank}{{\"a\":1}}"), ".a"),
            Got::NotJson,
            "{blank:?}"
        );
        assert_eq!(
            got(format!("{{\"a\":{blank}1}}"), ".a"),
            Got::NotJson,
            "{blank:?}"
        );
    }
}

#[test]
fn numbers_are_kept_as_written() {
    for number in [
        "0",
        "-0",
        "7",
        "-12",
        "1.50",
        "0.5e-3",
        "1e3",
        "1E3",
        "1e+3",
        "-1.5E-07",
        "1e400",
        "100000000000000000000000",
        "123456789012345678901234567890.5",
    ] {
        assert_eq!(got(format!(r#"{{"n":{number},"z":0}}"#), ".n"), value(number));
        assert_eq!(got(format!(r#"{{"n":{number}}}"#), ".n"), value(number));
    }
    for bad in [
        "01",
        "-01",
        ".5",
        "1.",
        "-",
        "+1",
        "1e",
        "1e+",
        "1.e3",
        "NaN",
        "Infinity",
        "-Infinity",
        "0x1",
        "1_000",
        "--1",
        "1.2.3",
        "1e3e3",
        "\u{2212}1",
    ] {
        assert_eq!(got(format!(r#"{{"n":{bad}}}"#), ".z"), Got::NotJson, "{bad}");
        assert_eq!(got(format!(r#"{{"n":[{bad}]}}"#), ".z"), Got::NotJson, "{bad}");
    }
}

#[test]
fn literals_and_empty_strings() {
    let line = r#"{"t":true,"f":false,"n":null,"e":"","":"empty name"}"#;
    assert_eq!(got(line, ".t"), value("true"));
    assert_eq!(got(line, ".f"), value("false"));
    assert_eq!(got(line, ".n"), Got::Missing);
    assert_eq!(got(line, ".e"), value(""));
    assert_eq!(got(line, ".\"\""), value("empty name"));
    for bad in ["tru", "True", "nul", "nulll", "falsey", "t", "none", "undefined"] {
        assert_eq!(got(format!(r#"{{"x":{bad}}}"#), ".x"), Got::NotJson, "{bad}");
    }
}

#[test]
fn a_path_through_something_else_than_an_object_is_missing() {
    assert_eq!(got(r#"{"a":[{"b":1}]}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":"s"}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":"{\"b\":1}"}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":1}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":true}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":null}"#, ".a.b"), Got::Missing);
    assert_eq!(got(r#"{"a":{}}"#, ".a.b.c"), Got::Missing);
    // What is skipped is still checked.
    assert_eq!(got(r#"{"a":[1,}"#, ".a.b"), Got::NotJson);
    assert_eq!(got(r#"{"a":{"b":1,}}"#, ".a.c"), Got::NotJson);
}

#[test]
fn lines_that_are_not_one_json_object() {
    for line in [
        "",
        " ",
        "hello",
        "[1]",
        "[]",
        "1",
        "\"s\"",
        "null",
        "true",
        r#"{"a":1} x"#,
        r#"{"a":1}{"a":2}"#,
        r#"{"a":1},"#,
        r#"{"a":1}}"#,
        r#"{{"a":1}"#,
        "{'a':1}",
        "{a:1}",
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        r#"{"a":}"#,
        r#"{"a"}"#,
        "{,}",
        r#"{,"a":1}"#,
        r#"{"a":1 "b":2}"#,
        r#"{"a":1;"b":2}"#,
        r#"{"a":[1 2]}"#,
        r#"{"a":[1,]}"#,
        r#"{"a":[,1]}"#,
        r#"{"a":[1}"#,
        r#"{"a":{]}"#,
        r#"{"a":"x"y"}"#,
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"nl\nhere\"}",
        "{\"a\":\"nul\0here\"}",
        "{\"a\":\"\x1f\"}",
        "\u{feff}{\"a\":1}",
        r#"{"a":1}/* comment */"#,
        "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326",
        "level=info msg=\"not json\"",
    ] {
        assert_eq!(got(line, ".a"), Got::NotJson, "{line:?}");
    }
}

#[test]
fn every_truncation_of_an_object_is_not_json() {
    let line = r#"{"a":{"b":[1,-2.5e3,"x\"\u00e9",true,false,null,{}]},"c":"d"}"#;
    assert_eq!(got(line, ".c"), value("d"));
    for end in 0..line.len() {
        assert_eq!(got(&line[..end], ".c"), Got::NotJson, "{}", &line[..end]);
        assert_eq!(got(&line[..end], ".a.b"), Got::NotJson, "{}", &line[..end]);
    }
}

#[test]
fn bytes_that_are_not_utf8() {
    // In the value found: not JSON, as jq would print U+FFFD in their place.
    assert_eq!(got(b"{\"a\":\"x\xffy\"}", ".a"), Got::NotJson);
    assert_eq!(got(b"{\"a\":\"\\n\xc3\"}", ".a"), Got::NotJson);
    assert_eq!(got(b"{\"a\":[\"\xe2\x82\"]}", ".a"), Got::NotJson);
    assert_eq!(got(b"{\"a\":{\"\xff\":1}}", ".a"), Got::NotJson);
    // Elsewhere: let be.
    assert_eq!(got(b"{\"ua\":\"\xff\xfe\",\"a\":\"ok\"}", ".a"), value("ok"));
    assert_eq!(got(b"{\"a\":{\"x\":\"\xff\",\"b\":1}}", ".a.b"), value("1"));
    // In a member name: that name matches no path.
    assert_eq!(got(b"{\"\xff\":1,\"a\":2}", ".a"), value("2"));
    assert_eq!(got(b"{\"a\xff\":1}", ".a"), Got::Missing);
    assert_eq!(got(b"{\"a\xff\":1}", ".\"a\u{fffd}\""), Got::Missing);
    // Outside strings: not JSON.
    assert_eq!(got(b"{\"a\":1\xff}", ".a"), Got::NotJson);
}

#[test]
fn nesting_deeper_than_jq_takes_is_not_json() {
    let nested = |levels: usize| {
        let inner = levels - 1;
        format!(r#"{{"a":1,"x":{}{}}}"#, "[".repeat(inner), "]".repeat(inner))
    };
    assert_eq!(got(nested(MAX_DEPTH), ".a"), value("1"));
    assert_eq!(got(nested(MAX_DEPTH + 1), ".a"), Got::NotJson);
    assert_eq!(got(nested(100_000), ".a"), Got::NotJson);
    // Through the path too.
    let chain = |levels: usize| format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels));
    let path = |levels: usize| ".a".repeat(levels);
    assert_eq!(got(chain(MAX_DEPTH), &path(MAX_DEPTH)), value("1"));
    assert_eq!(got(chain(MAX_DEPTH + 1), &path(MAX_DEPTH + 1)), Got::NotJson);
    assert_eq!(got(chain(MAX_DEPTH + 1), ".b"), Got::NotJson);
}

#[test]
fn a_one_megabyte_line() {
    let big = "x".repeat(1 << 20);
    let line = format!(r#"{{"pad":"{big}","k":"v","big":"{big}\n"}}"#);
    assert_eq!(got(&line, ".k"), value("v"));
    assert_eq!(got(&line, ".pad"), Got::Value(big.clone()));
    assert_eq!(got(&line, ".big"), Got::Value(format!("{big}\n")));
    let members: String = (0..60_000).map(|i| format!(r#""m{i}":{i},"#)).collect();
    let line = format!(r#"{{{members}"k":[{}0]}}"#, "1,".repeat(100_000));
    assert!(line.len() > 1 << 20);
    assert_eq!(got(&line, ".m59999"), value("59999"));
    assert_eq!(
        got(&line, ".k"),
        Got::Value(format!("[{}0]", "1,".repeat(100_000)))
    );
    // Truncated, it is not JSON.
    assert_eq!(got(&line[..line.len() - 1], ".k"), Got::NotJson);
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

/// What `jq -c` prints for `value` (serde_json's text for numbers, which these tests write
/// into the lines as they are).
fn jq_compact(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::String(text) => write_jq_string(text.as_bytes(), out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                jq_compact(item, out);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_jq_string(name.as_bytes(), out);
                out.push(b':');
                jq_compact(item, out);
            }
            out.push(b'}');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

/// What `jq -r` prints for the value at `path` in `top`, `None` for `null` or nothing.
fn jq_raw(top: &Value, path: &[String]) -> Option<Vec<u8>> {
    let mut value = top;
    for name in path {
        value = value.as_object()?.get(name)?;
    }
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.as_bytes().to_vec()),
        other => {
            let mut out = Vec::new();
            jq_compact(other, &mut out);
            Some(out)
        }
    }
}

/// Writes JSON text with whitespace, escapes and duplicate members chosen by a seeded
/// generator.
struct Writer {
    state: u64,
    out: Vec<u8>,
}

impl Writer {
    fn roll(&mut self, sides: u64) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) % sides
    }

    fn blanks(&mut self) {
        while self.roll(4) == 0 {
            let blank = [b' ', b'\t', b'\n', b'\r'][self.roll(4) as usize];
            self.out.push(blank);
        }
    }

    fn string(&mut self, text: &str) {
        self.out.push(b'"');
        for c in text.chars() {
            let escape = match c {
                '"' | '\\' => true,
                c if c < ' ' => true,
                _ => self.roll(5) == 0,
            };
            let short = match c {
                '"' => Some('"'),
                '\\' => Some('\\'),
                '/' => Some('/'),
                '\u{8}' => Some('b'),
                '\u{c}' => Some('f'),
                '\n' => Some('n'),
                '\r' => Some('r'),
                '\t' => Some('t'),
                _ => None,
            };
            match short {
                _ if !escape => push_char(&mut self.out, c),
                Some(s) if self.roll(2) == 0 => self.out.extend_from_slice(&[b'\\', s as u8]),
                _ => {
                    let mut units = [0; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let hex = if self.roll(2) == 0 {
                            format!("\\u{unit:04x}")
                        } else {
                            format!("\\u{unit:04X}")
                        };
                        self.out.extend_from_slice(hex.as_bytes());
                    }
                }
            }
        }
        self.out.push(b'"');
    }

    /// Writes `value`; `path` is the rest of the path when `value` lies on it. Objects get
    /// earlier duplicates of their members (which the later ones override) when `decoys` is
    /// set, which it is not inside the value the path leads to: that must print as it is.
    fn value(&mut self, value: &Value, path: Option<&[String]>, decoys: bool) {
        let decoys = decoys && path.is_none_or(|p| !p.is_empty());
        match value {
            Value::String(text) => self.string(text),
            Value::Array(items) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    self.blanks();
                    if i > 0 {
                        self.out.push(b',');
                        self.blanks();
                    }
                    self.value(item, None, decoys);
                }
                self.blanks();
                self.out.push(b']');
            }
            Value::Object(members) => {
                self.out.push(b'{');
                let mut first = true;
                for (name, item) in members {
                    let below = match path {
                        Some([wanted, rest @ ..]) if wanted == name => Some(rest),
                        _ => None,
                    };
                    if decoys && self.roll(3) == 0 {
                        for _ in 0..=self.roll(2) {
                            let decoy = [Value::Null, Value::Bool(true)][self.roll(2) as usize].clone();
                            self.member(&mut first, name, &decoy, None, true);
                        }
                    }
                    self.member(&mut first, name, item, below, decoys);
                }
                self.blanks();
                self.out.push(b'}');
            }
            scalar => self.out.extend_from_slice(scalar.to_string().as_bytes()),
        }
    }

    fn member(&mut self, first: &mut bool, name: &str, value: &Value, path: Option<&[String]>, decoys: bool) {
        self.blanks();
        if !std::mem::take(first) {
            self.out.push(b',');
            self.blanks();
        }
        self.string(name);
        self.blanks();
        self.out.push(b':');
        self.blanks();
        self.value(value, path, decoys);
    }
}

/// A line holding `top` (an object), written with the given seed, with the path in mind.
fn write_line(top: &Value, seed: u64, path: &[String]) -> Vec<u8> {
    let mut writer = Writer {
        state: seed | 1,
        out: Vec::new(),
    };
    writer.blanks();
    writer.value(top, Some(path), true);
    writer.blanks();
    writer.out
}

/// The path as text: each member plain when it can be, else quoted or bracketed.
fn path_text(path: &[String], seed: u64) -> String {
    let mut text = String::new();
    for (i, name) in path.iter().enumerate() {
        let plain = name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
            && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
        let quoted = serde_json::to_string(name).expect("a string serialises");
        match (seed >> (2 * i)) & 3 {
            _ if plain && seed >> 40 & 1 == 0 => text += &format!(".{name}"),
            0 if i > 0 => text += &format!("[{quoted}]"),
            1 => text += &format!(".[{quoted}]"),
            _ => text += &format!(".{quoted}"),
        }
    }
    text
}

fn text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '"', '\\', '/', '\u{0}', '\u{8}', '\u{c}', '\n', '\r', '\t', '\u{1f}', '\u{7f}', 'é', '\u{2028}',
        '\u{fffd}', '😀', ' ', 'a',
    ]);
    prop::collection::vec(prop_oneof![special, any::<char>()], 0..6).prop_map(String::from_iter)
}

/// Member names: a few short ones that are prefixes of each other, and random text.
fn name() -> impl Strategy<Value = String> {
    let common = prop::sample::select(vec![
        "a", "ab", "abc", "b", "", "a b", "a.b", "é", "\"", "\\", "a\u{0}",
    ]);
    prop_oneof![3 => common.prop_map(str::to_string), 1 => text()]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Decimals short enough for serde_json to read back exactly, without its
        // float_roundtrip feature.
        (any::<i32>(), 0..6).prop_map(|(m, e)| Value::from(f64::from(m) / 10f64.powi(e))),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((name(), inner), 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((name(), json_value()), 0..8).prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// A path into `top`: names of members it has, mostly, and sometimes one it lacks; `choices`
/// picks them.
fn path_into(top: &Value, choices: &[(u8, String)]) -> Vec<String> {
    let mut path = Vec::new();
    let mut at = Some(top);
    for (choice, stranger) in choices {
        let names: Vec<&String> = at
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        let name = match names.get(usize::from(*choice) % (names.len() + 1)) {
            Some(&name) if *choice < 240 => name.clone(),
            _ => stranger.clone(),
        };
        at = at.and_then(|v| v.get(&name));
        path.push(name);
        if *choice % 4 == 0 {
            break;
        }
    }
    path
}

fn proptest_config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 2000;
    }
    if config.rng_seed == proptest::test_runner::RngSeed::Random {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x150e_5ca9);
    }
    config.failure_persistence = None;
    config
}

/// Pieces of JSON-like noise.
const PIECES: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b" ",
    b"\t",
    b"\"a\"",
    b"\"ab\"",
    b"\"a\":",
    b"1",
    b"-",
    b"0",
    b".",
    b"e",
    b"E+",
    b"\\",
    b"\\u",
    b"00e9",
    b"\\ud83d",
    b"\\ude00",
    b"\\n",
    b"true",
    b"null",
    b"fals",
    b"\x01",
    b"\x7f",
    b"\xff",
    b"\xc3\xa9",
    b"x",
];

/// A line to throw at the scanner: random bytes, JSON-like noise, or a valid line with one
/// edit.
fn hostile_line() -> impl Strategy<Value = Vec<u8>> {
    let noise = prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|pieces| pieces.concat());
    let edited = (
        json_object(),
        any::<u64>(),
        any::<usize>(),
        0u8..4,
        prop::sample::select(PIECES),
    )
        .prop_map(|(top, seed, at, edit, piece)| {
            let mut line = write_line(&top, seed, &[]);
            let at = at % (line.len() + 1);
            match edit {
                0 => line.truncate(at),
                1 if at < line.len() => {
                    line.remove(at);
                }
                2 if at < line.len() => line[at] = piece[0],
                _ => line.splice(at..at, piece.iter().copied()).for_each(drop),
            }
            line
        });
    prop_oneof![1 => any::<Vec<u8>>(), 2 => noise.prop_map(|n| [b"{".as_slice(), &n].concat()), 3 => edited]
}

proptest! {
    #![proptest_config(proptest_config())]

    /// The value found is what jq prints for the object serde_json generated, whatever the
    /// whitespace, the escapes and the earlier duplicates.
    #[test]
    fn lookups_equal_jq_on_generated_objects(
        top in json_object(),
        seed in any::<u64>(),
        choices in prop::collection::vec((any::<u8>(), name()), 1..5),
    ) {
        let path = path_into(&top, &choices);
        let line = write_line(&top, seed, &path);
        let read_back = serde_json::from_slice::<Value>(&line).ok();
        prop_assert_eq!(
            read_back.as_ref(), Some(&top),
            "the line reads back as the object: {}", line.escape_ascii()
        );
        let text = path_text(&path, seed);
        let parsed = JsonPath::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed.members(), &path[..]);
        let want = jq_raw(&top, &path);
        let got = match JsonScanner::new().lookup(&line, &parsed) {
            Member::Found(bytes) => Some(bytes.to_vec()),
            Member::Missing => None,
            Member::NotJson => return Err(TestCaseError::fail(format!("not JSON: {}", line.escape_ascii()))),
        };
        prop_assert_eq!(
            got.as_deref().map(<[u8]>::escape_ascii).map(|e| e.to_string()),
            want.as_deref().map(<[u8]>::escape_ascii).map(|e| e.to_string()),
            "{} on {}", text, line.escape_ascii()
        );
    }

    /// No line makes the scanner panic; what serde_json reads as one object is never
    /// `NotJson`, and what serde_json refuses (even when it only checks the syntax) always is.
    #[test]
    fn the_scanner_says_not_json_exactly_when_serde_json_does(line in hostile_line()) {
        let mut scanner = JsonScanner::new();
        let paths = [".a", ".ab", ".a.ab", ".\"\""].map(|p| JsonPath::parse(p).unwrap());
        let strict = serde_json::from_slice::<Value>(&line).is_ok_and(|v| v.is_object());
        let syntax = line.iter().find(|b| !b" \t\n\r".contains(b)) == Some(&b'{')
            && serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_ok();
        for path in &paths {
            let not_json = scanner.lookup(&line, path) == Member::NotJson;
            prop_assert!(!(strict && not_json), "{path} on {}: serde_json reads it", line.escape_ascii());
            prop_assert!(syntax || not_json, "{path} on {}: serde_json refuses it", line.escape_ascii());
            if std::str::from_utf8(&line).is_ok() {
                prop_assert_eq!(not_json, !syntax, "{} on {}", path, line.escape_ascii());
            }
        }
    }
}
