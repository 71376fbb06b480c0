//! loggen's JSON and logfmt logs, and `--match` and `--exclude` with `-j`.

use super::*;

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
