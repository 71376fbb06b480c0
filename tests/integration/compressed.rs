//! Compressed inputs: gzip (several members), zstd, bzip2 and xz, known by their bytes, count
//! exactly what their text counts, on files and on standard input; damaged and fake ones are
//! reported with the lines before the damage counted; `--state` finds the rest of a log that
//! was rotated and compressed between two runs, into a state file and into SQLite.

use std::io::Write;
use std::path::Path;

use crate::util::*;

#[derive(Clone, Copy, Debug)]
enum Codec {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

const CODECS: [Codec; 4] = [Codec::Gzip, Codec::Zstd, Codec::Bzip2, Codec::Xz];

/// `text` compressed, by the same crates' encoders (the decoders under test are statbuf's).
fn compress(codec: Codec, text: &[u8]) -> Vec<u8> {
    match codec {
        Codec::Gzip => {
            let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            out.write_all(text).unwrap();
            out.finish().unwrap()
        }
        Codec::Zstd => zstd::encode_all(text, 3).unwrap(),
        Codec::Bzip2 => {
            let mut out = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            out.write_all(text).unwrap();
            out.finish().unwrap()
        }
        Codec::Xz => {
            let mut out = liblzma::write::XzEncoder::new(Vec::new(), 6);
            out.write_all(text).unwrap();
            out.finish().unwrap()
        }
    }
}

/// Counts of field 9 (the status) of `text`, as awk counts them.
fn status_counts(text: &[u8]) -> Counts {
    count_by(text, |line| nth_field(&awk_fields(line), 9).map(<[u8]>::to_vec))
}

fn log_text() -> Vec<u8> {
    read(&fixture("apache-access-10k.log"))
}

#[test]
fn every_codec_counts_what_its_text_counts_on_files_and_stdin() {
    let wd = Workdir::new();
    let text = log_text();
    let expected = status_counts(&text);
    for codec in CODECS {
        // A name that says nothing: the bytes decide.
        let file = wd.write(&format!("{codec:?}.data"), compress(codec, &text));
        let run = wd.statbuf().args(["-k", "9"]).arg(&file).run();
        assert_counts_eq(&run.plain(), &expected, &run);
        assert!(run.stderr_str().contains("1 input decompressed"), "{run}");
        let run = wd.statbuf().args(["-k", "9"]).stdin(compress(codec, &text)).run();
        assert_counts_eq(&run.plain(), &expected, &run);
    }
}

/// `cat a.gz b.gz` is one gzip file of two members; every member is read.
#[test]
fn every_gzip_member_is_read() {
    let wd = Workdir::new();
    let text = log_text();
    let half = text[..text.len() / 2].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let mut joined = compress(Codec::Gzip, &text[..half]);
    joined.extend(compress(Codec::Gzip, &text[half..]));
    let file = wd.write("joined.gz", joined);
    let run = wd.statbuf().args(["-k", "9"]).arg(&file).run();
    assert_counts_eq(&run.plain(), &status_counts(&text), &run);
}

/// A cut-short gzip file and one that only starts like gzip: the lines before the damage
/// count, the error names the file, the other files are counted, exit 1.
#[test]
fn damaged_and_fake_compressed_files_are_reported_and_the_rest_counted() {
    let wd = Workdir::new();
    let text = log_text();
    let whole = compress(Codec::Gzip, &text);
    let cut = wd.write("cut.gz", &whole[..whole.len() / 2]);
    let fake = wd.write("fake.gz", b"\x1f\x8bthis is not gzip at all\n");
    let plain = wd.write("plain.log", "a 1\nb 2\n");
    let run = wd
        .statbuf()
        .args(["-k", "1"])
        .arg(&cut)
        .arg(&fake)
        .arg(&plain)
        .run_with_code(1);
    let err = run.stderr_str();
    for name in ["cut.gz: gzip data is damaged", "fake.gz: gzip data is damaged"] {
        assert!(err.contains(name), "no error for {name}\n{run}");
    }
    let counts = run.plain();
    assert_eq!(counts.get(&b"a"[..]), Some(&1), "{run}");
    // What the cut file decodes to before the damage: whole lines of the log, and some.
    let counted: i64 = counts.values().sum::<i64>() - 2;
    let lines = split_lines(&text).len() as i64;
    assert!(
        counted > 0 && counted < lines,
        "{counted} of {lines} lines\n{run}"
    );
}

#[test]
fn no_decompress_reads_the_bytes_as_they_are() {
    let wd = Workdir::new();
    let file = wd.write("x.gz", compress(Codec::Gzip, b"a\nb\n"));
    let run = wd.statbuf().arg("--no-decompress").arg(&file).run();
    assert!(!run.plain().contains_key(&b"a"[..]), "{run}");
    assert!(!run.stderr_str().contains("decompressed"), "{run}");
}

/// logrotate with `compress` and no `delaycompress`: between two cron runs the log was
/// rotated and compressed. The rest of it is read from inside the .gz, at its offset in
/// decoded bytes; a third run adds nothing. Into a state file and into SQLite alike.
#[test]
fn state_finds_the_rest_of_a_log_rotated_and_compressed_since() {
    let text = log_text();
    let lines = split_lines(&text);
    let join = |part: &[&[u8]]| -> Vec<u8> { part.iter().flat_map(|l| [*l, b"\n"].concat()).collect() };
    let expected = status_counts(&text);
    for sink in [None, Some("t.db")] {
        let wd = Workdir::new();
        let mut flags = vec!["-q", "-k", "9", "--state", "s.json"];
        if let Some(db) = sink {
            flags.extend(["--sqlite", db]);
        }
        let mut total = Counts::new();
        let mut counted = |run: &Run| {
            if sink.is_none() {
                add_counts(&mut total, &run.plain());
            }
        };
        wd.write("access.log", join(&lines[..4000]));
        counted(&wd.statbuf().args(&flags).arg("access.log").run());
        // More lines, then rotation: renamed and compressed; a new log starts.
        let mut old = join(&lines[..4000]);
        old.extend(join(&lines[4000..7000]));
        std::fs::remove_file(wd.path("access.log")).unwrap();
        wd.write("access.log.1.gz", compress(Codec::Gzip, &old));
        wd.write("access.log", join(&lines[7000..]));
        let run = wd.statbuf().args(&flags).arg("access.log").run();
        counted(&run);
        let run = wd.statbuf().args(&flags).arg("access.log").run();
        counted(&run);
        let got = match sink {
            Some(db) => SqlTable::load(&wd.path(db), "counts").totals(&["key"]),
            None => total.clone(),
        };
        assert_counts_eq(&got, &expected, &run);
    }
}

#[test]
fn a_compressed_file_resumes_inside_its_text() {
    let wd = Workdir::new();
    let text = log_text();
    let file = wd.write("x.log.zst", compress(Codec::Zstd, &text));
    let run = wd
        .statbuf()
        .args(["-k", "9", "--state", "s.json"])
        .arg(&file)
        .run();
    assert_counts_eq(&run.plain(), &status_counts(&text), &run);
    let state = String::from_utf8_lossy(&wd.read("s.json")).into_owned();
    assert!(state.contains(&format!("\"offset\": {}", text.len())), "{state}");
    let run = wd
        .statbuf()
        .args(["-k", "9", "--state", "s.json"])
        .arg(&file)
        .run();
    assert!(run.plain().is_empty(), "counted twice\n{run}");
    assert!(Path::new(&wd.path("s.json")).exists());
}
