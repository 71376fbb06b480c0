//! Bad `-j`, `--json-value` and `--logfmt-key` flags: exit 2, naming the flag.

use super::*;

// ------------------------------------------------------------------------------------------
// 8. Bad flags
// ------------------------------------------------------------------------------------------

/// A bad path or a conflict exits 2 with one line on stderr naming the flag, before reading.
#[test]
fn bad_json_flags_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["-j", "status"], "--json-key", "'status'"),
        (&["-j", ".a."], "--json-key", "'.a.'"),
        (&["-j", ".a", "-k", "7"], "--json-key", "--key-field"),
        (&["-j", ".a", "-r", "(x)"], "--json-key", "--key-regex"),
        (&["--json-value", "."], "--json-value", "'.'"),
        (&["--json-value", "v"], "--json-value", "'v'"),
        (&["-j", ".[0]"], "--json-key", "'.[0]'"),
        (&["-j", ""], "--json-key", "''"),
        (&["--logfmt-key", "k", "-j", ".k"], "--json-key", "--logfmt-key"),
    ];
    let wd = Workdir::new();
    for (args, flag, also) in cases {
        let run = wd.statbuf().args(*args).stdin("{\"a\":1}\n").run_with_code(2);
        let stderr = run.stderr_str();
        assert_eq!(stderr.lines().count(), 1, "one line on stderr\n{run}");
        assert!(stderr.starts_with("statbuf: "), "{run}");
        assert!(
            stderr.contains(flag) && stderr.contains(also),
            "the message should name {flag} and {also}\n{run}"
        );
        assert!(run.stdout.is_empty(), "{run}");
    }
}
