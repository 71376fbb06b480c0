//! Which checkpointed content each file named for a run continues.
//!
//! A cron run over a rotation set (`statbuf --state s -k 7 access.log*`) names the log and its
//! rotated copies at once. Between two runs each of them may have been renamed, compressed, or
//! copied and truncated, so what a path held at the last run says little about what it holds
//! now. Each named file is therefore matched by content with every checkpointed position: a file
//! whose text starts with the position's fingerprint and holds its tail just before its offset
//! continues it, and is read from that offset. A position is continued by one file at most (the
//! one with its inode, else the one at its path, else the first named), and a file continues one
//! position at most (the furthest on). A named file that continues nothing is read from its
//! start; the old content of its path is looked for beside it (`resume::plan`) only when no
//! named file continues it, so that no rest is read twice.

use std::collections::{HashMap, HashSet};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, Digest, FINGERPRINT_BYTES, FilePosition};
use crate::input::absolute;
use crate::input::source::content_at;

/// Where a named file is read from.
#[derive(Debug, PartialEq, Eq)]
pub enum Start<'a> {
    /// It continues a checkpointed content: read from the offset, which its text reaches.
    Continues(u64),
    /// Its path's old content is not among the named files: look for it beside the path first.
    Search(&'a FilePosition),
    /// New to the checkpoint, or its path's old content is read as another named file.
    Whole,
}

/// The start of every named file (by its checkpoint key), and the identities (device, inode)
/// of the named files, which searches beside a path pass over: they are read on their own.
pub struct Claims<'a> {
    starts: HashMap<PathBuf, Start<'a>>,
    named: Vec<(u64, u64)>,
}

impl<'a> Claims<'a> {
    /// Matches the named `paths` with the positions of `checkpoint`.
    pub fn new(paths: &[&Path], checkpoint: &'a Checkpoint, decompress: bool) -> Claims<'a> {
        let mut seen = HashSet::new();
        let files: Vec<Named> = paths
            .iter()
            .filter(|path| seen.insert(absolute(path)))
            .map(|path| Named::look(path, decompress))
            .collect();
        // Every (file, position) pair that matches, best first: the file with the position's
        // inode, then the one at its path, then the position furthest on, then named first.
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for (f, file) in files.iter().enumerate() {
            for (p, position) in checkpoint.files.iter().enumerate() {
                if position.offset > 0 && file.continues(position, decompress) {
                    pairs.push((f, p));
                }
            }
        }
        pairs.sort_by_key(|&(f, p)| {
            let (file, position) = (&files[f], &checkpoint.files[p]);
            let rank = (
                file.same_inode(position),
                position.path == file.key,
                position.offset,
            );
            (std::cmp::Reverse(rank), f)
        });
        let mut taken: HashSet<usize> = HashSet::new();
        let mut starts = HashMap::new();
        for (f, p) in pairs {
            if !taken.contains(&p) && !starts.contains_key(&files[f].key) {
                taken.insert(p);
                starts.insert(files[f].key.clone(), Start::Continues(checkpoint.files[p].offset));
            }
        }
        for file in &files {
            if starts.contains_key(&file.key) {
                continue;
            }
            let own = checkpoint
                .files
                .iter()
                .enumerate()
                .find(|(_, p)| p.path == file.key);
            let start = match own {
                Some((i, position)) if !taken.contains(&i) => Start::Search(position),
                _ => Start::Whole,
            };
            starts.insert(file.key.clone(), start);
        }
        let named = files.iter().filter_map(|file| file.identity).collect();
        Claims { starts, named }
    }

    /// Where the file checkpoints know as `key` starts; a path not named is read from its start.
    pub fn start(&self, key: &Path) -> &Start<'a> {
        self.starts.get(key).unwrap_or(&Start::Whole)
    }

    /// The named files, which are not the rest of another.
    pub fn named(&self) -> &[(u64, u64)] {
        &self.named
    }
}

/// A named file as it is now.
struct Named<'p> {
    path: &'p Path,
    key: PathBuf,
    identity: Option<(u64, u64)>,
    /// The first bytes of its text, to compare with fingerprints without reading it again.
    head: Option<Vec<u8>>,
}

impl<'p> Named<'p> {
    fn look(path: &'p Path, decompress: bool) -> Named<'p> {
        let meta: Option<Metadata> = std::fs::metadata(path).ok().filter(Metadata::is_file);
        Named {
            path,
            key: absolute(path),
            identity: meta.as_ref().map(|m| (m.dev(), m.ino())),
            head: meta.and_then(|_| content_at(path, decompress, 0, FINGERPRINT_BYTES).ok()),
        }
    }

    fn same_inode(&self, position: &FilePosition) -> bool {
        self.identity == Some((position.device, position.inode))
    }

    /// Whether its text starts as the position's did and holds its tail just before its
    /// offset. The fingerprint is compared first: it rules out most positions at no cost.
    fn continues(&self, position: &FilePosition, decompress: bool) -> bool {
        let Some(head) = &self.head else {
            return false;
        };
        let len = position.fingerprint.len as usize;
        if head.len() < len || Digest::of(&head[..len]) != position.fingerprint {
            return false;
        }
        let tail_len = position.tail.len;
        content_at(
            self.path,
            decompress,
            position.offset - tail_len,
            tail_len as usize,
        )
        .is_ok_and(|tail| tail.len() as u64 == tail_len && Digest::of(&tail) == position.tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `path` stands after its first `offset` bytes, kept under the absolute `key`.
    fn position_of(path: &Path, key: &Path, offset: u64) -> FilePosition {
        crate::input::test_positions::position_of(path, &absolute(key), offset)
    }

    /// logrotate renamed access.log to access.log.1 and a new access.log started: the renamed
    /// file continues the position kept under the old name, the new one is read whole (its
    /// path's old content is read as the other named file, not looked for beside it).
    #[test]
    fn a_renamed_file_continues_and_the_new_one_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let old = dir.path().join("access.log.1");
        std::fs::write(&log, b"a\nb\n").unwrap();
        let checkpoint = Checkpoint {
            files: vec![position_of(&log, &log, 4)],
        };
        std::fs::write(&log, b"a\nb\nc\n").unwrap();
        std::fs::rename(&log, &old).unwrap();
        std::fs::write(&log, b"new\n").unwrap();
        let claims = Claims::new(&[&log, &old], &checkpoint, true);
        assert_eq!(claims.start(&absolute(&old)), &Start::Continues(4));
        assert_eq!(claims.start(&absolute(&log)), &Start::Whole);
    }

    /// A file that holds two checkpointed contents (the same log kept under two names at two
    /// runs) continues the furthest; a file whose path's content is nowhere among the named
    /// files looks for it beside the path.
    #[test]
    fn the_furthest_position_is_continued_and_an_unclaimed_one_is_searched() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let other = dir.path().join("other.log");
        std::fs::write(&log, b"one\ntwo\nthree\n").unwrap();
        std::fs::write(&other, b"other\n").unwrap();
        let checkpoint = Checkpoint {
            files: vec![
                position_of(&log, &dir.path().join("gone.log"), 4),
                position_of(&log, &log, 8),
                position_of(&other, &other, 6),
            ],
        };
        std::fs::write(&other, b"rewritten\n").unwrap();
        let claims = Claims::new(&[&log, &other], &checkpoint, true);
        assert_eq!(claims.start(&absolute(&log)), &Start::Continues(8));
        assert_eq!(
            claims.start(&absolute(&other)),
            &Start::Search(&checkpoint.files[2])
        );
        assert_eq!(claims.start(&dir.path().join("unnamed.log")), &Start::Whole);
    }
}
