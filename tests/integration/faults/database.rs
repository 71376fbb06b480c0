//! The database locked by another connection, or renamed or deleted while statbuf runs.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::tools::{Tool, have};

use super::*;

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
    let mut live = counting_into(&wd, &db, "1s").spawn();
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
    let mut live = counting_into(&wd, &db, "200ms")
        .args(["--flush-timeout", "1s", "--fallback"])
        .arg(&fallback)
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
