//! `--state`: runs that resume where the previous one stopped, across rotations between runs,
//! `kill -9` at any moment, partial last lines, and state files that are corrupt, locked by
//! another run, or kept for another database. Totals are checked against mawk over every line
//! ever written, or against counts the test computed from the lines it wrote.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::Duration;

use loggen::LogSpec;

use crate::follow::{
    append, inode, numbered, numbered_lines, rotate_by_copytruncate, rotate_by_rename, sql_counts,
};

use crate::tools::{Tool, have};
use crate::util::*;

/// `lines` generated access-log lines (field 7 is the request path).
fn access_lines(lines: u64, seed: u64) -> Vec<u8> {
    let spec = LogSpec {
        lines,
        seed,
        keys: 500,
        ..LogSpec::default()
    };
    let mut out = Vec::new();
    loggen::write_access_log(&spec, &mut out).expect("generating log lines");
    out
}

/// mawk's count of field 7 over `files`: the reference for `-k 7`.
fn by_path(files: &[&Path]) -> Counts {
    mawk("{ c[$7]++ }", files)
}

/// splitmix64: a small deterministic generator, seeded from a loop index.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `PRAGMA integrity_check` of a database, which must say `ok`.
fn assert_integrity(db: &Path, context: &dyn std::fmt::Display) {
    let conn = rusqlite::Connection::open(db).unwrap_or_else(|e| panic!("cannot open {}: {e}", db.display()));
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("integrity_check of {} failed: {e}", db.display()));
    assert_eq!(
        result,
        "ok",
        "PRAGMA integrity_check of {}\n{context}",
        db.display()
    );
}

/// The checkpointed offset of one file in the database, if any was committed.
fn committed_offset(db: &Path) -> Option<u64> {
    let conn = rusqlite::Connection::open(db).ok()?;
    let position: String = conn
        .query_row("SELECT position FROM statbuf_checkpoint", [], |row| row.get(0))
        .ok()?;
    let json: serde_json::Value = serde_json::from_str(&position).ok()?;
    json.get("offset")?.as_u64()
}

/// Starts statbuf, lets it run for a pseudo-random 0..=`max_ms` ms and kills it with SIGKILL
/// (unless it finished first). Returns whether it was still running when killed.
fn kill_at_random(wd: &Workdir, args: &[&str], seed: u64, max_ms: u64) -> bool {
    let live = Live::start(wd, args);
    thread::sleep(Duration::from_millis(splitmix64(seed) % (max_ms + 1)));
    live.signal("KILL");
    let run = live.wait(EXIT_DEADLINE);
    run.assert_no_panic();
    run.code().is_none()
}

/// The lines of a run's stderr that say some lines were not counted.
fn lost_notices(run: &Run) -> Vec<String> {
    run.stderr_str()
        .lines()
        .filter(|l| l.contains("not counted"))
        .map(str::to_owned)
        .collect()
}

// ------------------------------------------------------------------------------------------
// From cron, with rotations between runs
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Rotation {
    None,
    Rename,
    CopyTruncate,
}

/// Ten runs like cron's, each after lines were appended to `logs/access.log` and sometimes
/// after a rotation (lines appended both before and after it). After every run, the totals
/// `read_totals` finds must equal mawk's count over every line written so far.
fn cron_rounds(sink: &[&str], read_totals: impl Fn(&Workdir) -> Counts) {
    use Rotation::*;
    let plan = [
        None,
        None,
        Rename,
        CopyTruncate,
        None,
        Rename,
        CopyTruncate,
        CopyTruncate,
        Rename,
        None,
    ];
    let wd = Workdir::new();
    fs::create_dir(wd.path("logs")).unwrap();
    let log = wd.path("logs/access.log");
    let reference = wd.path("reference.log");
    fs::write(&reference, b"").unwrap();
    let mut args = vec!["--state", "s.json", "-q", "-k", "7"];
    args.extend_from_slice(sink);
    args.push("logs/access.log");
    let mut kept = 0;
    for (round, rotation) in plan.into_iter().enumerate() {
        let seed = 1000 + 10 * round as u64;
        let before = access_lines(1500 + 100 * round as u64, seed);
        append(&log, &before);
        append(&reference, &before);
        match rotation {
            None => {}
            Rename => {
                rotate_by_rename(&log, kept);
                kept += 1;
            }
            CopyTruncate => {
                rotate_by_copytruncate(&log, kept);
                kept += 1;
            }
        }
        if !matches!(rotation, None) {
            let after = access_lines(1200, seed + 1);
            append(&log, &after);
            append(&reference, &after);
        }
        let run = wd.statbuf().args(&args).run();
        assert!(
            lost_notices(&run).is_empty(),
            "round {round} ({rotation:?}): statbuf says lines were not counted, though the rotated \
             file is beside the log\n{run}"
        );
        let context = format!("round {round} ({rotation:?})\n{run}");
        assert_counts_eq(&read_totals(&wd), &by_path(&[&reference]), &context);
    }
}

