//! What an API caller may put in a job: the settings policy and the size limits of
//! `schedule.json` and `addschedule.json`.
//!
//! A job runs on the server's machine with the server's credentials, so settings that
//! name paths on that machine, write outside the job's own area, or route requests
//! around the destination policy are refused when an API caller sets them. Bundles
//! (specs) set their own settings too; those pass the same check when a job starts.
//!
//! | setting | why refused |
//! |---|---|
//! | `FEEDS`, `FEED_URI`, `FEED_FORMAT` | items go to the job's own feed (`/items/...`); a feed URI would write files or buckets anywhere |
//! | `HTTPCACHE_ENABLED`, `HTTPCACHE_DIR` | the cache writes to the server's disk outside the job's area |
//! | `JOBDIR` | pause/resume state on the server's disk; the server resumes jobs itself |
//! | `LOG_FILE`, `LOG_ENABLED`, `LOG_STDOUT` | the job's log is the server's (`/logs/...`) |
//! | `HTTP_PROXY`, `HTTPS_PROXY`, `HTTPPROXY_ENABLED` | a proxy reaches what the destination policy refuses |
//! | `TELNETCONSOLE_*`, `*_BASE` | not supported; refused rather than ignored |
//!
//! `CHECKPOINT_INTERVAL` must be 0 (checkpoint only when the job stops) or at least
//! [`MIN_CHECKPOINT_INTERVAL`] seconds: every checkpoint is a write to the blob store.

use std::collections::BTreeMap;

/// The most settings one job may carry.
pub const MAX_SETTINGS: usize = 200;
/// The most spider arguments one job may carry.
pub const MAX_ARGS: usize = 200;
/// The longest setting or argument value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The longest setting or argument name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// The shortest `CHECKPOINT_INTERVAL` a job may ask for, in seconds.
pub const MIN_CHECKPOINT_INTERVAL: f64 = 0.1;

/// Settings an API caller may not set, with the reason given back.
const REFUSED: &[(&str, &str)] = &[
    ("FEEDS", "items go to the job's own feed"),
    ("FEED_URI", "items go to the job's own feed"),
    ("FEED_FORMAT", "items go to the job's own feed"),
    (
        "HTTPCACHE_ENABLED",
        "the HTTP cache would write outside the job's area",
    ),
    (
        "HTTPCACHE_DIR",
        "the HTTP cache would write outside the job's area",
    ),
    ("JOBDIR", "the server keeps jobs' state itself"),
    ("LOG_FILE", "the job's log is kept by the server"),
    ("LOG_ENABLED", "the job's log is kept by the server"),
    ("LOG_STDOUT", "the job's log is kept by the server"),
    (
        "HTTP_PROXY",
        "a proxy would bypass the server's destination policy",
    ),
    (
        "HTTPS_PROXY",
        "a proxy would bypass the server's destination policy",
    ),
    (
        "HTTPPROXY_ENABLED",
        "a proxy would bypass the server's destination policy",
    ),
];

