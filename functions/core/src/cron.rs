//! Cron schedules: five-field expressions evaluated in an IANA time zone, with the
//! daylight-saving behaviour of Vixie cron.
//!
//! The syntax is the classic one: `minute hour day-of-month month day-of-week`, each
//! field `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the
//! end of the field), or a comma-separated list of these. Months accept `JAN`..`DEC`
//! and days of the week `SUN`..`SAT` (any case); day of week `0` and `7` are both
//! Sunday. The macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight` and `@hourly` are accepted; `@reboot`, seconds and years (six or seven
//! fields) and Quartz extensions (`L`, `W`, `#`, `?`) are not.
//!
//! Day of month and day of week combine like Vixie cron: when both are restricted
//! (neither starts with `*`), a day matches when *either* matches; otherwise both must.
//!
//! # Daylight saving time
//!
//! Occurrences are computed in local (wall-clock) time of the schedule's zone and
//! converted to UTC. Like Vixie cron (and croner), jobs fall into two kinds:
//!
//! - **Fixed-time** jobs, whose minute and hour fields both name specific values (do
//!   not start with `*`), such as `30 2 * * *` or `0 9 * * MON-FRI`:
//!   - a local time skipped by a spring-forward gap fires once, at the first real
//!     instant after the gap (the moment of the change: `02:30` on the day New York
//!     springs forward fires at `03:00` EDT); several times in one gap fire once;
//!   - a local time repeated by a fall-back overlap fires once, at its first
//!     occurrence (the earlier, daylight-time one).
//! - **Wildcard** jobs, whose minute or hour field starts with `*` (such as
//!   `*/5 * * * *` or `@hourly`), follow real elapsed time: local times inside a gap do
//!   not exist and are skipped, and local times in a repeated hour fire in both passes
//!   (so `@hourly` fires every real hour, 25 times on a fall-back day).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How far ahead [`CronSchedule::next_after`] looks, in days (covers leap-day
/// schedules whose day of week must also match, which recur every 28 years).
const SEARCH_DAYS: i64 = 366 * 29;

/// A parsed cron schedule in a time zone.
#[derive(Clone, PartialEq, Eq)]
pub struct CronSchedule {
    expr: String,
    tz: Tz,
    /// Bit `m` set: minute `m` (0..=59).
    minutes: u64,
    /// Bit `h` set: hour `h` (0..=23).
    hours: u32,
    /// Bit `d` set: day of month `d` (1..=31).
    days: u32,
    /// Bit `m` set: month `m` (1..=12).
    months: u16,
    /// Bit `d` set: day of week `d` (0 = Sunday ..= 6).
    weekdays: u8,
    /// The day-of-month field starts with `*`.
    days_star: bool,
    /// The day-of-week field starts with `*`.
    weekdays_star: bool,
    /// Neither the minute nor the hour field starts with `*` (see the module docs).
    fixed_time: bool,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronSchedule")
            .field("expr", &self.expr)
            .field("timezone", &self.tz.name())
            .finish()
    }
}

impl fmt::Display for CronSchedule {
    /// The expression as given (trimmed), then the zone: `0 9 * * MON-FRI (Europe/Paris)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.expr, self.tz.name())
    }
}

