//! Lines without a time, `--explain`, and bad time flags.

use super::*;

// Lines without a time, --explain, bad flags
// ------------------------------------------------------------------------------------------

/// Lines in which no time can be read.
const NO_TIME: &[&[u8]] = &[
    b"",
    b"just words and no digits",
    b"k [] GET",
    b"k [x] GET",
    b"k [10/Foo/2026:13:55:36 -0700] GET",
    b"k 2026-02-30T10:00:00Z",
    b"k [30/Feb/2026:10:00:00 +0000]",
    b"k Feb 30 10:00:00 host",
    b"k 2026-03-10T25:00:00Z",
    b"k 2026-13-01T00:00:00Z",
    b"k 2026-03-10T14:61:00Z",
    b"k [10/Oct/2000:13:55:36",
    b"k 2026-03-10T14:05",
    b"k 2026-03-10T14:05:0",
    b"k Mar 10 14:05",
    b"\xff\xfe\xfd\xc3\x28 \x80",
    b"\x00\x00\x00",
    b"k 2026-03-10T14:05\x0009Z",
    b"k [10/Oct/2000:13:55:36\x00-0700]",
    b"k 2026-03-10\x00T14:05:09Z",
];

/// Lines with a time, how it is written (`iso`, `clf` or `syslog`) and its text.
const TIMED: &[(&[u8], &str, &str)] = &[
    (b"t 2026-03-10T14:05:09Z", "iso", "2026-03-10T14:05:09Z"),
    (b"t 2026-03-10T14:05:09.5", "iso", "2026-03-10T14:05:09.5"),
    (
        b"t [10/Oct/2000:13:55:36 -0700]",
        "clf",
        "[10/Oct/2000:13:55:36 -0700]",
    ),
    (b"t Mar  1 04:05:09", "syslog", "Mar  1 04:05:09"),
    (
        b"\xff\xfe\x00 2026-03-10T14:06:00+01:00 \xc3(",
        "iso",
        "2026-03-10T14:06:00+01:00",
    ),
    (
        b"\x00[10/Oct/2000:13:55:36 +0000]\x00",
        "clf",
        "[10/Oct/2000:13:55:36 +0000]",
    ),
    (
        b"t Feb 30 10:00:00 then 2026-03-10T14:05:09Z",
        "iso",
        "2026-03-10T14:05:09Z",
    ),
    (
        b"t [] [x] [10/Oct/2000:13:55:36 +0530]",
        "clf",
        "[10/Oct/2000:13:55:36 +0530]",
    ),
    (b"t 2026-03-10T14:07:09Z\r", "iso", "2026-03-10T14:07:09Z"),
    (
        b"t 2028-02-29T23:59:59.999-03:30",
        "iso",
        "2028-02-29T23:59:59.999-03:30",
    ),
];

#[test]
fn lines_without_a_time_are_counted_as_no_time() {
    // Times without a zone are UTC, syslog's year is the file's (2026).
    const PROGRAM: &str = r#"
rows = []
for kind, text in json.loads(sys.argv[1]):
    if kind == 'iso':
        t = dt.datetime.fromisoformat(text)
    elif kind == 'clf':
        t = dt.datetime.strptime(text, '[%d/%b/%Y:%H:%M:%S %z]')
    else:
        t = dt.datetime.strptime('2026 ' + text, '%Y %b %d %H:%M:%S')
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    rows.append((math.floor(t.timestamp()), None))
print(json.dumps(tally(rows, [1])))
"#;
    if !python3() {
        return;
    }
    // The timed lines each after a line without a time, from the middle on: the first line is
    // empty, the last one has a time at the very end of the file, with no newline.
    let mut lines: Vec<&[u8]> = Vec::new();
    let first_timed = NO_TIME.len() - TIMED.len();
    for (i, bad) in NO_TIME.iter().enumerate() {
        lines.push(bad);
        if let Some(&(good, _, _)) = i.checked_sub(first_timed).and_then(|j| TIMED.get(j)) {
            lines.push(good);
        }
    }
    let text = lines.join(&b'\n');
    let texts: Vec<[&str; 2]> = TIMED.iter().map(|&(_, kind, time)| [kind, time]).collect();
    let oracle = Oracle::run(PROGRAM, &[serde_json::to_string(&texts).expect("JSON")]);

    let wd = Workdir::new();
    let log = wd.write("mixed.log", &text);
    set_mtime(&log, epoch_of("2026-06-01T12:00:00+00:00"));
    let run = wd
        .statbuf()
        .args(["--bucket", "1s", "--tz", "UTC"])
        .arg(&log)
        .run();
    assert_counts_eq(&bucketed_plain(&run), oracle.at(1), &run);
    let summary = run.summary();
    assert_eq!(summary.lines, lines.len() as u64, "{run}");
    assert_eq!(summary.matched, TIMED.len() as u64, "{run}");
    assert_eq!(no_time(&run), NO_TIME.len() as u64, "{run}");
}

