use proptest::prelude::*;

use super::*;

fn get(line: impl AsRef<[u8]>, name: &str) -> Option<Vec<u8>> {
    LogfmtScanner::new()
        .lookup(line.as_ref(), name.as_bytes())
        .map(<[u8]>::to_vec)
}

fn some(text: &str) -> Option<Vec<u8>> {
    Some(text.as_bytes().to_vec())
}

#[test]
fn pairs_of_a_go_kit_line() {
    let line = r#"ts=2026-03-10T14:00:00Z level=info caller=main.go:42 msg="GET /api/v1 done" status=200 took=4.2ms"#;
    assert_eq!(get(line, "level"), some("info"));
    assert_eq!(get(line, "caller"), some("main.go:42"));
    assert_eq!(get(line, "msg"), some("GET /api/v1 done"));
    assert_eq!(get(line, "status"), some("200"));
    assert_eq!(get(line, "took"), some("4.2ms"));
    assert_eq!(get(line, "user"), None);
    assert_eq!(get(line, "ts="), None);
    assert_eq!(get(line, ""), None);
}

#[test]
fn values_borrow_the_line_unless_they_need_decoding() {
    let line = br#"a=plain b="quoted" c="esc\"aped""#;
    let mut scanner = LogfmtScanner::new();
    for (name, borrowed) in [("a", true), ("b", true), ("c", false)] {
        let value = scanner.lookup(line, name.as_bytes()).expect(name);
        let inside = line.as_ptr_range().contains(&value.as_ptr());
        assert_eq!(inside, borrowed, "{name}");
    }
    assert_eq!(scanner.lookup(br#"c="x\ty""#, b"c"), Some(&b"x\ty"[..]));
    assert_eq!(scanner.lookup(b"c=z", b"c"), Some(&b"z"[..]));
}

#[test]
fn empty_values_and_bare_keys() {
    assert_eq!(get("a= b=1", "a"), some(""));
    assert_eq!(get("a= b=1", "b"), some("1"));
    assert_eq!(get("a=", "a"), some(""));
    assert_eq!(get(r#"a="" b=1"#, "a"), some(""));
    assert_eq!(get("a b=1 c", "a"), some(""));
    assert_eq!(get("a b=1 c", "c"), some(""));
    // A line of words is a line of bare keys.
    assert_eq!(get("hello brave new world", "new"), some(""));
    assert_eq!(get("hello brave new world", "old"), None);
}

#[test]
fn the_last_duplicate_counts() {
    assert_eq!(get("a=1 a=2", "a"), some("2"));
    assert_eq!(get("a=1 b=x a=3 b=y", "b"), some("y"));
    assert_eq!(get("a=1 a", "a"), some(""));
    assert_eq!(get(r#"a="x y" a=z"#, "a"), some("z"));
    assert_eq!(get(r#"a=z a="x\ny""#, "a"), some("x\ny"));
}

#[test]
fn keys_that_are_prefixes_and_keys_beyond_ascii() {
    let line = "abc=3 ab=1 a=2 é=4 日本=5 a.b=6 a-b=7 a/b=8 [k]=9";
    for (name, want) in [
        ("a", "2"),
        ("ab", "1"),
        ("abc", "3"),
        ("é", "4"),
        ("日本", "5"),
        ("a.b", "6"),
        ("a-b", "7"),
        ("a/b", "8"),
        ("[k]", "9"),
    ] {
        assert_eq!(get(line, name), some(want), "{name}");
    }
    assert_eq!(get(line, "abcd"), None);
}

#[test]
fn blanks_and_control_characters_separate_pairs() {
    let line = "  a=1\t\tb=2 \x01c=3\x00e=5\x1f";
    assert_eq!(get(line, "a"), some("1"));
    assert_eq!(get(line, "b"), some("2"));
    assert_eq!(get(line, "c"), some("3"));
    assert_eq!(get(line, "e"), some("5"));
    // DEL and bytes beyond ASCII are not blanks.
    assert_eq!(get("c=3\x7fd e=5", "c"), some("3\x7fd"));
    assert_eq!(get("c=3\u{a0}d e=5", "c"), some("3\u{a0}d"));
    // A quoted value may run straight into the next key.
    assert_eq!(get(r#"a="x"b=2"#, "b"), some("2"));
    assert_eq!(get(r#"a="x"b=2"#, "a"), some("x"));
}

#[test]
fn quoted_values_decode_as_go_logfmt_decodes_them() {
    let line = r#"k="q\"b\\s\/a\'b\bf\fn\nr\rt\tu\u0041\u00E9\ud83d\ude00\u0000." z=1"#;
    assert_eq!(get(line, "k"), some("q\"b\\s/a'b\u{8}f\u{c}n\nr\rt\tuAé😀\0."));
    assert_eq!(get(r#"k="\ud800""#, "k"), some("\u{fffd}"));
    assert_eq!(get(r#"k="\udc00\u0041""#, "k"), some("\u{fffd}A"));
    assert_eq!(get(r#"k="\ud800\ud800\udc00""#, "k"), some("\u{fffd}𐀀"));
    // Without a backslash, the bytes between the quotes are the value, whatever they are.
    assert_eq!(
        get(b"k=\"a\tb\x01c\xff=\"", "k"),
        Some(b"a\tb\x01c\xff=".to_vec())
    );
    // With one, each byte that is not UTF-8 becomes U+FFFD, as Go's DecodeRune reads it.
    assert_eq!(
        get(b"k=\"\xff\\n\xe2\x82\"", "k"),
        some("\u{fffd}\n\u{fffd}\u{fffd}")
    );
    assert_eq!(get(b"k=\"\xc3\xa9\\t\xf0\x9f\x98\x80\"", "k"), some("é\t😀"));
    // Unquoted values are taken as they are, backslashes and all.
    assert_eq!(get(r"k=a\nb", "k"), some(r"a\nb"));
    assert_eq!(get(b"k=\xff", "k"), Some(b"\xff".to_vec()));
}

#[test]
fn malformed_lines_give_no_pair_at_all() {
    for line in [
        &b"a=b=c"[..],
        b"a=1 b=2=3",
        b"a=1=",
        br#"a="unterminated"#,
        br#"a=1 b="x\""#,
        br#"a="x\"#,
        br#"="x""#,
        b"=1",
        b"a=1 =2",
        br#"a"b=1"#,
        br#""a"=1"#,
        br#"a=b"c"#,
        br#"a="\x""#,
        br#"a="\u12""#,
        br#"a="\u12g4""#,
        br#"a="\ud800\uzzzz""#,
        br#"a="\U0041""#,
        b"a=\"\\n\x01\"",
        b"\xff=1 a=1",
        b"k\xc3=1 a=1",
        "a\u{fffd}=1 a=1".as_bytes(),
        b"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326",
        br#"{"a":1}"#,
    ] {
        let mut scanner = LogfmtScanner::new();
        for name in [&b"a"[..], b"b", b"k", b"127.0.0.1"] {
            assert_eq!(
                scanner.lookup(line, name),
                None,
                "{} in {}",
                name.escape_ascii(),
                line.escape_ascii()
            );
        }
    }
    // Lines with no pair.
    for line in ["", " ", "\t \x01"] {
        assert_eq!(get(line, "a"), None, "{line:?}");
    }
}

#[test]
fn a_one_megabyte_line() {
    let big = "x".repeat(1 << 20);
    let line = format!(r#"pad={big} k=v quoted="{big}\n" tail"#);
    assert_eq!(get(&line, "k"), some("v"));
    assert_eq!(get(&line, "pad"), some(&big));
    assert_eq!(get(&line, "quoted"), some(&format!("{big}\n")));
    assert_eq!(get(&line, "tail"), some(""));
    let pairs: String = (0..100_000).map(|i| format!("k{i}={i} ")).collect();
    assert_eq!(get(&pairs, "k99999"), some("99999"));
    assert_eq!(get(format!("{pairs}bad=\"open"), "k1"), None);
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

/// Writes `value` as a logfmt value: bare when it can be, else quoted with escapes chosen by
/// `style`, which must give the value back.
fn write_value(value: &str, style: u8, out: &mut String) {
    let bare = !value.is_empty() && !value.bytes().any(|b| b <= b' ' || b == b'=' || b == b'"');
    if bare && style & 3 != 0 {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if style & 4 == 0 => out.push_str("\\n"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if c > '~' && style & 8 != 0 => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["a", "ab", "abc", "b", "é", "a.b", "level", "msg"])
            .prop_map(str::to_string),
        "[!#-<>-~]{1,4}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9./:-]{0,6}",
        prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
        prop::collection::vec(
            prop::sample::select(vec![' ', '"', '\\', '=', '\n', '\t', '\u{1}', 'é', '😀', 'x']),
            0..6
        )
        .prop_map(String::from_iter),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var_os("PROPTEST_CASES").map_or(2000, |_| ProptestConfig::default().cases),
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x10_9f47),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A line written from pairs gives back, for every key, the value of its last pair.
    #[test]
    fn written_pairs_read_back(
        pairs in prop::collection::vec((key(), value(), any::<u8>()), 1..8),
        blanks in prop::collection::vec(prop::sample::select(vec![" ", "  ", "\t", " \x01"]), 8),
    ) {
        let mut line = String::new();
        for (i, (key, value, style)) in pairs.iter().enumerate() {
            line.push_str(blanks[i]);
            line.push_str(key);
            if value.is_empty() && style & 16 != 0 {
                // A bare key.
                continue;
            }
            line.push('=');
            write_value(value, *style, &mut line);
        }
        let mut scanner = LogfmtScanner::new();
        for (key, _, _) in &pairs {
            let last = pairs.iter().rev().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_bytes());
            prop_assert_eq!(scanner.lookup(line.as_bytes(), key.as_bytes()), last, "{:?} in {:?}", key, line);
        }
    }

    /// No line makes the scanner panic, and a value found is a slice of the line or decoded
    /// from a quoted value.
    #[test]
    fn no_line_makes_it_panic(
        line in prop::collection::vec(prop::sample::select(b" =\"\\a\x01\xff\xc3\xa9nu0d8".to_vec()), 0..40),
    ) {
        let mut scanner = LogfmtScanner::new();
        for name in [&b"a"[..], b"aa", b"\xc3\xa9"] {
            let line_range = line.as_ptr_range();
            if let Some(value) = scanner.lookup(&line, name) {
                let borrowed = line_range.contains(&value.as_ptr()) || value.is_empty();
                prop_assert!(borrowed || line.contains(&b'\\'), "{}", line.escape_ascii());
            }
        }
    }
}
