//! Timestamps as the sinks write them: RFC 3339, UTC, milliseconds.

use std::time::SystemTime;

/// `2026-03-10T14:05:09.123Z`: sorts as text in time order, and SQLite's date functions read it.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_utc_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
    }
}
