//! Where flushed counts go: one `Sink` per target, one module per kind.

//!
//! `open_all` builds the sinks `Config` resolved, in its order. A new kind of sink is a new
//! module implementing [`Sink`] (and [`CommitsOffsets`] if it can commit offsets with its
//! counts), a `SinkSpec` variant, and one arm in `open_all`; see docs/ARCHITECTURE.md.

mod csv;
mod exec;
mod postgres;
mod sql;
mod sqlite;
mod stdout;

pub use self::csv::CsvSink;
pub use self::exec::ExecSink;
pub use self::postgres::{PostgresSink, key_text};
pub use self::sqlite::SqliteSink;
pub use self::stdout::StdoutSink;
pub use self::stdout::{RowFormat, StdoutFormat};

use std::time::SystemTime;

use crate::checkpoint::{Checkpoint, Store};
use crate::config::{Config, SinkSpec};
use crate::counter::{Counts, RowOrder, Sorted};
use crate::key::KeySchema;
use crate::timefmt::rfc3339;

/// Opens every sink the configuration names, in its order.
pub fn open_all(config: &Config) -> anyhow::Result<Vec<Box<dyn Sink>>> {
    let schema = &config.schema;
    config
        .sinks
        .iter()
        .map(|spec| -> anyhow::Result<Box<dyn Sink>> {
            Ok(match spec {
                SinkSpec::Stdout(options) => Box::new(StdoutSink::new(
                    options.format,
                    schema.clone(),
                    options.top,
                    config.interval.is_some(),
                )),
                SinkSpec::Csv(path) => Box::new(CsvSink::open(path, schema.clone())?),
                SinkSpec::Sqlite { path, table } => Box::new(SqliteSink::open(path, table, schema)?),
                SinkSpec::Postgres {
                    conninfo,
                    table,
                    host_id,
                } => Box::new(PostgresSink::open(
                    conninfo,
                    table,
                    schema,
                    host_id,
                    config.state.is_some(),
                )?),
                SinkSpec::Exec {
                    command,
                    format,
                    timeout,
                } => Box::new(ExecSink::new(command.clone(), *format, *timeout, schema.clone())),
            })
        })
        .collect()
}

/// The counts gathered over one window, as every sink receives them.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub window_start: SystemTime,
    pub window_end: SystemTime,
    /// Number of parts of every key.
    pub parts: usize,
    /// The order of `rows`.
    pub order: RowOrder,
    /// The totals, in runs sorted in `order` with no key in two runs (one per worker's
    /// shard): `rows` merges them.
    runs: Vec<Sorted>,
    /// How far every input file is counted once these rows are written (with `--state`).
    pub checkpoint: Option<Checkpoint>,
}

impl Snapshot {
    /// A snapshot of runs sorted in `order`, whose keys have `parts` parts; no key may be in
    /// two runs.
    pub fn new(
        window_start: SystemTime,
        window_end: SystemTime,
        runs: Vec<Sorted>,
        parts: usize,
        order: RowOrder,
    ) -> Snapshot {
        Snapshot {
            window_start,
            window_end,
            parts,
            order,
            runs: runs.into_iter().filter(|run| !run.is_empty()).collect(),
            checkpoint: None,
        }
    }

    /// A snapshot of `counts`, by count.
    #[cfg(test)]
    pub fn of_counts(
        window_start: SystemTime,
        window_end: SystemTime,
        counts: Counts,
        parts: usize,
    ) -> Snapshot {
        let runs = vec![counts.into_sorted(RowOrder::ByCount, parts)];
        Snapshot::new(window_start, window_end, runs, parts, RowOrder::ByCount)
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.runs.iter().map(Sorted::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Every key and its total, in the snapshot's order.
    pub fn rows(&self) -> Rows<'_> {
        Rows {
            runs: &self.runs,
            next: vec![0; self.runs.len()],
            parts: self.parts,
            order: self.order,
        }
    }

    /// Every key and its total in key order (byte order of the encoded key): the rows as they
    /// are when the snapshot is sorted by key, sorted now otherwise. Databases write a B-tree
    /// fastest in key order, and hosts that lock keys in one order cannot deadlock.
    pub fn rows_by_key(&self) -> Box<dyn Iterator<Item = (&[u8], i64)> + '_> {
        match self.order {
            RowOrder::ByKey => Box::new(self.rows()),
            RowOrder::ByCount | RowOrder::ByBucket => {
                Box::new(crate::counter::in_key_order(self.rows()).into_iter())
            }
        }
    }

