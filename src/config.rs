//! The validated, resolved configuration: every flag checked and turned into what the pipeline
//! uses (regex compiled, durations parsed, key parts named). A bad value is a `UsageError`
//! naming its flag, which the binary reports with exit status 2.

use std::path::PathBuf;
use std::time::Duration;

use regex::bytes::Regex;

use crate::cli::{Args, ExecFormatArg, Format};
use crate::counter;
use crate::extract::Bucketing;
use crate::extract::{ExtractSpec, KeySource, Separator, ValueSource};
use crate::filter::LineFilter;
use crate::input::{Input, ReadOptions, is_stdin};
use crate::key::{KeySchema, RESERVED_NAMES};
use crate::logtime::{self, TimeFormat, TimeSource, TimeSpec};
use crate::sink::{RowFormat, StdoutFormat};
use crate::structured::JsonPath;
use crate::tail_capture::TailCapture;

/// Bytes read at a time unless `--block-size` says otherwise.
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;

/// How long the final flush keeps retrying a failing sink unless `--flush-timeout` says.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a followed file with nothing new is looked at again: an appended line is read
/// within this long, and an idle follow costs a few `stat`s a second.
pub const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// A flag with a value that cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    /// The flag, as the user would type it (`--key-field`).
    pub flag: String,
    pub message: String,
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.flag, self.message)
    }
}

impl std::error::Error for UsageError {}

fn usage(flag: &str, message: impl Into<String>) -> UsageError {
    UsageError {
        flag: flag.to_string(),
        message: message.into(),
    }
}

/// Where the stdout sink writes, and how.
#[derive(Clone, Debug)]
pub struct StdoutOptions {
    pub format: StdoutFormat,
    pub top: Option<usize>,
}

/// One sink, resolved from the flags; `sink::open_all` builds them.
#[derive(Clone, Debug)]
pub enum SinkSpec {
    Stdout(StdoutOptions),
    Csv(PathBuf),
    Sqlite {
        path: PathBuf,
        table: String,
    },
    Postgres {
        /// The connection string as given; it may hold a password, so it is never shown.
        conninfo: String,
        table: String,
        /// Names this machine's rows in the checkpoint table (`--host-id`).
        host_id: String,
    },
    Exec {
        command: String,
        format: RowFormat,
        timeout: Duration,
    },
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Inputs in the order they are read.
    pub inputs: Vec<Input>,
    pub extract: ExtractSpec,
    /// Names of the key's parts (CSV and SQLite columns).
    pub schema: KeySchema,
    /// Flush every this long; `None` flushes only at the end.
    pub interval: Option<Duration>,
    /// Each interval flush waits a random 0..jitter more.
    pub jitter: Option<Duration>,
    /// Every sink, in the order they are written.
    pub sinks: Vec<SinkSpec>,
    pub read: ReadOptions,
    /// Extract threads.
    pub workers: usize,
    pub quiet: bool,
    pub flush_timeout: Duration,
    pub fallback: Option<PathBuf>,
    /// The state file that keeps offsets between runs.
    pub state: Option<PathBuf>,
    /// A worker flushes early once its map holds this many keys.
    pub max_keys: usize,
}