#[test]
fn explain_shows_each_lines_time_and_bucket_or_why_it_has_none() {
    const PROGRAM: &str = r#"
for text in sys.argv[1:]:
    seconds = int(dt.datetime.strptime(text, '[%d/%b/%Y:%H:%M:%S %z]').timestamp())
    print(bucket(seconds, 1), bucket(seconds, 3600))
"#;
    if !python3() {
        return;
    }
    let times = ["[10/Oct/2000:13:55:36 -0700]", "[31/Dec/2026:23:30:00 +0530]"];
    let expected: Vec<(String, String)> = python(PROGRAM, &times)
        .lines()
        .map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .expect("two times")
        })
        .collect();
    let wd = Workdir::new();
    let log = wd.write(
        "access.log",
        format!(
            "1.2.3.4 - - {} \"GET / HTTP/1.1\" 200 5\nhealth check ok\n5.6.7.8 - - {} \"GET /x HTTP/1.1\" 404 9\n",
            times[0], times[1]
        ),
    );
    let run = wd
        .statbuf()
        .args(["--explain", "--bucket", "1h", "-k", "9"])
        .arg(&log)
        .run();
    let out = run.stdout_str();
    let shown: Vec<&str> = out.lines().map(str::trim_start).collect();
    for (i, key) in [(0, "200"), (1, "404")] {
        let (instant, hour) = &expected[i];
        let time = format!("time \"{}\" is {instant}", times[i]);
        let verdict = format!("-> bucket \"{hour}\", key \"{key}\"");
        assert!(shown.contains(&time.as_str()), "no `{time}`\n{run}");
        assert!(shown.contains(&verdict.as_str()), "no `{verdict}`\n{run}");
    }
    let reason = shown.iter().any(|l| l.starts_with("time: no time found"));
    assert!(reason, "no reason for the line without a time\n{run}");
    assert!(shown.contains(&"-> no time: skipped"), "{run}");
    assert!(
        out.lines().last().is_some_and(|l| l.ends_with(", 1 no time")),
        "the last line does not count the line without a time\n{run}"
    );
    assert!(run.stderr.is_empty(), "{run}");
}

#[test]
fn explain_says_a_yearless_29_february_is_no_such_date() {
    let wd = Workdir::new();
    let log = wd.write("syslog", "Feb 29 12:00:00 host x\n");
    set_mtime(&log, 1_780_315_200); // 2026-06-01T12:00:00Z
    let run = wd
        .statbuf()
        .args(["--explain", "--bucket", "1s", "--tz", "UTC"])
        .arg(&log)
        .run();
    // Neither 2026 nor 2025 has a 29 February: the date does not exist, it is not out of range.
    assert!(run.stdout_str().contains("no such date"), "{run}");
}

#[test]
fn bad_time_flags_are_usage_errors_naming_the_flag() {
    let cases: [(&[&str], &str); 9] = [
        (&["--bucket", "0s"], "--bucket"),
        (&["--bucket", "2d"], "--bucket"),
        (&["--bucket", "1500ms"], "--bucket"),
        (&["--bucket", "1m", "--tz", "Nowhere/City"], "--tz"),
        (&["--bucket", "1m", "--time-format", "%Q%"], "--time-format"),
        (&["--bucket", "1m", "--time-regex", "("], "--time-regex"),
        (&["--bucket", "1m", "--time-field", "0"], "--time-field"),
        // A time flag without --bucket names itself.
        (&["--time-field", "4"], "--time-field"),
        (&["--tz", "UTC"], "--tz"),
    ];
    let wd = Workdir::new();
    let log = wd.write(
        "access.log",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 200 5\n",
    );
    for (args, flag) in cases {
        let run = wd.statbuf().args(args).arg(&log).run_with_code(2);
        assert!(run.stdout.is_empty(), "{run}");
        let err = run.stderr_str();
        let one_line = err.ends_with('\n') && err.lines().count() == 1;
        assert!(one_line, "not one line on stderr\n{run}");
        assert!(
            err.starts_with(&format!("statbuf: {flag}: ")),
            "the line does not name {flag}\n{run}"
        );
    }
}
