//! `--follow`: files read as they grow, through rotation by rename, `copytruncate`, files that
//! appear late and several files at once. statbuf runs as a real process on real files and is
//! stopped by real signals; every test writes its lines itself and knows exactly what statbuf
//! must have counted. Nothing asserts on how long anything took: conditions are polled against
//! a generous deadline.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::*;

// ------------------------------------------------------------------------------------------
// Files and counts
// ------------------------------------------------------------------------------------------

/// Starts `statbuf -F [--from-start] -k 1 -i 200ms --sqlite t.db FILES` in `wd`: how the tests
/// here follow files, counting the first field into `t.db` five times a second.
fn follow_into_sqlite(wd: &Workdir, from_start: bool, files: &[&str]) -> Live {
    let mut args = vec!["-F"];
    if from_start {
        args.push("--from-start");
    }
    args.extend(["-k", "1", "-i", "200ms", "--sqlite", "t.db"]);
    args.extend(files);
    Live::start(wd, &args)
}

/// The per-key totals of the SQLite sink's table, or why they cannot be read yet.
pub fn sql_counts(db: &Path) -> Result<Counts, String> {
    SqlTable::read(db, "counts")
        .map(|table| table.totals(&["key"]))
        .map_err(|e| format!("reading {}: {e}", db.display()))
}

/// Polls the SQLite total until it reaches at least `want` (without a running process to
/// watch: for writer threads). Fails past [`PATIENCE`] or when `abort` is set.
fn wait_for_sql_total(db: &Path, want: i64, abort: &AtomicBool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = match sql_counts(db) {
            Ok(counts) if total(&counts) >= want => return,
            Ok(counts) => format!("total {}", total(&counts)),
            Err(e) => e,
        };
        assert!(
            !abort.load(Ordering::Relaxed),
            "statbuf is gone; the writer stops"
        );
        assert!(
            Instant::now() < deadline,
            "the SQLite total did not reach {want} within {PATIENCE:?}; last look: {last}"
        );
        thread::sleep(POLL);
    }
}

/// Polls the running statbuf's SQLite total until it reaches at least `want`.
pub fn wait_for_total(live: &mut Live, db: &Path, want: i64) -> Counts {
    live.poll(
        &format!("the SQLite total to reach {want}"),
        |_| match sql_counts(db) {
            Ok(counts) if total(&counts) >= want => Ok(counts),
            Ok(counts) => Err(format!("total {}", total(&counts))),
            Err(e) => Err(e),
        },
    )
}

pub fn inode(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()))
        .ino()
}

/// `path` with `.n` appended: the name logrotate gives the n-th old log.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Shifts `path.1` .. `path.(kept)` one number up, as logrotate does before rotating.
pub fn shift_old(path: &Path, kept: u32) {
    for n in (1..=kept).rev() {
        let from = numbered(path, n);
        if from.exists() {
            fs::rename(&from, numbered(path, n + 1))
                .unwrap_or_else(|e| panic!("cannot rename {}: {e}", from.display()));
        }
    }
}

/// Rotation by rename and create: `path` becomes `path.1` (older ones shifted up) and an empty
/// file takes its name. Returns the inode of the new file, checked to be another one.
pub fn rotate_by_rename(path: &Path, kept: u32) -> u64 {
    let old = inode(path);
    shift_old(path, kept);
    fs::rename(path, numbered(path, 1)).unwrap_or_else(|e| panic!("cannot rename {}: {e}", path.display()));
    File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let new = inode(path);
    assert_ne!(
        old,
        new,
        "the rotation did not give {} another inode",
        path.display()
    );
    assert_eq!(
        inode(&numbered(path, 1)),
        old,
        "the rotated file is not the old inode"
    );
    new
}

