//! Reading one open input into blocks of whole lines, and knowing how far it has got.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;

use crate::checkpoint::{Digest, FINGERPRINT_BYTES, FilePosition, TAIL_BYTES};
use crate::input::decode::Codec;
use crate::input::{Block, Context, ReadEvent};
use crate::progress::Meter;
use crate::stop::Wait;

/// Which file an input reader reads, for checkpoints.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The input's path as named (made absolute): checkpoints are kept per named path.
    pub path: PathBuf,
    pub device: u64,
    pub inode: u64,
}

/// How a read ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// Nothing more to read for now.
    Eof,
    /// A stop was requested; every byte read was sent.
    Stopped,
    /// The pipeline is gone.
    Closed,
}

pub struct SourceReader<'a> {
    ctx: &'a Context<'a>,
    source: usize,
    file: File,
    /// Regular files never block, so they are read without polling.
    regular: bool,
    /// The decoded text of a compressed input, read instead of `file`; offsets count its bytes.
    decoded: Option<Box<dyn Read + Send>>,
    codec: Option<Codec>,
    /// Whether the input's first bytes were looked at for a compression format yet.
    sniffed: bool,
    identity: Option<Identity>,
    /// Bytes read, not yet sent: a partial line at the front, then whatever the last read added.
    buf: Vec<u8>,
    /// Offset in the input of `buf[0]`: everything before it has been sent (or dropped).
    buf_offset: u64,
    /// Inside a line too long to keep: its bytes are dropped until the next newline.
    skipping: bool,
    /// Oversize lines dropped since the last block was sent.
    oversize: u64,
    /// The first and last bytes consumed, for checkpoints (files only).
    seen: Seen,
}

impl<'a> SourceReader<'a> {
    /// A reader of `file` from byte `start`, which must be 0 or the end of a line. A regular
    /// file's format is known from its first bytes; a compressed one is read decoded, and
    /// `start` counts decoded bytes. A plain file must already be positioned at `start`.
    pub fn new(
        ctx: &'a Context<'a>,
        file: File,
        path: Option<PathBuf>,
        start: u64,
    ) -> std::io::Result<SourceReader<'a>> {
        let meta = file.metadata()?;
        let identity = path.map(|path| Identity {
            path,
            device: meta.dev(),
            inode: meta.ino(),
        });
        let codec = match ctx.options.decompress && meta.is_file() {
            true => Codec::of_file(&file)?,
            false => None,
        };
        let mut seen = Seen::default();
        let decoded = match codec {
            Some(codec) => {
                let compressed = Counted {
                    inner: file.try_clone()?,
                    meter: ctx.meter.clone(),
                };
                let mut decoded = codec.decoder(compressed)?;
                // The text before `start` was counted by an earlier run; decoding it again
                // is the only way to reach `start` and to know what a checkpoint says of it.
                seen.consume(&mut decoded, start)?;
                Some(decoded)
            }
            None => {
                if start > 0 {
                    seen.head = read_at(&file, 0, FINGERPRINT_BYTES.min(start as usize))?;
                    let tail_len = TAIL_BYTES.min(start as usize);
                    seen.tail = read_at(&file, start - tail_len as u64, tail_len)?;
                }
                // What a resumed file holds before `start` was read by an earlier run: the
                // progress bar counts it as done.
                ctx.meter.add_bytes(start);
                None
            }
        };
        if codec.is_some() {
            let _ = ctx.events.send(ReadEvent::Decompressed);
        }
        Ok(SourceReader {
            ctx,
            source: ctx.next_source(),
            file,
            regular: meta.is_file(),
            sniffed: meta.is_file() || !ctx.options.decompress,
            decoded,
            codec,
            identity,
            buf: ctx.pool.take(ctx.options.block_size),
            buf_offset: start,
            skipping: false,
            oversize: 0,
            seen,
        })
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Bytes of the file read so far, sent or not.
    pub fn read_offset(&self) -> u64 {
        self.buf_offset + self.buf.len() as u64
    }

