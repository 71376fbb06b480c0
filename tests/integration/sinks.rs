//! Sinks and output formats: CSV files, SQLite tables, the stdout formats, --top and
//! --interval, each read back and summed against mawk's counts. What the CSV and SQLite sinks
//! have in common is tested over both (`FileSink`), each failure naming the sink.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::tools::{Tool, have};
use crate::util::*;

const FIELD7: &str = "NF >= 7 { c[$7]++ }";
const STATUS_PATH: &str = r#"NF >= 9 { c[$9 " " $7]++ }"#;
const METHOD_PATH_REGEX: &str = r#""(?P<method>[A-Z]+) (?P<path>[^ ?"]+)"#;
const MAWK_METHOD_PATH: &str = r#"{ if (match($0, /"[A-Z]+ [^ ?"]+/)) { s = substr($0, RSTART + 1, RLENGTH - 1); sp = index(s, " "); c[substr(s, 1, sp - 1) " " substr(s, sp + 1)]++ } }"#;

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn csv_file(path: &Path, run: &Run) -> CsvTable {
    CsvTable::parse(&read(path), &format_args!("{}\n{run}", path.display()))
}

// ------------------------------------------------------------------------------------------
// The file sinks: CSV and SQLite
// ------------------------------------------------------------------------------------------

/// The sinks that keep the counts in a file, which the tests read back alike.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FileSink {
    Csv,
    Sqlite,
}

impl FileSink {
    const BOTH: [FileSink; 2] = [FileSink::Csv, FileSink::Sqlite];

    fn flag(self) -> &'static str {
        match self {
            FileSink::Csv => "--csv",
            FileSink::Sqlite => "--sqlite",
        }
    }

    /// `STEM.csv` or `STEM.db` in `wd`.
    fn file(self, wd: &Workdir, stem: &str) -> PathBuf {
        match self {
            FileSink::Csv => wd.path(&format!("{stem}.csv")),
            FileSink::Sqlite => wd.path(&format!("{stem}.db")),
        }
    }

    /// The columns of a file whose keys have these columns: the CSV header, or the columns of
    /// the SQLite table.
    fn columns(self, keys: &[&str]) -> Vec<String> {
        let (before, after): (&[&str], &[&str]) = match self {
            FileSink::Csv => (&["window_start", "window_end"], &["count"]),
            FileSink::Sqlite => (&[], &["count", "first_seen", "last_seen"]),
        };
        before
            .iter()
            .chain(keys)
            .chain(after)
            .map(|c| c.to_string())
            .collect()
    }

    /// The columns of the file (table `counts`), and its totals by the `keys` columns.
    fn read(self, path: &Path, keys: &[&str], run: &Run) -> (Vec<String>, Counts) {
        match self {
            FileSink::Csv => {
                let table = csv_file(path, run);
                (table.header.clone(), table.totals(keys))
            }
            FileSink::Sqlite => {
                let table = SqlTable::load(path, "counts");
                (table.columns.clone(), table.totals(keys))
            }
        }
    }

    /// Fails unless the file has exactly the columns of `keys` and holds `expected`.
    #[track_caller]
    fn assert_holds(self, path: &Path, keys: &[&str], expected: &Counts, run: &Run) {
        let (columns, totals) = self.read(path, keys, run);
        assert_eq!(columns, self.columns(keys), "the columns of {self}\n{run}");
        assert_counts_eq(&totals, expected, &format_args!("in {self}\n{run}"));
    }
}

impl fmt::Display for FileSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileSink::Csv => f.write_str("the CSV file"),
            FileSink::Sqlite => f.write_str("the SQLite table"),
        }
    }
}

/// The arguments that write to both file sinks: `--csv STEM.csv --sqlite STEM.db` in `wd`.
fn both_sinks(wd: &Workdir, stem: &str) -> Vec<OsString> {
    let args = FileSink::BOTH
        .iter()
        .flat_map(|s| [s.flag().into(), s.file(wd, stem).into()]);
    args.collect()
}

/// Fails unless each file `both_sinks` named has exactly the columns of `keys` and holds
/// `expected`.
#[track_caller]
fn assert_both_hold(wd: &Workdir, stem: &str, keys: &[&str], expected: &Counts, run: &Run) {
    for sink in FileSink::BOTH {
        sink.assert_holds(&sink.file(wd, stem), keys, expected, run);
    }
}

/// The first_seen of every key.
fn first_seen(table: &SqlTable) -> Vec<(Vec<u8>, String)> {
    let key = table.column("key");
    let first = table.column("first_seen");
    let mut out: Vec<_> = table
        .rows
        .iter()
        .map(|r| (sql_bytes(&r[key]), format!("{:?}", r[first])))
        .collect();
    out.sort();
    out
}

