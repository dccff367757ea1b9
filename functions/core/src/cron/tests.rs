//! Cron parsing and evaluation, across time zones and DST.

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
    let err = |e: &str| CronSchedule::parse(e, "UTC").unwrap_err().to_string();
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
    let err = CronSchedule::parse("* * * * *", "Mars/Olympus")
        .unwrap_err()
        .to_string();
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

#[test]
fn errors_quote_at_most_a_bounded_prefix_of_the_input() {
    let zone = "Z".repeat(1_000_000);
    let e = CronSchedule::parse("* * * * *", &zone).unwrap_err();
    assert!(matches!(e, CronError::TimeZone(_)));
    assert!(e.to_string().len() < 200, "{} bytes", e.to_string().len());
    let field = format!("{} * * * *", "9".repeat(100_000));
    let e = CronSchedule::parse(&field, "UTC").unwrap_err();
    assert!(e.to_string().len() < 300, "{}", e.to_string().len());
    assert!(e.to_string().starts_with("minute field \"999"), "{e}");
}
