//! Documentation the binary carries: `--help`, `--version`, and the man page and shell
//! completions committed under `man/` and `completions/`, which must be exactly what
//! `statbuf --generate` prints, render, and load in their shells.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::{Arg, ArgAction, CommandFactory};
use statbuf::cli::{Args, Generate};
use statbuf::generate::{self, ALL};

use crate::tools::{Tool, have};
use crate::util::*;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The command that rewrites the committed file of `kind`.
fn regenerate_command(kind: Generate) -> String {
    format!(
        "cargo run -q -- --generate {} > {}",
        generate::flag_value(kind),
        generate::committed_path(kind)
    )
}

/// The first line where two texts differ, around the first byte that differs, for a failure
/// message.
fn first_difference(committed: &[u8], generated: &[u8]) -> String {
    let a: Vec<&[u8]> = committed.split(|&b| b == b'\n').collect();
    let b: Vec<&[u8]> = generated.split(|&b| b == b'\n').collect();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied(), b.get(i).copied());
        if x == y {
            continue;
        }
        let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
        let at = x.iter().zip(y).take_while(|(p, q)| p == q).count();
        let from = at.saturating_sub(40);
        let show = |l: &[u8]| {
            let end = l.len().min(at + 80);
            let dots = if from > 0 { "..." } else { "" };
            format!("{dots}{}", String::from_utf8_lossy(&l[from.min(end)..end]))
        };
        return format!(
            "line {}, column {}:\n  committed: {}\n  generated: {}",
            i + 1,
            at + 1,
            show(x),
            show(y)
        );
    }
    "no line differs".to_string()
}

#[test]
fn committed_man_page_and_completions_are_up_to_date() {
    let mut stale = Vec::new();
    for kind in ALL {
        let path = generate::committed_path(kind);
        let run = statbuf().args(["--generate", generate::flag_value(kind)]).run();
        assert!(!run.stdout.is_empty(), "--generate printed nothing\n{run}");
        let committed = fs::read(repo_file(path)).unwrap_or_default();
        if committed != run.stdout {
            stale.push(format!(
                "{path} is not what `statbuf --generate {}` prints: regenerate it with\n    {}\n{}",
                generate::flag_value(kind),
                regenerate_command(kind),
                first_difference(&committed, &run.stdout)
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are out of date with the command line (README, Development, lists \
         the commands for all of them):\n\n{}",
        stale.join("\n\n")
    );
}

/// The check above catches a flag added without regenerating: every generated file mentions
/// every visible flag.
#[test]
fn a_new_flag_changes_every_generated_file() {
    for kind in ALL {
        let with_flag = Args::command().arg(
            Arg::new("brand_new")
                .long("brand-new-flag")
                .action(ArgAction::SetTrue)
                .help("A flag added without regenerating"),
        );
        let generated = generate::render(kind, with_flag);
        let committed = read(&repo_file(generate::committed_path(kind)));
        assert_ne!(
            generated,
            committed,
            "{} would not change with a new flag",
            generate::committed_path(kind)
        );
        assert!(
            String::from_utf8_lossy(&generated).contains("brand"),
            "{} does not mention the new flag",
            generate::committed_path(kind)
        );
    }
}

#[test]
fn generated_files_are_marked_generated() {
    let attributes = fs::read_to_string(repo_file(".gitattributes")).expect("no .gitattributes");
    for pattern in ["man/statbuf.1", "completions/*"] {
        assert!(
            attributes
                .lines()
                .any(|l| l.starts_with(pattern) && l.contains("linguist-generated")),
            ".gitattributes does not mark {pattern} as generated:\n{attributes}"
        );
    }
}

#[test]
fn readme_tells_how_to_install_and_regenerate_them() {
    let readme = fs::read_to_string(repo_file("README.md")).expect("no README.md");
    for kind in ALL {
        let command = format!(
            "--generate {} > {}",
            generate::flag_value(kind),
            generate::committed_path(kind)
        );
        assert!(readme.contains(&command), "README.md does not show `{command}`");
    }
    for install in [
        "cargo install --path .",
        "man/statbuf.1",
        "completions/statbuf.bash",
    ] {
        assert!(readme.contains(install), "README.md does not mention {install}");
    }
}

/// Runs an installed program (see `have`) to its end with no stdin, in the repository.
fn run_tool(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in envs {
        cmd.env(name, value);
    }
    run_to_end(format!("{program} {}", args.join(" ")), cmd, None)
}

#[test]
fn man_page_renders_with_its_sections() {
    if !have(&[Tool::Man]) {
        return;
    }
    let run = run_tool(
        "man",
        &["-l", "man/statbuf.1"],
        &[("MANWIDTH", "100"), ("MANPAGER", "cat")],
    );
    assert_eq!(run.code(), Some(0), "the man page does not render\n{run}");
    // Drop overstrike formatting (`x\bx`, `_\bx`), in case the formatter writes it to a pipe.
    let mut chars: Vec<char> = Vec::new();
    for c in String::from_utf8_lossy(&run.stdout).chars() {
        if c == '\u{8}' {
            chars.pop();
        } else {
            chars.push(c);
        }
    }
    let text: String = chars.into_iter().collect();
    for heading in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "EXAMPLES",
        "EXIT STATUS",
        "SIGNALS",
        "FILES",
        "ENVIRONMENT",
    ] {
        assert!(
            text.lines().any(|l| l.trim_end() == heading),
            "the rendered man page has no {heading} section\n{text}"
        );
    }
    for needle in [
        "statbuf -k 7",
        "--state",
        "--value-field",
        "WITHOUT ROWID",
        "count = count + excluded.count",
        "NO_COLOR",
        "130",
    ] {
        assert!(
            text.contains(needle),
            "the rendered man page lacks {needle:?}\n{text}"
        );
    }
}

#[test]
fn man_page_has_no_roff_errors() {
    if !have(&[Tool::Mandoc]) {
        return;
    }
    let run = run_tool("mandoc", &["-T", "lint", "-W", "error", "man/statbuf.1"], &[]);
    assert_eq!(run.code(), Some(0), "mandoc finds errors in man/statbuf.1\n{run}");
}

#[test]
fn bash_completion_loads_and_completes_flags() {
    let script = r#"
        source completions/statbuf.bash || exit 1
        complete -p statbuf || exit 1
        complete_words() {
            COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            COMPREPLY=()
            _statbuf statbuf "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
            echo "${COMPREPLY[*]}"
        }
        complete_words statbuf --ke
        complete_words statbuf --format ''
        complete_words statbuf --no-p
    "#;
    let run = run_tool("bash", &["-c", script], &[]);
    assert_eq!(run.code(), Some(0), "the bash completion does not load\n{run}");
    let out = run.stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains("-F _statbuf") && l.ends_with(" statbuf")),
        "`complete -p statbuf` does not show the completion function\n{run}"
    );
    assert_eq!(lines.get(1).copied(), Some("--key-field --key-regex"), "{run}");
    assert_eq!(lines.get(2).copied(), Some("plain tsv csv json"), "{run}");
    assert_eq!(lines.get(3).copied(), Some("--no-progress"), "{run}");
}

