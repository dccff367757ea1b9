//! Feed export tests.

mod config;
mod deferred;
mod export;
mod sink;

use serde_json::json;

use crate::Item;

/// Builds an item from a JSON object literal.
pub(super) fn item(v: serde_json::Value) -> Item {
    match v {
        serde_json::Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// Two items covering unicode, nesting, lists, escaping and missing fields.
pub(super) fn items() -> Vec<Item> {
    vec![
        item(
            json!({"title": "Café ☕", "price": 12.5, "tags": ["a", "b"], "meta": {"k": 1, "n": null}}),
        ),
        item(json!({"title": "A \"quoted\", <tag> & co\nline2", "price": 3, "in_stock": true})),
    ]
}
