//! One run of statbuf from a resolved `Config`: open the sinks, wire signals and the timer,
//! start the progress display, run the pipeline, print the summary and choose the exit status.

use anyhow::Context;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded, unbounded};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::config::Config;
use crate::exit::Exit;
use crate::input::Input;
use crate::message;
use crate::pipeline::{self, Control, RunReport};
use crate::progress::{self, Display, Meter, Situation, When};
use crate::sink;

/// How a run shows itself on the terminal: choices the flags make that `Config` does not keep.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ui {
    /// `--progress`, `--no-progress`, or neither.
    pub progress: When,
    /// `--follow`: the inputs have no end, so progress is a status line, not a bar.
    pub follow: bool,
}

/// Runs statbuf; an error here (a sink that cannot be opened) is reported by the caller.
pub fn run(config: Config, ui: Ui) -> anyhow::Result<Exit> {
    let sinks = sink::open_all(&config)?;
    let control = forward_signals()?;
    let ticks = match (config.interval, config.jitter) {
        (Some(interval), None) => crossbeam_channel::tick(interval),
        (Some(interval), Some(jitter)) => jittered_ticks(interval, jitter),
        (None, _) => crossbeam_channel::never(),
    };
    let meter = Meter::new();
    let display = start_display(&config, ui, &meter);
    let report = pipeline::run(&config, sinks, ticks, control, &meter)?;
    // Cleared before the summary, which then starts on a clean line.
    if let Some(display) = display {
        display.finish();
    }
    if !config.quiet {
        message::say(summary(&report));
    }
    Ok(exit_code(&report))
}

/// Starts the progress display if the flags and the terminal call for one.
fn start_display(config: &Config, ui: Ui, meter: &Meter) -> Option<Display> {
    let situation = Situation::current(config.quiet, config.stdout().is_some());
    let target = progress::target(ui.progress, situation)?;
    let total = if ui.follow {
        None
    } else {
        total_bytes(&config.inputs)
    };
    Some(progress::spawn_display(meter, total, target))
}

/// The bytes the inputs hold when all of them are regular files; `None` when one is standard
/// input, a pipe or a device, whose end cannot be known in advance. An input that cannot be
/// opened counts as empty: the pipeline reports it.
fn total_bytes(inputs: &[Input]) -> Option<u64> {
    let mut total = 0u64;
    for input in inputs {
        let Input::File(path) = input else {
            return None;
        };
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => total = total.saturating_add(meta.len()),
            Ok(_) => return None,
            Err(_) => {}
        }
    }
    Some(total)
}

/// Ticks `interval` plus a random 0..=`jitter` apart, each wait drawn afresh, so that hosts
/// started together drift apart. The thread ends once the receiver is gone.
fn jittered_ticks(interval: Duration, jitter: Duration) -> Receiver<Instant> {
    let (tx, rx) = bounded(1);
    std::thread::spawn(move || {
        loop {
            let extra = jitter.mul_f64(fastrand::f64());
            std::thread::sleep(interval + extra);
            if tx.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    rx
}

/// SIGINT and SIGTERM stop the run (after a final flush); SIGHUP and SIGUSR1 flush now.
fn forward_signals() -> anyhow::Result<Receiver<Control>> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1]).context("installing signal handlers")?;
    let (tx, rx) = unbounded();
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let control = if signal == SIGHUP || signal == SIGUSR1 {
                Control::FlushNow
            } else {
                Control::Stop
            };
            if tx.send(control).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

fn summary(report: &RunReport) -> String {
    let s = &report.stats;
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", message::plural(n, one, many));
    let mut line = format!(
        "{}, {} matched, {} unmatched, {}, {} oversize, {}, {}",
        plural(s.lines, "line", "lines"),
        s.matched,
        s.unmatched,
        plural(s.bad_values, "bad value", "bad values"),
        s.oversize,
        plural(report.flush.keys, "key", "keys"),
        plural(report.flush.flushes, "flush", "flushes"),
    );
    if s.not_json > 0 {
        line.push_str(&format!(", {} not JSON", s.not_json));
    }
    if s.no_time > 0 {
        line.push_str(&format!(", {} no time", s.no_time));
    }
    if s.filtered > 0 {
        line.push_str(&format!(", {} filtered out", s.filtered));
    }
    if report.decompressed > 0 {
        let inputs = plural(report.decompressed, "input", "inputs");
        line.push_str(&format!(", {inputs} decompressed"));
    }
    line
}

fn exit_code(report: &RunReport) -> Exit {
    if report.aborted && !report.flush.failed_sinks.is_empty() {
        Exit::Aborted
    } else if report.input_errors > 0 || !report.flush.failed_sinks.is_empty() || report.flush.state_failed {
        Exit::Failure
    } else {
        Exit::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jittered ticks come no sooner than the interval, each wait drawn afresh: over eight
    /// waits of 5 ms plus up to 20 ms, they differ (all eight within 2 ms of each other would
    /// take a chance of about one in a million).
    #[test]
    fn jittered_ticks_wait_the_interval_and_a_random_more() {
        let interval = Duration::from_millis(5);
        let ticks = jittered_ticks(interval, Duration::from_millis(20));
        let mut last = Instant::now();
        let mut gaps = Vec::new();
        for _ in 0..8 {
            let tick = ticks.recv().unwrap();
            gaps.push(tick.duration_since(last));
            last = tick;
        }
        assert!(gaps.iter().all(|&gap| gap >= interval), "{gaps:?}");
        let (shortest, longest) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
        assert!(*longest - *shortest >= Duration::from_millis(2), "{gaps:?}");
    }
}
