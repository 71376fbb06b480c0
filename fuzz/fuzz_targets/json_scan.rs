//! The JSON member scanner (`--json-key`, `--json-value`): the first byte picks a path (one of
//! a list, or text from the input), the rest is split into lines, and every lookup must agree
//! with serde_json on whether the line is one JSON object and, where serde_json reads it, on
//! the value (see `check_json`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| statbuf_fuzz::fuzz_json(data));