#[test]
fn cron_runs_with_rotations_into_sqlite() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    cron_rounds(&["--sqlite", "t.db"], |wd| sql_counts(&wd.path("t.db")).unwrap());
}

#[test]
fn cron_runs_with_rotations_into_csv() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    cron_rounds(&["--csv", "t.csv"], |wd| {
        CsvTable::parse(&wd.read("t.csv"), &"t.csv").totals(&["key"])
    });
}

#[test]
fn a_rotated_file_not_found_beside_the_log_is_reported() {
    let wd = Workdir::new();
    fs::create_dir(wd.path("logs")).unwrap();
    fs::create_dir(wd.path("archive")).unwrap();
    let log = wd.path("logs/access.log");
    let (first, mut expected) = numbered_lines("first", 3, 100);
    append(&log, &first);
    let args = [
        "--state",
        "s.json",
        "-k",
        "1",
        "--sqlite",
        "t.db",
        "logs/access.log",
    ];
    wd.statbuf().args(args).run();
    // Lines appended after the run, then the file moved where statbuf does not look.
    let (lost, _) = numbered_lines("lost", 2, 50);
    append(&log, &lost);
    let old = inode(&log);
    fs::rename(&log, wd.path("archive/access.log.1")).unwrap();
    let (new, new_counts) = numbered_lines("new", 4, 30);
    append(&log, &new);
    assert_ne!(inode(&log), old, "the new log must be another file");
    let run = wd.statbuf().args(args).run();
    add_counts(&mut expected, &new_counts);
    assert_counts_eq(&sql_counts(&wd.path("t.db")).unwrap(), &expected, &run);
    let notices = lost_notices(&run);
    assert!(
        notices.len() == 1 && notices[0].contains(&first.len().to_string()),
        "one notice must say that the lines after byte {} were not counted\n{run}",
        first.len()
    );
}

#[test]
fn two_rotations_between_two_runs() {
    let wd = Workdir::new();
    let log = wd.path("access.log");
    let (a, a_counts) = numbered_lines("a", 3, 1000);
    let (c, c_counts) = numbered_lines("c", 3, 700);
    let (d, d_counts) = numbered_lines("d", 3, 500);
    let (e, e_counts) = numbered_lines("e", 3, 300);
    append(&log, &a);
    let args = ["--state", "s.json", "-k", "1", "--sqlite", "t.db", "access.log"];
    wd.statbuf().args(args).run();
    // Between two runs the log is appended to and rotated twice: the file the state file knows
    // is now access.log.2, an intermediate one is access.log.1.
    let first = inode(&log);
    append(&log, &c);
    let middle = rotate_by_rename(&log, 0);
    append(&log, &d);
    rotate_by_rename(&log, 1);
    append(&log, &e);
    assert_eq!(inode(&numbered(&log, 2)), first);
    assert_eq!(inode(&numbered(&log, 1)), middle);
    let run = wd.statbuf().args(args).run();
    let got = sql_counts(&wd.path("t.db")).unwrap();
    let mut everything = a_counts.clone();
    for part in [&c_counts, &d_counts, &e_counts] {
        add_counts(&mut everything, part);
    }
    let mut without_middle = a_counts;
    add_counts(&mut without_middle, &c_counts);
    add_counts(&mut without_middle, &e_counts);
    if got == everything {
        println!("every line counted: the intermediate file was read");
        return;
    }
    let reported = !lost_notices(&run).is_empty();
    assert!(
        got == without_middle && reported,
        "after two rotations between two runs, statbuf must count every line, or count all but \
         the intermediate file's 500 lines and say on stderr that they were not counted; it \
         counted {} of 2500 lines{}\n{}",
        total(&got),
        if got == without_middle && !reported {
            " (exactly the intermediate file's lines are missing, and stderr does not say so)"
        } else {
            ""
        },
        run
    );
    println!("the intermediate file was not read, and statbuf said so");
}

