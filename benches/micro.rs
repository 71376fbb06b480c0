//! Micro-benchmarks of statbuf's building blocks: line splitting, key extraction (awk field 7
//! and a regex capture), the per-key counter, and the SQLite flush.
//!
//! ```text
//! cargo bench --bench micro                    # everything (about 30 s once built)
//! cargo bench --bench micro -- extract         # only the benchmarks whose path matches
//! cargo bench --bench micro -- --help          # divan's options
//! ```
//!
//! The input is a block of synthetic combined-format access-log lines from the `loggen` crate,
//! the same generator as `cargo run --release -p loggen --bin gen-access-log` and `bench/run`, so
//! bytes/s here can be set beside the end-to-end numbers in BENCHMARKS.md (which use every
//! core; these run on one).

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use clap::Parser;
use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use loggen::{LogSpec, write_access_log};
use statbuf::cli::Args;
use statbuf::config::Config;
use statbuf::counter::{Counts, RowOrder};
use statbuf::extract::{ExtractSpec, Extractor, Outcome};
use statbuf::input::lines;
use statbuf::key::KeySchema;
use statbuf::sink::{Sink, Snapshot, SqliteSink};

fn main() {
    divan::main();
}

/// Lines per benchmark block: about 4.7 MB, a few of statbuf's read blocks, and larger than
/// the last-level cache, as a real file is.
const BLOCK_LINES: u64 = 20_000;

/// Lines of the high-cardinality key list fed to the counter.
const HC_LINES: u64 = 200_000;

/// Distinct keys written by the SQLite flush benchmark.
const FLUSH_KEYS: usize = 1_000_000;

/// Which generated data a benchmark runs on.
#[derive(Clone, Copy, Debug)]
enum Data {
    /// The default spec: 10,000 distinct paths, Zipf-distributed (the 10M-line file's shape).
    Zipf10k,
    /// 1,000,000 paths with a 60 % uniform tail (the high-cardinality file's shape): nearly
    /// every line brings a new key.
    Hc1m,
}

impl std::fmt::Display for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Data::Zipf10k => "zipf-10k-keys",
            Data::Hc1m => "hc-1M-keys",
        })
    }
}

const DATA: [Data; 2] = [Data::Zipf10k, Data::Hc1m];

