//! `--logfmt-key` and `--logfmt-value` against go-logfmt's rules and the PyPI package.

use super::*;

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