    /// Folds a later snapshot into this one: one window covering both, totals added.
    pub fn absorb(&mut self, later: &Snapshot) {
        let mut counts = Counts::new();
        for (key, total) in self.rows().chain(later.rows()) {
            counts.add(key, total);
        }
        self.runs = vec![counts.into_sorted(self.order, self.parts)];
        self.runs.retain(|run| !run.is_empty());
        self.window_start = self.window_start.min(later.window_start);
        self.window_end = self.window_end.max(later.window_end);
        if later.checkpoint.is_some() {
            self.checkpoint.clone_from(&later.checkpoint);
        }
    }

    /// This snapshot without the counts of `earlier`, which it absorbed: what is left to
    /// write once `earlier` is known to be written. Keys whose totals cancel are left out.
    /// Only a sink settling a write of unknown outcome needs it, so it is not fast.
    pub fn without(&self, earlier: &Snapshot) -> Snapshot {
        let mut difference = Counts::new();
        for (key, total) in self.rows() {
            difference.add(key, total);
        }
        for (key, total) in earlier.rows() {
            difference.add(key, total.wrapping_neg());
        }
        let difference = difference.into_sorted(self.order, self.parts);
        let mut left = Counts::new();
        for i in 0..difference.len() {
            let (key, total) = difference.row(i);
            if total != 0 {
                left.add(key, total);
            }
        }
        let runs = vec![left.into_sorted(self.order, self.parts)];
        let mut rest = Snapshot::new(self.window_start, self.window_end, runs, self.parts, self.order);
        rest.checkpoint.clone_from(&self.checkpoint);
        rest
    }

    pub fn start_text(&self) -> String {
        rfc3339(self.window_start)
    }

    pub fn end_text(&self) -> String {
        rfc3339(self.window_end)
    }

    /// Sum of the totals, for messages about counts kept or lost.
    pub fn total(&self) -> i128 {
        self.rows().map(|(_, n)| i128::from(n)).sum()
    }
}

/// How far ahead of the merge each run's keys are asked for.
const PREFETCH_ROWS: usize = 8;

/// A snapshot's rows in output order: a merge of its sorted runs.
#[derive(Clone)]
pub struct Rows<'s> {
    runs: &'s [Sorted],
    /// Each run's next row.
    next: Vec<usize>,
    parts: usize,
    order: RowOrder,
}

