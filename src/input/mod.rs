//! Inputs: standard input and files, cut into blocks of whole lines.
//!
//! A reader fills a large buffer, cuts it after the last newline and sends the lines before the
//! cut as one `Block`, carrying the partial line into the next buffer. A line longer than
//! `max_line_bytes` is never held whole: once the carried bytes pass the limit they are dropped
//! up to the next newline and the line is counted as oversize.

mod block;

pub use block::{Block, BufferPool, lines};

use std::fs::File;
use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crossbeam_channel::Sender;

use crate::stop::{Stop, Wait};

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
}

/// Reads every input in order and sends its blocks, until the inputs end or `stop` is
/// requested. A stop is honoured between reads: every byte read has been sent by then.
pub fn read_all(
    inputs: &[Input],
    options: &ReadOptions,
    pool: &BufferPool,
    events: &Sender<ReadEvent>,
    stop: &Stop,
) {
    for (source, input) in inputs.iter().enumerate() {
        if stop.requested() {
            return;
        }
        let opened = match input {
            Input::Stdin => std::io::stdin().as_fd().try_clone_to_owned().map(File::from),
            Input::File(path) => File::open(path),
        };
        let result = opened.and_then(|file| {
            let mut reader = SourceReader::new(source, file, options, pool, events, stop)?;
            reader.run()
        });
        if let Err(error) = result {
            let failed = ReadEvent::Failed {
                input: input.display(),
                error,
            };
            if events.send(failed).is_err() {
                return;
            }
        }
    }
}

/// Reads one open input to its end.
struct SourceReader<'a> {
    source: usize,
    file: File,
    /// Regular files never block, so they are read without polling.
    regular: bool,
    options: &'a ReadOptions,
    pool: &'a BufferPool,
    events: &'a Sender<ReadEvent>,
    stop: &'a Stop,
    /// Bytes read, not yet sent: a partial line at the front, then whatever the last read added.
    buf: Vec<u8>,
    /// Offset in the input of `buf[0]`.
    buf_offset: u64,
    /// Inside a line too long to keep: its bytes are dropped until the next newline.
    skipping: bool,
    /// Oversize lines dropped since the last block was sent.
    oversize: u64,
}

impl<'a> SourceReader<'a> {
    fn new(
        source: usize,
        file: File,
        options: &'a ReadOptions,
        pool: &'a BufferPool,
        events: &'a Sender<ReadEvent>,
        stop: &'a Stop,
    ) -> std::io::Result<SourceReader<'a>> {
        let regular = file.metadata()?.is_file();
        Ok(SourceReader {
            source,
            file,
            regular,
            options,
            pool,
            events,
            stop,
            buf: pool.take(options.block_size),
            buf_offset: 0,
            skipping: false,
            oversize: 0,
        })
    }

    fn run(&mut self) -> std::io::Result<()> {
        loop {
            if self.regular {
                if self.stop.requested() {
                    return Ok(());
                }
            } else if self.stop.wait_readable(&self.file, None)? == Wait::Stopped {
                return Ok(());
            }
            if self.buf.len() == self.buf.capacity() {
                self.buf.reserve(self.options.block_size.max(self.buf.len()));
            }
            let n = match read_spare(&self.file, &mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.finish();
                return Ok(());
            }
            if !self.cut() {
                return Ok(());
            }
        }
    }

    /// Sends the whole lines in `buf` and keeps the partial one. False when the pipeline is gone.
    fn cut(&mut self) -> bool {
        if self.skipping {
            match memchr::memchr(b'\n', &self.buf) {
                None => {
                    self.buf_offset += self.buf.len() as u64;
                    self.buf.clear();
                    return true;
                }
                Some(newline) => {
                    self.buf.drain(..=newline);
                    self.buf_offset += newline as u64 + 1;
                    self.oversize += 1;
                    self.skipping = false;
                }
            }
        }
        match memchr::memrchr(b'\n', &self.buf) {
            Some(last) => {
                let mut next = self.pool.take(self.options.block_size);
                next.extend_from_slice(&self.buf[last + 1..]);
                self.buf.truncate(last + 1);
                let data = std::mem::replace(&mut self.buf, next);
                self.send(data)
            }
            None => {
                if self.buf.len() > self.options.max_line_bytes {
                    self.buf_offset += self.buf.len() as u64;
                    self.buf.clear();
                    self.skipping = true;
                }
                true
            }
        }
    }

    /// At end of input, a last line without a newline still counts.
    fn finish(&mut self) {
        if self.skipping {
            self.oversize += 1;
            self.skipping = false;
        }
        if !self.buf.is_empty() || self.oversize > 0 {
            let data = std::mem::take(&mut self.buf);
            self.send(data);
        }
    }

    fn send(&mut self, data: Vec<u8>) -> bool {
        let end = self.buf_offset + data.len() as u64;
        let block = Block {
            source: self.source,
            end,
            data,
            oversize: std::mem::take(&mut self.oversize),
        };
        self.buf_offset = end;
        self.events.send(ReadEvent::Block(block)).is_ok()
    }
}

/// Reads into the spare capacity of `buf`, growing its length by the bytes read. rustix reads
/// into uninitialised memory safely, which saves zeroing a megabyte before every read.
fn read_spare(file: &File, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    Ok(rustix::io::read(file, rustix::buffer::spare_capacity(buf))?)
}

/// Whether a path names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}
