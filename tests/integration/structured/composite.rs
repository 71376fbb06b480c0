//! Composite JSON keys and `--json-value`.

use super::*;

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
