//! A fixed-seed generator of JSON lines, and the JSON corpus the `-j` tests read.

use super::*;

// ------------------------------------------------------------------------------------------
// A fixed-seed generator of JSON and logfmt lines
// ------------------------------------------------------------------------------------------

pub(super) fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// Whitespace JSON allows between tokens (a line holds no `\n`).
fn blank(rng: &mut fastrand::Rng) -> &'static str {
    pick(rng, &["", "", "", "", " ", "\t", "  ", " \t ", "\r", "\t\t  "])
}

/// Pieces of JSON string bodies: every escape, surrogate pairs in both cases, a lone low
/// surrogate, raw UTF-8 and DEL, and JSON punctuation inside strings.
const STRING_PIECES: &[&str] = &[
    "plain",
    " ",
    "GET /index.html",
    r#"\""#,
    r"\\",
    r"\/",
    r"\b",
    r"\f",
    r"\n",
    r"\r",
    r"\t",
    r"\u0041",
    r"\u00e9",
    r"\u20AC",
    r"\ud83d\ude00",
    r"\uD83D\uDE00",
    r"\udc00",
    r"\u0000",
    r"\u001f",
    r"\u007f",
    "\x7f",
    "é",
    "日本",
    "😀",
    "k",
    r#"{\"k\":1}"#,
    ",",
    ":",
    "[",
    "}",
    "null",
    "12",
];

/// A JSON string, quotes included.
fn random_string(rng: &mut fastrand::Rng) -> String {
    let mut s = String::from("\"");
    for _ in 0..rng.usize(0..6) {
        s.push_str(pick(rng, STRING_PIECES));
    }
    // Now and then a lone high surrogate, which jq refuses and statbuf reads as U+FFFD.
    if rng.u32(0..60) == 0 {
        s.push_str(r"\ud800");
    }
    s.push('"');
    s
}

