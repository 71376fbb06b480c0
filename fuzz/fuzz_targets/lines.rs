//! `statbuf::input::lines`: lines are consecutive slices of the input, end at `\n`, drop one
//! trailing `\r`, and a last line without `\n` counts (see `check_lines`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| statbuf_fuzz::check_lines(data));
