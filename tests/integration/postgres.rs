//! The PostgreSQL sink against real servers (see `pg.rs`): totals equal mawk's, many hosts
//! into one table, exactly once with `--state` through kills, restarts, stops, a silent
//! server and a lost COMMIT acknowledgement; connection settings as psql reads them; keys
//! that `text` cannot hold; errors that retrying cannot fix.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::thread;
use std::time::{Duration, Instant};

use crate::pg::{PgServer, psql_at};
use crate::pg_proxy::CutProxy;
use crate::tools::{Tool, have};
use crate::util::*;

/// How long a test waits for counts to show up in the database.
const DEADLINE: Duration = Duration::from_secs(60);

/// A statbuf command that sees none of the developer's PG* variables.
fn pg_statbuf(wd: &Workdir) -> Statbuf {
    [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGSSLMODE",
        "PGCONNECT_TIMEOUT",
    ]
    .iter()
    .fold(wd.statbuf(), |cmd, name| cmd.env_remove(name))
}

/// The totals of `table` by key, the key columns' bytes joined by one space. Keys stored in
/// their `\x` hex form are decoded in SQL, as the README tells users to.
fn pg_counts(url: &str, table: &str, key_columns: &[&str]) -> Counts {
    let keys: Vec<String> = key_columns
        .iter()
        .map(|c| {
            format!(
                "encode(CASE WHEN left({c}, 2) = '\\x' THEN decode(substr({c}, 3), 'hex') \
                 ELSE convert_to({c}, 'UTF8') END, 'hex')"
            )
        })
        .collect();
    let sql = format!("SELECT {}, count FROM {table}", keys.join(", "));
    let out = psql_at(url, &sql).unwrap_or_else(|e| panic!("{e}"));
    let mut counts = Counts::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        let (count, parts) = fields.split_last().expect("a row");
        let key = parts.iter().map(|hex| unhex(hex)).collect::<Vec<_>>().join(&b' ');
        let count: i64 = count.parse().unwrap_or_else(|_| panic!("bad count in {line}"));
        assert!(
            counts.insert(key.clone(), count).is_none(),
            "key {} twice",
            show(&key)
        );
    }
    counts
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The sum of the counts in `counts`, 0 while the table does not exist.
fn pg_total(url: &str) -> i64 {
    psql_at(url, "SELECT coalesce(sum(count), 0) FROM counts")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until the table's total is `total`.
fn wait_for_total(url: &str, total: i64, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let now = pg_total(url);
        if now == total {
            return;
        }
        assert!(
            now < total,
            "{what}: the table holds {now}, more than the {total} written"
        );
        assert!(
            Instant::now() < deadline,
            "{what}: the table holds {now} of {total} after {DEADLINE:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// `n` lines `k<i % keys> x`, starting at line `from`, and their counts by field 1.
fn lines(from: u64, n: u64, keys: u64) -> (Vec<u8>, Counts) {
    let mut text = Vec::new();
    let mut counts = Counts::new();
    for i in from..from + n {
        let key = format!("k{}", i % keys);
        text.extend_from_slice(format!("{key} x\n").as_bytes());
        *counts.entry(key.into_bytes()).or_insert(0) += 1;
    }
    (text, counts)
}

fn assert_no_retry_noise(run: &Run) {
    let err = run.stderr_str();
    for word in ["deadlock", "serialize", "retrying", "failed"] {
        assert!(
            !err.contains(word),
            "a retried conflict reached the user ({word})\n{run}"
        );
    }
}

#[test]
fn totals_equal_mawk_a_second_run_doubles_and_state_adds_nothing() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let log = generated_log(1_000_000, 41);
    let expected = mawk("{ c[$7]++ }", &[&log]);
    let url = pg.fresh_database("mawk");
    let run = pg_statbuf(&wd)
        .args(["-q", "-k", "7", "--postgres", &url])
        .arg(&log)
        .run();
    assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &expected, &run);
    let run = pg_statbuf(&wd)
        .args(["-q", "-k", "7", "--postgres", &url])
        .arg(&log)
        .run();
    assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &scale(&expected, 2), &run);

    let url = pg.fresh_database("mawk_state");
    for _ in 0..2 {
        let run = pg_statbuf(&wd)
            .args(["-q", "-k", "7", "--state", "s.json", "--postgres", &url])
            .arg(&log)
            .run();
        assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &expected, &run);
    }
    let state = String::from_utf8_lossy(&wd.read("s.json")).into_owned();
    assert!(state.contains("\"kind\": \"postgres\""), "{state}");
}

