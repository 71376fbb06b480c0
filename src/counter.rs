//! Per-key totals and per-line statistics: what a worker builds and a flush writes.
//!
//! A map of a million keys is most of statbuf's memory, so keys are not stored one heap
//! allocation each. Every distinct key is one record appended to a byte arena,
//!
//! ```text
//! total: i64 | length: u32 | key bytes
//! ```
//!
//! and an open-addressing index (linear probing) holds, per key, the record's offset and 16 bits
//! of the key's hash in one 8-byte slot. A lookup reads the slot, skips the keys whose hash bits
//! differ without touching them, and reads the record, which holds the key to compare and the
//! total to update side by side. Records are never moved or freed one by one, and walking the
//! arena in order visits every key without touching the index.
//!
//! With a million keys, the slot and the record are both far from the CPU's caches; the worker
//! therefore looks up keys in batches and asks for each one's slot, then its record, ahead of
//! the lookup ([`Counts::prefetch_slot`], [`Counts::add_prefetched`]), so that the waits
//! overlap instead of following each other.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::key;

/// Keys are hashed with foldhash, seeded per process: fast on short keys, and log lines are
/// attacker-controlled input, so the seed must not be predictable. Maps that split keys between
/// them by hash (the workers' shards) share one hasher.
pub type KeyHasher = foldhash::fast::RandomState;

/// Bytes before the key in a record: the total, then the key's length.
const HEADER: usize = 12;

/// The longest key a record can hold (its length is stored in 32 bits). `--max-line-bytes`
/// cannot exceed it, and a worker counts a line whose (composite) key is longer as oversize,
/// so no key that reaches a map is longer.
pub const MAX_KEY_BYTES: usize = u32::MAX as usize;

/// A slot: the top 16 bits of the key's hash, above the record's offset plus one (0 is empty).
const TAG_BITS: u64 = !OFFSET_BITS;
const OFFSET_BITS: u64 = (1 << 48) - 1;
/// The index grows (doubling) before more than 5/8 of its slots are taken: linear probing stays
/// short below that.
const LOAD_NUMERATOR: usize = 5;
const LOAD_DENOMINATOR: usize = 8;
const MIN_SLOTS: usize = 16;
/// Keys of another map looked up together when merging it (see `merge`).
const MERGE_AHEAD: usize = 16;

/// Per-key totals. Looking up a key already present allocates nothing.
#[derive(Debug, Default)]
pub struct Counts {
    records: Vec<u8>,
    /// A power of two of slots, or none before the first key.
    slots: Vec<u64>,
    len: usize,
    hasher: KeyHasher,
}

impl Counts {
    /// An empty map with a hasher of its own.
    pub fn new() -> Counts {
        Counts::default()
    }

    /// An empty map that hashes keys like every other map built with `hasher`.
    pub fn with_hasher(hasher: KeyHasher) -> Counts {
        Counts {
            records: Vec::new(),
            slots: Vec::new(),
            len: 0,
            hasher,
        }
    }

    /// The hash `add_hashed` expects for `key`.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Adds `value` to `key`'s total. Sums saturate at the limits of 64 bits rather than wrap.
    #[inline]
    pub fn add(&mut self, key: &[u8], value: i64) {
        let hash = self.hash(key);
        self.add_hashed(hash, key, value);
    }

