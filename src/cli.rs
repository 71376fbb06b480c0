//! The command line, as clap sees it: flags parsed into plain values.
//!
//! Nothing here opens a file or compiles a regex; `config` turns these values into a validated,
//! resolved `Config`.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};

/// Count keys from log lines and flush the counts to stdout, CSV or SQLite.
#[derive(Debug, Parser)]
#[command(
    name = "statbuf",
    version,
    about = "Count keys from log lines and flush the aggregated counts to stdout, CSV or SQLite",
    long_about = "Count keys from log lines and flush the aggregated counts to stdout, CSV or SQLite.\n\n\
        statbuf reads lines from files or standard input, extracts a key from each one (an awk \
        field, a fixed-delimiter field or a regex capture) and keeps per-key counts in memory. \
        Every --interval, at end of input and on SIGINT or SIGTERM it flushes the counts gathered \
        since the last flush to every sink, then forgets them. Without a key flag the whole line \
        is the key, like `sort | uniq -c`.",
    after_help = "Examples:\n  \
        statbuf -k 7 access.log                          count awk's $7 (the request path)\n  \
        tail -f access.log | statbuf -k 7 -i 10s --sqlite counts.db\n  \
        statbuf -r '\"[A-Z]+ (\\S+)' --csv hits.csv access.log\n  \
        statbuf -k 9 -k 7 access.log                     composite key: status, path\n  \
        statbuf -k 7 --value-field 10 access.log         bytes per path",
    after_long_help = "Examples:\n  \
        Count requests per path (awk's $7), like awk '{print $7}' | sort | uniq -c | sort -rn:\n      \
            statbuf -k 7 access.log\n\n  \
        Follow a live log and add the counts to SQLite every 10 seconds:\n      \
            tail -f access.log | statbuf -k 7 -i 10s --sqlite counts.db\n      \
            sqlite3 counts.db 'select key, count from counts order by count desc limit 10'\n\n  \
        Count a regex capture into a CSV file (one row per key per flush):\n      \
            statbuf -r '\"[A-Z]+ (\\S+)' --csv hits.csv access.log\n\n  \
        Composite key (status, path) and named regex groups:\n      \
            statbuf -k 9 -k 7 access.log\n      \
            statbuf -r '\"(?P<method>[A-Z]+) (?P<path>[^ ?\"]+)' access.log\n\n  \
        Sum a value per key instead of counting lines (bytes per path):\n      \
            statbuf -k 7 --value-field 10 access.log\n\n\
        Exit status: 0 on success (also after SIGINT or SIGTERM), 1 on a runtime error \
        (an unreadable input, a sink that could not be written), 2 on a usage error."
)]
pub struct Args {
    /// Files to read, in order; none or `-` means standard input
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Key from whitespace field N, like awk's $N; negative counts from the end (-1 is $NF);
    /// repeat for a composite key
    #[arg(
        short = 'k',
        long = "key-field",
        value_name = "N",
        action = ArgAction::Append,
        allow_negative_numbers = true,
        conflicts_with = "key_regex"
    )]
    pub key_fields: Vec<i64>,

    /// Split fields at this single byte instead of runs of blanks (`\t` for tabs)
    #[arg(short = 'd', long, value_name = "C")]
    pub delimiter: Option<String>,

    /// Key from a regex: capture group 1, the named groups in order, or the whole match
    #[arg(short = 'r', long = "key-regex", value_name = "RE")]
    pub key_regex: Option<String>,

    /// Add the integer in field N instead of 1 (a regex group named `value` does the same)
    #[arg(long = "value-field", value_name = "N", allow_negative_numbers = true)]
    pub value_field: Option<i64>,

    /// Flush every DURATION (500ms, 10s, 1m30s); without it, once at end of input
    #[arg(short = 'i', long, value_name = "DURATION")]
    pub interval: Option<String>,

    /// Append one row per key per flush to this CSV file
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Add the counts to this SQLite database (created if missing)
    #[arg(long, value_name = "FILE")]
    pub sqlite: Option<PathBuf>,

    /// SQLite table for the totals
    #[arg(long, value_name = "NAME", default_value = "counts")]
    pub table: String,

    /// Print to stdout even when --csv or --sqlite is given
    #[arg(long)]
    pub stdout: bool,

    /// Format of the stdout sink
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Plain)]
    pub format: Format,

    /// Print only the N largest counts of each flush to stdout
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Skip lines longer than this many bytes (counted as oversize)
    #[arg(long = "max-line-bytes", value_name = "BYTES", default_value = "1048576")]
    pub max_line_bytes: usize,

    /// At exit, keep retrying a failing sink this long before giving up on it
    #[arg(long = "flush-timeout", value_name = "DURATION", default_value = "30s")]
    pub flush_timeout: String,

    /// Write counts a sink could not take to this file (CSV) instead of stderr
    #[arg(long, value_name = "FILE")]
    pub fallback: Option<PathBuf>,

    /// Print no summary line at exit
    #[arg(short, long)]
    pub quiet: bool,

    /// Extraction threads (default: the number of CPUs)
    #[arg(long, value_name = "N", hide = true)]
    pub workers: Option<usize>,

    /// Bytes read per block
    #[arg(long = "block-size", value_name = "BYTES", hide = true)]
    pub block_size: Option<usize>,
}

/// How the stdout sink writes a flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `count key` lines like `sort | uniq -c | sort -rn`
    Plain,
    /// window_start, window_end, key parts, count; tab-separated, with a header
    Tsv,
    /// window_start, window_end, key parts, count; RFC 4180 CSV, with a header
    Csv,
    /// one JSON object per key per flush
    Json,
}
