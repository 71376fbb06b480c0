//! SIGINT and SIGTERM: statbuf flushes what it has counted and exits 0. The test keeps
//! statbuf's stdin open, so only the signal can end it.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::util::*;

/// How long statbuf may take to exit once signalled.
const EXIT_DEADLINE: Duration = Duration::from_secs(20);

/// Time given to statbuf to read what was written before the signal is sent. This is a
/// setup wait: nothing asserts on how long anything took.
const SETTLE: Duration = Duration::from_secs(1);

/// `n` lines whose third field is one of a few keys, with their counts.
fn lines(n: usize, tag: &str) -> (Vec<u8>, Counts) {
    let mut data = Vec::new();
    for i in 0..n {
        data.extend_from_slice(format!("10.0.0.{} - {tag}{} GET /x{}\n", i % 250, i % 23, i % 7).as_bytes());
    }
    let counts = count_by(&data, |l| nth_field(&awk_fields(l), 3).map(<[u8]>::to_vec));
    (data, counts)
}

fn signal_flushes_stdout(signal: &str) {
    let (data, expected) = lines(5000, "k");
    let mut running = statbuf().args(["-k", "3"]).spawn();
    running.write(&data);
    thread::sleep(SETTLE);
    assert!(
        !running.exited(),
        "statbuf exited before the signal although its stdin is open"
    );
    running.signal(signal);
    let run = running.wait(EXIT_DEADLINE);
    run.assert_success();
    assert_counts_eq(&run.plain(), &expected, &run);
    assert_output_eq(&run.stdout, &render_plain(&expected), &run);
    let s = run.summary();
    assert_eq!((s.lines, s.matched), (5000, 5000), "summary\n{run}");
}

#[test]
fn sigint_flushes_to_stdout() {
    signal_flushes_stdout("INT");
}

#[test]
fn sigterm_flushes_to_stdout() {
    signal_flushes_stdout("TERM");
}

fn signal_flushes_sqlite(signal: &str) {
    let wd = Workdir::new();
    let db = wd.path("signal.db");
    let (data, expected) = lines(4000, "s");
    let mut running = wd.statbuf().args(["-k", "3", "--sqlite"]).arg(&db).spawn();
    running.write(&data);
    thread::sleep(SETTLE);
    running.signal(signal);
    let run = running.wait(EXIT_DEADLINE);
    run.assert_success();
    assert!(run.stdout.is_empty(), "stdout with --sqlite\n{run}");
    assert_counts_eq(&SqlTable::load(&db, "counts").totals(&["key"]), &expected, &run);
}

#[test]
fn sigint_flushes_to_sqlite() {
    signal_flushes_sqlite("INT");
}

#[test]
fn sigterm_flushes_to_sqlite() {
    signal_flushes_sqlite("TERM");
}

/// Polls the table until it holds `want` in all, or fails past the deadline.
fn wait_for_total(db: &Path, want: i64, running: &mut Live) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = match SqlTable::read(db, "counts") {
            Ok(table) => {
                let got = total(&table.totals(&["key"]));
                if got == want {
                    return;
                }
                format!("total {got}")
            }
            Err(e) => e.to_string(),
        };
        assert!(
            !running.exited(),
            "statbuf exited while its stdin was open; last read of the table: {last}"
        );
        assert!(
            Instant::now() < deadline,
            "the table never reached a total of {want} with --interval; last read: {last}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn signal_with_interval(signal: &str) {
    let wd = Workdir::new();
    let db = wd.path("interval.db");
    let (first, first_counts) = lines(3000, "a");
    let (second, second_counts) = lines(2000, "b");
    let mut running = wd
        .statbuf()
        .args(["-k", "3", "--interval", "200ms", "--sqlite"])
        .arg(&db)
        .spawn();
    running.write(&first);
    wait_for_total(&db, 3000, &mut running);
    running.write(&second);
    thread::sleep(SETTLE);
    running.signal(signal);
    let run = running.wait(EXIT_DEADLINE);
    run.assert_success();
    let mut expected = first_counts;
    add_counts(&mut expected, &second_counts);
    assert_counts_eq(&SqlTable::load(&db, "counts").totals(&["key"]), &expected, &run);
    let s = run.summary();
    assert_eq!(s.lines, 5000, "lines\n{run}");
    assert!(s.flushes >= 2, "flushes\n{run}");
}

#[test]
fn sigint_with_interval_keeps_exact_totals() {
    signal_with_interval("INT");
}

#[test]
fn sigterm_with_interval_keeps_exact_totals() {
    signal_with_interval("TERM");
}

#[test]
fn signal_before_any_input() {
    for signal in ["INT", "TERM"] {
        let running = statbuf().args(["-k", "1"]).spawn();
        thread::sleep(SETTLE);
        running.signal(signal);
        let run = running.wait(EXIT_DEADLINE);
        run.assert_success();
        assert!(run.stdout.is_empty(), "stdout without input\n{run}");
        assert_eq!(run.summary().lines, 0, "lines\n{run}");
    }
}

#[test]
fn signal_flushes_a_partial_last_line_as_counted_so_far() {
    // Whole lines written before the signal are counted; the test writes only whole lines
    // and then a line without its newline, which statbuf may count or not, but nothing else
    // may change.
    let (data, expected) = lines(1000, "p");
    let mut running = statbuf().args(["-k", "3"]).spawn();
    running.write(&data);
    running.write(b"10.0.0.1 - partial");
    thread::sleep(SETTLE);
    running.signal("INT");
    let run = running.wait(EXIT_DEADLINE);
    run.assert_success();
    let mut got = run.plain();
    if let Some(n) = got.remove(&b"partial"[..]) {
        assert_eq!(n, 1, "the partial line counted {n} times\n{run}");
    }
    assert_counts_eq(&got, &expected, &run);
}