/// A JSON value, objects and arrays at most 3 deep below `depth`.
fn random_value(rng: &mut fastrand::Rng, depth: usize) -> String {
    let roll = rng.u32(0..100);
    match roll {
        0..=37 => random_string(rng),
        38..=51 => rng.i32(-1000..=1000).to_string(),
        // Numbers jq 1.6 may rewrite.
        52..=54 => pick(rng, &["1.50", "1e3", "-0", "0.25", "2E-2", "1.0", "-1.5E-07"]).to_owned(),
        55..=59 => "true".to_owned(),
        60..=63 => "false".to_owned(),
        64..=70 => "null".to_owned(),
        71..=74 => "\"\"".to_owned(),
        75..=86 if depth < 3 => {
            let items: Vec<String> = (0..rng.usize(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect();
            let mut s = String::from("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(blank(rng));
                s.push_str(item);
                s.push_str(blank(rng));
            }
            s.push(']');
            s
        }
        _ if depth < 3 => {
            let names = ["\"k\"", "\"a\"", "\"b\"", "\"a b\"", "\"é\"", "\"\\u006b\""];
            let members: Vec<(String, String)> = (0..rng.usize(0..4))
                .map(|_| (pick(rng, &names).to_owned(), random_value(rng, depth + 1)))
                .collect();
            render_object(rng, &members)
        }
        _ => random_string(rng),
    }
}

/// An object of `members` (name and value as JSON text), blanks between every token.
pub(super) fn render_object(rng: &mut fastrand::Rng, members: &[(String, String)]) -> String {
    let mut s = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        for part in [
            blank(rng),
            name.as_str(),
            blank(rng),
            ":",
            blank(rng),
            value.as_str(),
            blank(rng),
        ] {
            s.push_str(part);
        }
    }
    s.push_str(blank(rng));
    s.push('}');
    s
}

/// A random top-level object: `id`, members named like the paths looked for and like their
/// prefixes, an `o` that is usually an object (sometimes an array or a scalar, for paths that
/// cross it), duplicates, all in random order with random whitespace.
fn random_object(rng: &mut fastrand::Rng, i: usize) -> Vec<u8> {
    let mut members = vec![("\"id\"".to_owned(), format!("\"gen-{i}\""))];
    let optional = [
        ("\"k\"", 80),
        ("\"kk\"", 30),
        ("\"k2\"", 30),
        ("\"\\u006b\"", 10),
        ("\"a.b\"", 30),
        ("\"a b\"", 20),
        ("\"\"", 10),
        ("\"x\"", 30),
        ("\"pad\"", 20),
    ];
    for (name, percent) in optional {
        if rng.u32(0..100) < percent {
            members.push((name.to_owned(), random_value(rng, 0)));
        }
    }
    let o = match rng.u32(0..100) {
        0..=64 => {
            let mut inner = vec![("\"k\"".to_owned(), random_value(rng, 1))];
            if rng.bool() {
                inner.push(("\"kk\"".to_owned(), random_value(rng, 1)));
            }
            if rng.u32(0..100) < 40 {
                let deep = vec![("\"k\"".to_owned(), random_value(rng, 2))];
                inner.push(("\"a b\"".to_owned(), render_object(rng, &deep)));
            }
            if rng.u32(0..100) < 10 {
                inner.push(("\"k\"".to_owned(), random_value(rng, 1)));
            }
            rng.shuffle(&mut inner);
            Some(render_object(rng, &inner))
        }
        65..=79 => Some(random_value(rng, 1)),
        _ => None,
    };
    if let Some(o) = o {
        members.push(("\"o\"".to_owned(), o));
    }
    if rng.u32(0..100) < 25 {
        let name = members[rng.usize(..members.len())].0.clone();
        members.push((name, random_value(rng, 0)));
    }
    rng.shuffle(&mut members);
    let mut line = String::from(blank(rng));
    line.push_str(&render_object(rng, &members));
    line.push_str(blank(rng));
    line.into_bytes()
}

/// An object made not JSON: cut before its closing brace, or followed by more bytes.
pub(super) fn broken(rng: &mut fastrand::Rng, object: &[u8]) -> Vec<u8> {
    let close = object.iter().rposition(|&b| b == b'}').expect("an object");
    match rng.u32(0..4) {
        0 | 1 => object[..rng.usize(1..close)].to_vec(),
        2 => [object, b" x"].concat(),
        _ => [object, b"{}"].concat(),
    }
}

/// Bytes to stay under: statbuf's default `--max-line-bytes` is 1 MiB.
pub(super) const MEGABYTE: usize = 1_000_000;

/// A line of about 1 MB whose `pad` is a string of nearly all of it, escapes included, with
/// `k` after it and `o.k` a long string too.
fn megabyte_line() -> Vec<u8> {
    let unit = r#"0123456789 abc \"q\" \\ \/ \n\t \u00e9\ud83d\ude00 日本 "#;
    let inner = unit.repeat(200);
    let head = format!(r#"{{"id":"megabyte","o":{{"k":"{inner}"}},"pad":""#);
    let tail = r#"","k":"after a megabyte"}"#;
    let units = (MEGABYTE - head.len() - tail.len()) / unit.len();
    let line = format!("{head}{}{tail}", unit.repeat(units));
    assert!(line.len() <= MEGABYTE && line.len() > MEGABYTE - unit.len() - 1);
    line.into_bytes()
}

/// Lines written here for the cases a random object meets seldom: repeated members whose last
/// one has no such member inside, or is null or a scalar; a repeated inner member; a member
/// whose value has a member of the same name; escaped names on the path.
pub(super) const CRAFTED_JSON: &[&str] = &[
    r#"{"o":{"k":"first"},"o":{"x":1}}"#,
    r#"{"o":{"k":"first"},"o":null}"#,
    r#"{"o":{"k":"first"},"o":"k"}"#,
    r#"{"o":{"k":"first"},"o":{"k":null}}"#,
    r#"{"o":{"k":1,"k":null}}"#,
    r#"{"o":{"k":null,"k":"second"}}"#,
    r#"{"o":{"k":{"k":"k in k"}},"k":{"o":{"k":"o in k"}}}"#,
    r#"{"o":{"a b":{"k":"deep"}},"o":{"a b":{}}}"#,
    r#"{"o":{"a b":{"k":"first"},"a b":{"k":"last"}}}"#,
    r#"{"k":"first","k":{"a":[1,{"b":"c"}]}}"#,
    r#"{"\u006f":{"\u006B":"escaped both"},"\"k\"":"quoted name","k\u0000":"nul name"}"#,
    r#"{"a.b":"dotted","a":{"b":"nested"},"o":{"a b":{"k":"\ud83d\ude00"}}}"#,
    r#"{"pad":"","x":[],"o":{}}"#,
    r#"{"pad":"\u0000\u001f\u007f\"\\","x":{"":""},"o":[]}"#,
    "{\"k\":\"a line ending in CR LF\",\"o\":{\"k\":\"\\r\"}}\r",
    r#"{"a\u002eb":"escaped dot","a\/b":"escaped slash","o":{"a\u0020b":{"k":"escaped space"}}}"#,
];

/// Lines written here that are not JSON for want of JSON whitespace: blanks JSON does not
/// allow around the object.
pub(super) const CRAFTED_NOT_JSON: &[&str] = &[
    "\x0c{\"k\":\"form feed before\"}",
    "{\"k\":\"no-break space after\"}\u{a0}",
    "{\"k\":\"vertical tab after\"}\x0b",
    "{\"k\" \x0c:\"form feed inside\"}",
];

/// The seed of the JSON lines drawn here.
pub(super) const JSON_SEED: u64 = 0x0014_5eed_75a0;
/// How many random objects the JSON corpus adds to the fixture.
const RANDOM_OBJECTS: usize = 64;

/// The JSON corpus: `fixtures/hostile.jsonl`, then the drawn lines; and what jq thinks of
/// each line, computed once for every test.
pub(super) struct JsonCorpus {
    pub(super) lines: Vec<Vec<u8>>,
    /// Which lines are random objects made not JSON.
    pub(super) broken: Vec<bool>,
    pub(super) jq_object: Vec<bool>,
}

pub(super) fn json_corpus() -> &'static JsonCorpus {
    static CORPUS: OnceLock<JsonCorpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut lines = lines_of(&read(&fixture("hostile.jsonl")));
        assert_eq!(
            lines.len(),
            70,
            "fixtures/README.md says hostile.jsonl has 70 lines"
        );
        let mut rng = fastrand::Rng::with_seed(JSON_SEED);
        let crafted = CRAFTED_JSON.iter().chain(CRAFTED_NOT_JSON);
        lines.extend(crafted.map(|l| l.as_bytes().to_vec()));
        lines.push(megabyte_line());
        let mut broken_lines = vec![false; lines.len()];
        for i in 0..RANDOM_OBJECTS {
            let object = random_object(&mut rng, i);
            if i % 8 == 7 {
                lines.push(broken(&mut rng, &object));
                broken_lines.push(true);
            }
            lines.push(object);
            broken_lines.push(false);
        }
        let jq_object = lines.iter().map(|l| jq_is_one_object(l)).collect();
        JsonCorpus {
            lines,
            broken: broken_lines,
            jq_object,
        }
    })
}
