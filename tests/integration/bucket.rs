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

// ------------------------------------------------------------------------------------------
// Time forms
// ------------------------------------------------------------------------------------------

#[test]
fn clf_times_at_three_offsets_land_in_their_utc_buckets_in_every_format() {
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let (log, oracle) = clf_log(&wd, "access.log", 1, 5_000, false);
    for (flag, width) in [("1m", 60), ("1h", 3600)] {
        for format in ["plain", "csv", "tsv", "json"] {
            let run = wd
                .statbuf()
                .args(["--bucket", flag, "-k", "9", "--format", format])
                .arg(&log)
                .run();
            let context = format_args!("--bucket {flag} --format {format}\n{run}");
            assert_counts_eq(&stdout_totals(format, &run, &["key"]), oracle.at(width), &context);
            assert_eq!(no_time(&run), 0, "{run}");
        }
    }
    // No key flag: the count is per bucket alone.
    let expected = per_bucket(oracle.at(60));
    for format in ["plain", "csv"] {
        let run = wd
            .statbuf()
            .args(["--bucket", "1m", "--format", format])
            .arg(&log)
            .run();
        assert_counts_eq(&stdout_totals(format, &run, &[]), &expected, &run);
    }
}

#[test]
fn rfc3339_times_with_any_fraction_offset_and_separator() {
    const PROGRAM: &str = r#"
path, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
# Eight hours over 29 February of a leap year.
start = int(dt.datetime(2028, 2, 28, 20, 0, tzinfo=UTC).timestamp())
# (zone as written, its offset in minutes); no zone is read in --tz Asia/Kolkata, +05:30
# all year.
zones = [('Z', 0), ('+05:30', 330), ('-07:00', -420), ('-0700', -420), ('+0530', 330),
         ('+05', 300), (' +0100', 60), ('', 330)]
rows, seconds = [], start
with open(path, 'w', encoding='ascii') as out:
    for i in range(n):
        # Often the second of the line before, written another way.
        if rng.random() < 0.6:
            seconds = start + rng.randrange(8 * 3600)
        zone, minutes = rng.choice(zones)
        local = EPOCH + dt.timedelta(seconds=seconds, minutes=minutes)
        digits = ''.join(rng.choice('0123456789') for _ in range(rng.randrange(13)))
        fraction = rng.choice('.,') + digits if digits else ''
        stamp = f'{local:%Y-%m-%d}{rng.choice("T t")}{local:%H:%M:%S}{fraction}{zone}'
        key = rng.choice('abc')
        out.write([f'{key} {stamp} GET /x', f'{key} <34>1 {stamp} host app - - msg',
                   f'{key} {stamp}'][i % 3] + '\n')
        rows.append((seconds, key))
print(json.dumps(tally(rows, [1, 60])))
"#;
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let log = wd.path("rfc3339.log");
    let oracle = Oracle::run(PROGRAM, &[log.as_os_str(), "2".as_ref(), "4000".as_ref()]);
    for (flag, width) in [("1s", 1), ("1m", 60)] {
        assert_buckets(
            wd.statbuf()
                .args(["--bucket", flag, "-k", "1", "--tz", "Asia/Kolkata"])
                .arg(&log),
            oracle.at(width),
        );
    }
}