// ------------------------------------------------------------------------------------------
// kill -9
// ------------------------------------------------------------------------------------------

#[test]
fn kill_9_at_any_moment_then_a_rerun_counts_every_line_once() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let big = generated_log(300_000, 9);
    let size = fs::metadata(&big).unwrap().len();
    let expected = by_path(&[&big]);
    let big = big.to_str().unwrap().to_owned();
    let wd = Workdir::new();
    let mut mid_run = 0;
    for i in 0..20u64 {
        let (state, db) = (format!("s{i}.json"), format!("t{i}.db"));
        let args = [
            "--state",
            &state,
            "-q",
            "-k",
            "7",
            "--max-keys",
            "500",
            "--interval",
            "50ms",
            "--sqlite",
            &db,
            &big,
        ];
        let killed = kill_at_random(&wd, &args, i, 300);
        let db = wd.path(&db);
        let offset = committed_offset(&db);
        if killed && offset.is_some_and(|o| o < size) {
            mid_run += 1;
        }
        println!(
            "round {i}: {}, committed offset {offset:?} of {size}",
            if killed {
                "killed"
            } else {
                "finished before the kill"
            }
        );
        if db.exists() {
            assert_integrity(&db, &format!("round {i}, after kill -9"));
        }
        let run = wd.statbuf().args(args).run();
        assert_integrity(&db, &run);
        assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &format!("round {i}\n{run}"));
    }
    println!("{mid_run} of 20 runs were killed after a commit and before the end of the file");
}

// ------------------------------------------------------------------------------------------
// A partial last line
// ------------------------------------------------------------------------------------------

fn partial_line_counted_once(sink: &[&str], read_totals: impl Fn(&Workdir) -> Counts) {
    let wd = Workdir::new();
    let log = wd.path("app.log");
    let (lines, mut expected) = numbered_lines("whole", 7, 1000);
    append(&log, &lines);
    append(&log, b"partial-ke");
    let mut args = vec!["--state", "s.json", "-k", "1"];
    args.extend_from_slice(sink);
    args.push("app.log");

    let run = wd.statbuf().args(&args).run();
    assert_counts_eq(
        &read_totals(&wd),
        &expected,
        &format!("the line without a newline must wait\n{run}"),
    );
    assert_eq!(run.summary().lines, 1000, "lines\n{run}");

    // A run with nothing new counts nothing again.
    let run = wd.statbuf().args(&args).run();
    assert_counts_eq(&read_totals(&wd), &expected, &run);

    append(&log, b"y n1000\n");
    let (more, more_counts) = numbered_lines("more", 3, 50);
    append(&log, &more);
    expected.insert(b"partial-key".to_vec(), 1);
    add_counts(&mut expected, &more_counts);
    let run = wd.statbuf().args(&args).run();
    assert_counts_eq(
        &read_totals(&wd),
        &expected,
        &format!("the completed line, once\n{run}"),
    );
    assert_eq!(run.summary().lines, 51, "lines\n{run}");

    let run = wd.statbuf().args(&args).run();
    assert_counts_eq(&read_totals(&wd), &expected, &run);
}

