//! An extract worker: counts the blocks it is given, keeping the keys of its own shard.
//!
//! Keys are split between the workers by hash, so every key lives in one map only: a million
//! distinct keys cost their memory once, and a flush needs no merge. A worker counts a key of
//! another shard in a small map for that shard and hands the map to its owner when it holds
//! [`FOREIGN_KEYS`] keys, so few keys (most logs) never cross threads before a flush.
//!
//! A flush is a barrier. A worker that reaches the flush marker sends what it holds for the
//! others, then a `Sealed` message to each; once it has a `Sealed` from every other worker it
//! has every count of the window for its shard (messages between two workers arrive in the
//! order they were sent), sorts them and hands them over. Messages a worker receives from a
//! worker whose `Sealed` it already has belong to the next window, so it leaves them queued
//! until its own barrier is passed.

use crossbeam_channel::{Receiver, Select, Sender, TryRecvError};

use crate::counter::{Counts, KeyHasher, LineStats, MAX_KEY_BYTES, RowOrder, Sorted};
use crate::extract::{Extractor, Outcome};
use crate::input::{self, Block, BufferPool};
use crate::progress::Meter;

/// Distinct keys of another shard a worker gathers before handing them to their owner.
const FOREIGN_KEYS: usize = 16 * 1024;
/// Handovers queued between two workers.
const EXCHANGE_QUEUE: usize = 2;
/// Emptied maps a worker keeps for its next handovers.
const SPARE_MAPS: usize = 2;

/// What the dispatcher sends a worker.
pub enum WorkerMessage {
    Block(Block),
    Flush,
}

/// One worker's counts of one window: its shard, sorted.
pub struct Partial {
    pub rows: Sorted,
    pub stats: LineStats,
}

/// Keys of a worker's own shard looked up together (see `Batch`).
const BATCH_KEYS: usize = 16;
/// Longer keys are looked up at once rather than copied into a batch.
const BATCHED_KEY_BYTES: usize = 256;
/// Below this many keys a map stays in the CPU's caches: batching would only cost the copy.
const BATCH_FROM_KEYS: usize = 1 << 15;

/// Keys waiting to be counted, so that the memory each lookup needs is asked for ahead of it:
/// the slot when the key joins the batch, the record before the batch is counted. A million
/// keys do not fit in the CPU's caches, and these waits then overlap instead of adding up.
#[derive(Default)]
pub struct Batch {
    /// Hash, value, and the key's end in `keys`, for each key.
    entries: Vec<(u64, i64, usize)>,
    keys: Vec<u8>,
}

impl Batch {
    fn push(&mut self, hash: u64, key: &[u8], value: i64) {
        self.keys.extend_from_slice(key);
        self.entries.push((hash, value, self.keys.len()));
    }

    fn is_full(&self) -> bool {
        self.entries.len() == BATCH_KEYS
    }

    /// Counts the batch into `counts` and empties it.
    fn add_to(&mut self, counts: &mut Counts) {
        let mut keys: [(u64, &[u8], i64); BATCH_KEYS] = [(0, &[], 0); BATCH_KEYS];
        let mut start = 0;
        for (slot, &(hash, value, end)) in keys.iter_mut().zip(&self.entries) {
            *slot = (hash, &self.keys[start..end], value);
            start = end;
        }
        counts.add_prefetched(&keys[..self.entries.len()]);
        self.entries.clear();
        self.keys.clear();
    }
}

/// What bounds a worker's memory.
#[derive(Clone, Copy)]
pub struct Limits {
    pub max_line_bytes: usize,
    pub max_keys: usize,
}

/// What one worker sends another.
enum Exchange {
    /// Counts of keys of the receiver's shard.
    Counts(Counts),
    /// The sender has sent all it had for the current window.
    Sealed,
}

/// The channels between one worker and each of the others.
pub struct Links {
    /// Indexed by worker; `None` at this worker's own index.
    to: Vec<Option<Sender<Exchange>>>,
    from: Vec<Option<Receiver<Exchange>>>,
}

/// Channels between every pair of `n` workers: the links of worker `i` are at index `i`.
pub fn links(n: usize) -> Vec<Links> {
    let mut all: Vec<Links> = (0..n)
        .map(|_| Links {
            to: (0..n).map(|_| None).collect(),
            from: (0..n).map(|_| None).collect(),
        })
        .collect();
    for from in 0..n {
        for to in 0..n {
            if from != to {
                let (tx, rx) = crossbeam_channel::bounded(EXCHANGE_QUEUE);
                all[from].to[to] = Some(tx);
                all[to].from[from] = Some(rx);
            }
        }
    }
    all
}