#[test]
fn eight_hosts_flush_overlapping_keys_into_one_table_exactly() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    // A new database: the eight also race to create the tables.
    let url = pg.fresh_database("fleet");
    let logs: Vec<_> = (0..8).map(|i| generated_log(50_000, 100 + i)).collect();
    let children: Vec<Live> = logs
        .iter()
        .enumerate()
        .map(|(i, log)| {
            pg_statbuf(&wd)
                .args([
                    "-q",
                    "-k",
                    "7",
                    "-i",
                    "100ms",
                    "--jitter",
                    "50ms",
                    "--max-keys",
                    "2000",
                ])
                .args(["--host-id", &format!("web{i}"), "--state", &format!("s{i}.json")])
                .args(["--postgres", &url])
                .arg(log)
                .spawn()
        })
        .collect();
    for child in children {
        let run = child.wait(Duration::from_secs(120));
        run.assert_success();
        assert_no_retry_noise(&run);
    }
    let paths: Vec<&std::path::Path> = logs.iter().map(|p| p.as_path()).collect();
    let expected = mawk("{ c[$7]++ }", &paths);
    assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &expected, &"eight hosts");
    let hosts = psql_at(&url, "SELECT count(DISTINCT host_id) FROM statbuf_checkpoint").unwrap();
    assert_eq!(hosts.trim(), "8");
}

/// Killed with SIGKILL again and again in the middle of its flushes, then run to the end:
/// every line counted once.
#[test]
fn kill_9_in_a_loop_then_a_rerun_is_exact() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = pg.fresh_database("kill9");
    let log = generated_log(300_000, 43);
    let expected = mawk("{ c[$7]++ }", &[&log]);
    let offset = || {
        psql_at(
            &url,
            "SELECT coalesce(max((position::json->>'offset')::bigint), 0) FROM statbuf_checkpoint WHERE path <> ''",
        )
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0)
    };
    let command = || {
        pg_statbuf(&wd)
            .args([
                "-q",
                "-k",
                "7",
                "-i",
                "10ms",
                "--max-keys",
                "3000",
                "--block-size",
                "65536",
            ])
            .args(["--state", "s.json", "--postgres", &url])
            .arg(&log)
    };
    let mut kills = 0;
    for _ in 0..8 {
        let before = offset();
        let mut child = command().spawn();
        // Killed as soon as it has committed something of its own.
        let deadline = Instant::now() + DEADLINE;
        while offset() == before && !child.exited() {
            assert!(Instant::now() < deadline, "no progress after {DEADLINE:?}");
            thread::sleep(Duration::from_millis(5));
        }
        if child.exited() {
            break;
        }
        child.signal("KILL");
        kills += 1;
        child.wait(Duration::from_secs(10));
    }
    assert!(kills > 0, "no run was killed mid-way");
    let run = command().run();
    assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &expected, &run);
}

#[test]
fn an_immediate_restart_and_a_ten_second_stop_lose_nothing() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = format!("{}?connect_timeout=2", pg.url());
    let mut child = pg_statbuf(&wd)
        .args(["-k", "1", "-i", "100ms", "--state", "s.json", "--postgres", &url])
        .spawn();
    let mut expected = Counts::new();
    let mut sent = 0;
    let mut send = |child: &mut Live, expected: &mut Counts| {
        let (text, counts) = lines(sent, 1000, 37);
        child.write(&text);
        add_counts(expected, &counts);
        sent += 1000;
    };
    send(&mut child, &mut expected);
    wait_for_total(&pg.url(), 1000, "before the restart");
    pg.restart_immediate();
    send(&mut child, &mut expected);
    wait_for_total(&pg.url(), 2000, "after the restart");
    pg.stop();
    send(&mut child, &mut expected);
    thread::sleep(Duration::from_secs(10));
    pg.start_again();
    send(&mut child, &mut expected);
    child.close_stdin();
    let run = child.wait(Duration::from_secs(90));
    run.assert_success();
    assert_counts_eq(&pg_counts(&pg.url(), "counts", &["key"]), &expected, &run);
    let err = run.stderr_str();
    assert!(err.contains("retrying") && err.contains("written after"), "{run}");
}

