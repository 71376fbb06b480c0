//! Following files as they grow, like `tail -F`: through rotation by rename, truncation
//! (`copytruncate`), files that do not exist yet or vanish and come back.
//!
//! Files are polled: each pass reads whatever every file has gained; when none had anything,
//! the reader sleeps one poll period (interruptibly). A file with nothing new is checked for
//! rotation (the path names another inode: read the old file to its end, then the new one from
//! its start) and truncation (it is shorter than what was read, or the bytes before the read
//! offset changed: look for the copy `copytruncate` made, read its rest, then the file anew).
//! Those bytes are compared whenever the file grew, and whenever its size and times are not
//! what they were at the last comparison: a file truncated and written again to exactly the
//! length read keeps its size, not its times.
//!
//! Every followed file stays open, so the soft open-file limit is raised first, as far as the
//! files need and the hard limit allows. Files that still cannot be opened for lack of
//! descriptors are reported once, all together (an input error: the run exits 1), and tried
//! again on later passes while the others are counted. Any other error about a file
//! that would recur on every look (it cannot be read, its disk fails) is reported once while it
//! persists; once the file can be read again, a notice says so, as `tail -F` does.

use std::fs::{File, Metadata};
use std::io::{self, ErrorKind, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::checkpoint::Digest;
use crate::input::descriptors::{Descriptors, Shortage};
use crate::input::reader::{ReadEnd, SourceReader};
use crate::input::source::{Source, read_at};
use crate::input::{Context, absolute, open_at, resume};

/// How long after a file's last change its times are trusted to move with its next change.
/// They are taken from a coarse clock (a few milliseconds; a second or two on some
/// filesystems): a file written again within the same tick as the change a look saw keeps its
/// times, so until the clock has surely moved on its content is compared on every look.
const SETTLE: Duration = Duration::from_secs(5);

/// One followed path.
struct Followed<'a> {
    /// As named on the command line.
    path: PathBuf,
    /// As checkpoints know it.
    key: PathBuf,
    reader: Option<SourceReader<'a>>,
    /// Where to start reading once the file opens, while `reader` is `None`.
    pending: Pending,
    /// Read decoded: its offsets count decoded bytes, which its size says nothing about.
    decoded: bool,
    /// Its size and times when the bytes read were last found in place (for a decoded file:
    /// at the last look), kept only once a change would move its times.
    stamp: Option<Stamp>,
    /// A "waiting for it" notice was given and not yet answered.
    waiting: bool,
    /// It could not be opened at its last try for lack of descriptors.
    starved: bool,
    /// The last error reported about it, not reported again while it persists.
    reported: Option<(ErrorKind, Option<i32>)>,
}

/// What one look at a file found.
#[derive(PartialEq, Eq)]
enum Step {
    Progress,
    Idle,
    Quit,
}

/// Where to read a file that is not open from, once it opens.
#[derive(Clone, Copy)]
enum Pending {
    /// From its start: it appeared after statbuf started, or is read from the start anyway.
    Start,
    /// The file with this device and inode, from `offset` or (`last_line`) from the end of the
    /// last complete line within its first `offset` bytes. Another file at the path by then
    /// came after statbuf started, and is read from its start.
    Known {
        device: u64,
        inode: u64,
        offset: u64,
        last_line: bool,
    },
}

impl Pending {
    fn known(meta: &Metadata, offset: u64, last_line: bool) -> Pending {
        Pending::Known {
            device: meta.dev(),
            inode: meta.ino(),
            offset,
            last_line,
        }
    }
}

/// A file's size and times, which change with its content.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            size: meta.len(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the clock file times come from has surely moved on since the last change, so
    /// that the next change gives the file other times.
    fn settled(&self) -> bool {
        let (secs, nanos) = self.changed;
        let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
            return true;
        };
        let changed = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        SystemTime::now()
            .duration_since(changed)
            .is_ok_and(|age| age >= SETTLE)
    }
}