    /// Where the file stands now: counted once every block sent so far is.
    pub fn position(&self) -> Option<FilePosition> {
        let identity = self.identity.as_ref()?;
        Some(FilePosition {
            path: identity.path.clone(),
            device: identity.device,
            inode: identity.inode,
            fingerprint: Digest::of(&self.seen.head),
            offset: self.buf_offset,
            tail: Digest::of(&self.seen.tail),
        })
    }

    /// Tells the pipeline where this file starts being read.
    pub fn announce(&self) -> bool {
        match self.position() {
            Some(position) => self.ctx.events.send(ReadEvent::Position(position)).is_ok(),
            None => true,
        }
    }

    /// Reads until the input has nothing more for now.
    pub fn read_available(&mut self) -> std::io::Result<ReadEnd> {
        loop {
            if self.regular || self.decoded.is_some() {
                if self.ctx.stop.requested() {
                    return Ok(ReadEnd::Stopped);
                }
            } else if self.ctx.stop.wait_readable(&self.file)? == Wait::Stopped {
                return Ok(ReadEnd::Stopped);
            }
            if self.buf.len() == self.buf.capacity() {
                self.buf.reserve(self.ctx.options.block_size.max(self.buf.len()));
            }
            let n = match &mut self.decoded {
                Some(decoded) => {
                    // `Read` wants initialised bytes; zeroing the room is cheap beside decoding.
                    let len = self.buf.len();
                    self.buf.resize(self.buf.capacity(), 0);
                    let read = decoded.read(&mut self.buf[len..]);
                    self.buf.truncate(len + *read.as_ref().unwrap_or(&0));
                    match read {
                        Ok(n) => n,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => return Err(self.damaged(e)),
                    }
                }
                None => match rustix::io::read(&self.file, rustix::buffer::spare_capacity(&mut self.buf)) {
                    Ok(n) => {
                        self.ctx.meter.add_bytes(n as u64);
                        n
                    }
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                },
            };
            if !self.sniffed && !self.sniff(n == 0)? {
                continue;
            }
            if n == 0 {
                return Ok(ReadEnd::Eof);
            }
            if !self.cut() {
                return Ok(ReadEnd::Closed);
            }
        }
    }

    /// Looks at the first bytes of a pipe (standard input): compressed, the bytes read so far
    /// and the rest of the pipe are read through a decoder from now on. False while too few
    /// bytes have arrived to tell (only while they are the start of some magic bytes, so a
    /// short first line of a live stream is never held back).
    fn sniff(&mut self, at_end: bool) -> std::io::Result<bool> {
        if Codec::undecided(&self.buf) && !at_end {
            return Ok(false);
        }
        self.sniffed = true;
        if let Some(codec) = Codec::sniff(&self.buf) {
            let head = std::mem::take(&mut self.buf);
            let rest = self.file.try_clone()?;
            self.buf = self.ctx.pool.take(self.ctx.options.block_size);
            self.decoded = Some(codec.decoder(std::io::Cursor::new(head).chain(rest))?);
            self.codec = Some(codec);
            let _ = self.ctx.events.send(ReadEvent::Decompressed);
            // Pipes were counted as they were read; the decoded text is not counted again.
            return Ok(false);
        }
        Ok(true)
    }

    /// A decoding error, saying where the text broke off.
    fn damaged(&self, error: std::io::Error) -> std::io::Error {
        std::io::Error::new(
            ErrorKind::InvalidData,
            format!(
                "{} data is damaged or cut short after {} bytes of text ({error}); the lines \
                 before that were counted",
                self.codec.map_or("compressed", Codec::name),
                self.read_offset()
            ),
        )
    }

    /// At the true end of an input, a last line without a newline still counts (and an
    /// oversize line still being skipped is one). False when the pipeline is gone.
    pub fn finish(&mut self) -> bool {
        if self.skipping {
            self.consume_dropped(self.buf.len());
            self.oversize += 1;
            self.skipping = false;
        }
        if self.buf.is_empty() && self.oversize == 0 {
            return true;
        }
        let data = std::mem::take(&mut self.buf);
        self.send(data)
    }

    /// Whether the bytes before the read offset are still what was read: false when the file
    /// was truncated and written again past that point between two looks.
    pub fn still_matches(&self) -> std::io::Result<bool> {
        let tail = &self.seen.tail;
        let start = self.buf_offset - tail.len() as u64;
        let len = (self.read_offset() - start) as usize;
        let now = read_at(&self.file, start, len)?;
        Ok(now.len() == len && now[..tail.len()] == tail[..] && now[tail.len()..] == self.buf[..])
    }

