//! The threads and channels that connect input, extraction, counting and flushing.
//!
//! The dispatcher (the calling thread) hands each block to the worker with the shortest queue;
//! the workers split the keys between them by hash (see `worker`). To flush, it sends a flush
//! marker down every worker's queue: once every worker has reached it, each holds exactly the
//! counts of its shard from the blocks dispatched before it, sorts them and hands them over.
//! The sorted shards make one snapshot, which goes to the flusher thread; workers go on
//! counting while it writes.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crossbeam_channel::{Receiver, Select, Sender, TrySendError, bounded, select, unbounded};

use anyhow::Context;

use crate::checkpoint::{self, Checkpoint};
use crate::config::Config;
use crate::counter::{KeyHasher, LineStats, RowOrder};
use crate::extract::Extractor;
use crate::flusher::{FlushOptions, FlushReport, Flusher, FlusherEvent};
use crate::input::{self, Block, BufferPool, ReadEvent};
use crate::progress::Meter;
use crate::say;
use crate::sink::{Sink, Snapshot};
use crate::stop::Stop;
use crate::worker::{self, Batch, Limits, Partial, Worker, WorkerMessage};

/// Blocks read ahead of the dispatcher: enough to keep the workers busy while it flushes.
const READ_QUEUE: usize = 4;
/// Blocks queued for each worker.
const WORKER_QUEUE: usize = 2;
/// Snapshots waiting for the flusher; when it falls behind, reading waits (bounded memory).
const SNAPSHOT_QUEUE: usize = 2;

/// What the outside world asks of a running pipeline (from signals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Stop reading, flush, finish (SIGINT, SIGTERM). A second one while the final flush is
    /// still retrying gives up on it.
    Stop,
    /// Flush now and go on (SIGHUP, SIGUSR1).
    FlushNow,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub stats: LineStats,
    pub flush: FlushReport,
    /// Inputs that could not be opened or read.
    pub input_errors: usize,
    /// Inputs read decoded (gzip, zstd, bzip2, xz).
    pub decompressed: u64,
    /// The final flush was cut short by a second stop.
    pub aborted: bool,
}

/// Runs the pipeline until the inputs end or a `Control::Stop` arrives, flushing on every
/// tick, and returns once the final flush is written (or given up on).
///
/// An error before anything is read (a state file that is locked, corrupt or foreign) is
/// returned; everything after is in the report.
pub fn run(
    config: &Config,
    mut sinks: Vec<Box<dyn Sink>>,
    ticks: Receiver<Instant>,
    control: Receiver<Control>,
    meter: &Meter,
) -> anyhow::Result<RunReport> {
    let stop = Stop::new().context("creating a pipe")?;
    let mut config = config.clone();
    let mut state = None;
    // Held until the run ends, when the state file's lock is all it is for.
    let mut _lock = None;
    if let Some(path) = &config.state {
        let mut keeper = sinks.iter_mut().find_map(|s| s.commits_offsets());
        let store = keeper.as_ref().map(|k| k.store());
        let resumption = checkpoint::resume(path, store, || match keeper.as_mut() {
            Some(keeper) => keeper.load_checkpoint(),
            None => Ok(Checkpoint::default()),
        })?;
        config.read.resume = Some(resumption.checkpoint);
        state = resumption.state_for_offsets;
        _lock = resumption.lock_only;
    }
    let config = &config;
    let pool = BufferPool::new();
    let (read_tx, read_rx) = bounded::<ReadEvent>(READ_QUEUE);
    let (partial_tx, partial_rx) = unbounded::<Partial>();
    let (snapshot_tx, snapshot_rx) = bounded::<Arc<Snapshot>>(SNAPSHOT_QUEUE);
    let (abort_tx, abort_rx) = bounded::<()>(1);
    let (flusher_tx, flusher_rx) = unbounded::<FlusherEvent>();
    let (done_tx, done_rx) = bounded::<()>(1);
    // Workers say when their map reaches --max-keys; one message per flush is enough.
    let (full_tx, full_rx) = bounded::<()>(config.workers);
    // Sorting by key is only worth it when no sink shows the rows to people.
    let order = if sinks.iter().all(|sink| sink.row_order() == RowOrder::ByKey) {
        RowOrder::ByKey
    } else if config.extract.bucket.is_some() {
        RowOrder::ByBucket
    } else {
        RowOrder::ByCount
    };
    let flusher = Flusher::new(
        sinks,
        FlushOptions {
            timeout: config.flush_timeout,
            fallback: config.fallback.clone(),
            schema: config.schema.clone(),
            state,
            meter: meter.clone(),
        },
    );

    std::thread::scope(|scope| {
        let (stop, pool) = (&stop, &pool);
        scope.spawn(move || input::read_all(&config.inputs, &config.read, pool, &read_tx, stop, meter));
        let flusher = scope.spawn(move || {
            let report = flusher.run(snapshot_rx, abort_rx, flusher_tx);
            let _ = done_tx.send(());
            report
        });
        // One hasher for all: it decides which worker's shard a key is in.
        let hasher = KeyHasher::default();
        let workers: Vec<Sender<WorkerMessage>> = worker::links(config.workers)
            .into_iter()
            .enumerate()
            .map(|(me, links)| {
                let (tx, rx) = bounded(WORKER_QUEUE);
                let worker = Worker {
                    me,
                    extractor: Extractor::new(&config.extract),
                    hasher: hasher.clone(),
                    links,
                    limits: Limits {
                        max_line_bytes: config.read.max_line_bytes,
                        max_keys: config.max_keys,
                    },
                    parts: config.schema.parts(),
                    order,
                    partials: partial_tx.clone(),
                    full: full_tx.clone(),
                    pool,
                    meter,
                    batch: Batch::default(),
                };
                scope.spawn(move || worker.run(rx));
                tx
            })
            .collect();

        let mut dispatcher = Dispatcher {
            workers,
            next: 0,
            partials: partial_rx,
            snapshots: snapshot_tx,
            window_start: SystemTime::now(),
            parts: config.schema.parts(),
            order,
            checkpoint: config.read.resume.clone(),
            checkpoint_sent: config.read.resume.clone(),
            meter,
            report: RunReport::default(),
        };
        loop {
            select! {
                recv(read_rx) -> event => match event {
                    Ok(ReadEvent::Block(block)) => dispatcher.dispatch(block),
                    Ok(ReadEvent::Position(position)) => dispatcher.advance(position),
                    Ok(ReadEvent::Notice(notice)) => say!(meter, "{notice}"),
                    Ok(ReadEvent::Decompressed) => dispatcher.report.decompressed += 1,
                    Ok(ReadEvent::Failed { input, error }) => {
                        say!(meter, "{input}: {error}");
                        dispatcher.report.input_errors += 1;
                    }
                    Err(_) => break,
                },
                // A worker's map holds --max-keys keys: flush early.
                recv(full_rx) -> _ => dispatcher.flush(),
                recv(ticks) -> _ => dispatcher.flush(),
                recv(control) -> message => match message {
                    Ok(Control::Stop) => stop.request(),
                    Ok(Control::FlushNow) => dispatcher.flush(),
                    Err(_) => {}
                },
                recv(flusher_rx) -> event => if let Ok(FlusherEvent::NoSinksLeft) = event {
                    stop.request();
                },
            }
        }
        dispatcher.flush();
        let Dispatcher {
            workers,
            snapshots,
            mut report,
            ..
        } = dispatcher;
        drop(workers);
        drop(snapshots);
        // Wait for the final flush; a stop meanwhile gives up on sinks that keep failing.
        loop {
            select! {
                recv(done_rx) -> _ => break,
                recv(control) -> message => if let Ok(Control::Stop) = message {
                    report.aborted = true;
                    let _ = abort_tx.try_send(());
                },
            }
        }
        report.flush = flusher.join().unwrap_or_default();
        Ok(report)
    })
}