/// Why a job's settings or arguments were refused; `Display` gives the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A setting the server does not let API callers set.
    #[error("setting {name} is not allowed for jobs: {why}")]
    Refused {
        /// The setting.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// Too many entries.
    #[error("too many {what}: at most {max}")]
    TooMany {
        /// `settings` or `arguments`.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A setting whose value the server does not accept.
    #[error("setting {name}: {message}")]
    Invalid {
        /// The setting.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A name or value too long.
    #[error("{what} {name} is too long: at most {max} bytes")]
    TooLong {
        /// `setting`, `argument` or their names.
        what: &'static str,
        /// The entry's name (cut).
        name: String,
        /// The limit.
        max: usize,
    },
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn check_sizes(
    what: &'static str,
    max: usize,
    map: &BTreeMap<String, String>,
) -> Result<(), PolicyError> {
    if map.len() > max {
        return Err(PolicyError::TooMany { what, max });
    }
    for (k, v) in map {
        if k.len() > MAX_NAME_BYTES {
            return Err(PolicyError::TooLong {
                what: "name of",
                name: cut(k),
                max: MAX_NAME_BYTES,
            });
        }
        if v.len() > MAX_VALUE_BYTES {
            return Err(PolicyError::TooLong {
                what: if what == "settings" {
                    "setting"
                } else {
                    "argument"
                },
                name: cut(k),
                max: MAX_VALUE_BYTES,
            });
        }
    }
    Ok(())
}

/// Checks the settings an API caller gave a job.
pub fn check_settings(settings: &BTreeMap<String, String>) -> Result<(), PolicyError> {
    check_sizes("settings", MAX_SETTINGS, settings)?;
    check_setting_names(settings.keys().map(String::as_str))?;
    if let Some(v) = settings.get("CHECKPOINT_INTERVAL") {
        let secs = v.trim().parse::<f64>().ok().filter(|s| s.is_finite());
        check_checkpoint_interval(secs)?;
    }
    Ok(())
}

/// Checks a job's effective `CHECKPOINT_INTERVAL` (seconds; `None`: not a number).
pub fn check_checkpoint_interval(secs: Option<f64>) -> Result<(), PolicyError> {
    match secs {
        Some(s) if s == 0.0 || s >= MIN_CHECKPOINT_INTERVAL => Ok(()),
        _ => Err(PolicyError::Invalid {
            name: "CHECKPOINT_INTERVAL".into(),
            message: format!(
                "0 (only when the job stops) or at least {MIN_CHECKPOINT_INTERVAL} seconds"
            ),
        }),
    }
}

/// Checks setting names alone (a spec's own settings, whose values the spec bounds).
pub fn check_setting_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), PolicyError> {
    for name in names {
        let upper = name.trim().to_ascii_uppercase();
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == upper) {
            return Err(PolicyError::Refused {
                name: cut(name),
                why,
            });
        }
        if upper.starts_with("TELNETCONSOLE") || upper.ends_with("_BASE") {
            return Err(PolicyError::Refused {
                name: cut(name),
                why: "not supported",
            });
        }
    }
    Ok(())
}

/// Checks the spider arguments an API caller gave a job.
pub fn check_args(args: &BTreeMap<String, String>) -> Result<(), PolicyError> {
    check_sizes("arguments", MAX_ARGS, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn refuses_settings_that_reach_outside_the_job() {
        for name in [
            "FEEDS",
            "feeds",
            "HTTPCACHE_DIR",
            "HTTPCACHE_ENABLED",
            "JOBDIR",
            "LOG_FILE",
            "HTTPS_PROXY",
        ] {
            let e = check_settings(&map(&[(name, "x")])).unwrap_err();
            assert!(matches!(e, PolicyError::Refused { .. }), "{name}");
            assert!(e.to_string().starts_with("setting "), "{e}");
        }
        assert!(check_settings(&map(&[
            ("DOWNLOAD_DELAY", "1"),
            ("CLOSESPIDER_ITEMCOUNT", "5")
        ]))
        .is_ok());
    }

    #[test]
    fn checkpoint_interval_is_zero_or_not_too_short() {
        for ok in ["0", "0.1", "30", " 5 "] {
            assert!(
                check_settings(&map(&[("CHECKPOINT_INTERVAL", ok)])).is_ok(),
                "{ok}"
            );
        }
        for bad in ["0.01", "-1", "x", "NaN", "inf"] {
            let e = check_settings(&map(&[("CHECKPOINT_INTERVAL", bad)])).unwrap_err();
            assert!(
                e.to_string().starts_with("setting CHECKPOINT_INTERVAL: "),
                "{e}"
            );
        }
    }

    #[test]
    fn bounds_sizes_and_never_echoes_a_huge_input() {
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        let e = check_args(&map(&[("site", &big)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("argument site is too long: at most {MAX_VALUE_BYTES} bytes")
        );
        let e = check_settings(&map(&[(&big, "1")])).unwrap_err();
        assert!(e.to_string().len() < 200);
        let many: BTreeMap<String, String> = (0..=MAX_ARGS)
            .map(|i| (format!("a{i}"), String::new()))
            .collect();
        assert!(matches!(
            check_args(&many),
            Err(PolicyError::TooMany { .. })
        ));
    }
}