#[test]
fn zoneless_times_across_both_berlin_dst_changes_of_2026() {
    // Python's zoneinfo resolves a local time with fold=0: in the hour skipped in spring it
    // takes the offset before the change (02:30 is read at +01:00, which is 03:30 at +02:00:
    // forward by the gap), and in the repeated autumn hour the first of the two (+02:00). That
    // is statbuf's documented rule; the program checks that for every time it writes, against
    // the rule worked out from the offsets alone, and fails if they ever disagree.
    const PROGRAM: &str = r#"
path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
berlin = ZoneInfo('Europe/Berlin')

def by_rule(local):
    clock = int(local.replace(tzinfo=UTC).timestamp())
    before = dt.datetime.fromtimestamp(clock - 86400, berlin).utcoffset().total_seconds()
    after = dt.datetime.fromtimestamp(clock + 86400, berlin).utcoffset().total_seconds()
    fits = [u for u in {clock - before, clock - after}
            if dt.datetime.fromtimestamp(u, berlin).replace(tzinfo=None) == local]
    # Twice: the first. Never: forward by the gap, i.e. the clock at the offset before it.
    return int(min(fits)) if fits else int(clock - before)

edges = ['01:59:59', '02:00:00', '02:00:01', '02:30:00', '02:59:59', '03:00:00']
days = [dt.datetime(2026, 3, 29), dt.datetime(2026, 10, 25)]
times = [dt.datetime.fromisoformat(f'{day:%Y-%m-%d} {edge}') for day in days for edge in edges]
times += [day + dt.timedelta(seconds=rng.randrange(5 * 3600)) for day in days for _ in range(400)]
rows = []
with open(path, 'w', encoding='ascii') as out:
    for local in times:
        seconds = int(local.replace(tzinfo=berlin).timestamp())
        assert seconds == by_rule(local), f'{local}: zoneinfo {seconds}, the rule {by_rule(local)}'
        key = rng.choice(['in', 'out'])
        out.write(f'{key} {local:%Y-%m-%d}{rng.choice("T ")}{local:%H:%M:%S} done\n')
        rows.append((seconds, key))
print(json.dumps(tally(rows, [1, 60, 3600])))
"#;
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let log = wd.path("berlin.log");
    let oracle = Oracle::run(PROGRAM, &[log.as_os_str(), "3".as_ref()]);
    for (flag, width) in [("1s", 1), ("1m", 60), ("1h", 3600)] {
        assert_buckets(
            wd.statbuf()
                .args(["--bucket", flag, "-k", "1", "--tz", "Europe/Berlin"])
                .arg(&log),
            oracle.at(width),
        );
    }
    // Without --tz, the machine's zone as `date` shows it: TZ first.
    assert_buckets(
        wd.statbuf()
            .args(["--bucket", "1s", "-k", "1"])
            .arg(&log)
            .env("TZ", "Europe/Berlin"),
        oracle.at(1),
    );
}

#[test]
fn syslog_times_take_their_year_from_the_files_mtime() {
    // The documented rule, for a file last written at REFERENCE: the year REFERENCE has in the
    // zone, or the one before when that puts the line more than a day after REFERENCE or on a
    // 29 February the year lacks.
    const PROGRAM: &str = r#"
path, reference, zone = sys.argv[1], int(sys.argv[2]), ZoneInfo(sys.argv[3])
months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split()
year = dt.datetime.fromtimestamp(reference, zone).year
rows = []
for line in open(path, encoding='ascii'):
    m = re.match(r'(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\S+)', line)
    fields = (months.index(m[1]) + 1, int(m[2]), int(m[3]), int(m[4]), int(m[5]))
    def at(y):
        try:
            return int(dt.datetime(y, *fields, tzinfo=zone).timestamp())
        except ValueError:
            return None
    seconds = at(year)
    if seconds is None or seconds > reference + 86400:
        seconds = at(year - 1)
    rows.append((seconds, m[6]))
print(json.dumps(tally(rows, [1])))
"#;
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let cases = [
        (
            "2027-01-01T00:10:00+00:00",
            "Dec 31 23:59:59 a\nJan  1 00:00:01 b\nJan  1 00:05:00 c\nJan  1 23:59:59 d\n\
             Jan  2 00:10:00 e\nJan  2 00:10:01 f\nMar 10 14:05:09 g\nDec 25 10:00:00 h\n",
        ),
        (
            "2029-03-01T00:00:00+00:00",
            "Feb 29 12:00:00 leap\nFeb 28 12:00:00 plain\nMar  1 23:00:00 today\n",
        ),
    ];
    for (i, (written, lines)) in cases.into_iter().enumerate() {
        let log = wd.write(&format!("syslog{i}"), lines);
        let reference = epoch_of(written);
        set_mtime(&log, reference);
        for zone in ["UTC", "America/New_York", "Asia/Tokyo"] {
            let oracle = Oracle::run(
                PROGRAM,
                &[log.as_os_str(), reference.to_string().as_ref(), zone.as_ref()],
            );
            assert_buckets(
                wd.statbuf()
                    .args(["--bucket", "1s", "-k", "4", "--tz", zone])
                    .arg(&log),
                oracle.at(1),
            );
            if (i, zone) == (0, "UTC") {
                // What the README promises for this file, whatever the oracle says.
                for name in ["2026-12-31T23:59:59Z a", "2027-01-01T00:00:01Z b"] {
                    assert!(oracle.at(1).contains_key(name.as_bytes()), "{name}");
                }
            }
        }
    }
}