impl Config {
    pub fn from_args(args: Args) -> Result<Config, UsageError> {
        let separator = match &args.delimiter {
            None => Separator::Blanks,
            Some(text) => Separator::Byte(parse_delimiter(text)?),
        };
        for &n in args.key_fields.iter().chain(&args.value_field) {
            if n == 0 {
                let flag = if args.key_fields.contains(&0) {
                    "--key-field"
                } else {
                    "--value-field"
                };
                return Err(usage(
                    flag,
                    "there is no field 0: fields count from 1, or from -1 at the end",
                ));
            }
        }
        let bucket = bucketing(&args)?;
        let (key, schema) = match (&args.key_regex, args.key_fields.is_empty()) {
            _ if !args.json_keys.is_empty() => json_key(&args.json_keys)?,
            _ if !args.logfmt_keys.is_empty() => logfmt_key(&args.logfmt_keys),
            (Some(pattern), _) => regex_key(pattern)?,
            (None, false) => (
                KeySource::Fields(args.key_fields.clone()),
                KeySchema::numbered(args.key_fields.len()),
            ),
            (None, true) if bucket.is_some() => (KeySource::Bucket, KeySchema::new(Vec::new())),
            (None, true) => (KeySource::Line, KeySchema::single()),
        };
        let schema = match bucket {
            Some(_) => schema.with_bucket(),
            None => schema,
        };
        if args.value_field.is_some()
            && let KeySource::Regex {
                value_group: Some(_), ..
            } = key
        {
            return Err(usage(
                "--value-field",
                "the regex already has a group named `value`; use one or the other",
            ));
        }
        let filter = LineFilter::new(&args.matches, &args.excludes)
            .map_err(|(flag, message)| usage(&flag, message))?;
        let tags = parse_tags(&args.tag, &schema)?;
        let schema = schema.with_tags(tags);
        let interval = args
            .interval
            .as_deref()
            .map(|text| parse_duration("--interval", text))
            .transpose()?;
        let jitter = args
            .jitter
            .as_deref()
            .map(|text| parse_duration("--jitter", text))
            .transpose()?;
        let flush_timeout = parse_duration("--flush-timeout", &args.flush_timeout)?;
        if !valid_identifier(&args.table) {
            return Err(usage(
                "--table",
                format!(
                    "'{}' is not a table name: use letters, digits and _, not starting with a digit or sqlite_",
                    args.table
                ),
            ));
        }
        if args.top == Some(0) {
            return Err(usage("--top", "must be at least 1"));
        }
        if args.workers == Some(0) {
            return Err(usage("--workers", "must be at least 1"));
        }
        if args.block_size == Some(0) {
            return Err(usage("--block-size", "must be at least 1"));
        }
        if args.max_keys == 0 {
            return Err(usage("--max-keys", "must be at least 1"));
        }
        if args.follow && args.files.iter().all(|p| is_stdin(p)) {
            return Err(usage(
                "--follow",
                "follows named files; to follow a pipe, just read it: tail -F FILE | statbuf ...",
            ));
        }
        if args.follow && args.files.iter().any(|p| is_stdin(p)) {
            return Err(usage(
                "--follow",
                "cannot follow standard input ('-'); name files only",
            ));
        }
        if args.max_line_bytes == 0 {
            return Err(usage("--max-line-bytes", "must be at least 1"));
        }
        if args.max_line_bytes > counter::MAX_KEY_BYTES {
            return Err(usage(
                "--max-line-bytes",
                format!("must be at most {} (4 GiB)", counter::MAX_KEY_BYTES),
            ));
        }
        let sinks = sink_specs(&args)?;
        let inputs = if args.files.is_empty() {
            vec![Input::Stdin]
        } else {
            args.files
                .iter()
                .map(|p| {
                    if is_stdin(p) {
                        Input::Stdin
                    } else {
                        Input::File(p.clone())
                    }
                })
                .collect()
        };
        let workers = args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Config {
            inputs,
            extract: ExtractSpec {
                key,
                separator,
                value: value_source(&args)?,
                filter,
                bucket,
            },
            schema,
            interval,
            jitter,
            sinks,
            read: ReadOptions {
                block_size: args.block_size.unwrap_or(DEFAULT_BLOCK_SIZE),
                max_line_bytes: args.max_line_bytes,
                follow: args.follow,
                from_start: args.from_start,
                poll: FOLLOW_POLL,
                // A line takes at least 2 bytes ("x\n"), so only a cap below half a block can bite.
                max_lines_per_block: (args.max_keys < args.block_size.unwrap_or(DEFAULT_BLOCK_SIZE) / 2)
                    .then_some(args.max_keys),
                decompress: !args.no_decompress,
                // Filled in from the state file or the database once they are opened.
                resume: None,
            },
            workers,
            quiet: args.quiet,
            flush_timeout,
            fallback: args.fallback,
            state: args.state,
            max_keys: args.max_keys,
        })
    }
}

impl Config {
    /// The stdout sink's settings, if counts are printed.
    pub fn stdout(&self) -> Option<&StdoutOptions> {
        self.sinks.iter().find_map(|spec| match spec {
            SinkSpec::Stdout(options) => Some(options),
            _ => None,
        })
    }
}

