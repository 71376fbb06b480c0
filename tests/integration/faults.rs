//! Faults from outside statbuf: another connection locking the database, a full disk, I/O
//! errors and crashes injected into the writes of a flush, the database renamed or deleted
//! under it, permissions, a reader that goes away, and signals while a flush keeps failing.
//!
//! Every test checks that nothing is lost or counted twice: what the sinks hold, plus what
//! went to the fallback, equals mawk's count of the input, key by key. Waits poll against
//! generous deadlines; nothing asserts on how long anything took.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::tools::{Tool, have};
use crate::util::*;

/// How long statbuf may take to exit once its input ends or it is signalled.
const EXIT_DEADLINE: Duration = Duration::from_secs(60);

/// The mawk program counting field 2, the key of the lines `batch` writes.
const FIELD2: &str = "NF >= 2 { c[$2]++ }";

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/// Writes `n` lines whose field 2 is one of `keys` keys `{tag}{k}` to `name`; returns the bytes
/// and the path (for mawk).
fn batch(wd: &Workdir, name: &str, tag: &str, n: usize, keys: usize) -> (Vec<u8>, PathBuf) {
    let mut data = Vec::with_capacity(n * 40);
    for i in 0..n {
        let k = (i * 7919) % keys;
        data.extend_from_slice(format!("{i} {tag}{k} GET /x HTTP/1.1\n").as_bytes());
    }
    let path = wd.write(name, &data);
    (data, path)
}

/// The totals of a counts table, or why they cannot be read yet.
fn sql_totals(db: &Path) -> Result<Counts, String> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    read_counts(&conn)
}

/// Reads `key, count` of table `counts` with `conn`; keys come back as their bytes.
fn read_counts(conn: &Connection) -> Result<Counts, String> {
    let mut statement = conn
        .prepare("SELECT CAST(key AS BLOB), count FROM counts")
        .map_err(|e| e.to_string())?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)))
        .map_err(|e| e.to_string())?;
    let mut counts = Counts::new();
    for row in rows {
        let (key, n) = row.map_err(|e| e.to_string())?;
        assert!(
            counts.insert(key.clone(), n).is_none(),
            "key {} stored twice",
            show(&key)
        );
    }
    Ok(counts)
}

/// `PRAGMA integrity_check` of a database, which must say `ok`.
fn assert_intact(db: &Path, context: &dyn std::fmt::Display) {
    let conn =
        Connection::open(db).unwrap_or_else(|e| panic!("cannot open {}: {e}\n{context}", db.display()));
    let verdict: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_else(|e| panic!("integrity_check of {} failed: {e}\n{context}", db.display()));
    assert_eq!(verdict, ["ok"], "integrity_check of {}\n{context}", db.display());
}

/// The totals of a fallback file (CSV with the CSV sink's columns); empty when there is none.
fn fallback_totals(path: &Path, context: &dyn std::fmt::Display) -> Counts {
    if !path.exists() {
        return Counts::new();
    }
    let table = CsvTable::parse(&read(path), &format_args!("{}\n{context}", path.display()));
    assert_eq!(
        table.header,
        ["window_start", "window_end", "key", "count"],
        "fallback header\n{context}"
    );
    table.totals(&["key"])
}

fn sum(a: &Counts, b: &Counts) -> Counts {
    let mut all = a.clone();
    add_counts(&mut all, b);
    all
}

/// Lines of `text` that contain `needle`.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

/// Waits until the table holds exactly `want`.
fn until_totals(live: &mut Live, db: &Path, want: &Counts) {
    live.poll("the table to hold the counts written", |_| match sql_totals(db) {
        Ok(got) if &got == want => Ok(()),
        Ok(got) => Err(format!("total {} of {}", total(&got), total(want))),
        Err(e) => Err(e),
    });
}

