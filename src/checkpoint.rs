//! Checkpoints: how far each input file has been counted and flushed, so that the next run
//! resumes there, and where the checkpoint is kept (a state file, or the SQLite database).
//!
//! A file is known by its device and inode, by a digest of its first bytes (its fingerprint)
//! and by a digest of the bytes just before the offset. The inode says which file the path named;
//! the digests catch an inode reused for another file, a file truncated and written again past
//! the offset, and a rotated copy of the file under another name.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// Bytes at the start of a file that make its fingerprint.
pub const FINGERPRINT_BYTES: usize = 256;
/// Bytes before the offset whose digest must still match for a file to be resumed.
pub const TAIL_BYTES: usize = 64;

/// The version written in state files; a file of another version is refused, not guessed at.
const STATE_VERSION: u32 = 1;

/// FNV-1a, 64 bits: stable across runs, machines and versions, as a digest kept in a file
/// must be. It guards against accidents, not adversaries.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A digest of a run of bytes, with its length.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub len: u64,
    pub fnv1a64: String,
}

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            len: bytes.len() as u64,
            fnv1a64: format!("{:016x}", fnv1a64(bytes)),
        }
    }
}

/// How far one input file has been counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    /// The input as named on the command line, made absolute.
    pub path: PathBuf,
    pub device: u64,
    pub inode: u64,
    /// Digest of the first bytes of the file (at most `FINGERPRINT_BYTES`, never past `offset`).
    pub fingerprint: Digest,
    /// Every line before this byte has been counted and flushed; it is never inside a line.
    pub offset: u64,
    /// Digest of the bytes just before `offset` (at most `TAIL_BYTES`).
    pub tail: Digest,
}

impl FilePosition {
    /// Whether its digests have lengths statbuf writes: at most `FINGERPRINT_BYTES` and
    /// `TAIL_BYTES`, and neither past the offset. A position edited by hand may not, and would
    /// have statbuf read before the start of a file or allocate for absurd lengths.
    fn is_sound(&self) -> bool {
        self.fingerprint.len <= self.offset.min(FINGERPRINT_BYTES as u64)
            && self.tail.len <= self.offset.min(TAIL_BYTES as u64)
    }
}

/// Positions of every input file of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub files: Vec<FilePosition>,
}

impl Checkpoint {
    pub fn position(&self, path: &Path) -> Option<&FilePosition> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Sets the position of one path, keeping the others.
    pub fn set(&mut self, position: FilePosition) {
        match self.files.iter_mut().find(|f| f.path == position.path) {
            Some(old) => *old = position,
            None => self.files.push(position),
        }
    }
}

/// Where a state file says the offsets live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Store {
    /// In the state file itself.
    File { files: Vec<FilePosition> },
    /// In a SQLite database, committed with the counts.
    Sqlite { database: PathBuf, table: String },
    /// In a PostgreSQL database, committed with the counts, under this machine's host id.
    /// `server` is `user@host:port/dbname`, never a password.
    Postgres {
        server: String,
        table: String,
        host_id: String,
    },
}

impl Store {
    /// The flags that name this store, for messages.
    fn flags(&self) -> String {
        match self {
            Store::File { .. } => "no --sqlite or --postgres".to_string(),
            Store::Sqlite { database, table } => format!("--sqlite {} --table {table}", database.display()),
            Store::Postgres {
                server,
                table,
                host_id,
            } => format!("--postgres {server} --table {table} --host-id {host_id}"),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    statbuf_state: u32,
    checkpoint: Store,
}

/// A state file, locked for the length of the run.
pub struct State {
    path: PathBuf,
    /// Held while the run lasts; the lock goes with the descriptor.
    _lock: File,
}

impl State {
    /// Locks `path` (through `path.lock`, which is never replaced) against other runs.
    pub fn lock(path: &Path) -> anyhow::Result<State> {
        let lock_path = sidecar(path, ".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("{}", lock_path.display()))?;
        match rustix::fs::flock(lock.as_fd(), rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => bail!(
                "{}: another statbuf run is using this state file (locked through {})",
                path.display(),
                lock_path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("locking {}", lock_path.display())),
        }
        Ok(State {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the state file; `None` when it does not exist yet (a first run).
    pub fn load(&self) -> anyhow::Result<Option<Store>> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("{}", self.path.display())),
        };
        let state: StateFile = serde_json::from_slice(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a statbuf state file ({e}); move it away to start counting from scratch",
                self.path.display()
            )
        })?;
        if state.statbuf_state != STATE_VERSION {
            bail!(
                "{}: state file version {} is not the version {STATE_VERSION} this statbuf reads",
                self.path.display(),
                state.statbuf_state
            );
        }
        Ok(Some(state.checkpoint))
    }

    /// Replaces the state file atomically: a temporary file beside it, synced, renamed over it,
    /// and the directory synced, so a crash leaves the old state or the new one, whole.
    pub fn save(&self, store: &Store) -> anyhow::Result<()> {
        let state = StateFile {
            statbuf_state: STATE_VERSION,
            checkpoint: store.clone(),
        };
        let mut text = serde_json::to_vec_pretty(&state)?;
        text.push(b'\n');
        let temp = sidecar(&self.path, ".tmp");
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temp, &self.path)?;
            let dir = self
                .path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            File::open(dir)?.sync_all()
        };
        write().with_context(|| format!("writing the state file {}", self.path.display()))
    }
}

