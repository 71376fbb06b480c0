//! Per-key totals and per-line statistics: what a worker builds and a flush writes.

use std::collections::HashMap;

use crate::key;

/// Keys are hashed with foldhash, seeded per process: fast on short keys, and log lines are
/// attacker-controlled input, so the seed must not be predictable.
type Hasher = foldhash::fast::RandomState;

/// Per-key totals. Looking up a key already present allocates nothing.
#[derive(Debug, Default)]
pub struct Counts {
    map: HashMap<Box<[u8]>, i64, Hasher>,
}

impl Counts {
    pub fn new() -> Counts {
        Counts::default()
    }

    /// Adds `value` to `key`'s total. Sums saturate at the limits of 64 bits rather than wrap.
    #[inline]
    pub fn add(&mut self, key: &[u8], value: i64) {
        match self.map.get_mut(key) {
            Some(total) => *total = total.saturating_add(value),
            None => {
                self.map.insert(key.into(), value);
            }
        }
    }

    /// Adds every total of `other` into `self`.
    pub fn merge(&mut self, other: Counts) {
        if self.map.len() < other.map.len() {
            let mine = std::mem::replace(&mut self.map, other.map);
            self.merge_map(mine);
        } else {
            self.merge_map(other.map);
        }
    }

    fn merge_map(&mut self, other: HashMap<Box<[u8]>, i64, Hasher>) {
        self.map.reserve(other.len());
        for (key, value) in other {
            let total = self.map.entry(key).or_insert(0);
            *total = total.saturating_add(value);
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    #[cfg(test)]
    fn get(&self, key: &[u8]) -> Option<i64> {
        self.map.get(key).copied()
    }

    /// Empties the map into a list sorted like `sort | uniq -c | sort -rn`: total descending,
    /// ties by key ascending (part by part, bytewise, for keys of `parts` parts), so output is
    /// the same from run to run.
    pub fn into_sorted(self, parts: usize) -> Vec<(Box<[u8]>, i64)> {
        let mut rows: Vec<(Box<[u8]>, i64)> = self.map.into_iter().collect();
        rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| key::compare(&a.0, &b.0, parts)));
        rows
    }
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
}

impl LineStats {
    pub fn add(&mut self, other: &LineStats) {
        self.lines += other.lines;
        self.matched += other.matched;
        self.unmatched += other.unmatched;
        self.bad_values += other.bad_values;
        self.oversize += other.oversize;
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
        a.merge(b);
        assert_eq!(a.get(b"x"), Some(13));
        assert_eq!(a.get(b"y"), Some(5));
        assert_eq!(a.get(b"z"), Some(1));
        assert_eq!(a.len(), 4);
    }

    #[test]
    fn sorted_by_count_then_key() {
        let mut c = Counts::new();
        for (k, n) in [(&b"b"[..], 2), (b"a", 2), (b"c", 3), (b"\xff", 1)] {
            c.add(k, n);
        }
        let keys: Vec<Vec<u8>> = c.into_sorted(1).into_iter().map(|(k, _)| k.into_vec()).collect();
        assert_eq!(
            keys,
            [b"c".to_vec(), b"a".to_vec(), b"b".to_vec(), b"\xff".to_vec()]
        );
    }

    #[test]
    fn sums_saturate() {
        let mut c = Counts::new();
        c.add(b"k", i64::MAX);
        c.add(b"k", 1);
        assert_eq!(c.get(b"k"), Some(i64::MAX));
    }
}