/// The sinks the flags ask for: stdout unless another sink is named (or `--stdout`).
fn sink_specs(args: &Args) -> Result<Vec<SinkSpec>, UsageError> {
    let mut sinks = Vec::new();
    if let Some(path) = &args.sqlite {
        sinks.push(SinkSpec::Sqlite {
            path: path.clone(),
            table: args.table.clone(),
        });
    }
    if let Some(conninfo) = &args.postgres {
        let host_id = match &args.host_id {
            Some(id) if id.is_empty() => return Err(usage("--host-id", "must not be empty")),
            Some(id) => id.clone(),
            None => machine_name(),
        };
        sinks.push(SinkSpec::Postgres {
            conninfo: conninfo.clone(),
            table: args.table.clone(),
            host_id,
        });
    }
    if args.sqlite.is_some() && args.postgres.is_some() && args.state.is_some() {
        return Err(usage(
            "--state",
            "offsets are committed with the counts into one database: use --sqlite or --postgres with --state, not both",
        ));
    }
    if let Some(path) = &args.csv {
        sinks.push(SinkSpec::Csv(path.clone()));
    }
    if let Some(command) = &args.exec {
        sinks.push(SinkSpec::Exec {
            command: command.clone(),
            format: match args.exec_format {
                ExecFormatArg::Csv => RowFormat::Csv,
                ExecFormatArg::Tsv => RowFormat::Tsv,
                ExecFormatArg::Json => RowFormat::Json,
            },
            timeout: parse_duration("--exec-timeout", &args.exec_timeout)?,
        });
    }
    if args.stdout || sinks.is_empty() {
        sinks.push(SinkSpec::Stdout(StdoutOptions {
            format: match args.format {
                Format::Plain => StdoutFormat::Plain,
                Format::Tsv => StdoutFormat::Rows(RowFormat::Tsv),
                Format::Csv => StdoutFormat::Rows(RowFormat::Csv),
                Format::Json => StdoutFormat::Rows(RowFormat::Json),
            },
            top: args.top,
        }));
    }
    Ok(sinks)
}

/// `--json-key`s: the paths, and columns named after their last members.
fn json_key(paths: &[String]) -> Result<(KeySource, KeySchema), UsageError> {
    let paths = paths
        .iter()
        .map(|text| JsonPath::parse(text).map_err(|e| usage("--json-key", format!("'{text}': {e}"))))
        .collect::<Result<Vec<JsonPath>, UsageError>>()?;
    let names: Vec<String> = paths.iter().map(|p| p.last_member().to_string()).collect();
    Ok((KeySource::Json(paths), composite_schema(names)))
}

/// `--logfmt-key`s: the keys, and columns named after them.
fn logfmt_key(names: &[String]) -> (KeySource, KeySchema) {
    let keys = names.iter().map(|n| n.as_bytes().to_vec()).collect();
    (KeySource::Logfmt(keys), composite_schema(names.to_vec()))
}

/// The schema of a key of members named `names`: `key` for one; for more, their names, or
/// key1, key2, ... when two would share a name or one is an output column's.
fn composite_schema(names: Vec<String>) -> KeySchema {
    let clash = names.iter().enumerate().any(|(i, name)| {
        RESERVED_NAMES.contains(&name.as_str()) || name.is_empty() || names[..i].contains(name)
    });
    if names.len() == 1 || clash {
        KeySchema::numbered(names.len())
    } else {
        KeySchema::new(names)
    }
}

/// Where the value is: `--value-field`, `--json-value` or `--logfmt-value`.
fn value_source(args: &Args) -> Result<Option<ValueSource>, UsageError> {
    if let Some(text) = &args.json_value {
        let path = JsonPath::parse(text).map_err(|e| usage("--json-value", format!("'{text}': {e}")))?;
        return Ok(Some(ValueSource::Json(path)));
    }
    if let Some(name) = &args.logfmt_value {
        return Ok(Some(ValueSource::Logfmt(name.as_bytes().to_vec())));
    }
    Ok(args.value_field.map(ValueSource::Field))
}

/// `--bucket` and the flags that say where a line's time is.
fn bucketing(args: &Args) -> Result<Option<Bucketing>, UsageError> {
    let Some(text) = &args.bucket else {
        let time_flags = [
            ("--time-field", args.time_field.is_some()),
            ("--time-regex", args.time_regex.is_some()),
            ("--time-format", args.time_format.is_some()),
            ("--tz", args.tz.is_some()),
        ];
        return match time_flags.iter().find(|(_, given)| *given) {
            Some((flag, _)) => Err(usage(
                flag,
                "needs --bucket DURATION: the time only makes buckets",
            )),
            None => Ok(None),
        };
    };
    let length = parse_duration("--bucket", text)?;
    if length.subsec_nanos() != 0 || length > Duration::from_secs(86_400) {
        return Err(usage(
            "--bucket",
            format!("'{text}' is not a whole number of seconds from 1s to 1d"),
        ));
    }
    let source = match (args.time_field, &args.time_regex) {
        (Some(0), _) => {
            return Err(usage("--time-field", "there is no field 0: fields count from 1"));
        }
        (Some(n), _) => TimeSource::Field(n),
        (None, Some(pattern)) => {
            let regex = Regex::new(pattern).map_err(|e| usage("--time-regex", regex_message(pattern, &e)))?;
            let named = regex.capture_names().position(|name| name == Some("time"));
            let group = match (named, regex.captures_len()) {
                (Some(group), _) => group,
                (None, 1) => 0,
                (None, _) => 1,
            };
            TimeSource::Regex { regex, group }
        }
        (None, None) => TimeSource::Auto,
    };
    let format = match &args.time_format {
        Some(text) => TimeFormat::parse(text).map_err(|e| usage("--time-format", e))?,
        None => TimeFormat::Auto,
    };
    let zone = logtime::zone_from_flag(args.tz.as_deref()).map_err(|e| usage("--tz", e))?;
    Ok(Some(Bucketing {
        time: TimeSpec { source, format, zone },
        width: length.as_secs(),
    }))
}