#[test]
fn epoch_seconds_and_milliseconds_negative_and_fractional() {
    // Lines `TIME KEY TIME`: the time at the start of the line and again at field 3.
    const PROGRAM: &str = r#"
path, seed, unit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
if unit == 's':
    values = ['0', '-0', '-1', '-1.5', '-0.5', '0.999', '59.9999999999', '-3599.5', '-3600',
              '1700000000', '1700000000.000000001', '1699999999.9999', '-86400.25']
    for _ in range(1000):
        digits = ''.join(rng.choice('0123456789') for _ in range(rng.randrange(10)))
        values.append(str(rng.randrange(-10**9, 4 * 10**9)) + ('.' + digits if digits else ''))
    floor = lambda v: math.floor(Decimal(v))
else:
    values = ['0', '-1', '-999', '-1000', '-1001', '999', '1000', '1700000000123', '-86400001']
    values += [str(rng.randrange(-10**12, 4 * 10**12)) for _ in range(1000)]
    floor = lambda v: int(v) // 1000
rows = []
with open(path, 'w', encoding='ascii') as out:
    for value in values:
        key = rng.choice(['x', 'y', 'z'])
        out.write(f'{value} {key} {value}\n')
        rows.append((floor(value), key))
print(json.dumps(tally(rows, [1, 3600])))
"#;
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    for (unit, format) in [("s", "%s"), ("ms", "%ms")] {
        let log = wd.path(&format!("epoch-{unit}.log"));
        let oracle = Oracle::run(PROGRAM, &[log.as_os_str(), "5".as_ref(), unit.as_ref()]);
        for (flag, width) in [("1s", 1), ("1h", 3600)] {
            for place in [&["--time-field", "3"][..], &[]] {
                assert_buckets(
                    wd.statbuf()
                        .args(["--bucket", flag, "-k", "2", "--time-format", format])
                        .args(place)
                        .arg(&log),
                    oracle.at(width),
                );
            }
        }
    }
}

#[test]
fn time_field_regex_and_format_find_the_clf_time() {
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let (log, oracle) = clf_log(&wd, "access.log", 6, 2_000, false);
    let ways: [&[&str]; 6] = [
        &[],
        // The time spans fields 4 and 5.
        &["--time-field", "4"],
        &["--time-regex", r"\[([^]]+)\]"],
        // Group 1 is the client; the group named `time` is the time.
        &["--time-regex", r"^(\S+) .*?\[(?P<time>[^]]+)\]"],
        // A format applies where the time starts, which is the bracket of field 4.
        &["--time-field", "4", "--time-format", "[%d/%b/%Y:%H:%M:%S %z"],
        &[
            "--time-regex",
            r"\[([^]]+)\]",
            "--time-format",
            "%d/%b/%Y:%H:%M:%S %z",
        ],
    ];
    for way in ways {
        assert_buckets(
            wd.statbuf()
                .args(["--bucket", "1m", "-k", "9"])
                .args(way)
                .arg(&log),
            oracle.at(60),
        );
    }
    // The same format without the bracket does not match field 4's text: no line has a time.
    let run = wd
        .statbuf()
        .args(["--bucket", "1m", "-k", "9", "--time-field", "4"])
        .args(["--time-format", "%d/%b/%Y:%H:%M:%S %z"])
        .arg(&log)
        .run();
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(no_time(&run), 2_000, "{run}");
}

#[test]
fn late_and_out_of_order_lines_land_in_their_own_buckets() {
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let (log, oracle) = clf_log(&wd, "late.log", 7, 6_000, true);
    for (flag, width) in [("1m", 60), ("1h", 3600)] {
        let run = wd
            .statbuf()
            .args(["--bucket", flag, "-k", "9", "--format", "csv"])
            .arg(&log)
            .run();
        assert_counts_eq(&stdout_totals("csv", &run, &["key"]), oracle.at(width), &run);
    }
    // The same lines from standard input, flushed every 100ms.
    let text = read(&log);
    let run = wd
        .statbuf()
        .args(["--bucket", "1m", "-k", "9", "-i", "100ms", "--format", "csv"])
        .stdin(text)
        .run();
    assert_counts_eq(&stdout_totals("csv", &run, &["key"]), oracle.at(60), &run);
}

#[test]
fn a_value_field_is_summed_per_bucket_with_a_key_and_without() {
    if !python3() {
        return;
    }
    let wd = Workdir::new();
    let (log, oracle) = clf_log(&wd, "access.log", 10, 2_000, false);
    let sums = oracle.tally("60 bytes");
    assert_buckets(
        wd.statbuf()
            .args(["--bucket", "1m", "-k", "9", "--value-field", "10"])
            .arg(&log),
        sums,
    );
    // No key flag: the sums per bucket alone.
    assert_buckets(
        wd.statbuf()
            .args(["--bucket", "1m", "--value-field", "10"])
            .arg(&log),
        &per_bucket(sums),
    );
}

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
// Lines without a time, --explain, bad flags
// ------------------------------------------------------------------------------------------