#[test]
fn a_rerun_adds_to_the_counts_in_the_file() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 21);
    let expected = mawk(FIELD7, &[&log]);
    for sink in FileSink::BOTH {
        let wd = Workdir::new();
        let file = sink.file(&wd, "counts");
        let mut first = Vec::new();
        for round in 1..=3 {
            let run = wd
                .statbuf()
                .args(["-k", "7", sink.flag()])
                .arg(&file)
                .arg(&log)
                .run();
            assert!(
                run.stdout.is_empty(),
                "stdout is not empty with {}\n{run}",
                sink.flag()
            );
            // The CSV header once, however many runs appended to the file.
            sink.assert_holds(&file, &["key"], &scale(&expected, round), &run);
            if sink != FileSink::Sqlite {
                continue;
            }
            let table = SqlTable::load(&file, "counts");
            for row in &table.rows {
                for col in ["first_seen", "last_seen"] {
                    assert_ne!(
                        row[table.column(col)],
                        rusqlite::types::Value::Null,
                        "{col} is NULL\n{run}"
                    );
                }
            }
            if round == 1 {
                first = first_seen(&table);
            } else {
                assert!(first == first_seen(&table), "a re-run changed first_seen\n{run}");
            }
            if let Some(out) = sqlite3_cli(&file, "SELECT count(*), sum(count) FROM counts") {
                assert_eq!(
                    out,
                    format!("{}|{}", expected.len(), total(&expected) * round),
                    "sqlite3's view of the table\n{run}"
                );
            }
        }
    }
}

#[test]
fn awkward_keys_come_back_intact() {
    // Keys holding commas, quotes and blanks: through RFC 4180 quoting, and as SQLite text.
    let data = "a,b\n\"quoted\"\n  spaced  \na,b\nplain\n";
    let expected = count_by(data.as_bytes(), |l| Some(l.to_vec()));
    for sink in FileSink::BOTH {
        let wd = Workdir::new();
        let file = sink.file(&wd, "awkward");
        let run = wd.statbuf().arg(sink.flag()).arg(&file).stdin(data).run();
        sink.assert_holds(&file, &["key"], &expected, &run);
    }
}

#[test]
fn stdout_flag_keeps_stdout_beside_a_file_sink() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 21);
    let expected = mawk(FIELD7, &[&log]);
    for sink in FileSink::BOTH {
        let wd = Workdir::new();
        let file = sink.file(&wd, "counts");
        let run = wd
            .statbuf()
            .args(["-k", "7", "--stdout", sink.flag()])
            .arg(&file)
            .arg(&log)
            .run();
        let context = format_args!("stdout beside {sink}\n{run}");
        assert_output_eq(&run.stdout, &render_plain(&expected), &context);
        sink.assert_holds(&file, &["key"], &expected, &run);
    }
}

#[test]
fn sqlite_and_csv_and_stdout_together() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = generated_log(20_000, 23);
    let expected = mawk(FIELD7, &[&log]);
    let run = wd
        .statbuf()
        .args(["-k", "7", "--stdout"])
        .args(both_sinks(&wd, "all"))
        .arg(&log)
        .run();
    assert_output_eq(&run.stdout, &render_plain(&expected), &run);
    assert_both_hold(&wd, "all", &["key"], &expected, &run);
}

#[test]
fn csv_header_written_into_an_empty_existing_file() {
    let wd = Workdir::new();
    let csv = wd.write("empty.csv", b"");
    let run = wd
        .statbuf()
        .args(["-k", "1", "--csv"])
        .arg(&csv)
        .stdin("a x\nb y\na z\n")
        .run();
    let table = csv_file(&csv, &run);
    assert_eq!(
        table.header,
        columns(&["window_start", "window_end", "key", "count"]),
        "CSV header\n{run}"
    );
    let mut expected = Counts::new();
    expected.insert(b"a".to_vec(), 2);
    expected.insert(b"b".to_vec(), 1);
    assert_counts_eq(&table.totals(&["key"]), &expected, &run);
}

#[test]
fn sqlite_custom_table_name() {
    let wd = Workdir::new();
    let db = wd.path("hits.db");
    let data = "GET /a\nGET /b\nPOST /a\n";
    let run = wd
        .statbuf()
        .args(["-k", "2", "--table", "hits", "--sqlite"])
        .arg(&db)
        .stdin(data)
        .run();
    let expected = count_by(data.as_bytes(), |l| {
        nth_field(&awk_fields(l), 2).map(<[u8]>::to_vec)
    });
    assert_counts_eq(&SqlTable::load(&db, "hits").totals(&["key"]), &expected, &run);
    if let Some(out) = sqlite3_cli(&db, "SELECT sum(count) FROM hits") {
        assert_eq!(out, "3", "sqlite3's view of the table\n{run}");
    }
}

// ------------------------------------------------------------------------------------------
// Key column names
// ------------------------------------------------------------------------------------------

