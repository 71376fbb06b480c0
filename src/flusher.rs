//! The flusher: writes every snapshot to every sink, and never drops one that failed.
//!
//! Each sink has its own backlog. When a write fails, the snapshot stays in that sink's
//! backlog, later snapshots are folded into it, and it is retried with exponential backoff; the
//! failure is reported once, and so is the recovery. At the end of input the flusher keeps
//! retrying until the flush timeout, then writes whatever is still unwritten to the fallback
//! (CSV, with the same columns as the CSV sink) and says how much went there.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};

use crate::checkpoint::{Checkpoint, State, Store};
use crate::key::KeySchema;
use crate::progress::Meter;
use crate::say;
use crate::sink::{Sink, Snapshot};

/// First wait before retrying a failed write; it doubles up to `MAX_BACKOFF`, and each wait is
/// jittered (see `jittered`).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the flusher ends up when its snapshots stop coming.
pub struct FlushOptions {
    /// How long to keep retrying failed sinks once input has ended.
    pub timeout: Duration,
    /// Where unwritable counts go at the end: a file, or stderr when `None`.
    pub fallback: Option<PathBuf>,
    pub schema: KeySchema,
    /// The state file to keep offsets in, once every sink has what they cover (`--state`
    /// without `--sqlite`; with it, the SQLite sink commits them with the counts).
    pub state: Option<State>,
    /// Messages are printed around the progress display.
    pub meter: Meter,
}

/// What the flusher did, for the summary and the exit status.
#[derive(Debug, Default)]
pub struct FlushReport {
    /// Snapshots with at least one row.
    pub flushes: u64,
    /// Rows in those snapshots (distinct keys per flush, summed over flushes).
    pub keys: u64,
    /// Sinks that still held counts at the end, which went to the fallback.
    pub failed_sinks: Vec<String>,
    /// The stdout sink stopped because its reader went away (`| head`).
    pub stdout_closed: bool,
    /// The state file could not be brought up to date with what the sinks hold.
    pub state_failed: bool,
}

/// Told to the pipeline while it runs.
#[derive(Debug)]
pub enum FlusherEvent {
    /// Every sink is gone (stdout closed and no other sink): stop reading.
    NoSinksLeft,
}

struct SinkState {
    sink: Box<dyn Sink>,
    /// Snapshots not yet written to this sink, folded into one.
    /// Shared with the other sinks until it has to be folded with a later one.
    backlog: Option<Arc<Snapshot>>,
    /// When to try the backlog next, and how long to wait after that.
    retry_at: Instant,
    backoff: Duration,
    /// Failed writes in the current episode; 0 while the sink is healthy.
    failures: u32,
}

pub struct Flusher {
    sinks: Vec<SinkState>,
    options: FlushOptions,
    report: FlushReport,
    /// The newest checkpoint taken, and the one last saved to the state file.
    checkpoint: Option<Checkpoint>,
    saved: Option<Checkpoint>,
    /// A save failed, and is retried with the next write.
    save_failing: bool,
    /// Counts were lost to a closed stdout: offsets must not move past them any more.
    offsets_frozen: bool,
}

impl Flusher {
    pub fn new(sinks: Vec<Box<dyn Sink>>, options: FlushOptions) -> Flusher {
        let now = Instant::now();
        Flusher {
            sinks: sinks
                .into_iter()
                .map(|sink| SinkState {
                    sink,
                    backlog: None,
                    retry_at: now,
                    backoff: FIRST_BACKOFF,
                    failures: 0,
                })
                .collect(),
            options,
            report: FlushReport::default(),
            checkpoint: None,
            saved: None,
            save_failing: false,
            offsets_frozen: false,
        }
    }

