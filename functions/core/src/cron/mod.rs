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

mod fields;

use fields::{parse_field, value, DAY, HOUR, MINUTE, MONTH, WEEKDAY};

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

/// Why a cron expression or time zone was refused. `Display` says what is wrong and
/// where; inputs are quoted at most [`SHOWN_CHARS`] characters long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// The expression as a whole is malformed: empty, the wrong number of fields, an
    /// unknown macro.
    #[error("{0}")]
    Syntax(String),
    /// One field is invalid (`minute field "61": 61 is out of range 0-59`).
    #[error("{0}")]
    Field(String),
    /// `@reboot`, which has no time.
    #[error("@reboot is not supported: Trawl schedules run at times, not at startup")]
    Reboot,
    /// The time zone is not an IANA name.
    #[error(
        "unknown time zone {0:?}: use an IANA name such as UTC, Europe/Paris or America/New_York"
    )]
    TimeZone(String),
    /// The expression selects no date that exists (`0 0 31 2 *`).
    #[error("{0:?} never fires: no selected month has the selected day of month")]
    Never(String),
}

/// The most characters of an input an error message quotes.
pub const SHOWN_CHARS: usize = 64;

/// `s` for an error message: cut to [`SHOWN_CHARS`] characters, with `…` when cut.
fn shown(s: &str) -> String {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl CronSchedule {
    /// Parses a five-field cron expression or macro, evaluated in `timezone` (an IANA
    /// name such as `Europe/Paris` or `UTC`; empty means UTC). The error says what is
    /// wrong and where, e.g. `minute field "61": 61 is out of range 0-59`, or
    /// `unknown time zone "Mars/Base"`.
    pub fn parse(expr: &str, timezone: &str) -> Result<CronSchedule, CronError> {
        let tz = parse_timezone(timezone)?;
        let expr = expr.trim();
        let expanded = match expr.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            "@reboot" => return Err(CronError::Reboot),
            m if m.starts_with('@') => {
                return Err(CronError::Syntax(format!(
                    "unknown macro {:?}: use @yearly, @annually, @monthly, @weekly, \
                     @daily, @midnight or @hourly",
                    shown(expr)
                )))
            }
            _ => expr,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        match fields.len() {
            5 => {}
            0 => return Err(CronError::Syntax("empty cron expression".into())),
            6 | 7 => {
                return Err(CronError::Syntax(format!(
                    "{:?} has {} fields: Trawl cron expressions have five (minute hour \
                     day-of-month month day-of-week), without seconds or years",
                    shown(expr),
                    fields.len()
                )))
            }
            n => {
                return Err(CronError::Syntax(format!(
                    "{:?} has {n} fields; a cron expression has five: minute hour \
                     day-of-month month day-of-week",
                    shown(expr)
                )))
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
    fn check_possible(&self) -> Result<(), CronError> {
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
            Err(CronError::Never(shown(&self.expr)))
        }
    }
}

fn parse_timezone(timezone: &str) -> Result<Tz, CronError> {
    let timezone = timezone.trim();
    if timezone.is_empty() {
        return Ok(Tz::UTC);
    }
    Tz::from_str(timezone).map_err(|_| CronError::TimeZone(shown(timezone)))
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
mod tests;
