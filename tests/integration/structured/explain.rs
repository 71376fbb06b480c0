//! `--explain` with `-j`: which member is missing, and which lines are not JSON.

use super::*;

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
