//! Settings with Scrapy's names and priorities (default < project < spider < command line).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};

/// Where a setting value came from; a higher priority wins, as in Scrapy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Built-in defaults.
    Default = 0,
    /// Project-wide defaults (set by the control plane).
    Project = 20,
    /// A spider's own settings (`[settings]` in a spec, `custom_settings` in Rust).
    Spider = 30,
    /// Job or command line (`-s NAME=VALUE`, `setting=NAME=VALUE`).
    Cmdline = 40,
}

/// Built-in defaults: every setting the engine reads, with Scrapy's default values.
const DEFAULTS: &[(&str, &str)] = &[
    ("AUTOTHROTTLE_DEBUG", "false"),
    ("AUTOTHROTTLE_ENABLED", "false"),
    ("AUTOTHROTTLE_MAX_DELAY", "60"),
    ("AUTOTHROTTLE_START_DELAY", "5"),
    ("AUTOTHROTTLE_TARGET_CONCURRENCY", "1.0"),
    ("BOT_NAME", "trawl"),
    ("CHECKPOINT_INTERVAL", "30"),
    ("CLOSESPIDER_ERRORCOUNT", "0"),
    ("CLOSESPIDER_ITEMCOUNT", "0"),
    ("CLOSESPIDER_PAGECOUNT", "0"),
    ("CLOSESPIDER_TIMEOUT", "0"),
    ("COMPRESSION_ENABLED", "true"),
    ("CONCURRENT_CRAWLERS", "1"),
    ("CONCURRENT_ITEMS", "100"),
    ("CONCURRENT_REQUESTS", "16"),
    ("CONCURRENT_REQUESTS_PER_DOMAIN", "8"),
    ("COOKIES_DEBUG", "false"),
    ("COOKIES_ENABLED", "true"),
    (
        "DEFAULT_REQUEST_HEADERS",
        r#"{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language": "en"}"#,
    ),
    ("DEPTH_LIMIT", "0"),
    ("DEPTH_PRIORITY", "0"),
    ("DEPTH_STATS_VERBOSE", "false"),
    ("DOWNLOAD_DELAY", "0"),
    ("DOWNLOAD_MAXSIZE", "1073741824"),
    ("DOWNLOAD_TIMEOUT", "180"),
    ("DOWNLOAD_WARNSIZE", "33554432"),
    ("DOWNLOADER_STATS", "true"),
    ("DOWNLOADER_MIDDLEWARES", "{}"),
    ("DUPEFILTER_DEBUG", "false"),
    ("FEED_EXPORT_BATCH_ITEM_COUNT", "0"),
    ("FEED_EXPORT_ENCODING", "utf-8"),
    ("FEED_EXPORT_FIELDS", ""),
    ("FEED_EXPORT_INDENT", "0"),
    ("FEED_STORE_EMPTY", "true"),
    ("FEEDS", "{}"),
    ("FRONTIER_LEASE_TTL", "30"),
    ("FRONTIER_PARTITION", "host"),
    ("HTTPCACHE_DIR", "httpcache"),
    ("HTTPCACHE_ENABLED", "false"),
    ("HTTPCACHE_EXPIRATION_SECS", "0"),
    ("HTTPCACHE_IGNORE_HTTP_CODES", ""),
    ("HTTPERROR_ALLOW_ALL", "false"),
    ("HTTPERROR_ALLOWED_CODES", ""),
    ("HTTPPROXY_ENABLED", "true"),
    ("HTTP_PROXY", ""),
    ("HTTPS_PROXY", ""),
    ("HTTP_USER", ""),
    ("HTTP_PASS", ""),
    ("HTTP_AUTH_DOMAIN", ""),
    ("ITEM_PIPELINES", "{}"),
    ("JOBDIR", ""),
    ("LOG_LEVEL", "DEBUG"),
    ("LOGSTATS_INTERVAL", "60"),
    ("METAREFRESH_ENABLED", "true"),
    ("METAREFRESH_MAXDELAY", "100"),
    ("RANDOMIZE_DOWNLOAD_DELAY", "true"),
    ("REDIRECT_ENABLED", "true"),
    ("REDIRECT_MAX_TIMES", "20"),
    ("REDIRECT_PRIORITY_ADJUST", "2"),
    ("REFERER_ENABLED", "true"),
    ("RETRY_ENABLED", "true"),
    ("RETRY_HTTP_CODES", "500,502,503,504,522,524,408,429"),
    ("RETRY_PRIORITY_ADJUST", "-1"),
    ("RETRY_TIMES", "2"),
    ("ROBOTSTXT_OBEY", "false"),
    ("ROBOTSTXT_USER_AGENT", ""),
    ("SCHEDULER_DEBUG", "false"),
    ("SCHEDULER_MEMORY_QUEUE", "lifo"),
    ("SPIDER_MIDDLEWARES", "{}"),
    ("STATS_DUMP", "true"),
    ("URLLENGTH_LIMIT", "2083"),
    (
        "USER_AGENT",
        "Trawl/0.1 (+https://github.com/trawl-rs/trawl)",
    ),
];