/// Descriptors over the passes: once a file could not be opened for lack of them, the files
/// after it in the same pass wait for the next one.
struct Budget {
    descriptors: Descriptors,
    /// Files followed.
    files: usize,
    /// Found short during this pass.
    short: Option<Shortage>,
    /// The shortage was reported and has not ended since.
    told: bool,
}

impl Budget {
    /// Whether one more file may be opened now. When descriptors run short, the limit is raised
    /// again first: more of them may have been taken since it was raised for the files.
    fn room(&mut self) -> bool {
        if self.short.is_some() {
            return false;
        }
        if self.descriptors.spare() {
            return true;
        }
        self.descriptors = Descriptors::raise_for(self.files);
        self.descriptors.spare()
    }

    /// Between two passes: says, once, that files cannot be opened for lack of descriptors,
    /// and, once they all are, that they are. False when reading should stop.
    fn between_passes(&mut self, ctx: &Context, files: &[Followed]) -> bool {
        let short = self.short.take();
        let starved = files.iter().filter(|f| f.starved).count();
        if starved > 0 && !self.told {
            self.told = true;
            let what = format!("cannot open {starved} of {} followed files", files.len());
            let why = self.descriptors.explain(short.unwrap_or(Shortage::Process));
            return ctx.failed(Path::new(&what), why);
        }
        if starved == 0 && self.told {
            self.told = false;
            return ctx.notice("every followed file that lacked a descriptor is open now".to_string());
        }
        true
    }
}

pub fn follow(ctx: &Context, paths: &[PathBuf]) {
    let mut budget = Budget {
        descriptors: Descriptors::raise_for(paths.len()),
        files: paths.len(),
        short: None,
        told: false,
    };
    let mut files: Vec<Followed> = paths
        .iter()
        .map(|path| Followed {
            path: path.clone(),
            key: absolute(path),
            reader: None,
            pending: Pending::Start,
            decoded: false,
            stamp: None,
            waiting: false,
            starved: false,
            reported: None,
        })
        .collect();
    for file in &mut files {
        if !start(ctx, file, &mut budget) {
            return;
        }
    }
    loop {
        if !budget.between_passes(ctx, &files) {
            return;
        }
        let mut progress = false;
        for file in &mut files {
            if ctx.stop.requested() {
                return;
            }
            match look(ctx, file, &mut budget) {
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
fn start<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>, budget: &mut Budget) -> bool {
    let mut resume_at = None;
    if let Some(position) = ctx.options.resume.as_ref().and_then(|c| c.position(&file.key)) {
        let (segments, fate, unreadable) = resume::plan(&file.path, position, ctx.options.decompress, &[]);
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
        resume_at = Some(last.start);
    }
    let meta = match std::fs::metadata(&file.path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            file.waiting = true;
            return ctx.notice(format!(
                "{}: does not exist yet; waiting for it",
                file.path.display()
            ));
        }
        Err(error) => return trouble(ctx, file, error) != Step::Quit,
    };
    file.pending = match resume_at {
        Some(offset) => Pending::known(&meta, offset, false),
        None if ctx.options.from_start => Pending::Start,
        None => Pending::known(&meta, meta.len(), true),
    };
    try_open(ctx, file, budget) != Step::Quit
}

/// Reads what a file has gained, and checks it for rotation and truncation when it has nothing.
fn look<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>, budget: &mut Budget) -> Step {
    let Some(reader) = file.reader.as_mut() else {
        return reopen(ctx, file, budget);
    };
    let stamp = match reader.source().file().metadata() {
        Ok(meta) => Stamp::of(&meta),
        Err(error) => return trouble(ctx, file, error),
    };
    let read = reader.read_offset();
    let grown = if file.decoded {
        // Offsets count decoded bytes: only the file's size and times say it changed.
        match file.stamp {
            Some(last) if stamp.size < last.size => return truncated(ctx, file, budget),
            Some(last) => last != stamp,
            None => true,
        }
    } else {
        if stamp.size < read {
            return truncated(ctx, file, budget);
        }
        if stamp.size > read || file.stamp != Some(stamp) {
            match written_over(reader) {
                Ok(true) => return truncated(ctx, file, budget),
                Ok(false) => {}
                Err(error) => return trouble(ctx, file, error),
            }
        }
        stamp.size > read
    };
    if grown {
        // A plain file's bytes are compared again at the next look, its times taken then.
        file.stamp = file.decoded.then_some(stamp);
        return match reader.read_available() {
            Ok(ReadEnd::Eof) if recovered(ctx, file) => Step::Progress,
            Ok(_) => Step::Quit,
            Err(error) => trouble(ctx, file, error),
        };
    }
    if !file.decoded {
        file.stamp = stamp.settled().then_some(stamp);
    }
    if !recovered(ctx, file) {
        return Step::Quit;
    }
    // Nothing new: has the path moved on to another file?
    let (device, inode) = match file.reader.as_ref().and_then(|r| r.identity()) {
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
        Ok(meta) if meta.dev() != device || meta.ino() != inode => rotated(ctx, file, budget),
        Ok(_) => Step::Idle,
    }
}

/// Whether the bytes read are no longer where they were read: the file was truncated and
/// written again, to at least the length read, since. The last bytes before the offset (and
/// the partial line after it) are compared, and the first bytes: lines of one length with
/// few distinct keys may repeat the last bytes, seldom both.
fn written_over(reader: &SourceReader) -> io::Result<bool> {
    if !reader.still_matches()? {
        return Ok(true);
    }
    let Some(position) = reader.position() else {
        return Ok(false);
    };
    let head = read_at(reader.source().file(), 0, position.fingerprint.len as usize)?;
    Ok(Digest::of(&head) != position.fingerprint)
}

/// Looks again at a file that is not open: it did not exist, could not be opened, or its
/// turn had not come for lack of descriptors.
fn reopen<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>, budget: &mut Budget) -> Step {
    if budget.short.is_some() && file.starved {
        return Step::Idle;
    }
    match std::fs::metadata(&file.path) {
        Ok(_) => try_open(ctx, file, budget),
        Err(error) => {
            file.starved = false;
            if error.kind() == ErrorKind::NotFound {
                Step::Idle
            } else {
                trouble(ctx, file, error)
            }
        }
    }
}

