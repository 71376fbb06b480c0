//! Files and directories statbuf may not write: one line naming the file and saying why.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::*;

/// Runs `statbuf -k 1 SINK PATH` (`--sqlite`, `--csv`) as an unprivileged user: `nobody`
/// through setpriv when the tests run as root (who ignores permissions), as the current user
/// otherwise.
fn unprivileged(wd: &Workdir, sink: &str, path: &Path) -> Run {
    let args = [
        OsStr::new("-k"),
        OsStr::new("1"),
        OsStr::new(sink),
        path.as_os_str(),
    ];
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

/// Creates the database `db` with one run.
fn create_database(wd: &Workdir, db: &Path) {
    wd.statbuf()
        .args(["-k", "1", "--sqlite"])
        .arg(db)
        .stdin("a\n")
        .run();
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
    create_database(&wd, &db);
    mode(&dir, 0o777);
    mode(&db, 0o444);
    let run = unprivileged(&wd, "--sqlite", &db);
    assert_one_line_naming(&run, &db, &["Permission denied"]);
    let csv = dir.join("t.csv");
    fs::write(&csv, "").unwrap();
    mode(&csv, 0o444);
    let run = unprivileged(&wd, "--csv", &csv);
    assert_one_line_naming(&run, &csv, &["Permission denied"]);
}

#[test]
fn a_read_only_directory_is_refused_naming_the_database() {
    let wd = Workdir::new();
    let dir = wd.path("ro");
    fs::create_dir(&dir).unwrap();
    mode(&dir, 0o555);
    let db = dir.join("new.db");
    let run = unprivileged(&wd, "--sqlite", &db);
    assert_one_line_naming(&run, &db, &["Permission denied"]);
    let csv = dir.join("new.csv");
    let run = unprivileged(&wd, "--csv", &csv);
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
    create_database(&wd, &db);
    mode(&db, 0o666);
    mode(&dir, 0o555);
    let run = unprivileged(&wd, "--sqlite", &db);
    assert_one_line_naming(&run, &db, &["Permission denied", "directory"]);
}