/// `--tag NAME=VALUE`s: names that are identifiers, not taken by another column.
fn parse_tags(tags: &[String], schema: &KeySchema) -> Result<Vec<(String, Vec<u8>)>, UsageError> {
    let mut parsed: Vec<(String, Vec<u8>)> = Vec::new();
    for tag in tags {
        let Some((name, value)) = tag.split_once('=') else {
            return Err(usage("--tag", format!("'{tag}' is not NAME=VALUE")));
        };
        if !valid_identifier(name) {
            return Err(usage(
                "--tag",
                format!(
                    "'{name}' is not a column name: use letters, digits and _, not starting with a digit"
                ),
            ));
        }
        let taken = RESERVED_NAMES.contains(&name)
            || schema.names().iter().any(|n| n == name)
            || parsed.iter().any(|(n, _)| n == name);
        if taken {
            return Err(usage(
                "--tag",
                format!("the column name '{name}' is already taken; choose another"),
            ));
        }
        parsed.push((name.to_string(), value.as_bytes().to_vec()));
    }
    Ok(parsed)
}

/// The machine's host name, the default `--host-id`.
fn machine_name() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

/// `-d`: one byte, or `\t` spelled out.
fn parse_delimiter(text: &str) -> Result<u8, UsageError> {
    match text.as_bytes() {
        [b] => Ok(*b),
        b"\\t" => Ok(b'\t'),
        _ => Err(usage(
            "--delimiter",
            format!("'{text}' is not a single byte (write a tab as '\\t')"),
        )),
    }
}

/// A positive humantime duration such as `500ms`, `10s` or `1m30s`.
fn parse_duration(flag: &str, text: &str) -> Result<Duration, UsageError> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err(usage(flag, format!("'{text}' is zero; give a duration above 0"))),
        Ok(d) => Ok(d),
        Err(e) => Err(usage(
            flag,
            format!("'{text}' is not a duration like 500ms, 10s or 1m30s ({e})"),
        )),
    }
}

/// Compiles `--key-regex` and decides which groups make the key and the value.
fn regex_key(pattern: &str) -> Result<(KeySource, KeySchema), UsageError> {
    let regex = Regex::new(pattern).map_err(|e| usage("--key-regex", regex_message(pattern, &e)))?;
    let mut named = Vec::new();
    let mut value_group = None;
    let mut first_unnamed = None;
    for (index, name) in regex.capture_names().enumerate().skip(1) {
        match name {
            Some("value") => value_group = Some(index),
            Some(name) => {
                if RESERVED_NAMES.contains(&name) {
                    return Err(usage(
                        "--key-regex",
                        format!("the group name '{name}' is taken by an output column; rename the group"),
                    ));
                }
                named.push((index, name.to_string()));
            }
            None => {
                first_unnamed.get_or_insert(index);
            }
        }
    }
    let (key_groups, schema) = if !named.is_empty() {
        let (groups, names): (Vec<usize>, Vec<String>) = named.into_iter().unzip();
        (groups, KeySchema::new(names))
    } else {
        (vec![first_unnamed.unwrap_or(0)], KeySchema::single())
    };
    let tail = TailCapture::new(pattern, &key_groups, value_group);
    Ok((
        KeySource::Regex {
            regex,
            key_groups,
            value_group,
            tail,
        },
        schema,
    ))
}

/// The regex crate's own explanation, on one line: its multi-line syntax errors end with the
/// line `error: <what is wrong>`.
pub(crate) fn regex_message(pattern: &str, error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "));
    format!("'{pattern}' is not a valid regex: {reason}")
}