    /// `add` for a key whose hash (`self.hash(key)`) is already known.
    #[inline]
    pub fn add_hashed(&mut self, hash: u64, key: &[u8], value: i64) {
        if (self.len + 1) * LOAD_DENOMINATOR > self.slots.len() * LOAD_NUMERATOR {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let tag = hash & TAG_BITS;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                debug_assert!(key.len() <= MAX_KEY_BYTES);
                let at = self.records.len();
                self.records.extend_from_slice(&value.to_ne_bytes());
                self.records.extend_from_slice(&(key.len() as u32).to_ne_bytes());
                self.records.extend_from_slice(key);
                self.slots[i] = tag | (at as u64 + 1);
                self.len += 1;
                return;
            }
            if slot & TAG_BITS == tag {
                let at = (slot & OFFSET_BITS) as usize - 1;
                if key_at(&self.records, at) == key {
                    let total = total_at(&self.records, at).saturating_add(value);
                    self.records[at..at + 8].copy_from_slice(&total.to_ne_bytes());
                    return;
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Asks the CPU for the slot a lookup of `hash` starts at.
    #[inline]
    pub fn prefetch_slot(&self, hash: u64) {
        if let Some(slot) = self.slots.get(hash as usize & self.slots.len().wrapping_sub(1)) {
            prefetch(slot);
        }
    }

    /// Asks the CPU for the record that the slot a lookup of `hash` starts at points to, if
    /// that slot's hash bits are the key's (best after `prefetch_slot`).
    #[inline]
    fn prefetch_record(&self, hash: u64) {
        let Some(&slot) = self.slots.get(hash as usize & self.slots.len().wrapping_sub(1)) else {
            return;
        };
        if slot != 0
            && slot & TAG_BITS == hash & TAG_BITS
            && let Some(record) = self.records.get((slot & OFFSET_BITS) as usize - 1)
        {
            prefetch(record);
        }
    }

    /// Doubles the index (or makes the first one) and puts every record back in it, walking
    /// the arena in order.
    #[cold]
    fn grow(&mut self) {
        let slots = (self.slots.len() * 2).max(MIN_SLOTS);
        let mask = slots - 1;
        self.slots = zeroed_slots(slots);
        for at in offsets(&self.records) {
            let hash = self.hasher.hash_one(key_at(&self.records, at));
            let mut i = hash as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = (hash & TAG_BITS) | (at as u64 + 1);
        }
    }

    /// Adds every total of `other` into `self`, [`MERGE_AHEAD`] keys at a time: the slots of
    /// a chunk are asked for, then the chunk is added with [`Counts::add_prefetched`].
    pub fn merge(&mut self, other: &Counts) {
        let mut chunk: [(u64, &[u8], i64); MERGE_AHEAD] = [(0, &[], 0); MERGE_AHEAD];
        let mut offsets = offsets(&other.records);
        loop {
            let mut n = 0;
            for at in offsets.by_ref().take(MERGE_AHEAD) {
                let key = key_at(&other.records, at);
                let hash = self.hash(key);
                self.prefetch_slot(hash);
                chunk[n] = (hash, key, total_at(&other.records, at));
                n += 1;
            }
            if n == 0 {
                return;
            }
            self.add_prefetched(&chunk[..n]);
        }
    }

    /// Adds keys (hash, key, value) whose slots were asked for a while ago
    /// ([`Counts::prefetch_slot`]): asks for all their records first, then adds them, so that
    /// the waits for memory of a large map overlap instead of following each other.
    pub fn add_prefetched(&mut self, keys: &[(u64, &[u8], i64)]) {
        for &(hash, _, _) in keys {
            self.prefetch_record(hash);
        }
        for &(hash, key, value) in keys {
            self.add_hashed(hash, key, value);
        }
    }

    /// Empties the map, keeping its memory for the keys to come.
    pub fn clear(&mut self) {
        self.records.clear();
        self.slots.fill(0);
        self.len = 0;
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every key and its total, in the order the keys first came.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], i64)> + '_ {
        let records = &self.records;
        offsets(records).map(|at| (key_at(records, at), total_at(records, at)))
    }

    #[cfg(test)]
    fn get(&self, key: &[u8]) -> Option<i64> {
        self.iter().find(|&(k, _)| k == key).map(|(_, total)| total)
    }

    /// The totals in `order`, for keys of `parts` parts. The index is freed first: the order
    /// kept costs 16 bytes a key, and sorting it up to 64 more for a while (a key prefix
    /// beside each row).
    pub fn into_sorted(self, order: RowOrder, parts: usize) -> Sorted {
        let Counts {
            records, slots, len, ..
        } = self;
        drop(slots);
        let rows = match (order, parts) {
            (RowOrder::ByKey, 1) => {
                let keyed = offsets(&records).map(|at| (key_at(&records, at), (total_at(&records, at), at)));
                in_key_order(keyed).into_iter().map(|(_, row)| row).collect()
            }
            (RowOrder::ByCount, 1) => {
                // The first 16 bytes of each key, beside its total, decide most ties without
                // reading keys scattered over the arena (`in_key_order` does the same with a
                // 32-byte prefix, for rows that are only keys; 16 keeps a row here at 32 bytes).
                let mut rows: Vec<(i64, [u64; 2], usize)> = Vec::with_capacity(len);
                rows.extend(offsets(&records).map(|at| {
                    let prefix: [u8; 16] = key_prefix(key_at(&records, at));
                    let word = |i: usize| u64::from_be_bytes(prefix[i..i + 8].try_into().unwrap_or_default());
                    (total_at(&records, at), [word(0), word(8)], at)
                }));
                rows.sort_unstable_by(|a, b| {
                    b.0.cmp(&a.0)
                        .then_with(|| a.1.cmp(&b.1))
                        .then_with(|| key_at(&records, a.2).cmp(key_at(&records, b.2)))
                });
                rows.into_iter().map(|(total, _, at)| (total, at)).collect()
            }
            (RowOrder::ByBucket, _) => by_bucket(&records, parts, len),
            _ => {
                let mut rows: Vec<(i64, usize)> = Vec::with_capacity(len);
                rows.extend(offsets(&records).map(|at| (total_at(&records, at), at)));
                rows.sort_unstable_by(|&(a_total, a), &(b_total, b)| {
                    order.compare(
                        (key_at(&records, a), a_total),
                        (key_at(&records, b), b_total),
                        parts,
                    )
                });
                rows
            }
        };
        Sorted { records, order: rows }
    }
}

/// The order a flush's rows are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOrder {
    /// Total descending, ties by key ascending, like `sort | uniq -c | sort -rn`: what people
    /// read, and the same from run to run.
    ByCount,
    /// Key ascending: the order of the SQLite table's primary key, for runs that write only
    /// there (upserts in key order touch the B-tree page after page).
    ByKey,
    /// With `--bucket`: the first part (the bucket, whose text sorts as its time) ascending,
    /// then as `ByCount` within a bucket: a time series, each step read like `uniq -c`.
    ByBucket,
}

