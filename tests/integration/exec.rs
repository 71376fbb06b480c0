//! The exec sink (`--exec CMD`): every flush runs a shell command with the rows on its standard
//! input. The commands here append what they read to a file in the work directory, which is
//! read back and summed against mawk's counts; failing and hanging commands must lose nothing
//! (their counts end up in the fallback) and be reported with the reason.

use std::path::Path;

use crate::tools::{Tool, have};
use crate::util::*;

const FIELD7: &str = "NF >= 7 { c[$7]++ }";
const STATUS_PATH: &str = r#"NF >= 9 { c[$9 " " $7]++ }"#;

/// The CSV header of a single-part key.
const HEADER: [&str; 4] = ["window_start", "window_end", "key", "count"];

/// CSV made of blocks that each start with the same header (one block per run of the
/// command): the number of blocks and the totals of the count column by key columns.
fn csv_blocks(
    bytes: &[u8],
    header: &[&str],
    keys: &[&str],
    context: &dyn std::fmt::Display,
) -> (usize, Counts) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(bytes);
    let header: Vec<&[u8]> = header.iter().map(|h| h.as_bytes()).collect();
    let column = |name: &str| header.iter().position(|h| *h == name.as_bytes()).unwrap();
    let keys: Vec<usize> = keys.iter().map(|k| column(k)).collect();
    let count = column("count");
    let (mut blocks, mut totals) = (0, Counts::new());
    for (i, record) in reader.byte_records().enumerate() {
        let record = record.unwrap_or_else(|e| panic!("invalid CSV: {e}\n{context}"));
        let fields: Vec<&[u8]> = record.iter().collect();
        if fields == header {
            blocks += 1;
            continue;
        }
        assert!(blocks > 0, "the rows do not start with the header\n{context}");
        let key = keys.iter().map(|&k| fields[k]).collect::<Vec<_>>().join(&b' ');
        let n: i64 = std::str::from_utf8(fields[count])
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "record {}: count {} is not an integer\n{context}",
                    i + 1,
                    show(fields[count])
                )
            });
        *totals.entry(key).or_insert(0) += n;
    }
    (blocks, totals)
}

/// The blocks and totals of a CSV file of single-part keys; nothing when it does not exist.
fn csv_file_blocks(path: &Path, context: &dyn std::fmt::Display) -> (usize, Counts) {
    if !path.exists() {
        return (0, Counts::new());
    }
    csv_blocks(
        &read(path),
        &HEADER,
        &["key"],
        &format_args!("{}\n{context}", path.display()),
    )
}

/// Lines of the run's stderr that contain `needle`.
fn stderr_lines_with(run: &Run, needle: &str) -> Vec<String> {
    run.stderr_str()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[test]
fn exec_csv_blocks_sum_to_mawk_with_a_header_per_run() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    let expected = mawk(FIELD7, &[&log]);
    // Small blocks and maps flush early and often: several runs of the command.
    let run = wd
        .statbuf()
        .args(["-k", "7", "--block-size", "4096", "--max-keys", "100"])
        .args(["--exec", "cat >> out.csv"])
        .arg(&log)
        .run();
    assert!(run.stdout.is_empty(), "stdout is not empty with --exec\n{run}");
    let (blocks, totals) = csv_file_blocks(&wd.path("out.csv"), &run);
    assert_counts_eq(&totals, &expected, &run);
    let flushes = run.summary().flushes;
    assert!(flushes >= 2, "--max-keys 100 flushed only once\n{run}");
    assert_eq!(
        blocks as u64, flushes,
        "one header per run of the command, one run per flush\n{run}"
    );
}

#[test]
fn exec_tsv_has_a_header_per_run() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    let expected = mawk(STATUS_PATH, &[&log]);
    let header = "window_start\twindow_end\tkey1\tkey2\tcount";
    let mut runs = Vec::new();
    for _ in 0..2 {
        runs.push(
            wd.statbuf()
                .args([
                    "-k",
                    "9",
                    "-k",
                    "7",
                    "--exec-format",
                    "tsv",
                    "--exec",
                    "cat >> out.tsv",
                ])
                .arg(&log)
                .run(),
        );
    }
    let context = format!("{}\n{}", runs[0], runs[1]);
    let bytes = wd.read("out.tsv");
    let lines = output_lines(&bytes).unwrap_or_else(|e| panic!("{e}\n{context}"));
    assert_eq!(
        lines.first().copied(),
        Some(header.as_bytes()),
        "TSV header\n{context}"
    );
    let mut totals = Counts::new();
    let mut headers = 0;
    for line in lines {
        if line == header.as_bytes() {
            headers += 1;
            continue;
        }
        let f: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        assert_eq!(f.len(), 5, "row {}\n{context}", show(line));
        let n: i64 = std::str::from_utf8(f[4])
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("count of {} is not an integer\n{context}", show(line)));
        *totals.entry([f[2], f[3]].join(&b' ')).or_insert(0) += n;
    }
    assert_eq!(headers, 2, "one header per run of the command\n{context}");
    assert_counts_eq(&totals, &scale(&expected, 2), &context);
}

