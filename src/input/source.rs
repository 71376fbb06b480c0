//! A source of bytes: one opened input (a file, standard input) read as the text it holds,
//! decoded when it is compressed, with what checkpoints know it by and how far it has got.
//!
//! Everything that reads an input goes through a `Source`: the block reader, the search for the
//! rest of a rotated file when resuming, the rotated copies a follower drains and `--explain`.
//! So a compressed file reads the same everywhere, and every offset kept for an input (progress
//! aside) is an offset in its text.
//!
//! A regular file's format is known from its first bytes when it is opened. A pipe (standard
//! input, a named pipe) can only be looked at by reading it, so its first bytes are held until
//! they tell: only while they are the start of some format's magic bytes, so that a short
//! first line of a live stream is never held back.

use std::fs::File;
use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::checkpoint::{FINGERPRINT_BYTES, TAIL_BYTES};
use crate::input::absolute;
use crate::input::decode::Codec;

/// Which file a source reads, for checkpoints.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The input's path as named (made absolute): checkpoints are kept per named path, and the
    /// rest of a rotated file is read as the path it was rotated from (`Source::known_as`).
    pub path: PathBuf,
    pub device: u64,
    pub inode: u64,
}

/// What one read of a source gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    /// This many bytes of text were added.
    Bytes(usize),
    /// The input ended (for now: a followed file may grow).
    End,
    /// Bytes arrived that do not tell the format yet; wait until the input is readable again.
    Again,
}

pub struct Source {
    file: File,
    /// Regular files never block, and can be looked at without consuming them.
    regular: bool,
    identity: Option<Identity>,
    codec: Option<Codec>,
    state: State,
    /// Bytes of text handed out or passed over: the offset of the next one.
    offset: u64,
    /// Bytes of the input itself read or passed over (compressed bytes, when it is compressed):
    /// what the progress bar counts against a file's size.
    raw: Arc<AtomicU64>,
}

enum State {
    /// A pipe whose first bytes have not told its format yet, and those bytes.
    Sniffing(Vec<u8>),
    /// Read as it is; what a pipe gave while its format was unknown is handed out first.
    Plain(Vec<u8>),
    /// The text a compressed input decodes to.
    Decoded(Box<dyn Read + Send>),
}

/// Bytes of a pipe read at a time while its format is unknown.
const SNIFF_READ: usize = 64 * 1024;

impl Source {
    /// Opens the file at `path`. Compressed (and `decompress`), it is read decoded.
    pub fn open(path: &Path, decompress: bool) -> io::Result<Source> {
        let file = File::open(path)?;
        Source::of(file, Some(absolute(path)), decompress)
    }

    /// Standard input, which may be a pipe, a terminal or a redirected file.
    pub fn stdin(decompress: bool) -> io::Result<Source> {
        let file = io::stdin().as_fd().try_clone_to_owned().map(File::from)?;
        Source::of(file, None, decompress)
    }

    fn of(file: File, path: Option<PathBuf>, decompress: bool) -> io::Result<Source> {
        let meta = file.metadata()?;
        let regular = meta.is_file();
        let identity = path.map(|path| Identity {
            path,
            device: meta.dev(),
            inode: meta.ino(),
        });
        let raw = Arc::new(AtomicU64::new(0));
        let codec = match decompress && regular {
            true => Codec::of_file(&file)?,
            false => None,
        };
        let state = match codec {
            Some(codec) => {
                let compressed = Counted {
                    inner: file.try_clone()?,
                    raw: raw.clone(),
                };
                State::Decoded(codec.decoder(compressed)?)
            }
            None if regular || !decompress => State::Plain(Vec::new()),
            None => State::Sniffing(Vec::new()),
        };
        Ok(Source {
            file,
            regular,
            identity,
            codec,
            state,
            offset: 0,
            raw,
        })
    }

    /// The same source, known to checkpoints as `path`: the rest of a rotated file is read as
    /// the input it was rotated away from.
    pub fn known_as(mut self, path: &Path) -> Source {
        if let Some(identity) = &mut self.identity {
            identity.path = path.to_path_buf();
        }
        self
    }