/// What a run with `--state` starts from.
pub struct Resumption {
    /// Where to resume each file.
    pub checkpoint: Checkpoint,
    /// The state file to keep offsets in, when no sink commits them itself.
    pub state_for_offsets: Option<State>,
    /// The locked state file, when a sink keeps the offsets: held for the run.
    pub lock_only: Option<State>,
}

/// Locks and reads the state file, and finds the checkpoint: in the state file itself, or in
/// the sink that commits offsets with its counts (`store`, from SQLite), which the state file
/// then names, so that a later run with another database is refused instead of counting again.
pub fn resume(
    path: &Path,
    store: Option<Store>,
    load_from_store: impl FnOnce() -> anyhow::Result<Checkpoint>,
) -> anyhow::Result<Resumption> {
    let state = State::lock(path)?;
    let saved = state.load()?;
    let kept_in = match &store {
        Some(store) => store.flags(),
        None => path.display().to_string(),
    };
    let resumption: anyhow::Result<Resumption> = match (store, saved) {
        (None, None) => Ok(Resumption {
            checkpoint: Checkpoint::default(),
            state_for_offsets: Some(state),
            lock_only: None,
        }),
        (None, Some(Store::File { files })) => Ok(Resumption {
            checkpoint: Checkpoint { files },
            state_for_offsets: Some(state),
            lock_only: None,
        }),
        (Some(store), None) => {
            state.save(&store)?;
            Ok(Resumption {
                checkpoint: load_from_store()?,
                state_for_offsets: None,
                lock_only: Some(state),
            })
        }
        (Some(store), Some(saved)) if store == saved => Ok(Resumption {
            checkpoint: load_from_store()?,
            state_for_offsets: None,
            lock_only: Some(state),
        }),
        (store, Some(saved)) => bail!(
            "{}: its offsets are kept with {}, but this run has {}; run with the same flags, \
             or use another state file",
            path.display(),
            saved.flags(),
            store.map_or_else(|| "no --sqlite or --postgres".to_string(), |s| s.flags())
        ),
    };
    let resumption = resumption?;
    if let Some(bad) = resumption.checkpoint.files.iter().find(|p| !p.is_sound()) {
        bail!(
            "{kept_in}: the offset kept for {} is not one statbuf writes (offset {}, digests of \
             {} and {} bytes); remove it to count that file from its start",
            bad.path.display(),
            bad.offset,
            bad.fingerprint.len,
            bad.tail.len
        );
    }
    Ok(resumption)
}

/// `path` with `suffix` added to its file name.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(path: &str, offset: u64) -> FilePosition {
        FilePosition {
            path: PathBuf::from(path),
            device: 1,
            inode: 2,
            fingerprint: Digest::of(b"first"),
            offset,
            tail: Digest::of(b"tail"),
        }
    }

    #[test]
    fn fnv_is_the_published_function() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn state_round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let state = State::lock(&path).unwrap();
        assert_eq!(state.load().unwrap(), None);
        let store = Store::File {
            files: vec![position("/var/log/a.log", 10)],
        };
        state.save(&store).unwrap();
        assert_eq!(state.load().unwrap(), Some(store));
        std::fs::write(&path, b"{\"something\": 1}").unwrap();
        let error = state.load().unwrap_err().to_string();
        assert!(
            error.contains("s.json") && error.contains("not a statbuf state file"),
            "{error}"
        );
        std::fs::write(
            &path,
            b"{\"statbuf_state\": 9, \"checkpoint\": {\"kind\": \"file\", \"files\": []}}",
        )
        .unwrap();
        assert!(state.load().unwrap_err().to_string().contains("version 9"));
    }

    #[test]
    fn a_second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let _first = State::lock(&path).unwrap();
        let error = State::lock(&path).err().unwrap().to_string();
        assert!(error.contains("another statbuf run"), "{error}");
    }

    #[test]
    fn set_replaces_one_path() {
        let mut checkpoint = Checkpoint::default();
        checkpoint.set(position("/a", 1));
        checkpoint.set(position("/b", 2));
        checkpoint.set(position("/a", 3));
        assert_eq!(checkpoint.position(Path::new("/a")).unwrap().offset, 3);
        assert_eq!(checkpoint.files.len(), 2);
    }
}
