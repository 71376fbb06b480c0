//! Every time form and every flag that says where a line's time is.

use super::*;

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
