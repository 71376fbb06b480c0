//! Per-key counts: statbuf's plain output parsed and rendered, comparisons that show the first
//! differences, and independent reference counts (mawk, or plain Rust over the bytes a test
//! wrote).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::workdir::read;
use crate::tools::Tool;

/// Per-key totals: the key's bytes (composite parts joined by one space) and its count or sum.
pub type Counts = BTreeMap<Vec<u8>, i64>;

/// A key for failure messages: printable ASCII as is, anything else escaped.
pub fn show(key: &[u8]) -> String {
    format!("\"{}\"", key.escape_ascii())
}

// ------------------------------------------------------------------------------------------
// statbuf's plain output
// ------------------------------------------------------------------------------------------

/// Parses one line of the plain format, `{:>7} {key}`, into (count, key).
pub fn parse_plain_line(line: &[u8]) -> Result<(i64, Vec<u8>), String> {
    let start = line
        .iter()
        .position(|&b| b != b' ')
        .ok_or_else(|| format!("blank line {}", show(line)))?;
    let rest = &line[start..];
    let end = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or_else(|| format!("no space after the count in {}", show(line)))?;
    let count = std::str::from_utf8(&rest[..end])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("no count at the start of {}", show(line)))?;
    if start + end < 7 {
        return Err(format!(
            "the count is not right-aligned to 7 columns in {}",
            show(line)
        ));
    }
    Ok((count, rest[end + 1..].to_vec()))
}

/// Splits output into lines at `\n` (the last line needs one).
pub fn output_lines(out: &[u8]) -> Result<Vec<&[u8]>, String> {
    if out.is_empty() {
        return Ok(Vec::new());
    }
    let body = out
        .strip_suffix(b"\n")
        .ok_or("the output does not end with a newline")?;
    Ok(body.split(|&b| b == b'\n').collect())
}

/// Parses a single flush of plain output, checking its order: count descending, then key
/// bytewise ascending, each key once.
pub fn parse_plain(out: &[u8]) -> Result<Counts, String> {
    let blocks = parse_plain_blocks(out)?;
    match blocks.as_slice() {
        [] => Ok(Counts::new()),
        [(None, counts)] => Ok(counts.clone()),
        _ => Err(format!(
            "expected one flush without a `# ` window line, found {} blocks",
            blocks.len()
        )),
    }
}