#[test]
fn a_partial_last_line_is_counted_once_completed_sqlite() {
    partial_line_counted_once(&["--sqlite", "t.db"], |wd| sql_counts(&wd.path("t.db")).unwrap());
}

#[test]
fn a_partial_last_line_is_counted_once_completed_csv() {
    partial_line_counted_once(&["--csv", "t.csv"], |wd| {
        CsvTable::parse(&wd.read("t.csv"), &"t.csv").totals(&["key"])
    });
}

#[test]
fn a_partial_last_line_with_kill_9_between_runs() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let log = wd.path("big.log");
    fs::copy(generated_log(300_000, 9), &log).unwrap();
    let whole = by_path(&[&log]);
    let head = br#"192.0.2.1 - - [10/Mar/2024:09:00:00 +0000] "GET /parti"#;
    let rest = b"al-path HTTP/1.1\" 200 5 \"-\" \"curl/8.5.0\"\n";
    append(&log, head);
    let args = [
        "--state",
        "s.json",
        "-q",
        "-k",
        "7",
        "--max-keys",
        "500",
        "--interval",
        "50ms",
        "--sqlite",
        "t.db",
        "big.log",
    ];
    let db = wd.path("t.db");
    for i in 0..3 {
        let killed = kill_at_random(&wd, &args, 100 + i, 300);
        println!(
            "before completion, run {i}: killed {killed}, committed offset {:?}",
            committed_offset(&db)
        );
    }
    let run = wd.statbuf().args(args).run();
    assert_integrity(&db, &run);
    assert_counts_eq(
        &sql_counts(&db).unwrap(),
        &whole,
        &format!("the partial line must wait\n{run}"),
    );

    append(&log, rest);
    let tail = access_lines(100_000, 77);
    append(&log, &tail);
    let expected = by_path(&[&log]);
    assert_eq!(
        expected.get(&b"/partial-path"[..]),
        Some(&1),
        "the reference has the completed line"
    );
    for i in 0..3 {
        let killed = kill_at_random(&wd, &args, 200 + i, 100);
        println!(
            "after completion, run {i}: killed {killed}, committed offset {:?}",
            committed_offset(&db)
        );
    }
    let run = wd.statbuf().args(args).run();
    assert_integrity(&db, &run);
    assert_counts_eq(
        &sql_counts(&db).unwrap(),
        &expected,
        &format!("the completed line, once\n{run}"),
    );
}

// ------------------------------------------------------------------------------------------
// State files that cannot be used
// ------------------------------------------------------------------------------------------

#[test]
fn a_corrupt_or_foreign_state_file_is_refused() {
    let cases: [(&str, &[u8]); 6] = [
        ("garbage", b"this is not { json"),
        (
            "a tail longer than its offset",
            br#"{"statbuf_state": 1, "checkpoint": {"kind": "file", "files": [{"path": "/x/app.log",
                "device": 1, "inode": 2, "fingerprint": {"len": 4, "fnv1a64": "0"}, "offset": 4,
                "tail": {"len": 9, "fnv1a64": "0"}}]}}"#,
        ),
        (
            "a fingerprint of 400 TB",
            br#"{"statbuf_state": 1, "checkpoint": {"kind": "file", "files": [{"path": "/x/app.log",
                "device": 1, "inode": 2, "fingerprint": {"len": 400000000000000, "fnv1a64": "0"},
                "offset": 400000000000000, "tail": {"len": 8, "fnv1a64": "0"}}]}}"#,
        ),
        (
            "an unknown version",
            br#"{"statbuf_state": 99, "checkpoint": {"kind": "file", "files": []}}"#,
        ),
        (
            "another program's JSON",
            br#"{"name": "something else", "offset": 12}"#,
        ),
        ("an empty file", b""),
    ];
    for (what, content) in cases {
        let wd = Workdir::new();
        let (lines, _) = numbered_lines("k", 3, 100);
        wd.write("app.log", &lines);
        wd.write("s.json", content);
        let run = wd
            .statbuf()
            .args(["--state", "s.json", "-k", "1", "app.log"])
            .run_with_code(1);
        assert!(
            run.stderr_str().contains("s.json"),
            "{what}: the error must name the state file\n{run}"
        );
        assert!(run.stdout.is_empty(), "{what}: nothing may be counted\n{run}");
        assert_eq!(
            wd.read("s.json"),
            content,
            "{what}: the state file was changed\n{run}"
        );
    }
}

