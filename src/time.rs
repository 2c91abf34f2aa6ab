//! The contract's time grammar `T`: RFC 3339, a date (`2024-05-01` or `20240501`), a date and
//! time without offset, Unix seconds (10 digits) or milliseconds (13 digits), or a relative
//! time (`30m`, `24h`, `7d`, `2w`, `now`, `today`, `yesterday`). Times without an offset are
//! read in the chosen zone. Other all-digit strings, and `M` (minutes or months?), are refused.
//! Also how a vendor's own timestamps are read, leniently ([`vendor_instant`]), and how a time
//! is written in a message, as a person writes it ([`human`]). A date that does not exist is
//! named as such (`month 13 does not exist`), not answered with the list of formats.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Zoned};

/// Whether a time starts or ends a range: a bare date that ends a range means the end of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Start,
    End,
}

/// Reads the zone given to `--tz`, or the local zone (`TZ`) when none is given.
pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
        Some(n) => TimeZone::get(n).map_err(|_| {
            format!("unknown time zone {n:?}: give an IANA name such as Asia/Shanghai or UTC")
        }),
    }
}

/// A timestamp as a vendor writes it: RFC 3339 (`2024-05-01T08:00:00Z`, `…+08:00`), or a
/// date and time without an offset (`2024-05-01T08:00:00`, `2024-05-01 08:00:00`, with or
/// without fractions), which is read as UTC. The bool is true when an offset was given.
pub fn vendor_instant(text: &str) -> Option<(Timestamp, bool)> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Some((ts, true));
    }
    let dt: DateTime = t.parse().ok()?;
    dt.to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| (z.timestamp(), false))
}

/// Parses `text` as the contract's `T`, relative to `now`, in zone `tz`.
pub fn parse(text: &str, bound: Bound, tz: &TimeZone, now: Timestamp) -> Result<Timestamp, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) && ![8, 10, 13].contains(&t.len()) {
        return Err(format!(
            "cannot read {text:?} as a time: all digits, but {} of them; give a date as \
             20240501 (8 digits), Unix seconds (10 digits) or milliseconds (13 digits)",
            t.len()
        ));
    }
    if let Some(n) = t.strip_suffix('M') {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{text:?} is ambiguous: write {n}m for minutes, or {}d / a date for months",
                n.parse::<u64>().map_or(30, |n| n.saturating_mul(30))
            ));
        }
    }
    match parse_inner(t, bound, tz, now) {
        Some(ts) => Ok(ts),
        None => Err(impossible(t).unwrap_or_else(|| {
            format!(
                "cannot read {text:?} as a time: use RFC 3339 (2024-05-01T08:00:00+08:00), a date \
             (2024-05-01 or 20240501), Unix seconds (10 digits) or milliseconds (13), or a \
             relative time (30m, 24h, 7d, 2w, today, yesterday)"
            )
        })),
    }
}

/// Why `text`, written as a date (`2024-13-01`, `20240230`) or a date and time
/// (`2024-05-01T25:00`), names none that exists; None when it is not written as one.
fn impossible(text: &str) -> Option<String> {
    let num = |s: Option<&str>| -> Option<i64> {
        let s = s?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let b = text.as_bytes();
    let (year, month, day, rest) = if b.len() == 8 {
        (text.get(..4), text.get(4..6), text.get(6..8), "")
    } else if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        (
            text.get(..4),
            text.get(5..7),
            text.get(8..10),
            text.get(10..)?,
        )
    } else {
        return None;
    };
    let (year, month, day) = (num(year)?, num(month)?, num(day)?);
    if !(1..=12).contains(&month) {
        return Some(format!(
            "month {month} does not exist (in {text:?}): months go from 01 to 12"
        ));
    }
    let first = Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, 1).ok()?;
    let days = i64::from(first.days_in_month());
    if !(1..=days).contains(&day) {
        return Some(format!(
            "{text:?} does not exist: {} has {days} days",
            first.strftime("%B %Y")
        ));
    }
    let clock = rest.strip_prefix(['T', 't', ' '])?;
    let end = clock
        .find(|c: char| !c.is_ascii_digit() && c != ':')
        .unwrap_or(clock.len());
    let units = [
        ("hour", "hours", 23),
        ("minute", "minutes", 59),
        ("second", "seconds", 59),
    ];
    for (part, (unit, units, max)) in clock.get(..end)?.split(':').zip(units) {
        let n = num(Some(part))?;
        if n > max {
            return Some(format!(
                "{unit} {n} does not exist (in {text:?}): {units} go from 00 to {max}"
            ));
        }
    }
    None
}