fn generate(spec: &LogSpec) -> Vec<u8> {
    let mut out = Vec::with_capacity(spec.lines as usize * 250);
    write_access_log(spec, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// A block of log lines of the given shape, generated once per process.
fn block(data: Data) -> &'static [u8] {
    static ZIPF: OnceLock<Vec<u8>> = OnceLock::new();
    static HC: OnceLock<Vec<u8>> = OnceLock::new();
    match data {
        Data::Zipf10k => ZIPF.get_or_init(|| {
            generate(&LogSpec {
                lines: BLOCK_LINES,
                seed: 1,
                ..LogSpec::default()
            })
        }),
        Data::Hc1m => HC.get_or_init(|| {
            generate(&LogSpec {
                lines: HC_LINES,
                seed: 1,
                keys: 1_000_000,
                uniform: 0.6,
                ..LogSpec::default()
            })
        }),
    }
}

/// The extraction spec that `statbuf ARGS` runs with, resolved by the same code as the
/// binary's, so that any fast path it picks for these flags is the one measured.
fn spec_of(args: &[&str]) -> ExtractSpec {
    let args = Args::try_parse_from(std::iter::once("statbuf").chain(args.iter().copied()))
        .expect("valid statbuf arguments");
    Config::from_args(args)
        .expect("valid statbuf configuration")
        .extract
}

/// `statbuf -k 7`.
fn field7() -> ExtractSpec {
    spec_of(&["-k", "7"])
}

/// `statbuf -r '"[A-Z]+ (\S+)'`.
fn request_regex() -> ExtractSpec {
    spec_of(&["-r", r#""[A-Z]+ (\S+)"#])
}

/// The `$7` of every line of a block, borrowed from it.
fn keys_of(data: &'static [u8]) -> Vec<&'static [u8]> {
    lines(data)
        .filter_map(|line| line.split(|&b| b == b' ').filter(|f| !f.is_empty()).nth(6))
        .collect()
}

fn line_count(data: &[u8]) -> usize {
    lines(data).count()
}

/// Splitting a block into lines (memchr for `\n`, then one trailing `\r` dropped).
#[divan::bench]
fn split_lines(bencher: Bencher) {
    let data = block(Data::Zipf10k);
    bencher
        .counter(BytesCount::new(data.len()))
        .counter(ItemsCount::new(line_count(data)))
        .bench_local(|| lines(black_box(data)).map(<[u8]>::len).sum::<usize>());
}

/// Extracting one key per line from a block; the keys are consumed, not counted.
mod extract {
    use super::*;

    fn run(bencher: Bencher, spec: &ExtractSpec) {
        let data = block(Data::Zipf10k);
        let mut extractor = Extractor::new(spec);
        bencher
            .counter(BytesCount::new(data.len()))
            .counter(ItemsCount::new(line_count(data)))
            .bench_local(|| {
                let mut matched = 0usize;
                for line in lines(black_box(data)) {
                    if let Outcome::Key(key, _) = extractor.extract(line) {
                        black_box(key);
                        matched += 1;
                    }
                }
                matched
            });
    }

    /// `-k 7`: awk's `$7` (runs of blanks separate fields).
    #[divan::bench]
    fn field_7(bencher: Bencher) {
        run(bencher, &field7());
    }

    /// `-r '"[A-Z]+ (\S+)'`: the request path as a regex capture.
    #[divan::bench]
    fn regex_request(bencher: Bencher) {
        run(bencher, &request_regex());
    }
}

/// `Counts::add` of every key of a block into a fresh map (insertions and lookups).
#[divan::bench(args = DATA)]
fn counter_add(bencher: Bencher, data: Data) {
    let keys = keys_of(block(data));
    bencher
        .counter(ItemsCount::new(keys.len()))
        .with_inputs(Counts::new)
        .bench_local_values(|mut counts| {
            for key in &keys {
                counts.add(key, 1);
            }
            // Returned so that freeing the map is not timed.
            counts
        });
}

/// What one worker does per block for `statbuf -k 7`: split, extract, count.
#[divan::bench(args = DATA)]
fn count_block_field_7(bencher: Bencher, data: Data) {
    let data = block(data);
    let mut extractor = Extractor::new(&field7());
    bencher
        .counter(BytesCount::new(data.len()))
        .counter(ItemsCount::new(line_count(data)))
        .with_inputs(Counts::new)
        .bench_local_values(|mut counts| {
            for line in lines(black_box(data)) {
                if let Outcome::Key(key, value) = extractor.extract(line) {
                    counts.add(key, value);
                }
            }
            counts
        });
}

/// A request-path-like key for row `i`, distinct for every `i`.
fn flush_key(i: usize) -> String {
    // splitmix64 scatters the keys so that they do not arrive in table order.
    let mut z = (i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    format!("/static/{:02x}/item-{i}.html?v={:x}", z & 0xff, z >> 40)
}

fn flush_snapshot(keys: usize) -> Snapshot {
    let mut counts = Counts::new();
    for i in 0..keys {
        counts.add(flush_key(i).as_bytes(), (i % 97 + 1) as i64);
    }
    let start = UNIX_EPOCH + Duration::from_secs(1_773_151_200);
    // Sorted by key, as the workers sort it when SQLite is the only sink.
    let runs = vec![counts.into_sorted(RowOrder::ByKey, 1)];
    Snapshot::new(start, start + Duration::from_secs(10), runs, 1, RowOrder::ByKey)
}

/// One flush into an existing SQLite table that already holds every key, so each row is an
/// upsert that updates (the steady state of `statbuf --sqlite` re-run over the same keys).
/// Items/s is upserts per second.
fn sqlite_upserts(bencher: Bencher, keys: usize) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.db");
    let mut sink = SqliteSink::open(&path, "counts", &KeySchema::single()).expect("open database");
    let snapshot = flush_snapshot(keys);
    // The first flush creates the rows; the timed ones update them.
    sink.write(&snapshot).expect("first flush");
    bencher
        .counter(ItemsCount::new(keys))
        .bench_local(|| sink.write(&snapshot).expect("flush"));
}

/// Flushing keys into SQLite: 1,000,000 (a high-cardinality batch run) and 10,000 (a typical
/// interval flush of a web log).
mod sqlite_flush {
    use super::*;

    #[divan::bench(sample_count = 3, sample_size = 1)]
    fn upsert_1m_keys(bencher: Bencher) {
        sqlite_upserts(bencher, FLUSH_KEYS);
    }

    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn upsert_10k_keys(bencher: Bencher) {
        sqlite_upserts(bencher, 10_000);
    }
}

/// Finding one member of a JSON line and one key of a logfmt line (`--json-key`,
/// `--logfmt-key`): a block of nginx-style access-log lines, about 380 bytes and 13 members
/// each with the request as an inner object, and the same records as logfmt.
mod structured {
    use super::*;
    use statbuf::structured::{JsonPath, JsonScanner, LogfmtScanner, Member};

    /// Lines per block: about 7.6 MB of JSON.
    const LINES: u64 = 20_000;

    const AGENTS: [&str; 3] = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
        "curl/8.5.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    ];

    /// The fields of one request, as text.
    struct Record {
        minute: u64,
        second: u64,
        addr: String,
        item: u64,
        page: u64,
        status: u64,
        bytes: u64,
        millis: u64,
        agent: &'static str,
        id: u64,
    }

    /// Record `i`, its fields scattered by splitmix64.
    fn record(i: u64) -> Record {
        let mut z = i;
        let [a, b, c, d] = [0; 4].map(|_| {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut x = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^ (x >> 31)
        });
        Record {
            minute: a % 60,
            second: (a >> 8) % 60,
            addr: format!("10.{}.{}.{}", b % 256, (b >> 8) % 256, (b >> 16) % 256),
            item: c % 10_000,
            page: (c >> 20) % 20,
            status: [200, 200, 200, 304, 404, 500][(c >> 30) as usize % 6],
            bytes: (c >> 40) % 100_000,
            millis: d % 1000,
            agent: AGENTS[(d >> 10) as usize % AGENTS.len()],
            id: d,
        }
    }

    /// Record `i` in the shape of nginx's `log_format ... escape=json`.
    fn json_line(i: u64) -> String {
        let r = record(i);
        format!(
            concat!(
                r#"{{"time":"2026-03-10T14:{:02}:{:02}+00:00","remote_addr":"{}","remote_user":"","#,
                r#""request":{{"method":"GET","uri":"/api/v1/items/{}?page={}","protocol":"HTTP/1.1"}},"#,
                r#""status":{},"body_bytes_sent":{},"request_time":0.{:03},"#,
                r#""http_referer":"https://example.com/","http_user_agent":"{}","#,
                r#""upstream_addr":"10.0.0.{}:8080","request_id":"{:016x}"}}"#,
                "\n"
            ),
            r.minute,
            r.second,
            r.addr,
            r.item,
            r.page,
            r.status,
            r.bytes,
            r.millis,
            r.agent,
            r.id % 8,
            r.id,
        )
    }

    /// Record `i` as a logfmt line, as Go kit writes one.
    fn logfmt_line(i: u64) -> String {
        let r = record(i);
        format!(
            concat!(
                "ts=2026-03-10T14:{:02}:{:02}Z level=info remote_addr={} method=GET ",
                "uri=/api/v1/items/{}?page={} status={} bytes={} took=0.{:03} ",
                "user_agent=\"{}\" request_id={:016x}\n"
            ),
            r.minute, r.second, r.addr, r.item, r.page, r.status, r.bytes, r.millis, r.agent, r.id,
        )
    }

    /// A block of `LINES` lines made by `line`, generated once per process.
    fn block(cell: &'static OnceLock<Vec<u8>>, line: fn(u64) -> String) -> &'static [u8] {
        cell.get_or_init(|| (0..LINES).map(line).collect::<String>().into_bytes())
    }

    /// Runs `lookup` on every line of `data`, summing the lengths of the values found.
    fn bench_lines(bencher: Bencher, data: &'static [u8], mut lookup: impl FnMut(&[u8]) -> usize) {
        bencher
            .counter(BytesCount::new(data.len()))
            .counter(ItemsCount::new(line_count(data)))
            .bench_local(|| lines(black_box(data)).map(&mut lookup).sum::<usize>());
    }

    /// `-j PATH` on every line of the JSON block.
    #[divan::bench(args = [".request.uri", ".status", ".request_id"])]
    fn json_member(bencher: Bencher, path: &str) {
        static JSON: OnceLock<Vec<u8>> = OnceLock::new();
        let path = JsonPath::parse(path).expect("a valid path");
        let mut scanner = JsonScanner::new();
        bench_lines(bencher, block(&JSON, json_line), |line| {
            match scanner.lookup(line, &path) {
                Member::Found(value) => value.len(),
                _ => 0,
            }
        });
    }

    /// `--logfmt-key NAME` on every line of the logfmt block.
    #[divan::bench(args = ["uri", "status", "request_id"])]
    fn logfmt_key(bencher: Bencher, name: &str) {
        static LOGFMT: OnceLock<Vec<u8>> = OnceLock::new();
        let mut scanner = LogfmtScanner::new();
        bench_lines(bencher, block(&LOGFMT, logfmt_line), |line| {
            scanner.lookup(line, name.as_bytes()).map_or(0, <[u8]>::len)
        });
    }
}
