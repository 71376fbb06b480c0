//! Inputs: standard input and files, cut into blocks of whole lines.
//!
//! A reader fills a large buffer, cuts it after the last newline and sends the lines before the
//! cut as one `Block`, carrying the partial line into the next buffer. A line longer than
//! `max_line_bytes` is never held whole: once the carried bytes pass the limit they are dropped
//! up to the next newline and the line is counted as oversize.

mod block;
mod claims;
mod decode;
mod descriptors;
mod follow;
mod reader;
mod resume;
mod source;

pub use block::{Block, BufferPool, lines};
pub use source::{Got, Identity, Source};

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;

use crate::checkpoint::{Checkpoint, FilePosition};
use crate::progress::Meter;
use crate::stop::Stop;
use claims::{Claims, Start};
use reader::{ReadEnd, SourceReader};

/// One input named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// How the input is named in messages.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }
}

/// What the reader tells the pipeline.
#[derive(Debug)]
pub enum ReadEvent {
    Block(Block),
    /// A file starts being read here; its blocks follow.
    Position(FilePosition),
    /// Something the user should know that is not an error (a rotation, a file to wait for).
    Notice(String),
    /// An input is compressed and is read decoded.
    Decompressed,
    /// An input could not be opened or read; the others are still read.
    Failed {
        input: String,
        error: std::io::Error,
    },
}

/// How the reader reads.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Bytes read at a time.
    pub block_size: usize,
    /// Longer lines are skipped and counted as oversize.
    pub max_line_bytes: usize,
    /// Keep reading files as they grow, like `tail -F`.
    pub follow: bool,
    /// With `follow`, start at the beginning of files instead of their end.
    pub from_start: bool,
    /// How often a followed file is looked at when it has nothing new.
    pub poll: Duration,
    /// Cut blocks after this many lines (when `--max-keys` is small enough that a block could
    /// hold more lines than that): a block adds at most this many keys to a worker's map.
    pub max_lines_per_block: Option<usize>,
    /// Read compressed inputs decoded (not with `--no-decompress`).
    pub decompress: bool,
    /// Where to resume files from; `None` when no checkpoint is kept. With a checkpoint, a
    /// last line without a newline is left for the next run, which may see the rest of it.
    pub resume: Option<Checkpoint>,
}

/// What every reader of a run shares.
pub struct Context<'a> {
    pub options: &'a ReadOptions,
    pub pool: &'a BufferPool,
    pub events: &'a Sender<ReadEvent>,
    pub stop: &'a Stop,
    pub meter: &'a Meter,
    next_source: AtomicUsize,
    /// With a checkpoint, in batch mode: where each named file starts.
    claims: Option<Claims<'a>>,
}

impl Context<'_> {
    /// A new source number: each file opened, and each restart of a truncated one, has its own.
    fn next_source(&self) -> usize {
        self.next_source.fetch_add(1, Ordering::Relaxed)
    }

    fn notice(&self, message: String) -> bool {
        self.events.send(ReadEvent::Notice(message)).is_ok()
    }

    fn failed(&self, input: &Path, error: std::io::Error) -> bool {
        let input = input.display().to_string();
        self.events.send(ReadEvent::Failed { input, error }).is_ok()
    }
}

/// Reads every input and sends its blocks, until the inputs end (or, following, forever) or
/// `stop` is requested. A stop is honoured between reads: every byte read has been sent.
///
/// Several inputs are read at once, one per core (see `readers`): decoding a compressed file
/// takes a core, and counting keeps up with more than one. Each input is read by one reader,
/// from its start (or checkpoint) to its end, so the blocks of one file reach the pipeline in
/// order, and a window holds a prefix of every file (see docs/ARCHITECTURE.md).
pub fn read_all(
    inputs: &[Input],
    options: &ReadOptions,
    pool: &BufferPool,
    events: &Sender<ReadEvent>,
    stop: &Stop,
    meter: &Meter,
) {
    let named: Vec<&Path> = inputs
        .iter()
        .filter_map(|input| match input {
            Input::File(path) => Some(path.as_path()),
            Input::Stdin => None,
        })
        .collect();
    let claims = match &options.resume {
        Some(checkpoint) if !options.follow => Some(Claims::new(&named, checkpoint, options.decompress)),
        _ => None,
    };
    let ctx = Context {
        options,
        pool,
        events,
        stop,
        meter,
        next_source: AtomicUsize::new(0),
        claims,
    };
    if options.follow {
        let paths: Vec<PathBuf> = named.iter().map(|path| path.to_path_buf()).collect();
        follow::follow(&ctx, &paths);
        return;
    }
    let next = AtomicUsize::new(0);
    let quit = AtomicBool::new(false);
    // Each reader takes the next input not taken yet, until there are none or one of them
    // finds that reading should stop.
    let reader = || {
        while !quit.load(Ordering::Relaxed) && !stop.requested() {
            let Some(input) = inputs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return;
            };
            let go_on = match input {
                Input::Stdin => read_stdin(&ctx),
                Input::File(path) => read_file(&ctx, path),
            };
            if !go_on {
                quit.store(true, Ordering::Relaxed);
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..readers(inputs) {
            scope.spawn(reader);
        }
        reader();
    });
}