/// A table name that needs no care: `[A-Za-z_][A-Za-z0-9_]*`, not SQLite's own.
fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.to_ascii_lowercase().starts_with("sqlite_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config, UsageError> {
        let args = Args::try_parse_from(std::iter::once("statbuf").chain(args.iter().copied())).unwrap();
        Config::from_args(args)
    }

    fn flag_of(args: &[&str]) -> String {
        config(args).unwrap_err().flag
    }

    #[test]
    fn bad_values_name_their_flag() {
        assert_eq!(flag_of(&["-k", "0"]), "--key-field");
        assert_eq!(flag_of(&["-k", "1", "--value-field", "0"]), "--value-field");
        assert_eq!(flag_of(&["-i", "0s"]), "--interval");
        assert_eq!(flag_of(&["-i", "banana"]), "--interval");
        assert_eq!(flag_of(&["-r", "(abc"]), "--key-regex");
        assert_eq!(flag_of(&["--table", "bad name"]), "--table");
        assert_eq!(flag_of(&["--table", "sqlite_master"]), "--table");
        assert_eq!(flag_of(&["-d", "ab"]), "--delimiter");
        assert_eq!(flag_of(&["--top", "0"]), "--top");
        assert_eq!(flag_of(&["-r", "(?P<count>x)"]), "--key-regex");
        assert_eq!(flag_of(&["--tag", "host"]), "--tag");
        assert_eq!(flag_of(&["--tag", "key=x"]), "--tag");
        assert_eq!(flag_of(&["--tag", "a=1", "--tag", "a=2"]), "--tag");
        assert_eq!(flag_of(&["--tag", "count=1"]), "--tag");
        assert_eq!(flag_of(&["--tag", "1a=1"]), "--tag");
        assert_eq!(flag_of(&["-i", "1s", "--jitter", "0s"]), "--jitter");
        assert_eq!(
            flag_of(&["--exec", "cat", "--exec-timeout", "soon"]),
            "--exec-timeout"
        );
    }

    #[test]
    fn regex_errors_keep_the_crates_reason_on_one_line() {
        let message = config(&["-r", "(abc"]).unwrap_err().message;
        assert!(message.contains("unclosed group"), "{message}");
        assert!(!message.contains('\n'));
    }

    #[test]
    fn key_schemas() {
        assert_eq!(config(&[]).unwrap().schema.names(), ["key"]);
        assert_eq!(config(&["-k", "7"]).unwrap().schema.names(), ["key"]);
        assert_eq!(
            config(&["-k", "9", "-k", "7"]).unwrap().schema.names(),
            ["key1", "key2"]
        );
        let c = config(&["-r", r"(?P<method>\w+) (?P<path>\S+) (?P<value>\d+)"]).unwrap();
        assert_eq!(c.schema.names(), ["method", "path"]);
        let KeySource::Regex {
            key_groups,
            value_group,
            ..
        } = c.extract.key
        else {
            panic!()
        };
        assert_eq!((key_groups, value_group), (vec![1, 2], Some(3)));
        let c = config(&["-r", r"x(y)(z)"]).unwrap();
        let KeySource::Regex { key_groups, .. } = c.extract.key else {
            panic!()
        };
        assert_eq!(key_groups, [1]);
        let c = config(&["-r", r"xyz"]).unwrap();
        let KeySource::Regex { key_groups, .. } = c.extract.key else {
            panic!()
        };
        assert_eq!(key_groups, [0]);
    }

    #[test]
    fn tags_are_the_first_key_columns() {
        let c = config(&["-k", "9", "-k", "7", "--tag", "host=web 1", "--tag", "dc="]).unwrap();
        assert_eq!(c.schema.names(), ["host", "dc", "key1", "key2"]);
        assert_eq!(c.schema.parts(), 2);
    }

    #[test]
    fn sinks_and_inputs() {
        let c = config(&["--sqlite", "t.db", "a", "-", "b"]).unwrap();
        assert!(c.stdout().is_none());
        assert_eq!(c.inputs[1], Input::Stdin);
        assert!(
            config(&["--sqlite", "t.db", "--stdout"])
                .unwrap()
                .stdout()
                .is_some()
        );
        let c = config(&["--postgres", "host=db", "--host-id", "web1"]).unwrap();
        assert!(
            matches!(&c.sinks[..], [SinkSpec::Postgres { host_id, .. }] if host_id == "web1"),
            "{:?}",
            c.sinks
        );
        assert_eq!(config(&[]).unwrap().inputs, [Input::Stdin]);
        assert_eq!(
            config(&["-d", "\\t"]).unwrap().extract.separator,
            Separator::Byte(b'\t')
        );
    }
}