/// Opens the followed path where `pending` says, unless descriptors are short: then the file
/// waits for a later pass.
fn try_open<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>, budget: &mut Budget) -> Step {
    if !budget.room() {
        budget.short.get_or_insert(Shortage::Process);
        file.starved = true;
        return Step::Idle;
    }
    let opened = start_offset(ctx, file).and_then(|start| open_at(ctx, &file.path, &file.key, start));
    let reader = match opened {
        Ok(reader) => reader,
        Err(error) => {
            if let Some(shortage) = Shortage::of(&error) {
                budget.short = Some(shortage);
                file.starved = true;
                return Step::Idle;
            }
            file.starved = false;
            // Gone between two calls: it is waited for like any missing file.
            if error.kind() == ErrorKind::NotFound {
                return Step::Idle;
            }
            return trouble(ctx, file, error);
        }
    };
    file.starved = false;
    file.decoded = reader.source().codec().is_some();
    file.stamp = None;
    file.pending = Pending::Start;
    let announced = reader.announce();
    file.reader = Some(reader);
    if file.waiting {
        file.waiting = false;
        if !ctx.notice(format!("{}: appeared; reading it", file.path.display())) {
            return Step::Quit;
        }
    }
    if announced && recovered(ctx, file) {
        Step::Progress
    } else {
        Step::Quit
    }
}

/// The byte to start reading the followed path at, as `pending` says.
fn start_offset(ctx: &Context, file: &Followed) -> io::Result<u64> {
    let Pending::Known {
        device,
        inode,
        offset,
        last_line,
    } = file.pending
    else {
        return Ok(0);
    };
    if !last_line {
        let meta = std::fs::metadata(&file.path)?;
        return Ok(if (meta.dev(), meta.ino()) == (device, inode) {
            offset
        } else {
            0
        });
    }
    let source = Source::open(&file.path, ctx.options.decompress)?;
    let meta = source.file().metadata()?;
    if (meta.dev(), meta.ino()) != (device, inode) {
        return Ok(0);
    }
    if source.codec().is_some() {
        return Ok(end_of_last_decoded_line(source));
    }
    Ok(end_of_last_line(
        source.file(),
        offset.min(meta.len()),
        ctx.options.max_line_bytes,
    ))
}

