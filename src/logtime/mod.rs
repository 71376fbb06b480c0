//! Times found in log lines, for `--bucket`.