    /// Which file this is; `None` for standard input.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The open file, for its metadata and, read as it is, for looking at its bytes in place.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The format it is decoded from, once known.
    pub fn codec(&self) -> Option<Codec> {
        self.codec
    }

    /// Bytes of text read or passed over so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of the input itself read or passed over so far: for a compressed input, its
    /// compressed bytes (including what the decoder has read ahead).
    pub fn raw_read(&self) -> u64 {
        self.raw.load(Ordering::Relaxed)
    }

    /// What to wait on before the next read, when that read could block: a pipe or terminal
    /// read as it is. A decoder reads as it needs, so a decoded pipe is not waited on (as a
    /// pipe's bytes arrive in bursts, the decoder seldom waits long).
    pub fn wait_on(&self) -> Option<BorrowedFd<'_>> {
        match &self.state {
            _ if self.regular => None,
            State::Sniffing(_) => Some(self.file.as_fd()),
            State::Plain(held) if held.is_empty() => Some(self.file.as_fd()),
            State::Plain(_) | State::Decoded(_) => None,
        }
    }

    /// The time its lines were written by, in Unix seconds: a regular file's modification
    /// time, or the clock for a pipe or a terminal.
    pub fn written_by(&self) -> i64 {
        let modified = match self.regular {
            true => self.file.metadata().and_then(|meta| meta.modified()).ok(),
            false => None,
        };
        let at = modified.unwrap_or_else(std::time::SystemTime::now);
        match at.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// Moves a source not read yet to byte `start` of its text, which an earlier reader
    /// consumed, and returns what a checkpoint needs of the bytes before it. A plain file seeks
    /// there (only to a non-zero offset, so that named pipes work as inputs); a compressed one
    /// is decoded up to it, the only way to reach it.
    pub fn start_at(&mut self, start: u64) -> io::Result<Seen> {
        let mut seen = Seen::default();
        if start == 0 {
            return Ok(seen);
        }
        match &mut self.state {
            State::Decoded(decoded) => seen.consume(decoded, start)?,
            State::Plain(_) | State::Sniffing(_) => {
                use std::io::{Seek, SeekFrom};
                seen.head = read_at(&self.file, 0, FINGERPRINT_BYTES.min(start as usize))?;
                let tail_len = TAIL_BYTES.min(start as usize);
                seen.tail = read_at(&self.file, start - tail_len as u64, tail_len)?;
                self.file.seek(SeekFrom::Start(start))?;
                self.raw.fetch_add(start, Ordering::Relaxed);
            }
        }
        self.offset = start;
        Ok(seen)
    }

    /// Reads what comes next into the spare room of `buf` (which must have some), at most
    /// what fits in it but for the first bytes of a pipe. A plain input is read straight into
    /// it, with no copy.
    pub fn read_into(&mut self, buf: &mut Vec<u8>) -> io::Result<Got> {
        if matches!(self.state, State::Sniffing(_)) && !self.sniff()? {
            return Ok(Got::Again);
        }
        let n = match &mut self.state {
            State::Plain(held) if !held.is_empty() => {
                buf.extend_from_slice(held);
                std::mem::take(held).len()
            }
            State::Plain(_) | State::Sniffing(_) => {
                let n = rustix::io::read(&self.file, rustix::buffer::spare_capacity(buf))?;
                self.raw.fetch_add(n as u64, Ordering::Relaxed);
                n
            }
            State::Decoded(decoded) => {
                // `Read` wants initialised bytes; zeroing the room is cheap beside decoding.
                let len = buf.len();
                buf.resize(buf.capacity(), 0);
                let read = decoded.read(&mut buf[len..]);
                buf.truncate(len + *read.as_ref().unwrap_or(&0));
                read.map_err(|e| self.damaged(e))?
            }
        };
        self.offset += n as u64;
        Ok(if n == 0 { Got::End } else { Got::Bytes(n) })
    }

    /// Reads a pipe's first bytes until they tell its format; true once they have. Compressed,
    /// those bytes and the rest of the pipe are read through a decoder from now on.
    fn sniff(&mut self) -> io::Result<bool> {
        let State::Sniffing(head) = &mut self.state else {
            return Ok(true);
        };
        head.reserve(SNIFF_READ);
        let n = rustix::io::read(&self.file, rustix::buffer::spare_capacity(head))?;
        self.raw.fetch_add(n as u64, Ordering::Relaxed);
        if n > 0 && Codec::undecided(head) {
            return Ok(false);
        }
        let head = std::mem::take(head);
        self.state = match Codec::sniff(&head) {
            Some(codec) => {
                self.codec = Some(codec);
                let rest = Counted {
                    inner: self.file.try_clone()?,
                    raw: self.raw.clone(),
                };
                State::Decoded(codec.decoder(io::Cursor::new(head).chain(rest))?)
            }
            None => State::Plain(head),
        };
        Ok(true)
    }

    /// A decoding error, saying where the text broke off.
    fn damaged(&self, error: io::Error) -> io::Error {
        if error.kind() == ErrorKind::Interrupted {
            return error;
        }
        let damaged = Damaged {
            codec: self.codec.map_or("compressed", Codec::name),
            offset: self.offset,
            error,
        };
        io::Error::new(ErrorKind::InvalidData, damaged)
    }

    /// Up to `len` bytes of the text from `offset` on (fewer at its end): what checkpoints
    /// compare. For a compressed input this decodes everything before `offset`, which is the
    /// price of resuming inside one.
    pub fn content_at(mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if self.regular && matches!(self.state, State::Plain(_)) {
            return read_at(&self.file, offset, len);
        }
        io::copy(&mut self.by_ref().take(offset), &mut io::sink())?;
        let mut bytes = Vec::with_capacity(len);
        self.take(len as u64).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// The text, read as any reader is: blocking on a pipe until it has something.
impl Read for Source {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while !self.sniff()? {}
        let n = match &mut self.state {
            State::Plain(held) if !held.is_empty() => {
                let n = held.len().min(out.len());
                out[..n].copy_from_slice(&held[..n]);
                held.drain(..n);
                n
            }
            State::Plain(_) | State::Sniffing(_) => {
                let n = (&self.file).read(out)?;
                self.raw.fetch_add(n as u64, Ordering::Relaxed);
                n
            }
            State::Decoded(decoded) => {
                let read = decoded.read(out);
                read.map_err(|e| self.damaged(e))?
            }
        };
        self.offset += n as u64;
        Ok(n)
    }
}

/// Compressed data that does not decode: its text breaks off after `offset` bytes.
#[derive(Debug)]
pub struct Damaged {
    codec: &'static str,
    pub offset: u64,
    error: io::Error,
}

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{} data is damaged or cut short after {} bytes of text ({})",
            self.codec, self.offset, self.error
        )
    }
}

