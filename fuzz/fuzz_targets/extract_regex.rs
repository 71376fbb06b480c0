//! The regex extractor (`-r`): the first byte picks a pattern (one of a list, or text from the
//! input), the rest is split into lines, and every outcome must equal what
//! `regex::bytes::Regex::captures` gives under the documented group rules (see
//! `fuzz_regex_key`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| statbuf_fuzz::fuzz_regex_key(data));
