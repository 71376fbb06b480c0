//! A block of whole lines from one input, the buffers blocks are made of, and line splitting.

use crossbeam_channel::{Receiver, Sender};

use crate::checkpoint::FilePosition;

/// Whole lines read from one input.
#[derive(Debug)]
pub struct Block {
    /// Which opened file (or stdin) the block comes from.
    pub source: usize,
    /// Lines, each ending in `\n` but perhaps the last one at end of input.
    pub data: Vec<u8>,
    /// Oversize lines dropped by the reader since the previous block.
    pub oversize: u64,
    /// For a file: where it stands once this block is counted, including the bytes of
    /// oversize lines dropped before the block.
    pub position: Option<FilePosition>,
    /// When the block was read, as the input knows it, in Unix seconds: a regular file's
    /// modification time (its lines were written before it), or the clock for anything else.
    /// Syslog times, which have no year, take theirs from it.
    pub written_by: i64,
}

/// Buffers handed back by the workers, so that reading does not allocate (and page-fault in)
/// a fresh megabyte for every block.
#[derive(Clone)]
pub struct BufferPool {
    free: Receiver<Vec<u8>>,
    give: Sender<Vec<u8>>,
}

/// Buffers kept for reuse; more than the blocks that can be in flight at once is waste.
const POOL_CAPACITY: usize = 32;

impl BufferPool {
    pub fn new() -> BufferPool {
        let (give, free) = crossbeam_channel::bounded(POOL_CAPACITY);
        BufferPool { free, give }
    }

    /// An empty buffer with room for at least `capacity` bytes.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        match self.free.try_recv() {
            Ok(mut buf) => {
                buf.clear();
                buf.reserve(capacity);
                buf
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    /// Returns a buffer for reuse; it is dropped when the pool is full.
    pub fn give(&self, buf: Vec<u8>) {
        let _ = self.give.try_send(buf);
    }
}

impl Default for BufferPool {
    fn default() -> BufferPool {
        BufferPool::new()
    }
}

/// The lines of `data`, without their `\n` and without one trailing `\r`. A last line with
/// no `\n` is a line; the empty tail after a final `\n` is not.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8]) -> Vec<&[u8]> {
        lines(data).collect()
    }

    #[test]
    fn splits_lines() {
        assert_eq!(all(b"a\nb\n"), [&b"a"[..], b"b"]);
        assert_eq!(all(b"a\nb"), [&b"a"[..], b"b"]);
        assert_eq!(all(b"\n\n"), [&b""[..], b""]);
        assert!(all(b"").is_empty());
    }

    #[test]
    fn drops_one_carriage_return() {
        assert_eq!(all(b"a\r\nb\r\r\n\r"), [&b"a"[..], b"b\r", b""]);
    }

    #[test]
    fn pool_reuses_buffers() {
        let pool = BufferPool::new();
        let mut buf = pool.take(64);
        buf.extend_from_slice(b"old");
        let ptr = buf.as_ptr();
        pool.give(buf);
        let again = pool.take(16);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), ptr);
    }
}
