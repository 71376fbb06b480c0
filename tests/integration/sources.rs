//! Every input is read through one source of bytes: `--explain` reads compressed files and
//! compressed standard input decoded, as counting does, and names a file that only looks
//! compressed.

use std::io::Write;

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