#[test]
fn composite_key_columns_in_csv_and_sqlite() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = generated_log(20_000, 24);
    let expected = mawk(STATUS_PATH, &[&log]);
    let run = wd
        .statbuf()
        .args(["-k", "9", "-k", "7"])
        .args(both_sinks(&wd, "c"))
        .arg(&log)
        .run();
    // key1 and key2, and no `key` column.
    assert_both_hold(&wd, "c", &["key1", "key2"], &expected, &run);
}

#[test]
fn named_groups_name_the_columns() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = generated_log(20_000, 25);
    let expected = mawk(MAWK_METHOD_PATH, &[&log]);
    let run = wd
        .statbuf()
        .args(["-r", METHOD_PATH_REGEX])
        .args(both_sinks(&wd, "n"))
        .arg(&log)
        .run();
    assert_both_hold(&wd, "n", &["method", "path"], &expected, &run);
}

#[test]
fn single_named_group_and_value_group_columns() {
    let wd = Workdir::new();
    let data = "u=ann b=10\nu=bob b=-\nu=ann b=5\nu=cy b=oops\n";
    let run = wd
        .statbuf()
        .args(["-r", r"u=(?P<user>\w+) b=(?P<value>\S+)", "--stdout"])
        .args(both_sinks(&wd, "v"))
        .stdin(data)
        .run();
    let mut expected = Counts::new();
    expected.insert(b"ann".to_vec(), 15);
    expected.insert(b"bob".to_vec(), 0);
    assert_counts_eq(&run.plain(), &expected, &run);
    // The value group is not a key column.
    assert_both_hold(&wd, "v", &["user"], &expected, &run);
    assert_eq!(run.summary().bad_values, 1, "bad values\n{run}");
}

// ------------------------------------------------------------------------------------------
// --interval
// ------------------------------------------------------------------------------------------

#[test]
fn interval_flushes_into_sqlite_and_csv() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = wd.access_log(
        "access.log",
        &loggen::LogSpec {
            lines: 20_000,
            seed: 26,
            ..Default::default()
        },
    );
    let expected = mawk(FIELD7, &[&log]);
    let run = shell(
        wd.root(),
        r#"(cat access.log; sleep 3; cat access.log) | "$1" -k 7 --interval 1s --sqlite t.db --csv t.csv"#,
    );
    run.assert_success();
    assert_both_hold(&wd, "t", &["key"], &scale(&expected, 2), &run);
    let windows = csv_file(&wd.path("t.csv"), &run).distinct("window_start");
    assert!(
        windows.len() >= 2,
        "the CSV holds {} distinct window_start values, expected at least 2\n{run}",
        windows.len()
    );
    assert!(run.summary().flushes >= 2, "flushes\n{run}");
}

#[test]
fn interval_blocks_on_stdout_have_window_lines() {
    let wd = Workdir::new();
    let data = "a\nb\na\nc x\n";
    wd.write("small.log", data);
    let run = shell(
        wd.root(),
        r#"(cat small.log; sleep 2; cat small.log) | "$1" -i 500ms"#,
    );
    run.assert_success();
    let blocks = parse_plain_blocks(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert!(
        blocks.iter().all(|(window, _)| window.is_some()),
        "a flush block is not preceded by a `# ` window line\n{run}"
    );
    let with_counts = blocks.iter().filter(|(_, c)| !c.is_empty()).count();
    assert!(
        with_counts >= 2,
        "the two halves should land in different flushes\n{run}"
    );
    let mut sum = Counts::new();
    for (_, counts) in &blocks {
        add_counts(&mut sum, counts);
    }
    let expected = count_by(data.as_bytes(), |l| Some(l.to_vec()));
    assert_counts_eq(&sum, &scale(&expected, 2), &run);
}

#[test]
fn interval_csv_format_has_one_header() {
    let wd = Workdir::new();
    let data = "k1 a\nk2 b\nk1 c\n";
    wd.write("small.log", data);
    let run = shell(
        wd.root(),
        r#"(cat small.log; sleep 2; cat small.log) | "$1" -k 1 -i 500ms --format csv"#,
    );
    run.assert_success();
    let table = CsvTable::parse(&run.stdout, &run);
    assert_eq!(
        table.header,
        columns(&["window_start", "window_end", "key", "count"]),
        "header\n{run}"
    );
    let expected = count_by(data.as_bytes(), |l| awk_fields(l).first().map(|f| f.to_vec()));
    assert_counts_eq(&table.totals(&["key"]), &scale(&expected, 2), &run);
    assert!(table.distinct("window_start").len() >= 2, "windows\n{run}");
}

// ------------------------------------------------------------------------------------------
// Stdout formats and --top
// ------------------------------------------------------------------------------------------

/// The totals of `--format json` output (see `json_lines_totals`).
fn json_totals(run: &Run, keys: &[&str]) -> Counts {
    let text =
        String::from_utf8(run.stdout.clone()).unwrap_or_else(|_| panic!("JSON output is not UTF-8\n{run}"));
    json_lines_totals(&text, keys, run)
}

#[test]
fn format_json_sums_to_the_totals() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 27);
    let expected = mawk(FIELD7, &[&log]);
    let run = statbuf().args(["-k", "7", "--format", "json"]).arg(&log).run();
    assert_counts_eq(&json_totals(&run, &["key"]), &expected, &run);
}

