//! Inputs as sources of bytes: `--explain` reads compressed files and compressed standard input
//! decoded, as counting does, and names a file that only looks compressed. Several files are
//! read at once: the counts, the windows of flushes and the checkpoints of `--state` are what
//! reading them one after another gives, checked against mawk.

use std::io::Write;
use std::path::{Path, PathBuf};

use loggen::LogSpec;

use crate::tools::{Tool, have};
use crate::util::*;

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    out.write_all(text).unwrap();
    out.finish().unwrap()
}

fn zstd(text: &[u8]) -> Vec<u8> {
    zstd::encode_all(text, 3).unwrap()
}

/// The lines an explanation echoes, in order (the line after its number).
fn shown_lines(run: &Run) -> Vec<String> {
    run.stdout_str()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim_start().starts_with("->"))
        .filter_map(|l| l.trim_start().split_once("  ").map(|(_, line)| line.to_owned()))
        .collect()
}

const TEXT: &str = "GET /a 200\nGET /b 404\nGET /c 200\n";

#[test]
fn explain_reads_compressed_files_and_stdin_decoded() {
    let wd = Workdir::new();
    let gz = wd.write("access.log.gz", gzip(TEXT.as_bytes()));
    let zst = wd.write("access.log.zst", zstd(TEXT.as_bytes()));
    let want = ["GET /a 200", "GET /b 404", "GET /c 200"];
    for file in [&gz, &zst] {
        let run = wd.statbuf().args(["--explain", "-k", "2"]).arg(file).run();
        assert_eq!(shown_lines(&run), want, "{run}");
        assert!(run.stdout_str().contains("-> key \"/b\""), "{run}");
    }
    let run = wd
        .statbuf()
        .args(["--explain=2", "-k", "2"])
        .stdin(gzip(TEXT.as_bytes()))
        .run();
    assert_eq!(shown_lines(&run), want[..2], "{run}");
    // Asked not to, it shows the bytes as they are.
    let run = wd
        .statbuf()
        .args(["--explain=1", "--no-decompress"])
        .arg(&gz)
        .run();
    assert!(!run.stdout_str().contains("GET /a"), "{run}");
}

#[test]
fn explain_names_a_file_that_only_looks_compressed() {
    let wd = Workdir::new();
    let fake = wd.write("fake.gz", b"\x1f\x8bthis is not gzip at all\n");
    let run = wd.statbuf().arg("--explain").arg(&fake).run_with_code(1);
    let err = run.stderr_str();
    assert!(
        err.starts_with(&format!("statbuf: {}: gzip data is damaged", fake.display())),
        "{run}"
    );
    assert_eq!(err.lines().count(), 1, "{run}");
    run.assert_no_panic();
}

// ------------------------------------------------------------------------------------------
// Several files read at once
// ------------------------------------------------------------------------------------------

/// `lines` generated access-log lines (field 7 is the request path), written to `name`.
fn access_log(wd: &Workdir, name: &str, lines: u64, seed: u64) -> Vec<u8> {
    let spec = LogSpec {
        lines,
        seed,
        keys: 800,
        ..LogSpec::default()
    };
    read(&wd.access_log(name, &spec))
}

/// `text` as `kind` stores it.
fn packed(kind: usize, text: &[u8]) -> Vec<u8> {
    match kind % 5 {
        0 => text.to_vec(),
        1 => gzip(text),
        2 => zstd(text),
        3 => {
            let mut out = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            out.write_all(text).unwrap();
            out.finish().unwrap()
        }
        _ => {
            let mut out = liblzma::write::XzEncoder::new(Vec::new(), 6);
            out.write_all(text).unwrap();
            out.finish().unwrap()
        }
    }
}

/// Writes `files` logs of various sizes, plain and in every compressed format, beside their
/// plain text (`plain/`, for mawk). Returns the paths statbuf reads and the plain ones.
fn mixed_logs(wd: &Workdir, files: usize, seed: u64) -> (Vec<PathBuf>, Vec<PathBuf>) {
    std::fs::create_dir_all(wd.path("plain")).unwrap();
    let mut read = Vec::new();
    let mut plain = Vec::new();
    for i in 0..files {
        let name = format!("plain/{i}.log");
        let text = access_log(wd, &name, 2_000 + 3_000 * (i as u64 % 4), seed + i as u64);
        plain.push(wd.path(&name));
        read.push(wd.write(&format!("log{i}.data"), packed(i, &text)));
    }
    (read, plain)
}

fn mawk_by_path(files: &[PathBuf]) -> Counts {
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    mawk("{ c[$7]++ }", &refs)
}

