//! From what a line's time text says to Unix seconds: the offset when there is one, the zone of
//! `--tz` when there is none, and a year from the reference instant when the text has none.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::calendar::{DAY, days_from_civil, days_in_month};
use super::forms::Stamp;
use super::zone::LocalZone;

/// The zone and the reference instant that complete times missing a zone or a year.
#[derive(Clone, Debug)]
pub(super) struct Resolver {
    zone: LocalZone,
    reference: i64,
    /// The year of `reference` on the zone's clocks.
    reference_year: i64,
}

impl Resolver {
    pub(super) fn new(zone: TimeZone, reference: i64) -> Resolver {
        let mut resolver = Resolver {
            zone: LocalZone::new(zone),
            reference,
            reference_year: 0,
        };
        resolver.set_reference(reference);
        resolver
    }

    /// Sets the reference instant (Unix seconds) of yearless times.
    pub(super) fn set_reference(&mut self, reference: i64) {
        let clamped = Timestamp::from_second(reference).unwrap_or(if reference < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        });
        self.reference = reference;
        self.reference_year = i64::from(self.zone.zone().to_datetime(clamped).year());
    }

    /// The Unix seconds of a stamp from one of the fixed forms.
    #[inline]
    pub(super) fn stamp(&mut self, stamp: &Stamp) -> Option<i64> {
        match stamp.year {
            Some(year) => {
                let local = days_from_civil(year, stamp.month, stamp.day) * DAY + i64::from(stamp.clock);
                self.local(local, stamp.offset)
            }
            None => self.yearless(stamp.month, stamp.day, stamp.clock, stamp.offset),
        }
    }

    /// The Unix seconds of the civil time `local` (seconds since 1970-01-01T00:00:00 on the
    /// clocks), at `offset` when there is one, else in the zone.
    #[inline]
    pub(super) fn local(&mut self, local: i64, offset: Option<i32>) -> Option<i64> {
        match offset {
            Some(offset) => Some(local - i64::from(offset)),
            None => self.zone.seconds_of(local),
        }
    }

    /// The Unix seconds of a date without a year (syslog's `Mar 10 14:05:09`): in the year of
    /// the reference instant, unless that puts it more than a day after the reference, or the
    /// date does not exist that year (29 February); then in the year before.
    pub(super) fn yearless(&mut self, month: u32, day: u32, clock: u32, offset: Option<i32>) -> Option<i64> {
        let latest = self.reference.saturating_add(DAY);
        for year in [self.reference_year, self.reference_year - 1] {
            if day > days_in_month(year, month) {
                continue;
            }
            let seconds = self.local(days_from_civil(year, month, day) * DAY + i64::from(clock), offset)?;
            if year != self.reference_year || seconds <= latest {
                return Some(seconds);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    /// `month day HH:MM:SS` without a year, read in `zone` against `reference`: the instant, in
    /// RFC 3339.
    fn yearless(zone: &str, reference: &str, (month, day): (u32, u32), clock: &str) -> Option<String> {
        let reference = if reference == "max" {
            i64::MAX
        } else {
            seconds(reference)
        };
        let mut resolver = Resolver::new(TimeZone::get(zone).unwrap(), reference);
        let clock = clock
            .split(':')
            .fold(0, |sum, part| sum * 60 + part.parse::<u32>().unwrap());
        let instant = resolver.yearless(month, day, clock, None)?;
        Some(Timestamp::from_second(instant).unwrap().to_string())
    }

    #[test]
    fn yearless_times_take_the_year_of_the_reference_or_the_one_before() {
        for (zone, reference, date, clock, expected) in [
            // A file last written just after New Year holds the end of December of the year before.
            (
                "UTC",
                "2027-01-01T00:10:00Z",
                (12, 31),
                "23:59:59",
                Some("2026-12-31T23:59:59Z"),
            ),
            (
                "UTC",
                "2027-01-01T00:10:00Z",
                (1, 1),
                "00:05:00",
                Some("2027-01-01T00:05:00Z"),
            ),
            // Up to a day after the reference is taken as clocks that disagree, not as last year.
            (
                "UTC",
                "2027-01-01T00:10:00Z",
                (1, 2),
                "00:10:00",
                Some("2027-01-02T00:10:00Z"),
            ),
            (
                "UTC",
                "2027-01-01T00:10:00Z",
                (1, 2),
                "00:10:01",
                Some("2026-01-02T00:10:01Z"),
            ),
            // A reference just before New Year: a line from after midnight is a year old.
            (
                "UTC",
                "2026-12-31T23:50:00Z",
                (12, 31),
                "23:00:00",
                Some("2026-12-31T23:00:00Z"),
            ),
            (
                "UTC",
                "2026-12-31T23:50:00Z",
                (1, 1),
                "00:30:00",
                Some("2026-01-01T00:30:00Z"),
            ),
            (
                "UTC",
                "2026-12-31T23:50:00Z",
                (3, 10),
                "14:05:09",
                Some("2026-03-10T14:05:09Z"),
            ),
            // The year is the reference's on the zone's clocks: 23:30 UTC is next year in Berlin.
            (
                "Europe/Berlin",
                "2026-12-31T23:30:00Z",
                (1, 1),
                "00:15:00",
                Some("2026-12-31T23:15:00Z"),
            ),
            (
                "Europe/Berlin",
                "2026-06-01T00:00:00Z",
                (1, 1),
                "00:15:00",
                Some("2025-12-31T23:15:00Z"),
            ),
            // 29 February: this year's, or the last leap year's when it is the year before.
            (
                "UTC",
                "2028-03-01T00:00:00Z",
                (2, 29),
                "01:00:00",
                Some("2028-02-29T01:00:00Z"),
            ),
            (
                "UTC",
                "2029-01-05T00:00:00Z",
                (2, 29),
                "01:00:00",
                Some("2028-02-29T01:00:00Z"),
            ),
            ("UTC", "2030-06-01T00:00:00Z", (2, 29), "01:00:00", None),
            // A reference beyond jiff's range is still a reference.
            ("UTC", "max", (3, 1), "00:00:00", Some("9999-03-01T00:00:00Z")),
        ] {
            let got = yearless(zone, reference, date, clock);
            assert_eq!(
                got.as_deref(),
                expected,
                "{date:?} {clock} in {zone} against {reference}"
            );
        }
    }

    #[test]
    fn stamps_with_and_without_offsets() {
        let mut berlin = Resolver::new(TimeZone::get("Europe/Berlin").unwrap(), 0);
        let stamp = Stamp {
            year: Some(2026),
            month: 3,
            day: 10,
            clock: 14 * 3600 + 5 * 60 + 9,
            offset: None,
        };
        assert_eq!(berlin.stamp(&stamp), Some(seconds("2026-03-10T13:05:09Z")));
        let stamp = Stamp {
            offset: Some(-25_200),
            ..stamp
        };
        assert_eq!(berlin.stamp(&stamp), Some(seconds("2026-03-10T21:05:09Z")));
    }
}
