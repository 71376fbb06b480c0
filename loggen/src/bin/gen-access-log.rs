//! gen-access-log: writes a deterministic synthetic access log (combined format, JSON lines or
//! logfmt).
//!
//! ```text
//! cargo run --release -p loggen --bin gen-access-log -- --lines 1000000 --out /tmp/a.log
//! ```
//!
//! See the `loggen` library for what the lines look like and which properties they keep.

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::str::FromStr;

use loggen::{Format, LogSpec, TimeFormat, write_access_log};

const USAGE: &str = "\
Usage: gen-access-log --lines N [--seed S] [--keys K] [--zipf S] [--uniform U]
                      [--format combined|json|logfmt] [--time clf|rfc3339] [--out FILE]

Writes N lines of a synthetic web-server access log; the same arguments always give the same
bytes, and arguments that differ only in --format and --time give the same requests.

Options:
  --lines N      number of lines to write (required)
  --seed S       seed of the pseudo-random generator (default 1)
  --keys K       number of distinct request targets, awk's $7 (default 10000)
  --zipf S       Zipf exponent: target of rank r has weight 1/r^S (default 1.0)
  --uniform U    share of requests drawn uniformly over all targets, 0 to 1 (default 0.05)
  --format F     combined (Apache/nginx, the default), json (nginx escape=json style, the
                 target at .request.uri) or logfmt (the target at path=)
  --time T       clf (10/Mar/2024:00:00:00 +0000, the combined format's default) or rfc3339
                 (2024-03-10T00:00:00+00:00, the default of json and logfmt); in the combined
                 format an RFC 3339 time is one field where the CLF time is two, so the
                 target is $6 and the status $8
  --out FILE     write to FILE instead of standard output
  -h, --help     print this help";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (spec, out) = match parse(&args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("gen-access-log: {message} (see --help)");
            return ExitCode::from(2);
        }
    };
    let result = match &out {
        Some(path) => match File::create(path) {
            Ok(file) => write_access_log(&spec, file),
            Err(err) => {
                eprintln!("gen-access-log: cannot create {path}: {err}");
                return ExitCode::FAILURE;
            }
        },
        None => write_access_log(&spec, io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`gen-access-log ... | head`): not an error.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            let target = out.as_deref().unwrap_or("standard output");
            let _ = writeln!(io::stderr(), "gen-access-log: cannot write {target}: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The spec and output file, `None` for `--help`, or a one-line error.
fn parse(args: &[String]) -> Result<Option<(LogSpec, Option<String>)>, String> {
    let mut spec = LogSpec::default();
    let mut lines = None;
    let mut out = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (arg, None),
        };
        if !matches!(
            flag,
            "--lines" | "--seed" | "--keys" | "--zipf" | "--uniform" | "--format" | "--time" | "--out"
        ) {
            return Err(if flag.starts_with('-') {
                format!("unknown option '{flag}'")
            } else {
                format!("unexpected argument '{arg}'")
            });
        }
        let value = match inline {
            Some(value) => value,
            None => {
                let value = args.get(i).ok_or_else(|| format!("{flag} needs a value"))?;
                i += 1;
                value.as_str()
            }
        };
        match flag {
            "--lines" => lines = Some(number::<u64>(flag, value)?),
            "--seed" => spec.seed = number(flag, value)?,
            "--keys" => spec.keys = number(flag, value)?,
            "--zipf" => spec.zipf = number(flag, value)?,
            "--uniform" => spec.uniform = number(flag, value)?,
            "--format" => {
                spec.format = match value {
                    "combined" => Format::Combined,
                    "json" => Format::Json,
                    "logfmt" => Format::Logfmt,
                    _ => {
                        return Err(format!(
                            "--format must be combined, json or logfmt, not '{value}'"
                        ));
                    }
                }
            }
            "--time" => {
                spec.time = Some(match value {
                    "clf" => TimeFormat::Clf,
                    "rfc3339" => TimeFormat::Rfc3339,
                    _ => return Err(format!("--time must be clf or rfc3339, not '{value}'")),
                })
            }
            _ => {
                if value.is_empty() {
                    return Err("--out needs a file name".to_string());
                }
                out = Some(value.to_string());
            }
        }
    }
    spec.lines = lines.ok_or("--lines is required")?;
    if spec.keys == 0 {
        return Err("--keys must be at least 1".to_string());
    }
    if !(spec.zipf.is_finite() && spec.zipf >= 0.0) {
        return Err(format!("--zipf must be a finite number >= 0, not {}", spec.zipf));
    }
    if !(0.0..=1.0).contains(&spec.uniform) {
        return Err(format!("--uniform must be between 0 and 1, not {}", spec.uniform));
    }
    Ok(Some((spec, out)))
}

fn number<T: FromStr>(flag: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|err| format!("invalid value '{value}' for {flag}: {err}"))
}
