//! JSON and logfmt members found in log lines, for `--json-key` and `--logfmt-key`.
//!
//! Both scanners work on the bytes of one line (no newline, no trailing `\r`), allocate
//! nothing per line once their buffers have grown, and return a slice of the line when the
//! value needs no decoding:
//!
//! - `JsonScanner::lookup` follows a `JsonPath` (`.request.uri`) from the line's top object and
//!   gives what `jq -r PATH` prints, or says the member is missing or the line is not JSON.
//! - `LogfmtScanner::lookup` finds a key in a logfmt line (`level=info msg="a b"`), read as
//!   the go-logfmt decoder reads it.

mod escape;
mod json;
mod logfmt;
mod path;

pub use json::{JsonScanner, Member};
pub use logfmt::LogfmtScanner;
pub use path::JsonPath;
