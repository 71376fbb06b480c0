//! statbuf's own lines on stderr: each starts with `statbuf: `, and one printed while the
//! progress display is drawn is printed around it, never through it.

use std::fmt::Display;

use crate::progress::Meter;

/// Prints `statbuf: TEXT` on stderr.
pub fn say(text: impl Display) {
    eprintln!("statbuf: {text}");
}

/// Prints `statbuf: TEXT` on stderr without tearing the progress display.
pub fn say_around(meter: &Meter, text: impl Display) {
    meter.suspend(|| say(text));
}

/// `say_around` with `format!` arguments: `say!(meter, "{path}: gone")`.
#[macro_export]
macro_rules! say {
    ($meter:expr, $($arg:tt)*) => {
        $crate::message::say_around(&$meter, format_args!($($arg)*))
    };
}

/// The word for `n` things: `one` for 1, `many` otherwise.
pub fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "key", "keys"), "key");
        assert_eq!(plural(0, "key", "keys"), "keys");
        assert_eq!(plural(2, "flush", "flushes"), "flushes");
    }
}
