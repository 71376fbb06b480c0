//! A scratch directory per test, the committed fixtures, and generated access logs.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use loggen::LogSpec;

use super::run::{Statbuf, statbuf};

/// A committed fixture, by its path under `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    assert!(
        path.is_file(),
        "fixture {} is missing: it must be committed under fixtures/",
        path.display()
    );
    path
}

/// Reads a file or fails the test naming it.
pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ------------------------------------------------------------------------------------------
// Scratch directories
// ------------------------------------------------------------------------------------------

/// A temporary directory owned by one test, removed when the test ends.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Default for Workdir {
    fn default() -> Workdir {
        Workdir::new()
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("statbuf-test-")
            .tempdir()
            .expect("cannot create a temporary directory");
        Workdir { dir }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The absolute path of `name` inside the directory (which need not exist).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, bytes.as_ref()).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Reads `name` back.
    pub fn read(&self, name: &str) -> Vec<u8> {
        read(&self.path(name))
    }

    /// Writes a generated access log to `name` and returns its path.
    pub fn access_log(&self, name: &str, spec: &LogSpec) -> PathBuf {
        let path = self.path(name);
        write_log(&path, spec);
        path
    }

    /// A command running statbuf inside this directory.
    pub fn statbuf(&self) -> Statbuf {
        statbuf().current_dir(self.dir.path())
    }
}

fn write_log(path: &Path, spec: &LogSpec) {
    let file = fs::File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let mut out = io::BufWriter::new(file);
    loggen::write_access_log(spec, &mut out)
        .unwrap_or_else(|e| panic!("loggen failed writing {}: {e}", path.display()));
    out.flush()
        .unwrap_or_else(|e| panic!("cannot flush {}: {e}", path.display()));
}

/// A generated log of `lines` lines with the given seed and default spec otherwise, written
/// once per test process and shared by the tests that ask for the same one.
pub fn generated_log(lines: u64, seed: u64) -> PathBuf {
    static LOGS: Mutex<BTreeMap<(u64, u64), PathBuf>> = Mutex::new(BTreeMap::new());
    let mut logs = LOGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = logs.get(&(lines, seed)) {
        return path.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("statbuf-generated");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let path = dir.join(format!("access-{lines}-seed{seed}.log"));
    let tmp = dir.join(format!("access-{lines}-seed{seed}.log.{}", std::process::id()));
    let spec = LogSpec {
        lines,
        seed,
        ..LogSpec::default()
    };
    write_log(&tmp, &spec);
    fs::rename(&tmp, &path)
        .unwrap_or_else(|e| panic!("cannot rename {} to {}: {e}", tmp.display(), path.display()));
    logs.insert((lines, seed), path.clone());
    path
}