struct Dispatcher<'m> {
    workers: Vec<Sender<WorkerMessage>>,
    /// The worker looked at first for the next block (so that ties go round).
    next: usize,
    partials: Receiver<Partial>,
    snapshots: Sender<Arc<Snapshot>>,
    window_start: SystemTime,
    /// Number of parts of every key.
    parts: usize,
    order: RowOrder,
    /// Where every input file stands after the blocks dispatched so far (with `--state`), and
    /// as the last snapshot sent had it.
    checkpoint: Option<Checkpoint>,
    checkpoint_sent: Option<Checkpoint>,
    meter: &'m Meter,
    report: RunReport,
}

impl Dispatcher<'_> {
    /// A file starts being read at this position.
    fn advance(&mut self, position: crate::checkpoint::FilePosition) {
        if let Some(checkpoint) = &mut self.checkpoint {
            checkpoint.set(position);
        }
    }

    fn dispatch(&mut self, mut block: Block) {
        if let Some(position) = block.position.take() {
            self.advance(position);
        }
        // The block goes to the worker with the shortest queue, or when every queue is full to
        // the first that has room: workers do not count at the same speed (one may share its
        // core with the reader), and handing them blocks in turn would leave the faster one
        // idle. Each queue stays in order, which is all a flush marker needs.
        // A worker only goes away if it panicked, and its panic ends the run (the thread scope
        // raises it again); meanwhile the others neither wait for it nor count its blocks.
        let n = self.workers.len();
        let shortest = (0..n)
            .map(|i| (self.next + i) % n)
            .min_by_key(|&i| self.workers[i].len())
            .unwrap_or(0);
        self.next = (shortest + 1) % n;
        let block = match self.workers[shortest].try_send(WorkerMessage::Block(block)) {
            Err(TrySendError::Full(block)) => block,
            Ok(()) | Err(TrySendError::Disconnected(_)) => return,
        };
        let mut select = Select::new();
        for worker in &self.workers {
            select.send(worker);
        }
        let operation = select.select();
        let index = operation.index();
        let _ = operation.send(&self.workers[index], block);
    }

    /// Collects every worker's counts into one snapshot and hands it to the flusher.
    fn flush(&mut self) {
        let mut asked = 0;
        for worker in &self.workers {
            if worker.send(WorkerMessage::Flush).is_ok() {
                asked += 1;
            }
        }
        let mut runs = Vec::with_capacity(asked);
        for _ in 0..asked {
            match self.partials.recv() {
                Ok(partial) => {
                    runs.push(partial.rows);
                    self.report.stats.add(&partial.stats);
                }
                Err(_) => break,
            }
        }
        let now = SystemTime::now();
        self.meter.flushed(now);
        let moved = self.checkpoint != self.checkpoint_sent;
        let snapshot = Snapshot::new(self.window_start, now, runs, self.parts, self.order);
        if !snapshot.is_empty() || moved {
            let mut snapshot = snapshot;
            if moved {
                snapshot.checkpoint.clone_from(&self.checkpoint);
                self.checkpoint_sent.clone_from(&self.checkpoint);
            }
            // The flusher only goes away once every snapshot sender is dropped.
            let _ = self.snapshots.send(Arc::new(snapshot));
        }
        self.window_start = now;
    }
}
