//! A full disk: a small tmpfs filled up, or ENOSPC injected with strace where none can be
//! mounted.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::{Tool, have};

use super::*;

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

impl Full {
    /// Fills the tmpfs up; an injected full disk is full from call 40 on by itself.
    fn fill(&self) {
        if let Full::Tmpfs { ballast, .. } = self {
            fill(ballast);
        }
    }

    /// Makes room on the tmpfs again.
    fn free(&self) {
        if let Full::Tmpfs { ballast, .. } = self {
            fs::remove_file(ballast).expect("removing the ballast");
        }
    }
}

/// Starts statbuf with the database on a disk about to be full. `lasting` tells whether the
/// disk stays full for good (the strace variant must decide up front).
fn start_on_a_small_disk(wd: &Workdir, extra: &[&str], lasting: bool) -> (Live, Full, PathBuf, PathBuf) {
    let mount_point = wd.path("disk");
    let statbuf = wd.statbuf().args(["-k", "2", "--interval", "200ms"]).args(extra);
    match Tmpfs::mount(&mount_point, "16m") {
        Ok(mount) => {
            println!("full disk: a 16 MiB tmpfs filled with a ballast file");
            let db = mount_point.join("t.db");
            let csv = mount_point.join("t.csv");
            let mut statbuf = statbuf.arg("--sqlite").arg(&db);
            if !lasting {
                statbuf = statbuf.arg("--csv").arg(&csv);
            }
            let live = statbuf.spawn();
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
            let inject = format!("error=ENOSPC:when={when}");
            let live = strace(statbuf, "pwrite64", Some(&inject), None)
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
    full.fill();
    live.write(&b);
    live.wait_for_stderr("full");
    full.free();
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
    full.fill();
    live.write(&b);
    live.wait_for_stderr("full");
    live.close_stdin();
    let run = live.wait(EXIT_DEADLINE);
    run.assert_code(1);
    // Room to read the database back.
    full.free();
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