/// Takes the database's write lock from a second connection, as `BEGIN EXCLUSIVE` does.
fn lock_exclusively(db: &Path) -> Connection {
    let conn = Connection::open(db).unwrap_or_else(|e| panic!("cannot open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE")
        .unwrap_or_else(|e| panic!("BEGIN EXCLUSIVE on {}: {e}", db.display()));
    conn
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

// ------------------------------------------------------------------------------------------
// A database locked by another connection
// ------------------------------------------------------------------------------------------

#[test]
fn a_lock_held_by_another_connection_delays_a_flush_and_loses_nothing() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let db = wd.path("locked.db");
    let (a, a_path) = batch(&wd, "a.log", "a", 3000, 40);
    let (b, b_path) = batch(&wd, "b.log", "b", 2000, 30);
    let (c, c_path) = batch(&wd, "c.log", "c", 1000, 20);
    let mut live = wd
        .statbuf()
        .args(["-k", "2", "--interval", "1s", "--sqlite"])
        .arg(&db)
        .spawn();
    live.write(&a);
    let after_a = mawk(FIELD2, &[&a_path]);
    until_totals(&mut live, &db, &after_a);

    // Another connection takes the write lock for 5 s while statbuf has counts to flush.
    let holder = lock_exclusively(&db);
    let locked_at = Instant::now();
    live.write(&b);
    live.wait_for_stderr("retrying");
    // The rest of the 5 s is a setup wait: nothing is measured.
    thread::sleep(Duration::from_secs(5).saturating_sub(locked_at.elapsed()));
    let during = read_counts(&holder).expect("the holder reads the table");
    assert_counts_eq(
        &during,
        &after_a,
        &"while the lock was held, the table must not change",
    );
    holder.execute_batch("COMMIT").expect("releasing the lock");
    drop(holder);

    live.write(&c);
    let expected = mawk(FIELD2, &[&a_path, &b_path, &c_path]);
    until_totals(&mut live, &db, &expected);
    live.wait_for_stderr("written after");
    live.close_stdin();
    let run = live.wait(EXIT_DEADLINE);
    run.assert_success();
    assert_counts_eq(&SqlTable::load(&db, "counts").totals(&["key"]), &expected, &run);
    let stderr = run.stderr_str();
    let retrying = lines_with(&stderr, "retrying");
    assert_eq!(retrying.len(), 1, "one report of the failure\n{run}");
    assert!(retrying[0].contains("locked"), "the report says why\n{run}");
    assert_eq!(
        lines_with(&stderr, "written after").len(),
        1,
        "one report of the recovery\n{run}"
    );
    assert_eq!(run.summary().lines, 6000, "lines\n{run}");
}

// ------------------------------------------------------------------------------------------
// A full disk
// ------------------------------------------------------------------------------------------

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        if std::env::var_os("STATBUF_TEST_NO_TMPFS").is_some() {
            return Err("STATBUF_TEST_NO_TMPFS is set".to_string());
        }
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "statbuf-test",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fills the file system of `path` with a file of zeros until it is full.
fn fill(path: &Path) {
    let mut file = File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match file.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    // Whatever the last short write left: a byte at a time.
    while file.write_all(b"\0").is_ok() {}
}

/// How a full disk is brought about: a real one, or ENOSPC injected with strace where no
/// tmpfs can be mounted.
enum Full {
    Tmpfs { _mount: Tmpfs, ballast: PathBuf },
    Injected,
}

/// Starts statbuf with the database on a disk about to be full. `lasting` tells whether the
/// disk stays full for good (the strace variant must decide up front).
fn start_on_a_small_disk(wd: &Workdir, extra: &[&str], lasting: bool) -> (Live, Full, PathBuf, PathBuf) {
    let mount_point = wd.path("disk");
    let mut args: Vec<OsString> = ["-k", "2", "--interval", "200ms"]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(extra.iter().map(OsString::from));
    match Tmpfs::mount(&mount_point, "16m") {
        Ok(mount) => {
            println!("full disk: a 16 MiB tmpfs filled with a ballast file");
            let db = mount_point.join("t.db");
            let csv = mount_point.join("t.csv");
            args.extend([OsString::from("--sqlite"), db.clone().into()]);
            if !lasting {
                args.extend([OsString::from("--csv"), csv.clone().into()]);
            }
            let live = wd.statbuf().args(&args).spawn();
            let ballast = mount_point.join("ballast");
            (
                live,
                Full::Tmpfs {
                    _mount: mount,
                    ballast,
                },
                db,
                csv,
            )
        }
        Err(why) => {
            // The main thread makes about 20 pwrite64 calls creating the database, the flusher
            // thread a few for the first batch; calls are counted per thread, so failing calls
            // 40 and on hits the flusher's writes of the second batch only.
            println!("full disk: ENOSPC injected with strace ({why})");
            let db = wd.path("t.db");
            let when = if lasting { "40+" } else { "40..46" };
            let strace = [
                "-f".to_owned(),
                "-qq".to_owned(),
                "-o".to_owned(),
                "/dev/null".to_owned(),
                "-e".to_owned(),
                "trace=pwrite64".to_owned(),
                "-e".to_owned(),
                format!("inject=pwrite64:error=ENOSPC:when={when}"),
            ];
            let live = wd
                .statbuf()
                .under("strace", strace)
                .args(&args)
                .arg("--sqlite")
                .arg(&db)
                .spawn();
            (live, Full::Injected, db, wd.path("t.csv"))
        }
    }
}

#[test]
fn a_full_disk_that_frees_up_loses_nothing() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    let wd = Workdir::new();
    let (a, a_path) = batch(&wd, "a.log", "a", 500, 5);
    let (b, b_path) = batch(&wd, "b.log", "key-with-some-length-", 30_000, 30_000);
    let (c, c_path) = batch(&wd, "c.log", "c", 500, 7);
    let (mut live, full, db, csv) = start_on_a_small_disk(&wd, &[], false);
    live.write(&a);
    until_totals(&mut live, &db, &mawk(FIELD2, &[&a_path]));
    if let Full::Tmpfs { ballast, .. } = &full {
        fill(ballast);
    }
    live.write(&b);
    live.wait_for_stderr("full");
    if let Full::Tmpfs { ballast, .. } = &full {
        fs::remove_file(ballast).expect("removing the ballast");
    }
    live.write(&c);
    let expected = mawk(FIELD2, &[&a_path, &b_path, &c_path]);
    until_totals(&mut live, &db, &expected);
    live.close_stdin();
    let run = live.wait(EXIT_DEADLINE);
    run.assert_success();
    assert_intact(&db, &run);
    assert_counts_eq(&sql_totals(&db).unwrap(), &expected, &run);
    if let Full::Tmpfs { .. } = full {
        // The CSV sink failed as well, cut its file back and wrote the window again.
        let table = CsvTable::parse(&read(&csv), &run);
        assert_counts_eq(&table.totals(&["key"]), &expected, &run);
    }
    assert!(
        run.stderr_str().contains("written after"),
        "the recovery is reported\n{run}"
    );
}