impl RowOrder {
    /// Orders two rows (key, total) whose keys have `parts` parts, compared part by part.
    pub fn compare(self, a: (&[u8], i64), b: (&[u8], i64), parts: usize) -> Ordering {
        match self {
            RowOrder::ByCount => b.1.cmp(&a.1).then_with(|| key::compare(a.0, b.0, parts)),
            RowOrder::ByKey => key::compare(a.0, b.0, parts),
            RowOrder::ByBucket => key::first_part(a.0, parts)
                .cmp(key::first_part(b.0, parts))
                .then_with(|| RowOrder::ByCount.compare(a, b, parts)),
        }
    }
}

/// The rows of `records` (`len` keys of `parts` parts, the first a bucket) in
/// `RowOrder::ByBucket`. A flush holds few buckets and many keys: the buckets are ranked once,
/// and each row carries its bucket's rank and the first 8 bytes of the part after the bucket
/// beside its total, so that most comparisons read no key (keys lie scattered in the arena, and
/// reading them made the sort of a million rows wait on memory at every comparison).
fn by_bucket(records: &[u8], parts: usize, len: usize) -> Vec<(i64, usize)> {
    let bucket_at = |at| key::first_part(key_at(records, at), parts);
    let mut ranks: HashMap<&[u8], u64, KeyHasher> = HashMap::default();
    for at in offsets(records) {
        ranks.entry(bucket_at(at)).or_default();
    }
    let mut buckets: Vec<&[u8]> = ranks.keys().copied().collect();
    buckets.sort_unstable();
    for (rank, bucket) in (0..).zip(buckets) {
        ranks.insert(bucket, rank);
    }
    let mut rows: Vec<(u64, i64, u64, usize)> = Vec::with_capacity(len);
    rows.extend(offsets(records).map(|at| {
        let mut key_parts = key::parts_of(key_at(records, at), parts);
        let rank = key_parts.next().map_or(0, |bucket| ranks[bucket]);
        let next = key_prefix(key_parts.next().unwrap_or_default());
        (rank, total_at(records, at), u64::from_be_bytes(next), at)
    }));
    rows.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| key::compare(key_at(records, a.3), key_at(records, b.3), parts))
    });
    rows.into_iter().map(|(_, total, _, at)| (total, at)).collect()
}