/// Rotation by `copytruncate`: `path` is copied to `path.1` (older ones shifted up), then
/// truncated to nothing in place. The inode of `path` stays; the copy is another file.
pub fn rotate_by_copytruncate(path: &Path, kept: u32) {
    let before = inode(path);
    shift_old(path, kept);
    let copy = numbered(path, 1);
    fs::copy(path, &copy).unwrap_or_else(|e| panic!("cannot copy {}: {e}", path.display()));
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(0))
        .unwrap_or_else(|e| panic!("cannot truncate {}: {e}", path.display()));
    assert_eq!(
        inode(path),
        before,
        "copytruncate must keep the inode of {}",
        path.display()
    );
    assert_ne!(inode(&copy), before, "the copy must be another file");
    assert_eq!(
        fs::metadata(path).unwrap().len(),
        0,
        "{} was not truncated",
        path.display()
    );
}

/// Appends `bytes` to `path` (creating it).
pub fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap_or_else(|e| panic!("cannot append to {}: {e}", path.display()));
}

/// `n` lines `{prefix}{i % keys} n{i}`, with their counts by the first field.
pub fn numbered_lines(prefix: &str, keys: u64, n: u64) -> (Vec<u8>, Counts) {
    let mut data = Vec::new();
    let mut counts = Counts::new();
    for i in 0..n {
        let key = format!("{prefix}{}", i % keys);
        data.extend_from_slice(format!("{key} n{i}\n").as_bytes());
        *counts.entry(key.into_bytes()).or_insert(0) += 1;
    }
    (data, counts)
}

/// A stream of numbered lines `k{i % 50} n{i}`, written as fast as a buffered writer goes
/// (its 64 KiB writes cut lines anywhere), counting what it wrote.
struct LineWriter {
    next: u64,
    counts: Counts,
}

impl LineWriter {
    fn new() -> LineWriter {
        LineWriter {
            next: 0,
            counts: Counts::new(),
        }
    }

    fn write(&mut self, out: &mut impl Write, n: u64) {
        for _ in 0..n {
            let key = format!("k{}", self.next % 50);
            writeln!(out, "{key} n{}", self.next).expect("writing the log");
            *self.counts.entry(key.into_bytes()).or_insert(0) += 1;
            self.next += 1;
        }
    }

    /// One more line, without its newline: the last line of a file that is rotated away.
    fn write_unterminated(&mut self, out: &mut impl Write) {
        let key = format!("k{}", self.next % 50);
        write!(out, "{key} n{}", self.next).expect("writing the log");
        *self.counts.entry(key.into_bytes()).or_insert(0) += 1;
        self.next += 1;
    }
}

fn buffered_append(path: &Path) -> BufWriter<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    BufWriter::with_capacity(64 * 1024, file)
}

