//! Properties, checked in this process over generated cases.
//!
//! The pipeline: random bytes (newlines, carriage returns, blanks, NUL, high bytes) cut into a
//! few input files, read with random block sizes, worker counts and key flags, flushed by ticks
//! the test sends while the pipeline runs, into a sink that refuses writes on purpose. What the
//! sink accepted plus what went to the fallback file must equal a naive count of the input, key
//! by key, and the line statistics must match it too.
//!
//! The line splitter and the extractors: the invariants the fuzz targets check (`fuzz/src/lib.rs`,
//! included here) over a fixed-seed sample, so that they hold on every `cargo test`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use crossbeam_channel::{bounded, unbounded};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use regex::bytes::Regex;
use statbuf::cli::Args;
use statbuf::config::Config;
use statbuf::key::KeySchema;
use statbuf::pipeline::{self, Control, RunReport};
use statbuf::progress::Meter;
use statbuf::sink::{Sink, Snapshot};

use crate::util::{CsvTable, show, split_lines};

#[allow(dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod invariants;

/// Totals by key, the key as its parts.
type Totals = BTreeMap<Vec<Vec<u8>>, i64>;

/// How long one case may take before the test gives up on the pipeline.
const CASE_DEADLINE: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------------------
// Cases
// ------------------------------------------------------------------------------------------

/// The key flags of a case.
#[derive(Clone, Debug)]
enum KeyFlags {
    /// No key flag: the whole line.
    Line,
    /// `-k N`.
    Field(i64),
    /// `-d C -k N`.
    Delimited(u8, i64),
    /// `-k A -k B`.
    Composite(i64, i64),
    /// `-r RE`.
    Regex(&'static str),
    /// `-k K --value-field V`.
    Valued(i64, i64),
}

/// Regexes for `KeyFlags::Regex`: one group, two named groups, no group.
const REGEXES: &[&str] = &[r"(\S+),", r"(?P<x>[a-c]*)\s(?P<y>[^ ]*)", r"b\d*"];

impl KeyFlags {
    fn args(&self) -> Vec<String> {
        match self {
            KeyFlags::Line => vec![],
            KeyFlags::Field(n) => vec![format!("--key-field={n}")],
            KeyFlags::Delimited(d, n) => {
                vec![
                    format!("--delimiter={}", char::from(*d)),
                    format!("--key-field={n}"),
                ]
            }
            KeyFlags::Composite(a, b) => vec![format!("--key-field={a}"), format!("--key-field={b}")],
            KeyFlags::Regex(re) => vec![format!("--key-regex={re}")],
            KeyFlags::Valued(k, v) => vec![format!("--key-field={k}"), format!("--value-field={v}")],
        }
    }
}

/// How the test sink refuses writes.
#[derive(Clone, Copy, Debug)]
enum Failing {
    /// Its first K writes.
    First(u32),
    /// Each write with probability P percent, from a seeded generator.
    Randomly { seed: u64, percent: u32 },
}

#[derive(Clone)]
struct Case {
    data: Vec<u8>,
    /// Sizes of the input files the data is cut into, and bursts of ticks sent while the
    /// pipeline runs, used in turn.
    chunks: Vec<(usize, u8)>,
    block_size: usize,
    workers: usize,
    max_line_bytes: Option<usize>,
    key: KeyFlags,
    failing: Failing,
    flush_timeout_ms: u64,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files: Vec<String> = pieces(self).iter().map(|p| show(p)).collect();
        f.debug_struct("Case")
            .field("files", &files)
            .field("chunks", &self.chunks)
            .field("block_size", &self.block_size)
            .field("workers", &self.workers)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("key", &self.key)
            .field("failing", &self.failing)
            .field("flush_timeout_ms", &self.flush_timeout_ms)
            .finish()
    }
}

fn index() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..=4, -4i64..=-1]
}

fn key_flags() -> impl Strategy<Value = KeyFlags> {
    prop_oneof![
        Just(KeyFlags::Line),
        index().prop_map(KeyFlags::Field),
        (prop::sample::select(b",\t a".to_vec()), index()).prop_map(|(d, n)| KeyFlags::Delimited(d, n)),
        (index(), index()).prop_map(|(a, b)| KeyFlags::Composite(a, b)),
        prop::sample::select(REGEXES).prop_map(KeyFlags::Regex),
        (index(), index()).prop_map(|(k, v)| KeyFlags::Valued(k, v)),
    ]
}