    /// Sends the whole lines in `buf` and keeps the partial one. False when the pipeline is gone.
    fn cut(&mut self) -> bool {
        if self.skipping {
            match memchr::memchr(b'\n', &self.buf) {
                None => {
                    self.consume_dropped(self.buf.len());
                    return true;
                }
                Some(newline) => {
                    self.consume_dropped(newline + 1);
                    self.oversize += 1;
                    self.skipping = false;
                }
            }
        }
        let Some(last) = memchr::memrchr(b'\n', &self.buf) else {
            // A partial line of max+1 bytes may still be a line of max bytes and its '\r'.
            let max = self.ctx.options.max_line_bytes;
            let len = self.buf.len();
            if len > max + 1 || (len == max + 1 && self.buf.last() != Some(&b'\r')) {
                self.consume_dropped(len);
                self.skipping = true;
            }
            return true;
        };
        if let Some(cap) = self.ctx.options.max_lines_per_block {
            return self.cut_capped(last, cap);
        }
        let mut next = self.ctx.pool.take(self.ctx.options.block_size);
        next.extend_from_slice(&self.buf[last + 1..]);
        self.buf.truncate(last + 1);
        let data = std::mem::replace(&mut self.buf, next);
        self.send(data)
    }

    /// Sends the whole lines before `last` (a newline) in blocks of at most `cap` lines, so that
    /// a worker's map passes `--max-keys` by at most one block's worth of keys.
    fn cut_capped(&mut self, last: usize, cap: usize) -> bool {
        let mut from = 0;
        while from <= last {
            let end = memchr::memchr_iter(b'\n', &self.buf[from..=last])
                .nth(cap - 1)
                .map_or(last, |i| from + i);
            let mut data = self.ctx.pool.take(end + 1 - from);
            data.extend_from_slice(&self.buf[from..=end]);
            from = end + 1;
            if !self.send(data) {
                return false;
            }
        }
        self.buf.drain(..from);
        true
    }

    /// Drops the first `n` bytes of `buf`, which belong to an oversize line.
    fn consume_dropped(&mut self, n: usize) {
        if self.identity.is_some() {
            self.seen.add(&self.buf[..n]);
        }
        self.buf.drain(..n);
        self.buf_offset += n as u64;
    }

    /// A regular file's modification time, or the clock for a pipe or a terminal.
    fn written_by(&self) -> i64 {
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

    fn send(&mut self, data: Vec<u8>) -> bool {
        if self.identity.is_some() {
            self.seen.add(&data);
        }
        self.buf_offset += data.len() as u64;
        let block = Block {
            source: self.source,
            data,
            oversize: std::mem::take(&mut self.oversize),
            position: self.position(),
            written_by: self.written_by(),
        };
        self.ctx.events.send(ReadEvent::Block(block)).is_ok()
    }
}

/// A compressed input that adds the bytes read from it to the meter: the progress bar of a
/// compressed file counts its compressed bytes against its size.
struct Counted {
    inner: File,
    meter: Meter,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.add_bytes(n as u64);
        Ok(n)
    }
}

/// What a checkpoint needs of the bytes consumed so far: the first ones (the fingerprint) and
/// the last ones (the tail). `head` always holds the first `min(FINGERPRINT_BYTES, offset)`.
#[derive(Default)]
struct Seen {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Seen {
    /// Reads and drops the first `n` bytes of `reader`, keeping what a checkpoint needs of
    /// them; fails when there are fewer.
    fn consume(&mut self, reader: &mut dyn Read, n: u64) -> std::io::Result<()> {
        let mut chunk = vec![0; 64 * 1024];
        let mut left = n;
        while left > 0 {
            let want = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let got = match reader.read(&mut chunk[..want]) {
                Ok(0) => {
                    return Err(std::io::Error::new(
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

    fn add(&mut self, consumed: &[u8]) {
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

/// Up to `len` bytes of `file` from `offset` (fewer at its end).
pub fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
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
