//! `-j/--json-key`, `--json-value`, `--logfmt-key` and `--logfmt-value` checked against oracles
//! that share no code with statbuf:
//!
//! - jq (1.6 here), run on each line alone: `jq -c type` says whether the line is one JSON
//!   object, `jq -r -c PATH` what the path gives;
//! - a strict reader over Python's `json` module (below, `JSON_ORACLE`), which also names the
//!   differences from jq that `src/structured/json.rs` documents, so that jq is compared only
//!   where none applies;
//! - a logfmt tokenizer in Python written from go-logfmt's rules (`LOGFMT_ORACLE`), and the
//!   PyPI `logfmt` package where it is installed, on the lines where its rules are go-logfmt's;
//! - grep for `--match` and `--exclude`, `sort | uniq -c` and mawk over loggen's logs.
//!
//! The hostile corpora are `fixtures/hostile.jsonl` and `fixtures/hostile.logfmt` (see
//! `fixtures/README.md`), with lines written here for rare cases and lines drawn from a
//! fixed-seed generator: a line of 1 MB, random objects with random whitespace, member order
//! and duplicates, broken ones, and random logfmt pairs. Where the README leaves an order open,
//! the tests take `--value-field`'s: a line's value is read before its key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;

use loggen::{Format, LogSpec};

use crate::tools::{Tool, have};
use crate::util::*;

// ------------------------------------------------------------------------------------------
// The programs the oracles run
// ------------------------------------------------------------------------------------------

/// jq, and the Debian package that installs it.
const JQ: (&str, &str) = ("jq", "jq");
/// Python 3, and its Debian package.
const PYTHON: (&str, &str) = ("python3", "python3");

/// Where `name` is in PATH, if it is.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Whether every program is installed, as `tools::have` says it for its tools: outside CI a
/// missing one is named and the test returns at once; under CI (`CI` set) the test fails.
fn have_programs(programs: &[(&str, &str)]) -> bool {
    let missing: Vec<&(&str, &str)> = programs
        .iter()
        .filter(|(name, _)| program(name).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let (names, packages): (Vec<&str>, Vec<&str>) = missing.into_iter().copied().unzip();
    let needs = format!("{} (apt-get install {})", names.join(", "), packages.join(" "));
    if std::env::var_os("CI").is_some() {
        panic!("this test needs {needs}");
    }
    eprintln!("skipped: this test needs {needs}");
    false
}

/// Runs `program args` with `input` on its standard input and returns what it did.
fn pipe_through(program: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    // A writer of its own, so that a large input and a large output cannot block each other.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot wait for {program}: {e}"));
    writer.join().expect("stdin writer panicked");
    out
}

/// Runs a Python script held in this file on `file` with `args`; returns its standard output.
/// The script defines `main`; `PYTHON_TAIL`, which reads the lines and calls it, ends it.
fn python(wd: &Workdir, name: &str, script: &str, file: &Path, args: &[String]) -> String {
    let script_path = wd.write(name, format!("{script}{PYTHON_TAIL}"));
    let out = Command::new(PYTHON.0)
        .arg(&script_path)
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", PYTHON.0));
    assert!(
        out.status.success(),
        "{name} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{name} printed bytes that are not UTF-8: {e}"))
}

// ------------------------------------------------------------------------------------------
// What a line gives
// ------------------------------------------------------------------------------------------

/// What one key flag takes from one line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Reading {
    Found(Vec<u8>),
    /// Absent or null (JSON), absent or in a malformed line (logfmt).
    Missing,
    NotJson,
}

/// One oracle's reading of one line for one path or key, with its notes: for JSON the
/// documented differences from jq that apply, for logfmt how the line's pairs are written.
#[derive(Clone, Debug)]
struct Oracled {
    reading: Reading,
    notes: Vec<String>,
}

/// Parses the oracles' output: a line per input line, a `STATUS/NOTES/HEX` field per path.
fn parse_oracle(out: &str, fields: usize, lines: usize) -> Vec<Vec<Oracled>> {
    let parsed: Vec<Vec<Oracled>> = out
        .lines()
        .map(|line| {
            let row: Vec<Oracled> = line
                .split(' ')
                .map(|field| {
                    let mut parts = field.splitn(3, '/');
                    let (status, notes, hex) = (parts.next(), parts.next(), parts.next());
                    let reading = match (status, hex) {
                        (Some("F"), Some(hex)) => Reading::Found(unhex(hex)),
                        (Some("M"), _) => Reading::Missing,
                        (Some("N"), _) => Reading::NotJson,
                        _ => panic!("bad oracle field {field:?}"),
                    };
                    let notes = notes
                        .unwrap_or("-")
                        .split(',')
                        .filter(|n| *n != "-")
                        .map(str::to_owned)
                        .collect();
                    Oracled { reading, notes }
                })
                .collect();
            assert_eq!(row.len(), fields, "oracle line {line:?}");
            row
        })
        .collect();
    assert_eq!(parsed.len(), lines, "the oracle read another number of lines");
    parsed
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {hex:?}")))
        .collect()
}

/// A path in jq's notation, and its member names for the Python oracle.
#[derive(Clone, Copy, Debug)]
struct Member {
    jq: &'static str,
    names: &'static [&'static str],
}

const K: Member = Member {
    jq: ".k",
    names: &["k"],
};
const O_K: Member = Member {
    jq: ".o.k",
    names: &["o", "k"],
};
const O: Member = Member {
    jq: ".o",
    names: &["o"],
};
const X: Member = Member {
    jq: ".x",
    names: &["x"],
};
const PAD: Member = Member {
    jq: ".pad",
    names: &["pad"],
};
const O_A_B_K: Member = Member {
    jq: r#".o."a b".k"#,
    names: &["o", "a b", "k"],
};
const A_DOT_B: Member = Member {
    jq: r#".["a.b"]"#,
    names: &["a.b"],
};

/// What the Python JSON oracle reads in `file` for each path: `[line][path]`.
fn python_json(wd: &Workdir, file: &Path, paths: &[Member], lines: usize) -> Vec<Vec<Oracled>> {
    let args: Vec<String> = paths
        .iter()
        .map(|p| serde_json::to_string(p.names).expect("names as JSON"))
        .collect();
    let out = python(wd, "json_oracle.py", JSON_ORACLE, file, &args);
    parse_oracle(&out, paths.len(), lines)
}

/// What the Python logfmt oracle reads in `file` for each key: `[line][key]`.
fn python_logfmt(wd: &Workdir, file: &Path, keys: &[&str], lines: usize) -> Vec<Vec<Oracled>> {
    let args: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let out = python(wd, "logfmt_oracle.py", LOGFMT_ORACLE, file, &args);
    parse_oracle(&out, keys.len(), lines)
}

/// Whether jq reads `line` as exactly one JSON object.
fn jq_is_one_object(line: &[u8]) -> bool {
    let out = pipe_through(JQ.0, &["-c", "type"], line);
    out.status.success() && out.stdout == b"\"object\"\n"
}

/// What `jq -r -c PATH` prints for a line that is one object. jq stops with an error on a
/// path through an array, a string, a number or a boolean, which statbuf documents as the
/// member missing; `null` is missing too, unless it is the string "null".
fn jq_reading(line: &[u8], path: &str) -> Reading {
    let out = pipe_through(JQ.0, &["-r", "-c", path], line);
    if !out.status.success() {
        return Reading::Missing;
    }
    let text = out
        .stdout
        .strip_suffix(b"\n")
        .unwrap_or_else(|| panic!("jq -r -c {path} printed no newline for {}", show(line)));
    if text == b"null" && pipe_through(JQ.0, &["-c", path], line).stdout == b"null\n" {
        return Reading::Missing;
    }
    Reading::Found(text.to_vec())
}

/// Two JSON texts that hold the same values, numbers compared as doubles (jq 1.6 rewrites
/// numbers through a double; statbuf keeps them as written).
fn same_json_numbers(a: &[u8], b: &[u8]) -> bool {
    use serde_json::Value;
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }
    match (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => same(&a, &b),
        _ => false,
    }
}

// ------------------------------------------------------------------------------------------
// Expected counts and statbuf's
// ------------------------------------------------------------------------------------------

/// A key's parts as one `Counts` key: a single part as it is, several escaped and joined by
/// tabs (which the escaping never leaves raw), so that no two keys meet.
fn key_of(parts: &[Vec<u8>]) -> Vec<u8> {
    match parts {
        [one] => one.clone(),
        _ => parts
            .iter()
            .map(|p| p.escape_ascii().to_string())
            .collect::<Vec<String>>()
            .join("\t")
            .into_bytes(),
    }
}

/// What the lines should give: counts (or sums) per key and how many lines were skipped why.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    counts: Counts,
    lines: u64,
    matched: u64,
    unmatched: u64,
    bad_values: u64,
    not_json: u64,
}

