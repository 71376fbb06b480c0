//! The exit statuses statbuf uses, in one place.

use std::process::ExitCode;

/// How a run ends, as the shell sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything read was counted and written.
    Success = 0,
    /// A runtime failure: an input that could not be read, a sink that failed, a checkpoint
    /// that could not be saved. Counts that were not written were kept or reported.
    Failure = 1,
    /// A bad flag or flag value, as clap and most Unix tools use.
    Usage = 2,
    /// A second interrupt cut the final flush short (128 + SIGINT, as shells report it).
    Aborted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}
