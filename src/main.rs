//! The statbuf binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use statbuf::cli::Args;
use statbuf::config::Config;

/// Exit status for a usage error, as clap and most Unix tools use.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => return clap_error(error),
    };
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("statbuf: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match statbuf::app::run(config) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("statbuf: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// clap's help and version go out as they are; its errors become one line naming the flag,
/// with its suggestion for a mistyped one.
fn clap_error(error: clap::Error) -> ExitCode {
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if let Some(ContextValue::String(suggested)) = error.get(ContextKind::SuggestedArg) {
        message.push_str(&format!(" (did you mean '{suggested}'?)"));
    }
    if let Some(ContextValue::Strings(valid)) = error.get(ContextKind::ValidValue) {
        message.push_str(&format!(": expected one of {}", valid.join(", ")));
    }
    eprintln!("statbuf: {message}");
    ExitCode::from(EXIT_USAGE)
}
