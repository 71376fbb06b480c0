//! `--follow` over more files than the open-file limit allows: statbuf raises its soft limit
//! toward the hard one; past the hard one it says so once, counts the files it could open and
//! keeps trying the others. statbuf runs under `sh`, whose `ulimit` sets its limits; every
//! wait is for an event (a line counted, a message), never for a length of time.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::follow::{more_passes, sql_counts, wait_for_total};
use crate::util::*;

/// Files followed at once: more than the limits the tests set allow.
const FILES: usize = 200;

/// The open-file limit the tests set.
const LIMIT: u64 = 64;

/// Writes `f000.log` .. `f199.log`, each holding one line whose key names it. Returns their
/// names, in the order statbuf opens them, and their counts.
fn many_files(wd: &Workdir) -> (Vec<String>, Counts) {
    let mut names = Vec::new();
    let mut counts = Counts::new();
    for i in 0..FILES {
        let name = format!("f{i:03}.log");
        wd.write(&name, format!("file{i:03} x\n"));
        counts.insert(format!("file{i:03}").into_bytes(), 1);
        names.push(name);
    }
    (names, counts)
}

/// `statbuf -F --from-start -k 1 -i 200ms --sqlite t.db FILES...` in `wd`, started by `sh`
/// once `limits` (`ulimit` commands) have set its limits.
fn follow_under(wd: &Workdir, limits: &str, names: &[String]) -> Live {
    let script = format!("{limits} && exec \"$0\" \"$@\"");
    wd.statbuf()
        .under("sh", ["-c", &script])
        .args(["-F", "--from-start", "-k", "1", "-i", "200ms", "--sqlite", "t.db"])
        .args(names)
        .spawn()
}

/// Passes over the files for a few seconds at least (and 5 at least): time for a message
/// repeated on every look to pile up, were it repeated.
fn pass_a_while(live: &mut Live, wd: &Workdir, expected: &mut Counts) {
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 5 || started.elapsed() < Duration::from_secs(3) {
        // f000.log is opened first, whatever the limit.
        more_passes(live, &wd.path("t.db"), &wd.path("f000.log"), 1, expected);
        rounds += 1;
    }
}

/// The number N of `cannot open N of 200 followed files` in the message about the limit.
fn left_out(message: &str) -> usize {
    message
        .split("cannot open ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `cannot open N of` in {message:?}"))
}

/// The `fNNN.log` files counted, each once, and the first ones: statbuf opens them in order.
/// How many there are.
fn counted_prefix(counts: &Counts, run: &Run) -> usize {
    let files: Vec<(&Vec<u8>, &i64)> = counts.iter().filter(|(k, _)| k.starts_with(b"file")).collect();
    for (i, (key, n)) in files.iter().enumerate() {
        assert_eq!(
            (key.as_slice(), **n),
            (format!("file{i:03}").as_bytes(), 1),
            "the files counted must be the first ones, each once\n{run}"
        );
    }
    files.len()
}

#[test]
fn files_past_the_hard_limit_are_reported_once_and_the_others_counted() {
    let wd = Workdir::new();
    let (names, all) = many_files(&wd);
    let limits = format!("ulimit -S -n {LIMIT} && ulimit -H -n {LIMIT}");
    let mut live = follow_under(&wd, &limits, &names);
    let mut ticks = Counts::new();
    pass_a_while(&mut live, &wd, &mut ticks);
    live.signal("TERM");
    let run = live.wait(EXIT_DEADLINE);
    // Some files were not counted: the run failed, and says so.
    run.assert_code(1);
    let messages = run.stderr_lines_except_summary();
    assert_eq!(
        messages.len(),
        1,
        "one message about the limit, not one per file or per look\n{run}"
    );
    let message = &messages[0];
    for part in [
        "of 200 followed files: too many open files".to_string(),
        format!("limit {LIMIT}"),
        "hard limit".to_string(),
        "ulimit -n".to_string(),
    ] {
        assert!(message.contains(&part), "the message must say {part:?}\n{run}");
    }
    let counts = sql_counts(&wd.path("t.db")).unwrap();
    let opened = counted_prefix(&counts, &run);
    println!("{opened} of {FILES} files counted under a hard limit of {LIMIT}\n{run}");
    assert!(
        opened > 0 && opened < FILES,
        "some files and not all fit under a hard limit of {LIMIT}\n{run}"
    );
    // Files may open after the message, never fewer than it said.
    assert!(opened + left_out(message) >= FILES, "{opened} counted\n{run}");
    let mut expected: Counts = all.into_iter().take(opened).collect();
    add_counts(&mut expected, &ticks);
    assert_counts_eq(&counts, &expected, &run);
}

#[test]
fn a_low_soft_limit_is_raised_and_every_file_counted_without_a_word() {
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
    if hard.is_some_and(|hard| hard < 4 * FILES as u64) {
        let message = format!("this test needs a hard open-file limit of {} at least", 4 * FILES);
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("skipped: {message}");
        return;
    }
    let wd = Workdir::new();
    let (names, mut expected) = many_files(&wd);
    let db = wd.path("t.db");
    let mut live = follow_under(&wd, &format!("ulimit -S -n {LIMIT}"), &names);
    wait_for_total(&mut live, &db, FILES as i64);
    pass_a_while(&mut live, &wd, &mut expected);
    let run = live.terminate();
    assert_eq!(
        run.stderr_lines_except_summary(),
        Vec::<String>::new(),
        "nothing to report when the soft limit can be raised\n{run}"
    );
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
}

#[test]
fn files_left_out_are_read_once_the_limit_is_raised() {
    let wd = Workdir::new();
    let (names, mut expected) = many_files(&wd);
    let db = wd.path("t.db");
    let limits = format!("ulimit -S -n {LIMIT} && ulimit -H -n {LIMIT}");
    let mut live = follow_under(&wd, &limits, &names);
    live.wait_for_stderr("followed files: too many open files");
    // Raising a hard limit takes privileges: without them, there is nothing to see here.
    let raised = Command::new("prlimit")
        .args(["--pid", &live.pid().to_string(), "--nofile=4096:4096"])
        .output();
    match raised {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "skipped: prlimit cannot raise the hard limit here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            eprintln!("skipped: cannot run prlimit (util-linux): {e}");
            return;
        }
    }
    live.wait_for_stderr("every followed file that lacked a descriptor is open now");
    wait_for_total(&mut live, &wd.path("t.db"), FILES as i64);
    more_passes(&mut live, &db, &wd.path("f000.log"), 2, &mut expected);
    live.signal("TERM");
    let run = live.wait(EXIT_DEADLINE);
    // The files were counted late, every line of them; the shortage is still an error.
    run.assert_code(1);
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
    assert_eq!(run.stderr_lines_except_summary().len(), 2, "{run}");
}