/// Many files, plain and compressed, among them one whose second gzip member is garbage: the
/// counts are mawk's over all the text that decodes (the first member's lines included), the
/// damaged file is named, and the run exits 1. Whatever the block size and worker count.
#[test]
fn many_files_count_what_mawk_counts_and_a_damaged_one_fails_alone() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let (mut read, mut plain) = mixed_logs(&wd, 12, 40);
    let text = access_log(&wd, "plain/damaged.log", 4_000, 99);
    plain.push(wd.path("plain/damaged.log"));
    let mut damaged = gzip(&text);
    damaged.extend_from_slice(b"\x1f\x8b\x08\x00 and then not gzip at all\n");
    read.insert(5, wd.write("damaged.log.gz", damaged));
    let expected = mawk_by_path(&plain);
    let lines = plain.iter().map(|p| line_count(p)).sum::<u64>();
    for extra in [&[][..], &["--block-size", "4096", "--workers", "3"]] {
        let run = wd
            .statbuf()
            .args(["-k", "7"])
            .args(extra)
            .args(&read)
            .run_with_code(1);
        assert_counts_eq(&run.plain(), &expected, &run);
        let err = run.stderr_str();
        let named = format!("{}: gzip data is damaged", wd.path("damaged.log.gz").display());
        assert_eq!(err.matches(&named).count(), 1, "{run}");
        assert_eq!(run.summary().lines, lines, "{run}");
        let compressed = (0..12).filter(|i| i % 5 != 0).count() + 1;
        assert!(
            err.contains(&format!("{compressed} inputs decompressed")),
            "{run}"
        );
    }
}

/// Flushes while several files are being read, on a timer and on SIGHUP: the windows add up
/// to mawk's counts, so no line is in two windows and none is in none.
#[test]
fn flushes_while_several_files_are_read_add_up_to_mawk() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    let (read, mut plain) = mixed_logs(&wd, 10, 70);
    let windows = |run: &Run| {
        let blocks = parse_plain_blocks(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
        let mut sum = Counts::new();
        for (_, counts) in &blocks {
            add_counts(&mut sum, counts);
        }
        sum
    };

    let run = wd
        .statbuf()
        .args(["-k", "7", "--interval", "2ms", "--block-size", "8192"])
        .args(&read)
        .run();
    assert_counts_eq(&windows(&run), &mawk_by_path(&plain), &run);

    // Standard input first, so that on more than one core the files are read while it waits:
    // once its first lines are read, statbuf is surely handling signals. The interval only
    // makes each window start with its `# ` line.
    let first = access_log(&wd, "plain/stdin-1.log", 1_000, 7);
    let last = access_log(&wd, "plain/stdin-2.log", 1_000, 8);
    plain.extend([wd.path("plain/stdin-1.log"), wd.path("plain/stdin-2.log")]);
    let mut live = wd
        .statbuf()
        .args(["-k", "7", "--block-size", "8192", "--interval", "1h", "-"])
        .args(&read)
        .spawn();
    live.write(&first);
    live.wait_until_read();
    for _ in 0..20 {
        live.signal("HUP");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    live.write(&last);
    live.close_stdin();
    let run = live.wait(EXIT_DEADLINE);
    run.assert_success();
    assert_counts_eq(&windows(&run), &mawk_by_path(&plain), &run);
}

/// Logs that grow and rotate between runs — renamed, copied and truncated, renamed and
/// compressed — all named on every run with `--state` into SQLite, and some runs killed with
/// SIGKILL midway: after every complete run, the table holds mawk's counts over every line
/// ever written, each once.
#[test]
fn state_over_rotating_logs_read_at_once_counts_every_line_once() {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    std::fs::create_dir(wd.path("logs")).unwrap();
    let names = ["a", "b", "c", "d"];
    let logs: Vec<PathBuf> = names.iter().map(|n| wd.path(&format!("logs/{n}.log"))).collect();
    let reference = wd.write("reference.log", b"");
    let mut args = vec!["--state", "s.json", "-q", "-k", "7", "--sqlite", "t.db"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    args.extend(names.iter().map(|n| format!("logs/{n}.log")));
    for round in 0..6u64 {
        for (i, log) in logs.iter().enumerate() {
            let seed = 500 + 10 * round + i as u64;
            let before = access_log(&wd, "chunk.log", 3_000 + 500 * i as u64, seed);
            crate::follow::append(log, &before);
            crate::follow::append(&reference, &before);
            // Each log rotates in its own way, on rounds of its own, once a run has seen it.
            let how = if round == 0 { 0 } else { (round + i as u64) % 4 };
            let rotated = match how {
                0 => false,
                1 => {
                    crate::follow::rotate_by_rename(log, round as u32);
                    true
                }
                2 => {
                    crate::follow::rotate_by_copytruncate(log, round as u32);
                    true
                }
                _ => {
                    crate::follow::rotate_by_rename(log, round as u32);
                    let old = crate::follow::numbered(log, 1);
                    let mut gz = old.clone().into_os_string();
                    gz.push(".gz");
                    std::fs::write(&gz, gzip(&read(&old))).unwrap();
                    std::fs::remove_file(&old).unwrap();
                    true
                }
            };
            if rotated {
                let after = access_log(&wd, "chunk.log", 700, seed + 1);
                crate::follow::append(log, &after);
                crate::follow::append(&reference, &after);
            }
        }
        if round % 2 == 1 {
            // Killed at some moment: whatever it committed is committed with its offsets.
            let live = Live::start(&wd, &args);
            std::thread::sleep(std::time::Duration::from_millis(20 * round));
            live.signal("KILL");
            live.wait(EXIT_DEADLINE).assert_no_panic();
        }
        let run = wd.statbuf().args(&args).run();
        assert!(
            !run.stderr_str().contains("not counted"),
            "round {round}: a rotated file was not found\n{run}"
        );
        let got = SqlTable::load(&wd.path("t.db"), "counts").totals(&["key"]);
        let context = format!("round {round}\n{run}");
        assert_counts_eq(&got, &mawk_by_path(std::slice::from_ref(&reference)), &context);
    }
}
