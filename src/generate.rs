//! The man page and the shell completions, generated from the clap definition in `cli`.
//!
//! `statbuf --generate man` (and `complete-bash`, `complete-zsh`, ...) prints them; the
//! copies committed under `man/` and `completions/` are checked against this output by a test,
//! so a flag added without regenerating them fails the build. The man page is clap_mangen's
//! rendering of `--help` plus the sections a manual needs and `--help` leaves out: examples,
//! exit status, signals, files and environment.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Args, Generate};

/// Every kind of generated file, in the order the README lists them.
pub const ALL: [Generate; 6] = [
    Generate::Man,
    Generate::CompleteBash,
    Generate::CompleteZsh,
    Generate::CompleteFish,
    Generate::CompleteElvish,
    Generate::CompletePowershell,
];

/// Where the generated file is committed, relative to the repository root.
pub fn committed_path(kind: Generate) -> &'static str {
    match kind {
        Generate::Man => "man/statbuf.1",
        Generate::CompleteBash => "completions/statbuf.bash",
        Generate::CompleteZsh => "completions/_statbuf",
        Generate::CompleteFish => "completions/statbuf.fish",
        Generate::CompleteElvish => "completions/statbuf.elv",
        Generate::CompletePowershell => "completions/_statbuf.ps1",
    }
}

/// The `--generate` value that prints `kind`.
pub fn flag_value(kind: Generate) -> &'static str {
    match kind {
        Generate::Man => "man",
        Generate::CompleteBash => "complete-bash",
        Generate::CompleteZsh => "complete-zsh",
        Generate::CompleteFish => "complete-fish",
        Generate::CompleteElvish => "complete-elvish",
        Generate::CompletePowershell => "complete-powershell",
    }
}

/// The file of `kind` for statbuf's own command line.
pub fn generate(kind: Generate) -> Vec<u8> {
    render(kind, Args::command())
}

/// The file of `kind` for any command line (tests use it on a modified one).
pub fn render(kind: Generate, cmd: clap::Command) -> Vec<u8> {
    let shell = match kind {
        Generate::Man => return man(cmd),
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
        Generate::CompleteElvish => Shell::Elvish,
        Generate::CompletePowershell => Shell::PowerShell,
    };
    let mut cmd = without_hidden(cmd);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "statbuf", &mut out);
    out
}

/// The command without its hidden flags (`--generate` and the tuning ones), which the
/// completion generators would otherwise offer: clap has no way to remove an argument, so the
/// visible ones are copied into a new command.
fn without_hidden(mut cmd: clap::Command) -> clap::Command {
    cmd.build();
    let visible: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .cloned()
        .collect();
    let mut copy = clap::Command::new("statbuf")
        // The built command already holds --help and --version.
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(visible);
    if let Some(about) = cmd.get_about() {
        copy = copy.about(about.clone());
    }
    if cmd.get_version().is_some() {
        copy = copy.version(env!("CARGO_PKG_VERSION"));
    }
    copy
}

/// The man page: clap_mangen's name, synopsis, description and options, then our sections.
fn man(cmd: clap::Command) -> Vec<u8> {
    let version = cmd.get_version().unwrap_or_default().to_string();
    let man = clap_mangen::Man::new(cmd);
    let mut clap_part = Vec::new();
    // Writing into a Vec cannot fail. Each part starts with the same roff preamble (it
    // defines the apostrophe string), which the page needs once.
    let _ = man.render_name_section(&mut clap_part);
    let _ = man.render_synopsis_section(&mut clap_part);
    let _ = man.render_description_section(&mut clap_part);
    let _ = man.render_options_section(&mut clap_part);
    let clap_part = String::from_utf8_lossy(&clap_part).into_owned();
    let mut preamble = String::new();
    let mut body = String::new();
    for line in clap_part.lines() {
        if line.starts_with(".ie \\n(.g") || line.starts_with(".el .ds Aq") {
            if !preamble.contains(line) {
                preamble.push_str(line);
                preamble.push('\n');
            }
            continue;
        }
        if line.starts_with('.') {
            body.push_str(line.trim_end());
        } else {
            // The roff crate writes a literal backslash as `\\`, which groff reads as one but
            // mandoc warns about; `\e` is the portable spelling.
            body.push_str(&line.trim_end().replace("\\\\", "\\e"));
        }
        body.push('\n');
    }
    let mut out = preamble.into_bytes();
    // No date: the page must be the same whenever it is generated.
    let _ = writeln!(out, ".TH STATBUF 1 \"\" \"statbuf {version}\" \"User Commands\"");
    out.extend_from_slice(body.as_bytes());
    for section in SECTIONS {
        let _ = write_section(&mut out, section);
    }
    out
}