#[test]
fn a_stopped_server_is_reported_and_nothing_is_lost() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = format!("{}?connect_timeout=2", pg.url());
    let mut child = pg_statbuf(&wd)
        .args(["-k", "1", "-i", "100ms", "--state", "s.json", "--postgres", &url])
        .spawn();
    let (first, mut expected) = lines(0, 1000, 37);
    child.write(&first);
    wait_for_total(&pg.url(), 1000, "before the stop");
    pg.sigstop();
    let (second, counts) = lines(1000, 1000, 37);
    child.write(&second);
    add_counts(&mut expected, &counts);
    // Longer than a round trip may take: the silence must be noticed, not waited out.
    thread::sleep(Duration::from_secs(6));
    pg.sigcont();
    wait_for_total(&pg.url(), 2000, "after the stop");
    child.close_stdin();
    let run = child.wait(Duration::from_secs(60));
    run.assert_success();
    assert_counts_eq(&pg_counts(&pg.url(), "counts", &["key"]), &expected, &run);
    let err = run.stderr_str();
    assert!(
        err.contains("no answer within"),
        "the stop was not reported\n{run}"
    );
    assert_eq!(
        err.matches("retrying").count(),
        1,
        "reported more than once\n{run}"
    );
}

/// The connection is cut right after COMMIT reached the server, before its answer reached
/// statbuf: the batch landed, and must not land again.
#[test]
fn a_commit_whose_answer_is_lost_is_not_counted_twice() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = pg.fresh_database("cut");
    let proxy = CutProxy::new(pg.port());
    let via_proxy = proxy.via(&url);
    let mut child = pg_statbuf(&wd)
        .args([
            "-k",
            "1",
            "-i",
            "100ms",
            "--state",
            "s.json",
            "--postgres",
            &via_proxy,
        ])
        .spawn();
    let (first, mut expected) = lines(0, 1000, 37);
    child.write(&first);
    wait_for_total(&url, 1000, "before the cut");
    proxy.arm_cut_after_commit();
    let (second, counts) = lines(1000, 1000, 37);
    child.write(&second);
    add_counts(&mut expected, &counts);
    let deadline = Instant::now() + DEADLINE;
    while proxy.cuts() == 0 {
        assert!(Instant::now() < deadline, "the proxy never cut a COMMIT");
        thread::sleep(Duration::from_millis(20));
    }
    let (third, counts) = lines(2000, 1000, 37);
    child.write(&third);
    add_counts(&mut expected, &counts);
    child.close_stdin();
    let run = child.wait(Duration::from_secs(60));
    run.assert_success();
    assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &expected, &run);
}

#[test]
fn a_serialization_failure_is_retried_without_a_word() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = pg.fresh_database("conflict");
    let (text, expected) = lines(0, 500, 7);
    // The table as statbuf makes it, with a trigger that fails the first upsert with 40001
    // (a sequence, because it keeps counting through the rollback).
    pg_statbuf(&wd)
        .args(["-q", "-k", "1", "--postgres", &url])
        .stdin("warm x\n")
        .run();
    psql_at(
        &url,
        "DELETE FROM counts; CREATE SEQUENCE attempts; \
         CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF nextval('attempts') = 1 THEN RAISE EXCEPTION 'simulated conflict' USING ERRCODE = '40001'; END IF; \
           RETURN NULL; END $$; \
         CREATE TRIGGER fail_once BEFORE INSERT ON counts FOR EACH STATEMENT EXECUTE FUNCTION fail_once();",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = pg_statbuf(&wd)
        .args(["-k", "1", "--postgres", &url])
        .stdin(text)
        .run();
    assert_no_retry_noise(&run);
    assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &expected, &run);
    let attempts = psql_at(&url, "SELECT last_value FROM attempts").unwrap();
    assert_eq!(attempts.trim(), "2", "the trigger did not fail the first attempt");
}