impl Expected {
    /// Counting lines by a key of one or more parts, each line's parts as an oracle read them.
    fn counting<'a>(lines: impl IntoIterator<Item = Vec<&'a Reading>>) -> Expected {
        let mut expected = Expected::default();
        for parts in lines {
            expected.lines += 1;
            match line_key(&parts) {
                Reading::Found(key) => {
                    expected.matched += 1;
                    *expected.counts.entry(key).or_insert(0) += 1;
                }
                Reading::Missing => expected.unmatched += 1,
                Reading::NotJson => expected.not_json += 1,
            }
        }
        expected
    }

    /// Summing the integer `value` per key. The value is read first, as `--value-field` does:
    /// a line whose value is bad is a bad value, whatever its key. Sums saturate, as the README
    /// says; a corpus gives the values of a key that reaches a bound all one sign, so that the
    /// order statbuf adds them in cannot matter.
    fn summing<'a>(lines: impl IntoIterator<Item = (&'a Reading, &'a Reading)>) -> Expected {
        let mut expected = Expected::default();
        for (key, value) in lines {
            expected.lines += 1;
            if *key == Reading::NotJson || *value == Reading::NotJson {
                assert!(*key == *value, "a line not JSON for one path only");
                expected.not_json += 1;
                continue;
            }
            let Reading::Found(value) = value else {
                expected.unmatched += 1;
                continue;
            };
            let Some(n) = integer(value) else {
                expected.bad_values += 1;
                continue;
            };
            let Reading::Found(key) = key else {
                expected.unmatched += 1;
                continue;
            };
            expected.matched += 1;
            let sum = expected.counts.entry(key.clone()).or_insert(0);
            *sum = sum.saturating_add(n);
        }
        expected
    }
}

/// A composite key's reading: the key when every part is found; not JSON when the line is
/// not; missing when a part is missing. (A line where one part is missing and another is not
/// UTF-8 would depend on the order statbuf reads the parts in: the corpora hold none.)
fn line_key(parts: &[&Reading]) -> Reading {
    let not_json = parts.iter().any(|r| **r == Reading::NotJson);
    let missing = parts.iter().any(|r| **r == Reading::Missing);
    assert!(
        !(not_json && missing),
        "a line both missing a part and not JSON: {parts:?}"
    );
    if not_json {
        return Reading::NotJson;
    }
    if missing {
        return Reading::Missing;
    }
    let found: Vec<Vec<u8>> = parts
        .iter()
        .map(|r| match r {
            Reading::Found(v) => v.clone(),
            _ => unreachable!(),
        })
        .collect();
    Reading::Found(key_of(&found))
}

/// An integer as the README defines values: an optional sign and decimal digits, up to 64
/// bits; `-` alone is 0.
fn integer(text: &[u8]) -> Option<i64> {
    if text == b"-" {
        return Some(0);
    }
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Up to 64 bits: through i128 for the range check; a longer run of digits is no value.
    text.parse::<i128>().ok().and_then(|n| i64::try_from(n).ok())
}

/// statbuf's `--format csv` output: the header and the counts by the key columns.
fn csv_counts(run: &Run) -> (Vec<String>, Counts) {
    if run.stdout.is_empty() {
        return (Vec::new(), Counts::new());
    }
    let table = CsvTable::parse(&run.stdout, run);
    let n = table.header.len();
    assert!(
        n >= 4 && table.header[..2] == ["window_start", "window_end"] && table.header[n - 1] == "count",
        "unexpected CSV header {:?}\n{run}",
        table.header
    );
    let mut counts = Counts::new();
    for row in &table.rows {
        let count: i64 = std::str::from_utf8(&row[n - 1])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("count {} is not an integer\n{run}", show(&row[n - 1])));
        *counts.entry(key_of(&row[2..n - 1])).or_insert(0) += count;
    }
    (table.header, counts)
}

/// The `N not JSON` of the summary line (0 when it does not say).
fn not_json(run: &Run) -> u64 {
    let stderr = run.stderr_str();
    let summary = stderr
        .lines()
        .find(|l| Summary::parse_line(l).is_ok())
        .unwrap_or_else(|| panic!("no summary line\n{run}"));
    summary
        .split(',')
        .filter_map(|part| part.trim().strip_suffix(" not JSON"))
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("bad `not JSON` count in {summary:?}"))
        })
        .next()
        .unwrap_or(0)
}

/// Fails unless statbuf's counts and summary are what `expected` says.
#[track_caller]
fn assert_run(run: &Run, expected: &Expected, what: &str) {
    let (_, counts) = csv_counts(run);
    let context = format!("{what}\n{run}");
    assert_counts_eq(&counts, &expected.counts, &context);
    let summary = run.summary();
    let got = (
        summary.lines,
        summary.matched,
        summary.unmatched,
        summary.bad_values,
        not_json(run),
    );
    let want = (
        expected.lines,
        expected.matched,
        expected.unmatched,
        expected.bad_values,
        expected.not_json,
    );
    assert_eq!(
        got, want,
        "(lines, matched, unmatched, bad values, not JSON) in the summary\n{context}"
    );
}

/// Lines as statbuf cuts a file: at `\n`, a trailing `\r` dropped.
fn lines_of(data: &[u8]) -> Vec<Vec<u8>> {
    split_lines(data).into_iter().map(<[u8]>::to_vec).collect()
}

/// Lines joined back into a file, each ending with `\n`.
fn file_of<'a>(lines: impl IntoIterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

/// `-j PATH` for each path, and `--format csv`.
fn json_key_args(paths: &[&str]) -> Vec<String> {
    let mut args = vec!["--format".to_owned(), "csv".to_owned()];
    for p in paths {
        args.extend(["-j".to_owned(), (*p).to_owned()]);
    }
    args
}

// ------------------------------------------------------------------------------------------
// A fixed-seed generator of JSON and logfmt lines
// ------------------------------------------------------------------------------------------

fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
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
fn render_object(rng: &mut fastrand::Rng, members: &[(String, String)]) -> String {
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
fn broken(rng: &mut fastrand::Rng, object: &[u8]) -> Vec<u8> {
    let close = object.iter().rposition(|&b| b == b'}').expect("an object");
    match rng.u32(0..4) {
        0 | 1 => object[..rng.usize(1..close)].to_vec(),
        2 => [object, b" x"].concat(),
        _ => [object, b"{}"].concat(),
    }
}

/// Bytes to stay under: statbuf's default `--max-line-bytes` is 1 MiB.
const MEGABYTE: usize = 1_000_000;

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
const CRAFTED_JSON: &[&str] = &[
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
const CRAFTED_NOT_JSON: &[&str] = &[
    "\x0c{\"k\":\"form feed before\"}",
    "{\"k\":\"no-break space after\"}\u{a0}",
    "{\"k\":\"vertical tab after\"}\x0b",
    "{\"k\" \x0c:\"form feed inside\"}",
];

/// The seed of the JSON lines drawn here.
const JSON_SEED: u64 = 0x0014_5eed_75a0;
/// How many random objects the JSON corpus adds to the fixture.
const RANDOM_OBJECTS: usize = 64;

/// The JSON corpus: `fixtures/hostile.jsonl`, then the drawn lines; and what jq thinks of
/// each line, computed once for every test.
struct JsonCorpus {
    lines: Vec<Vec<u8>>,
    /// Which lines are random objects made not JSON.
    broken: Vec<bool>,
    jq_object: Vec<bool>,
}

fn json_corpus() -> &'static JsonCorpus {
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

// ------------------------------------------------------------------------------------------
// 1. -j PATH over the hostile corpus: equal to jq and to Python's json
// ------------------------------------------------------------------------------------------

/// For each path: jq and the Python oracle agree on every line where no documented difference
/// applies (numbers compared as doubles where jq rewrites them); statbuf's counts and summary
/// equal the Python oracle's over the whole corpus, and jq's over the lines where no
/// documented difference applies.
fn check_json_paths(paths: &[Member]) {
    if !have_programs(&[JQ, PYTHON]) {
        return;
    }
    let corpus = json_corpus();
    let wd = Workdir::new();
    let file = wd.write("corpus.jsonl", file_of(&corpus.lines));
    let python = python_json(&wd, &file, paths, corpus.lines.len());
    for (p, path) in paths.iter().enumerate() {
        let mut comparable = Vec::new();
        let mut jq_readings = Vec::new();
        for (i, line) in corpus.lines.iter().enumerate() {
            let py = &python[i][p];
            if !py.notes.is_empty() && py.notes != ["number"] {
                // A documented difference: statbuf is checked against the Python oracle alone.
                continue;
            }
            let jq = if corpus.jq_object[i] {
                jq_reading(line, path.jq)
            } else {
                Reading::NotJson
            };
            let at = || {
                format!(
                    "line {} ({}), path {}",
                    i + 1,
                    show(&line[..line.len().min(200)]),
                    path.jq
                )
            };
            match py.notes.as_slice() {
                [] => {
                    assert_eq!(py.reading, jq, "Python's json and jq differ on {}", at());
                    comparable.push(i);
                    jq_readings.push(jq);
                }
                [number] if number == "number" => match (&py.reading, &jq) {
                    (Reading::Found(a), Reading::Found(b)) => assert!(
                        same_json_numbers(a, b),
                        "{} is not the number jq prints, {}, on {}",
                        show(a),
                        show(b),
                        at()
                    ),
                    _ => panic!("Python reads {:?} and jq {jq:?} on {}", py.reading, at()),
                },
                _ => unreachable!(),
            }
        }
        assert!(
            comparable.len() > corpus.lines.len() * 3 / 4,
            "only {} of {} lines compared with jq for {}",
            comparable.len(),
            corpus.lines.len(),
            path.jq
        );

        let all = wd.statbuf().args(json_key_args(&[path.jq])).arg(&file).run();
        let expected = Expected::counting(python.iter().map(|row| vec![&row[p].reading]));
        assert_run(&all, &expected, &format!("-j {} against Python's json", path.jq));

        let subset = wd.write(
            &format!("comparable-{p}.jsonl"),
            file_of(comparable.iter().map(|&i| &corpus.lines[i])),
        );
        let run = wd.statbuf().args(json_key_args(&[path.jq])).arg(&subset).run();
        let expected = Expected::counting(jq_readings.iter().map(|r| vec![r]));
        assert!(
            expected.matched > 0 && expected.unmatched > 0 && expected.not_json > 10,
            "the corpus should give jq keys, missing members and lines not JSON for {}: {expected:?}",
            path.jq
        );
        assert_run(
            &run,
            &expected,
            &format!("-j {} against jq -r -c, line by line", path.jq),
        );
    }
}

#[test]
fn json_key_at_the_top_equals_jq_and_python() {
    check_json_paths(&[K]);
}

#[test]
fn json_key_through_an_object_equals_jq_and_python() {
    check_json_paths(&[O_K]);
}

#[test]
fn json_key_of_objects_and_arrays_is_compact_json_as_jq_prints_it() {
    check_json_paths(&[O, X]);
}

#[test]
fn json_key_with_quoted_names_and_long_values_equals_jq_and_python() {
    check_json_paths(&[O_A_B_K, A_DOT_B, PAD]);
}

#[test]
fn json_key_with_escapes_and_brackets_in_the_path_equals_jq_and_python() {
    let escaped = Member {
        jq: r#"."\u006f"["k"]"#,
        names: &["o", "k"],
    };
    let quoted = Member {
        jq: r#".["\"k\""]"#,
        names: &["\"k\""],
    };
    check_json_paths(&[escaped, quoted]);
}

/// The drawn part of the corpus is what the tests above claim it is.
#[test]
fn the_generated_corpus_holds_what_it_claims() {
    if !have_programs(&[JQ]) {
        return;
    }
    let corpus = json_corpus();
    let not_json = 70 + CRAFTED_JSON.len();
    let first = not_json + CRAFTED_NOT_JSON.len();
    assert!(
        corpus.jq_object[70..not_json].iter().all(|&o| o),
        "jq reads every object written here"
    );
    assert!(
        corpus.jq_object[not_json..first].iter().all(|&o| !o),
        "jq refuses every line written here as not JSON"
    );
    let drawn = &corpus.lines[first..];
    let megabyte = &drawn[0];
    assert!(megabyte.len() > 999_000 && megabyte.len() <= MEGABYTE);
    assert!(corpus.jq_object[first], "jq reads the 1 MB line");
    for i in first + 1..corpus.lines.len() {
        // jq refuses a lone high surrogate, which a few random objects hold.
        let high = corpus.lines[i].windows(6).any(|w| w == b"\\ud800");
        assert_eq!(
            corpus.jq_object[i],
            !corpus.broken[i] && !high,
            "jq reads every random object but those with a lone high surrogate, and no broken \
             one: line {} {}",
            i + 1,
            show(&corpus.lines[i])
        );
    }
    let has = |needle: &[u8]| {
        drawn
            .iter()
            .filter(|l| l.windows(needle.len()).any(|w| w == needle))
            .count()
    };
    for needle in [
        &b"\t"[..],
        b"\r",
        b"\\ud83d",
        b"\\u006b",
        b"\\ud800",
        b"1.50",
        b"\"\"",
    ] {
        assert!(has(needle) > 0, "no drawn line holds {}", show(needle));
    }
}

// ------------------------------------------------------------------------------------------
// Numbers as written
// ------------------------------------------------------------------------------------------

/// Numbers are kept as the line writes them, `1.50` and `1.5` two keys, inside arrays and
/// objects too; jq prints the same numbers, maybe written otherwise.
#[test]
fn numbers_are_counted_as_written() {
    let numbers: &[(&str, &str)] = &[
        ("1e3", "1e3"),
        ("1E3", "1E3"),
        ("1e+3", "1e+3"),
        ("1000", "1000"),
        ("1.50", "1.50"),
        ("1.5", "1.5"),
        (" 1.50 ", "1.50"),
        ("-0", "-0"),
        ("0", "0"),
        ("0.0", "0.0"),
        ("-1.5E-07", "-1.5E-07"),
        ("100000000000000000000000", "100000000000000000000000"),
        ("12345678901234567890", "12345678901234567890"),
        ("[1.0, 1e2 ,{ \"x\" : 2.50 }]", "[1.0,1e2,{\"x\":2.50}]"),
        ("{\"a\":[0.10 , -0.0]}", "{\"a\":[0.10,-0.0]}"),
    ];
    let wd = Workdir::new();
    let lines: Vec<Vec<u8>> = numbers
        .iter()
        .map(|(written, _)| format!("{{\"id\":1,\"n\":{written}}}").into_bytes())
        .collect();
    let log = wd.write("numbers.jsonl", file_of(&lines));
    let run = wd.statbuf().args(json_key_args(&[".n"])).arg(&log).run();
    let mut expected = Expected::default();
    for (_, key) in numbers {
        *expected.counts.entry(key.as_bytes().to_vec()).or_insert(0) += 1;
        expected.lines += 1;
        expected.matched += 1;
    }
    assert_run(&run, &expected, "numbers as the lines write them");

    if !have_programs(&[JQ]) {
        return;
    }
    for (line, (_, key)) in lines.iter().zip(numbers) {
        match jq_reading(line, ".n") {
            Reading::Found(jq) => assert!(
                same_json_numbers(key.as_bytes(), &jq),
                "jq prints {} for {key}: not the same number",
                show(&jq)
            ),
            other => panic!("jq reads {other:?} in {}", show(line)),
        }
    }
}

// ------------------------------------------------------------------------------------------
// 2. Composite keys
// ------------------------------------------------------------------------------------------

/// Lines with `a`, `b.c`, `a.id`, `b.id` and `count` members, some missing, null, or crossing
/// a scalar, values with commas, quotes and newlines (which CSV must quote); and lines that
/// are not JSON.
fn composite_lines() -> Vec<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(JSON_SEED ^ 2);
    let values = [
        r#""x""#,
        r#""a,b""#,
        r#""say \"hi\"""#,
        r#""two\nlines""#,
        r#""é 😀""#,
        r#""""#,
        "12",
        "true",
        "null",
        "[1,\"a\"]",
        r#"{"z":"w"}"#,
    ];
    let mut lines = Vec::new();
    for i in 0..300 {
        let mut members = vec![("\"id\"".to_owned(), i.to_string())];
        match rng.u32(0..100) {
            0..=44 => members.push(("\"a\"".to_owned(), pick(&mut rng, &values).to_owned())),
            45..=84 => {
                let inner = vec![("\"id\"".to_owned(), pick(&mut rng, &values).to_owned())];
                members.push(("\"a\"".to_owned(), render_object(&mut rng, &inner)));
            }
            _ => {}
        }
        match rng.u32(0..10) {
            0 => members.push(("\"b\"".to_owned(), pick(&mut rng, &values).to_owned())),
            1 => {}
            _ => {
                let inner = vec![
                    ("\"c\"".to_owned(), pick(&mut rng, &values).to_owned()),
                    ("\"id\"".to_owned(), pick(&mut rng, &values).to_owned()),
                ];
                members.push(("\"b\"".to_owned(), render_object(&mut rng, &inner)));
            }
        }
        if rng.bool() {
            members.push(("\"count\"".to_owned(), pick(&mut rng, &values).to_owned()));
        }
        rng.shuffle(&mut members);
        let line = render_object(&mut rng, &members).into_bytes();
        if i % 25 == 0 {
            lines.push(broken(&mut rng, &line));
        }
        lines.push(line);
    }
    lines
}

/// Counts of a composite key over the composite lines equal the Python oracle's; the CSV
/// header is `header`.
fn check_composite(paths: &[Member], header: &[&str]) {
    if !have_programs(&[PYTHON]) {
        return;
    }
    let wd = Workdir::new();
    let lines = composite_lines();
    let file = wd.write("composite.jsonl", file_of(&lines));
    let python = python_json(&wd, &file, paths, lines.len());
    let flags: Vec<&str> = paths.iter().map(|p| p.jq).collect();
    let run = wd.statbuf().args(json_key_args(&flags)).arg(&file).run();
    let expected = Expected::counting(python.iter().map(|row| row.iter().map(|o| &o.reading).collect()));
    assert!(
        expected.matched > 50 && expected.unmatched > 10 && expected.not_json > 5,
        "{expected:?}"
    );
    assert_run(
        &run,
        &expected,
        &format!("-j {} against Python's json", flags.join(" -j ")),
    );
    let (got, _) = csv_counts(&run);
    let mut want = vec!["window_start", "window_end"];
    want.extend(header);
    want.push("count");
    assert_eq!(got, want, "CSV header\n{run}");
}

#[test]
fn composite_json_keys_are_columns_named_after_their_last_members() {
    check_composite(
        &[
            Member {
                jq: ".a",
                names: &["a"],
            },
            Member {
                jq: ".b.c",
                names: &["b", "c"],
            },
        ],
        &["a", "c"],
    );
}

#[test]
fn composite_json_keys_sharing_a_name_are_key1_and_key2() {
    check_composite(
        &[
            Member {
                jq: ".a.id",
                names: &["a", "id"],
            },
            Member {
                jq: ".b.id",
                names: &["b", "id"],
            },
        ],
        &["key1", "key2"],
    );
}

#[test]
fn a_composite_json_key_named_like_a_column_of_statbuf_is_numbered() {
    check_composite(
        &[
            Member {
                jq: ".count",
                names: &["count"],
            },
            Member {
                jq: ".a",
                names: &["a"],
            },
        ],
        &["key1", "key2"],
    );
}

#[test]
fn a_single_json_key_is_the_key_column() {
    check_composite(
        &[Member {
            jq: ".b.c",
            names: &["b", "c"],
        }],
        &["key"],
    );
}

// ------------------------------------------------------------------------------------------
// 3. --json-value
// ------------------------------------------------------------------------------------------

/// Values of every kind: integers, strings of digits (signed, with leading zeros, escaped),
/// `-`, and bad ones (decimals, exponents, blanks, words, booleans, objects, empty, too big,
/// non-ASCII digits).
const JSON_VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "42",
    "1234567",
    "-987654",
    r#""12""#,
    r#""-""#,
    r#""+5""#,
    r#""007""#,
    r#""-0""#,
    "-0",
    r#""\u0031\u0032""#,
    r#""""#,
    r#"" 1""#,
    r#""1 ""#,
    "1.5",
    "1e3",
    "1.0",
    r#""12k""#,
    "true",
    "false",
    "null",
    "{}",
    "[1]",
    r#""١""#,
    r#""9223372036854775808""#,
    "99999999999999999999",
];