/// A section of the man page that `--help` does not have.
struct Section {
    title: &'static str,
    blocks: &'static [Block],
}

enum Block {
    /// A paragraph of running text.
    Text(&'static str),
    /// What an example does, then its command lines.
    Example(&'static str, &'static [&'static str]),
    /// A tagged paragraph: a term (a status, a signal, a path) and what it means.
    Item(&'static str, &'static str),
    /// More text for the item above.
    More(&'static str),
    /// Lines shown as they are, indented like the item above (a schema).
    Verbatim(&'static [&'static str]),
}

const SECTIONS: &[Section] = &[
    Section {
        title: "EXAMPLES",
        blocks: &[
            Block::Example(
                "Requests per path (awk's $7) of an access log, most frequent first:",
                &["statbuf -k 7 /var/log/nginx/access.log | head"],
            ),
            Block::Example(
                "The live pipeline: follow a log across rotations and add the counts to SQLite every \
                 10 seconds, then query the totals while statbuf runs:",
                &[
                    "tail -F /var/log/nginx/access.log | statbuf -k 7 -i 10s --sqlite /var/lib/statbuf/paths.db",
                    "sqlite3 /var/lib/statbuf/paths.db 'select key, count from counts order by count desc limit 10'",
                ],
            ),
            Block::Example(
                "A run from cron: the state file remembers how far the log was counted, so each run \
                 adds only the lines appended since the previous one, and a rotated log is noticed:",
                &[
                    "*/5 * * * *  statbuf -q -k 7 --state /var/lib/statbuf/access.state --sqlite /var/lib/statbuf/paths.db /var/log/nginx/access.log",
                ],
            ),
            Block::Example(
                "Status codes of rotated, compressed logs (gzip, zstd, bzip2 and xz are known by \
                 their first bytes and read decoded), then 5xx responses per path in a pipeline:",
                &[
                    "statbuf -k 9 /var/log/nginx/access.log.*.gz",
                    "statbuf -k 9 -k 7 access.log | awk '$2 >= 500'",
                ],
            ),
            Block::Example(
                "Composite keys: (status, path) from two fields, or (method, path) from named regex \
                 groups, stored as separate columns so that SQL can group by each part:",
                &[
                    "statbuf -k 9 -k 7 --sqlite counts.db access.log",
                    "sqlite3 counts.db 'select key1 as status, sum(count) from counts group by key1'",
                    "statbuf -r '\"(?P<method>[A-Z]+) (?P<path>[^ ?\"]+)' --csv hits.csv access.log",
                ],
            ),
            Block::Example(
                "Value sums: bytes sent per client (field 10 holds the response size; - counts as 0), \
                 and the same as JSON lines for jq:",
                &[
                    "statbuf -k 1 --value-field 10 access.log | head",
                    "statbuf -k 1 --value-field 10 --format json access.log | jq -r .key",
                ],
            ),
            Block::Example(
                "Many web servers, one PostgreSQL database: each host adds its counts every 10 \
                 seconds (1 to 3 seconds later at random), with a tag column naming the host; the \
                 state file and the checkpoint rows make each host's counts exact across restarts:",
                &[
                    "statbuf -F -k 7 -i 10s --jitter 3s --tag host=$(hostname) --state /var/lib/statbuf/access.state --postgres postgresql://statbuf@db/stats /var/log/nginx/access.log",
                    "psql postgresql://db/stats -c 'select key, sum(count) from counts group by key order by 2 desc limit 10'",
                ],
            ),
            Block::Example(
                "Hand each flush to a command of your own, as CSV with a header on its standard input \
                 (a non-zero exit is a failed flush, kept and retried):",
                &["statbuf -k 7 -i 10s --exec 'psql -c \"\\copy hits from stdin csv header\"' access.log"],
            ),
            Block::Example(
                "Check what the key flags make of the first lines before counting a large log:",
                &["statbuf --explain=5 -k 7 --value-field 10 access.log"],
            ),
        ],
    },
    Section {
        title: "EXIT STATUS",
        blocks: &[
            Block::Item(
                "0",
                "Success, also after SIGINT or SIGTERM: the counts gathered so far were flushed.",
            ),
            Block::Item(
                "1",
                "A runtime error: an input that could not be read (the others are still counted), a \
                 sink that could not be opened, or counts that a sink would not take and that went to \
                 the fallback.",
            ),
            Block::Item(
                "2",
                "A usage error: a one-line message names the flag and what is wrong with its value.",
            ),
            Block::Item(
                "130",
                "A second SIGINT or SIGTERM gave up on a final flush that kept failing; the counts it \
                 could not write went to the fallback.",
            ),
        ],
    },
    Section {
        title: "SIGNALS",
        blocks: &[
            Block::Item(
                "SIGINT, SIGTERM",
                "Stop reading, flush the counts gathered since the last flush, and exit 0.",
            ),
            Block::Item(
                "SIGHUP, SIGUSR1",
                "Flush now and go on reading, as if the interval had elapsed.",
            ),
            Block::Item(
                "a second SIGINT or SIGTERM",
                "While the final flush is still retrying a failing sink (for up to --flush-timeout), \
                 give up on it: the counts it could not write go to the fallback (--fallback FILE, or \
                 stderr) as CSV, and statbuf exits 130.",
            ),
        ],
    },
    Section {
        title: "FILES",
        blocks: &[
            Block::Item(
                "the state file (--state FILE)",
                "Remembers, for each input file, how far it has been counted and flushed, and enough \
                 to recognise the file: its device and inode, a digest of its first bytes and of the \
                 bytes before that offset (of the decoded text, for a compressed file). A later run with the same state file resumes there, so no \
                 line is counted twice or missed; a log rotated or truncated meanwhile is noticed, and \
                 the rest of a rotated one is looked for beside it (access.log.1). A whole rotation \
                 set may be named (access.log*): each file is then matched by its content with every \
                 remembered position, whatever its name, so a file renamed or compressed since is \
                 read from where it was left and never twice. Without --sqlite or \
                 --postgres the file holds the offsets (JSON) and is replaced atomically once every \
                 sink holds the counts they cover; with one of them the offsets are committed in the \
                 table statbuf_checkpoint of that database, in the same transaction as the counts, and \
                 the state file names that database. FILE.lock keeps two runs from using one state at \
                 once. Delete the state file (and its rows in statbuf_checkpoint) to count from the \
                 start again.",
            ),
            Block::Item(
                "the SQLite database (--sqlite FILE)",
                "Created if missing, with the table counts (or the name given with --table), in WAL \
                 mode so that it can be queried while statbuf writes. The key columns are named key for \
                 a single key, key1, key2, ... for several --key-field flags, or after the named groups \
                 of --key-regex. Each flush runs one transaction of upserts that add to the totals:",
            ),
            Block::Verbatim(&[
                "CREATE TABLE counts (",
                "    key        TEXT    NOT NULL,  -- or key1, key2, ..., or the group names",
                "    count      INTEGER NOT NULL,  -- the total over every flush and every run",
                "    first_seen TEXT    NOT NULL,  -- start of the first window with the key",
                "    last_seen  TEXT    NOT NULL,  -- end of the last one",
                "    PRIMARY KEY (key)",
                ") WITHOUT ROWID;",
                "",
                "INSERT INTO counts VALUES (?, ?, ?, ?)",
                "    ON CONFLICT DO UPDATE SET count = count + excluded.count,",
                "                              last_seen = excluded.last_seen;",
            ]),
            Block::More(
                "Times are RFC 3339 in UTC with milliseconds (2026-03-10T14:05:09.123Z), which sort as \
                 text and which SQLite's date functions read. Keys are stored as TEXT holding the exact \
                 bytes of the log, even when they are not UTF-8.",
            ),
            Block::Item(
                "the PostgreSQL database (--postgres URL)",
                "The table counts (or --table NAME) is created when missing, with the SQLite table's \
                 columns typed text, bigint and timestamptz; a table with other columns is refused. \
                 Each flush is one transaction: the rows in key order, added by one prepared upsert \
                 over arrays per 20,000 rows, then with --state the offsets and a batch id in \
                 statbuf_checkpoint (host_id, counts_table, path, position, updated), keyed by \
                 --host-id. A COMMIT whose answer is lost is settled by reading the batch id back after \
                 reconnecting, so a flush is applied exactly once. Without --state a flush whose COMMIT \
                 answer is lost is sent again: at least once. A key part that is not valid UTF-8, holds \
                 a NUL byte or starts with \\x is stored as \\x and the hex of its bytes; \
                 decode(substr(key, 3), 'hex') gives the bytes back. The same SQL runs on CockroachDB, \
                 YugabyteDB and Citus.",
            ),
            Block::Item(
                "the CSV file (--csv FILE)",
                "One row per key per flush: window_start, window_end, the key columns, count. The \
                 header is written only when the file is new or empty.",
            ),
            Block::Item(
                "the fallback file (--fallback FILE)",
                "The counts a failing sink would not take by the end of --flush-timeout, as CSV with \
                 the columns of the CSV file; without --fallback they go to stderr.",
            ),
        ],
    },
    Section {
        title: "ENVIRONMENT",
        blocks: &[
            Block::Item(
                "NO_COLOR",
                "When set to a non-empty value, --help is printed without colours. Colours are only \
                 ever used when the output is a terminal; statbuf's own messages are always plain \
                 text.",
            ),
            Block::Item(
                "PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE, PGCONNECT_TIMEOUT, PGPASSFILE",
                "Used by --postgres for what its URL leaves out, as psql uses them; then the password \
                 file (PGPASSFILE or ~/.pgpass), read only when no one but its owner may read it. \
                 Without a host, the socket directory /var/run/postgresql if it exists, else \
                 localhost. sslmode may be disable, prefer (the default) or require; like libpq, \
                 prefer and require encrypt without checking the server's certificate.",
            ),
        ],
    },
    Section {
        title: "SEE ALSO",
        blocks: &[Block::Text(
            "awk(1), sort(1), uniq(1), tail(1), sqlite3(1), psql(1), logrotate(8), cron(8)",
        )],
    },
];

fn write_section(out: &mut Vec<u8>, section: &Section) -> std::io::Result<()> {
    writeln!(out, ".SH {}", section.title)?;
    for (i, block) in section.blocks.iter().enumerate() {
        // A paragraph right after the heading needs no paragraph macro.
        let paragraph = if i == 0 { "" } else { ".PP\n" };
        match block {
            Block::Text(text) => {
                write!(out, "{paragraph}")?;
                writeln!(out, "{}", roff_line(text))?;
            }
            Block::Example(what, commands) => {
                write!(out, "{paragraph}")?;
                writeln!(out, "{}", roff_line(what))?;
                writeln!(out, ".RS 4")?;
                writeln!(out, ".EX")?;
                for command in *commands {
                    writeln!(out, "{}", roff_line(command))?;
                }
                writeln!(out, ".EE")?;
                writeln!(out, ".RE")?;
            }
            Block::Item(term, text) => {
                writeln!(out, ".TP")?;
                writeln!(out, "\\fB{}\\fR", roff_line(term))?;
                writeln!(out, "{}", roff_line(text))?;
            }
            Block::More(text) => {
                writeln!(out, ".IP")?;
                writeln!(out, "{}", roff_line(text))?;
            }
            Block::Verbatim(lines) => {
                writeln!(out, ".IP")?;
                writeln!(out, ".EX")?;
                for line in *lines {
                    writeln!(out, "{}", roff_line(line))?;
                }
                writeln!(out, ".EE")?;
            }
        }
    }
    Ok(())
}

/// One line of text for roff: characters roff would interpret (or typeset as something else,
/// like a curly quote for `'`) escaped, so that commands can be copied from the page.
fn roff_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len() + 8);
    if text.starts_with(['.', '\'']) {
        line.push_str("\\&");
    }
    for c in text.chars() {
        match c {
            '\\' => line.push_str("\\e"),
            '-' => line.push_str("\\-"),
            '\'' => line.push_str("\\(aq"),
            '`' => line.push_str("\\(ga"),
            '^' => line.push_str("\\(ha"),
            '~' => line.push_str("\\(ti"),
            c => line.push(c),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes() {
        assert_eq!(roff_line("a-b 'c' \\d"), "a\\-b \\(aqc\\(aq \\ed");
        assert_eq!(roff_line(".x"), "\\&.x");
    }

    #[test]
    fn every_kind_has_its_own_file_and_flag_value() {
        use clap::ValueEnum;
        for kind in ALL {
            let value = kind.to_possible_value().unwrap();
            assert_eq!(value.get_name(), flag_value(kind));
            assert!(!generate(kind).is_empty());
        }
        let mut paths: Vec<_> = ALL.iter().map(|&k| committed_path(k)).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), ALL.len());
    }

    #[test]
    fn the_man_page_has_its_sections() {
        let page = String::from_utf8(generate(Generate::Man)).unwrap();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXAMPLES",
            "EXIT STATUS",
            "SIGNALS",
            "FILES",
            "ENVIRONMENT",
        ] {
            assert!(
                page.contains(&format!(".SH {section}\n")),
                "no {section} in\n{page}"
            );
        }
    }
}
