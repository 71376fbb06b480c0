//! Signals during a long run: SIGHUP flushes at once, SIGTERM flushes the rest, a second
//! SIGINT gives up on a final flush that keeps failing.

use std::time::{Duration, Instant};

use crate::tools::{Tool, have};

use super::*;

#[test]
fn sighup_flushes_at_once_and_sigterm_flushes_the_rest() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let db = wd.path("t.db");
    let (a, a_path) = batch(&wd, "a.log", "a", 3000, 60);
    let (b, b_path) = batch(&wd, "b.log", "b", 2000, 40);
    let mut live = counting_into(&wd, &db, "1h").spawn();
    live.write(&a);
    live.wait_until_read();
    // A SIGHUP may be taken before the last block read is dispatched: send another now and
    // then until the table holds everything written so far. No tick comes within the hour.
    let first = mawk(FIELD2, &[&a_path]);
    let mut last_hup: Option<Instant> = None;
    live.poll("a SIGHUP flush of everything written so far", |live| {
        if last_hup.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
            live.signal("HUP");
            last_hup = Some(Instant::now());
        }
        match sql_totals(&db) {
            Ok(got) if got == first => Ok(()),
            Ok(got) => Err(format!("total {} of {}", total(&got), total(&first))),
            Err(e) => Err(e),
        }
    });
    live.write(&b);
    live.wait_until_read();
    live.signal("TERM");
    let run = live.wait(EXIT_DEADLINE);
    run.assert_success();
    let expected = mawk(FIELD2, &[&a_path, &b_path]);
    assert_counts_eq(&sql_totals(&db).unwrap(), &expected, &run);
    let summary = run.summary();
    assert_eq!(
        summary.lines, 5000,
        "every line read before SIGTERM is counted\n{run}"
    );
    assert!(summary.flushes >= 2, "a SIGHUP flush and the final one\n{run}");
}

#[test]
fn a_second_sigint_gives_up_on_a_failing_final_flush_into_the_fallback() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let db = wd.path("t.db");
    let fallback = wd.path("fb.csv");
    let (a, a_path) = batch(&wd, "a.log", "a", 4000, 70);
    let mut live = counting_into(&wd, &db, "1h")
        .args(["--flush-timeout", "60s", "--fallback"])
        .arg(&fallback)
        .spawn();
    live.poll("statbuf to create the table", |_| sql_totals(&db).map(|_| ()));
    let holder = lock_exclusively(&db);
    live.write(&a);
    live.wait_until_read();
    live.signal("INT");
    live.wait_for_stderr("retrying");
    live.signal("INT");
    let run = live.wait(EXIT_DEADLINE);
    holder.execute_batch("COMMIT").expect("releasing the lock");
    drop(holder);
    run.assert_code(130);
    assert_eq!(
        run.summary().lines,
        4000,
        "every line read before SIGINT is counted\n{run}"
    );
    let in_db = sql_totals(&db).unwrap();
    let in_fallback = fallback_totals(&fallback, &run);
    assert_counts_eq(&sum(&in_db, &in_fallback), &mawk(FIELD2, &[&a_path]), &run);
    assert!(in_db.is_empty(), "nothing went past the lock\n{run}");
}