/// The first `N` bytes of `key`, zero-padded.
fn key_prefix<const N: usize>(key: &[u8]) -> [u8; N] {
    let mut prefix = [0; N];
    let n = key.len().min(N);
    prefix[..n].copy_from_slice(&key[..n]);
    prefix
}

/// Bytes of each key copied beside it by [`in_key_order`].
const SORT_PREFIX: usize = 32;

/// Sorts rows by their keys' bytes. Keys stored far apart make a plain sort wait on memory at
/// every comparison, so the first 32 bytes of each key are copied beside it and compared
/// first; only keys whose first 32 bytes are equal are compared whole. Zero padding keeps the
/// order bytewise: a key and the same key followed by zero bytes have equal prefixes and are
/// told apart whole.
pub fn in_key_order<'k, T>(rows: impl Iterator<Item = (&'k [u8], T)>) -> Vec<(&'k [u8], T)> {
    let mut keyed: Vec<([u8; SORT_PREFIX], &[u8], T)> =
        rows.map(|(key, value)| (key_prefix(key), key, value)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    keyed.into_iter().map(|(_, key, value)| (key, value)).collect()
}

#[cfg(test)]
impl FromIterator<(Vec<u8>, i64)> for Counts {
    fn from_iter<I: IntoIterator<Item = (Vec<u8>, i64)>>(pairs: I) -> Counts {
        let mut counts = Counts::new();
        for (key, total) in pairs {
            counts.add(&key, total);
        }
        counts
    }
}

/// Totals in output order (see [`Counts::into_sorted`]).
#[derive(Clone, Debug, Default)]
pub struct Sorted {
    records: Vec<u8>,
    /// Each row's total and the offset of its record.
    order: Vec<(i64, usize)>,
}

impl Sorted {
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Row `i`: its key and total.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u8], i64) {
        let (total, at) = self.order[i];
        (key_at(&self.records, at), total)
    }

    /// Asks the CPU for the key of row `i`, if there is one, ahead of reading it: rows in
    /// output order are all over the arena.
    #[inline]
    pub fn prefetch_row(&self, i: usize) {
        if let Some(&(_, at)) = self.order.get(i) {
            prefetch(&self.records[at]);
        }
    }
}

/// Asks the CPU to fetch the cache line holding `value`; only a hint, which never faults.
#[inline]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and cannot fault, and the address is a live reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// `n` empty slots, their pages already written to. Fresh zeroed memory is mapped to the
/// system's shared zero page until written; re-indexing reads a slot before writing it, so each
/// page would fault twice, the second time with a TLB flush on every core running statbuf.
fn zeroed_slots(n: usize) -> Vec<u64> {
    const SLOTS_PER_PAGE: usize = 4096 / std::mem::size_of::<u64>();
    let mut slots = vec![0; n];
    for page in slots.chunks_mut(SLOTS_PER_PAGE) {
        // SAFETY: a write of an in-bounds, aligned element; volatile only so it is not elided.
        unsafe { std::ptr::write_volatile(page.as_mut_ptr(), 0) };
    }
    slots
}

/// The offset of every record of an arena, in order.
fn offsets(records: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let this = at;
        (this < records.len()).then(|| {
            at = next_record(records, this);
            this
        })
    })
}

#[inline]
fn total_at(records: &[u8], at: usize) -> i64 {
    let bytes: [u8; 8] = records[at..at + 8].try_into().expect("8 bytes");
    i64::from_ne_bytes(bytes)
}

#[inline]
fn key_at(records: &[u8], at: usize) -> &[u8] {
    let len: [u8; 4] = records[at + 8..at + HEADER].try_into().expect("4 bytes");
    let start = at + HEADER;
    &records[start..start + u32::from_ne_bytes(len) as usize]
}

