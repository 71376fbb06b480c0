//! Where flushed counts go: one `Sink` per target, one module per kind.

mod csv;
mod sqlite;
mod stdout;

pub use self::csv::CsvSink;
pub use self::sqlite::SqliteSink;
pub use self::stdout::StdoutSink;

use std::time::SystemTime;

use crate::checkpoint::{Checkpoint, Store};
use crate::counter::Counts;
use crate::key::KeySchema;
use crate::timefmt::rfc3339;

/// The counts gathered over one window, as every sink receives them.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub window_start: SystemTime,
    pub window_end: SystemTime,
    /// Number of parts of every key.
    pub parts: usize,
    /// Totals sorted by total descending, then key ascending.
    pub rows: Vec<(Box<[u8]>, i64)>,
    /// How far every input file is counted once these rows are written (with `--state`).
    pub checkpoint: Option<Checkpoint>,
}

impl Snapshot {
    /// A snapshot of `counts`, whose keys have `parts` parts.
    pub fn new(window_start: SystemTime, window_end: SystemTime, counts: Counts, parts: usize) -> Snapshot {
        Snapshot {
            window_start,
            window_end,
            parts,
            rows: counts.into_sorted(parts),
            checkpoint: None,
        }
    }

    /// Folds a later snapshot into this one: one window covering both, totals added.
    pub fn absorb(&mut self, later: &Snapshot) {
        let mut counts = Counts::new();
        for (key, total) in self.rows.drain(..).chain(later.rows.iter().cloned()) {
            counts.add(&key, total);
        }
        self.rows = counts.into_sorted(self.parts);
        self.window_start = self.window_start.min(later.window_start);
        self.window_end = self.window_end.max(later.window_end);
        if later.checkpoint.is_some() {
            self.checkpoint.clone_from(&later.checkpoint);
        }
    }

    pub fn start_text(&self) -> String {
        rfc3339(self.window_start)
    }

    pub fn end_text(&self) -> String {
        rfc3339(self.window_end)
    }

    /// Sum of the totals, for messages about counts kept or lost.
    pub fn total(&self) -> i128 {
        self.rows.iter().map(|(_, n)| i128::from(*n)).sum()
    }
}

/// A target that flushed counts are written to.
pub trait Sink: Send {
    /// How messages name this sink, e.g. `sqlite counts.db`.
    fn name(&self) -> String;

    /// Writes one snapshot, all of it or (as far as the target allows) nothing.
    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()>;

    /// Where this sink keeps checkpoints, if it commits them with the counts.
    fn checkpoint_store(&self) -> Option<Store> {
        None
    }

    /// The checkpoint this sink holds (see `checkpoint_store`).
    fn load_checkpoint(&self) -> anyhow::Result<Checkpoint> {
        Ok(Checkpoint::default())
    }
}

/// The header row shared by the CSV formats: window, key columns, count.
pub fn csv_header(schema: &KeySchema) -> Vec<&str> {
    let mut row = vec!["window_start", "window_end"];
    row.extend(schema.names().iter().map(String::as_str));
    row.push("count");
    row
}

/// One CSV row: window, key parts (raw bytes; the csv crate quotes them), count.
pub fn csv_record<'a>(
    schema: &KeySchema,
    start: &'a str,
    end: &'a str,
    key: &'a [u8],
    total: i64,
) -> Vec<std::borrow::Cow<'a, [u8]>> {
    use std::borrow::Cow;
    let mut row: Vec<Cow<[u8]>> = vec![Cow::Borrowed(start.as_bytes()), Cow::Borrowed(end.as_bytes())];
    row.extend(schema.decode(key).map(Cow::Borrowed));
    row.push(Cow::Owned(total.to_string().into_bytes()));
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn absorb_adds_totals_and_widens_the_window() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let counts = |pairs: &[(&[u8], i64)]| {
            let mut c = Counts::new();
            for (k, n) in pairs {
                c.add(k, *n);
            }
            c
        };
        let mut first = Snapshot::new(t(10), t(20), counts(&[(b"a", 1), (b"b", 5)]), 1);
        let second = Snapshot::new(t(20), t(30), counts(&[(b"a", 7), (b"c", 1)]), 1);
        first.absorb(&second);
        assert_eq!((first.window_start, first.window_end), (t(10), t(30)));
        let rows: Vec<(&[u8], i64)> = first.rows.iter().map(|(k, n)| (&k[..], *n)).collect();
        assert_eq!(rows, [(&b"a"[..], 8), (b"b", 5), (b"c", 1)]);
        assert_eq!(first.total(), 14);
    }
}
