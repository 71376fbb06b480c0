//! I/O errors and crashes injected with strace into every few writes and syncs of the SQLite
//! sink, each followed by a clean rerun that must count exactly.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::Path;

use crate::tools::{Tool, have};

use super::*;

/// `statbuf --state s.json -k 7 --sqlite t.db` over `log` in small blocks, at most 200 keys a
/// flush: many flushes, each a transaction of its own; then `extra`.
fn many_small_flushes(log: &Path, extra: &[&str]) -> Vec<OsString> {
    let small = "--state s.json -k 7 --sqlite t.db --max-keys 200 --block-size 4096";
    let args = small.split(' ').chain(extra.iter().copied()).map(OsString::from);
    args.chain([log.as_os_str().to_owned()]).collect()
}

/// Counts the calls of each syscall of `syscalls` per thread in a clean traced run, and
/// returns the largest count: injections count calls per thread.
fn calls_per_thread(wd: &Workdir, args: &[OsString], syscalls: &str) -> usize {
    let dir = wd.path("clean");
    fs::create_dir_all(&dir).unwrap();
    let trace = wd.path("clean.trace");
    strace(statbuf().current_dir(&dir), syscalls, None, Some(&trace))
        .args(args)
        .run();
    let mut per_thread: BTreeMap<(String, String), usize> = Default::default();
    for line in String::from_utf8_lossy(&read(&trace)).lines() {
        let mut words = line.split_whitespace();
        let (Some(pid), Some(call)) = (words.next(), words.next()) else {
            continue;
        };
        // `123 pwrite64(...`; a call interrupted by another thread's shows again later as
        // `123 <... pwrite64 resumed>`, which is the same call.
        if call == "<..." {
            continue;
        }
        let name = call;
        let name = name.split('(').next().unwrap_or("");
        if syscalls.split(',').any(|s| s == name) {
            *per_thread.entry((pid.to_string(), name.to_string())).or_insert(0) += 1;
        }
    }
    per_thread.values().copied().max().unwrap_or(0)
}

/// Runs statbuf with `args` in `dir` under strace injecting `inject` into `syscalls`, then
/// reruns it there without: the database must pass `PRAGMA integrity_check` and hold
/// `expected` exactly. Returns the run with the fault.
fn injected_then_rerun(
    dir: &Path,
    args: &[OsString],
    syscalls: &str,
    inject: &str,
    expected: &Counts,
) -> Run {
    fs::create_dir_all(dir).unwrap();
    let injected = strace(statbuf().current_dir(dir), syscalls, Some(inject), None)
        .args(args)
        .output();
    injected.assert_no_panic();
    let rerun = statbuf().current_dir(dir).args(args).run();
    let context = format!("{syscalls} {inject}\n--- injected run ---\n{injected}\n--- rerun ---\n{rerun}");
    let db = dir.join("t.db");
    assert_intact(&db, &context);
    assert_counts_eq(&sql_totals(&db).unwrap(), expected, &context);
    injected
}

/// Runs `statbuf --state s.json -k 7 --sqlite t.db --max-keys 200 LOG` under strace with the
/// fault injected into call N of each thread, for N = first, first + step, ... up to one past
/// the most calls a thread makes in a clean run, each time followed by a clean rerun to
/// completion: the database must pass `PRAGMA integrity_check` and hold mawk's counts exactly.
fn sweep(syscalls: &str, action: &str, first: usize, step: usize) {
    let wd = Workdir::new();
    let log = generated_log(2000, 41);
    let expected = mawk("NF >= 7 { c[$7]++ }", &[&log]);
    let args = many_small_flushes(&log, &["--workers", "2", "-q"]);
    let calls = calls_per_thread(&wd, &args, syscalls);
    assert!(calls > 0, "a clean run makes no {} call", syscalls);
    let ns: Vec<usize> = (first..=calls + 1).step_by(step).collect();
    for &n in &ns {
        let inject = format!("{}:when={n}", action);
        let injected = injected_then_rerun(&wd.path(&format!("n{n}")), &args, syscalls, &inject, &expected);
        if action.starts_with("error") {
            assert!(
                matches!(injected.code(), Some(0 | 1)),
                "an injected error must end in status 0 or 1\n{injected}"
            );
        }
    }
    println!(
        "{} {}: swept {} values of N from {first} to {} (step {step}); a clean run makes up to {calls} calls per thread",
        syscalls,
        action,
        ns.len(),
        ns.last().copied().unwrap_or(first)
    );
}

#[test]
fn sweep_pwrite_enospc() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep("pwrite64", "error=ENOSPC", 1, 6);
}

#[test]
fn sweep_pwrite_eio() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep("pwrite64", "error=EIO", 3, 6);
}

#[test]
fn sweep_pwrite_kill() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep("pwrite64", "signal=KILL", 5, 6);
}

#[test]
fn sweep_sync_eio() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    // SQLite syncs with fdatasync or fsync depending on how it was built; fail either.
    sweep("fsync,fdatasync", "error=EIO", 1, 1);
}

#[test]
fn writes_failing_for_good_leave_a_rerun_to_count_exactly() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    // From call N on every write fails: the final flush gives up into the fallback (stderr),
    // the offsets committed stay those of the counts in the database, and a rerun with the
    // same state counts the rest once.
    let wd = Workdir::new();
    let log = generated_log(2000, 41);
    let expected = mawk("NF >= 7 { c[$7]++ }", &[&log]);
    let args = many_small_flushes(&log, &["--flush-timeout", "1s"]);
    for n in [30, 80, 140] {
        let inject = format!("error=ENOSPC:when={n}+");
        injected_then_rerun(&wd.path(&format!("n{n}")), &args, "pwrite64", &inject, &expected);
    }
}
