//! Reading one source into blocks of whole lines, and knowing how far it has got.

use std::io::ErrorKind;

use crate::checkpoint::{Digest, FilePosition};
use crate::input::source::{Damaged, Got, Identity, Seen, Source, read_at};
use crate::input::{Block, Context, ReadEvent};
use crate::stop::Wait;

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
    /// Which opening of an input this is (see `Block::source`).
    number: usize,
    source: Source,
    /// Whether the pipeline was told the source is read decoded (a pipe tells late).
    told_decoded: bool,
    /// The source's bytes already added to the progress meter.
    metered: u64,
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
    /// A reader of `source` from byte `start` of its text, which must be 0 or the end of a
    /// line: what comes before it was counted by an earlier run.
    pub fn new(ctx: &'a Context<'a>, mut source: Source, start: u64) -> std::io::Result<SourceReader<'a>> {
        let seen = source.start_at(start)?;
        let mut reader = SourceReader {
            ctx,
            number: ctx.next_source(),
            source,
            told_decoded: false,
            metered: 0,
            buf: ctx.pool.take(ctx.options.block_size),
            buf_offset: start,
            skipping: false,
            oversize: 0,
            seen,
        };
        reader.account();
        Ok(reader)
    }

    /// Adds what the source read since the last look to the progress meter (for a resumed
    /// file, what it passed over counts as done), and says once that it is read decoded.
    fn account(&mut self) {
        let raw = self.source.raw_read();
        self.ctx.meter.add_bytes(raw - self.metered);
        self.metered = raw;
        if !self.told_decoded && self.source.codec().is_some() {
            self.told_decoded = true;
            let _ = self.ctx.events.send(ReadEvent::Decompressed);
        }
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.source.identity()
    }

    /// Bytes of the file read so far, sent or not.
    pub fn read_offset(&self) -> u64 {
        self.buf_offset + self.buf.len() as u64
    }

    /// Where the file stands now: counted once every block sent so far is.
    pub fn position(&self) -> Option<FilePosition> {
        let identity = self.source.identity()?;
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
            let stopped = match self.source.wait_on() {
                None => self.ctx.stop.requested(),
                Some(fd) => self.ctx.stop.wait_readable(fd)? == Wait::Stopped,
            };
            if stopped {
                return Ok(ReadEnd::Stopped);
            }
            if self.buf.len() == self.buf.capacity() {
                self.buf.reserve(self.ctx.options.block_size.max(self.buf.len()));
            }
            let got = self.source.read_into(&mut self.buf);
            self.account();
            match got {
                Ok(Got::Bytes(_)) => {
                    if !self.cut() {
                        return Ok(ReadEnd::Closed);
                    }
                }
                Ok(Got::End) => return Ok(ReadEnd::Eof),
                Ok(Got::Again) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(counted_before(e)),
            }
        }
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
        let now = read_at(self.source.file(), start, len)?;
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
        if self.source.identity().is_some() {
            self.seen.add(&self.buf[..n]);
        }
        self.buf.drain(..n);
        self.buf_offset += n as u64;
    }

    fn send(&mut self, data: Vec<u8>) -> bool {
        if self.source.identity().is_some() {
            self.seen.add(&data);
        }
        self.buf_offset += data.len() as u64;
        let block = Block {
            source: self.number,
            data,
            oversize: std::mem::take(&mut self.oversize),
            position: self.position(),
            written_by: self.source.written_by(),
        };
        self.ctx.events.send(ReadEvent::Block(block)).is_ok()
    }
}

/// A decoding error as the reader reports it: the lines before the damage were counted.
fn counted_before(error: std::io::Error) -> std::io::Error {
    match Damaged::of(&error) {
        Some(damaged) => std::io::Error::new(
            ErrorKind::InvalidData,
            format!("{damaged}; the lines before that were counted"),
        ),
        None => error,
    }
}