#[inline]
fn next_record(records: &[u8], at: usize) -> usize {
    at + HEADER + key_at(records, at).len()
}

/// What happened to the lines read, for the summary at exit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Every line read, whatever became of it.
    pub lines: u64,
    /// Lines that gave a key (and a valid value).
    pub matched: u64,
    /// Lines with too few fields, or that the regex did not match.
    pub unmatched: u64,
    /// Lines whose value was not an integer.
    pub bad_values: u64,
    /// Lines longer than `--max-line-bytes`, skipped unread.
    pub oversize: u64,
    /// Lines `--match` or `--exclude` dropped.
    pub filtered: u64,
    /// With `--bucket`, lines with no time that could be read.
    pub no_time: u64,
    /// With a JSON key or value, lines that are not one JSON object.
    pub not_json: u64,
}

impl LineStats {
    pub fn add(&mut self, other: &LineStats) {
        self.lines += other.lines;
        self.matched += other.matched;
        self.unmatched += other.unmatched;
        self.bad_values += other.bad_values;
        self.oversize += other.oversize;
        self.filtered += other.filtered;
        self.no_time += other.no_time;
        self.not_json += other.not_json;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_merge() {
        let mut a = Counts::new();
        a.add(b"x", 1);
        a.add(b"x", 2);
        a.add(b"y", 5);
        let mut b = Counts::new();
        b.add(b"x", 10);
        b.add(b"z", 1);
        b.add(b"w", 1);
        a.merge(&b);
        assert_eq!(a.get(b"x"), Some(13));
        assert_eq!(a.get(b"y"), Some(5));
        assert_eq!(a.get(b"z"), Some(1));
        assert_eq!(a.get(b"v"), None);
        assert_eq!(a.len(), 4);
    }

    #[test]
    fn sorted_by_count_then_key() {
        let mut c = Counts::new();
        for (k, n) in [(&b"b"[..], 2), (b"a", 2), (b"c", 3), (b"\xff", 1), (b"", 2)] {
            c.add(k, n);
        }
        let sorted = c.into_sorted(RowOrder::ByCount, 1);
        let rows: Vec<(&[u8], i64)> = (0..sorted.len()).map(|i| sorted.row(i)).collect();
        assert_eq!(
            rows,
            [(&b"c"[..], 3), (b"", 2), (b"a", 2), (b"b", 2), (b"\xff", 1)]
        );
    }

    /// Keys alike in their first 16 bytes (the copied prefix) are still ordered bytewise.
    #[test]
    fn ties_beyond_the_prefix() {
        let base = b"/products/home/boot".to_vec();
        let with = |tail: &[u8]| [&base[..], tail].concat();
        let keys = [
            with(b"-2"),
            with(b"-10"),
            base[..16].to_vec(),
            [&base[..16], b"\0"].concat(),
            with(b""),
        ];
        let mut c = Counts::new();
        for key in &keys {
            c.add(key, 4);
        }
        c.add(b"z", 5);
        let sorted = c.into_sorted(RowOrder::ByCount, 1);
        let rows: Vec<&[u8]> = (0..sorted.len()).map(|i| sorted.row(i).0).collect();
        let mut expected: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        expected.sort();
        expected.insert(0, b"z");
        assert_eq!(rows, expected);
    }

    /// Rows by bucket come in the order `RowOrder::compare` gives, whatever the number of
    /// parts: ties of count within a bucket, parts alike in their first 8 bytes or equal but
    /// for trailing zero bytes, composite keys whose second part ties.
    #[test]
    fn sorted_by_bucket_as_compare_orders() {
        let buckets = [
            "2026-03-10T14:05:00Z",
            "2026-03-10T14:04:00Z",
            "1999-12-31T23:59:00Z",
        ];
        let parts_after = ["/a", "/products/x", "/products/y", "/products", "/products\0", ""];
        for parts in 1..=3 {
            let mut c = Counts::new();
            for (i, bucket) in buckets.iter().enumerate() {
                for (j, after) in parts_after.iter().enumerate() {
                    let mut key = Vec::new();
                    key::encode_part(&mut key, bucket.as_bytes(), parts == 1);
                    if parts >= 2 {
                        key::encode_part(&mut key, after.as_bytes(), parts == 2);
                    }
                    if parts == 3 {
                        key::encode_part(&mut key, &[b'0' + (j % 2) as u8], true);
                    }
                    c.add(&key, ((i + j) % 3) as i64);
                }
            }
            let mut expected: Vec<(Vec<u8>, i64)> = c.iter().map(|(k, n)| (k.to_vec(), n)).collect();
            expected.sort_by(|a, b| RowOrder::ByBucket.compare((&a.0, a.1), (&b.0, b.1), parts));
            let sorted = c.into_sorted(RowOrder::ByBucket, parts);
            let rows: Vec<(Vec<u8>, i64)> = (0..sorted.len())
                .map(|i| (sorted.row(i).0.to_vec(), sorted.row(i).1))
                .collect();
            assert_eq!(rows, expected, "{parts} parts");
        }
    }

    #[test]
    fn sums_saturate() {
        let mut c = Counts::new();
        c.add(b"k", i64::MAX);
        c.add(b"k", 1);
        c.add(b"m", i64::MIN);
        c.add(b"m", -1);
        assert_eq!(c.get(b"k"), Some(i64::MAX));
        assert_eq!(c.get(b"m"), Some(i64::MIN));
    }

    /// Growing the index many times over moves no record: every key keeps its own total.
    #[test]
    fn many_keys_survive_growth() {
        let mut c = Counts::new();
        for round in 1..=3 {
            for i in 0..50_000u32 {
                c.add(format!("key-{i}").as_bytes(), i64::from(i % 7) + round);
            }
        }
        assert_eq!(c.len(), 50_000);
        for i in (0..50_000u32).step_by(997) {
            assert_eq!(
                c.get(format!("key-{i}").as_bytes()),
                Some(3 * i64::from(i % 7) + 6)
            );
        }
        let walked: Vec<(&[u8], i64)> = c.iter().take(2).collect();
        assert_eq!(walked, [(&b"key-0"[..], 6), (b"key-1", 9)]);
    }

    /// Merging goes by chunks of keys: a map of many keys, some shared, merges whole.
    #[test]
    fn large_maps_merge_whole() {
        let hasher = KeyHasher::default();
        let mut a = Counts::with_hasher(hasher.clone());
        let mut b = Counts::with_hasher(hasher);
        for i in 0..1000u32 {
            a.add(format!("k{i}").as_bytes(), 1);
        }
        for i in 500..1537u32 {
            b.add(format!("k{i}").as_bytes(), 10);
        }
        a.merge(&b);
        assert_eq!(a.len(), 1537);
        assert_eq!(a.iter().map(|(_, total)| total).sum::<i64>(), 1000 + 10 * 1037);
        assert_eq!(a.get(b"k499"), Some(1));
        assert_eq!(a.get(b"k500"), Some(11));
        assert_eq!(a.get(b"k1536"), Some(10));
    }

    /// A cleared map forgets every key but keeps its index, and counts afresh.
    #[test]
    fn cleared_maps_count_afresh() {
        let mut c = Counts::new();
        for i in 0..1000u32 {
            c.add(format!("old-{i}").as_bytes(), 5);
        }
        let slots = c.slots.len();
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.iter().count(), 0);
        assert_eq!(c.slots.len(), slots);
        c.add(b"old-1", 2);
        c.add(b"new", 1);
        c.add(b"old-1", 3);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(b"old-1"), Some(5));
        assert_eq!(c.get(b"new"), Some(1));
    }

    #[test]
    fn maps_sharing_a_hasher_agree_on_hashes() {
        let hasher = KeyHasher::default();
        let a = Counts::with_hasher(hasher.clone());
        let b = Counts::with_hasher(hasher);
        assert_eq!(a.hash(b"/index.html"), b.hash(b"/index.html"));
    }
}