/// The shard of a key among `n` (0 when `n` is 1): a multiply-shift of bits 16 to 47 of the
/// hash, which the maps' own indexes leave alone (they take the lowest bits for the slot and
/// the top 16 as a tag), so keys stay spread over the slots and tags within a shard.
#[inline]
fn shard_of(hash: u64, n: usize) -> usize {
    ((u64::from((hash >> 16) as u32) * n as u64) >> 32) as usize
}

/// Everything a worker needs besides its queue.
pub struct Worker<'p> {
    pub me: usize,
    pub extractor: Extractor,
    pub hasher: KeyHasher,
    pub links: Links,
    pub limits: Limits,
    pub parts: usize,
    pub order: RowOrder,
    pub partials: Sender<Partial>,
    /// Told (once a window) when this worker's maps hold `--max-keys` keys.
    pub full: Sender<()>,
    pub pool: &'p BufferPool,
    pub meter: &'p Meter,
    /// Empty between blocks.
    pub batch: Batch,
}

/// A worker's counts of the current window.
struct Window {
    own: Counts,
    /// Keys of other shards, by shard (this worker's own index stays empty).
    foreign: Vec<Counts>,
    stats: LineStats,
    /// The workers whose `Sealed` for this window has come.
    sealed: Vec<bool>,
    /// Maps handed over by the others, merged and emptied: the next foreign maps. Reusing
    /// them spares an allocation, and the page faults of a fresh one, per handover.
    spare: Vec<Counts>,
}

impl Window {
    fn keys(&self) -> usize {
        self.own.len() + self.foreign.iter().map(Counts::len).sum::<usize>()
    }

    fn receive(&mut self, from: usize, message: Exchange) {
        match message {
            Exchange::Counts(mut counts) => {
                self.own.merge(&counts);
                if self.spare.len() < SPARE_MAPS {
                    counts.clear();
                    self.spare.push(counts);
                }
            }
            Exchange::Sealed => self.sealed[from] = true,
        }
    }

    /// Hands over the map gathered for `shard`, putting an empty one in its place.
    fn take_foreign(&mut self, shard: usize, hasher: &KeyHasher) -> Counts {
        let empty = self
            .spare
            .pop()
            .unwrap_or_else(|| Counts::with_hasher(hasher.clone()));
        std::mem::replace(&mut self.foreign[shard], empty)
    }
}

