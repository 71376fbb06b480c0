//! `-j/--json-key`, `--json-value`, `--logfmt-key` and `--logfmt-value` checked against oracles
//! that share no code with statbuf:
//!
//! - jq (1.6 here), run on each line alone: `jq -c type` says whether the line is one JSON
//!   object, `jq -r -c PATH` what the path gives;
//! - a strict reader over Python's `json` module (`oracles::JSON_ORACLE`), which also names the
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

mod columns;
mod composite;
mod corpus;
mod explain;
mod flags;
mod json;
mod logfmt;
mod logs;
mod oracles;

use corpus::{CRAFTED_JSON, CRAFTED_NOT_JSON, JSON_SEED, MEGABYTE, broken, json_corpus, pick, render_object};
use oracles::{JSON_ORACLE, LOGFMT_ORACLE, PYPI_LOGFMT, PYTHON_TAIL};

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

/// Runs a Python script held in `oracles` on `file` with `args`; returns its standard output.
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