    /// Writes snapshots as they come until the channel closes, then finishes. A message on
    /// `abort` (a second interrupt) cuts the final retries short.
    pub fn run(
        mut self,
        snapshots: Receiver<Arc<Snapshot>>,
        abort: Receiver<()>,
        events: Sender<FlusherEvent>,
    ) -> FlushReport {
        loop {
            let wait = self
                .next_retry()
                .map(|at| at.saturating_duration_since(Instant::now()));
            let received = match wait {
                None => snapshots.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(wait) => snapshots.recv_timeout(wait),
            };
            match received {
                Ok(snapshot) => self.take(&snapshot),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.write_due(false);
            if self.sinks.is_empty() {
                let _ = events.send(FlusherEvent::NoSinksLeft);
                // Drain what is still sent, so the pipeline never blocks on us.
                while snapshots.recv().is_ok() {}
                break;
            }
        }
        self.finish(&abort);
        self.report
    }

    /// Queues a snapshot for every sink.
    fn take(&mut self, snapshot: &Arc<Snapshot>) {
        if snapshot.checkpoint.is_some() {
            self.checkpoint.clone_from(&snapshot.checkpoint);
        }
        if !snapshot.is_empty() {
            self.report.flushes += 1;
            self.report.keys += snapshot.len() as u64;
        }
        for state in &mut self.sinks {
            match &mut state.backlog {
                Some(backlog) => Arc::make_mut(backlog).absorb(snapshot),
                None => state.backlog = Some(Arc::clone(snapshot)),
            }
        }
    }

    fn next_retry(&self) -> Option<Instant> {
        self.sinks
            .iter()
            .filter(|s| s.backlog.is_some())
            .map(|s| s.retry_at)
            .min()
    }

    /// Writes every backlog whose time has come (all of them when `force`).
    fn write_due(&mut self, force: bool) {
        let now = Instant::now();
        let mut closed = Vec::new();
        for (i, state) in self.sinks.iter_mut().enumerate() {
            let Some(backlog) = &state.backlog else { continue };
            if !force && state.retry_at > now {
                continue;
            }
            match state.sink.write(backlog) {
                Ok(()) => {
                    if state.failures > 0 {
                        say!(
                            self.options.meter,
                            "{}: written after {} failed attempts; nothing lost",
                            state.sink.name(),
                            state.failures
                        );
                    }
                    state.backlog = None;
                    state.failures = 0;
                    state.backoff = FIRST_BACKOFF;
                }
                Err(error) if is_broken_pipe(&error) => closed.push(i),
                Err(error) => {
                    if state.failures == 0 {
                        say!(
                            self.options.meter,
                            "{}: {error:#}; keeping {} keys (total {}) and retrying",
                            state.sink.name(),
                            backlog.len(),
                            backlog.total()
                        );
                    }
                    state.failures += 1;
                    state.retry_at = Instant::now() + jittered(state.backoff);
                    state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        for i in closed.into_iter().rev() {
            self.sinks.remove(i);
            self.report.stdout_closed = true;
            self.offsets_frozen = true;
        }
        self.save_state();
    }

    /// Saves the newest checkpoint once no sink is behind it.
    fn save_state(&mut self) {
        let Some(state) = &self.options.state else { return };
        if self.offsets_frozen
            || self.checkpoint == self.saved
            || self.sinks.iter().any(|s| s.backlog.is_some())
        {
            return;
        }
        let Some(checkpoint) = &self.checkpoint else {
            return;
        };
        let store = Store::File {
            files: checkpoint.files.clone(),
        };
        match state.save(&store) {
            Ok(()) => {
                if self.save_failing {
                    say!(self.options.meter, "{}: saved again", state.path().display());
                }
                self.save_failing = false;
                self.saved = Some(checkpoint.clone());
            }
            Err(error) => {
                if !self.save_failing {
                    say!(self.options.meter, "{error:#}; retrying with the next flush");
                }
                self.save_failing = true;
            }
        }
    }

    /// Retries what is left until the timeout (or an abort), then writes it to the fallback.
    fn finish(&mut self, abort: &Receiver<()>) {
        let deadline = Instant::now() + self.options.timeout;
        loop {
            self.write_due(true);
            let Some(next) = self.next_retry() else {
                if self.save_failing
                    && let Some(state) = &self.options.state
                {
                    say!(
                        self.options.meter,
                        "{}: the offsets of the counts written could not be saved; \
                         the next run with this state file will count those lines again",
                        state.path().display()
                    );
                    self.report.state_failed = true;
                }
                return;
            };
            if next >= deadline {
                break;
            }
            select! {
                recv(abort) -> _ => break,
                default(next.saturating_duration_since(Instant::now())) => {}
            }
        }
        self.write_fallback();
    }

    fn write_fallback(&mut self) {
        for state in &mut self.sinks {
            let Some(backlog) = state.backlog.take() else {
                continue;
            };
            let name = state.sink.name();
            let target = match &self.options.fallback {
                Some(path) => path.display().to_string(),
                None => "stderr".to_string(),
            };
            match write_csv(&self.options, &backlog) {
                Ok(()) => say!(
                    self.options.meter,
                    "{name}: not written; {} keys (total {}) written to {target} as CSV instead",
                    backlog.len(),
                    backlog.total()
                ),
                Err(error) => say!(
                    self.options.meter,
                    "{name}: not written, and writing the fallback {target} failed too ({error:#}): \
                     {} keys (total {}) lost",
                    backlog.len(),
                    backlog.total()
                ),
            }
            self.report.failed_sinks.push(name);
        }
    }
}

/// Appends a snapshot as CSV rows (the CSV sink's columns) to the fallback.
fn write_csv(options: &FlushOptions, snapshot: &Snapshot) -> anyhow::Result<()> {
    let out: Box<dyn Write> = match &options.fallback {
        Some(path) => Box::new(File::options().create(true).append(true).open(path)?),
        None => Box::new(std::io::stderr()),
    };
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(crate::sink::csv_header(&options.schema))?;
    let (start, end) = (snapshot.start_text(), snapshot.end_text());
    for (key, total) in snapshot.rows() {
        writer.write_record(crate::sink::csv_record(&options.schema, &start, &end, key, total))?;
    }
    writer.flush()?;
    Ok(())
}

/// A wait between half of `backoff` and all of it, drawn at random: hosts that lost their
/// shared database together do not all come back to it on the same beat.
fn jittered(backoff: Duration) -> Duration {
    backoff.mul_f64(0.5 + fastrand::f64() / 2.0)
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
