//! Hostile input: a 50 MB line with no newline, NUL bytes, invalid UTF-8, CRLF, empty input,
//! random binary data, a million fields on one line, named pipes, and a million-key stream
//! under `--max-keys`. No panic, the counts the README documents, and bounded memory: peak
//! RSS is measured with GNU time (`/usr/bin/time -f %M`, Debian package `time`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::{Tool, have};
use crate::util::*;

/// GNU time, which reports the peak resident set size of the command it runs.
const GNU_TIME: &str = "/usr/bin/time";

/// What a run of statbuf may hold in memory at most, whatever its input.
const RSS_LIMIT_KIB: u64 = 100 * 1024;

/// Runs statbuf under GNU time in `wd`; returns the run and its peak RSS in KiB.
fn measured(wd: &Workdir, args: &[&str], stdin: Option<Vec<u8>>) -> (Run, u64) {
    assert!(
        Path::new(GNU_TIME).is_file(),
        "{GNU_TIME} is required to measure peak memory, and it is not installed (apt-get install time)"
    );
    let report = wd.path("rss.txt");
    let mut cmd = Command::new(GNU_TIME);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(STATBUF)
        .args(args)
        .current_dir(wd.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = run_to_end(format!("time -f %M statbuf {}", args.join(" ")), cmd, stdin);
    let text = String::from_utf8_lossy(&wd.read("rss.txt")).into_owned();
    // GNU time writes "Command exited with non-zero status N" before the figure when it must.
    let kib = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak RSS in {text:?}\n{run}"));
    (run, kib)
}

/// `n` bytes of `x`.
fn long_line(n: usize) -> Vec<u8> {
    vec![b'x'; n]
}

const FIFTY_MB: usize = 50_000_000;

// ------------------------------------------------------------------------------------------
// Long lines
// ------------------------------------------------------------------------------------------

#[test]
fn a_50_mb_file_without_a_newline_is_one_oversize_line_in_little_memory() {
    if !have(&[Tool::GnuTime]) {
        return;
    }
    let wd = Workdir::new();
    wd.write("one-line.log", long_line(FIFTY_MB));
    let (run, kib) = measured(&wd, &["-k", "1", "one-line.log"], None);
    run.assert_success();
    println!("peak RSS over a 50 MB line without a newline: {kib} KiB");
    assert!(run.stdout.is_empty(), "nothing to print\n{run}");
    let s = run.summary();
    assert_eq!((s.lines, s.oversize, s.matched), (1, 1, 0), "summary\n{run}");
    assert!(kib < RSS_LIMIT_KIB, "peak RSS {kib} KiB over a 50 MB line\n{run}");
}

#[test]
fn a_50_mb_line_between_short_lines_on_stdin() {
    if !have(&[Tool::GnuTime]) {
        return;
    }
    let wd = Workdir::new();
    let mut data = b"a 1\n".to_vec();
    data.extend(long_line(FIFTY_MB));
    data.extend_from_slice(b"\nb 2\na 3");
    let (run, kib) = measured(&wd, &["-k", "1", "--csv", "out.csv"], Some(data));
    run.assert_success();
    println!("peak RSS over a 50 MB line on stdin: {kib} KiB");
    let s = run.summary();
    assert_eq!((s.lines, s.oversize, s.matched), (4, 1, 3), "summary\n{run}");
    let totals = CsvTable::parse(&wd.read("out.csv"), &run).totals(&["key"]);
    let expected: Counts = [(b"a".to_vec(), 2), (b"b".to_vec(), 1)].into_iter().collect();
    assert_counts_eq(&totals, &expected, &run);
    assert!(kib < RSS_LIMIT_KIB, "peak RSS {kib} KiB over a 50 MB line\n{run}");
}

#[test]
fn a_million_fields_on_one_line() {
    let wd = Workdir::new();
    let mut line = Vec::new();
    for i in 1..=1_000_000 {
        line.extend_from_slice(format!("f{i} ").as_bytes());
    }
    line.extend_from_slice(b"\t\n");
    wd.write("wide.log", &line);
    for (field, key) in [("-1", "f1000000"), ("999999", "f999999"), ("-1000000", "f1")] {
        let run = wd
            .statbuf()
            .args(["--max-line-bytes", "16000000", "-k", field, "wide.log"])
            .run();
        assert_output_eq(&run.stdout, format!("      1 {key}\n").as_bytes(), &run);
    }
    let run = wd
        .statbuf()
        .args(["--max-line-bytes", "16000000", "-k", "1000001", "wide.log"])
        .run();
    assert_eq!(run.summary().unmatched, 1, "one field too far\n{run}");
}

// ------------------------------------------------------------------------------------------
// Bytes that are not text
// ------------------------------------------------------------------------------------------

/// Reads `key, count` back from the database as bytes, whatever the key's encoding.
fn sqlite_bytes(db: &Path) -> Counts {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT CAST(key AS BLOB), count FROM counts")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Runs statbuf over `data` with `key_flags` into stdout, CSV and SQLite, and checks all three
/// against the model `key_of`.
fn check_all_sinks(data: &[u8], key_flags: &[&str], key_of: impl Fn(&[u8]) -> Option<Vec<u8>>) {
    let wd = Workdir::new();
    let run = wd
        .statbuf()
        .args(key_flags)
        .args(["--stdout", "--csv", "out.csv", "--sqlite", "out.db"])
        .stdin(data.to_vec())
        .run();
    let expected = count_by(data, &key_of);
    assert_counts_eq(&run.plain(), &expected, &run);
    assert_counts_eq(
        &CsvTable::parse(&wd.read("out.csv"), &run).totals(&["key"]),
        &expected,
        &run,
    );
    assert_counts_eq(&sqlite_bytes(&wd.path("out.db")), &expected, &run);
    let s = run.summary();
    assert_eq!(s.lines, split_lines(data).len() as u64, "lines\n{run}");
    assert_eq!(s.matched, total(&expected) as u64, "matched\n{run}");
}

#[test]
fn nul_bytes_invalid_utf8_and_crlf_are_counted_byte_for_byte() {
    let data: &[u8] = b"a\x00b 1\r\n\
        \xff\xfe 2\n\
        a\x00b 3\n\
        \xc3\x28 \x00\n\
        caf\xc3\xa9 \xed\xa0\x80\r\n\
        x\r\r\n\
        x\r\n\
        \r\n\
        \x00\n\
        \xff\xfe 4\r";
    check_all_sinks(data, &[], |l| Some(l.to_vec()));
    check_all_sinks(data, &["-k", "1"], |l| {
        nth_field(&awk_fields(l), 1).map(<[u8]>::to_vec)
    });
    check_all_sinks(data, &["-k", "-1"], |l| {
        nth_field(&awk_fields(l), -1).map(<[u8]>::to_vec)
    });
    check_all_sinks(data, &["-d", " ", "-k", "2"], |l| {
        if l.is_empty() {
            None
        } else {
            nth_field(&delim_fields(l, b' '), 2).map(<[u8]>::to_vec)
        }
    });
}

#[test]
fn empty_input_and_lines_that_are_only_line_ends() {
    let wd = Workdir::new();
    let run = wd
        .statbuf()
        .args(["--csv", "empty.csv", "--stdout"])
        .stdin("")
        .run();
    assert!(run.stdout.is_empty(), "no output for no input\n{run}");
    assert_eq!(run.summary().lines, 0, "lines\n{run}");
    let csv = wd.path("empty.csv");
    assert!(
        !csv.exists() || read(&csv).is_empty() || CsvTable::parse(&read(&csv), &run).rows.is_empty(),
        "no rows for no input\n{run}"
    );

    for (data, whole, lines) in [
        (&b"\n\n\n"[..], &[(&b""[..], 3)][..], 3),
        (b"\r\n", &[(b"", 1)], 1),
        (b"\r\r\n", &[(b"\r", 1)], 1),
        (b"\r", &[(b"", 1)], 1),
        (b" \t \n\t\n", &[(b" \t ", 1), (b"\t", 1)], 2),
    ] {
        let expected: Counts = whole.iter().map(|(k, n)| (k.to_vec(), *n)).collect();
        let csv = wd.path("whole.csv");
        let run = statbuf().arg("--csv").arg(&csv).stdin(data).run();
        assert_counts_eq(
            &CsvTable::parse(&read(&csv), &run).totals(&["key"]),
            &expected,
            &run,
        );
        fs::remove_file(&csv).unwrap();
        assert_eq!(run.summary().lines, lines, "lines of {}\n{run}", show(data));
        // Blanks are no field; a carriage return that is not the line's last byte is one.
        let run = statbuf().args(["-k", "1"]).stdin(data).run();
        let expected = count_by(data, |l| nth_field(&awk_fields(l), 1).map(<[u8]>::to_vec));
        assert_counts_eq(&run.plain(), &expected, &run);
        let s = run.summary();
        assert_eq!(
            (s.lines, s.unmatched),
            (lines, lines - total(&expected) as u64),
            "summary\n{run}"
        );
    }
}

#[test]
fn delimited_fields_of_empty_lines() {
    // Like awk -F, with a one-character separator an empty line has no fields, and a line
    // of one separator has two empty ones.
    let run = statbuf().args(["-d", ",", "-k", "1"]).stdin("\n,\n").run();
    let s = run.summary();
    assert_eq!((s.lines, s.matched, s.unmatched), (2, 1, 1), "summary\n{run}");
    assert_output_eq(&run.stdout, b"      1 \n", &run);
}

/// A fixed-seed xorshift64 generator.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_binary_input_is_counted_like_the_model() {
    let mut state = 0x0123_4567_89ab_cdefu64;
    // 2 MB of bytes: one in 64 a newline, one in 16 a blank, some NUL and CR, the rest spread
    // over all 256 values, so that keys repeat only by their first field.
    let mut data = Vec::with_capacity(2 << 20);
    while data.len() < 2 << 20 {
        let r = xorshift(&mut state);
        let b = match r % 64 {
            0 => b'\n',
            1..=4 => b' ',
            5 => b'\t',
            6 => b'\r',
            7 => 0,
            8..=20 => b"abc"[(r >> 8) as usize % 3],
            _ => (r >> 16) as u8,
        };
        data.push(b);
    }
    check_all_sinks(&data, &["-k", "2"], |l| {
        nth_field(&awk_fields(l), 2).map(<[u8]>::to_vec)
    });
    check_all_sinks(&data, &["-d", "\t", "-k", "-1"], |l| {
        if l.is_empty() {
            None
        } else {
            nth_field(&delim_fields(l, b'\t'), -1).map(<[u8]>::to_vec)
        }
    });
}

// ------------------------------------------------------------------------------------------
// The line-length limit and carriage returns
// ------------------------------------------------------------------------------------------

#[test]
fn a_crlf_line_at_the_length_limit_counts_the_same_at_every_block_size() {
    // The line is what comes before `\n`, less one trailing `\r`: "abc", 3 bytes, which
    // --max-line-bytes 3 allows. How the reader happens to cut its reads must not matter.
    let wd = Workdir::new();
    for (data, key) in [(&b"abc\r\nz\n"[..], &b"abc"[..]), (b"abc\r", b"abc")] {
        let input = wd.write("crlf.log", data);
        for block in 1..=8 {
            let run = wd
                .statbuf()
                .args(["--max-line-bytes", "3", "--block-size", &block.to_string()])
                .arg(&input)
                .run();
            let got = run.plain();
            assert_eq!(
                got.get(key),
                Some(&1),
                "{} with --max-line-bytes 3 --block-size {block}: the line {} is not longer than 3 bytes\n{run}",
                show(data),
                show(key)
            );
            assert_eq!(run.summary().oversize, 0, "oversize\n{run}");
        }
    }
}

// ------------------------------------------------------------------------------------------
// Named pipes
// ------------------------------------------------------------------------------------------

#[test]
fn a_named_pipe_is_read_like_a_file() {
    let wd = Workdir::new();
    // Process substitution hands statbuf /dev/fd/N, a pipe.
    let run = shell(
        wd.root(),
        r#"exec bash -c '"$0" -k 2 <(printf "1 a\n2 b\n3 a\n")' "$1""#,
    );
    run.assert_success();
    assert_output_eq(&run.stdout, b"      2 a\n      1 b\n", &run);

    let fifo = wd.path("fifo");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
    let run = shell(wd.root(), r#"printf "x y\nx z\n" > fifo & "$1" -k 1 fifo; wait"#);
    run.assert_success();
    assert_output_eq(&run.stdout, b"      2 x\n", &run);
}

// ------------------------------------------------------------------------------------------
// Many keys under --max-keys
// ------------------------------------------------------------------------------------------

/// Distinct keys in `many_keys`: enough that holding them all is clearly more than the
/// memory any run holds anyway.
const MANY_KEYS: u64 = 400_000;

/// 1,200,000 lines over 400,000 keys `k{i * 7919 % 400000}`, each key three times.
fn many_keys(wd: &Workdir) -> PathBuf {
    let mut data = Vec::with_capacity(3 * MANY_KEYS as usize * 8);
    for i in 0..3 * MANY_KEYS {
        data.extend_from_slice(format!("k{}\n", i * 7919 % MANY_KEYS).as_bytes());
    }
    wd.write("many.log", &data)
}

#[test]
fn max_keys_bounds_memory_and_keeps_totals_exact() {
    if !have(&[Tool::GnuTime]) {
        return;
    }
    let wd = Workdir::new();
    let log = many_keys(&wd);
    let log = log.to_str().unwrap();
    let (bounded, bounded_kib) = measured(
        &wd,
        &["-k", "1", "--max-keys", "1000", "--sqlite", "bounded.db", log],
        None,
    );
    bounded.assert_success();
    let (unbounded, unbounded_kib) = measured(&wd, &["-k", "1", "--sqlite", "unbounded.db", log], None);
    unbounded.assert_success();
    // What any run holds (the binary, its libraries, the SQLite sink), whatever its input: the
    // bound shows in what the keys add above it.
    let empty = wd.write("empty.log", "");
    let (baseline, baseline_kib) = measured(
        &wd,
        &["-k", "1", "--sqlite", "baseline.db", empty.to_str().unwrap()],
        None,
    );
    baseline.assert_success();
    println!(
        "peak RSS over 1,200,000 lines and 400,000 keys: {bounded_kib} KiB with --max-keys 1000 ({} flushes), \
         {unbounded_kib} KiB without ({} flushes)",
        bounded.summary().flushes,
        unbounded.summary().flushes
    );
    for (run, db) in [(&bounded, "bounded.db"), (&unbounded, "unbounded.db")] {
        let totals = SqlTable::load(&wd.path(db), "counts").totals(&["key"]);
        assert_eq!(
            total(&totals),
            3 * MANY_KEYS as i64,
            "the sum is the line count\n{run}"
        );
        assert_eq!(totals.len() as u64, MANY_KEYS, "distinct keys\n{run}");
        let wrong: Vec<_> = totals.iter().filter(|(_, n)| **n != 3).take(5).collect();
        assert!(
            wrong.is_empty(),
            "every key is counted 3 times; not {wrong:?}\n{run}"
        );
    }
    // Peak RSS differs by some hundred KiB between identical runs: the bound must show as a
    // clear difference, the keys adding less than half as much with it as without.
    let (with_bound, without) = (
        bounded_kib.saturating_sub(baseline_kib),
        unbounded_kib.saturating_sub(baseline_kib),
    );
    assert!(
        with_bound * 2 < without,
        "--max-keys 1000 does not bound memory: peak RSS {bounded_kib} KiB with it, {unbounded_kib} KiB \
         without, {baseline_kib} KiB for empty input\n{bounded}\n{unbounded}"
    );
}
