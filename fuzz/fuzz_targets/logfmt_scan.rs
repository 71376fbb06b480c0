//! The logfmt key scanner (`--logfmt-key`, `--logfmt-value`): each line of the input, looked up
//! by its own keys and a few others, must give what go-logfmt's decoder gives, the last pair
//! of a key, or nothing for a line it stops on (see `check_logfmt`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| statbuf_fuzz::fuzz_logfmt(data));