/// Parses plain output made of flushes, each optionally preceded by a `# ` window line, into
/// (window line, counts) per block, checking the order inside each block.
pub fn parse_plain_blocks(out: &[u8]) -> Result<Vec<(Option<String>, Counts)>, String> {
    let mut blocks: Vec<(Option<String>, Counts)> = Vec::new();
    let mut prev: Option<(i64, Vec<u8>)> = None;
    for (i, line) in output_lines(out)?.into_iter().enumerate() {
        if let Some(window) = line.strip_prefix(b"# ") {
            blocks.push((Some(String::from_utf8_lossy(window).into_owned()), Counts::new()));
            prev = None;
            continue;
        }
        let (count, key) = parse_plain_line(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if blocks.is_empty() {
            blocks.push((None, Counts::new()));
        }
        if let Some((pc, pk)) = &prev {
            let ordered = count < *pc || (count == *pc && key > *pk);
            if !ordered {
                return Err(format!(
                    "line {}: {count} {} comes after {pc} {}: the order must be count \
                     descending, then key ascending",
                    i + 1,
                    show(&key),
                    show(pk)
                ));
            }
        }
        let counts = &mut blocks.last_mut().unwrap().1;
        if counts.insert(key.clone(), count).is_some() {
            return Err(format!("line {}: key {} printed twice", i + 1, show(&key)));
        }
        prev = Some((count, key));
    }
    Ok(blocks)
}

/// The plain output the contract asks for, rendered from reference counts.
pub fn render_plain(counts: &Counts) -> Vec<u8> {
    let mut rows: Vec<(&Vec<u8>, &i64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut out = Vec::new();
    for (key, count) in rows {
        out.extend_from_slice(format!("{count:>7} ").as_bytes());
        out.extend_from_slice(key);
        out.push(b'\n');
    }
    out
}

/// Adds `other` into `into`.
pub fn add_counts(into: &mut Counts, other: &Counts) {
    for (k, v) in other {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}

/// Every count multiplied by `factor`.
pub fn scale(counts: &Counts, factor: i64) -> Counts {
    counts.iter().map(|(k, v)| (k.clone(), v * factor)).collect()
}

pub fn total(counts: &Counts) -> i64 {
    counts.values().sum()
}

/// Fails with the first few differing keys when two sets of counts differ.
#[track_caller]
pub fn assert_counts_eq(actual: &Counts, expected: &Counts, context: &dyn fmt::Display) {
    if actual == expected {
        return;
    }
    let keys: BTreeSet<&Vec<u8>> = actual.keys().chain(expected.keys()).collect();
    let mut diffs = Vec::new();
    let mut ndiff = 0;
    for key in keys {
        let (a, e) = (actual.get(key), expected.get(key));
        if a != e {
            ndiff += 1;
            if diffs.len() < 12 {
                diffs.push(format!(
                    "  {}: statbuf {}, expected {}",
                    show(key),
                    a.map_or("(absent)".to_owned(), |v| v.to_string()),
                    e.map_or("(absent)".to_owned(), |v| v.to_string())
                ));
            }
        }
    }
    panic!(
        "counts differ: statbuf has {} keys totalling {}, expected {} keys totalling {}; \
         {ndiff} keys differ, first ones:\n{}\n{context}",
        actual.len(),
        total(actual),
        expected.len(),
        total(expected),
        diffs.join("\n")
    );
}

/// Fails, showing the first differing line, when two outputs are not byte for byte equal.
#[track_caller]
pub fn assert_output_eq(actual: &[u8], expected: &[u8], context: &dyn fmt::Display) {
    if actual == expected {
        return;
    }
    let a: Vec<&[u8]> = actual.split(|&b| b == b'\n').collect();
    let e: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    let first = (0..a.len().max(e.len()))
        .find(|&i| a.get(i) != e.get(i))
        .unwrap_or(0);
    let around = |lines: &[&[u8]]| {
        (first.saturating_sub(2)..(first + 3).min(lines.len()))
            .map(|i| format!("  {:>6}: {}", i + 1, show(lines[i])))
            .collect::<Vec<_>>()
            .join("\n")
    };
    panic!(
        "output differs from the expected bytes at line {} (statbuf: {} bytes, {} lines; \
         expected: {} bytes, {} lines)\nstatbuf:\n{}\nexpected:\n{}\n{context}",
        first + 1,
        actual.len(),
        a.len(),
        expected.len(),
        e.len(),
        around(&a),
        around(&e)
    );
}

// ------------------------------------------------------------------------------------------
// Reference counts
// ------------------------------------------------------------------------------------------

/// Runs mawk with `program`, which must add into an array named `c`; an END block printing
/// `c` is appended. Fails the test when mawk is not installed.
pub fn mawk(program: &str, files: &[&Path]) -> Counts {
    // Tests that call this check `have(&[Tool::Mawk])` first.
    let mawk = Tool::Mawk.program();
    let full = format!("{program}\nEND {{ for (k in c) printf \"%.0f %s\\n\", c[k], k }}");
    let out = Command::new(mawk)
        .env("LC_ALL", "C")
        .arg(&full)
        .args(files)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {mawk}: {e}"));
    assert!(
        out.status.success(),
        "mawk failed ({}): {}\nprogram: {full}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut counts = Counts::new();
    for line in output_lines(&out.stdout).expect("mawk output") {
        let space = line.iter().position(|&b| b == b' ').expect("mawk output");
        let n: f64 = std::str::from_utf8(&line[..space])
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("bad mawk output line {}", show(line)));
        counts.insert(line[space + 1..].to_vec(), n as i64);
    }
    counts
}

/// Lines as the contract cuts them: at `\n`, a trailing `\r` dropped, a last line without
/// `\n` kept.
pub fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    body.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// awk's default field splitting: runs of spaces and tabs separate, outer blanks ignored.
pub fn awk_fields(line: &[u8]) -> Vec<&[u8]> {
    line.split(|&b| b == b' ' || b == b'\t')
        .filter(|f| !f.is_empty())
        .collect()
}

/// Fields split at every `delim`, empty fields kept.
pub fn delim_fields(line: &[u8], delim: u8) -> Vec<&[u8]> {
    line.split(|&b| b == delim).collect()
}

/// Field `n` (1-based; negative from the end) of `fields`, if there is one.
pub fn nth_field<'a>(fields: &[&'a [u8]], n: i64) -> Option<&'a [u8]> {
    let len = fields.len() as i64;
    let idx = if n > 0 { n - 1 } else { len + n };
    if (0..len).contains(&idx) {
        Some(fields[idx as usize])
    } else {
        None
    }
}

/// Counts the lines of `data` by the key `key_of` returns (`None` = unmatched).
pub fn count_by(data: &[u8], key_of: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Counts {
    let mut counts = Counts::new();
    for line in split_lines(data) {
        if let Some(key) = key_of(line) {
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// The number of lines in a file as the contract counts them.
pub fn line_count(path: &Path) -> u64 {
    split_lines(&read(path)).len() as u64
}