impl std::error::Error for Damaged {}

impl Damaged {
    /// The damage an I/O error reports, if it is one.
    pub fn of(error: &io::Error) -> Option<&Damaged> {
        error.get_ref()?.downcast_ref()
    }
}

/// A compressed input that counts the bytes read from it.
struct Counted {
    inner: File,
    raw: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.raw.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What a checkpoint needs of the bytes consumed so far: the first ones (the fingerprint) and
/// the last ones (the tail). `head` always holds the first `min(FINGERPRINT_BYTES, offset)`.
#[derive(Default)]
pub struct Seen {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

impl Seen {
    /// Reads and drops the first `n` bytes of `reader`, keeping what a checkpoint needs of
    /// them; fails when there are fewer.
    fn consume(&mut self, reader: &mut dyn Read, n: u64) -> io::Result<()> {
        let mut chunk = vec![0; 64 * 1024];
        let mut left = n;
        while left > 0 {
            let want = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let got = match reader.read(&mut chunk[..want]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        format!("holds fewer than the {n} bytes of text counted before"),
                    ));
                }
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.add(&chunk[..got]);
            left -= got as u64;
        }
        Ok(())
    }

    /// Bytes consumed after the ones seen so far.
    pub fn add(&mut self, consumed: &[u8]) {
        let take = (FINGERPRINT_BYTES - self.head.len().min(FINGERPRINT_BYTES)).min(consumed.len());
        self.head.extend_from_slice(&consumed[..take]);
        if consumed.len() >= TAIL_BYTES {
            self.tail.clear();
            self.tail
                .extend_from_slice(&consumed[consumed.len() - TAIL_BYTES..]);
        } else {
            self.tail.extend_from_slice(consumed);
            let excess = self.tail.len().saturating_sub(TAIL_BYTES);
            self.tail.drain(..excess);
        }
    }
}