#[test]
fn a_disk_that_stays_full_sends_exactly_the_unwritten_counts_to_the_fallback() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    let wd = Workdir::new();
    let fallback = wd.path("fb.csv");
    let (a, a_path) = batch(&wd, "a.log", "a", 500, 5);
    let (b, b_path) = batch(&wd, "b.log", "key-with-some-length-", 30_000, 30_000);
    let fb = fallback.to_str().unwrap();
    let (mut live, full, db, _) =
        start_on_a_small_disk(&wd, &["--flush-timeout", "2s", "--fallback", fb], true);
    live.write(&a);
    until_totals(&mut live, &db, &mawk(FIELD2, &[&a_path]));
    if let Full::Tmpfs { ballast, .. } = &full {
        fill(ballast);
    }
    live.write(&b);
    live.wait_for_stderr("full");
    live.close_stdin();
    let run = live.wait(EXIT_DEADLINE);
    run.assert_code(1);
    // Room to read the database back.
    if let Full::Tmpfs { ballast, .. } = &full {
        fs::remove_file(ballast).expect("removing the ballast");
    }
    assert_intact(&db, &run);
    let in_db = sql_totals(&db).unwrap();
    let in_fallback = fallback_totals(&fallback, &run);
    assert!(
        !in_fallback.is_empty(),
        "the fallback holds the unwritten counts\n{run}"
    );
    let expected = mawk(FIELD2, &[&a_path, &b_path]);
    assert_counts_eq(&sum(&in_db, &in_fallback), &expected, &run);
    assert!(
        run.stderr_str().contains(&format!("written to {fb}")),
        "says where the counts went\n{run}"
    );
}

