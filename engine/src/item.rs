//! Scraped items: ordered JSON objects.

/// An item is an ordered JSON object, as a Scrapy dict item.
pub type Item = serde_json::Map<String, serde_json::Value>;

/// A 20-byte fingerprint of an item: SHA-1 of its JSON (fields in their order).
pub fn item_fingerprint(item: &Item) -> [u8; 20] {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    // Serialising a map of JSON values cannot fail.
    h.update(serde_json::to_vec(item).unwrap_or_default());
    h.finalize().into()
}