#[test]
fn the_same_host_id_twice_is_refused() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = pg.fresh_database("twice");
    let mut first = pg_statbuf(&wd)
        .args([
            "-k",
            "1",
            "-i",
            "100ms",
            "--host-id",
            "web1",
            "--state",
            "a.json",
            "--postgres",
            &url,
        ])
        .spawn();
    first.write(b"a x\n");
    wait_for_total(&url, 1, "the first run");
    let run = pg_statbuf(&wd)
        .args([
            "-k",
            "1",
            "--host-id",
            "web1",
            "--state",
            "b.json",
            "--postgres",
            &url,
        ])
        .stdin("b x\n")
        .run_with_code(1);
    let err = run.stderr_str();
    assert_eq!(err.lines().count(), 1, "{run}");
    assert!(err.contains("host id 'web1'"), "{run}");
    pg_statbuf(&wd)
        .args([
            "-q",
            "-k",
            "1",
            "--host-id",
            "web2",
            "--state",
            "c.json",
            "--postgres",
            &url,
        ])
        .stdin("c x\n")
        .run();
    first.close_stdin();
    first.wait(Duration::from_secs(30)).assert_success();
    assert_eq!(pg_total(&url), 2);
}

#[test]
fn failures_retrying_cannot_fix_are_one_line_and_exit_1() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    pg.set_password_auth();
    let wd = Workdir::new();
    let wrong_password = pg.alice_url().replace("s3cret", "wrongpw");
    let nobody_listens = format!("postgresql://postgres@127.0.0.1:{}/postgres", free_port());
    let cases = [
        ("postgresql://u@h:notaport/d", "URL"),
        (wrong_password.as_str(), "password authentication failed"),
        (&pg.url_for("no_such_db"), "does not exist"),
        (nobody_listens.as_str(), "refused"),
    ];
    for (url, reason) in cases {
        let run = pg_statbuf(&wd)
            .args(["-k", "1", "--postgres", url])
            .stdin("a x\n")
            .run_with_code(1);
        let err = run.stderr_str();
        assert_eq!(err.lines().count(), 1, "{run}");
        assert!(err.starts_with("statbuf: ") && err.contains(reason), "{run}");
        assert!(!err.contains("wrongpw"), "the password was shown\n{run}");
    }
    // A table of another shape is named and left alone.
    psql_at(&pg.url(), "CREATE TABLE other (key text PRIMARY KEY, hits int)").unwrap();
    let run = pg_statbuf(&wd)
        .args(["-k", "1", "--table", "other", "--postgres", &pg.url()])
        .stdin("a x\n")
        .run_with_code(1);
    assert!(
        run.stderr_str()
            .contains("table other has the columns (key, hits)"),
        "{run}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// PGPASSWORD and a private ~/.pgpass give the password, as for psql; a pgpass that others
/// may read is ignored; the password shows up nowhere.
#[test]
fn the_password_comes_from_the_environment_or_a_private_pgpass() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    pg.set_password_auth();
    let wd = Workdir::new();
    let without_password = pg.alice_url().replace(":s3cret", "");
    pg_statbuf(&wd)
        .env("PGPASSWORD", "s3cret")
        .args([
            "-q",
            "-k",
            "1",
            "--state",
            "s.json",
            "--postgres",
            &without_password,
        ])
        .stdin("a x\n")
        .run();
    let pgpass = wd.write(
        "pgpass",
        format!("127.0.0.1:{}:alicedb:alice:s3cret\n", pg.port()),
    );
    fs::set_permissions(&pgpass, fs::Permissions::from_mode(0o644)).unwrap();
    let run = pg_statbuf(&wd)
        .env("PGPASSFILE", &pgpass)
        .args(["-k", "1", "--postgres", &without_password])
        .stdin("a x\n")
        .run_with_code(1);
    assert!(run.stderr_str().contains("password"), "{run}");
    fs::set_permissions(&pgpass, fs::Permissions::from_mode(0o600)).unwrap();
    let run = pg_statbuf(&wd)
        .env("PGPASSFILE", &pgpass)
        .args(["-k", "1", "--postgres", &without_password])
        .stdin("a x\n")
        .run();
    assert!(!run.stderr_str().contains("s3cret"), "{run}");
    assert!(!String::from_utf8_lossy(&wd.read("s.json")).contains("s3cret"));
    assert_eq!(pg_total(&pg.alice_url()), 2);
}