/// `--json-value .v` sums per `-j .k` equal the Python oracle's values read as the README
/// reads integers; bad values, missing members and lines not JSON counted as it says.
#[test]
fn json_value_sums_equal_python() {
    if !have_programs(&[PYTHON]) {
        return;
    }
    let mut rng = fastrand::Rng::with_seed(JSON_SEED ^ 3);
    let keys = [r#""a""#, r#""b""#, r#""é""#, r#""x y""#, "7", "null"];
    let mut lines = Vec::new();
    for i in 0..600 {
        let mut members = vec![("\"id\"".to_owned(), i.to_string())];
        if rng.u32(0..100) < 90 {
            members.push(("\"k\"".to_owned(), pick(&mut rng, &keys).to_owned()));
        }
        if rng.u32(0..100) < 90 {
            members.push(("\"v\"".to_owned(), pick(&mut rng, JSON_VALUES).to_owned()));
        }
        if rng.u32(0..100) < 10 {
            members.push(("\"v\"".to_owned(), pick(&mut rng, JSON_VALUES).to_owned()));
        }
        rng.shuffle(&mut members);
        let line = render_object(&mut rng, &members).into_bytes();
        if i % 40 == 0 {
            lines.push(broken(&mut rng, &line));
        }
        lines.push(line);
    }
    // The extremes: alone under a key, and twice under a key whose sum saturates.
    lines.push(br#"{"k":"max","v":9223372036854775807}"#.to_vec());
    lines.push(br#"{"k":"min","v":"-9223372036854775808"}"#.to_vec());
    for _ in 0..2 {
        lines.push(br#"{"k":"over","v":"+9223372036854775807"}"#.to_vec());
        lines.push(br#"{"k":"under","v":-9223372036854775808}"#.to_vec());
    }
    let wd = Workdir::new();
    let file = wd.write("values.jsonl", file_of(&lines));
    let paths = [
        K,
        Member {
            jq: ".v",
            names: &["v"],
        },
    ];
    let python = python_json(&wd, &file, &paths, lines.len());
    let expected = Expected::summing(python.iter().map(|row| (&row[0].reading, &row[1].reading)));
    assert!(expected.bad_values > 50 && expected.unmatched > 20 && expected.not_json > 5);
    let run = wd
        .statbuf()
        .args(["--format", "csv", "-j", ".k", "--json-value", ".v"])
        .arg(&file)
        .run();
    assert_run(&run, &expected, "--json-value .v against Python's json");
}

// ------------------------------------------------------------------------------------------
// 4. logfmt
// ------------------------------------------------------------------------------------------

/// Separators: runs of bytes up to the space, control characters included.
fn logfmt_blank(rng: &mut fastrand::Rng) -> &'static str {
    pick(
        rng,
        &[" ", " ", " ", "  ", "\t", " \t ", "\x01", "\x1f", " \x0b "],
    )
}

/// Values as logfmt writes them: bare, empty, plain, quoted with and without escapes (every
/// escape go-logfmt decodes, surrogate pairs and lone ones), UTF-8 and bytes that are not.
const LOGFMT_VALUES: &[&[u8]] = &[
    b"",
    b"=",
    b"=\"\"",
    b"=GET",
    b"=info",
    b"=a/b",
    b"=%20",
    b"=\xc3\xbcn\xc3\xaf",
    b"=12",
    b"=-3",
    b"=a\\nb",
    b"=it's",
    b"=a\xffb",
    b"=\"a b\"",
    b"=\"x=y\"",
    b"=\"k=fake k=x\"",
    b"=\"tab\there\"",
    b"=\"\xc3\xbcn\xc3\xaf c\xc3\xb6d\xc3\xa9\"",
    b"=\"\x7f\"",
    b"=\"a\xffb\"",
    b"=\"q\\\"b\"",
    b"=\"\\\\ \\/ \\'\"",
    b"=\"\\b\\f\\n\\r\\t\"",
    b"=\"\\u0041\\u00e9\\u20AC\"",
    b"=\"\\ud83d\\ude00 \\uD83D\\uDE00\"",
    b"=\"\\ud800x\\udc00\"",
    b"=\"\\uD800\\u0041\"",
    b"=\"a\xff\\tb\"",
    b"=\"\xe2\x82\\n\xed\xa0\x80\"",
];

/// Pieces that make go-logfmt stop on a line.
const LOGFMT_MALFORMED: &[&[u8]] = &[
    b"k=\"x\"=y",
    b"k=\"x\"\"y\"",
    b"k \"v\"",
    b"k=\"\\U0041\"",
    b"a=b=c",
    b"k=\"open",
    b"=v",
    b"k\"=v",
    b"k=a\"b",
    b"k=\"\\x\"",
    b"k=\"\\u12\"",
    b"k=\"\x01\\n\"",
    b"k=\"\x01abc \\t\"",
    b"k\xff=v",
    b"k\xef\xbf\xbd=v",
];

/// Drawn logfmt lines: keys that are prefixes of others, repeated keys, random separators,
/// a quoted value followed at once by the next key, and now and then a malformed piece.
fn logfmt_lines() -> Vec<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(JSON_SEED ^ 4);
    let keys: &[&[u8]] = &[
        b"k",
        b"kk",
        b"k2",
        b"K",
        b"id",
        b"v",
        b"level",
        b"k.k",
        "ключ".as_bytes(),
    ];
    let mut lines = Vec::new();
    for i in 0..400 {
        let mut line = Vec::new();
        if rng.bool() {
            line.extend_from_slice(logfmt_blank(&mut rng).as_bytes());
        }
        line.extend_from_slice(format!("id=gen-{i}").as_bytes());
        for _ in 0..rng.usize(0..7) {
            let quoted_before = line.last() == Some(&b'"');
            if !(quoted_before && rng.u32(0..4) == 0) {
                line.extend_from_slice(logfmt_blank(&mut rng).as_bytes());
            }
            if rng.u32(0..100) < 3 {
                line.extend_from_slice(pick(&mut rng, LOGFMT_MALFORMED));
                continue;
            }
            line.extend_from_slice(pick(&mut rng, keys));
            line.extend_from_slice(pick(&mut rng, LOGFMT_VALUES));
        }
        if rng.u32(0..4) == 0 {
            line.extend_from_slice(logfmt_blank(&mut rng).as_bytes());
        }
        lines.push(line);
    }
    lines
}

/// A logfmt line of about 1 MB: `k` a quoted value of nearly all of it, escapes included.
fn megabyte_logfmt_line() -> Vec<u8> {
    let unit = r#"0123456789 abc \"q\" \\ \/ \n\t \u00e9\ud83d\ude00 k=v 日本 "#;
    let units = (MEGABYTE - 100) / unit.len();
    format!("id=megabyte k=\"{}\" kk=after", unit.repeat(units)).into_bytes()
}

/// Runs the PyPI `logfmt` package over `file` for `keys`, if Python can import it.
fn pypi_logfmt(wd: &Workdir, file: &Path, keys: &[&str], lines: usize) -> Option<Vec<Vec<Oracled>>> {
    let import = Command::new(PYTHON.0)
        .args(["-c", "import logfmt"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", PYTHON.0));
    if !import.success() {
        eprintln!(
            "skipped: the PyPI `logfmt` package is not installed (pip install logfmt): \
             no second logfmt oracle"
        );
        return None;
    }
    let args: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let out = python(wd, "pypi_logfmt.py", PYPI_LOGFMT, file, &args);
    Some(parse_oracle(&out, keys.len(), lines))
}

/// Whether the PyPI package reads `line` as go-logfmt does: printable ASCII (and tabs), no
/// backslash, and pairs that are all `key=value` or `key="value"` (the package keeps a bare
/// key as `True`, drops a one-byte bare key at the end of a line and decodes only `\"`).
/// Long lines are left out too: the package builds values a byte at a time, in quadratic time.
fn pypi_reads_as_go(line: &[u8], go: &[Oracled]) -> bool {
    line.len() < 4096
        && line.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        && !line.contains(&b'\\')
        && go
            .iter()
            .all(|o| o.notes.iter().all(|n| n == "plain" || n == "quoted"))
}

/// `--logfmt-key` for each key over the logfmt corpus equals the go-logfmt oracle, and the
/// PyPI package where it reads lines as go-logfmt does.
fn check_logfmt_keys(keys: &[&str]) {
    if !have_programs(&[PYTHON]) {
        return;
    }
    let wd = Workdir::new();
    let mut lines = lines_of(&read(&fixture("hostile.logfmt")));
    assert_eq!(
        lines.len(),
        41,
        "fixtures/README.md says hostile.logfmt has 41 lines"
    );
    lines.extend(logfmt_lines());
    lines.push(megabyte_logfmt_line());
    let file = wd.write("corpus.logfmt", file_of(&lines));
    let go = python_logfmt(&wd, &file, keys, lines.len());
    let mut args = vec!["--format", "csv"];
    for key in keys {
        args.extend(["--logfmt-key", key]);
    }
    let run = wd.statbuf().args(&args).arg(&file).run();
    let expected = Expected::counting(go.iter().map(|row| row.iter().map(|o| &o.reading).collect()));
    let malformed = go.iter().filter(|row| row[0].notes == ["malformed"]).count();
    assert!(
        expected.matched > 100 && expected.unmatched > 20 && malformed > 10,
        "{expected:?}"
    );
    assert_run(
        &run,
        &expected,
        &format!(
            "--logfmt-key {} against go-logfmt's rules",
            keys.join(" --logfmt-key ")
        ),
    );
    if keys.len() > 1 {
        let (header, _) = csv_counts(&run);
        assert_eq!(
            &header[2..header.len() - 1],
            keys,
            "CSV columns named after the keys\n{run}"
        );
    }

    let simple: Vec<usize> = (0..lines.len())
        .filter(|&i| pypi_reads_as_go(&lines[i], &go[i]))
        .collect();
    assert!(
        simple.len() > 50,
        "only {} lines the PyPI package reads as go-logfmt",
        simple.len()
    );
    let subset = wd.write("simple.logfmt", file_of(simple.iter().map(|&i| &lines[i])));
    let Some(pypi) = pypi_logfmt(&wd, &subset, keys, simple.len()) else {
        return;
    };
    for (row, &i) in pypi.iter().zip(&simple) {
        let theirs: Vec<&Reading> = row.iter().map(|o| &o.reading).collect();
        let ours: Vec<&Reading> = go[i].iter().map(|o| &o.reading).collect();
        assert_eq!(
            theirs,
            ours,
            "the two logfmt oracles differ on {}",
            show(&lines[i])
        );
    }
    let run = wd.statbuf().args(&args).arg(&subset).run();
    let expected = Expected::counting(pypi.iter().map(|row| row.iter().map(|o| &o.reading).collect()));
    assert_run(&run, &expected, "--logfmt-key against the PyPI logfmt package");
}

#[test]
fn logfmt_key_equals_go_logfmt_rules() {
    check_logfmt_keys(&["k"]);
}

#[test]
fn logfmt_key_prefix_of_others_equals_go_logfmt_rules() {
    check_logfmt_keys(&["kk"]);
}

#[test]
fn composite_logfmt_keys_equal_go_logfmt_rules() {
    check_logfmt_keys(&["id", "k"]);
}

/// `--logfmt-value v` sums per `--logfmt-key k` equal the go-logfmt oracle's values read as
/// the README reads integers.
#[test]
fn logfmt_value_sums_equal_go_logfmt_rules() {
    if !have_programs(&[PYTHON]) {
        return;
    }
    let values: &[&[u8]] = &[
        b"=0",
        b"=1",
        b"=-1",
        b"=42",
        b"=1234567",
        b"=-",
        b"=+5",
        b"=007",
        b"=-0",
        b"=\"12\"",
        b"=\"\\u0031\\u0032\"",
        b"=\"-3\"",
        b"=",
        b"=\"\"",
        b"",
        b"=1.5",
        b"=1e3",
        b"=12k",
        b"=\" 1\"",
        b"=\"1\\n\"",
        b"=9223372036854775808",
        b"=99999999999999999999",
        b"=a=1",
    ];
    let keys: &[&[u8]] = &[b"=a", b"=b", b"=\"x y\"", b"=\xc3\xa9", b"", b"="];
    let mut rng = fastrand::Rng::with_seed(JSON_SEED ^ 5);
    let mut lines = Vec::new();
    for i in 0..600 {
        let mut pairs = vec![format!("id={i}").into_bytes()];
        if rng.u32(0..100) < 90 {
            pairs.push([&b"k"[..], pick(&mut rng, keys)].concat());
        }
        for _ in 0..rng.usize(0..3) {
            pairs.push([&b"v"[..], pick(&mut rng, values)].concat());
        }
        rng.shuffle(&mut pairs);
        lines.push(pairs.join(&b' '));
    }
    lines.push(b"k=max v=9223372036854775807".to_vec());
    lines.push(b"k=min v=\"-9223372036854775808\"".to_vec());
    for _ in 0..2 {
        lines.push(b"k=over v=9223372036854775807".to_vec());
        lines.push(b"k=under v=-9223372036854775808".to_vec());
    }
    let wd = Workdir::new();
    let file = wd.write("values.logfmt", file_of(&lines));
    let go = python_logfmt(&wd, &file, &["k", "v"], lines.len());
    let expected = Expected::summing(go.iter().map(|row| (&row[0].reading, &row[1].reading)));
    assert!(
        expected.bad_values > 50 && expected.unmatched > 50,
        "{expected:?}"
    );
    let run = wd
        .statbuf()
        .args(["--format", "csv", "--logfmt-key", "k", "--logfmt-value", "v"])
        .arg(&file)
        .run();
    assert_run(&run, &expected, "--logfmt-value v against go-logfmt's rules");
}

// ------------------------------------------------------------------------------------------
// 5. loggen's JSON and logfmt logs
// ------------------------------------------------------------------------------------------

/// Parses `uniq -c` output (`   COUNT KEY` lines) into counts.
fn parse_uniq_c(out: &[u8]) -> Counts {
    let mut counts = Counts::new();
    for line in output_lines(out).expect("uniq -c output") {
        let start = line.iter().position(|&b| b != b' ').expect("a count");
        let rest = &line[start..];
        let space = rest
            .iter()
            .position(|&b| b == b' ')
            .expect("a key after the count");
        let n: i64 = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad uniq -c line {}", show(line)));
        counts.insert(rest[space + 1..].to_vec(), n);
    }
    counts
}

/// `jq -r FILTER < file | sort | uniq -c`, in the C locale.
fn jq_sort_uniq(filter: &str, file: &Path) -> Counts {
    let mut text = read(file);
    for (program, args) in [(JQ.0, &["-r", filter][..]), ("sort", &[]), ("uniq", &["-c"])] {
        let out = pipe_through(program, args, &text);
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        text = out.stdout;
    }
    parse_uniq_c(&text)
}

/// The same requests as combined, JSON and logfmt lines (loggen draws the same numbers for
/// each format): `-j .request.uri` equals `-k 7` on the combined log, mawk's `$7`, `jq -r
/// .request.uri | sort | uniq -c`, and `--logfmt-key path` on the logfmt log.
#[test]
fn json_key_on_generated_json_equals_field_7_and_jq() {
    if !have(&[Tool::Mawk]) || !have_programs(&[JQ]) {
        return;
    }
    let wd = Workdir::new();
    let spec = |format| LogSpec {
        lines: 20_000,
        seed: 14,
        keys: 2_000,
        format,
        ..LogSpec::default()
    };
    let combined = wd.access_log("access.log", &spec(Format::Combined));
    let json = wd.access_log("access.jsonl", &spec(Format::Json));
    let logfmt = wd.access_log("access.logfmt", &spec(Format::Logfmt));

    let by_json = wd.statbuf().args(["-j", ".request.uri"]).arg(&json).run();
    let by_field = wd.statbuf().args(["-k", "7"]).arg(&combined).run();
    let by_logfmt = wd.statbuf().args(["--logfmt-key", "path"]).arg(&logfmt).run();
    let jq = jq_sort_uniq(".request.uri", &json);
    let awk = mawk("{ c[$7]++ }", &[&combined]);
    assert!(jq.len() > 500, "the log has {} paths", jq.len());
    assert_eq!(jq, awk, "jq's .request.uri and mawk's $7 of the same requests");
    assert_counts_eq(&by_json.plain(), &jq, &by_json);
    assert_counts_eq(&by_field.plain(), &by_json.plain(), &by_field);
    assert_counts_eq(&by_logfmt.plain(), &jq, &by_logfmt);
    for run in [&by_json, &by_logfmt] {
        let summary = run.summary();
        assert_eq!(
            (summary.lines, summary.matched, not_json(run)),
            (20_000, 20_000, 0),
            "{run}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// 6. --match and --exclude with -j
// ------------------------------------------------------------------------------------------

/// The lines of `log` that `grep -a -E -e M... | grep -a -v -E -e X...` keeps, in a file.
fn grep_kept(wd: &Workdir, log: &Path, matches: &[&str], excludes: &[&str]) -> PathBuf {
    let mut kept = read(log);
    for (mode, patterns) in [("-E", matches), ("-vE", excludes)] {
        if patterns.is_empty() {
            continue;
        }
        let mut args = vec!["-a", mode];
        for p in patterns {
            args.extend(["-e", p]);
        }
        let out = pipe_through("grep", &args, &kept);
        // grep exits 1 when it keeps no line.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "grep {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        kept = out.stdout;
    }
    wd.write("kept", kept)
}

fn filter_args(matches: &[&str], excludes: &[&str]) -> Vec<String> {
    let mut args = Vec::new();
    for m in matches {
        args.extend(["--match".to_owned(), (*m).to_owned()]);
    }
    for x in excludes {
        args.extend(["--exclude".to_owned(), (*x).to_owned()]);
    }
    args
}

/// On loggen's JSON log: statbuf with filters and `-j` equals grep, then jq, then `sort | uniq
/// -c`; the summary's `filtered out` is what grep dropped.
fn check_filters_on_json(matches: &[&str], excludes: &[&str]) {
    if !have_programs(&[JQ]) {
        return;
    }
    let wd = Workdir::new();
    let spec = LogSpec {
        lines: 20_000,
        seed: 15,
        keys: 500,
        format: Format::Json,
        ..LogSpec::default()
    };
    let log = wd.access_log("access.jsonl", &spec);
    let kept = grep_kept(&wd, &log, matches, excludes);
    let expected = jq_sort_uniq(".request.uri", &kept);
    let run = wd
        .statbuf()
        .args(["-j", ".request.uri"])
        .args(filter_args(matches, excludes))
        .arg(&log)
        .run();
    assert_counts_eq(&run.plain(), &expected, &run);
    let summary = run.summary();
    let dropped = line_count(&log) - line_count(&kept);
    assert!(
        dropped > 0 && line_count(&kept) > 0,
        "the filters should keep some lines and drop some"
    );
    assert_eq!(summary.filtered, dropped, "lines filtered out\n{run}");
}

#[test]
fn match_with_json_key_equals_grep_and_jq() {
    check_filters_on_json(&[r#""status":(4|5)[0-9][0-9]"#, r#""method":"POST""#], &[]);
}

#[test]
fn exclude_with_json_key_equals_grep_and_jq() {
    check_filters_on_json(&[], &["bingbot|Googlebot", r#""uri":"/api/"#]);
}

#[test]
fn match_and_exclude_with_json_key_equal_grep_and_jq() {
    check_filters_on_json(&["GET"], &[r#"\.(png|css|js)""#]);
}

/// On the hostile corpus: the filters run before the line is read as JSON, so that only kept
/// lines are counted as not JSON; the counts are the Python oracle's over what grep kept.
#[test]
fn filters_run_before_lines_are_read_as_json() {
    if !have_programs(&[PYTHON]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("hostile.jsonl");
    let (matches, excludes) = (["\"k\"", "^\\{"], ["jq-differs", "\"id\":\"(duplicate|order)"]);
    let kept = grep_kept(&wd, &log, &matches, &excludes);
    let kept_lines = line_count(&kept) as usize;
    let python = python_json(&wd, &kept, &[K], kept_lines);
    let mut expected = Expected::counting(python.iter().map(|row| vec![&row[0].reading]));
    // The summary counts every line read, kept or not.
    expected.lines = line_count(&log);
    assert!(
        expected.not_json > 0,
        "grep keeps lines that are not JSON: {expected:?}"
    );
    let run = wd
        .statbuf()
        .args(json_key_args(&[".k"]))
        .args(filter_args(&matches, &excludes))
        .arg(&log)
        .run();
    assert_run(
        &run,
        &expected,
        "--match and --exclude with -j .k against grep and Python's json",
    );
    assert_eq!(
        run.summary().filtered,
        line_count(&log) - kept_lines as u64,
        "{run}"
    );
}

// ------------------------------------------------------------------------------------------
// 7. --explain
// ------------------------------------------------------------------------------------------

/// The verdicts (`-> ...`) of an explanation, in order, and its last line.
fn explained(run: &Run) -> (Vec<String>, String) {
    let out = run.stdout_str();
    let verdicts = out
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("-> "))
        .map(str::to_owned)
        .collect();
    let last = out.lines().last().unwrap_or("").to_owned();
    (verdicts, last)
}

/// `--explain` with `-j` says, line by line, what the Python oracle reads: the key, the member
/// missing (naming it and the flag), or that the line is not JSON; and counts them.
#[test]
fn explain_names_the_member_missing_and_lines_not_json() {
    if !have_programs(&[PYTHON]) {
        return;
    }
    let wd = Workdir::new();
    let lines: &[&[u8]] = &[
        br#"{"o":{"k":"found"}}"#,
        br#"{"o":{}}"#,
        br#"{"o":{"k":null}}"#,
        br#"{"o":[{"k":"in an array"}]}"#,
        br#"{"o":"k"}"#,
        br#"{"o":{"k":"cut""#,
        b"level=info k=v",
        br#"{"o":{"k":"x"}} trailing"#,
        b"",
        br#"{"o":{"k":"a\tb"}, "k": 1}"#,
    ];
    let log = wd.write(
        "explain.jsonl",
        file_of(&lines.iter().map(|l| l.to_vec()).collect::<Vec<_>>()),
    );
    let python = python_json(&wd, &log, &[O_K], lines.len());
    let run = wd.statbuf().args(["--explain=20", "-j", ".o.k"]).arg(&log).run();
    let (verdicts, last) = explained(&run);
    assert_eq!(verdicts.len(), lines.len(), "one verdict per line\n{run}");
    let mut counts = (0, 0, 0);
    for (verdict, row) in verdicts.iter().zip(&python) {
        match &row[0].reading {
            Reading::Found(key) => {
                counts.0 += 1;
                let text = String::from_utf8(key.clone()).expect("UTF-8 keys here");
                assert!(
                    verdict.starts_with("key \""),
                    "{verdict:?} for the key {text:?}\n{run}"
                );
            }
            Reading::Missing => {
                counts.1 += 1;
                assert!(
                    verdict.starts_with("unmatched: ")
                        && verdict.contains(".o.k")
                        && verdict.contains("--json-key"),
                    "{verdict:?} for a missing member\n{run}"
                );
            }
            Reading::NotJson => {
                counts.2 += 1;
                assert!(
                    verdict.starts_with("not JSON"),
                    "{verdict:?} for a line not JSON\n{run}"
                );
            }
        }
    }
    assert_eq!(
        counts,
        (2, 4, 4),
        "the oracle's readings of the lines written here"
    );
    assert_eq!(
        last, "# 10 lines: 2 with a key, 4 unmatched, 0 bad values, 0 oversize, 4 not JSON",
        "{run}"
    );
    assert!(run.stderr.is_empty(), "{run}");
}

/// With a composite key and a value, `--explain` names which member is missing and for which
/// flag.
#[test]
fn explain_names_which_part_or_value_is_missing() {
    let wd = Workdir::new();
    let run = wd
        .statbuf()
        .args(["--explain", "-j", ".a", "-j", ".b.c", "--json-value", ".v"])
        .stdin(concat!(
            "{\"a\":1,\"b\":{\"c\":2},\"v\":3}\n",
            "{\"b\":{\"c\":2},\"v\":3}\n",
            "{\"a\":1,\"b\":[],\"v\":3}\n",
            "{\"a\":1,\"b\":{\"c\":2}}\n",
            "{\"a\":1,\"b\":{\"c\":2},\"v\":1.5}\n",
        ))
        .run();
    let (verdicts, last) = explained(&run);
    assert_eq!(verdicts.len(), 5, "{run}");
    assert_eq!(verdicts[0], r#"a "1", c "2", value 3"#, "{run}");
    let missing = |v: &str, member: &str, flag: &str| {
        v.starts_with("unmatched: ") && v.contains(&format!("member {member} ")) && v.contains(flag)
    };
    assert!(missing(&verdicts[1], ".a", "--json-key"), "{run}");
    assert!(missing(&verdicts[2], ".b.c", "--json-key"), "{run}");
    assert!(missing(&verdicts[3], ".v", "--json-value"), "{run}");
    assert!(
        verdicts[4].starts_with("bad value: ") && verdicts[4].contains("1.5"),
        "{run}"
    );
    assert!(
        last.starts_with("# 5 lines: 1 with a key, 3 unmatched, 1 bad value, 0 oversize"),
        "{run}"
    );
}

// ------------------------------------------------------------------------------------------
// Column names taken from member names, in every output that names columns
// ------------------------------------------------------------------------------------------

/// Members whose names hold a quote, a backslash and a tab (`-j` takes any name), and the
/// line that holds them.
const ODD_NAMES: &[&str] = &[r#"."x\"y""#, r#"."b\\s""#, r#"."t\ta""#];
const ODD_NAMES_LINE: &str = r#"{"x\"y":"q","b\\s":"r","t\ta":"s"}"#;

/// statbuf with `args` and a `-j` for each of `ODD_NAMES`, reading `ODD_NAMES_LINE`.
fn odd_names_run(wd: &Workdir, args: &[&str]) -> Run {
    let mut args = args.to_vec();
    for path in ODD_NAMES {
        args.extend(["-j", path]);
    }
    wd.statbuf()
        .args(&args)
        .stdin(format!("{ODD_NAMES_LINE}\n"))
        .run()
}

/// `--format json` writes one JSON object per key: with members named after the paths, it
/// must escape the names as JSON strings, as a JSON reader (serde_json) reads them back.
#[test]
fn json_output_escapes_member_names_taken_from_paths() {
    let wd = Workdir::new();
    let run = odd_names_run(&wd, &["--format", "json"]);
    let out = run.stdout_str();
    let line = out.lines().next().unwrap_or_else(|| panic!("no output\n{run}"));
    let members =
        parse_json_object(line).unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}\n{run}"));
    let find = |name: &str| members.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    for (name, value) in [("x\"y", "q"), ("b\\s", "r"), ("t\ta", "s")] {
        assert_eq!(
            find(name),
            Some(serde_json::Value::from(value)),
            "member {name:?}\n{run}"
        );
    }
}

/// `--format tsv` escapes tabs, newlines, CRs and backslashes in keys (README): a column
/// named after a member with a tab must not split the header into more fields than a row has.
#[test]
fn tsv_header_escapes_member_names_taken_from_paths() {
    let wd = Workdir::new();
    let run = odd_names_run(&wd, &["--format", "tsv"]);
    let out = run.stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one row\n{run}");
    let header: Vec<&str> = lines[0].split('\t').collect();
    let row: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(
        header.len(),
        row.len(),
        "fields in the header and in a row\n{run}"
    );
    assert_eq!(
        header[2..5],
        [r#"x"y"#, r"b\\s", r"t\ta"],
        "escaped as keys are\n{run}"
    );
    assert_eq!(row[2..5], ["q", "r", "s"], "{run}");
}

/// CSV quotes what it must in the header as in the rows, and SQLite quotes identifiers: the
/// same names come back whole.
#[test]
fn csv_and_sqlite_columns_keep_member_names_whole() {
    let wd = Workdir::new();
    let db = wd.path("odd.db");
    let db_arg = db.to_str().expect("a UTF-8 path");
    let run = odd_names_run(&wd, &["--format", "csv", "--stdout", "--sqlite", db_arg]);
    let table = CsvTable::parse(&run.stdout, &run);
    assert_eq!(
        table.header,
        ["window_start", "window_end", "x\"y", "b\\s", "t\ta", "count"],
        "{run}"
    );
    let sql = SqlTable::load(&db, "counts");
    for name in ["x\"y", "b\\s", "t\ta", "count"] {
        sql.column(name);
    }
}

// ------------------------------------------------------------------------------------------
// 8. Bad flags
// ------------------------------------------------------------------------------------------

/// A bad path or a conflict exits 2 with one line on stderr naming the flag, before reading.
#[test]
fn bad_json_flags_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["-j", "status"], "--json-key", "'status'"),
        (&["-j", ".a."], "--json-key", "'.a.'"),
        (&["-j", ".a", "-k", "7"], "--json-key", "--key-field"),
        (&["-j", ".a", "-r", "(x)"], "--json-key", "--key-regex"),
        (&["--json-value", "."], "--json-value", "'.'"),
        (&["--json-value", "v"], "--json-value", "'v'"),
        (&["-j", ".[0]"], "--json-key", "'.[0]'"),
        (&["-j", ""], "--json-key", "''"),
        (&["--logfmt-key", "k", "-j", ".k"], "--json-key", "--logfmt-key"),
    ];
    let wd = Workdir::new();
    for (args, flag, also) in cases {
        let run = wd.statbuf().args(*args).stdin("{\"a\":1}\n").run_with_code(2);
        let stderr = run.stderr_str();
        assert_eq!(stderr.lines().count(), 1, "one line on stderr\n{run}");
        assert!(stderr.starts_with("statbuf: "), "{run}");
        assert!(
            stderr.contains(flag) && stderr.contains(also),
            "the message should name {flag} and {also}\n{run}"
        );
        assert!(run.stdout.is_empty(), "{run}");
    }
}

// ------------------------------------------------------------------------------------------
// The Python oracles
// ------------------------------------------------------------------------------------------

/// The end of every Python script here: the lines of a file as statbuf cuts them, and the
/// call of the script's `main`.
const PYTHON_TAIL: &str = r#"

def lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    if data.endswith(b"\n"):
        data = data[:-1]
    return [l[:-1] if l.endswith(b"\r") else l for l in data.split(b"\n")]


main()
"#;

/// A strict JSON reader over Python's `json` module: see its docstring.
const JSON_ORACLE: &str = r##"r"""Per line of a JSON-lines file, what each member path gives, read with Python's json module.

Usage: python3 json_oracle.py FILE PATH...   where each PATH is a JSON array of member names.
Prints one line per input line, one field per path, separated by spaces:
  F/<notes>/<hex of the value's UTF-8 bytes>   the value, as jq -r -c prints it
  M/<notes>/                                   missing: absent, null, or past a non-object
  N/<notes>/                                   not one JSON object
A line is one JSON object (RFC 8259: no NaN or Infinity, no control character in a string)
nested at most 255 deep. The value is read as src/structured/json.rs documents it: numbers as
written, objects keeping repeated names, unpaired surrogates as U+FFFD, and not JSON when it
holds bytes that are not UTF-8. The notes (comma-separated, `-` for none) name where jq 1.6 is
documented to differ: `number` (a number jq may write otherwise), `dup` (an object in the value
repeats a name), `high` (a lone high surrogate, which jq refuses), `utf8` (bytes not UTF-8 in
the value, which jq prints as U+FFFD), `marked` (the fixture's id says jq-differs).
"""
import codecs
import json
import re
import sys

# Bytes that are not UTF-8 are read as characters of plane 16's private use area, so that the
# oracle sees where they were (no line of the corpus holds such characters otherwise).
BAD_BYTE = 0x10FF00


def bad_bytes(err):
    return "".join(chr(BAD_BYTE + b) for b in err.object[err.start:err.end]), err.end


codecs.register_error("bad-bytes", bad_bytes)


class Num(str):
    """A number, as the line writes it."""


class Obj(list):
    """An object's members in order, repeated names kept."""


def constant(name):
    raise ValueError("not JSON: " + name)


DECODER = json.JSONDecoder(
    object_pairs_hook=Obj, parse_int=Num, parse_float=Num, parse_constant=constant, strict=True
)
MAX_DEPTH = 255
# Integers jq 1.6 prints as written.
PLAIN_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,14})")
SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def depth(value):
    deepest, todo = 0, [(value, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, Obj):
            deepest = max(deepest, d)
            todo.extend((m, d + 1) for _, m in v)
        elif isinstance(v, list):
            deepest = max(deepest, d)
            todo.extend((m, d + 1) for m in v)
    return deepest


class Render:
    """The text of a value as jq -r -c prints it, and the notes it earns."""

    def __init__(self):
        self.notes = set()

    def text(self, s):
        out = []
        for c in s:
            o = ord(c)
            if o >= BAD_BYTE:
                self.notes.add("utf8")
            if 0xD800 <= o <= 0xDBFF:
                self.notes.add("high")
            out.append("\ufffd" if 0xD800 <= o <= 0xDFFF else c)
        return "".join(out)

    def quoted(self, s):
        out = ['"']
        for c in self.text(s):
            if c in SHORT:
                out.append(SHORT[c])
            elif ord(c) < 0x20 or ord(c) == 0x7F:
                out.append("\\u%04x" % ord(c))
            else:
                out.append(c)
        out.append('"')
        return "".join(out)

    def compact(self, v):
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, Num):
            if not PLAIN_INTEGER.fullmatch(v):
                self.notes.add("number")
            return str(v)
        if isinstance(v, str):
            return self.quoted(v)
        if isinstance(v, Obj):
            names = [n for n, _ in v]
            if len(set(names)) != len(names):
                self.notes.add("dup")
            return "{" + ",".join(self.quoted(n) + ":" + self.compact(m) for n, m in v) + "}"
        return "[" + ",".join(self.compact(m) for m in v) + "]"

    def raw(self, v):
        if isinstance(v, str) and not isinstance(v, Num):
            return self.text(v)
        return self.compact(v)


def has_high_surrogate(value):
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, Obj):
            todo.extend(n for n, _ in v)
            todo.extend(m for _, m in v)
        elif isinstance(v, list):
            todo.extend(v)
        elif isinstance(v, str) and not isinstance(v, Num):
            if any(0xD800 <= ord(c) <= 0xDBFF for c in v):
                return True
    return False


def lookup(doc, members):
    """The value the members lead to from doc (the last of repeated names), or None."""
    v = doc
    for name in members:
        if not isinstance(v, Obj):
            return None
        found = [m for n, m in v if n == name]
        if not found:
            return None
        v = found[-1]
    return v


def main():
    paths = [json.loads(p) for p in sys.argv[2:]]
    for line in lines(sys.argv[1]):
        marked = b"jq-differs:" in line
        try:
            doc = DECODER.decode(line.decode("utf-8", "bad-bytes"))
            if not isinstance(doc, Obj) or depth(doc) > MAX_DEPTH:
                doc = None
        except (ValueError, RecursionError):
            doc = None
        # jq refuses a line with a lone high surrogate anywhere, value or not.
        high = doc is not None and has_high_surrogate(doc)
        fields = []
        for members in paths:
            r = Render()
            if marked:
                r.notes.add("marked")
            if high:
                r.notes.add("high")
            status, value = "N", b""
            if doc is not None:
                v = lookup(doc, members)
                if v is None:
                    status = "M"
                else:
                    text = r.raw(v)
                    if "utf8" not in r.notes:
                        status, value = "F", text.encode("utf-8")
            notes = ",".join(sorted(r.notes)) or "-"
            fields.append("%s/%s/%s" % (status, notes, value.hex()))
        sys.stdout.write(" ".join(fields) + "\n")
"##;

/// A logfmt tokenizer written from go-logfmt's rules as `LogfmtScanner` states them.
const LOGFMT_ORACLE: &str = r##"r"""Per line of a logfmt file, the value of each key, by go-logfmt's rules.

Usage: python3 logfmt_oracle.py FILE KEY...
Prints one line per input line, one field per key, separated by spaces:
  F/<kinds>/<hex of the value>   the key's value (the last one, when it repeats)
  M/<kinds>/                     the key is absent, or the line is malformed
where kinds says how the line's pairs are written (bare, empty, plain, quoted, escaped), or is
`malformed` where go-logfmt stops with a syntax error, or `none` for a line with no pair.

The rules: pairs are separated by runs of bytes up to the space; a key is a run of other bytes
without `=` or `"`, UTF-8 without U+FFFD; `key` alone and `key=` have an empty value; `key=value`
runs to the next blank and holds no `=` or `"`; `key="..."` ends at the first quote no backslash
takes, and may be followed at once by the next key. Without a backslash the quoted bytes are the
value as they are; with one they are decoded as Go's encoding/json decodes a string: the short
escapes (and \'), \uXXXX with surrogate pairs and U+FFFD for an unpaired surrogate, any control
character refused, and every byte of a sequence that is not UTF-8 one U+FFFD.
"""
import codecs
import re
import sys

BLANKS = re.compile(rb"[\x00-\x20]*")
KEY = re.compile(rb'[^\x00-\x20="]+')
PLAIN = re.compile(rb"[^\x00-\x20]*")
QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.S)
SHORT = {b'"': '"', b"\\": "\\", b"/": "/", b"'": "'", b"b": "\b", b"f": "\f", b"n": "\n", b"r": "\r", b"t": "\t"}
HEX4 = re.compile(rb"\\u([0-9a-fA-F]{4})")


def per_byte(err):
    return "\ufffd" * (err.end - err.start), err.end


codecs.register_error("per-byte", per_byte)


class Malformed(Exception):
    pass


def unquote(body):
    out, at = [], 0
    while at < len(body):
        c = body[at : at + 1]
        if c == b"\\":
            e = body[at + 1 : at + 2]
            if e in SHORT:
                out.append(SHORT[e])
                at += 2
                continue
            m = HEX4.match(body, at)
            if not m:
                raise Malformed("bad escape")
            unit, at = int(m.group(1), 16), m.end()
            if 0xD800 <= unit <= 0xDBFF:
                low = HEX4.match(body, at)
                if low and 0xDC00 <= int(low.group(1), 16) <= 0xDFFF:
                    unit = 0x10000 + ((unit - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
                    at = low.end()
                else:
                    unit = 0xFFFD
            elif 0xDC00 <= unit <= 0xDFFF:
                unit = 0xFFFD
            out.append(chr(unit))
        elif c[0] < 0x20 or c == b'"':
            raise Malformed("a control character")
        else:
            end = at + 1
            while end < len(body) and body[end] >= 0x20 and body[end] not in b'"\\':
                end += 1
            out.append(body[at:end].decode("utf-8", "per-byte"))
            at = end
    return "".join(out).encode("utf-8")


def pairs(line):
    out, at = [], BLANKS.match(line).end()
    while at < len(line):
        key = KEY.match(line, at)
        if not key:
            raise Malformed("no key")
        name, at = key.group(), key.end()
        try:
            if "\ufffd" in name.decode("utf-8"):
                raise Malformed("U+FFFD in a key")
        except UnicodeDecodeError:
            raise Malformed("a key that is not UTF-8")
        after = line[at : at + 1]
        if after == b'"':
            raise Malformed("a quote in a key")
        if after != b"=":
            out.append((name, b"", "bare"))
        elif line[at + 1 : at + 2] == b'"':
            q = QUOTED.match(line, at + 1)
            if not q:
                raise Malformed("a quote not closed")
            body, at = q.group(1), q.end()
            if b"\\" in body:
                out.append((name, unquote(body), "escaped"))
            else:
                out.append((name, body, "quoted"))
        else:
            v = PLAIN.match(line, at + 1)
            value, at = v.group(), v.end()
            if b"=" in value or b'"' in value:
                raise Malformed("= or a quote in a value")
            out.append((name, value, "plain" if value else "empty"))
        at = BLANKS.match(line, at).end()
    return out


def main():
    keys = [k.encode() for k in sys.argv[2:]]
    for line in lines(sys.argv[1]):
        try:
            found = pairs(line)
            kinds = ",".join(sorted({k for _, _, k in found})) or "none"
        except Malformed:
            found, kinds = [], "malformed"
        fields = []
        for key in keys:
            values = [v for k, v, _ in found if k == key]
            if values:
                fields.append("F/%s/%s" % (kinds, values[-1].hex()))
            else:
                fields.append("M/%s/" % kinds)
        sys.stdout.write(" ".join(fields) + "\n")
"##;

/// The PyPI `logfmt` package's reading, in the same output shape.
const PYPI_LOGFMT: &str = r##"r"""Per line, each key's value as the PyPI logfmt package's parse_line reads it."""
import sys

import logfmt


def main():
    keys = sys.argv[2:]
    for line in lines(sys.argv[1]):
        pairs = logfmt.parse_line(line.decode("ascii"))
        fields = []
        for key in keys:
            value = pairs.get(key)
            if value is None:
                fields.append("M/-/")
            else:
                fields.append("F/-/%s" % ("" if value is True else value).encode().hex())
        sys.stdout.write(" ".join(fields) + "\n")
"##;