impl Worker<'_> {
    /// Counts blocks until the dispatcher hangs up.
    pub fn run(mut self, messages: Receiver<WorkerMessage>) {
        let n = self.links.to.len();
        let mut window = self.new_window(n);
        let mut said_full = false;
        for message in messages {
            match message {
                WorkerMessage::Block(block) => {
                    self.take_in(&mut window);
                    let lines_before = window.stats.lines;
                    self.count_block(&block, &mut window);
                    self.pool.give(block.data);
                    self.meter.add_lines(window.stats.lines - lines_before);
                    let keys = window.keys();
                    self.meter.set_keys(keys as u64);
                    if !said_full && keys >= self.limits.max_keys {
                        said_full = true;
                        let _ = self.full.try_send(());
                    }
                }
                WorkerMessage::Flush => {
                    said_full = false;
                    self.seal(&mut window);
                    let done = std::mem::replace(&mut window, self.new_window(n));
                    // The foreign maps, emptied by the seal, and the spare ones keep their
                    // memory for the next window.
                    window.foreign = done.foreign;
                    window.spare = done.spare;
                    let partial = Partial {
                        rows: done.own.into_sorted(self.order, self.parts),
                        stats: done.stats,
                    };
                    if self.partials.send(partial).is_err() {
                        return;
                    }
                }
            }
        }
    }

    fn new_window(&self, n: usize) -> Window {
        Window {
            own: Counts::with_hasher(self.hasher.clone()),
            foreign: (0..n).map(|_| Counts::with_hasher(self.hasher.clone())).collect(),
            stats: LineStats::default(),
            sealed: (0..n).map(|i| i == self.me).collect(),
            spare: Vec::new(),
        }
    }

    /// Counts the lines of one block.
    fn count_block(&mut self, block: &Block, window: &mut Window) {
        window.stats.lines += block.oversize;
        window.stats.oversize += block.oversize;
        let shards = window.foreign.len();
        let batching = window.own.len() >= BATCH_FROM_KEYS;
        self.extractor.set_written_by(block.written_by);
        for line in input::lines(&block.data) {
            window.stats.lines += 1;
            if line.len() > self.limits.max_line_bytes {
                window.stats.oversize += 1;
                continue;
            }
            let (key, value) = match self.extractor.extract(line) {
                Outcome::Key(key, value) => (key, value),
                Outcome::Unmatched(_) => {
                    window.stats.unmatched += 1;
                    continue;
                }
                Outcome::BadValue => {
                    window.stats.bad_values += 1;
                    continue;
                }
                Outcome::NotJson => {
                    window.stats.not_json += 1;
                    continue;
                }
                Outcome::Filtered(_) => {
                    window.stats.filtered += 1;
                    continue;
                }
                Outcome::NoTime => {
                    window.stats.no_time += 1;
                    continue;
                }
            };
            // A composite key of a line near --max-line-bytes (a field twice, say) can be
            // longer than a record holds: the line is then one too long to count.
            if key.len() > MAX_KEY_BYTES {
                window.stats.oversize += 1;
                continue;
            }
            window.stats.matched += 1;
            let hash = window.own.hash(key);
            let shard = shard_of(hash, shards);
            if shard == self.me {
                if !batching || key.len() > BATCHED_KEY_BYTES {
                    window.own.add_hashed(hash, key, value);
                } else {
                    window.own.prefetch_slot(hash);
                    self.batch.push(hash, key, value);
                    if self.batch.is_full() {
                        self.batch.add_to(&mut window.own);
                    }
                }
                continue;
            }
            let foreign = &mut window.foreign[shard];
            foreign.add_hashed(hash, key, value);
            if foreign.len() >= FOREIGN_KEYS {
                let counts = window.take_foreign(shard, &self.hasher);
                send(&self.links, shard, Exchange::Counts(counts), window);
            }
        }
        self.batch.add_to(&mut window.own);
    }

    /// Takes in what the other workers have sent so far for this window.
    fn take_in(&self, window: &mut Window) {
        for (from, inbox) in self.links.from.iter().enumerate() {
            let Some(inbox) = inbox else { continue };
            while !window.sealed[from] {
                match inbox.try_recv() {
                    Ok(message) => window.receive(from, message),
                    Err(TryRecvError::Empty) => break,
                    // Only a worker that panicked hangs up; it sends nothing more.
                    Err(TryRecvError::Disconnected) => window.sealed[from] = true,
                }
            }
        }
    }

    /// The flush barrier: hands over the keys of other shards, says so, and waits until every
    /// other worker has done the same.
    fn seal(&self, window: &mut Window) {
        for shard in 0..window.foreign.len() {
            if !window.foreign[shard].is_empty() {
                let counts = window.take_foreign(shard, &self.hasher);
                send(&self.links, shard, Exchange::Counts(counts), window);
            }
        }
        for to in 0..self.links.to.len() {
            send(&self.links, to, Exchange::Sealed, window);
        }
        while window.sealed.iter().any(|sealed| !sealed) {
            receive_one(&self.links, None, window);
        }
    }
}

/// Sends `message` to worker `to`, taking in what the others send meanwhile: two workers that
/// send each other a full queue's worth at once must not wait for each other.
fn send(links: &Links, to: usize, message: Exchange, window: &mut Window) {
    let Some(outbox) = &links.to[to] else { return };
    let mut message = Some(message);
    while message.is_some() {
        receive_one(links, Some((outbox, &mut message)), window);
    }
}

/// Waits for one message from a worker whose `Sealed` has not come yet or, when `sending`,
/// for room to send the message, whichever comes first.
fn receive_one(
    links: &Links,
    sending: Option<(&Sender<Exchange>, &mut Option<Exchange>)>,
    window: &mut Window,
) {
    let inboxes: Vec<(usize, &Receiver<Exchange>)> = links
        .from
        .iter()
        .enumerate()
        .filter_map(|(from, inbox)| Some((from, inbox.as_ref()?)))
        .filter(|(from, _)| !window.sealed[*from])
        .collect();
    let mut select = Select::new();
    for (_, inbox) in &inboxes {
        select.recv(inbox);
    }
    let send_index = sending.as_ref().map(|(outbox, _)| select.send(outbox));
    if inboxes.is_empty() && send_index.is_none() {
        return;
    }
    let operation = select.select();
    if let (Some(index), Some((outbox, message))) = (send_index, sending)
        && operation.index() == index
    {
        // Only a worker that panicked refuses it, and its panic ends the run.
        let _ = operation.send(outbox, message.take().expect("a message to send"));
        return;
    }
    let (from, inbox) = inboxes[operation.index()];
    match operation.recv(inbox) {
        Ok(message) => window.receive(from, message),
        // Only a worker that panicked hangs up; it sends nothing more.
        Err(_) => window.sealed[from] = true,
    }
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    #[test]
    fn shards_cover_their_range() {
        let mut seen = [0usize; 3];
        let mut hash = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..3000 {
            hash = hash.wrapping_mul(0x5851_f42d_4c95_7f2d).wrapping_add(1);
            assert_eq!(shard_of(hash, 1), 0);
            seen[shard_of(hash, 3)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(shard_of(u64::MAX, 4), 3);
    }
}