#[test]
fn exec_json_lines_parse_and_sum_to_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    let expected = mawk(STATUS_PATH, &[&log]);
    let run = wd
        .statbuf()
        .args([
            "-k",
            "9",
            "-k",
            "7",
            "--exec-format",
            "json",
            "--exec",
            "cat >> out.json",
        ])
        .arg(&log)
        .run();
    let text = String::from_utf8(wd.read("out.json")).unwrap_or_else(|_| panic!("not UTF-8\n{run}"));
    let totals = json_lines_totals(&text, &["key1", "key2"], &run);
    assert_counts_eq(&totals, &expected, &run);
}

#[test]
fn exec_output_goes_to_stderr_never_into_the_counts_on_stdout() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    let expected = mawk(FIELD7, &[&log]);
    let run = wd
        .statbuf()
        .args(["-k", "7", "--stdout"])
        .args(["--exec", "echo said-by-the-command; cat > /dev/null"])
        .arg(&log)
        .run();
    assert_output_eq(&run.stdout, &render_plain(&expected), &run);
    assert_eq!(
        stderr_lines_with(&run, "said-by-the-command").len(),
        1,
        "the command's output is on stderr\n{run}"
    );
}

#[test]
fn exec_failing_twice_then_succeeding_loses_nothing() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    std::fs::copy(&log, wd.path("a.log")).unwrap();
    let expected = scale(&mawk(FIELD7, &[&log]), 2);
    // Runs 1 and 2 fail before reading anything; run 3 and later append their rows.
    wd.write(
        "flaky.sh",
        "n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n\n\
         if [ $n -lt 3 ]; then echo \"attempt $n refused\" >&2; exit 1; fi\n\
         cat >> out.csv\n",
    );
    // Two halves a second apart with 50ms windows: several flushes, the first ones failing
    // and folded together until the command takes them. How many there are does not matter.
    let run = shell(
        wd.root(),
        r#"(cat a.log; sleep 1; cat a.log) | "$1" -k 7 -i 50ms --flush-timeout 30s --exec 'sh flaky.sh'"#,
    );
    run.assert_success();
    let (blocks, totals) = csv_file_blocks(&wd.path("out.csv"), &run);
    assert_counts_eq(&totals, &expected, &run);
    assert!(blocks >= 1, "no run of the command took the rows\n{run}");
    let failed = stderr_lines_with(&run, "and retrying");
    assert_eq!(failed.len(), 1, "the failure is reported once\n{run}");
    assert!(
        failed[0].contains("exec 'sh flaky.sh'")
            && failed[0].contains("exited with status 1")
            && failed[0].contains("attempt 1 refused"),
        "the report names the sink, the status and the command's stderr\n{run}"
    );
    let recovered = stderr_lines_with(&run, "written after 2 failed attempts; nothing lost");
    assert_eq!(recovered.len(), 1, "the recovery is reported once\n{run}");
}

#[test]
fn exec_always_failing_sends_everything_to_the_fallback() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    let expected = mawk(FIELD7, &[&log]);
    let run = wd
        .statbuf()
        .args(["-k", "7", "--flush-timeout", "1s", "--fallback", "fb.csv"])
        .args([
            "--exec",
            "cat > /dev/null; echo 'cannot reach the server' >&2; exit 7",
        ])
        .arg(&log)
        .run_with_code(1);
    let (_, in_fallback) = csv_file_blocks(&wd.path("fb.csv"), &run);
    assert_counts_eq(&in_fallback, &expected, &run);
    let failed = stderr_lines_with(&run, "and retrying");
    assert_eq!(failed.len(), 1, "the failure is reported once\n{run}");
    assert!(
        failed[0].contains("exited with status 7 (stderr: cannot reach the server)"),
        "the report names the status and the command's stderr\n{run}"
    );
    assert_eq!(
        stderr_lines_with(&run, "as CSV instead").len(),
        1,
        "the fallback is reported\n{run}"
    );
}

#[test]
fn exec_timeout_kills_the_command_and_keeps_the_counts() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = fixture("access-3k.log");
    let expected = mawk(FIELD7, &[&log]);
    let run = wd
        .statbuf()
        .args(["-k", "7", "--flush-timeout", "1s", "--fallback", "fb.csv"])
        .args(["--exec-timeout", "200ms", "--exec", "sleep 5"])
        .arg(&log)
        .run_with_code(1);
    let (_, in_fallback) = csv_file_blocks(&wd.path("fb.csv"), &run);
    assert_counts_eq(&in_fallback, &expected, &run);
    let failed = stderr_lines_with(&run, "and retrying");
    assert_eq!(failed.len(), 1, "the failure is reported once\n{run}");
    assert!(
        failed[0].contains("exec 'sleep 5'") && failed[0].contains("did not finish within 200ms"),
        "the report names the sink and the timeout\n{run}"
    );
}
