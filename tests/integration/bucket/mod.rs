//! `--bucket`: counts per time bucket of each line's own time, in every output shape and sink,
//! for every time form and flag that says where a line's time is.
//!
//! The expected counts come from Python's `datetime` and `zoneinfo`: a Python program run by the
//! test writes the lines, each from an instant it chose, and tallies the bucket of that instant
//! (floored in UTC and aligned to the Unix epoch, as the README says). statbuf must read the
//! same instant back out of the text; nothing expected is taken from statbuf itself.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use crate::pg::{PgServer, psql_at};
use crate::util::*;

mod forms;
mod sinks;
mod untimed;

// ------------------------------------------------------------------------------------------
// The Python oracle
// ------------------------------------------------------------------------------------------

/// Whether Python 3 with `zoneinfo` and the time zone database is installed. When it is not,
/// says so and returns false, so that the test returns at once; under CI, fails instead.
fn python3() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import zoneinfo; zoneinfo.ZoneInfo('Europe/Berlin')"])
        .stdin(Stdio::null())
        .output();
    if probe.is_ok_and(|out| out.status.success()) {
        return true;
    }
    let message = "this test needs python3 with zoneinfo and the time zone database \
                   (apt-get install python3 tzdata)";
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("skipped: {message}");
    false
}

/// What every oracle program starts with.
const PRELUDE: &str = r#"
import datetime as dt, json, math, random, re, sys
from decimal import Decimal
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

def bucket(seconds, width):
    """The start of the bucket of a Unix time: floored (below 0 too), aligned to the epoch."""
    start = EPOCH + dt.timedelta(seconds=seconds // width * width)
    return start.strftime('%Y-%m-%dT%H:%M:%SZ')

def tally(rows, widths, suffix=''):
    """{"WIDTH" + suffix: {"BUCKET KEY": sum}} over rows of (Unix seconds, key), each adding
    1, or (Unix seconds, key, value); a key of None is left out of the name."""
    out = {}
    for width in widths:
        counts = out.setdefault(str(width) + suffix, {})
        for seconds, key, *value in rows:
            name = bucket(seconds, width) + ('' if key is None else ' ' + key)
            counts[name] = counts.get(name, 0) + (value[0] if value else 1)
    return out
"#;

/// Runs `python3 -c PROGRAM ARGS...` (after the prelude) in the C locale, so that `%b` is
/// English; its standard output, or a failed test showing what Python printed.
fn python<S: AsRef<OsStr>>(program: &str, args: &[S]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!("{PRELUDE}\n{program}"))
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(
        out.status.success(),
        "the Python oracle failed ({}):\n{}\nprogram:{program}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("Python printed UTF-8")
}

/// The expected counts by bucket width (seconds, and a suffix for other sums), keyed
/// `BUCKET KEY` (or `BUCKET` alone).
struct Oracle(BTreeMap<String, Counts>);

impl Oracle {
    /// Runs a program that prints `tally(...)` as JSON.
    fn run<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Oracle {
        let text = python(program, args);
        let parsed: BTreeMap<String, BTreeMap<String, i64>> = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("the oracle printed no tally ({e}): {text}"));
        let by_width = parsed.into_iter().map(|(width, counts)| {
            let counts = counts.into_iter().map(|(k, n)| (k.into_bytes(), n)).collect();
            (width, counts)
        });
        Oracle(by_width.collect())
    }

    /// The counts in buckets of `width` seconds.
    fn at(&self, width: u64) -> &Counts {
        self.tally(&width.to_string())
    }

    /// The tally printed under `name`.
    fn tally(&self, name: &str) -> &Counts {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("the oracle printed no tally {name:?}"))
    }
}

/// Counts by bucket alone: the first word of each `BUCKET KEY`.
fn per_bucket(counts: &Counts) -> Counts {
    let mut out = Counts::new();
    for (name, n) in counts {
        let bucket = name.split(|&b| b == b' ').next().unwrap_or_default();
        *out.entry(bucket.to_vec()).or_insert(0) += n;
    }
    out
}