#[test]
fn sslmode_require_talks_to_a_self_signed_server() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    pg.enable_ssl();
    pg.require_ssl_for_host();
    let wd = Workdir::new();
    let run = pg_statbuf(&wd)
        .args(["-k", "1", "--postgres", &format!("{}?sslmode=disable", pg.url())])
        .stdin("a x\n")
        .run_with_code(1);
    assert_eq!(run.stderr_str().lines().count(), 1, "{run}");
    for mode in ["require", "prefer"] {
        pg_statbuf(&wd)
            .args([
                "-q",
                "-k",
                "1",
                "--postgres",
                &format!("{}?sslmode={mode}", pg.url()),
            ])
            .stdin("a x\n")
            .run();
    }
    // PGSSLMODE counts when the URL names no mode.
    pg_statbuf(&wd)
        .env("PGSSLMODE", "require")
        .args(["-q", "-k", "1", "--postgres", &pg.url()])
        .stdin("a x\n")
        .run();
    assert_eq!(pg_total(&pg.url()), 3);
}

/// A NUL byte and Latin-1 bytes in a key, among ordinary keys: every key lands, in the
/// documented `\x` form, and the others as they are.
#[test]
fn keys_that_text_cannot_hold_land_losslessly() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = pg.fresh_database("bytes");
    let text: &[u8] = b"plain x\nnul\0key x\ncaf\xe9 x\nplain y\n\\x41 z\n";
    let expected = count_by(text, |line| awk_fields(line).first().map(|f| f.to_vec()));
    let run = pg_statbuf(&wd)
        .args(["-k", "1", "--postgres", &url])
        .stdin(text)
        .run();
    assert_counts_eq(&pg_counts(&url, "counts", &["key"]), &expected, &run);
    let stored = psql_at(&url, "SELECT key FROM counts ORDER BY key").unwrap();
    assert_eq!(
        stored, "\\x5c783431\n\\x636166e9\n\\x6e756c006b6579\nplain",
        "{run}"
    );
}

#[test]
fn tags_and_composite_keys_are_columns() {
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = pg.fresh_database("tags");
    let text = "GET /a 200\nGET /b 404\nGET /a 200\n";
    pg_statbuf(&wd)
        .args([
            "-q",
            "-k",
            "1",
            "-k",
            "2",
            "--tag",
            "host=web1",
            "--postgres",
            &url,
        ])
        .stdin(text)
        .run();
    let mut expected = Counts::new();
    expected.insert(b"web1 GET /a".to_vec(), 2);
    expected.insert(b"web1 GET /b".to_vec(), 1);
    assert_counts_eq(
        &pg_counts(&url, "counts", &["host", "key1", "key2"]),
        &expected,
        &"tags",
    );
    let columns = psql_at(
        &url,
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns \
         WHERE table_name = 'counts'",
    )
    .unwrap();
    assert_eq!(columns, "host,key1,key2,count,first_seen,last_seen");
}

/// A server gone for good at the end: the final flush retries until --flush-timeout, then the
/// counts it holds go to --fallback as CSV, exit 1; table and fallback together hold every line.
#[test]
fn a_server_gone_at_the_end_sends_the_counts_to_the_fallback() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let url = format!("{}?connect_timeout=2", pg.url());
    let mut child = pg_statbuf(&wd)
        .args(["-k", "1", "-i", "100ms", "--flush-timeout", "2s"])
        .args(["--fallback", "fb.csv", "--postgres", &url])
        .spawn();
    let (first, mut expected) = lines(0, 1000, 37);
    child.write(&first);
    wait_for_total(&pg.url(), 1000, "before the stop");
    let in_table = pg_counts(&pg.url(), "counts", &["key"]);
    pg.stop();
    let (second, counts) = lines(1000, 1000, 37);
    add_counts(&mut expected, &counts);
    child.write(&second);
    child.close_stdin();
    let run = child.wait(Duration::from_secs(60));
    run.assert_code(1);
    assert!(run.stderr_str().contains("written to fb.csv"), "{run}");
    let mut got = CsvTable::parse(&wd.read("fb.csv"), &run).totals(&["key"]);
    add_counts(&mut got, &in_table);
    assert_counts_eq(&got, &expected, &run);
}