struct FieldDef {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: FieldDef = FieldDef {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldDef = FieldDef {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: FieldDef = FieldDef {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldDef = FieldDef {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
const WEEKDAY: FieldDef = FieldDef {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};

impl CronSchedule {
    /// Parses a five-field cron expression or macro, evaluated in `timezone` (an IANA
    /// name such as `Europe/Paris` or `UTC`; empty means UTC). The error says what is
    /// wrong and where, e.g. `minute field "61": 61 is out of range 0-59`, or
    /// `unknown time zone "Mars/Base"`.
    pub fn parse(expr: &str, timezone: &str) -> Result<CronSchedule, String> {
        let tz = parse_timezone(timezone)?;
        let expr = expr.trim();
        let expanded = match expr.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            "@reboot" => {
                return Err(
                    "@reboot is not supported: Trawl schedules run at times, not at startup".into(),
                )
            }
            m if m.starts_with('@') => {
                return Err(format!(
                    "unknown macro {expr:?}: use @yearly, @annually, @monthly, @weekly, \
                     @daily, @midnight or @hourly"
                ))
            }
            _ => expr,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        match fields.len() {
            5 => {}
            0 => return Err("empty cron expression".into()),
            6 | 7 => {
                return Err(format!(
                    "{expr:?} has {} fields: Trawl cron expressions have five (minute hour \
                     day-of-month month day-of-week), without seconds or years",
                    fields.len()
                ))
            }
            n => {
                return Err(format!(
                    "{expr:?} has {n} fields; a cron expression has five: minute hour \
                     day-of-month month day-of-week"
                ))
            }
        }
        let minutes = parse_field(fields[0], &MINUTE)?;
        let hours = parse_field(fields[1], &HOUR)?;
        let days = parse_field(fields[2], &DAY)?;
        let months = parse_field(fields[3], &MONTH)?;
        let mut weekdays = parse_field(fields[4], &WEEKDAY)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays & !(1 << 7)) | 1; // 7 is Sunday too
        }
        let schedule = CronSchedule {
            expr: expr.to_string(),
            tz,
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: weekdays as u8,
            days_star: fields[2].starts_with('*'),
            weekdays_star: fields[4].starts_with('*'),
            fixed_time: !fields[0].starts_with('*') && !fields[1].starts_with('*'),
        };
        schedule.check_possible()?;
        Ok(schedule)
    }

    /// The expression as given (trimmed).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The IANA name of the schedule's time zone.
    pub fn timezone(&self) -> &'static str {
        self.tz.name()
    }