// ------------------------------------------------------------------------------------------
// I/O errors and crashes injected into every few writes
// ------------------------------------------------------------------------------------------

/// Counts the calls of each syscall of `syscalls` per thread in a clean traced run, and
/// returns the largest count: injections count calls per thread.
fn calls_per_thread(wd: &Workdir, args: &[OsString], syscalls: &str) -> usize {
    let dir = wd.path("clean");
    fs::create_dir_all(&dir).unwrap();
    let trace = wd.path("clean.trace");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", &format!("trace={syscalls}"), "-o"])
        .arg(&trace)
        .arg(STATBUF)
        .args(args)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = run_to_end("strace (clean run)".into(), cmd, None);
    run.assert_success();
    let mut per_thread: std::collections::BTreeMap<(String, String), usize> = Default::default();
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

/// One way to fail a syscall.
struct Fault {
    syscalls: &'static str,
    /// What strace injects: `error=ENOSPC`, `signal=KILL`.
    action: &'static str,
}

/// Runs `statbuf --state s.json -k 7 --sqlite t.db --max-keys 200 LOG` under strace with the
/// fault injected into call N of each thread, for N = first, first + step, ... up to one past
/// the most calls a thread makes in a clean run, each time followed by a clean rerun to
/// completion: the database must pass `PRAGMA integrity_check` and hold mawk's counts exactly.
fn sweep(fault: &Fault, first: usize, step: usize) {
    let wd = Workdir::new();
    let log = generated_log(2000, 41);
    let expected = mawk("NF >= 7 { c[$7]++ }", &[&log]);
    // Small blocks and few keys per flush: many flushes, each a transaction of its own.
    let args: Vec<OsString> = [
        "--state",
        "s.json",
        "-k",
        "7",
        "--sqlite",
        "t.db",
        "--max-keys",
        "200",
        "--block-size",
        "4096",
        "--workers",
        "2",
        "-q",
    ]
    .iter()
    .map(OsString::from)
    .chain([log.clone().into_os_string()])
    .collect();
    let calls = calls_per_thread(&wd, &args, fault.syscalls);
    assert!(calls > 0, "a clean run makes no {} call", fault.syscalls);
    let ns: Vec<usize> = (first..=calls + 1).step_by(step).collect();
    for &n in &ns {
        let dir = wd.path(&format!("n{n}"));
        fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new("strace");
        cmd.args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            &format!("trace={}", fault.syscalls),
            "-e",
        ])
        .arg(format!("inject={}:{}:when={n}", fault.syscalls, fault.action))
        .arg(STATBUF)
        .args(&args)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let injected = run_to_end(
            format!(
                "statbuf under strace, {} {} at call {n}",
                fault.syscalls, fault.action
            ),
            cmd,
            None,
        );
        injected.assert_no_panic();
        if fault.action.starts_with("error") {
            assert!(
                matches!(injected.code(), Some(0 | 1)),
                "an injected error must end in status 0 or 1\n{injected}"
            );
        }
        let rerun = statbuf().current_dir(&dir).args(&args).run();
        let context = format!(
            "{} {} at call {n}\n--- injected run ---\n{injected}\n--- rerun ---\n{rerun}",
            fault.syscalls, fault.action
        );
        let db = dir.join("t.db");
        assert_intact(&db, &context);
        assert_counts_eq(&sql_totals(&db).unwrap(), &expected, &context);
    }
    println!(
        "{} {}: swept {} values of N from {first} to {} (step {step}); a clean run makes up to {calls} calls per thread",
        fault.syscalls,
        fault.action,
        ns.len(),
        ns.last().copied().unwrap_or(first)
    );
}