#[test]
fn a_second_run_on_the_same_state_file_is_refused() {
    let wd = Workdir::new();
    let (lines, counts) = numbered_lines("k", 3, 100);
    wd.write("app.log", &lines);
    // The first run follows a file that does not exist yet: its waiting notice comes from the
    // reader, which starts once the state file is locked.
    let mut first = Live::start(&wd, &["-F", "--state", "s.json", "-k", "1", "missing.log"]);
    first.wait_for_stderr("missing.log: does not exist yet");
    let second = wd
        .statbuf()
        .args(["--state", "s.json", "-k", "1", "app.log"])
        .run_with_code(1);
    assert!(
        second.stderr_str().contains("another statbuf run"),
        "the second run must say that another run holds the state file\n{second}"
    );
    assert!(second.stdout.is_empty(), "the second run counted\n{second}");
    first.terminate();
    // Once the first run is gone, the state file is free again.
    let third = wd
        .statbuf()
        .args(["--state", "s.json", "-k", "1", "app.log"])
        .run();
    assert_counts_eq(&third.plain(), &counts, &third);
}

#[test]
fn a_state_file_kept_in_a_database_needs_that_database() {
    let wd = Workdir::new();
    let log = wd.path("app.log");
    let (lines, mut expected) = numbered_lines("k", 5, 500);
    append(&log, &lines);
    let db = wd.path("t.db");
    wd.statbuf()
        .args([
            "--state", "s.json", "-q", "-k", "1", "--sqlite", "t.db", "app.log",
        ])
        .run();
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &"the first run");
    let state = wd.read("s.json");
    assert!(
        String::from_utf8_lossy(&state).contains("sqlite"),
        "the state file names no database"
    );
    let (more, more_counts) = numbered_lines("m", 2, 40);
    append(&log, &more);

    let run = wd
        .statbuf()
        .args(["--state", "s.json", "-k", "1", "app.log"])
        .run_with_code(1);
    assert!(run.stderr_str().contains("s.json"), "without --sqlite\n{run}");
    assert!(
        run.stdout.is_empty(),
        "without --sqlite, nothing may be counted\n{run}"
    );

    let run = wd
        .statbuf()
        .args(["--state", "s.json", "-k", "1", "--sqlite", "other.db", "app.log"])
        .run_with_code(1);
    assert!(
        run.stderr_str().contains("s.json"),
        "with another database\n{run}"
    );
    if let Ok(counts) = sql_counts(&wd.path("other.db")) {
        assert!(counts.is_empty(), "counts went into the other database\n{run}");
    }
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
    assert_eq!(wd.read("s.json"), state, "the state file was changed\n{run}");

    // With its database, the run goes on where the first one stopped.
    let run = wd
        .statbuf()
        .args([
            "--state", "s.json", "-q", "-k", "1", "--sqlite", "t.db", "app.log",
        ])
        .run();
    add_counts(&mut expected, &more_counts);
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
}

#[test]
fn a_state_file_kept_by_itself_is_refused_with_sqlite() {
    let wd = Workdir::new();
    let (lines, counts) = numbered_lines("k", 5, 500);
    wd.write("app.log", &lines);
    let run = wd
        .statbuf()
        .args(["--state", "s.json", "-k", "1", "app.log"])
        .run();
    assert_counts_eq(&run.plain(), &counts, &run);
    let state = wd.read("s.json");
    let run = wd
        .statbuf()
        .args(["--state", "s.json", "-k", "1", "--sqlite", "t.db", "app.log"])
        .run_with_code(1);
    assert!(run.stderr_str().contains("s.json"), "{run}");
    assert_eq!(wd.read("s.json"), state, "the state file was changed\n{run}");
}
