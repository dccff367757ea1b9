//! Attribute encodings shared by the item conversions.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use trawl_core::ports::{StoreError, StoreResult};

use super::Item;

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A time as a number of microseconds since the epoch.
pub fn time(t: DateTime<Utc>) -> AttributeValue {
    n(t.timestamp_micros())
}

/// A JSON string of a string map.
pub fn map(m: &BTreeMap<String, String>) -> StoreResult<AttributeValue> {
    serde_json::to_string(m)
        .map(AttributeValue::S)
        .map_err(StoreError::backend)
}

/// Inserts `value` under `name` when it is `Some`.
pub fn put_opt(item: &mut Item, name: &str, value: Option<AttributeValue>) {
    if let Some(v) = value {
        item.insert(name.to_string(), v);
    }
}

fn bad(name: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("dynamodb item: attribute {name:?}: {what}"))
}

/// A required string attribute.
pub fn get_s(item: &Item, name: &str) -> StoreResult<String> {
    opt_s(item, name)?.ok_or_else(|| bad(name, "missing"))
}

/// An optional string attribute.
pub fn opt_s(item: &Item, name: &str) -> StoreResult<Option<String>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(bad(name, "not a string")),
    }
}

/// An optional number attribute.
pub fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<Option<T>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| bad(name, &format!("bad number {v:?}"))),
        Some(_) => Err(bad(name, "not a number")),
    }
}

/// A required number attribute.
pub fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<T> {
    opt_n(item, name)?.ok_or_else(|| bad(name, "missing"))
}

/// An optional time attribute (microseconds).
pub fn opt_time(item: &Item, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    match opt_n::<i64>(item, name)? {
        None => Ok(None),
        Some(us) => DateTime::from_timestamp_micros(us)
            .map(Some)
            .ok_or_else(|| bad(name, "time out of range")),
    }
}

/// A required time attribute.
pub fn get_time(item: &Item, name: &str) -> StoreResult<DateTime<Utc>> {
    opt_time(item, name)?.ok_or_else(|| bad(name, "missing"))
}

/// A string map stored as JSON.
pub fn get_map(item: &Item, name: &str) -> StoreResult<BTreeMap<String, String>> {
    let text = get_s(item, name)?;
    serde_json::from_str(&text).map_err(|e| bad(name, &e.to_string()))
}

/// A priority stored as a string (exact round trip); must be finite.
pub fn priority(p: f64) -> StoreResult<AttributeValue> {
    if p.is_finite() {
        Ok(s(p.to_string()))
    } else {
        Err(StoreError::Corrupt(format!(
            "priority must be a finite number, not {p}"
        )))
    }
}

/// Reads [`priority`]'s encoding.
pub fn get_priority(item: &Item, name: &str) -> StoreResult<f64> {
    let text = get_s(item, name)?;
    text.parse()
        .map_err(|_| bad(name, &format!("bad priority {text:?}")))
}