#[test]
fn sweep_pwrite_enospc() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep(
        &Fault {
            syscalls: "pwrite64",
            action: "error=ENOSPC",
        },
        1,
        6,
    );
}

#[test]
fn sweep_pwrite_eio() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep(
        &Fault {
            syscalls: "pwrite64",
            action: "error=EIO",
        },
        3,
        6,
    );
}

#[test]
fn sweep_pwrite_kill() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    sweep(
        &Fault {
            syscalls: "pwrite64",
            action: "signal=KILL",
        },
        5,
        6,
    );
}

#[test]
fn sweep_sync_eio() {
    if !have(&[Tool::Mawk, Tool::Strace]) {
        return;
    }
    // SQLite syncs with fdatasync or fsync depending on how it was built; fail either.
    sweep(
        &Fault {
            syscalls: "fsync,fdatasync",
            action: "error=EIO",
        },
        1,
        1,
    );
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
    for n in [30, 80, 140] {
        let dir = wd.path(&format!("n{n}"));
        fs::create_dir_all(&dir).unwrap();
        let args: Vec<OsString> = [
            "--state",
            "s.json",
            "-k",
            "7",
            "--sqlite",
            "t.db",
            "--max-keys",
            "200",
            "--block-size",
            "4096",
            "--flush-timeout",
            "1s",
        ]
        .iter()
        .map(OsString::from)
        .chain([log.clone().into_os_string()])
        .collect();
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64", "-e"])
            .arg(format!("inject=pwrite64:error=ENOSPC:when={n}+"))
            .arg(STATBUF)
            .args(&args)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let failed = run_to_end(format!("statbuf, pwrite64 failing from call {n} on"), cmd, None);
        failed.assert_no_panic();
        let rerun = statbuf().current_dir(&dir).args(&args).run();
        let context = format!("--- failing run ---\n{failed}\n--- rerun ---\n{rerun}");
        let db = dir.join("t.db");
        assert_intact(&db, &context);
        assert_counts_eq(&sql_totals(&db).unwrap(), &expected, &context);
    }
}

// ------------------------------------------------------------------------------------------
// The database renamed or deleted while statbuf runs
// ------------------------------------------------------------------------------------------

/// Starts statbuf on `t.db` with a short interval and flush timeout, flushes a first batch,
/// then lets `act` move the database away and writes a second batch, which cannot go in.
fn database_moved_away(act: impl FnOnce(&Path)) -> (Workdir, Run, Counts, Counts) {
    let wd = Workdir::new();
    let db = wd.path("t.db");
    let fallback = wd.path("fb.csv");
    let (a, a_path) = batch(&wd, "a.log", "a", 2000, 50);
    let (b, b_path) = batch(&wd, "b.log", "b", 1500, 40);
    let mut live = wd
        .statbuf()
        .args(["-k", "2", "--interval", "200ms", "--flush-timeout", "1s"])
        .args([
            os("--fallback"),
            fallback.as_os_str(),
            os("--sqlite"),
            db.as_os_str(),
        ])
        .spawn();
    live.write(&a);
    let first = mawk(FIELD2, &[&a_path]);
    until_totals(&mut live, &db, &first);
    act(&db);
    live.write(&b);
    live.wait_for_stderr("renamed or deleted");
    live.close_stdin();
    let run = live.wait(EXIT_DEADLINE);
    run.assert_code(1);
    let line = lines_with(&run.stderr_str(), "renamed or deleted").join("\n");
    assert!(
        line.contains(db.to_str().unwrap()),
        "the message names the database\n{run}"
    );
    let second = mawk(FIELD2, &[&b_path]);
    assert_counts_eq(&fallback_totals(&fallback, &run), &second, &run);
    assert!(!db.exists(), "statbuf made a new database at the old path\n{run}");
    (wd, run, first, second)
}