/// Bytes of log-like noise: short words, separators, line ends, NUL and bytes beyond ASCII.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => prop::sample::select(b"abc".to_vec()),
        4 => Just(b'\n'),
        4 => Just(b' '),
        2 => Just(b'\t'),
        2 => Just(b'\r'),
        2 => Just(b','),
        2 => prop::sample::select(b"0123456789".to_vec()),
        1 => Just(b'-'),
        1 => Just(0u8),
        1 => 0x80u8..=0xff,
    ]
}

fn failing() -> impl Strategy<Value = Failing> {
    prop_oneof![
        (0u32..5).prop_map(Failing::First),
        (any::<u64>(), 0u32..=100).prop_map(|(seed, percent)| Failing::Randomly { seed, percent }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(byte(), 0..400),
        prop::collection::vec((1usize..48, 0u8..3), 1..10),
        1usize..=64,
        1usize..=4,
        prop::option::weighted(0.3, 1usize..24),
        key_flags(),
        failing(),
        10u64..150,
    )
        .prop_map(
            |(data, chunks, block_size, workers, max_line_bytes, key, failing, flush_timeout_ms)| Case {
                data,
                chunks,
                block_size,
                workers,
                max_line_bytes,
                key,
                failing,
                flush_timeout_ms,
            },
        )
}

// ------------------------------------------------------------------------------------------
// The model
// ------------------------------------------------------------------------------------------

/// What a naive reading of the input gives.
#[derive(Debug, Default)]
struct Model {
    totals: Totals,
    lines: u64,
    matched: u64,
    /// Unmatched lines and bad values.
    skipped: u64,
    oversize: u64,
}

/// The documented value syntax: `-` is 0, else an optional sign and digits within 64 bits.
fn value_of(text: &[u8]) -> Option<i64> {
    if text == b"-" {
        return Some(0);
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn awk_fields(line: &[u8]) -> Vec<&[u8]> {
    line.split(|&b| b == b' ' || b == b'\t')
        .filter(|f| !f.is_empty())
        .collect()
}

fn nth<'a>(fields: &[&'a [u8]], n: i64) -> Option<&'a [u8]> {
    let i = if n > 0 { n - 1 } else { fields.len() as i64 + n };
    usize::try_from(i).ok().and_then(|i| fields.get(i).copied())
}

fn model(case: &Case) -> Model {
    let regex = match case.key {
        KeyFlags::Regex(re) => Some(Regex::new(re).unwrap()),
        _ => None,
    };
    let mut m = Model::default();
    for line in pieces(case).into_iter().flat_map(split_lines) {
        m.lines += 1;
        if case.max_line_bytes.is_some_and(|max| line.len() > max) {
            m.oversize += 1;
            continue;
        }
        let found: Option<(Vec<&[u8]>, i64)> = match case.key {
            KeyFlags::Line => Some((vec![line], 1)),
            KeyFlags::Field(n) => nth(&awk_fields(line), n).map(|f| (vec![f], 1)),
            KeyFlags::Delimited(d, n) => {
                // Like awk with a one-character FS, an empty line has no fields.
                let fields: Vec<&[u8]> = if line.is_empty() {
                    vec![]
                } else {
                    line.split(|&b| b == d).collect()
                };
                nth(&fields, n).map(|f| (vec![f], 1))
            }
            KeyFlags::Composite(a, b) => {
                let fields = awk_fields(line);
                nth(&fields, a).zip(nth(&fields, b)).map(|(x, y)| (vec![x, y], 1))
            }
            KeyFlags::Valued(k, v) => {
                let fields = awk_fields(line);
                nth(&fields, k)
                    .zip(nth(&fields, v).and_then(value_of))
                    .map(|(key, v)| (vec![key], v))
            }
            KeyFlags::Regex(_) => regex.as_ref().and_then(|re| re.captures(line)).map(|c| {
                let group = |g: usize| c.get(g).map_or(&line[..0], |m| m.as_bytes());
                let parts = match c.len() {
                    1 => vec![group(0)],
                    2 => vec![group(1)],
                    _ => vec![group(1), group(2)],
                };
                (parts, 1)
            }),
        };
        match found {
            Some((parts, value)) => {
                m.matched += 1;
                let key = parts.into_iter().map(<[u8]>::to_vec).collect();
                *m.totals.entry(key).or_insert(0) += value;
            }
            None => m.skipped += 1,
        }
    }
    m
}