    /// The first occurrence strictly after `t`, or `None` if there is none in the next
    /// 29 years. Daylight-saving changes are handled as described in the module docs.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = t.with_timezone(&self.tz).date_naive();
        let mut day = start;
        for _ in 0..SEARCH_DAYS {
            if self.day_matches(day) {
                // Local times of one day map to instants before those of the next
                // day, so the earliest candidate of the first day with one is next.
                if let Some(next) = self.day_candidates(day, t).min() {
                    return Some(next);
                }
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// An English description, e.g. `at 09:00 on Monday-Friday (Europe/Paris)` or
    /// `every 5 minutes (UTC)`; falls back to the expression for irregular schedules.
    pub fn describe(&self) -> String {
        let lower = self.expr.to_ascii_lowercase();
        let what = match lower.as_str() {
            "@yearly" | "@annually" => "every year on January 1 at 00:00".to_string(),
            "@monthly" => "on the first day of every month at 00:00".to_string(),
            "@weekly" => "every Sunday at 00:00".to_string(),
            "@daily" | "@midnight" => "every day at 00:00".to_string(),
            "@hourly" => "every hour, on the hour".to_string(),
            _ => self.describe_fields(),
        };
        format!("{what} ({})", self.tz.name())
    }

    fn describe_fields(&self) -> String {
        let fields: Vec<&str> = self.expr.split_whitespace().collect();
        let every_day = fields[2] == "*" && fields[3] == "*" && fields[4] == "*";
        let on_days = if every_day {
            String::new()
        } else if fields[2] == "*" && fields[3] == "*" {
            format!(" on {}", weekday_words(fields[4]))
        } else {
            format!(
                " on day-of-month {}, month {}, day-of-week {}",
                fields[2], fields[3], fields[4]
            )
        };
        let single = |f: &str| f.parse::<u32>().ok();
        match (fields[0], fields[1]) {
            (m, "*") if m.starts_with("*/") => {
                format!("every {} minutes{on_days}", &m[2..])
            }
            ("*", "*") => format!("every minute{on_days}"),
            (m, "*") if single(m).is_some() => {
                format!("every hour at minute {m}{on_days}")
            }
            (m, h) if single(m).is_some() && single(h).is_some() => {
                format!(
                    "at {:02}:{:02}{}",
                    single(h).unwrap_or(0),
                    single(m).unwrap_or(0),
                    if every_day {
                        " every day".to_string()
                    } else {
                        on_days
                    }
                )
            }
            _ => format!("at cron {:?}", self.expr),
        }
    }

    fn day_matches(&self, day: NaiveDate) -> bool {
        if self.months & (1 << day.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << day.day()) != 0;
        let dow = self.weekdays & (1 << day.weekday().num_days_from_sunday()) != 0;
        if self.days_star || self.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The instants of `day`'s matching local times that are after `t`.
    fn day_candidates(
        &self,
        day: NaiveDate,
        t: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let hours = (0..24u32).filter(move |h| self.hours & (1 << h) != 0);
        hours
            .flat_map(move |h| {
                (0..60u32)
                    .filter(move |m| self.minutes & (1 << m) != 0)
                    .filter_map(move |m| day.and_hms_opt(h, m, 0))
            })
            .flat_map(move |local| self.resolve(local))
            .filter(move |i| *i > t)
    }

    /// The instants at which local time `local` fires (zero, one or two).
    fn resolve(&self, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(dt) => vec![dt.with_timezone(&Utc)],
            LocalResult::Ambiguous(earlier, later) => {
                if self.fixed_time {
                    vec![earlier.with_timezone(&Utc)]
                } else {
                    vec![earlier.with_timezone(&Utc), later.with_timezone(&Utc)]
                }
            }
            LocalResult::None => {
                if self.fixed_time {
                    self.end_of_gap(local).into_iter().collect()
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// The first real instant after the gap that skips local time `local`.
    fn end_of_gap(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        // Find the first existing local minute after `local` (gaps can be as long as
        // a day, e.g. Pacific/Apia in December 2011).
        let mut probe = local;
        let mut instant = None;
        for _ in 0..(2 * 24 * 60) {
            probe += Duration::minutes(1);
            match self.tz.from_local_datetime(&probe) {
                LocalResult::Single(dt) => {
                    instant = Some(dt.with_timezone(&Utc));
                    break;
                }
                LocalResult::Ambiguous(earlier, _) => {
                    instant = Some(earlier.with_timezone(&Utc));
                    break;
                }
                LocalResult::None => {}
            }
        }
        let mut instant = instant?;
        // Historical offsets can have seconds, so the change may fall between whole
        // minutes: step back to the exact moment of the change.
        for _ in 0..60 {
            let before = instant - Duration::seconds(1);
            if before.with_timezone(&self.tz).naive_local() > local {
                instant = before;
            } else {
                break;
            }
        }
        Some(instant)
    }

    /// Rejects day-of-month/month combinations that never happen (`0 0 31 2 *`).
    fn check_possible(&self) -> Result<(), String> {
        if self.days_star || !self.weekdays_star {
            return Ok(()); // every month has day 1..28, or day-of-week alternatives
        }
        let possible = (1..=12u32).any(|month| {
            let longest = match month {
                2 => 29,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            self.months & (1 << month) != 0 && (1..=longest).any(|d| self.days & (1 << d) != 0)
        });
        if possible {
            Ok(())
        } else {
            Err(format!(
                "{:?} never fires: no selected month has the selected day of month",
                self.expr
            ))
        }
    }
}

fn parse_timezone(timezone: &str) -> Result<Tz, String> {
    let timezone = timezone.trim();
    if timezone.is_empty() {
        return Ok(Tz::UTC);
    }
    Tz::from_str(timezone).map_err(|_| {
        format!(
            "unknown time zone {timezone:?}: use an IANA name such as UTC, Europe/Paris or \
             America/New_York"
        )
    })
}

/// Parses one field into a bit set of the values it selects.
fn parse_field(text: &str, def: &FieldDef) -> Result<u64, String> {
    let err = |msg: String| format!("{} field {text:?}: {msg}", def.name);
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(err("empty list item".into()));
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| err(format!("step {step:?} is not a number")))?;
                if step == 0 {
                    return Err(err("step must be at least 1".into()));
                }
                (base, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if base == "*" {
            (def.min, def.max)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, b) = (value(a, def).map_err(err)?, value(b, def).map_err(err)?);
            if a > b {
                return Err(err(format!(
                    "range {base:?} runs backwards; write it as two ranges"
                )));
            }
            (a, b)
        } else {
            let a = value(base, def).map_err(err)?;
            // `a/n` means from `a` to the end of the field.
            (a, if step.is_some() { def.max } else { a })
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

/// One value of a field: a number in range or a name.
fn value(text: &str, def: &FieldDef) -> Result<u32, String> {
    if let Ok(n) = text.parse::<u32>() {
        if n < def.min || n > def.max {
            return Err(format!("{n} is out of range {}-{}", def.min, def.max));
        }
        return Ok(n);
    }
    let upper = text.to_ascii_uppercase();
    if let Some(i) = def.names.iter().position(|n| *n == upper) {
        return Ok(i as u32 + if def.names.len() == 12 { 1 } else { 0 });
    }
    if matches!(upper.as_str(), "L" | "W" | "?") || upper.contains('#') || upper.ends_with('L') {
        return Err(format!("{text:?} (a Quartz extension) is not supported"));
    }
    Err(if def.names.is_empty() {
        format!("{text:?} is not a number")
    } else {
        format!(
            "{text:?} is not a number or a name ({})",
            def.names.join(", ")
        )
    })
}

fn weekday_words(field: &str) -> String {
    const DAYS: [&str; 8] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let word = |v: &str| -> String {
        value(v, &WEEKDAY)
            .map(|d| DAYS[d as usize].to_string())
            .unwrap_or_else(|_| v.to_string())
    };
    field
        .split(',')
        .map(|item| match item.split_once('-') {
            Some((a, b)) if !b.contains('/') => format!("{}-{}", word(a), word(b)),
            _ if item.contains('/') => item.to_string(),
            _ => word(item),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The next `n` occurrences after `from`, as RFC 3339 UTC strings.
    fn next_n(expr: &str, tz: &str, from: &str, n: usize) -> Vec<String> {
        let s = CronSchedule::parse(expr, tz).unwrap();
        let mut t = utc(from);
        let mut out = Vec::new();
        for _ in 0..n {
            t = s.next_after(t).unwrap();
            out.push(t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        out
    }

    /// Occurrences in `[from, to)`.
    fn between(expr: &str, tz: &str, from: &str, to: &str) -> Vec<String> {
        let s = CronSchedule::parse(expr, tz).unwrap();
        let (mut t, end) = (utc(from) - Duration::seconds(1), utc(to));
        let mut out = Vec::new();
        while let Some(next) = s.next_after(t).filter(|n| *n < end) {
            out.push(next.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            t = next;
        }
        out
    }

    #[test]
    fn every_five_minutes() {
        assert_eq!(
            next_n("*/5 * * * *", "UTC", "2024-01-01T10:02:30Z", 3),
            [
                "2024-01-01T10:05:00Z",
                "2024-01-01T10:10:00Z",
                "2024-01-01T10:15:00Z"
            ]
        );
        // Strictly after: an occurrence instant itself is not returned.
        assert_eq!(
            next_n("*/5 * * * *", "UTC", "2024-01-01T10:05:00Z", 1),
            ["2024-01-01T10:10:00Z"]
        );
        // Sub-second instants just before an occurrence.
        let s = CronSchedule::parse("*/5 * * * *", "").unwrap();
        let t = utc("2024-01-01T10:04:59.999Z");
        assert_eq!(s.next_after(t), Some(utc("2024-01-01T10:05:00Z")));
        // Across the end of a year.
        assert_eq!(
            next_n("*/5 * * * *", "UTC", "2024-12-31T23:58:00Z", 1),
            ["2025-01-01T00:00:00Z"]
        );
    }

    #[test]
    fn weekdays_in_paris_across_dst() {
        // Spring: Sunday 2024-03-31 02:00 CET -> 03:00 CEST.
        assert_eq!(
            next_n("0 9 * * MON-FRI", "Europe/Paris", "2024-03-28T12:00:00Z", 3),
            [
                "2024-03-29T08:00:00Z", // Friday, CET (+1)
                "2024-04-01T07:00:00Z", // Monday, CEST (+2)
                "2024-04-02T07:00:00Z",
            ]
        );
        // Autumn: Sunday 2024-10-27 03:00 CEST -> 02:00 CET.
        assert_eq!(
            next_n("0 9 * * mon-fri", "Europe/Paris", "2024-10-24T12:00:00Z", 3),
            [
                "2024-10-25T07:00:00Z", // Friday, CEST
                "2024-10-28T08:00:00Z", // Monday, CET
                "2024-10-29T08:00:00Z",
            ]
        );
    }

    #[test]
    fn new_york_spring_forward_fires_once_after_the_gap() {
        // 2024-03-10: 02:00 EST -> 03:00 EDT; 02:30 does not exist.
        assert_eq!(
            between(
                "30 2 * * *",
                "America/New_York",
                "2024-03-09T12:00:00Z",
                "2024-03-11T12:00:00Z"
            ),
            [
                "2024-03-10T07:00:00Z", // 03:00 EDT, the first instant after the gap
                "2024-03-11T06:30:00Z", // 02:30 EDT
            ]
        );
        // Two times in the same gap fire once.
        assert_eq!(
            between(
                "0,30 2 * * *",
                "America/New_York",
                "2024-03-10T00:00:00Z",
                "2024-03-10T23:00:00Z"
            ),
            ["2024-03-10T07:00:00Z"]
        );
        // Wildcard jobs skip the missing hour.
        assert_eq!(
            between(
                "30 * * * *",
                "America/New_York",
                "2024-03-10T05:00:00Z",
                "2024-03-10T09:00:00Z"
            ),
            [
                "2024-03-10T05:30:00Z", // 00:30 EST
                "2024-03-10T06:30:00Z", // 01:30 EST
                "2024-03-10T07:30:00Z", // 03:30 EDT
                "2024-03-10T08:30:00Z", // 04:30 EDT
            ]
        );
    }

    #[test]
    fn new_york_fall_back_fires_once() {
        // 2024-11-03: 02:00 EDT -> 01:00 EST; 01:00-01:59 happens twice.
        assert_eq!(
            between(
                "30 2 * * *",
                "America/New_York",
                "2024-11-02T12:00:00Z",
                "2024-11-04T12:00:00Z"
            ),
            ["2024-11-03T07:30:00Z", "2024-11-04T07:30:00Z"]
        );
        assert_eq!(
            between(
                "30 1 * * *",
                "America/New_York",
                "2024-11-02T12:00:00Z",
                "2024-11-04T12:00:00Z"
            ),
            [
                "2024-11-03T05:30:00Z", // the first 01:30 (EDT) only
                "2024-11-04T06:30:00Z",
            ]
        );
        // Asked from inside the repeated hour, after the first pass fired: no repeat.
        assert_eq!(
            next_n("30 1 * * *", "America/New_York", "2024-11-03T06:10:00Z", 1),
            ["2024-11-04T06:30:00Z"]
        );
    }

    #[test]
    fn hourly_follows_real_time_across_dst() {
        assert_eq!(
            next_n("@hourly", "UTC", "2024-05-05T10:00:00Z", 2),
            ["2024-05-05T11:00:00Z", "2024-05-05T12:00:00Z"]
        );
        // 25 real hours on the New York fall-back day, 23 on the spring-forward day.
        let day = |from, to| between("@hourly", "America/New_York", from, to).len();
        assert_eq!(day("2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"), 25);
        assert_eq!(day("2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"), 23);
        assert_eq!(
            between(
                "@hourly",
                "America/New_York",
                "2024-11-03T04:30:00Z",
                "2024-11-03T07:30:00Z"
            ),
            [
                "2024-11-03T05:00:00Z", // 01:00 EDT
                "2024-11-03T06:00:00Z", // 01:00 EST
                "2024-11-03T07:00:00Z", // 02:00 EST
            ]
        );
    }

    #[test]
    fn macros() {
        let from = "2024-05-15T10:20:00Z";
        assert_eq!(next_n("@yearly", "UTC", from, 1), ["2025-01-01T00:00:00Z"]);
        assert_eq!(
            next_n("@annually", "UTC", from, 1),
            ["2025-01-01T00:00:00Z"]
        );
        assert_eq!(next_n("@monthly", "UTC", from, 1), ["2024-06-01T00:00:00Z"]);
        assert_eq!(next_n("@weekly", "UTC", from, 1), ["2024-05-19T00:00:00Z"]);
        assert_eq!(next_n("@daily", "UTC", from, 1), ["2024-05-16T00:00:00Z"]);
        assert_eq!(
            next_n("@MIDNIGHT", "UTC", from, 1),
            ["2024-05-16T00:00:00Z"]
        );
        assert_eq!(
            next_n("@daily", "Asia/Tokyo", from, 1),
            ["2024-05-15T15:00:00Z"] // 2024-05-16 00:00 JST
        );
    }

    #[test]
    fn leap_day() {
        assert_eq!(
            next_n("0 12 29 2 *", "UTC", "2024-03-01T00:00:00Z", 2),
            ["2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"]
        );
        // Feb 29 that is also a Monday, with Vixie's OR rule: Feb 29 or any Monday.
        let s = CronSchedule::parse("0 0 29 FEB MON", "UTC").unwrap();
        assert_eq!(
            s.next_after(utc("2024-02-27T00:00:00Z")),
            Some(utc("2024-02-29T00:00:00Z")) // a Thursday
        );
        assert_eq!(
            s.next_after(utc("2024-02-29T00:00:00Z")),
            Some(utc("2025-02-03T00:00:00Z")) // the next Monday in February
        );
    }

    #[test]
    fn fields_syntax() {
        // Lists, ranges, steps over ranges, `a/n`, 7 = Sunday, names in any case.
        assert_eq!(
            next_n("0,30 8-10/2 * * *", "UTC", "2024-01-01T00:00:00Z", 5),
            [
                "2024-01-01T08:00:00Z",
                "2024-01-01T08:30:00Z",
                "2024-01-01T10:00:00Z",
                "2024-01-01T10:30:00Z",
                "2024-01-02T08:00:00Z",
            ]
        );
        assert_eq!(
            next_n("50/5 23 * * *", "UTC", "2024-01-01T00:00:00Z", 3),
            [
                "2024-01-01T23:50:00Z",
                "2024-01-01T23:55:00Z",
                "2024-01-02T23:50:00Z"
            ]
        );
        // 2024-01-07 is a Sunday.
        assert_eq!(
            next_n("0 0 * * 7", "UTC", "2024-01-01T00:00:00Z", 1),
            ["2024-01-07T00:00:00Z"]
        );
        assert_eq!(
            next_n("0 0 * * sun", "UTC", "2024-01-01T00:00:00Z", 1),
            ["2024-01-07T00:00:00Z"]
        );
        assert_eq!(
            next_n("0 0 1 jun-aug *", "UTC", "2024-01-01T00:00:00Z", 4),
            [
                "2024-06-01T00:00:00Z",
                "2024-07-01T00:00:00Z",
                "2024-08-01T00:00:00Z",
                "2025-06-01T00:00:00Z",
            ]
        );
        // Restricted day-of-month with `*` day-of-week: AND (only the 13th).
        assert_eq!(
            next_n("0 0 13 * *", "UTC", "2024-01-01T00:00:00Z", 1),
            ["2024-01-13T00:00:00Z"]
        );
        // Both restricted: OR (the 13th or any Friday; 2024-01-05 is a Friday).
        assert_eq!(
            next_n("0 0 13 * FRI", "UTC", "2024-01-01T00:00:00Z", 3),
            [
                "2024-01-05T00:00:00Z",
                "2024-01-12T00:00:00Z",
                "2024-01-13T00:00:00Z"
            ]
        );
    }

    #[test]
    fn invalid_expressions() {
        let err = |e: &str| CronSchedule::parse(e, "UTC").unwrap_err();
        assert!(
            err("0 0 * * * *").contains("has 6 fields"),
            "{}",
            err("0 0 * * * *")
        );
        assert!(err("0 0 * * * *").contains("without seconds"));
        assert!(err("0 0 0 * * * 2024").contains("has 7 fields"));
        assert!(err("@reboot").contains("@reboot is not supported"));
        assert!(err("@often").contains("unknown macro"));
        assert_eq!(err(""), "empty cron expression");
        assert!(err("* * *").contains("has 3 fields"));
        assert_eq!(
            err("61 * * * *"),
            "minute field \"61\": 61 is out of range 0-59"
        );
        assert_eq!(
            err("0 24 * * *"),
            "hour field \"24\": 24 is out of range 0-23"
        );
        assert_eq!(
            err("0 0 0 * *"),
            "day-of-month field \"0\": 0 is out of range 1-31"
        );
        assert!(err("0 0 * 13 *").starts_with("month field"));
        assert!(err("0 0 * * 8").starts_with("day-of-week field"));
        assert!(err("0 0 * FOO *").contains("is not a number or a name"));
        assert!(err("*/0 * * * *").contains("step must be at least 1"));
        assert!(err("*/x * * * *").contains("is not a number"));
        assert!(err("5-1 * * * *").contains("runs backwards"));
        assert!(err("1,,2 * * * *").contains("empty list item"));
        assert!(err("0 0 L * *").contains("Quartz"));
        assert!(err("0 0 * * 5#3").contains("Quartz"));
        assert!(err("0 0 31 2 *").contains("never fires"));
        assert!(err("0 0 30,31 FEB *").contains("never fires"));
        assert!(CronSchedule::parse("0 0 31 2,3 *", "UTC").is_ok());
    }

    #[test]
    fn invalid_timezones() {
        let err = CronSchedule::parse("* * * * *", "Mars/Olympus").unwrap_err();
        assert!(err.contains("unknown time zone \"Mars/Olympus\""), "{err}");
        assert!(CronSchedule::parse("* * * * *", "CEST").is_err());
        let s = CronSchedule::parse("* * * * *", "Europe/Paris").unwrap();
        assert_eq!(s.timezone(), "Europe/Paris");
        assert_eq!(
            CronSchedule::parse("* * * * *", "").unwrap().timezone(),
            "UTC"
        );
    }

    #[test]
    fn day_long_gap() {
        // Pacific/Apia skipped 2011-12-30 entirely (-10 -> +14 at the end of the 29th).
        assert_eq!(
            between(
                "0 12 * * *",
                "Pacific/Apia",
                "2011-12-29T00:00:00Z",
                "2011-12-31T12:00:00Z"
            ),
            [
                "2011-12-29T22:00:00Z", // 29th 12:00 (-10)
                "2011-12-30T10:00:00Z", // 30th 12:00 missing: 31st 00:00 (+14)
                "2011-12-30T22:00:00Z", // 31st 12:00 (+14)
            ]
        );
    }

    #[test]
    fn describe() {
        let d = |e: &str, tz: &str| CronSchedule::parse(e, tz).unwrap().describe();
        assert_eq!(d("*/5 * * * *", "UTC"), "every 5 minutes (UTC)");
        assert_eq!(
            d("0 9 * * MON-FRI", "Europe/Paris"),
            "at 09:00 on Monday-Friday (Europe/Paris)"
        );
        assert_eq!(d("30 2 * * *", "UTC"), "at 02:30 every day (UTC)");
        assert_eq!(d("@hourly", "UTC"), "every hour, on the hour (UTC)");
        assert_eq!(d("15 * * * *", "UTC"), "every hour at minute 15 (UTC)");
        let s = CronSchedule::parse("0 9 * * 1", "Europe/Paris").unwrap();
        assert_eq!(s.to_string(), "0 9 * * 1 (Europe/Paris)");
        assert_eq!(s.expr(), "0 9 * * 1");
    }
}