/// A time as a person writes it in a message: `2024-05-01 23:59:59 UTC`, in `tz` (named by
/// its IANA name, else its offset), to the second.
pub fn human(ts: Timestamp, tz: &TimeZone) -> String {
    let zoned = ts.to_zoned(tz.clone());
    let zone = match tz.iana_name() {
        Some("Etc/UTC" | "Etc/Universal" | "Etc/Zulu" | "UCT" | "UTC") => "UTC".to_string(),
        Some(name) => name.to_string(),
        None => zoned.strftime("UTC%:z").to_string(),
    };
    format!("{} {zone}", zoned.strftime("%Y-%m-%d %H:%M:%S"))
}

/// Parses `text` as the contract's `T` and keeps only its calendar day in `tz`
/// (for APIs that take dates).
pub fn parse_date(text: &str, tz: &TimeZone, now: Timestamp) -> Result<Date, String> {
    let ts = parse(text, Bound::Start, tz, now)?;
    Ok(ts.to_zoned(tz.clone()).date())
}

fn day_bound(date: Date, bound: Bound, tz: &TimeZone) -> Option<Timestamp> {
    let dt = match bound {
        Bound::Start => date.to_datetime(jiff::civil::Time::midnight()),
        Bound::End => date.at(23, 59, 59, 999_999_999),
    };
    dt.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

fn parse_inner(text: &str, bound: Bound, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    if text.is_empty() {
        return None;
    }
    let today = now.to_zoned(tz.clone()).date();
    match text.to_ascii_lowercase().as_str() {
        "now" => return Some(now),
        "today" => return day_bound(today, bound, tz),
        "yesterday" => return day_bound(today.yesterday().ok()?, bound, tz),
        _ => {}
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.len() {
            8 => {
                let date = Date::strptime("%Y%m%d", text).ok()?;
                day_bound(date, bound, tz)
            }
            10 => Timestamp::from_second(text.parse().ok()?).ok(),
            13 => Timestamp::from_millisecond(text.parse().ok()?).ok(),
            _ => None,
        };
    }
    if let Some(ts) = relative(text, tz, now) {
        return Some(ts);
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(date) = text.parse::<Date>() {
        if text.len() <= 10 {
            return day_bound(date, bound, tz);
        }
    }
    if let Ok(dt) = text.parse::<DateTime>() {
        return dt.to_zoned(tz.clone()).ok().map(|z| z.timestamp());
    }
    None
}

/// The one grammar of durations (`--since 30m`, `--interval 90s`): a whole number and one of
/// `s`, `m`, `h`, `d`, `w` (any case). None when `text` is not one.
pub fn duration(text: &str) -> Option<(i64, char)> {
    let unit = text.chars().last()?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let unit = unit.to_ascii_lowercase();
    matches!(unit, 's' | 'm' | 'h' | 'd' | 'w').then_some((n, unit))
}

/// A [`duration`] in seconds (a day is 24 hours), when it fits.
pub fn duration_seconds(text: &str) -> Option<i64> {
    let (n, unit) = duration(text)?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => 604_800,
    };
    n.checked_mul(per)
}

/// `30m`, `24h`, `7d`, `2w` (and `45s`): that long before `now` (days on the calendar of
/// `tz`).
fn relative(text: &str, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    let (n, unit) = duration(text)?;
    let span = match unit {
        's' => Span::new().try_seconds(n).ok()?,
        'm' => Span::new().try_minutes(n).ok()?,
        'h' => Span::new().try_hours(n).ok()?,
        'd' => Span::new().try_days(n).ok()?,
        _ => Span::new().try_weeks(n).ok()?,
    };
    let zoned: Zoned = now.to_zoned(tz.clone());
    zoned.checked_sub(span).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn vendor_times_without_an_offset_are_utc() {
        let t = at("2024-05-01T08:00:00Z");
        for (text, offset) in [
            ("2024-05-01T08:00:00Z", true),
            ("2024-05-01T10:00:00+02:00", true),
            ("2024-05-01T08:00:00", false),
            (" 2024-05-01 08:00:00 ", false),
        ] {
            assert_eq!(vendor_instant(text), Some((t, offset)), "{text}");
        }
        assert_eq!(
            vendor_instant("2024-05-01T08:00:00.094934").map(|(t, _)| t.as_millisecond()),
            Some(t.as_millisecond() + 94)
        );
        for bad in [
            "",
            "31/12/2024 8am",
            "yesterday",
            "1714550400",
            "2024-13-01T00:00:00",
        ] {
            assert_eq!(vendor_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_every_form_of_the_grammar() {
        let tz = TimeZone::get("Asia/Shanghai").expect("zone");
        let now = at("2024-05-10T12:00:00Z");
        use Bound::{End, Start};
        let cases = [
            ("2024-05-01T08:00:00+08:00", Start, "2024-05-01T00:00:00Z"),
            ("2024-05-01", Start, "2024-04-30T16:00:00Z"),
            ("2024-05-01", End, "2024-05-01T15:59:59.999999999Z"),
            ("2024-05-01 08:00:00", Start, "2024-05-01T00:00:00Z"),
            ("2024-05-01T08:00", End, "2024-05-01T00:00:00Z"),
            ("1714521600", Start, "2024-05-01T00:00:00Z"),
            ("1714521600123", Start, "2024-05-01T00:00:00.123Z"),
            ("30m", Start, "2024-05-10T11:30:00Z"),
            ("24h", Start, "2024-05-09T12:00:00Z"),
            ("7d", Start, "2024-05-03T12:00:00Z"),
            ("2w", Start, "2024-04-26T12:00:00Z"),
            ("now", End, "2024-05-10T12:00:00Z"),
            ("today", Start, "2024-05-09T16:00:00Z"),
            ("yesterday", End, "2024-05-09T15:59:59.999999999Z"),
        ];
        for (text, bound, expected) in cases {
            assert_eq!(
                parse(text, bound, &tz, now).expect(text),
                at(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn bare_digits_are_a_date_seconds_or_milliseconds_and_nothing_else() {
        let tz = TimeZone::UTC;
        let now = at("2024-05-10T12:00:00Z");
        let p = |s: &str, b| parse(s, b, &tz, now);
        assert_eq!(p("20240501", Bound::Start), Ok(at("2024-05-01T00:00:00Z")));
        assert_eq!(
            p("20240501", Bound::End),
            Ok(at("2024-05-01T23:59:59.999999999Z"))
        );
        assert_eq!(
            parse_date("20240501", &tz, now).map(|d| d.to_string()),
            Ok("2024-05-01".to_string())
        );
        for bad in [
            "1",
            "12345",
            "123456789",
            "12345678901",
            "123456789012345",
            "20241301",
        ] {
            assert!(p(bad, Bound::Start).is_err(), "{bad:?} should fail");
        }
        let err = p("1M", Bound::Start).expect_err("1M");
        assert!(err.contains("ambiguous"), "{err}");
        assert_eq!(p("1m", Bound::Start), Ok(at("2024-05-10T11:59:00Z")));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        let tz = TimeZone::UTC;
        let now = at("2024-05-10T12:00:00Z");
        for bad in [
            "",
            "tomorrowish",
            "2024-13-01",
            "7x",
            "d",
            "2024-05-01T25:00",
            "-5d",
        ] {
            assert!(
                parse(bad, Bound::Start, &tz, now).is_err(),
                "{bad:?} should fail"
            );
        }
    }

    #[test]
    fn dates_that_do_not_exist_are_named_as_such() {
        let tz = TimeZone::UTC;
        let now = at("2024-05-10T12:00:00Z");
        for (bad, says) in [
            ("2024-13-01", "month 13 does not exist"),
            ("20241301", "month 13 does not exist"),
            ("2024-00-10", "month 0 does not exist"),
            ("2023-02-29", "February 2023 has 28 days"),
            ("2024-04-31 08:00", "April 2024 has 30 days"),
            ("2024-05-01T25:00", "hour 25 does not exist"),
            ("2024-05-01 08:61", "minute 61 does not exist"),
        ] {
            let err = parse(bad, Bound::Start, &tz, now).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
            assert!(
                !err.contains("RFC 3339"),
                "{bad}: not the list of formats: {err}"
            );
        }
        let err = parse("next blue moon", Bound::Start, &tz, now).expect_err("words");
        assert!(err.contains("RFC 3339"), "{err}");
        assert!(parse("2024-02-29", Bound::Start, &tz, now).is_ok());
    }

    #[test]
    fn times_in_messages_read_as_a_person_writes_them() {
        let end = at("2024-05-01T23:59:59.999999999Z");
        assert_eq!(human(end, &TimeZone::UTC), "2024-05-01 23:59:59 UTC");
        let tz = TimeZone::get("Asia/Shanghai").expect("zone");
        assert_eq!(human(end, &tz), "2024-05-02 07:59:59 Asia/Shanghai");
        let fixed = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(human(end, &fixed), "2024-05-02 01:59:59 UTC+02:00");
    }

    #[test]
    fn dates_keep_the_day_in_the_zone() {
        let tz = TimeZone::get("Asia/Shanghai").expect("zone");
        let now = at("2024-05-10T20:00:00Z");
        assert_eq!(
            parse_date("today", &tz, now).expect("today").to_string(),
            "2024-05-11"
        );
        assert_eq!(
            parse_date("2023-01-01", &tz, now).expect("d").to_string(),
            "2023-01-01"
        );
    }
}
