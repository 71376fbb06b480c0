//! Helpers shared by the integration tests, one file per concern; `use crate::util::*` brings
//! them all:
//!
//! - `workdir`: a scratch directory per test, the committed fixtures and the generated logs;
//! - `run`: a statbuf command line, running it to its end, and what a run printed (`Run`, the
//!   summary line);
//! - `live`: a statbuf process in the background, its stdin written and its stderr read as it
//!   runs;
//! - `counts`: per-key counts, parsers of the plain output, and independent reference counts
//!   (mawk, or plain Rust over the bytes a test wrote);
//! - `tables`: CSV files, SQLite tables and JSON objects read back.

#![allow(dead_code)]

mod counts;
mod live;
mod run;
mod tables;
mod workdir;

pub use counts::*;
pub use live::*;
pub use run::*;
pub use tables::*;
pub use workdir::*;
