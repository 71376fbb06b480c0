//! Following files as they grow, like `tail -F`: through rotation by rename, truncation
//! (`copytruncate`), files that do not exist yet or vanish and come back.
//!
//! Files are polled: each pass reads whatever every file has gained; when none had anything,
//! the reader sleeps one poll period (interruptibly). A file with nothing new is checked for
//! rotation (the path names another inode: read the old file to its end, then the new one from
//! its start) and truncation (it is shorter than what was read, or the bytes before the read
//! offset changed: look for the copy `copytruncate` made, read its rest, then the file anew).

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::input::reader::{ReadEnd, SourceReader, read_at};
use crate::input::{Context, absolute, open_at, resume};

/// One followed path.
struct Followed<'a> {
    /// As named on the command line.
    path: PathBuf,
    /// As checkpoints know it.
    key: PathBuf,
    reader: Option<SourceReader<'a>>,
    /// A "waiting for it" notice was given and not yet answered.
    waiting: bool,
}

/// What one look at a file found.
enum Step {
    Progress,
    Idle,
    Quit,
}

pub fn follow(ctx: &Context, paths: &[PathBuf]) {
    let mut files: Vec<Followed> = paths
        .iter()
        .map(|path| Followed {
            path: path.clone(),
            key: absolute(path),
            reader: None,
            waiting: false,
        })
        .collect();
    for file in &mut files {
        if !start(ctx, file) {
            return;
        }
    }
    loop {
        let mut progress = false;
        for file in &mut files {
            if ctx.stop.requested() {
                return;
            }
            match look(ctx, file) {
                Step::Progress => progress = true,
                Step::Idle => {}
                Step::Quit => return,
            }
        }
        if !progress && ctx.stop.sleep(ctx.options.poll) {
            return;
        }
    }
}

/// Opens a path for the first time: at its checkpoint, at its start (`--from-start`), or at
/// the end of its last complete line. False when reading should stop.
fn start<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>) -> bool {
    if let Some(position) = ctx.options.resume.as_ref().and_then(|c| c.position(&file.key)) {
        let (segments, fate, unreadable) = resume::plan(&file.path, position, ctx.options.decompress);
        for notice in resume::notice(&file.path, position, &fate)
            .into_iter()
            .chain(unreadable)
        {
            if !ctx.notice(notice) {
                return false;
            }
        }
        let Some((last, earlier)) = segments.split_last() else {
            return true;
        };
        for segment in earlier {
            if !drain(ctx, &file.key, &segment.file, segment.start) {
                return false;
            }
        }
        return open(ctx, file, last.start);
    }
    match File::open(&file.path) {
        Ok(handle) => {
            let start = if ctx.options.from_start {
                0
            } else {
                end_of_last_line(&handle, ctx.options.max_line_bytes)
            };
            open(ctx, file, start)
        }
        Err(_) => {
            file.waiting = true;
            ctx.notice(format!(
                "{}: does not exist yet; waiting for it",
                file.path.display()
            ))
        }
    }
}

/// Reads what a file has gained, and checks it for rotation and truncation when it has nothing.
fn look<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>) -> Step {
    let Some(reader) = file.reader.as_mut() else {
        // Missing: a file that appears is new, and read from its start.
        if std::fs::metadata(&file.path).is_err() {
            return Step::Idle;
        }
        if file.waiting && !ctx.notice(format!("{}: appeared; reading it", file.path.display())) {
            return Step::Quit;
        }
        file.waiting = false;
        return if open(ctx, file, 0) {
            Step::Progress
        } else {
            Step::Quit
        };
    };
    let size = match reader.file().metadata() {
        Ok(meta) => meta.len(),
        Err(error) => return failed(ctx, &file.path, error),
    };
    let read = reader.read_offset();
    if size < read || (size > read && !reader.still_matches().unwrap_or(false)) {
        return truncated(ctx, file);
    }
    if size > read {
        return match reader.read_available() {
            Ok(ReadEnd::Eof) => Step::Progress,
            Ok(ReadEnd::Stopped | ReadEnd::Closed) => Step::Quit,
            Err(error) => failed(ctx, &file.path, error),
        };
    }
    // Nothing new: has the path moved on to another file?
    let (device, inode) = match reader.identity() {
        Some(identity) => (identity.device, identity.inode),
        None => return Step::Idle,
    };
    match std::fs::metadata(&file.path) {
        Err(_) => {
            if !file.waiting {
                file.waiting = true;
                let message = format!(
                    "{}: gone; reading what is written to it until it comes back",
                    file.path.display()
                );
                if !ctx.notice(message) {
                    return Step::Quit;
                }
            }
            Step::Idle
        }
        Ok(meta) if meta.dev() != device || meta.ino() != inode => rotated(ctx, file),
        Ok(_) => Step::Idle,
    }
}