/// Runs `writer` on its own thread while watching `live`: fails at once if statbuf exits
/// before the writer is done.
fn write_while_watching<T: Send + 'static>(
    live: &mut Live,
    abort: Arc<AtomicBool>,
    writer: impl FnOnce() -> T + Send + 'static,
) -> T {
    let handle = thread::spawn(writer);
    while !handle.is_finished() {
        if live.exited() {
            abort.store(true, Ordering::Relaxed);
            panic!("statbuf exited while the writer was writing\n{}", live.describe());
        }
        thread::sleep(POLL);
    }
    handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Proves that statbuf made `rounds` more passes over its files: each round appends a line
/// `tick{n}` to `sentinel` (a followed file statbuf has open) and waits until it is counted.
/// Files are looked at in turn, so every other file was looked at in between. The lines
/// appended are added to `expected`.
pub fn more_passes(live: &mut Live, db: &Path, sentinel: &Path, rounds: u64, expected: &mut Counts) {
    for _ in 0..rounds {
        let key = format!(
            "tick{}",
            expected.keys().filter(|k| k.starts_with(b"tick")).count()
        );
        append(sentinel, format!("{key} x\n").as_bytes());
        expected.insert(key.clone().into_bytes(), 1);
        live.poll(&format!("{key} to be counted"), |_| {
            let counts = sql_counts(db)?;
            match counts.get(key.as_bytes()) {
                Some(_) => Ok(()),
                None => Err(format!("not yet; total {}", total(&counts))),
            }
        });
    }
}

/// `text` compressed with gzip.
fn gzipped(text: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    out.write_all(text).expect("compressing in memory");
    out.finish().expect("compressing in memory")
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

#[test]
fn rename_rotations_while_a_writer_appends_at_full_speed() {
    const FILES: u32 = 6;
    const PER_FILE: u64 = 40_000;
    // Lines a daemon still writes to its old file after logrotate renamed it, until it is told
    // to reopen its log (before the new file is created). The last of them has no newline: a
    // rotated file is read to its end, its last line counted whole.
    const AFTER_RENAME: u64 = 300;
    let wd = Workdir::new();
    let log = wd.path("app.log");
    let db = wd.path("t.db");
    File::create(&log).unwrap();
    let mut live = follow_into_sqlite(&wd, true, &["app.log"]);
    let abort = Arc::new(AtomicBool::new(false));
    let (lines, inodes) = {
        let (log, db, abort) = (log.clone(), db.clone(), abort.clone());
        write_while_watching(&mut live, abort.clone(), move || {
            let mut lines = LineWriter::new();
            let mut inodes = vec![inode(&log)];
            for file in 0..FILES {
                let start = lines.next;
                let mut out = buffered_append(&log);
                lines.write(&mut out, PER_FILE / 2);
                out.flush().unwrap();
                // statbuf has read from this file before the rest of it is written and it is
                // rotated: each rotation is one that statbuf can see.
                wait_for_sql_total(&db, start as i64 + 1, &abort);
                lines.write(&mut out, PER_FILE / 2 - AFTER_RENAME);
                out.flush().unwrap();
                let last = file + 1 == FILES;
                if !last {
                    shift_old(&log, file);
                    fs::rename(&log, numbered(&log, 1)).unwrap();
                }
                if last {
                    lines.write(&mut out, AFTER_RENAME);
                } else {
                    lines.write(&mut out, AFTER_RENAME - 1);
                    lines.write_unterminated(&mut out);
                }
                out.flush().unwrap();
                drop(out);
                if !last {
                    File::create(&log).unwrap();
                    let new = inode(&log);
                    assert!(!inodes.contains(&new), "the new app.log reuses an inode: {new}");
                    assert_eq!(inode(&numbered(&log, 1)), *inodes.last().unwrap());
                    inodes.push(new);
                }
            }
            (lines, inodes)
        })
    };
    assert_eq!(inodes.len(), FILES as usize);
    let written = lines.next as i64;
    // The test's own bookkeeping: the files hold every line written, once.
    let mut on_disk = line_count(&log);
    for n in 1..FILES {
        on_disk += line_count(&numbered(&log, n));
    }
    assert_eq!(
        on_disk as i64, written,
        "the rotated files do not hold what was written"
    );
    wait_for_total(&mut live, &db, written);
    let run = live.terminate();
    println!(
        "{written} lines over {FILES} files; statbuf said:\n{}",
        run.stderr_str()
    );
    assert_counts_eq(&sql_counts(&db).unwrap(), &lines.counts, &run);
    assert_eq!(run.summary().lines, written as u64, "lines in the summary\n{run}");
}

#[test]
fn copytruncate_rotations_while_a_writer_appends() {
    const CYCLES: u32 = 6;
    const PER_CYCLE: u64 = 40_000;
    let wd = Workdir::new();
    let log = wd.path("app.log");
    let db = wd.path("t.db");
    File::create(&log).unwrap();
    let mut live = follow_into_sqlite(&wd, true, &["app.log"]);
    let abort = Arc::new(AtomicBool::new(false));
    let lines = {
        let (log, db, abort) = (log.clone(), db.clone(), abort.clone());
        write_while_watching(&mut live, abort.clone(), move || {
            let mut lines = LineWriter::new();
            // One descriptor in append mode for the whole run, as a daemon keeps its log open:
            // after the truncation its writes land at the new end of the file.
            let mut out = buffered_append(&log);
            let inode_before = inode(&log);
            for cycle in 0..CYCLES {
                let start = lines.next;
                lines.write(&mut out, PER_CYCLE / 2);
                out.flush().unwrap();
                wait_for_sql_total(&db, start as i64 + 1, &abort);
                lines.write(&mut out, PER_CYCLE / 2);
                out.flush().unwrap();
                if cycle + 1 == CYCLES {
                    break;
                }
                // The writer pauses across the copy and the truncation: lines written between
                // the two are lost to every reader (they are in neither the copy nor the file),
                // so a test that wrote some could not know what statbuf should count. It resumes
                // once statbuf has counted every line written before the truncation (its rest
                // is in the copy): a reader still inside the old content when new content grows
                // past its offset cannot tell the two apart.
                rotate_by_copytruncate(&log, cycle);
                wait_for_sql_total(&db, lines.next as i64, &abort);
            }
            assert_eq!(inode(&log), inode_before, "copytruncate replaced the file");
            lines
        })
    };
    let written = lines.next as i64;
    let mut on_disk = line_count(&log);
    for n in 1..CYCLES {
        on_disk += line_count(&numbered(&log, n));
    }
    assert_eq!(
        on_disk as i64, written,
        "the file and its copies do not hold what was written"
    );
    wait_for_total(&mut live, &db, written);
    let run = live.terminate();
    println!(
        "{written} lines, {} copytruncates; statbuf said:\n{}",
        CYCLES - 1,
        run.stderr_str()
    );
    assert_counts_eq(&sql_counts(&db).unwrap(), &lines.counts, &run);
    assert_eq!(run.summary().lines, written as u64, "lines in the summary\n{run}");
}

#[test]
fn a_file_that_does_not_exist_yet_is_read_once_it_appears() {
    let wd = Workdir::new();
    let log = wd.path("late.log");
    let db = wd.path("t.db");
    let mut live = follow_into_sqlite(&wd, false, &["late.log"]);
    live.wait_for_stderr("late.log: does not exist yet; waiting for it");
    assert!(!log.exists());
    let (first, mut expected) = numbered_lines("late", 7, 3000);
    append(&log, &first);
    wait_for_total(&mut live, &db, 3000);
    let (second, more) = numbered_lines("later", 3, 2000);
    append(&log, &second);
    add_counts(&mut expected, &more);
    wait_for_total(&mut live, &db, 5000);
    let run = live.terminate();
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
    let notices = run
        .stderr_str()
        .matches("does not exist yet; waiting for it")
        .count();
    assert_eq!(notices, 1, "the waiting notice must be given once\n{run}");
}

#[test]
fn several_files_at_once() {
    let wd = Workdir::new();
    let (a, b) = (wd.path("a.log"), wd.path("b.log"));
    let db = wd.path("t.db");
    let (a_old, a_old_counts) = numbered_lines("olda", 3, 1000);
    let (b_old, b_old_counts) = numbered_lines("oldb", 4, 1500);
    append(&a, &a_old);
    append(&b, &b_old);
    let mut live = follow_into_sqlite(&wd, true, &["a.log", "b.log"]);
    wait_for_total(&mut live, &db, 2500);
    let writers: Vec<_> = [(a.clone(), "a"), (b.clone(), "b")]
        .into_iter()
        .map(|(path, prefix)| {
            thread::spawn(move || {
                let mut counts = Counts::new();
                for round in 0..20u64 {
                    let (data, c) = numbered_lines(&format!("{prefix}{round}-"), 5, 1000);
                    append(&path, &data);
                    add_counts(&mut counts, &c);
                }
                counts
            })
        })
        .collect();
    let mut expected = a_old_counts;
    add_counts(&mut expected, &b_old_counts);
    for writer in writers {
        add_counts(&mut expected, &writer.join().unwrap());
    }
    let want = total(&expected);
    assert_eq!(want, 2500 + 40_000);
    wait_for_total(&mut live, &db, want);
    let run = live.terminate();
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
}

#[test]
fn existing_content_is_skipped_by_default_and_counted_with_from_start() {
    let (old, old_counts) = numbered_lines("old", 5, 1000);
    let (new, new_counts) = numbered_lines("new", 4, 200);
    let mut existing = old.clone();
    existing.extend_from_slice(b"par");

    // Default: start at the end of the last complete line. statbuf opens the files in order,
    // so the notice about the missing second file says the first one has its start position.
    let wd = Workdir::new();
    let log = wd.write("app.log", &existing);
    let db = wd.path("t.db");
    let mut live = follow_into_sqlite(&wd, false, &["app.log", "sentinel.log"]);
    live.wait_for_stderr("sentinel.log: does not exist yet");
    let mut rest = b"tial n-1\n".to_vec();
    rest.extend_from_slice(&new);
    append(&log, &rest);
    let mut expected = new_counts.clone();
    expected.insert(b"partial".to_vec(), 1);
    wait_for_total(&mut live, &db, 201);
    let run = live.terminate();
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);

    // --from-start: the existing complete lines count; the partial one once it is complete.
    let wd = Workdir::new();
    let log = wd.write("app.log", &existing);
    let db = wd.path("t.db");
    let mut live = follow_into_sqlite(&wd, true, &["app.log"]);
    let counted = wait_for_total(&mut live, &db, 1000);
    assert_counts_eq(
        &counted,
        &old_counts,
        &"a partial last line must wait for its newline when following",
    );
    append(&log, &rest);
    let mut expected = old_counts;
    add_counts(&mut expected, &new_counts);
    expected.insert(b"partial".to_vec(), 1);
    wait_for_total(&mut live, &db, 1201);
    let run = live.terminate();
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
}

#[test]
fn two_rotations_between_two_looks() {
    rotated_twice_between_two_looks(false);
}

/// logrotate's `compress` without `delaycompress`: the intermediate file is only in a `.gz`.
#[test]
fn two_rotations_between_two_looks_with_the_intermediate_file_compressed() {
    rotated_twice_between_two_looks(true);
}

fn rotated_twice_between_two_looks(compress_middle: bool) {
    let wd = Workdir::new();
    let log = wd.path("app.log");
    let db = wd.path("t.db");
    let (a, a_counts) = numbered_lines("a", 3, 1000);
    let (c, c_counts) = numbered_lines("c", 3, 700);
    let (d, d_counts) = numbered_lines("d", 3, 500);
    let (e, e_counts) = numbered_lines("e", 3, 300);
    append(&log, &a);
    let mut live = follow_into_sqlite(&wd, true, &["app.log"]);
    wait_for_total(&mut live, &db, 1000);

    // statbuf is stopped while the file it reads is written to and rotated twice: it finds
    // its old file at app.log.2, an intermediate one at app.log.1 (or app.log.1.gz), and a
    // new app.log.
    live.signal("STOP");
    let first = inode(&log);
    append(&log, &c);
    let middle = rotate_by_rename(&log, 0);
    append(&log, &d);
    let last = rotate_by_rename(&log, 1);
    append(&log, &e);
    assert_eq!(inode(&numbered(&log, 2)), first);
    assert_eq!(inode(&numbered(&log, 1)), middle);
    assert_ne!(last, first);
    if compress_middle {
        // gzip itself, as logrotate runs it: the .gz keeps the file's mtime, the file goes.
        let gzip = Command::new("gzip")
            .arg(numbered(&log, 1))
            .status()
            .expect("running gzip");
        assert!(gzip.success(), "gzip failed: {gzip}");
        assert!(!numbered(&log, 1).exists());
    }
    live.signal("CONT");

    live.poll(
        "every line, the intermediate file's included, to be counted",
        |_| {
            let n = total(&sql_counts(&db)?);
            if n >= 2500 {
                Ok(())
            } else {
                Err(format!("{n} of 2500 lines"))
            }
        },
    );
    let run = live.terminate();
    let mut everything = a_counts;
    for part in [&c_counts, &d_counts, &e_counts] {
        add_counts(&mut everything, part);
    }
    assert_counts_eq(
        &sql_counts(&db).unwrap(),
        &everything,
        &format_args!("two rotations between two looks (middle compressed: {compress_middle})\n{run}"),
    );
    assert!(!run.stderr_str().contains("not counted"), "{run}");
}

/// User plus system CPU time of a process so far, from /proc/PID/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("reading /proc/PID/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("a /proc stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(100);
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

#[test]
fn an_idle_follower_uses_little_cpu() {
    let wd = Workdir::new();
    let log = wd.write("idle.log", b"before n0\n");
    let db = wd.path("t.db");
    let mut live = follow_into_sqlite(&wd, false, &["idle.log", "sentinel.log"]);
    live.wait_for_stderr("sentinel.log: does not exist yet");
    let before = cpu_time(live.pid());
    let idle = Duration::from_secs(5);
    thread::sleep(idle);
    let used = cpu_time(live.pid()) - before;
    println!("CPU time of an idle statbuf -F over {idle:?}: {used:?}");
    assert!(
        used < Duration::from_secs(1),
        "an idle statbuf -F used {used:?} of CPU in {idle:?}: it is busy-waiting\n{}",
        live.describe()
    );
    let appended = Instant::now();
    append(&log, b"after n1\n");
    wait_for_total(&mut live, &db, 1);
    println!(
        "an appended line was in the database after {:?}",
        appended.elapsed()
    );
    let run = live.terminate();
    let expected: Counts = [(b"after".to_vec(), 1)].into_iter().collect();
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
}

#[test]
fn a_file_truncated_and_written_again_to_the_length_read_is_read_again() {
    // copytruncate, then as many bytes written again as statbuf had read, between two of its
    // looks: the file is as long as statbuf read it, only its times and its bytes changed.
    // Lines of one length written fast do this. The prefixes have one length, so every
    // content has the length of the first.
    const PREFIXES: [&str; 4] = ["a", "b", "c", "d"];
    let wd = Workdir::new();
    let log = wd.path("app.log");
    let db = wd.path("t.db");
    let (first, mut expected) = numbered_lines(PREFIXES[0], 5, 500);
    append(&log, &first);
    let mut live = follow_into_sqlite(&wd, true, &["app.log"]);
    wait_for_total(&mut live, &db, 500);
    for (cycle, prefix) in PREFIXES.iter().enumerate().skip(1) {
        // Stopped, statbuf cannot look between the truncation and the writes that give the
        // file its length back, however slow this machine.
        live.signal("STOP");
        rotate_by_copytruncate(&log, cycle as u32 - 1);
        let (again, counts) = numbered_lines(prefix, 5, 500);
        append(&log, &again);
        assert_eq!(
            fs::metadata(&log).unwrap().len(),
            first.len() as u64,
            "the new content must be exactly as long as what statbuf read"
        );
        live.signal("CONT");
        add_counts(&mut expected, &counts);
        wait_for_total(&mut live, &db, total(&expected));
    }
    let run = live.terminate();
    assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
    let notices = run.stderr_str().matches("app.log: truncated").count();
    assert_eq!(notices, PREFIXES.len() - 1, "one notice per truncation\n{run}");
}

#[test]
fn compressed_files_among_followed_ones_are_read_once_and_quietly() {
    // `statbuf -F access.log*` over a rotation set takes in the compressed old logs, which
    // never grow. By default what they hold was there before statbuf started and is not
    // counted; with --from-start it is counted once. Either way they are not found
    // "truncated" on every look (their size is not the length of their text).
    let (old, old_counts) = numbered_lines("z", 3, 5000);
    for from_start in [false, true] {
        let wd = Workdir::new();
        wd.write("old.log.gz", gzipped(&old));
        let log = wd.write("app.log", b"before x\n");
        let db = wd.path("t.db");
        // Files are opened in order: once the missing last one is waited for, the others
        // have their start positions.
        let mut live = follow_into_sqlite(&wd, from_start, &["app.log", "old.log.gz", "sentinel.log"]);
        let waiting = "sentinel.log: does not exist yet; waiting for it";
        live.wait_for_stderr(waiting);
        let mut expected = Counts::new();
        if from_start {
            expected = old_counts.clone();
            expected.insert(b"before".to_vec(), 1);
            wait_for_total(&mut live, &db, total(&expected));
        }
        more_passes(&mut live, &db, &log, 5, &mut expected);
        let run = live.terminate();
        assert_counts_eq(&sql_counts(&db).unwrap(), &expected, &run);
        let said = run.stderr_lines_except_summary();
        assert!(
            said == [format!("statbuf: {waiting}")],
            "nothing to say about a compressed file that does not change (--from-start: \
             {from_start}); statbuf said {} lines\n{run}",
            said.len()
        );
    }
}
