//! Where to resume a file from its checkpoint, when it may have been rotated since.
//!
//! The rules, in order:
//! 1. The path still names the checkpointed file (same device and inode), it is at least as long
//!    as the offset, and its fingerprint and the bytes before the offset are unchanged: resume at
//!    the offset.
//! 2. Otherwise the old content is looked for beside the path (same directory): first a file with
//!    the checkpointed device and inode (rotated by rename, e.g. `access.log.1`), then a file
//!    whose name starts with the path's and whose fingerprint and tail match (a copy made by
//!    `copytruncate`). If found, its rest is read from the offset, then the path from its start.
//! 3. If not found, the path is read from its start, and a notice says that the lines of the
//!    old file after the offset could not be read.
//!
//! Content is compared as it reads: a compressed file (`access.log.1.gz`) by the text it
//! decodes to, so the rest of a file that was rotated and compressed since is found too, and
//! read from its offset in decoded bytes. With `--no-decompress`, compressed files are passed
//! over (with a notice when they were rotated in between).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::checkpoint::{Digest, FilePosition};
use crate::input::source::{Source, content_at};

/// One file to read, from a byte on.
#[derive(Debug, PartialEq, Eq)]
pub struct Segment {
    pub file: PathBuf,
    pub start: u64,
}

/// What became of a checkpointed file.
#[derive(Debug, PartialEq, Eq)]
pub enum Fate {
    /// The path still holds it: resume at the offset.
    Continues,
    /// Its rest is in another file beside the path (rotated, or copied by `copytruncate`).
    Moved(PathBuf),
    /// It was rotated or truncated and its rest is nowhere to be found.
    Lost,
}

/// The segments that continue `position` at `path`, in order, what became of the file, and
/// notices about files rotated in between that cannot be read. Files whose identity (device,
/// inode) is in `named` are passed over: they are read on their own.
pub fn plan(
    path: &Path,
    position: &FilePosition,
    decompress: bool,
    named: &[(u64, u64)],
) -> (Vec<Segment>, Fate, Vec<String>) {
    let current = std::fs::metadata(path).ok();
    if let Some(meta) = &current
        && same_file(meta, position)
        && continues(path, meta, position, decompress)
    {
        return (vec![segment(path, position.offset)], Fate::Continues, Vec::new());
    }
    let mut segments = Vec::new();
    let mut notices = Vec::new();
    let fate = match find_beside(path, position, decompress, named) {
        Some(old) => {
            let fate = Fate::Moved(old.file.clone());
            if let Ok(meta) = std::fs::metadata(&old.file) {
                let mut exclude = vec![(meta.dev(), meta.ino())];
                exclude.extend(current.as_ref().map(|m| (m.dev(), m.ino())));
                exclude.extend_from_slice(named);
                let (between, unreadable) =
                    rotated_between(path, (meta.mtime(), meta.mtime_nsec()), &exclude, decompress);
                notices.extend(unreadable);
                segments.push(old);
                segments.extend(between.into_iter().map(|file| segment(&file, 0)));
            } else {
                segments.push(old);
            }
            fate
        }
        None => Fate::Lost,
    };
    segments.push(segment(path, 0));
    (segments, fate, notices)
}

/// What to tell the user about a file found changed at the start of a run.
pub fn notice(path: &Path, position: &FilePosition, fate: &Fate) -> Option<String> {
    match fate {
        Fate::Continues => None,
        Fate::Moved(old) => Some(format!(
            "{}: rotated since the last run; reading the rest of {} from byte {} first",
            path.display(),
            old.display(),
            position.offset
        )),
        Fate::Lost => Some(format!(
            "{}: the file counted up to byte {} (inode {}) was rotated or truncated and its rest \
             was not found beside it; lines written to it after that byte were not counted",
            path.display(),
            position.offset,
            position.inode
        )),
    }
}

/// Files rotated away between the old file and the one the path names now: two rotations
/// between two looks (or runs) leave one behind. They are the files beside `path` whose names
/// start with its name, written to after the old file was (`old_mtime`), and that are neither
/// the old file nor the current one (`exclude`). Oldest first; without `decompress`,
/// compressed ones cannot be read and come back as notices instead.
pub fn rotated_between(
    path: &Path,
    old_mtime: (i64, i64),
    exclude: &[(u64, u64)],
    decompress: bool,
) -> (Vec<PathBuf>, Vec<String>) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return (Vec::new(), Vec::new());
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (Vec::new(), Vec::new());
    };
    let mut found = Vec::new();
    let mut notices = Vec::new();
    for entry in entries.flatten() {
        let candidate = entry.path();
        if candidate.as_path() == path || !entry.file_name().to_string_lossy().starts_with(&name) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        let mtime = (meta.mtime(), meta.mtime_nsec());
        if !meta.is_file() || exclude.contains(&(meta.dev(), meta.ino())) || mtime <= old_mtime {
            continue;
        }
        if !decompress && is_compressed(&candidate) {
            notices.push(format!(
                "{}: rotated away and compressed before it could be read; its lines were not counted",
                candidate.display()
            ));
            continue;
        }
        found.push((mtime, candidate));
    }
    found.sort();
    (found.into_iter().map(|(_, p)| p).collect(), notices)
}