#[test]
fn fish_completion_loads_and_completes_flags() {
    if !have(&[Tool::Fish]) {
        return;
    }
    let run = run_tool(
        "fish",
        &[
            "--no-config",
            "-c",
            "source completions/statbuf.fish; and complete -C 'statbuf --ke'",
        ],
        &[],
    );
    assert_eq!(run.code(), Some(0), "the fish completion does not load\n{run}");
    let out = run.stdout_str();
    for flag in ["--key-field", "--key-regex"] {
        assert!(
            out.lines().any(|l| l.split('\t').next() == Some(flag)),
            "fish does not complete {flag}\n{run}"
        );
    }
}

#[test]
fn zsh_completion_loads() {
    let script = "autoload -Uz compinit && compinit -u -D && source completions/_statbuf \
                  && print -r -- ${_comps[statbuf]}";
    if !have(&[Tool::Zsh]) {
        return;
    }
    let run = run_tool("zsh", &["-f", "-c", script], &[]);
    assert_eq!(run.code(), Some(0), "the zsh completion does not load\n{run}");
    assert_eq!(run.stdout_str().trim(), "_statbuf", "{run}");
    assert!(
        run.stderr.is_empty(),
        "zsh complained while loading the completion\n{run}"
    );
}

#[test]
fn short_and_long_help_end_with_examples() {
    let short = statbuf().arg("-h").run();
    let long = statbuf().arg("--help").run();
    for run in [&short, &long] {
        let out = run.stdout_str();
        assert!(out.starts_with("Count keys from log lines"), "{run}");
        assert!(out.contains("Usage: statbuf [OPTIONS] [FILE]..."), "{run}");
        assert!(out.contains("\nExamples:\n"), "no examples\n{run}");
        assert!(!out.contains('\u{1b}'), "help sent to a pipe has colours\n{run}");
        assert!(run.stderr.is_empty(), "{run}");
    }
    let (short, long) = (short.stdout_str(), long.stdout_str());
    assert!(long.len() > short.len());
    assert!(short.contains("--help' shows more examples"), "{short}");
    for needle in ["Exit status:", "--state", "--explain", "sqlite3 counts.db"] {
        assert!(long.contains(needle), "--help lacks {needle:?}\n{long}");
    }
    // Examples come last, after every option.
    let examples = long.find("\nExamples:\n").unwrap_or(0);
    assert!(long.rfind("\n  -").unwrap_or(0) < examples, "{long}");
    // Hidden flags stay hidden.
    for hidden in ["--generate", "--workers", "--block-size"] {
        assert!(!long.contains(hidden), "--help shows {hidden}\n{long}");
    }
}

