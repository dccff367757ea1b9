//! Scraped items: ordered JSON objects.

/// An item is an ordered JSON object, as a Scrapy dict item.
pub type Item = serde_json::Map<String, serde_json::Value>;
