//! The command line, as clap sees it: flags parsed into plain values.
//!
//! Nothing here opens a file or compiles a regex; `config` turns these values into a validated,
//! resolved `Config`. The same definition feeds `--help`, the man page and the shell
//! completions (see `generate`), so a flag is documented once, here.

use std::path::PathBuf;

use clap::{ArgAction, ColorChoice, Parser, ValueEnum};

const TIME: &str = "Time buckets";
const INPUT: &str = "Input";
const FLUSH: &str = "Flushing";
const SINKS: &str = "Sinks";
const DISPLAY: &str = "Display";

/// The examples at the end of `-h`.
const SHORT_EXAMPLES: &str = "\
Examples:
  statbuf -k 7 access.log                      requests per path (awk's $7)
  statbuf -k 9 -k 7 access.log                 per (status, path)
  statbuf -k 7 --value-field 10 access.log     bytes per path
  tail -F access.log | statbuf -k 7 -i 10s --sqlite counts.db
  statbuf --explain -r '\"[A-Z]+ (\\S+)' access.log

'statbuf --help' shows more examples, 'man statbuf' the whole manual.";

/// The examples and exit statuses at the end of `--help`.
const LONG_EXAMPLES: &str = "\
Examples:
  Requests per path (awk's $7), like awk '{print $7}' | sort | uniq -c | sort -rn:
      statbuf -k 7 access.log

  Check what a key flag extracts from the first lines before counting a large log:
      statbuf --explain -k 7 access.log
      statbuf --explain=3 -r '\"(?P<method>[A-Z]+) (?P<path>[^ ?\"]+)' access.log

  Follow a live log and add the counts to SQLite every 10 seconds:
      tail -F access.log | statbuf -k 7 -i 10s --sqlite counts.db
      sqlite3 counts.db 'select key, count from counts order by count desc limit 10'

  From cron: count what was added since the last run, remembered in a state file:
      statbuf -q -k 7 --state /var/lib/statbuf/access.state --sqlite counts.db access.log

  Composite keys: one column per part in CSV and SQLite:
      statbuf -k 9 -k 7 access.log                  (status, path)
      statbuf -r '\"(?P<method>[A-Z]+) (?P<path>[^ ?\"]+)' --csv hits.csv access.log

  Sum a value per key instead of counting lines:
      statbuf -k 1 --value-field 10 access.log      bytes per client

  In a shell pipeline:
      zcat access.log.*.gz | statbuf -k 9 | head

Exit status:
  0    success, also after SIGINT or SIGTERM (the counts are flushed first)
  1    a runtime error: an unreadable input, a sink that could not be written
  2    a usage error
  130  a second SIGINT gave up on a final flush that kept failing

See 'man statbuf' for the signals, the SQLite schema and the files statbuf writes.";

/// Count keys from log lines and flush the counts to stdout, CSV or SQLite.
#[derive(Debug, Parser)]
#[command(
    name = "statbuf",
    version,
    color = ColorChoice::Auto,
    max_term_width = 100,
    about = "Count keys from log lines and flush the aggregated counts to stdout, CSV or SQLite",
    long_about = "Count keys from log lines and flush the aggregated counts to stdout, CSV or SQLite.\n\n\
        statbuf reads lines from files or standard input, extracts a key from each one (an awk \
        field, a fixed-delimiter field or a regex capture) and keeps per-key counts in memory. \
        Every --interval, at end of input and on SIGINT or SIGTERM it flushes the counts gathered \
        since the last flush to every sink, then forgets them. Without a key flag the whole line \
        is the key, like `sort | uniq -c`.",
    after_help = SHORT_EXAMPLES,
    after_long_help = LONG_EXAMPLES
)]
pub struct Args {
    /// Files to read, in order; none or `-` means standard input
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Key from whitespace field N, like awk's $N; repeat for a composite key
    ///
    /// Runs of spaces and tabs separate fields and leading blanks are ignored, so `-k 7` is
    /// awk's $7. A negative N counts from the end: `-k -1` is $NF. Repeated, the fields form a
    /// composite key in the order given, stored as the columns key1, key2, ... A line with too
    /// few fields is skipped and counted as unmatched.
    #[arg(
        short = 'k',
        long = "key-field",
        value_name = "N",
        action = ArgAction::Append,
        allow_negative_numbers = true,
        conflicts_with = "key_regex",
    )]
    pub key_fields: Vec<i64>,

    /// Split fields at this single byte instead of runs of blanks (`\t` for tabs)
    ///
    /// Every occurrence of the byte separates two fields, so empty fields count, as with
    /// awk -F. Write a tab as '\t'.
    #[arg(short = 'd', long, value_name = "C")]
    pub delimiter: Option<String>,

    /// Key from a regex: capture group 1, the named groups in order, or the whole match
    ///
    /// The regex runs over the line's bytes (Rust regex syntax). With named groups, the named
    /// groups in order form a composite key whose columns take their names, and a group named
    /// `value` is summed instead of counting lines. A line the regex does not match is skipped
    /// and counted as unmatched.
    #[arg(short = 'r', long = "key-regex", value_name = "RE")]
    pub key_regex: Option<String>,

    /// Key from the member at PATH of a JSON line (.status, .request.uri); repeatable
    ///
    /// The key is what `jq -r PATH` prints: strings unescaped, numbers as the line writes
    /// them, true and false, objects and arrays as compact JSON. A member with dots or spaces
    /// in its name is quoted: ."user agent". A missing or null member makes the line
    /// unmatched; a line that is not one JSON object is counted as not JSON. Repeated, the
    /// members form a composite key whose columns are named after each path's last member
    /// (key1, key2, ... when two would share a name or one is taken).
    #[arg(
        short = 'j',
        long = "json-key",
        value_name = "PATH",
        action = ArgAction::Append,
        conflicts_with_all = ["key_fields", "key_regex", "logfmt_keys"],
    )]
    pub json_keys: Vec<String>,

    /// Key from the value of NAME in a logfmt line (level=info status=200); repeatable
    ///
    /// Lines are read as Go kit's logfmt decoder reads them: key=value, key="quoted \"
    /// value", a bare key (an empty value); the last of a repeated key counts. A line without
    /// the key, or that is not logfmt, is unmatched. Repeated, the keys form a composite key
    /// whose columns take their names (key1, key2, ... when one is taken).
    #[arg(
        long = "logfmt-key",
        value_name = "NAME",
        action = ArgAction::Append,
        conflicts_with_all = ["key_fields", "key_regex"],
    )]
    pub logfmt_keys: Vec<String>,

    /// Count only lines matching RE; repeatable: a line matching any of them
    ///
    /// Applied before the key is taken, like `grep -e RE1 -e RE2 | statbuf`. A pattern
    /// that is plain text (POST, /api/) is found by a substring search, without the regex
    /// engine. Lines dropped are counted as filtered out in the summary.
    #[arg(long = "match", value_name = "RE", action = ArgAction::Append)]
    pub matches: Vec<String>,

    /// Do not count lines matching RE; repeatable, like `grep -v -e RE`
    ///
    /// Applied with --match, before the key is taken: a line is counted when it matches some
    /// --match (or none is given) and no --exclude.
    #[arg(long = "exclude", value_name = "RE", action = ArgAction::Append)]
    pub excludes: Vec<String>,

    /// Add a constant key column NAME with VALUE to every row of every sink; repeatable
    ///
    /// Tag columns come before the extracted key columns: a CSV or TSV column, a JSON member,
    /// a key column in SQLite and PostgreSQL (e.g. --tag host=$(hostname) for rows per host),
    /// and a word before the key in plain output.
    #[arg(long, value_name = "NAME=VALUE", action = ArgAction::Append)]
    pub tag: Vec<String>,

    /// Add the integer in field N instead of 1 (a regex group named `value` does the same)
    ///
    /// Values are integers: an optional sign and decimal digits, up to 64 bits; `-` counts as
    /// 0. Anything else makes the line a bad value: it is skipped and counted in the summary.
    #[arg(long = "value-field", value_name = "N", allow_negative_numbers = true)]
    pub value_field: Option<i64>,

    /// Add the integer member at PATH of a JSON line instead of 1 (.body_bytes_sent)
    #[arg(
        long = "json-value",
        value_name = "PATH",
        conflicts_with_all = ["value_field", "logfmt_value"]
    )]
    pub json_value: Option<String>,

    /// Add the integer value of NAME in a logfmt line instead of 1
    #[arg(long = "logfmt-value", value_name = "NAME", conflicts_with = "value_field")]
    pub logfmt_value: Option<String>,

    /// Count per time bucket of DURATION (1m, 1h, 1d) by each line's own time
    ///
    /// Each count is keyed by the start of the bucket the line's time falls in (floored in
    /// UTC, buckets aligned to the Unix epoch), then by the key: a column `bucket`, in RFC 3339
    /// UTC (2026-03-10T14:05:00Z), before the key columns. With no key flag, the count is per
    /// bucket alone. From 1s to 1d, in whole seconds. The time is the first the line holds of
    /// [10/Oct/2000:13:55:36 -0700], RFC 3339 or ISO 8601 (2026-03-10T14:05:09.123Z, a space
    /// for the T), or syslog's Mar 10 14:05:09; --time-field, --time-regex and --time-format
    /// choose otherwise. A line with no time is skipped and counted as no time.
    #[arg(long, value_name = "DURATION", help_heading = TIME)]
    pub bucket: Option<String>,

    /// With --bucket, the time starts at field N (a CLF time spanning fields 4 and 5: 4)
    #[arg(long = "time-field", value_name = "N", help_heading = TIME)]
    pub time_field: Option<usize>,

    /// With --bucket, the time is group 1 of RE (or the group named `time`)
    #[arg(
        long = "time-regex",
        value_name = "RE",
        conflicts_with = "time_field",
        help_heading = TIME
    )]
    pub time_regex: Option<String>,

    /// With --bucket, read the time with this strftime FORMAT (%s: epoch seconds, %ms: epoch ms)
    ///
    /// The format is applied where the time starts: the start of the line, or of --time-field
    /// or --time-regex's text; text after it is ignored. %s alone reads Unix seconds (a
    /// fraction allowed) and %ms alone Unix milliseconds. Month and day names are English.
    #[arg(long = "time-format", value_name = "FORMAT", help_heading = TIME)]
    pub time_format: Option<String>,

    /// With --bucket, read times that carry no zone in ZONE (default: the machine's zone)
    ///
    /// An IANA zone name (Europe/Berlin, America/New_York) or UTC. Daylight saving time is
    /// followed: a time in the hour skipped in spring is moved forward by the gap, a time in
    /// the hour repeated in autumn is read as the first of the two.
    #[arg(long, value_name = "ZONE", help_heading = TIME)]
    pub tz: Option<String>,

    /// Keep reading the files as they grow, across rotation and truncation, like `tail -F`
    #[arg(short = 'F', long, help_heading = INPUT)]
    pub follow: bool,

    /// With --follow, count what the files already hold (default: start at their end)
    #[arg(long = "from-start", requires = "follow", help_heading = INPUT)]
    pub from_start: bool,

    /// Remember how far each file was counted in FILE, and resume from there
    #[arg(long, value_name = "FILE", help_heading = INPUT)]
    pub state: Option<PathBuf>,

    /// Read compressed files and input as they are instead of decoding them
    ///
    /// By default a file or standard input whose first bytes are those of gzip, zstd, bzip2 or
    /// xz is read as the text it decodes to, whatever its name.
    #[arg(long = "no-decompress", help_heading = INPUT)]
    pub no_decompress: bool,

    /// Skip lines longer than this many bytes (counted as oversize; at most 4 GiB)
    #[arg(
        long = "max-line-bytes",
        value_name = "BYTES",
        default_value = "1048576",
        help_heading = INPUT
    )]
    pub max_line_bytes: usize,

    /// Flush every DURATION (500ms, 10s, 1m30s); without it, once at end of input
    ///
    /// Each flush carries the counts gathered since the previous one (deltas); a key not seen
    /// in a window does not appear in it. There is always a final flush at end of input and on
    /// SIGINT or SIGTERM; SIGHUP and SIGUSR1 flush at once.
    #[arg(short = 'i', long, value_name = "DURATION", help_heading = FLUSH)]
    pub interval: Option<String>,

    /// Delay each interval flush by a random 0..DURATION more
    ///
    /// Hosts started together (a fleet restarted at once) would otherwise flush into a shared
    /// database on the same tick.
    #[arg(long, value_name = "DURATION", requires = "interval", help_heading = FLUSH)]
    pub jitter: Option<String>,

    /// Flush early whenever this many distinct keys are buffered
    #[arg(
        long = "max-keys",
        value_name = "N",
        default_value = "1000000",
        help_heading = FLUSH
    )]
    pub max_keys: usize,

    /// At exit, keep retrying a failing sink this long before giving up on it
    #[arg(
        long = "flush-timeout",
        value_name = "DURATION",
        default_value = "30s",
        help_heading = FLUSH
    )]
    pub flush_timeout: String,

    /// Write counts a sink could not take to this file (CSV) instead of stderr
    #[arg(long, value_name = "FILE", help_heading = FLUSH)]
    pub fallback: Option<PathBuf>,

    /// Append one row per key per flush to this CSV file
    ///
    /// Columns: window_start, window_end, the key columns, count. The header is written only
    /// when the file is new or empty.
    #[arg(long, value_name = "FILE", help_heading = SINKS)]
    pub csv: Option<PathBuf>,

    /// Add the counts to this SQLite database (created if missing)
    ///
    /// The table holds one row per key with its total count, first_seen and last_seen; each
    /// flush adds to it in one transaction. See FILES in the man page for the schema.
    #[arg(long, value_name = "FILE", help_heading = SINKS)]
    pub sqlite: Option<PathBuf>,

    /// Add the counts to this PostgreSQL database (a URL or key=value connection string)
    ///
    /// postgresql://USER@HOST:PORT/DB or 'host=HOST dbname=DB ...', with PGHOST, PGPORT, PGUSER,
    /// PGDATABASE, PGPASSWORD, PGSSLMODE, PGCONNECT_TIMEOUT and ~/.pgpass (mode 0600) used for
    /// what it leaves out, as psql does; sslmode disable, prefer (default) or require. Each
    /// flush adds to the table in one transaction, which also holds the offsets with --state.
    /// Works with CockroachDB, YugabyteDB and Citus as well. See POSTGRESQL in the man page.
    #[arg(long, value_name = "URL", help_heading = SINKS)]
    pub postgres: Option<String>,

    /// Name of this machine in PostgreSQL's checkpoint table (default: the host name)
    ///
    /// With --state and --postgres, the offsets of each input file are kept per host id, so
    /// that many machines can flush into one database. Two live runs with the same host id
    /// and table are refused.
    #[arg(long = "host-id", value_name = "ID", help_heading = SINKS)]
    pub host_id: Option<String>,

    /// Run `sh -c CMD` at each flush with the rows on its standard input (CSV with a header)
    ///
    /// StatBuffer's handle_flush as a command: exit 0 means written; a non-zero exit, a signal
    /// or --exec-timeout is a failed flush, kept and retried like any other (at least once).
    /// The command's standard output goes to statbuf's stderr.
    #[arg(long, value_name = "CMD", help_heading = SINKS)]
    pub exec: Option<String>,

    /// Rows for --exec as csv (default), tsv or json lines
    #[arg(
        long = "exec-format",
        value_enum,
        value_name = "FORMAT",
        default_value_t = ExecFormatArg::Csv,
        requires = "exec",
        help_heading = SINKS
    )]
    pub exec_format: ExecFormatArg,

    /// Kill an --exec command still running after DURATION; the flush then counts as failed
    #[arg(
        long = "exec-timeout",
        value_name = "DURATION",
        default_value = "60s",
        help_heading = SINKS
    )]
    pub exec_timeout: String,

    /// Table for the totals (SQLite and PostgreSQL)
    #[arg(long, value_name = "NAME", default_value = "counts", help_heading = SINKS)]
    pub table: String,

    /// Print to stdout even when another sink is given
    #[arg(long, help_heading = SINKS)]
    pub stdout: bool,

    /// Format of the stdout sink
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t = Format::Plain,
        help_heading = SINKS
    )]
    pub format: Format,

    /// Print only the N largest counts of each flush to stdout
    #[arg(long, value_name = "N", help_heading = SINKS)]
    pub top: Option<usize>,

    /// Print no summary line and no progress
    #[arg(short, long, help_heading = DISPLAY)]
    pub quiet: bool,

    /// Show progress on stderr even when it is not a terminal
    ///
    /// By default statbuf shows progress only when stderr is a terminal, and not with -q or
    /// when the counts themselves are printed to that terminal: a bar with the bytes read,
    /// rate, ETA, lines and keys for files, a status line with lines per second, keys and the
    /// last flush for standard input and --follow.
    #[arg(long, overrides_with = "no_progress", help_heading = DISPLAY)]
    pub progress: bool,

    /// Never show progress
    #[arg(long = "no-progress", overrides_with = "progress", help_heading = DISPLAY)]
    pub no_progress: bool,

    /// Show the key (and value) each of the first N lines gives, or why it is skipped; write
    /// nothing else
    ///
    /// Reads the first N lines (10 without =N) of standard input or of the first file, prints
    /// what each one gives with the key flags given (the key, each part with its column name,
    /// the value) or why it would be skipped (too few fields, no regex match, a bad value, an
    /// oversize line), and exits 0 without writing any sink.
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "10",
        help_heading = DISPLAY
    )]
    pub explain: Option<usize>,

    /// Print a man page or a shell completion script to stdout
    #[arg(long, value_enum, value_name = "KIND", hide = true)]
    pub generate: Option<Generate>,

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

