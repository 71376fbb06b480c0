//! Column names taken from member names, in every output that names columns.

use super::*;

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