/// Unix seconds of an RFC 3339 time, by Python.
fn epoch_of(rfc3339: &str) -> i64 {
    let program = "print(int(dt.datetime.fromisoformat(sys.argv[1]).timestamp()))";
    let text = python(program, &[rfc3339]);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not seconds: {text}"))
}

/// Sets the modification time of `path` to `seconds` after the Unix epoch.
fn set_mtime(path: &Path, seconds: i64) {
    let at = UNIX_EPOCH + Duration::from_secs(seconds.try_into().expect("a time after 1970"));
    let file = fs::File::options().write(true).open(path);
    file.and_then(|f| f.set_modified(at))
        .unwrap_or_else(|e| panic!("cannot set the mtime of {}: {e}", path.display()));
}

/// Writes `n` Apache lines to `name` in `wd`, each at a random instant of four hours across a
/// New Year written at −0700, +0530 or +0000, with a random status (field 9); `late` puts the
/// lines in time order but every ninth one an hour or more older than the one before. The
/// oracle has buckets of 1m and 1h by status, and (as `60 bytes`) the sums of the sizes (field
/// 10) in buckets of 1m by status.
fn clf_log(wd: &Workdir, name: &str, seed: u64, n: u64, late: bool) -> (PathBuf, Oracle) {
    const PROGRAM: &str = r#"
path, seed, n, late = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == 'late'
rng = random.Random(seed)
start = int(dt.datetime(2026, 12, 31, 22, 0, tzinfo=UTC).timestamp())
zones = [dt.timezone(dt.timedelta(hours=-7)), dt.timezone(dt.timedelta(hours=5, minutes=30)), UTC]
statuses = ['200', '200', '200', '301', '304', '404', '500']
if late:
    times, now = [], start + 3600
    for i in range(n):
        now += rng.randrange(8)
        times.append(now - 3600 - rng.randrange(600) if i % 9 == 8 else now)
else:
    times = [start + rng.randrange(4 * 3600) for _ in range(n)]
rows = []
with open(path, 'w', encoding='ascii') as out:
    for i, seconds in enumerate(times):
        local = dt.datetime.fromtimestamp(seconds, rng.choice(zones))
        status, size = rng.choice(statuses), rng.randrange(1, 9999)
        out.write(f'10.0.{i % 7}.{i % 251} - - [{local:%d/%b/%Y:%H:%M:%S %z}] '
                  f'"GET /p/{rng.randrange(40)} HTTP/1.1" {status} {size}\n')
        rows.append((seconds, status, size))
counts = tally([(seconds, status) for seconds, status, _ in rows], [60, 3600])
print(json.dumps(counts | tally(rows, [60], ' bytes')))
"#;
    let path = wd.path(name);
    let order = if late { "late" } else { "random" };
    let (seed, n) = (seed.to_string(), n.to_string());
    let oracle = Oracle::run(
        PROGRAM,
        &[path.as_os_str(), seed.as_ref(), n.as_ref(), order.as_ref()],
    );
    (path, oracle)
}

// ------------------------------------------------------------------------------------------
// statbuf's output read back
// ------------------------------------------------------------------------------------------