/// Whether a file starts like gzip, bzip2, xz or zstd data.
fn is_compressed(path: &Path) -> bool {
    Source::open(path, true).is_ok_and(|source| source.codec().is_some())
}

fn segment(file: &Path, start: u64) -> Segment {
    Segment {
        file: file.to_path_buf(),
        start,
    }
}

fn same_file(meta: &Metadata, position: &FilePosition) -> bool {
    meta.dev() == position.device && meta.ino() == position.inode
}

/// Whether `file` holds the checkpointed content up to the offset: its first bytes, and the
/// bytes before the offset, as checkpointed (decoded, for a compressed file).
fn continues(file: &Path, meta: &Metadata, position: &FilePosition, decompress: bool) -> bool {
    if !meta.is_file() {
        return false;
    }
    let compressed = decompress && is_compressed(file);
    // A plain file's length says at once whether it reaches the offset; a compressed one's
    // text is as long as the bytes before the offset that decoding it gives back.
    if !compressed && meta.len() < position.offset {
        return false;
    }
    let digest_at = |offset: u64, len: u64| {
        content_at(file, decompress, offset, len as usize)
            .ok()
            .filter(|b| b.len() as u64 == len)
            .map(|b| Digest::of(&b))
    };
    // The fingerprint first: it is cheap even for a compressed file, and it rules out most.
    digest_at(0, position.fingerprint.len) == Some(position.fingerprint.clone())
        && digest_at(position.offset - position.tail.len, position.tail.len) == Some(position.tail.clone())
}

/// The old content of `path` under another name in its directory, if it is there.
fn find_beside(
    path: &Path,
    position: &FilePosition,
    decompress: bool,
    named: &[(u64, u64)],
) -> Option<Segment> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name()?.to_string_lossy().into_owned();
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let candidate = entry.path();
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if !meta.is_file() || named.contains(&(meta.dev(), meta.ino())) {
            continue;
        }
        if same_file(&meta, position) {
            if continues(&candidate, &meta, position, decompress) {
                return Some(segment(&candidate, position.offset));
            }
        } else if candidate.as_path() != path && entry.file_name().to_string_lossy().starts_with(&name) {
            copies.push((candidate, meta));
        }
    }
    copies.sort_by(|a, b| a.0.cmp(&b.0));
    copies
        .into_iter()
        .find(|(candidate, meta)| continues(candidate, meta, position, decompress))
        .map(|(candidate, _)| segment(&candidate, position.offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `path` stands after its first `offset` bytes, under its own name.
    fn position_of(path: &Path, offset: u64) -> FilePosition {
        crate::input::test_positions::position_of(path, path, offset)
    }

    #[test]
    fn resumes_a_grown_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, b"a\nb\n").unwrap();
        let position = position_of(&log, 4);
        std::fs::write(&log, b"a\nb\nc\n").unwrap();
        assert_eq!(
            plan(&log, &position, true, &[]),
            (vec![segment(&log, 4)], Fate::Continues, vec![])
        );
    }

    #[test]
    fn finds_a_renamed_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, b"a\nb\n").unwrap();
        let position = position_of(&log, 2);
        let rotated = dir.path().join("access.log.1");
        std::fs::rename(&log, &rotated).unwrap();
        std::fs::write(&log, b"new\n").unwrap();
        let (segments, fate, _) = plan(&log, &position, true, &[]);
        assert_eq!(segments, [segment(&rotated, 2), segment(&log, 0)]);
        assert_eq!(fate, Fate::Moved(rotated));
    }

    #[test]
    fn finds_a_copy_after_copytruncate() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, b"one\ntwo\n").unwrap();
        let position = position_of(&log, 4);
        let copy = dir.path().join("access.log.1");
        std::fs::copy(&log, &copy).unwrap();
        std::fs::write(&log, b"").unwrap();
        assert_eq!(
            plan(&log, &position, true, &[]).0,
            [segment(&copy, 4), segment(&log, 0)]
        );
    }

    #[test]
    fn a_rewritten_file_starts_over_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, b"one\ntwo\n").unwrap();
        let position = position_of(&log, 8);
        std::fs::write(&log, b"other content\n").unwrap();
        let (segments, fate, _) = plan(&log, &position, true, &[]);
        assert_eq!(segments, [segment(&log, 0)]);
        assert_eq!(fate, Fate::Lost);
        assert!(notice(&log, &position, &fate).unwrap().contains("not counted"));
    }
}
