//! JSON and logfmt members found in log lines, for `--json-key` and `--logfmt-key`.