/// How many inputs are read at once: one per core, as decoding takes one, and no more than
/// there are inputs. An input named twice is read twice, one reading after the other as its
/// checkpoint needs, so then there is one reader.
fn readers(inputs: &[Input]) -> usize {
    let mut named = HashSet::new();
    let twice = !inputs.iter().all(|input| {
        named.insert(match input {
            Input::Stdin => None,
            Input::File(path) => Some(absolute(path)),
        })
    });
    if twice {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(inputs.len())
}

/// Reads standard input to its end. False when reading should stop.
fn read_stdin(ctx: &Context) -> bool {
    let stdin = Path::new("<stdin>");
    let reader = Source::stdin(ctx.options.decompress).and_then(|source| SourceReader::new(ctx, source, 0));
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(error) => return ctx.failed(stdin, error),
    };
    match reader.read_available() {
        Ok(ReadEnd::Eof) => reader.finish(),
        Ok(ReadEnd::Stopped | ReadEnd::Closed) => false,
        Err(error) => ctx.failed(stdin, error),
    }
}

/// Reads a file to its end, first what was left of it after its checkpoint.
fn read_file(ctx: &Context, path: &Path) -> bool {
    let key = absolute(path);
    let start = ctx
        .claims
        .as_ref()
        .map_or(&Start::Whole, |claims| claims.start(&key));
    let segments = match start {
        Start::Search(position) => {
            let named = ctx.claims.as_ref().map_or(&[][..], Claims::named);
            let (segments, fate, unreadable) = resume::plan(path, position, ctx.options.decompress, named);
            for notice in resume::notice(path, position, &fate)
                .into_iter()
                .chain(unreadable)
            {
                if !ctx.notice(notice) {
                    return false;
                }
            }
            segments
        }
        Start::Continues(offset) => vec![resume::Segment {
            file: path.to_path_buf(),
            start: *offset,
        }],
        Start::Whole => vec![resume::Segment {
            file: path.to_path_buf(),
            start: 0,
        }],
    };
    for segment in segments {
        let mut reader = match open_at(ctx, &segment.file, &key, segment.start) {
            Ok(reader) => reader,
            Err(error) => {
                if !ctx.failed(&segment.file, error) {
                    return false;
                }
                continue;
            }
        };
        if !reader.announce() {
            return false;
        }
        match reader.read_available() {
            Ok(ReadEnd::Eof) => {
                // With a checkpoint, a last line without its newline waits for the next run.
                if ctx.options.resume.is_none() && !reader.finish() {
                    return false;
                }
            }
            Ok(ReadEnd::Stopped | ReadEnd::Closed) => return false,
            Err(error) => {
                if !ctx.failed(&segment.file, error) {
                    return false;
                }
            }
        }
    }
    true
}

/// Opens `file` and reads it from `start` (in its text) as the input known to checkpoints as
/// `key`.
fn open_at<'a>(
    ctx: &'a Context<'a>,
    file: &Path,
    key: &Path,
    start: u64,
) -> std::io::Result<SourceReader<'a>> {
    let source = Source::open(file, ctx.options.decompress)?.known_as(key);
    SourceReader::new(ctx, source, start)
}

/// The path checkpoints know a file by: absolute, so that a run from another directory finds
/// it, but not resolved through links, so that a link to a rotating log keeps its name.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether a path names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// What the tests of checkpointed reading build their positions from.
#[cfg(test)]
mod test_positions {
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use crate::checkpoint::{Digest, FINGERPRINT_BYTES, FilePosition, TAIL_BYTES};

    /// Where the file at `path` stands after its first `offset` bytes, kept under `key`.
    pub fn position_of(path: &Path, key: &Path, offset: u64) -> FilePosition {
        let meta = std::fs::metadata(path).unwrap();
        let bytes = std::fs::read(path).unwrap();
        let end = offset as usize;
        FilePosition {
            path: key.to_path_buf(),
            device: meta.dev(),
            inode: meta.ino(),
            fingerprint: Digest::of(&bytes[..end.min(FINGERPRINT_BYTES)]),
            offset,
            tail: Digest::of(&bytes[end.saturating_sub(TAIL_BYTES)..end]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reader_per_core_unless_an_input_is_named_twice() {
        let file = |name: &str| Input::File(PathBuf::from(name));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(readers(&[file("a.log")]), 1);
        assert_eq!(readers(&[file("a"), file("b"), Input::Stdin]), cores.min(3));
        assert_eq!(readers(&[file("a"), file("b"), file("./a")]), 1);
        assert_eq!(readers(&[Input::Stdin, file("a"), Input::Stdin]), 1);
    }
}