#[test]
fn format_json_composite_and_escapes() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 27);
    let expected = mawk(STATUS_PATH, &[&log]);
    let run = statbuf()
        .args(["-k", "9", "-k", "7", "--format", "json"])
        .arg(&log)
        .run();
    assert_counts_eq(&json_totals(&run, &["key1", "key2"]), &expected, &run);

    // Quotes, backslashes and control characters in keys must be escaped.
    let data = "say \"hi\"\nback\\slash\ntab\there\nsay \"hi\"\nbell\x07\n";
    let run = statbuf().args(["--format", "json"]).stdin(data).run();
    let expected = count_by(data.as_bytes(), |l| Some(l.to_vec()));
    assert_counts_eq(&json_totals(&run, &["key"]), &expected, &run);
}

#[test]
fn format_tsv() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 28);
    let expected = mawk(STATUS_PATH, &[&log]);
    let run = statbuf()
        .args(["-k", "9", "-k", "7", "--format", "tsv"])
        .arg(&log)
        .run();
    let lines = output_lines(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert!(!lines.is_empty(), "no output\n{run}");
    assert_eq!(
        lines[0], b"window_start\twindow_end\tkey1\tkey2\tcount",
        "TSV header\n{run}"
    );
    let mut totals = Counts::new();
    for line in &lines[1..] {
        let f: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        assert_eq!(f.len(), 5, "row {}\n{run}", show(line));
        let n: i64 = std::str::from_utf8(f[4])
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("count of {} is not an integer\n{run}", show(line)));
        *totals.entry([f[2], f[3]].join(&b' ')).or_insert(0) += n;
    }
    assert_counts_eq(&totals, &expected, &run);
}

#[test]
fn format_csv() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 28);
    let expected = mawk(FIELD7, &[&log]);
    let run = statbuf().args(["-k", "7", "--format", "csv"]).arg(&log).run();
    let table = CsvTable::parse(&run.stdout, &run);
    assert_eq!(
        table.header,
        columns(&["window_start", "window_end", "key", "count"]),
        "CSV header\n{run}"
    );
    assert_counts_eq(&table.totals(&["key"]), &expected, &run);
}

#[test]
fn top_keeps_the_largest() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 29);
    let expected = render_plain(&mawk(FIELD7, &[&log]));
    let first3: Vec<u8> = expected
        .split_inclusive(|&b| b == b'\n')
        .take(3)
        .flatten()
        .copied()
        .collect();
    let full = statbuf().args(["-k", "7"]).arg(&log).run();
    assert_output_eq(&full.stdout, &expected, &full);
    let top = statbuf().args(["-k", "7", "--top", "3"]).arg(&log).run();
    assert_output_eq(&top.stdout, &first3, &top);
    // The summary still describes everything that was counted.
    assert_eq!(top.summary(), full.summary(), "{top}\n{full}");
}

#[test]
fn top_with_other_formats_and_large_n() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let log = generated_log(20_000, 29);
    let counts = mawk(FIELD7, &[&log]);
    let mut ranked: Vec<(&Vec<u8>, &i64)> = counts.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let top3: Counts = ranked[..3].iter().map(|(k, v)| ((*k).clone(), **v)).collect();

    let run = statbuf()
        .args(["-k", "7", "--top", "3", "--format", "csv"])
        .arg(&log)
        .run();
    assert_counts_eq(&CsvTable::parse(&run.stdout, &run).totals(&["key"]), &top3, &run);
    let run = statbuf()
        .args(["-k", "7", "--top", "3", "--format", "json"])
        .arg(&log)
        .run();
    assert_counts_eq(&json_totals(&run, &["key"]), &top3, &run);

    let run = statbuf().args(["-k", "7", "--top", "100000000"]).arg(&log).run();
    assert_output_eq(&run.stdout, &render_plain(&counts), &run);
}

#[test]
fn top_does_not_limit_the_other_sinks() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = generated_log(20_000, 29);
    let expected = mawk(FIELD7, &[&log]);
    let run = wd
        .statbuf()
        .args(["-k", "7", "--top", "3"])
        .args(both_sinks(&wd, "top"))
        .arg(&log)
        .run();
    assert_both_hold(&wd, "top", &["key"], &expected, &run);
}
