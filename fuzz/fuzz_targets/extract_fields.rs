//! The field extractors (`-k`, `-d`, `--value-field`, and the whole line): the first bytes
//! choose the flags, the rest is split into lines, and every outcome must equal awk's reading
//! of the line; single-field keys are slices of their line, awk fields never hold a blank and
//! delimited fields never hold their delimiter (see `fuzz_field_key`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| statbuf_fuzz::fuzz_field_key(data));