#[test]
fn a_renamed_database_is_left_alone_and_the_counts_go_to_the_fallback() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let mut moved = PathBuf::new();
    let (_wd, run, first, _) = database_moved_away(|db| {
        moved = db.with_file_name("moved.db");
        fs::rename(db, &moved).expect("renaming the database");
    });
    // Put back where its journal is, the database holds the first batch and nothing else.
    let db = moved.with_file_name("t.db");
    fs::rename(&moved, &db).expect("putting the database back");
    assert_intact(&db, &run);
    assert_counts_eq(&sql_totals(&db).unwrap(), &first, &run);
}

#[test]
fn a_deleted_database_is_not_written_and_the_counts_go_to_the_fallback() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let mut held: Option<File> = None;
    let (wd, run, first, _) = database_moved_away(|db| {
        // Keep the deleted file's inode readable, to look at what it holds afterwards.
        held = Some(File::open(db).expect("opening the database"));
        fs::remove_file(db).expect("deleting the database");
    });
    let held = held.unwrap();
    let size = held.metadata().unwrap().len();
    let mut bytes = vec![0u8; size as usize];
    held.read_exact_at(&mut bytes, 0)
        .expect("reading the deleted database");
    let recovered = wd.write("recovered.db", &bytes);
    let journal = wd.path("t.db-wal");
    if journal.exists() {
        fs::copy(&journal, wd.path("recovered.db-wal")).unwrap();
    }
    assert_intact(&recovered, &run);
    assert_counts_eq(&sql_totals(&recovered).unwrap(), &first, &run);
}

// ------------------------------------------------------------------------------------------
// Permissions
// ------------------------------------------------------------------------------------------

/// Runs statbuf as an unprivileged user: `nobody` through setpriv when the tests run as root
/// (who ignores permissions), as the current user otherwise.
fn unprivileged(wd: &Workdir, args: &[&OsStr]) -> Run {
    let input = b"a x\nb y\na z\n".to_vec();
    if rustix::process::geteuid().is_root() {
        // A copy of the binary that nobody can run, in a directory nobody can enter.
        let binary = wd.path("statbuf-bin");
        if !binary.exists() {
            fs::copy(STATBUF, &binary).unwrap();
            fs::set_permissions(&binary, fs::Permissions::from_mode(0o755)).unwrap();
            fs::set_permissions(wd.root(), fs::Permissions::from_mode(0o755)).unwrap();
        }
        println!("running statbuf as nobody (setpriv)");
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary)
            .args(args)
            .current_dir(wd.root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        run_to_end(format!("setpriv (nobody) statbuf {args:?}"), cmd, Some(input))
    } else {
        println!("running statbuf as the current, unprivileged user");
        wd.statbuf().args(args).stdin(input).output()
    }
}

/// Checks an error exit: status 1, one line naming `path` and saying why.
fn assert_one_line_naming(run: &Run, path: &Path, why: &[&str]) {
    run.assert_code(1);
    let stderr = run.stderr_str();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr\n{run}");
    assert!(
        lines[0].starts_with("statbuf: "),
        "the line starts with the program's name\n{run}"
    );
    assert!(
        lines[0].contains(path.to_str().unwrap()),
        "the line names {}\n{run}",
        path.display()
    );
    assert!(
        why.iter().any(|w| lines[0].contains(w)),
        "the line says {why:?}\n{run}"
    );
}

fn mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_read_only_database_file_is_refused_naming_it() {
    let wd = Workdir::new();
    let dir = wd.path("data");
    fs::create_dir(&dir).unwrap();
    let db = dir.join("t.db");
    wd.statbuf()
        .args(["-k", "1", "--sqlite"])
        .arg(&db)
        .stdin("a\n")
        .run();
    mode(&dir, 0o777);
    mode(&db, 0o444);
    let run = unprivileged(&wd, &[os("-k"), os("1"), os("--sqlite"), db.as_os_str()]);
    assert_one_line_naming(&run, &db, &["Permission denied"]);
    let csv = dir.join("t.csv");
    fs::write(&csv, "").unwrap();
    mode(&csv, 0o444);
    let run = unprivileged(&wd, &[os("-k"), os("1"), os("--csv"), csv.as_os_str()]);
    assert_one_line_naming(&run, &csv, &["Permission denied"]);
}