/// How `--exec` hands rows to its command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExecFormatArg {
    /// RFC 4180 CSV with a header: window_start, window_end, key columns, count
    Csv,
    /// the same columns tab-separated, with a header
    Tsv,
    /// one JSON object per key
    Json,
}

/// What `--generate` prints: the files committed under `man/` and `completions/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// The man page (roff)
    Man,
    /// Completions for bash
    CompleteBash,
    /// Completions for zsh
    CompleteZsh,
    /// Completions for fish
    CompleteFish,
    /// Completions for elvish
    CompleteElvish,
    /// Completions for PowerShell
    CompletePowershell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("statbuf").chain(args.iter().copied()))
    }

    #[test]
    fn explain_takes_its_count_only_after_an_equals_sign() {
        assert_eq!(parse(&["--explain"]).unwrap().explain, Some(10));
        assert_eq!(parse(&["--explain=3"]).unwrap().explain, Some(3));
        let args = parse(&["--explain", "access.log"]).unwrap();
        assert_eq!(args.explain, Some(10));
        assert_eq!(args.files, [PathBuf::from("access.log")]);
        assert_eq!(parse(&[]).unwrap().explain, None);
    }

    #[test]
    fn the_last_progress_flag_wins() {
        let args = parse(&["--progress", "--no-progress"]).unwrap();
        assert!(!args.progress && args.no_progress);
        let args = parse(&["--no-progress", "--progress"]).unwrap();
        assert!(args.progress && !args.no_progress);
    }
}