/// A bad setting value, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("setting {name}: {message}")]
pub struct SettingError {
    /// The setting's name.
    pub name: String,
    /// What is wrong with its value.
    pub message: String,
}

/// A set of named settings, each remembering the priority it was set at.
#[derive(Debug, Clone)]
pub struct Settings {
    values: HashMap<String, (Value, Priority)>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::new()
    }
}

impl Settings {
    /// Settings holding Scrapy's defaults.
    pub fn new() -> Self {
        let values = DEFAULTS
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    (Value::String(v.to_string()), Priority::Default),
                )
            })
            .collect();
        Settings { values }
    }

    /// Sets `name` unless it already holds a value of a higher priority.
    pub fn set(&mut self, name: &str, value: impl Into<Value>, priority: Priority) {
        match self.values.get(name) {
            Some((_, p)) if *p > priority => {}
            _ => {
                self.values
                    .insert(name.to_string(), (value.into(), priority));
            }
        }
    }

    /// Sets every key of a JSON/TOML object at `priority`.
    pub fn set_all(&mut self, values: &Map<String, Value>, priority: Priority) {
        for (k, v) in values {
            self.set(k, v.clone(), priority);
        }
    }

    /// Parses `NAME=VALUE` (as given to `-s`) and sets it at `priority`.
    pub fn set_pair(&mut self, pair: &str, priority: Priority) -> Result<(), SettingError> {
        let (name, value) = pair.split_once('=').ok_or_else(|| SettingError {
            name: pair.to_string(),
            message: "expected NAME=VALUE".into(),
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(SettingError {
                name: pair.to_string(),
                message: "empty setting name".into(),
            });
        }
        self.set(name, Value::String(value.to_string()), priority);
        Ok(())
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).map(|(v, _)| v)
    }

    /// The priority `name` was set at.
    pub fn priority(&self, name: &str) -> Option<Priority> {
        self.values.get(name).map(|(_, p)| *p)
    }

    /// Names that were set but are not settings the engine knows: likely typos.
    pub fn unknown_names(&self) -> Vec<String> {
        let mut unknown: Vec<String> = self
            .values
            .keys()
            .filter(|k| !DEFAULTS.iter().any(|(d, _)| d == k))
            .cloned()
            .collect();
        unknown.sort();
        unknown
    }

    fn err(name: &str, message: impl Into<String>) -> SettingError {
        SettingError {
            name: name.to_string(),
            message: message.into(),
        }
    }

    /// A boolean: `true`/`false`, `1`/`0`, `yes`/`no` (any case).
    pub fn get_bool(&self, name: &str) -> Result<bool, SettingError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_f64() != Some(0.0)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" | "" => Ok(false),
                other => Err(Self::err(
                    name,
                    format!("expected a boolean, got {other:?}"),
                )),
            },
            Some(other) => Err(Self::err(name, format!("expected a boolean, got {other}"))),
        }
    }

    /// A float (seconds, ratios).
    pub fn get_f64(&self, name: &str) -> Result<f64, SettingError> {
        let v = match self.get(name) {
            None | Some(Value::Null) => return Ok(0.0),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) if s.trim().is_empty() => Some(0.0),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(f) if f.is_finite() => Ok(f),
            _ => Err(Self::err(
                name,
                format!("expected a number, got {}", self.get(name).unwrap()),
            )),
        }
    }

    /// A non-negative integer.
    pub fn get_u64(&self, name: &str) -> Result<u64, SettingError> {
        let f = self.get_f64(name)?;
        if f < 0.0 || f.fract() != 0.0 {
            return Err(Self::err(
                name,
                format!("expected a non-negative integer, got {f}"),
            ));
        }
        Ok(f as u64)
    }

    /// A non-negative integer as `usize`.
    pub fn get_usize(&self, name: &str) -> Result<usize, SettingError> {
        Ok(self.get_u64(name)? as usize)
    }

    /// A duration given in (fractional) seconds.
    pub fn get_duration(&self, name: &str) -> Result<Duration, SettingError> {
        let f = self.get_f64(name)?;
        if f < 0.0 {
            return Err(Self::err(name, "expected a non-negative number of seconds"));
        }
        Ok(Duration::from_secs_f64(f))
    }

    /// A string (numbers and booleans are rendered).
    pub fn get_str(&self, name: &str) -> String {
        match self.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// A list: a JSON array, or a comma-separated string.
    pub fn get_list(&self, name: &str) -> Result<Vec<String>, SettingError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()),
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.starts_with('[') {
                    let parsed: Vec<Value> = serde_json::from_str(t)
                        .map_err(|e| Self::err(name, format!("invalid JSON list: {e}")))?;
                    return Ok(parsed
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        })
                        .collect());
                }
                Ok(t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect())
            }
            Some(other) => Ok(vec![other.to_string()]),
        }
    }

    /// A list of integers (status codes).
    pub fn get_u16_list(&self, name: &str) -> Result<Vec<u16>, SettingError> {
        self.get_list(name)?
            .iter()
            .map(|s| {
                s.parse::<u16>()
                    .map_err(|_| Self::err(name, format!("expected integers, got {s:?}")))
            })
            .collect()
    }

    /// An object: a JSON/TOML table, or a string holding a JSON object.
    pub fn get_map(&self, name: &str) -> Result<Map<String, Value>, SettingError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map_err(|e| Self::err(name, format!("expected a JSON object: {e}"))),
            Some(other) => Err(Self::err(name, format!("expected an object, got {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_priority_wins_regardless_of_order() {
        let mut s = Settings::new();
        s.set("CONCURRENT_REQUESTS", 64, Priority::Cmdline);
        s.set("CONCURRENT_REQUESTS", 32, Priority::Spider);
        assert_eq!(s.get_u64("CONCURRENT_REQUESTS").unwrap(), 64);
        assert_eq!(s.priority("CONCURRENT_REQUESTS"), Some(Priority::Cmdline));
    }

    #[test]
    fn typed_getters_parse_strings() {
        let mut s = Settings::new();
        s.set_pair("DOWNLOAD_DELAY=0.25", Priority::Cmdline)
            .unwrap();
        s.set_pair("ROBOTSTXT_OBEY=True", Priority::Cmdline)
            .unwrap();
        assert_eq!(s.get_f64("DOWNLOAD_DELAY").unwrap(), 0.25);
        assert!(s.get_bool("ROBOTSTXT_OBEY").unwrap());
        assert_eq!(
            s.get_u16_list("RETRY_HTTP_CODES").unwrap(),
            vec![500, 502, 503, 504, 522, 524, 408, 429]
        );
        assert_eq!(
            s.get_map("DEFAULT_REQUEST_HEADERS").unwrap()["Accept-Language"],
            "en"
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        let mut s = Settings::new();
        s.set_pair("CONCURRENT_REQUESTS=lots", Priority::Cmdline)
            .unwrap();
        let e = s.get_u64("CONCURRENT_REQUESTS").unwrap_err();
        assert!(e.to_string().contains("CONCURRENT_REQUESTS"), "{e}");
        assert!(s.set_pair("NOEQUALS", Priority::Cmdline).is_err());
    }

    #[test]
    fn unknown_names_are_reported() {
        let mut s = Settings::new();
        s.set("CONCURENT_REQUESTS", 3, Priority::Cmdline);
        assert_eq!(s.unknown_names(), vec!["CONCURENT_REQUESTS".to_string()]);
    }
}