/// Reports an error about a followed file, unless it is the one last reported about it: an
/// error that persists is said once, not on every look.
fn trouble(ctx: &Context, file: &mut Followed, error: io::Error) -> Step {
    let what = Some((error.kind(), error.raw_os_error()));
    if file.reported == what {
        return Step::Idle;
    }
    file.reported = what;
    if ctx.failed(&file.path, error) {
        Step::Idle
    } else {
        Step::Quit
    }
}

/// After a look without error: if an error was reported about the file, says it is over.
/// False when reading should stop.
fn recovered(ctx: &Context, file: &mut Followed) -> bool {
    if file.reported.take().is_none() {
        return true;
    }
    ctx.notice(format!("{}: readable again", file.path.display()))
}

/// The path names a new file: finish the old one (whose last line, complete or not, is
/// done), then read the new one from its start.
fn rotated<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>, budget: &mut Budget) -> Step {
    file.pending = Pending::Start;
    if let Some(mut old) = file.reader.take() {
        match old.read_available() {
            Ok(ReadEnd::Eof) => {}
            Ok(_) => return Step::Quit,
            Err(error) => return trouble(ctx, file, error),
        }
        if !old.finish() {
            return Step::Quit;
        }
        // Rotated twice between two looks: the file in between is beside the path.
        if let Ok(old_meta) = old.source().file().metadata() {
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
    try_open(ctx, file, budget)
}

/// The file is shorter than what was read, or was written over: its rest may survive in the
/// copy `copytruncate` made; then it is read again from its start.
fn truncated<'a>(ctx: &'a Context<'a>, file: &mut Followed<'a>, budget: &mut Budget) -> Step {
    let Some(position) = file.reader.take().and_then(|r| r.position()) else {
        return Step::Idle;
    };
    let (segments, fate, unreadable) = resume::plan(&file.path, &position, ctx.options.decompress, &[]);
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
    file.pending = match std::fs::metadata(&file.path) {
        Ok(meta) => Pending::known(&meta, last.start, false),
        Err(_) => Pending::Start,
    };
    try_open(ctx, file, budget)
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

/// Where the last complete line within the first `size` bytes of a file ends: following starts
/// there, so that a line being written when statbuf starts is counted whole once it is finished.
fn end_of_last_line(file: &File, size: u64, max_line_bytes: usize) -> u64 {
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

/// Where the last complete line of a compressed file's text ends: its offsets count decoded
/// bytes, so its end is known by decoding all of it (once more when the reader then decodes
/// its way there; only at start, and rotated logs are the compressed files one follows). Text
/// that breaks off in damaged data ends where it broke: reading from there reports the damage.
fn end_of_last_decoded_line(mut text: Source) -> u64 {
    let mut chunk = vec![0; 64 * 1024];
    let (mut decoded, mut end) = (0u64, 0u64);
    loop {
        let n = match text.read(&mut chunk) {
            Ok(0) | Err(_) => return end,
            Ok(n) => n,
        };
        if let Some(newline) = memchr::memrchr(b'\n', &chunk[..n]) {
            end = decoded + newline as u64 + 1;
        }
        decoded += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed_ago(age: Duration) -> Stamp {
        let at = SystemTime::now() - age;
        let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        Stamp {
            size: 0,
            modified: (0, 0),
            changed: (since.as_secs() as i64, i64::from(since.subsec_nanos())),
        }
    }

    #[test]
    fn times_are_trusted_once_the_clock_has_moved_on() {
        assert!(!changed_ago(Duration::ZERO).settled());
        assert!(!changed_ago(SETTLE / 2).settled());
        assert!(changed_ago(SETTLE * 2).settled());
        // A change dated in the future (a clock set back since) is not trusted yet.
        let mut ahead = changed_ago(Duration::ZERO);
        ahead.changed.0 += 3600;
        assert!(!ahead.settled());
    }
}
