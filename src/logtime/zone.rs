//! Zoneless times resolved in a time zone, with jiff, an hour at a time.
//!
//! A time without an offset (syslog, a zoneless ISO time, strftime without `%z`) is a civil time
//! in the zone of `--tz`. jiff knows the zone's rules; asking it for every line would cost far
//! more than reading the line, so the offset of the last local hour that has one offset
//! throughout is kept, and times in that hour are a subtraction away.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};

use super::calendar::{DAY, civil_from_days};

/// Seconds in an hour.
const HOUR: i64 = 3600;

/// A time zone and the offset of the local hour last asked about.
#[derive(Clone, Debug)]
pub(super) struct LocalZone {
    zone: TimeZone,
    /// The offset (seconds east of UTC) when the zone has only one.
    fixed: Option<i64>,
    /// The local hour (local seconds divided by 3600, floored) whose every second has `offset`,
    /// or `i64::MIN` for none.
    hour: i64,
    offset: i64,
}

impl LocalZone {
    pub(super) fn new(zone: TimeZone) -> LocalZone {
        let fixed = zone
            .to_fixed_offset()
            .ok()
            .map(|offset| i64::from(offset.seconds()));
        LocalZone {
            zone,
            fixed,
            hour: i64::MIN,
            offset: 0,
        }
    }

    /// The zone.
    pub(super) fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The Unix seconds of `local`, a civil time written as seconds since 1970-01-01T00:00:00
    /// on the zone's clocks. A time skipped by a change of offset (a gap, when clocks go forward)
    /// is moved forward by the length of the gap; a time that occurs twice (a fold, when clocks
    /// go back) is the earlier of the two: jiff's "compatible" disambiguation, as in RFC 5545 and
    /// Temporal. `None` beyond jiff's years -9999..=9999.
    #[inline]
    pub(super) fn seconds_of(&mut self, local: i64) -> Option<i64> {
        if let Some(offset) = self.fixed {
            return Some(local - offset);
        }
        let hour = local.div_euclid(HOUR);
        if hour == self.hour {
            return Some(local - self.offset);
        }
        self.seconds_of_slow(local, hour)
    }

    #[cold]
    fn seconds_of_slow(&mut self, local: i64, hour: i64) -> Option<i64> {
        let seconds = self
            .zone
            .to_ambiguous_timestamp(civil(local)?)
            .compatible()
            .ok()?
            .as_second();
        if let Some(offset) = self.offset_throughout(hour) {
            self.hour = hour;
            self.offset = offset;
        }
        Some(seconds)
    }

    /// The offset of every second of the local `hour`, when it has one: its first and last
    /// seconds are neither in a gap nor in a fold and have the same offset, and the zone does
    /// not change offset between them.
    fn offset_throughout(&self, hour: i64) -> Option<i64> {
        let first = hour.checked_mul(HOUR)?;
        let last = first + HOUR - 1;
        let offset = self.unambiguous_offset(first)?;
        if self.unambiguous_offset(last)? != offset {
            return None;
        }
        let start = Timestamp::from_second(first - offset).ok()?;
        match self.zone.following(start).next() {
            Some(change) if change.timestamp().as_second() <= last - offset => None,
            _ => Some(offset),
        }
    }

    /// The offset of the civil time `local` when only one offset gives it.
    fn unambiguous_offset(&self, local: i64) -> Option<i64> {
        match self.zone.to_ambiguous_timestamp(civil(local)?).offset() {
            AmbiguousOffset::Unambiguous { offset } => Some(i64::from(offset.seconds())),
            _ => None,
        }
    }
}

/// `local` (seconds since 1970-01-01T00:00:00, civil) as a jiff civil date-time.
fn civil(local: i64) -> Option<DateTime> {
    let (year, month, day) = civil_from_days(local.div_euclid(DAY));
    let of_day = local.rem_euclid(DAY);
    DateTime::new(
        i16::try_from(year).ok()?,
        month as i8,
        day as i8,
        (of_day / HOUR) as i8,
        (of_day / 60 % 60) as i8,
        (of_day % 60) as i8,
        0,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::super::calendar::days_from_civil;
    use super::*;

    fn local(ymd: (i64, u32, u32), hms: (i64, i64, i64)) -> i64 {
        days_from_civil(ymd.0, ymd.1, ymd.2) * DAY + hms.0 * HOUR + hms.1 * 60 + hms.2
    }

    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn berlin_across_both_changes_of_2026() {
        let mut zone = LocalZone::new(TimeZone::get("Europe/Berlin").unwrap());
        // Spring: 02:00 CET becomes 03:00 CEST on 29 March; 02:30 does not exist and moves on.
        assert_eq!(
            zone.seconds_of(local((2026, 3, 29), (1, 59, 59))),
            Some(utc("2026-03-29T00:59:59Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 3, 29), (2, 0, 0))),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 3, 29), (2, 30, 0))),
            Some(utc("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 3, 29), (3, 0, 0))),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 3, 29), (3, 30, 0))),
            Some(utc("2026-03-29T01:30:00Z"))
        );
        // Autumn: 03:00 CEST becomes 02:00 CET on 25 October; 02:30 happens twice, the first is taken.
        assert_eq!(
            zone.seconds_of(local((2026, 10, 25), (1, 59, 59))),
            Some(utc("2026-10-24T23:59:59Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 10, 25), (2, 30, 0))),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 10, 25), (2, 59, 59))),
            Some(utc("2026-10-25T00:59:59Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 10, 25), (3, 0, 0))),
            Some(utc("2026-10-25T02:00:00Z"))
        );
        // Summer and winter.
        assert_eq!(
            zone.seconds_of(local((2026, 7, 1), (12, 0, 0))),
            Some(utc("2026-07-01T10:00:00Z"))
        );
        assert_eq!(
            zone.seconds_of(local((2026, 12, 1), (12, 0, 0))),
            Some(utc("2026-12-01T11:00:00Z"))
        );
    }

    #[test]
    fn the_hour_kept_agrees_with_jiff_second_by_second() {
        // Zones with changes on the hour, on the half hour, and of half an hour.
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "America/St_Johns",
        ] {
            let tz = TimeZone::get(name).unwrap();
            let mut zone = LocalZone::new(tz.clone());
            let mut rng = fastrand::Rng::with_seed(11);
            for year in [1995, 2026, 2040] {
                for (month, day) in [(3, 1), (4, 1), (9, 25), (10, 1), (10, 25), (11, 1)] {
                    // A walk through six weeks around the dates where zones change, by steps of
                    // up to 10 minutes, so each hour is met by several times.
                    let mut at = local((year, month, day), (0, 0, 0));
                    let end = at + 42 * DAY;
                    while at < end {
                        let expected = tz.to_timestamp(civil(at).unwrap()).unwrap().as_second();
                        assert_eq!(zone.seconds_of(at), Some(expected), "{name} {:?}", civil(at));
                        at += rng.i64(1..600);
                    }
                }
            }
        }
    }

    #[test]
    fn fixed_zones_and_the_ends_of_the_range() {
        let mut zone = LocalZone::new(TimeZone::UTC);
        assert_eq!(zone.seconds_of(-5), Some(-5));
        let mut zone = LocalZone::new(TimeZone::fixed(jiff::tz::offset(5)));
        assert_eq!(zone.seconds_of(5 * HOUR), Some(0));
        let mut zone = LocalZone::new(TimeZone::get("Europe/Berlin").unwrap());
        assert_eq!(zone.seconds_of(local((10_000, 1, 1), (0, 0, 0))), None);
        assert!(zone.seconds_of(local((9999, 1, 1), (0, 0, 0))).is_some());
    }
}
