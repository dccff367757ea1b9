//! Delivery signatures: `Trawl-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>" keyed with the webhook's secret>`, as Stripe signs its webhooks.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Trawl-Signature";
/// The idempotency key header: the event id.
pub const EVENT_ID_HEADER: &str = "Trawl-Event-Id";
/// The event kind header.
pub const EVENT_TYPE_HEADER: &str = "Trawl-Event-Type";

/// HMAC-SHA256 under `secret`, fed `"{timestamp}.{body}"`.
fn keyed(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
pub fn hmac_hex(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(keyed(secret, timestamp, body).finalize().into_bytes())
}

/// The `Trawl-Signature` value for `body` sent at `timestamp`.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hmac_hex(secret, timestamp, body))
}

/// Checks a `Trawl-Signature` value as a receiver does: a well-formed header, a
/// timestamp within `tolerance_secs` of `now`, and a `v1` signature that matches
/// (compared in constant time).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if now.abs_diff(t) > tolerance_secs.unsigned_abs() {
        return false;
    }
    sigs.iter().any(|s| {
        hex::decode(s).is_ok_and(|bytes| keyed(secret, t, body).verify_slice(&bytes).is_ok())
    })
}
