//! A reader that goes away: statbuf's stdout closed by `head`.

use std::process::{Command, Stdio};

use crate::tools::{Tool, have};

use super::*;

#[test]
fn head_closing_the_pipe_ends_statbuf_quietly_with_status_0() {
    head_closes_the_pipe("plain");
}

/// Every rendering meets the closed pipe the same way (CSV's writer wraps the error).
#[test]
fn head_closing_the_pipe_is_quiet_in_every_format() {
    for format in ["csv", "tsv", "json"] {
        head_closes_the_pipe(format);
    }
}

fn head_closes_the_pipe(format: &str) {
    if !have(&[Tool::Mawk]) {
        return;
    }
    let wd = Workdir::new();
    // 50,000 distinct paths: far more output than a pipe holds, so statbuf meets the closed pipe.
    let mut log = Vec::new();
    for i in 0..200_000 {
        log.extend_from_slice(
            format!(
                "h - - [t +0000] \"GET /p{} HTTP/1.1\" 200 1\n",
                (i * 7919) % 50_000
            )
            .as_bytes(),
        );
    }
    let big = wd.write("big.log", &log);
    let expected = render_plain(&mawk("NF >= 7 { c[$7]++ }", &[&big]));
    let first = &expected[..=expected.iter().position(|&b| b == b'\n').unwrap()];
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"set -o pipefail; "$1" -k 7 --format "$2" big.log 2>statbuf.err | head -1; echo "status ${PIPESTATUS[*]}" >&2"#)
        .arg("bash")
        .arg(STATBUF)
        .arg(format)
        .current_dir(wd.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = run_to_end(
        format!("statbuf -k 7 --format {format} big.log | head -1"),
        cmd,
        None,
    );
    let statbuf_err = String::from_utf8_lossy(&wd.read("statbuf.err")).into_owned();
    assert_eq!(
        run.stderr_str().trim(),
        "status 0 0",
        "statbuf's and head's status\n{run}\n{statbuf_err}"
    );
    assert_eq!(run.code(), Some(0), "the pipeline fails under pipefail\n{run}");
    if format == "plain" {
        assert_output_eq(&run.stdout, first, &run);
    }
    for marker in PANIC_MARKERS {
        assert!(!statbuf_err.contains(marker), "statbuf's stderr:\n{statbuf_err}");
    }
    let noise: Vec<&str> = statbuf_err
        .lines()
        .filter(|l| Summary::parse_line(l).is_err())
        .collect();
    assert!(
        noise.is_empty(),
        "statbuf complained about the closed pipe:\n{statbuf_err}"
    );
}

#[test]
fn an_endless_stream_ends_when_its_reader_goes_away() {
    let wd = Workdir::new();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"yes 'a b c d e f /x' | "$1" -k 7 -i 100ms 2>statbuf.err | head -1; echo "status ${PIPESTATUS[*]}" >&2"#)
        .arg("bash")
        .arg(STATBUF)
        .current_dir(wd.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = run_to_end("yes | statbuf -k 7 -i 100ms | head -1".into(), cmd, None);
    let statbuf_err = String::from_utf8_lossy(&wd.read("statbuf.err")).into_owned();
    let status = run.stderr_str();
    let codes: Vec<&str> = status.trim().trim_start_matches("status ").split(' ').collect();
    // yes dies of SIGPIPE (141) once statbuf is gone; statbuf itself must exit 0.
    assert_eq!(codes.get(1), Some(&"0"), "statbuf's status\n{run}\n{statbuf_err}");
    assert!(
        run.stdout_str().starts_with("# "),
        "the first line is a window line\n{run}"
    );
    for marker in PANIC_MARKERS {
        assert!(!statbuf_err.contains(marker), "statbuf's stderr:\n{statbuf_err}");
    }
}
