//! Crawl statistics under Scrapy's key names (`downloader/request_count`, ...).

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde_json::{Map, Value};

/// A crawl's errors as its progress line and summary report them: download errors
/// (not requests a middleware dropped on purpose: offsite, robots.txt) plus spider
/// errors, from `get` (a stat by name, 0 when absent).
pub fn error_count(get: impl Fn(&str) -> i64) -> i64 {
    get("downloader/exception_count") - get("downloader/exception_type_count/IgnoreRequest")
        + get("spider_exceptions/count")
}

/// A thread-safe stats collector, as Scrapy's `MemoryStatsCollector`.
#[derive(Debug, Default)]
pub struct Stats {
    values: Mutex<BTreeMap<String, Value>>,
}

impl Stats {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by` to the integer at `key` (starting from 0).
    pub fn inc(&self, key: &str, by: i64) {
        let mut v = self.values.lock();
        match v.get_mut(key) {
            Some(Value::Number(n)) => {
                let cur = n.as_i64().unwrap_or(0);
                *n = (cur + by).into();
            }
            _ => {
                v.insert(key.to_string(), by.into());
            }
        }
    }

    /// Adds 1 to each of `keys`, under one lock.
    pub fn inc_many(&self, keys: &[&str]) {
        let mut v = self.values.lock();
        for key in keys {
            match v.get_mut(*key) {
                Some(Value::Number(n)) => {
                    let cur = n.as_i64().unwrap_or(0);
                    *n = (cur + 1).into();
                }
                _ => {
                    v.insert(key.to_string(), 1.into());
                }
            }
        }
    }

    /// Keeps the larger of the stored integer and `value`.
    pub fn max(&self, key: &str, value: i64) {
        let mut v = self.values.lock();
        let cur = v.get(key).and_then(Value::as_i64);
        if cur.is_none_or(|c| value > c) {
            v.insert(key.to_string(), value.into());
        }
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: impl Into<Value>) {
        self.values.lock().insert(key.to_string(), value.into());
    }

    /// The integer at `key` (0 when absent).
    pub fn get_i64(&self, key: &str) -> i64 {
        self.values
            .lock()
            .get(key)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.values.lock().get(key).cloned()
    }

    /// A sorted copy of every stat.
    pub fn snapshot(&self) -> Map<String, Value> {
        self.values
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_max() {
        let s = Stats::new();
        s.inc("a", 2);
        s.inc_many(&["a", "b"]);
        s.max("depth", 3);
        s.max("depth", 1);
        assert_eq!(s.get_i64("a"), 3);
        assert_eq!(s.get_i64("b"), 1);
        assert_eq!(s.get_i64("depth"), 3);
        assert_eq!(s.snapshot().len(), 3);
    }
}