/// Lines in which no time can be read.
const NO_TIME: &[&[u8]] = &[
    b"",
    b"just words and no digits",
    b"k [] GET",
    b"k [x] GET",
    b"k [10/Foo/2026:13:55:36 -0700] GET",
    b"k 2026-02-30T10:00:00Z",
    b"k [30/Feb/2026:10:00:00 +0000]",
    b"k Feb 30 10:00:00 host",
    b"k 2026-03-10T25:00:00Z",
    b"k 2026-13-01T00:00:00Z",
    b"k 2026-03-10T14:61:00Z",
    b"k [10/Oct/2000:13:55:36",
    b"k 2026-03-10T14:05",
    b"k 2026-03-10T14:05:0",
    b"k Mar 10 14:05",
    b"\xff\xfe\xfd\xc3\x28 \x80",
    b"\x00\x00\x00",
    b"k 2026-03-10T14:05\x0009Z",
    b"k [10/Oct/2000:13:55:36\x00-0700]",
    b"k 2026-03-10\x00T14:05:09Z",
];

/// Lines with a time, how it is written (`iso`, `clf` or `syslog`) and its text.
const TIMED: &[(&[u8], &str, &str)] = &[
    (b"t 2026-03-10T14:05:09Z", "iso", "2026-03-10T14:05:09Z"),
    (b"t 2026-03-10T14:05:09.5", "iso", "2026-03-10T14:05:09.5"),
    (
        b"t [10/Oct/2000:13:55:36 -0700]",
        "clf",
        "[10/Oct/2000:13:55:36 -0700]",
    ),
    (b"t Mar  1 04:05:09", "syslog", "Mar  1 04:05:09"),
    (
        b"\xff\xfe\x00 2026-03-10T14:06:00+01:00 \xc3(",
        "iso",
        "2026-03-10T14:06:00+01:00",
    ),
    (
        b"\x00[10/Oct/2000:13:55:36 +0000]\x00",
        "clf",
        "[10/Oct/2000:13:55:36 +0000]",
    ),
    (
        b"t Feb 30 10:00:00 then 2026-03-10T14:05:09Z",
        "iso",
        "2026-03-10T14:05:09Z",
    ),
    (
        b"t [] [x] [10/Oct/2000:13:55:36 +0530]",
        "clf",
        "[10/Oct/2000:13:55:36 +0530]",
    ),
    (b"t 2026-03-10T14:07:09Z\r", "iso", "2026-03-10T14:07:09Z"),
    (
        b"t 2028-02-29T23:59:59.999-03:30",
        "iso",
        "2028-02-29T23:59:59.999-03:30",
    ),
];

#[test]
fn lines_without_a_time_are_counted_as_no_time() {
    // Times without a zone are UTC, syslog's year is the file's (2026).
    const PROGRAM: &str = r#"
rows = []
for kind, text in json.loads(sys.argv[1]):
    if kind == 'iso':
        t = dt.datetime.fromisoformat(text)
    elif kind == 'clf':
        t = dt.datetime.strptime(text, '[%d/%b/%Y:%H:%M:%S %z]')
    else:
        t = dt.datetime.strptime('2026 ' + text, '%Y %b %d %H:%M:%S')
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    rows.append((math.floor(t.timestamp()), None))
print(json.dumps(tally(rows, [1])))
"#;
    if !python3() {
        return;
    }
    // The timed lines each after a line without a time, from the middle on: the first line is
    // empty, the last one has a time at the very end of the file, with no newline.
    let mut lines: Vec<&[u8]> = Vec::new();
    let first_timed = NO_TIME.len() - TIMED.len();
    for (i, bad) in NO_TIME.iter().enumerate() {
        lines.push(bad);
        if let Some(&(good, _, _)) = i.checked_sub(first_timed).and_then(|j| TIMED.get(j)) {
            lines.push(good);
        }
    }
    let text = lines.join(&b'\n');
    let texts: Vec<[&str; 2]> = TIMED.iter().map(|&(_, kind, time)| [kind, time]).collect();
    let oracle = Oracle::run(PROGRAM, &[serde_json::to_string(&texts).expect("JSON")]);

    let wd = Workdir::new();
    let log = wd.write("mixed.log", &text);
    set_mtime(&log, epoch_of("2026-06-01T12:00:00+00:00"));
    let run = wd
        .statbuf()
        .args(["--bucket", "1s", "--tz", "UTC"])
        .arg(&log)
        .run();
    assert_counts_eq(&bucketed_plain(&run), oracle.at(1), &run);
    let summary = run.summary();
    assert_eq!(summary.lines, lines.len() as u64, "{run}");
    assert_eq!(summary.matched, TIMED.len() as u64, "{run}");
    assert_eq!(no_time(&run), NO_TIME.len() as u64, "{run}");
}