impl<'s> Iterator for Rows<'s> {
    type Item = (&'s [u8], i64);

    fn next(&mut self) -> Option<(&'s [u8], i64)> {
        // There are as many runs as workers, a handful: a linear pick beats a heap.
        let mut best: Option<(usize, (&'s [u8], i64))> = None;
        for (i, run) in self.runs.iter().enumerate() {
            if self.next[i] == run.len() {
                continue;
            }
            let row = run.row(self.next[i]);
            let better = match best {
                None => true,
                Some((_, other)) => self.order.compare(row, other, self.parts).is_lt(),
            };
            if better {
                best = Some((i, row));
            }
        }
        let (i, row) = best?;
        self.next[i] += 1;
        self.runs[i].prefetch_row(self.next[i] + PREFETCH_ROWS);
        Some(row)
    }
}

/// A target that flushed counts are written to.
pub trait Sink: Send {
    /// How messages name this sink, e.g. `sqlite counts.db`.
    fn name(&self) -> String;

    /// Writes one snapshot, all of it or (as far as the target allows) nothing.
    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()>;

    /// The order this sink writes rows fastest in; a run whose sinks all prefer `ByKey` sorts
    /// its snapshots by key.
    fn row_order(&self) -> RowOrder {
        RowOrder::ByCount
    }

    /// This sink as one that commits input offsets with its counts, if it is one.
    fn commits_offsets(&mut self) -> Option<&mut dyn CommitsOffsets> {
        None
    }
}

/// A sink that commits the input offsets a snapshot carries in the same transaction as its
/// counts, so that a run with `--state` resumes exactly where the counts stop: after a crash
/// either both are there or neither.
///
/// The pipeline asks a sink for this trait, never for a concrete sink; with `--state` it
/// loads the checkpoint from here, and the state file only names the store.
pub trait CommitsOffsets {
    /// Where the offsets are kept, as the state file names it.
    fn store(&self) -> Store;

    /// The offsets committed so far.
    fn load_checkpoint(&mut self) -> anyhow::Result<Checkpoint>;
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
    schema: &'a KeySchema,
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

    fn counts(pairs: &[(&[u8], i64)]) -> Counts {
        pairs.iter().map(|&(k, n)| (k.to_vec(), n)).collect()
    }

    #[test]
    fn absorb_adds_totals_and_widens_the_window() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let mut first = Snapshot::of_counts(t(10), t(20), counts(&[(b"a", 1), (b"b", 5)]), 1);
        let second = Snapshot::of_counts(t(20), t(30), counts(&[(b"a", 7), (b"c", 1)]), 1);
        first.absorb(&second);
        assert_eq!((first.window_start, first.window_end), (t(10), t(30)));
        let rows: Vec<(&[u8], i64)> = first.rows().collect();
        assert_eq!(rows, [(&b"a"[..], 8), (b"b", 5), (b"c", 1)]);
        assert_eq!(first.total(), 14);
        assert_eq!(first.len(), 3);
    }

    /// Runs from different shards come out as one order, ties broken by key.
    #[test]
    fn rows_merge_the_runs() {
        let t = UNIX_EPOCH;
        let run = |pairs: &[(&[u8], i64)]| counts(pairs).into_sorted(RowOrder::ByCount, 1);
        let snapshot = Snapshot::new(
            t,
            t,
            vec![
                run(&[(b"b", 3), (b"d", 1), (b"e", 9)]),
                Sorted::default(),
                run(&[(b"a", 3), (b"c", 1)]),
            ],
            1,
            RowOrder::ByCount,
        );
        let rows: Vec<(&[u8], i64)> = snapshot.rows().collect();
        assert_eq!(rows, [(&b"e"[..], 9), (b"a", 3), (b"b", 3), (b"c", 1), (b"d", 1)]);
        assert_eq!(snapshot.len(), 5);
    }

    /// By key, the runs merge into key order, and folding keeps that order.
    #[test]
    fn rows_by_key() {
        let t = UNIX_EPOCH;
        let run = |pairs: &[(&[u8], i64)]| counts(pairs).into_sorted(RowOrder::ByKey, 1);
        let long = [b'x'; 40];
        let mut longer = long.to_vec();
        longer.push(0);
        let mut snapshot = Snapshot::new(
            t,
            t,
            vec![
                run(&[(&longer, 1), (b"b", 3), (b"", 2)]),
                run(&[(&long, 7), (b"a", 5)]),
            ],
            1,
            RowOrder::ByKey,
        );
        let expected: [(&[u8], i64); 5] = [(b"", 2), (b"a", 5), (b"b", 3), (&long, 7), (&longer, 1)];
        assert_eq!(snapshot.rows().collect::<Vec<_>>(), expected);
        let later = snapshot.clone();
        snapshot.absorb(&later);
        let doubled: Vec<(&[u8], i64)> = expected.iter().map(|&(k, n)| (k, 2 * n)).collect();
        assert_eq!(snapshot.rows().collect::<Vec<_>>(), doubled);
    }

    /// What a snapshot holds beyond one it absorbed: the later counts, keys that cancel out
    /// left out.
    #[test]
    fn without_takes_an_absorbed_snapshot_back_out() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let sent = Snapshot::of_counts(t(10), t(20), counts(&[(b"a", 1), (b"b", 5)]), 1);
        let mut backlog = sent.clone();
        backlog.absorb(&Snapshot::of_counts(
            t(20),
            t(30),
            counts(&[(b"a", 7), (b"c", -2)]),
            1,
        ));
        let rest = backlog.without(&sent);
        let rows: Vec<(&[u8], i64)> = rest.rows().collect();
        assert_eq!(rows, [(&b"a"[..], 7), (b"c", -2)]);
        assert!(backlog.without(&backlog).is_empty());
    }
}