#[test]
fn version() {
    for flag in ["-V", "--version"] {
        let run = statbuf().arg(flag).run();
        assert_eq!(
            run.stdout_str(),
            format!("statbuf {}\n", env!("CARGO_PKG_VERSION")),
            "{run}"
        );
    }
}

#[test]
fn generate_rejects_an_unknown_kind_by_name() {
    let run = statbuf().args(["--generate", "complete-tcsh"]).run_with_code(2);
    let err = run.stderr_str();
    assert!(
        err.starts_with("statbuf: ") && err.contains("--generate") && err.contains("complete-bash"),
        "{run}"
    );
}

/// What no error line may contain: a panic, or Rust's debug formatting of a value.
const DEBUG_MARKERS: &[&str] = &[
    "panicked",
    "RUST_BACKTRACE",
    "Os {",
    "Custom {",
    "kind: ",
    "Error {",
    "Some(",
    "None",
    "\\\"",
];

/// Fails unless stderr is exactly one line `statbuf: <what>: <why>` in plain text.
fn assert_one_plain_error_line(run: &Run) -> String {
    let err = run.stderr_str();
    assert_eq!(err.lines().count(), 1, "expected one error line\n{run}");
    let line = err.trim_end().to_string();
    let rest = line
        .strip_prefix("statbuf: ")
        .unwrap_or_else(|| panic!("the error does not start with `statbuf: `\n{run}"));
    assert!(
        rest.contains(": "),
        "the error is not `statbuf: <what>: <why>`\n{run}"
    );
    for marker in DEBUG_MARKERS {
        assert!(!line.contains(marker), "the error shows {marker:?}\n{run}");
    }
    assert!(
        !run.stderr.contains(&0x1b),
        "the error has escape sequences\n{run}"
    );
    line
}

#[test]
fn command_line_errors_name_the_flag_and_what_is_wrong() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--intreval", "5"],
            "statbuf: --intreval: unknown flag (did you mean '--interval'?)",
        ),
        (&["-k"], "statbuf: --key-field: a value is required"),
        (
            &["-k", "1", "-r", "x"],
            "statbuf: --key-field: cannot be used with --key-regex",
        ),
        (
            &["--from-start"],
            "statbuf: --follow: required by the other flags given",
        ),
        (
            &["--format", "xml"],
            "statbuf: --format: invalid value 'xml': expected one of plain, tsv, csv, json",
        ),
        (&["--quiet=yes"], "statbuf: --quiet: unexpected value 'yes'"),
        (
            &["--explain=many"],
            "statbuf: --explain: invalid value 'many': invalid digit found in string",
        ),
        (&["--explain=0"], "statbuf: --explain: must be at least 1"),
        (
            &["--top", "x"],
            "statbuf: --top: invalid value 'x': invalid digit found in string",
        ),
    ];
    for (args, expected) in cases {
        let run = statbuf().args(*args).stdin("a\n").run_with_code(2);
        assert_eq!(assert_one_plain_error_line(&run), *expected, "{run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
}

#[test]
fn runtime_errors_are_plain_lines_naming_the_path() {
    let wd = Workdir::new();
    let missing = wd.path("missing.log");
    let no_dir = wd.path("no-such-dir/counts.db");
    let header = wd.write("other.csv", "a,b\n1,2\n");
    let runs = [
        (wd.statbuf().arg(&missing).output(), missing.clone()),
        (
            wd.statbuf().arg("--explain").arg(&missing).output(),
            missing.clone(),
        ),
        (
            wd.statbuf().arg("--explain").arg(wd.root()).output(),
            wd.root().to_path_buf(),
        ),
        (
            wd.statbuf().arg("--sqlite").arg(&no_dir).stdin("a\n").output(),
            no_dir.clone(),
        ),
        (
            wd.statbuf().arg("--csv").arg(&header).stdin("a\n").output(),
            header.clone(),
        ),
    ];
    for (run, path) in runs {
        assert_eq!(run.code(), Some(1), "{run}");
        let lines: Vec<String> = run
            .stderr_lines_except_summary()
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "expected one error line\n{run}");
        let line = &lines[0];
        assert!(
            line.starts_with(&format!("statbuf: {}: ", path.display())),
            "the error does not start by naming {}\n{run}",
            path.display()
        );
        for marker in DEBUG_MARKERS {
            assert!(!line.contains(marker), "the error shows {marker:?}\n{run}");
        }
    }
}
