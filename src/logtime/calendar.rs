//! Calendar arithmetic on Unix seconds, in the proleptic Gregorian calendar: civil dates to
//! days and back, bucket starts, RFC 3339 text in UTC.
//!
//! The fixed log forms are converted here rather than through jiff: a civil date-time with a
//! known offset is a few multiplications away from Unix seconds, and the hot path does not pay
//! for jiff's range checks and types.

/// Seconds in a civil day (leap seconds do not exist in Unix time).
pub(super) const DAY: i64 = 86_400;

/// Days from 1970-01-01 to `year-month-day`. The month (1..=12) and day (1..=31) are not
/// checked against each other: callers check with `days_in_month` first.
pub(super) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Counting years from March puts the leap day at the end of the year, so the day of the
    // year does not depend on whether the year is a leap year; 400 years (an era) hold exactly
    // 146,097 days.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` that is `days` after 1970-01-01.
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    // Both in range by construction: the day is 1..=31 and the month 1..=12.
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

/// Whether `year` has a 29 February.
pub(super) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days of `month` (1..=12) in `year`; 0 for a month out of range.
pub(super) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The start of the bucket of `width` seconds holding `seconds`: the largest multiple of
/// `width` (counted from the Unix epoch) not after `seconds`, so `bucket_start(-1, 60)` is
/// `-60`. A `width` of 0 is taken as 1. A start before `i64::MIN` (only for times within
/// `width` of it) is `i64::MIN`.
#[inline]
pub fn bucket_start(seconds: i64, width: u64) -> i64 {
    match i64::try_from(width.max(1)) {
        Ok(width) => seconds.checked_sub(seconds.rem_euclid(width)).unwrap_or(i64::MIN),
        // A bucket wider than half of time: the one from the epoch on, or the one before it.
        Err(_) if seconds >= 0 => 0,
        Err(_) => i64::MIN,
    }
}

/// Appends `seconds` as RFC 3339 in UTC, `2026-03-10T14:05:00Z`: 20 bytes for the years 0000 to
/// 9999. Years beyond have a sign and as many digits as they need (`+12026-…`, `-0001-…`), as
/// ISO 8601 writes them. Allocates nothing beyond growing `out`.
pub fn write_rfc3339_utc(seconds: i64, out: &mut Vec<u8>) {
    let (year, month, day) = civil_from_days(seconds.div_euclid(DAY));
    let of_day = seconds.rem_euclid(DAY) as u32;
    if (0..=9999).contains(&year) {
        out.extend_from_slice(&four_digits(year as u32));
    } else {
        out.push(if year < 0 { b'-' } else { b'+' });
        let magnitude = year.unsigned_abs();
        if magnitude <= 9999 {
            out.extend_from_slice(&four_digits(magnitude as u32));
        } else {
            let mut digits = itoa::Buffer::new();
            out.extend_from_slice(digits.format(magnitude).as_bytes());
        }
    }
    let [m1, m2] = two_digits(month);
    let [d1, d2] = two_digits(day);
    let [h1, h2] = two_digits(of_day / 3600);
    let [n1, n2] = two_digits(of_day / 60 % 60);
    let [s1, s2] = two_digits(of_day % 60);
    out.extend_from_slice(&[
        b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', n1, n2, b':', s1, s2, b'Z',
    ]);
}

/// `value` (below 10,000) as four ASCII digits.
fn four_digits(value: u32) -> [u8; 4] {
    let [a, b] = two_digits(value / 100);
    let [c, d] = two_digits(value % 100);
    [a, b, c, d]
}

/// `value` (below 100) as two ASCII digits.
fn two_digits(value: u32) -> [u8; 2] {
    [b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc3339(seconds: i64) -> String {
        let mut out = Vec::new();
        write_rfc3339_utc(seconds, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn days_and_dates_agree_with_jiff_over_the_whole_range() {
        // jiff's timestamps end a day short of its civil range, so that every offset fits.
        let first = days_from_civil(-9999, 1, 3);
        let last = days_from_civil(9999, 12, 30);
        // Every day for 800 years around the epoch, then a sample over the rest.
        let near = days_from_civil(1600, 1, 1)..days_from_civil(2400, 1, 1);
        let far = (first..=last).step_by(997);
        for days in near.chain(far) {
            let (year, month, day) = civil_from_days(days);
            let date = jiff::civil::Date::new(year as i16, month as i8, day as i8).unwrap();
            let expected = jiff::Timestamp::from_second(days * DAY)
                .unwrap()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            assert_eq!(date, expected, "day {days}");
            assert_eq!(days_from_civil(year, month, day), days);
            assert!(day <= days_in_month(year, month));
        }
    }

    #[test]
    fn month_lengths_and_leap_years() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2026, 2), 28);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(days_in_month(2026, 12), 31);
        assert_eq!(days_in_month(2026, 13), 0);
        assert_eq!(days_in_month(2026, 0), 0);
        assert!(is_leap(0) && is_leap(-4) && !is_leap(-100));
    }

    #[test]
    fn buckets_are_floored_and_aligned_to_the_epoch() {
        for width in [1u64, 2, 5, 10, 60, 300, 900, 3600, 21_600, 86_400] {
            let w = width as i64;
            for seconds in [
                -2 * w - 1,
                -w - 1,
                -w,
                -w + 1,
                -1,
                0,
                1,
                w - 1,
                w,
                w + 1,
                1_773_151_509,
            ] {
                let start = bucket_start(seconds, width);
                assert!(
                    start <= seconds && seconds < start + w,
                    "{seconds} in {width}: {start}"
                );
                assert_eq!(start.rem_euclid(w), 0);
            }
        }
        assert_eq!(bucket_start(-1, 60), -60);
        assert_eq!(bucket_start(-60, 60), -60);
        assert_eq!(bucket_start(-61, 60), -120);
        assert_eq!(bucket_start(59, 60), 0);
        assert_eq!(bucket_start(1_773_151_509, 86_400), 1_773_100_800);
        assert_eq!(bucket_start(7, 0), 7);
        assert_eq!(bucket_start(i64::MIN, 60), i64::MIN);
        assert_eq!(bucket_start(i64::MIN + 1, 10), i64::MIN);
        assert_eq!(bucket_start(i64::MAX, 1), i64::MAX);
        assert_eq!(bucket_start(5, u64::MAX), 0);
        assert_eq!(bucket_start(-5, u64::MAX), i64::MIN);
    }

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_773_151_500), "2026-03-10T14:05:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(days_from_civil(0, 1, 1) * DAY), "0000-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(days_from_civil(9999, 12, 31) * DAY + DAY - 1),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            rfc3339(days_from_civil(-1, 12, 31) * DAY),
            "-0001-12-31T00:00:00Z"
        );
        assert_eq!(
            rfc3339(days_from_civil(10_000, 1, 1) * DAY),
            "+10000-01-01T00:00:00Z"
        );
        // The extremes of i64 are written, not a panic.
        assert!(rfc3339(i64::MIN).starts_with('-'));
        assert!(rfc3339(i64::MAX).starts_with('+'));
        let mut out = b"x".to_vec();
        write_rfc3339_utc(1_773_151_509, &mut out);
        assert_eq!(out, b"x2026-03-10T14:05:09Z");
    }

    #[test]
    fn rfc3339_matches_jiff() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut out = Vec::new();
        for _ in 0..2000 {
            let seconds = rng.i64(-62_167_219_200..253_402_300_800);
            out.clear();
            write_rfc3339_utc(seconds, &mut out);
            assert_eq!(out.len(), 20);
            let expected = jiff::Timestamp::from_second(seconds).unwrap().to_string();
            assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
        }
    }
}
