//! A cron expression and time zone: parse, describe and evaluate, never panic.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use trawl_core::cron::CronSchedule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expr, tz) = text.split_once('\n').unwrap_or((text, "UTC"));
    if let Ok(s) = CronSchedule::parse(expr, tz) {
        let _ = s.describe();
        let t = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap();
        let _ = s.next_after(t);
    }
});