// ------------------------------------------------------------------------------------------
// The sink that fails on purpose
// ------------------------------------------------------------------------------------------

struct FlakySink {
    schema: KeySchema,
    failing: Failing,
    state: u64,
    writes: u32,
    accepted: Arc<Mutex<Totals>>,
}

impl FlakySink {
    fn refuses(&mut self) -> bool {
        match self.failing {
            Failing::First(k) => self.writes <= k,
            Failing::Randomly { percent, .. } => {
                // xorshift64
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                (self.state % 100) < u64::from(percent)
            }
        }
    }
}

impl Sink for FlakySink {
    fn name(&self) -> String {
        "test sink".to_string()
    }

    fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        self.writes += 1;
        if self.refuses() {
            anyhow::bail!("write {} refused on purpose", self.writes);
        }
        let mut accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        for (key, total) in snapshot.rows() {
            let parts = self.schema.decode(key).map(<[u8]>::to_vec).collect();
            *accepted.entry(parts).or_insert(0) += total;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Running a case
// ------------------------------------------------------------------------------------------

/// The input files of a case: the data cut at the chunk sizes, in turn, at most 8 files.
fn pieces(case: &Case) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut at = 0;
    for (size, _) in case.chunks.iter().cycle() {
        if at >= case.data.len() {
            break;
        }
        let end = if pieces.len() == 7 {
            case.data.len()
        } else {
            (at + size).min(case.data.len())
        };
        pieces.push(&case.data[at..end]);
        at = end;
    }
    pieces
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let fallback = dir.path().join("fallback.csv");
    let mut argv: Vec<String> = vec![
        "statbuf".into(),
        format!("--block-size={}", case.block_size),
        format!("--workers={}", case.workers),
        format!("--flush-timeout={}ms", case.flush_timeout_ms),
        format!("--fallback={}", fallback.display()),
    ];
    if let Some(max) = case.max_line_bytes {
        argv.push(format!("--max-line-bytes={max}"));
    }
    argv.extend(case.key.args());
    // With no data, one empty file.
    let files = pieces(case);
    for (i, piece) in files
        .iter()
        .copied()
        .chain(files.is_empty().then_some(&b""[..]))
        .enumerate()
    {
        let path = dir.path().join(format!("in{i}.log"));
        std::fs::write(&path, piece).map_err(|e| TestCaseError::fail(e.to_string()))?;
        argv.push(path.display().to_string());
    }
    let args = Args::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let config = Config::from_args(args).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let schema = config.schema.clone();

    let accepted = Arc::new(Mutex::new(Totals::new()));
    let seed = match case.failing {
        Failing::Randomly { seed, .. } => seed | 1,
        Failing::First(_) => 1,
    };
    let sink = FlakySink {
        schema: schema.clone(),
        failing: case.failing,
        state: seed,
        writes: 0,
        accepted: accepted.clone(),
    };
    // The test keeps both senders until the pipeline returns: a closed channel would read as
    // an endless stream of ticks or signals.
    let (ticks, tick_rx) = unbounded::<Instant>();
    let (control, control_rx) = unbounded::<Control>();
    let (done_tx, done) = bounded::<()>(1);
    let runner = std::thread::spawn(move || {
        let meter = Meter::new();
        let report = pipeline::run(&config, vec![Box::new(sink)], tick_rx, control_rx, &meter);
        let _ = done_tx.send(());
        report
    });
    // Ticks in bursts while the pipeline reads, with short pauses between the bursts.
    let deadline = Instant::now() + CASE_DEADLINE;
    for (i, (size, burst)) in case.chunks.iter().cycle().enumerate() {
        if !done.is_empty() || i >= 64 {
            break;
        }
        for _ in 0..*burst {
            let _ = ticks.send(Instant::now());
        }
        std::thread::sleep(Duration::from_micros(20 * *size as u64));
    }
    if done
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .is_err()
    {
        panic!("the pipeline did not finish within {CASE_DEADLINE:?}: {case:?}");
    }
    let report: RunReport = match runner.join() {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => return Err(TestCaseError::fail(format!("the pipeline failed: {e:#}"))),
        Err(_) => return Err(TestCaseError::fail("the pipeline panicked")),
    };
    drop((ticks, control));

    let expected = model(case);
    let mut delivered = accepted.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let went_to_fallback = fallback.exists();
    if went_to_fallback {
        let bytes = std::fs::read(&fallback).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let table = CsvTable::parse(&bytes, &"the fallback file");
        let mut header = vec!["window_start".to_string(), "window_end".to_string()];
        header.extend(schema.names().iter().cloned());
        header.push("count".to_string());
        prop_assert_eq!(&table.header, &header, "fallback header");
        let count = table.column("count");
        for row in &table.rows {
            let parts: Vec<Vec<u8>> = row[2..count].to_vec();
            let n: i64 = std::str::from_utf8(&row[count]).unwrap().parse().unwrap();
            *delivered.entry(parts).or_insert(0) += n;
        }
    }
    // A sum of 0 may be a row or no row.
    delivered.retain(|_, n| *n != 0);
    let mut want = expected.totals.clone();
    want.retain(|_, n| *n != 0);
    if delivered != want {
        let render = |t: &Totals| {
            t.iter()
                .map(|(k, n)| {
                    let parts: Vec<String> = k.iter().map(|p| show(p)).collect();
                    format!("{} => {n}", parts.join("|"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(TestCaseError::fail(format!(
            "sink + fallback != model\n  delivered: {}\n  model:     {}\n  input files: {:?}",
            render(&delivered),
            render(&want),
            pieces(case).iter().map(|p| show(p)).collect::<Vec<_>>()
        )));
    }
    let s = &report.stats;
    prop_assert_eq!(
        (s.lines, s.matched, s.unmatched + s.bad_values, s.oversize),
        (
            expected.lines,
            expected.matched,
            expected.skipped,
            expected.oversize
        ),
        "(lines, matched, skipped, oversize) for input files {:?}",
        pieces(case).iter().map(|p| show(p)).collect::<Vec<_>>()
    );
    prop_assert_eq!(report.input_errors, 0);
    prop_assert_eq!(
        went_to_fallback,
        !report.flush.failed_sinks.is_empty(),
        "a fallback file exactly when a sink failed at the end"
    );
    Ok(())
}

fn proptest_config() -> ProptestConfig {
    // PROPTEST_CASES and PROPTEST_RNG_SEED still choose; by default the cases are the same on
    // every run, so that CI fails or passes for the code, not for the draw.
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 32;
    }
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(0x5eed_0f57_a7b0);
    }
    config.failure_persistence = None;
    config.max_shrink_time = 60_000;
    config
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn every_count_reaches_the_sink_or_the_fallback(case in case()) {
        run_case(&case)?;
    }
}

// ------------------------------------------------------------------------------------------
// The splitter and the extractors, over a fixed-seed sample
// ------------------------------------------------------------------------------------------

/// xorshift64*: a fixed-seed generator, so that the sample is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Pieces lines are made of: bytes and words that matter to splitting, values and regexes.
const PIECES: &[&[u8]] = &[
    b" ",
    b"  ",
    b"\t",
    b" \t ",
    b"a",
    b"bb",
    b"abc",
    b",",
    b",,",
    b"\r",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"\xe2\x80\x83",
    b"\x0b",
    b"x=",
    b"k=12",
    b"\"GET /a?b=1 HTTP/1.1\"",
    b"\"POST /x HTTP/1.0\"",
    b"-",
    b"+7",
    b"-42",
    b"007",
    b"1.5",
    b"12k",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775807",
    b"99999999999999999999",
    b"+-1",
    b"--1",
];

fn random_line(rng: &mut Rng) -> Vec<u8> {
    let pieces = rng.below(12);
    let mut line = Vec::new();
    for _ in 0..pieces {
        if rng.below(4) == 0 {
            line.push(rng.next() as u8);
        } else {
            line.extend_from_slice(rng.pick(PIECES));
        }
    }
    // A line as the splitter hands it over: no newline, no trailing carriage return.
    line.retain(|&b| b != b'\n');
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

#[test]
fn splitter_and_extractors_keep_their_invariants_over_a_fixed_seed_sample() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0usize;

    // The splitter, over buffers dense in line ends.
    for _ in 0..4000 {
        let len = rng.below(40);
        let data: Vec<u8> = (0..len).map(|_| rng.pick(b"ab\r\n\n\x00 ")).collect();
        invariants::check_lines(&data);
    }

    // Field keys: 200 random flag sets, 100 lines each.
    let indexes = [1, 2, 3, 7, -1, -2, -5, i64::MAX, i64::MIN, 1 << 40];
    for _ in 0..200 {
        let key = invariants::FieldKey {
            fields: (0..rng.below(4)).map(|_| rng.pick(&indexes)).collect(),
            delimiter: rng.pick(&[
                None,
                None,
                Some(b','),
                Some(b'\t'),
                Some(b' '),
                Some(b'a'),
                Some(0),
            ]),
            value_field: rng.pick(&[None, None, Some(1), Some(2), Some(-1)]),
        };
        let lines: Vec<Vec<u8>> = (0..100).map(|_| random_line(&mut rng)).collect();
        let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        invariants::check_field_key(&key, &lines);
        checked += lines.len();
    }

    // Regex keys: every pattern over the same 1,000 lines.
    let lines: Vec<Vec<u8>> = (0..1000).map(|_| random_line(&mut rng)).collect();
    let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    for pattern in invariants::PATTERNS {
        let key = invariants::RegexKey::new(pattern).expect("a pattern of the list compiles");
        invariants::check_regex_key(&key, &lines);
        checked += lines.len();
    }
    println!("extractor invariants held on {checked} lines");
}

#[test]
fn the_smallest_64_bit_value_is_a_value() {
    // "an optional sign and decimal digits, up to 64 bits": i64::MIN is one of those.
    let key = invariants::FieldKey {
        fields: vec![1],
        delimiter: None,
        value_field: Some(2),
    };
    invariants::check_field_key(&key, &[b"a -9223372036854775808", b"b 9223372036854775807"]);
}

// ------------------------------------------------------------------------------------------
// The JSON and logfmt scanners, over the hostile fixtures and edits of them
// ------------------------------------------------------------------------------------------

/// The lines of a file under `fixtures/`.
fn fixture_lines(name: &str) -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    statbuf::input::lines(&data).map(<[u8]>::to_vec).collect()
}

/// `line` and `edits` copies of it, each with one edit drawn from `rng`: cut short, one byte
/// dropped, one byte replaced by the first of a piece, or a piece inserted.
fn with_edits(rng: &mut Rng, line: &[u8], edits: usize, pieces: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut variants = vec![line.to_vec()];
    for _ in 0..edits {
        let mut variant = line.to_vec();
        let at = rng.below(line.len() + 1);
        let piece = rng.pick(pieces);
        match (rng.below(4), at < line.len()) {
            (0, _) => variant.truncate(at),
            (1, true) => {
                variant.remove(at);
            }
            (2, true) => variant[at] = piece[0],
            _ => {
                variant.splice(at..at, piece.iter().copied());
            }
        }
        variants.push(variant);
    }
    variants
}

#[test]
fn structured_scanners_keep_their_invariants_over_the_hostile_fixtures_and_edits() {
    let mut rng = Rng(0x5c4a_77e2_0b1e_c7ed);
    let mut checked = 0usize;

    let json_pieces: &[&[u8]] = &[
        b"{", b"}", b"[", b"]", b"\"", b":", b",", b" ", b"\\", b"\\u", b"\\ud800", b"0", b"-", b"e",
        b"\x01", b"\xff", b"\xc3", b"null", b"\"a\":",
    ];
    let paths: Vec<&str> = invariants::JSON_PATHS
        .iter()
        .copied()
        .chain([".k", ".o.k", ".id", r#".o."a b".k"#])
        .collect();
    for line in fixture_lines("hostile.jsonl") {
        for variant in with_edits(&mut rng, &line, 24, json_pieces) {
            for path in &paths {
                invariants::check_json(path, &variant);
                checked += 1;
            }
        }
    }

    let logfmt_pieces: &[&[u8]] = &[
        b"=",
        b"\"",
        b" ",
        b"\t",
        b"\\",
        b"\\u",
        b"\\ud83d",
        b"\x01",
        b"\xff",
        b"\xef\xbf\xbd",
        b"k=",
        b"k",
        b"a=\"",
        b"\\\"",
    ];
    for line in fixture_lines("hostile.logfmt") {
        for variant in with_edits(&mut rng, &line, 24, logfmt_pieces) {
            invariants::check_logfmt(&variant);
            checked += 1;
        }
    }
    println!("structured scanner invariants held on {checked} lookups");
}