/// Plain output with buckets: `count bucket key` lines (`count bucket` without a key), the
/// buckets ascending and, within a bucket, counts descending, ties by key; each (bucket, key)
/// once. Returns the counts by `BUCKET KEY`.
fn bucketed_plain(run: &Run) -> Counts {
    let lines = output_lines(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    let mut counts = Counts::new();
    let mut previous: Option<(Vec<u8>, i64, Vec<u8>)> = None;
    for (i, line) in lines.into_iter().enumerate() {
        let (count, name) = parse_plain_line(line).unwrap_or_else(|e| panic!("line {}: {e}\n{run}", i + 1));
        let (bucket, key) = match name.iter().position(|&b| b == b' ') {
            Some(space) => (name[..space].to_vec(), name[space + 1..].to_vec()),
            None => (name.clone(), Vec::new()),
        };
        if let Some((last_bucket, last_count, last_key)) = &previous {
            let ordered = bucket > *last_bucket
                || (bucket == *last_bucket
                    && (count < *last_count || (count == *last_count && key > *last_key)));
            assert!(
                ordered,
                "line {}: {count} {} comes after {last_count} {} {}: buckets must be in order, \
                 then counts descending\n{run}",
                i + 1,
                show(&name),
                show(last_bucket),
                show(last_key)
            );
        }
        assert!(
            counts.insert(name.clone(), count).is_none(),
            "line {}: {} printed twice\n{run}",
            i + 1,
            show(&name)
        );
        previous = Some((bucket, count, key));
    }
    counts
}

/// Runs `cmd` and fails unless its plain output holds `expected` and every line had a time.
#[track_caller]
fn assert_buckets(cmd: Statbuf, expected: &Counts) -> Run {
    let run = cmd.run();
    assert_counts_eq(&bucketed_plain(&run), expected, &run);
    assert_eq!(no_time(&run), 0, "lines without a time\n{run}");
    run
}

/// The header every row format must have: the window, `bucket`, the key columns, `count`.
fn row_columns(keys: &[&str]) -> Vec<String> {
    let names = ["window_start", "window_end", "bucket"]
        .iter()
        .chain(keys)
        .chain(&["count"]);
    names.map(|s| s.to_string()).collect()
}

/// The counts by `BUCKET KEY` that the stdout sink printed in `format`, checking its columns
/// (members, in JSON) and their order.
fn stdout_totals(format: &str, run: &Run, keys: &[&str]) -> Counts {
    let mut columns: Vec<&str> = vec!["bucket"];
    columns.extend(keys);
    match format {
        "plain" => bucketed_plain(run),
        "csv" => {
            let table = CsvTable::parse(&run.stdout, run);
            assert_eq!(table.header, row_columns(keys), "the CSV header\n{run}");
            table.totals(&columns)
        }
        "tsv" => {
            let text = run.stdout_str();
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
            assert_eq!(header, row_columns(keys), "the TSV header\n{run}");
            let mut totals = Counts::new();
            for line in lines {
                let fields: Vec<&str> = line.split('\t').collect();
                assert_eq!(fields.len(), header.len(), "a TSV row: {line:?}\n{run}");
                let (count, key) = fields[2..].split_last().expect("a count");
                let count: i64 = count
                    .parse()
                    .unwrap_or_else(|_| panic!("count of {line:?}\n{run}"));
                *totals.entry(key.join(" ").into_bytes()).or_insert(0) += count;
            }
            totals
        }
        "json" => {
            let text = run.stdout_str();
            for line in text.lines() {
                let members = parse_json_object(line).unwrap_or_else(|e| panic!("{e}: {line}\n{run}"));
                let names: Vec<String> = members.into_iter().map(|(name, _)| name).collect();
                assert_eq!(names, row_columns(keys), "the members of {line}\n{run}");
            }
            json_lines_totals(&text, &columns, run)
        }
        other => panic!("no such format {other}"),
    }
}

/// The number of lines the summary line says had no time (0 when it does not say).
fn no_time(run: &Run) -> u64 {
    run.summary();
    let text = run.stderr_str();
    let line = text
        .lines()
        .find(|l| Summary::parse_line(l).is_ok())
        .unwrap_or_default();
    let part = line.split(", ").find_map(|part| part.strip_suffix(" no time"));
    part.map_or(0, |n| {
        n.parse()
            .unwrap_or_else(|_| panic!("{n:?} is not a number of lines\n{run}"))
    })
}

/// The sum of the `count` column of the complete rows a CSV file holds so far (a row being
/// written is left for the next look).
fn csv_total_so_far(path: &Path) -> Result<i64, String> {
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&bytes[..0], |end| &bytes[..=end]);
    let mut reader = csv::Reader::from_reader(complete);
    let count = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .position(|h| h == "count")
        .ok_or("no count column yet")?;
    let mut total = 0;
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        total += record[count].parse::<i64>().map_err(|e| e.to_string())?;
    }
    Ok(total)
}
