//! Faults from outside statbuf, one kind a file: the database locked by another connection,
//! renamed or deleted under it (`database`); a full disk (`disk`); I/O errors and crashes
//! injected into the writes of a flush (`injected`); permissions (`permissions`); a reader
//! that goes away (`readers`); signals while a flush keeps failing (`signals`).
//!
//! Every test checks that nothing is lost or counted twice: what the sinks hold, plus what
//! went to the fallback, equals mawk's count of the input, key by key. Waits poll against
//! generous deadlines; nothing asserts on how long anything took.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::tools::Tool;
use crate::util::*;

mod database;
mod disk;
mod injected;
mod permissions;
mod readers;
mod signals;

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

/// statbuf counting field 2 of what the test writes to it (see `batch`) into the database `db`,
/// flushing every `interval`.
fn counting_into(wd: &Workdir, db: &Path, interval: &str) -> Statbuf {
    wd.statbuf()
        .args(["-k", "2", "--interval", interval, "--sqlite"])
        .arg(db)
}

/// Takes the database's write lock from a second connection, as `BEGIN EXCLUSIVE` does.
fn lock_exclusively(db: &Path) -> Connection {
    let conn = Connection::open(db).unwrap_or_else(|e| panic!("cannot open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE")
        .unwrap_or_else(|e| panic!("BEGIN EXCLUSIVE on {}: {e}", db.display()));
    conn
}

/// `statbuf` under strace, which follows every thread (`-f`) and traces the calls of
/// `syscalls` (`pwrite64`, `fsync,fdatasync`) into `trace`, or nowhere; with `inject`
/// (`error=ENOSPC:when=40+`, `signal=KILL:when=3`), strace makes those calls fail so.
fn strace(statbuf: Statbuf, syscalls: &str, inject: Option<&str>, trace: Option<&Path>) -> Statbuf {
    let trace = trace.map_or(OsString::from("/dev/null"), OsString::from);
    let mut args: Vec<OsString> = vec!["-f".into(), "-qq".into(), "-o".into(), trace];
    args.extend(["-e".into(), format!("trace={syscalls}").into()]);
    if let Some(inject) = inject {
        args.extend(["-e".into(), format!("inject={syscalls}:{inject}").into()]);
    }
    statbuf.under(Tool::Strace.program(), args)
}