/// Up to `len` bytes of `file` from `offset` (fewer at its end), read in place.
pub fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut bytes[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Up to `len` bytes of what `path` holds from `offset`, decoded if it is compressed (and
/// `decompress`).
pub fn content_at(path: &Path, decompress: bool, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    Source::open(path, decompress)?.content_at(offset, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        out.write_all(text).unwrap();
        out.finish().unwrap()
    }

    /// Everything `read_into` gives, with a buffer of `room` bytes at a time.
    fn read_all_into(source: &mut Source, room: usize) -> Vec<u8> {
        let mut text = Vec::new();
        loop {
            let mut buf = Vec::with_capacity(room);
            match source.read_into(&mut buf).unwrap() {
                Got::Bytes(n) => {
                    assert_eq!(buf.len(), n);
                    text.extend(buf);
                }
                Got::Again => {}
                Got::End => return text,
            }
        }
    }

    #[test]
    fn plain_and_compressed_files_give_their_text_with_offsets_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"first line\nsecond line\nthird line\n";
        let plain = dir.path().join("plain.log");
        std::fs::write(&plain, text).unwrap();
        let packed = dir.path().join("packed.log");
        std::fs::write(&packed, gzip(text)).unwrap();
        for path in [&plain, &packed] {
            let mut source = Source::open(path, true).unwrap();
            assert_eq!(read_all_into(&mut source, 7), text, "{path:?}");
            assert_eq!(source.offset(), text.len() as u64);
            assert_eq!(source.raw_read(), std::fs::metadata(path).unwrap().len());
            let mut source = Source::open(path, true).unwrap();
            let seen = source.start_at(11).unwrap();
            assert_eq!(seen.head, b"first line\n");
            let mut rest = Vec::new();
            source.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, b"second line\nthird line\n", "{path:?}");
            assert_eq!(content_at(path, true, 11, 6).unwrap(), b"second");
            assert_eq!(content_at(path, true, 30, 10).unwrap(), b"ine\n");
        }
        let source = Source::open(&packed, false).unwrap();
        assert_eq!(source.codec(), None);
        assert_eq!(content_at(&packed, false, 0, 2).unwrap(), [0x1f, 0x8b]);
        let source = Source::open(&packed, true).unwrap().known_as(&plain);
        assert_eq!(source.codec(), Some(Codec::Gzip));
        assert_eq!(source.identity().unwrap().path, plain);
    }

    #[test]
    fn a_pipe_is_known_by_its_first_bytes_however_they_arrive() {
        for (bytes, text) in [
            (gzip(b"a\nb\n"), &b"a\nb\n"[..]),
            (b"plain\n".to_vec(), b"plain\n"),
            (vec![0x1f], b"\x1f"),
            (Vec::new(), b""),
        ] {
            // One byte at a time, as a slow writer might send them.
            let (read_end, write_end) = rustix::pipe::pipe().unwrap();
            let writer = std::thread::spawn(move || {
                let mut out = File::from(write_end);
                for byte in bytes {
                    out.write_all(&[byte]).unwrap();
                }
            });
            let mut source = Source::of(File::from(read_end), None, true).unwrap();
            assert_eq!(read_all_into(&mut source, 4), text);
            writer.join().unwrap();
        }
    }

    #[test]
    fn damage_names_the_format_and_where_the_text_broke_off() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.gz");
        std::fs::write(&fake, b"\x1f\x8bnot gzip at all\n").unwrap();
        let mut source = Source::open(&fake, true).unwrap();
        let error = source.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(Damaged::of(&error).map(|d| d.offset), Some(0));
        assert!(error.to_string().starts_with("gzip data is damaged"), "{error}");
    }
}