#[test]
fn a_read_only_directory_is_refused_naming_the_database() {
    let wd = Workdir::new();
    let dir = wd.path("ro");
    fs::create_dir(&dir).unwrap();
    mode(&dir, 0o555);
    let db = dir.join("new.db");
    let run = unprivileged(&wd, &[os("-k"), os("1"), os("--sqlite"), db.as_os_str()]);
    assert_one_line_naming(&run, &db, &["Permission denied"]);
    let csv = dir.join("new.csv");
    let run = unprivileged(&wd, &[os("-k"), os("1"), os("--csv"), csv.as_os_str()]);
    assert_one_line_naming(&run, &csv, &["Permission denied"]);
}

#[test]
fn a_writable_database_in_a_read_only_directory_is_refused_saying_why() {
    // SQLite must create t.db-wal beside the database: the file is writable, its directory is
    // not. The message must say so, not only that the database is read-only.
    let wd = Workdir::new();
    let dir = wd.path("ro");
    fs::create_dir(&dir).unwrap();
    let db = dir.join("t.db");
    wd.statbuf()
        .args(["-k", "1", "--sqlite"])
        .arg(&db)
        .stdin("a\n")
        .run();
    mode(&db, 0o666);
    mode(&dir, 0o555);
    let run = unprivileged(&wd, &[os("-k"), os("1"), os("--sqlite"), db.as_os_str()]);
    assert_one_line_naming(&run, &db, &["Permission denied", "directory"]);
}

// ------------------------------------------------------------------------------------------
// A reader that goes away
// ------------------------------------------------------------------------------------------

#[test]
fn head_closing_the_pipe_ends_statbuf_quietly_with_status_0() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    // 50,000 distinct paths: far more output than a pipe holds, so statbuf meets the closed pipe.
    let mut log = Vec::new();
    for i in 0..200_000 {
        log.extend_from_slice(
            format!("h - - [t] \"GET /p{} HTTP/1.1\" 200 1\n", (i * 7919) % 50_000).as_bytes(),
        );
    }
    let big = wd.write("big.log", &log);
    let expected = render_plain(&mawk("NF >= 7 { c[$7]++ }", &[&big]));
    let first = &expected[..=expected.iter().position(|&b| b == b'\n').unwrap()];
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"set -o pipefail; "$1" -k 7 big.log 2>statbuf.err | head -1; echo "status ${PIPESTATUS[*]}" >&2"#)
        .arg("bash")
        .arg(STATBUF)
        .current_dir(wd.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = run_to_end("statbuf -k 7 big.log | head -1".into(), cmd, None);
    let statbuf_err = String::from_utf8_lossy(&wd.read("statbuf.err")).into_owned();
    assert_eq!(
        run.stderr_str().trim(),
        "status 0 0",
        "statbuf's and head's status\n{run}\n{statbuf_err}"
    );
    assert_eq!(run.code(), Some(0), "the pipeline fails under pipefail\n{run}");
    assert_output_eq(&run.stdout, first, &run);
    for marker in PANIC_MARKERS {
        assert!(!statbuf_err.contains(marker), "statbuf's stderr:\n{statbuf_err}");
    }
    let noise: Vec<&str> = statbuf_err
        .lines()
        .filter(|l| Summary::parse_line(l).is_err())
        .collect();
    assert!(
        noise.is_empty(),
        "statbuf complained about the closed pipe:\n{statbuf_err}"
    );
}