/// The path names a new file: finish the old one (whose last line, complete or not, is
/// done), then read the new one from its start.
fn rotated<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>) -> Step {
    if let Some(mut old) = file.reader.take() {
        match old.read_available() {
            Ok(ReadEnd::Eof) => {}
            Ok(_) => return Step::Quit,
            Err(error) => return failed(ctx, &file.path, error),
        }
        if !old.finish() {
            return Step::Quit;
        }
        // Rotated twice between two looks: the file in between is beside the path.
        if let Ok(old_meta) = old.file().metadata() {
            let mut exclude = vec![(old_meta.dev(), old_meta.ino())];
            exclude.extend(std::fs::metadata(&file.path).ok().map(|m| (m.dev(), m.ino())));
            let old_mtime = (old_meta.mtime(), old_meta.mtime_nsec());
            let (between, unreadable) =
                resume::rotated_between(&file.path, old_mtime, &exclude, ctx.options.decompress);
            for notice in unreadable {
                if !ctx.notice(notice) {
                    return Step::Quit;
                }
            }
            for middle in between {
                if !drain(ctx, &file.key, &middle, 0) {
                    return Step::Quit;
                }
            }
        }
    }
    if file.waiting {
        file.waiting = false;
        if !ctx.notice(format!("{}: came back; reading it", file.path.display())) {
            return Step::Quit;
        }
    }
    if open(ctx, file, 0) {
        Step::Progress
    } else {
        Step::Quit
    }
}

/// The file is shorter than what was read, or was written over: its rest may survive in the
/// copy `copytruncate` made; then it is read again from its start.
fn truncated<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>) -> Step {
    let Some(position) = file.reader.take().and_then(|r| r.position()) else {
        return Step::Idle;
    };
    let (segments, fate, unreadable) = resume::plan(&file.path, &position, ctx.options.decompress);
    for notice in unreadable {
        if !ctx.notice(notice) {
            return Step::Quit;
        }
    }
    // Lines written after the read offset and before the truncation are lost to every reader
    // unless the truncating tool copied them first (copytruncate), where they are found.
    let notice = match &fate {
        resume::Fate::Moved(copy) => format!(
            "{}: truncated; reading the rest from its copy {}, then the file from its start",
            file.path.display(),
            copy.display()
        ),
        _ => format!("{}: truncated; reading it from its start", file.path.display()),
    };
    if !ctx.notice(notice) {
        return Step::Quit;
    }
    let Some((last, earlier)) = segments.split_last() else {
        return Step::Idle;
    };
    for segment in earlier {
        if !drain(ctx, &file.key, &segment.file, segment.start) {
            return Step::Quit;
        }
    }
    if open(ctx, file, last.start) {
        Step::Progress
    } else {
        Step::Quit
    }
}

/// Reads an old file from `start` to its end, its last line included.
fn drain<'a>(ctx: &'a Context<'a>, key: &Path, path: &Path, start: u64) -> bool {
    let mut reader = match open_at(ctx, path, key, start) {
        Ok(reader) => reader,
        Err(error) => return ctx.failed(path, error),
    };
    if !reader.announce() {
        return false;
    }
    match reader.read_available() {
        Ok(ReadEnd::Eof) => reader.finish(),
        Ok(_) => false,
        Err(error) => ctx.failed(path, error),
    }
}

/// Starts reading the followed path at `start`.
fn open<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>, start: u64) -> bool {
    match open_at(ctx, &file.path, &file.key, start) {
        Ok(reader) => {
            let announced = reader.announce();
            file.reader = Some(reader);
            announced
        }
        Err(error) => {
            file.waiting = true;
            ctx.failed(&file.path, error)
        }
    }
}

fn failed(ctx: &Context, path: &Path, error: std::io::Error) -> Step {
    if ctx.failed(path, error) {
        Step::Idle
    } else {
        Step::Quit
    }
}

/// Where the last complete line of a file ends: following starts there, so that a line being
/// written when statbuf starts is counted whole once it is finished.
fn end_of_last_line(file: &File, max_line_bytes: usize) -> u64 {
    let Ok(size) = file.metadata().map(|m| m.len()) else {
        return 0;
    };
    let window = (max_line_bytes as u64 + 1).min(size);
    let Ok(tail) = read_at(file, size - window, window as usize) else {
        return size;
    };
    match memchr::memrchr(b'\n', &tail) {
        Some(i) => size - window + i as u64 + 1,
        None if window == size => 0,
        None => size,
    }
}
