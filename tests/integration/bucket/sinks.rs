//! Buckets in SQLite and PostgreSQL, across runs and across flushes.

use super::*;

// ------------------------------------------------------------------------------------------
// Sinks
// ------------------------------------------------------------------------------------------

#[test]
fn a_replay_in_two_halves_with_state_fills_sqlite_exactly_once() {
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let (whole, oracle) = clf_log(&wd, "whole.log", 8, 4_000, false);
    let text = read(&whole);
    let half = text.len() / 2;
    let cut = text[..half]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let log = wd.write("access.log", &text[..cut]);
    let db = wd.path("counts.db");
    let args = [
        "-q",
        "--bucket",
        "1m",
        "-k",
        "9",
        "--state",
        "s.json",
        "--sqlite",
        "counts.db",
        "access.log",
    ];
    wd.statbuf().args(args).run();
    fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(&text[cut..]))
        .expect("appending the second half");
    for round in ["the second half", "nothing new"] {
        let run = wd.statbuf().args(args).run();
        let table = SqlTable::load(&db, "counts");
        assert_eq!(
            table.columns,
            ["bucket", "key", "count", "first_seen", "last_seen"],
            "{run}"
        );
        let context = format_args!("after {round}\n{run}");
        assert_counts_eq(&table.totals(&["bucket", "key"]), oracle.at(60), &context);
    }

    let conn = rusqlite::Connection::open(&db).expect("the database");
    let primary: Vec<(String, i64)> = conn
        .prepare("SELECT name, pk FROM pragma_table_info('counts') WHERE pk > 0 ORDER BY pk")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("the table's primary key");
    assert_eq!(primary, [("bucket".to_owned(), 1), ("key".to_owned(), 2)]);
    // SQLite's date functions read the bucket: per hour, the sums the oracle gives.
    let hours: Counts = conn
        .prepare("SELECT strftime('%Y-%m-%dT%H', bucket), sum(count) FROM counts GROUP BY 1")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get::<_, String>(0)?.into_bytes(), r.get(1)?)))?
                .collect()
        })
        .expect("strftime over the buckets");
    let mut expected = Counts::new();
    for (bucket, n) in per_bucket(oracle.at(3600)) {
        *expected.entry(bucket[..13].to_vec()).or_insert(0) += n;
    }
    assert_counts_eq(&hours, &expected, &"strftime('%Y-%m-%dT%H', bucket)");
    let odd: i64 = conn
        .query_row(
            "SELECT count(*) FROM counts WHERE strftime('%s', bucket) IS NULL \
             OR strftime('%s', bucket) % 60 != 0 OR datetime(bucket) IS NULL",
            [],
            |r| r.get(0),
        )
        .expect("strftime('%s', bucket)");
    assert_eq!(odd, 0, "buckets SQLite cannot read as whole minutes");
}

#[test]
fn buckets_span_flushes_of_a_slowly_fed_stdin() {
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let (whole, oracle) = clf_log(&wd, "whole.log", 9, 2_000, false);
    let text = read(&whole);
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let csv = wd.path("live.csv");
    let mut live = wd
        .statbuf()
        .args([
            "--bucket", "1h", "-k", "9", "-i", "100ms", "--format", "csv", "--stdout", "--csv",
        ])
        .arg(&csv)
        .spawn();
    for piece in first.chunks(first.len() / 4 + 1) {
        live.write(&piece.concat());
        live.wait_until_read();
    }
    // Every line of the first half flushed before the second half is written.
    let written = first.len() as i64;
    live.poll("the first half to be flushed", |_| match csv_total_so_far(&csv) {
        Ok(total) if total == written => Ok(()),
        Ok(total) => Err(format!("{total} of {written} lines flushed")),
        Err(e) => Err(e),
    });
    live.write(&second.concat());
    live.close_stdin();
    let run = live.wait(EXIT_DEADLINE);
    run.assert_success();

    let stdout = stdout_totals("csv", &run, &["key"]);
    assert_counts_eq(&stdout, oracle.at(3600), &format_args!("stdout\n{run}"));
    let file = CsvTable::parse(&read(&csv), &run);
    assert_eq!(file.header, row_columns(&["key"]), "{run}");
    let in_file = file.totals(&["bucket", "key"]);
    assert_counts_eq(
        &in_file,
        oracle.at(3600),
        &format_args!("{}\n{run}", csv.display()),
    );

    let table = CsvTable::parse(&run.stdout, &run);
    let (start, end, bucket) = (
        table.column("window_start"),
        table.column("window_end"),
        table.column("bucket"),
    );
    // A flush is known by its window.
    let flushed: BTreeSet<[&[u8]; 3]> = table
        .rows
        .iter()
        .map(|row| [&row[bucket][..], &row[start], &row[end]])
        .collect();
    let mut flushes: BTreeMap<&[u8], usize> = BTreeMap::new();
    for [bucket, _, _] in flushed {
        *flushes.entry(bucket).or_insert(0) += 1;
    }
    assert!(
        flushes.values().any(|&n| n >= 2),
        "no bucket appears in two flushes\n{run}"
    );
}

#[test]
fn a_sqlite_table_without_bucket_is_refused() {
    let wd = Workdir::new();
    let log = wd.write(
        "access.log",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5\n",
    );
    let db = wd.path("counts.db");
    let sink = ["--sqlite", "counts.db", "--table", "hits", "-k", "9"];
    wd.statbuf().args(sink).arg(&log).run();
    let before = SqlTable::load(&db, "hits");
    let run = wd
        .statbuf()
        .args(sink)
        .args(["--bucket", "1m"])
        .arg(&log)
        .output();
    run.assert_no_panic();
    assert!(
        run.code().is_some_and(|code| code != 0),
        "a table without bucket was accepted\n{run}"
    );
    assert!(
        run.stderr_str().contains("hits"),
        "the message does not name the table\n{run}"
    );
    let after = SqlTable::load(&db, "hits");
    assert_eq!(after.columns, before.columns, "{run}");
    assert_eq!(after.rows, before.rows, "something was written\n{run}");
}

#[test]
fn postgres_bucket_is_timestamptz_and_sums_equal_the_oracle() {
    if !python3() {
        return;
    }
    let Some(pg) = PgServer::shared_or_skip() else {
        return;
    };
    let wd = Workdir::new();
    let (log, oracle) = clf_log(&wd, "access.log", 14, 3_000, false);
    let url = pg.fresh_database("bucket");
    // The URL says everything: none of the developer's PG* variables.
    let developers = std::env::vars_os().filter(|(name, _)| name.to_string_lossy().starts_with("PG"));
    let cmd = developers.fold(wd.statbuf(), |cmd, (name, _)| cmd.env_remove(name));
    let run = cmd
        .args(["-q", "--bucket", "1m", "-k", "9", "--postgres", &url])
        .arg(&log)
        .run();
    let kind = psql_at(
        &url,
        "SELECT data_type FROM information_schema.columns \
         WHERE table_name = 'counts' AND column_name = 'bucket'",
    )
    .unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert_eq!(kind, "timestamp with time zone", "{run}");
    let rows = psql_at(
        &url,
        "SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
         || ' ' || key, sum(count) FROM counts GROUP BY 1",
    )
    .unwrap_or_else(|e| panic!("{e}\n{run}"));
    let mut totals = Counts::new();
    for row in rows.lines() {
        let (name, sum) = row.rsplit_once('|').expect("two columns");
        totals.insert(name.as_bytes().to_vec(), sum.parse().expect("a sum"));
    }
    assert_counts_eq(&totals, oracle.at(60), &run);
}

// ------------------------------------------------------------------------------------------