#[test]
fn an_endless_stream_ends_when_its_reader_goes_away() {
    let wd = Workdir::new();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"yes 'a b c d e f /x' | "$1" -k 7 -i 100ms 2>statbuf.err | head -1; echo "status ${PIPESTATUS[*]}" >&2"#)
        .arg("bash")
        .arg(STATBUF)
        .current_dir(wd.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = run_to_end("yes | statbuf -k 7 -i 100ms | head -1".into(), cmd, None);
    let statbuf_err = String::from_utf8_lossy(&wd.read("statbuf.err")).into_owned();
    let status = run.stderr_str();
    let codes: Vec<&str> = status.trim().trim_start_matches("status ").split(' ').collect();
    // yes dies of SIGPIPE (141) once statbuf is gone; statbuf itself must exit 0.
    assert_eq!(codes.get(1), Some(&"0"), "statbuf's status\n{run}\n{statbuf_err}");
    assert!(
        run.stdout_str().starts_with("# "),
        "the first line is a window line\n{run}"
    );
    for marker in PANIC_MARKERS {
        assert!(!statbuf_err.contains(marker), "statbuf's stderr:\n{statbuf_err}");
    }
}

// ------------------------------------------------------------------------------------------
// Signals during a long run
// ------------------------------------------------------------------------------------------

#[test]
fn sighup_flushes_at_once_and_sigterm_flushes_the_rest() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let db = wd.path("t.db");
    let (a, a_path) = batch(&wd, "a.log", "a", 3000, 60);
    let (b, b_path) = batch(&wd, "b.log", "b", 2000, 40);
    let mut live = wd
        .statbuf()
        .args(["-k", "2", "--interval", "1h", "--sqlite"])
        .arg(&db)
        .spawn();
    live.write(&a);
    live.wait_until_read();
    // A SIGHUP may be taken before the last block read is dispatched: send another now and
    // then until the table holds everything written so far. No tick comes within the hour.
    let first = mawk(FIELD2, &[&a_path]);
    let mut last_hup: Option<Instant> = None;
    live.poll("a SIGHUP flush of everything written so far", |live| {
        if last_hup.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
            live.signal("HUP");
            last_hup = Some(Instant::now());
        }
        match sql_totals(&db) {
            Ok(got) if got == first => Ok(()),
            Ok(got) => Err(format!("total {} of {}", total(&got), total(&first))),
            Err(e) => Err(e),
        }
    });
    live.write(&b);
    live.wait_until_read();
    live.signal("TERM");
    let run = live.wait(EXIT_DEADLINE);
    run.assert_success();
    let expected = mawk(FIELD2, &[&a_path, &b_path]);
    assert_counts_eq(&sql_totals(&db).unwrap(), &expected, &run);
    let summary = run.summary();
    assert_eq!(
        summary.lines, 5000,
        "every line read before SIGTERM is counted\n{run}"
    );
    assert!(summary.flushes >= 2, "a SIGHUP flush and the final one\n{run}");
}

#[test]
fn a_second_sigint_gives_up_on_a_failing_final_flush_into_the_fallback() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let db = wd.path("t.db");
    let fallback = wd.path("fb.csv");
    let (a, a_path) = batch(&wd, "a.log", "a", 4000, 70);
    let mut live = wd
        .statbuf()
        .args(["-k", "2", "--interval", "1h", "--flush-timeout", "60s"])
        .args([
            os("--fallback"),
            fallback.as_os_str(),
            os("--sqlite"),
            db.as_os_str(),
        ])
        .spawn();
    live.poll("statbuf to create the table", |_| sql_totals(&db).map(|_| ()));
    let holder = lock_exclusively(&db);
    live.write(&a);
    live.wait_until_read();
    live.signal("INT");
    live.wait_for_stderr("retrying");
    live.signal("INT");
    let run = live.wait(EXIT_DEADLINE);
    holder.execute_batch("COMMIT").expect("releasing the lock");
    drop(holder);
    run.assert_code(130);
    assert_eq!(
        run.summary().lines,
        4000,
        "every line read before SIGINT is counted\n{run}"
    );
    let in_db = sql_totals(&db).unwrap();
    let in_fallback = fallback_totals(&fallback, &run);
    assert_counts_eq(&sum(&in_db, &in_fallback), &mawk(FIELD2, &[&a_path]), &run);
    assert!(in_db.is_empty(), "nothing went past the lock\n{run}");
}