#[test]
fn explain_shows_each_lines_time_and_bucket_or_why_it_has_none() {
    const PROGRAM: &str = r#"
for text in sys.argv[1:]:
    seconds = int(dt.datetime.strptime(text, '[%d/%b/%Y:%H:%M:%S %z]').timestamp())
    print(bucket(seconds, 1), bucket(seconds, 3600))
"#;
    if !python3() {
        return;
    }
    let times = ["[10/Oct/2000:13:55:36 -0700]", "[31/Dec/2026:23:30:00 +0530]"];
    let expected: Vec<(String, String)> = python(PROGRAM, &times)
        .lines()
        .map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .expect("two times")
        })
        .collect();
    let wd = Workdir::new();
    let log = wd.write(
        "access.log",
        format!(
            "1.2.3.4 - - {} \"GET / HTTP/1.1\" 200 5\nhealth check ok\n5.6.7.8 - - {} \"GET /x HTTP/1.1\" 404 9\n",
            times[0], times[1]
        ),
    );
    let run = wd
        .statbuf()
        .args(["--explain", "--bucket", "1h", "-k", "9"])
        .arg(&log)
        .run();
    let out = run.stdout_str();
    let shown: Vec<&str> = out.lines().map(str::trim_start).collect();
    for (i, key) in [(0, "200"), (1, "404")] {
        let (instant, hour) = &expected[i];
        let time = format!("time \"{}\" is {instant}", times[i]);
        let verdict = format!("-> bucket \"{hour}\", key \"{key}\"");
        assert!(shown.contains(&time.as_str()), "no `{time}`\n{run}");
        assert!(shown.contains(&verdict.as_str()), "no `{verdict}`\n{run}");
    }
    let reason = shown.iter().any(|l| l.starts_with("time: no time found"));
    assert!(reason, "no reason for the line without a time\n{run}");
    assert!(shown.contains(&"-> no time: skipped"), "{run}");
    assert!(
        out.lines().last().is_some_and(|l| l.ends_with(", 1 no time")),
        "the last line does not count the line without a time\n{run}"
    );
    assert!(run.stderr.is_empty(), "{run}");
}

#[test]
fn explain_says_a_yearless_29_february_is_no_such_date() {
    let wd = Workdir::new();
    let log = wd.write("syslog", "Feb 29 12:00:00 host x\n");
    set_mtime(&log, 1_780_315_200); // 2026-06-01T12:00:00Z
    let run = wd
        .statbuf()
        .args(["--explain", "--bucket", "1s", "--tz", "UTC"])
        .arg(&log)
        .run();
    // Neither 2026 nor 2025 has a 29 February: the date does not exist, it is not out of range.
    assert!(run.stdout_str().contains("no such date"), "{run}");
}

#[test]
fn bad_time_flags_are_usage_errors_naming_the_flag() {
    let cases: [(&[&str], &str); 8] = [
        (&["--bucket", "0s"], "--bucket"),
        (&["--bucket", "2d"], "--bucket"),
        (&["--bucket", "1500ms"], "--bucket"),
        (&["--bucket", "1m", "--tz", "Nowhere/City"], "--tz"),
        (&["--bucket", "1m", "--time-format", "%Q%"], "--time-format"),
        (&["--bucket", "1m", "--time-regex", "("], "--time-regex"),
        (&["--bucket", "1m", "--time-field", "0"], "--time-field"),
        // A time flag without --bucket.
        (&["--time-field", "4"], "--bucket"),
    ];
    let wd = Workdir::new();
    let log = wd.write(
        "access.log",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 200 5\n",
    );
    for (args, flag) in cases {
        let run = wd.statbuf().args(args).arg(&log).run_with_code(2);
        assert!(run.stdout.is_empty(), "{run}");
        let err = run.stderr_str();
        let one_line = err.ends_with('\n') && err.lines().count() == 1;
        assert!(one_line, "not one line on stderr\n{run}");
        assert!(
            err.starts_with(&format!("statbuf: {flag}: ")),
            "the line does not name {flag}\n{run}"
        );
    }
}
