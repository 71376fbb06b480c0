//! The statbuf binary: parse the command line, run, map errors to exit codes.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind as ClapErrorKind};

use statbuf::app::Ui;
use statbuf::cli::Args;
use statbuf::config::Config;
use statbuf::exit::Exit;
use statbuf::message::say;
use statbuf::progress::When;

fn main() -> ExitCode {
    release_freed_maps();
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => return clap_error(error),
    };
    if let Some(kind) = args.generate {
        return print(&statbuf::generate::generate(kind));
    }
    if args.explain == Some(0) {
        say("--explain: must be at least 1");
        return Exit::Usage.into();
    }
    let explain = args.explain;
    let ui = Ui {
        progress: When::from_flags(args.progress, args.no_progress),
        follow: args.follow,
    };
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(error) => {
            say(error);
            return Exit::Usage.into();
        }
    };
    let result = match explain {
        Some(lines) => statbuf::explain::run(&config, lines).map(|()| Exit::Success),
        None => statbuf::app::run(config, ui),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            say(format_args!("{error:#}"));
            Exit::Failure.into()
        }
    }
}

/// Writes generated text to stdout; a closed stdout is not an error.
fn print(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Success.into(),
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Exit::Success.into(),
        Err(error) => {
            say(format_args!("writing to stdout: {error}"));
            Exit::Failure.into()
        }
    }
}

/// clap's help and version go out as they are (coloured only on a terminal, and never with
/// NO_COLOR set); its errors become one plain line, `statbuf: <flag>: <what is wrong>`, with
/// its suggestion for a mistyped flag.
fn clap_error(error: clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return Exit::Success.into();
    }
    say(usage_message(&error));
    Exit::Usage.into()
}

/// The one-line message for a clap error, built from what clap knows about it.
fn usage_message(error: &clap::Error) -> String {
    let context = |kind: ContextKind| match error.get(kind) {
        Some(ContextValue::String(s)) => Some(flag_name(s).to_string()),
        Some(ContextValue::Strings(v)) => Some(v.iter().map(|s| flag_name(s)).collect::<Vec<_>>().join(", ")),
        _ => None,
    };
    let flag = context(ContextKind::InvalidArg);
    let value = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let mut message = match (error.kind(), &flag) {
        (ClapErrorKind::UnknownArgument, Some(flag)) => format!("{flag}: unknown flag"),
        (ClapErrorKind::InvalidValue | ClapErrorKind::ValueValidation, Some(flag)) => match value {
            Some("") | None => format!("{flag}: a value is required"),
            Some(value) => match std::error::Error::source(error) {
                Some(why) => format!("{flag}: invalid value '{value}': {why}"),
                None => format!("{flag}: invalid value '{value}'"),
            },
        },
        (ClapErrorKind::ArgumentConflict, Some(flag)) => match context(ContextKind::PriorArg) {
            Some(prior) => format!("{flag}: cannot be used with {prior}"),
            None => format!("{flag}: cannot be used with the other flags given"),
        },
        (ClapErrorKind::MissingRequiredArgument, Some(flag)) => {
            format!("{flag}: required by the other flags given")
        }
        (ClapErrorKind::TooManyValues | ClapErrorKind::WrongNumberOfValues, Some(flag)) => match value {
            Some(value) => format!("{flag}: unexpected value '{value}'"),
            None => format!("{flag}: wrong number of values"),
        },
        // Anything else: clap's name for the kind of error, never its rendered text, whose
        // wording may change from one clap release to the next.
        (kind, flag) => {
            let what = kind.as_str().unwrap_or("invalid arguments");
            match flag {
                Some(flag) => format!("{flag}: {what}"),
                None => what.to_string(),
            }
        }
    };
    if let Some(suggested) = context(ContextKind::SuggestedArg) {
        message.push_str(&format!(" (did you mean '{suggested}'?)"));
    }
    if let Some(ContextValue::Strings(valid)) = error.get(ContextKind::ValidValue)
        && !valid.is_empty()
    {
        message.push_str(&format!(": expected one of {}", valid.join(", ")));
    }
    message
}

/// `--format` from clap's `--format <FORMAT>` or `--explain[=<N>]`.
fn flag_name(arg: &str) -> &str {
    arg.split([' ', '[', '=']).next().unwrap_or(arg)
}

/// glibc serves an allocation from its heap instead of a fresh mapping once a large mapping of
/// that size has been freed (its mmap threshold adapts, up to 32 MiB), and memory in the heap is
/// seldom given back. The maps of a window, freed at every flush, would then keep the peak of
/// the largest window resident for the rest of the run: with `--max-keys 100000` over a million
/// keys, 66 MB instead of 37. A fixed threshold keeps every block above 128 KiB in a mapping of
/// its own, returned to the system when freed.
fn release_freed_maps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called first thing in main, before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
