//! Request fingerprints: SHA-1 over method, canonical URL and body, as Scrapy's.

use sha1::{Digest, Sha1};

use crate::request::Request;

/// A fixed-size request fingerprint (20 bytes), cheap to store by the million.
pub type Fingerprint = [u8; 20];

/// The fingerprint of `request`: SHA-1 over the method, the canonical URL (query
/// arguments sorted, fragment dropped, percent-encoding normalised) and the body.
pub fn fingerprint(request: &Request) -> Fingerprint {
    let mut h = Sha1::new();
    h.update(request.method.as_str().as_bytes());
    h.update(b"\n");
    h.update(crate::canonical::canonicalize_url(&request.url).as_bytes());
    h.update(b"\n");
    h.update(&request.body);
    h.finalize().into()
}

/// Lower-case hex of a fingerprint (cache file names, logs).
pub fn to_hex(fp: &Fingerprint) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(40);
    for b in fp {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_urls_share_a_fingerprint() {
        let a = Request::parse("http://example.com/p?b=2&a=1#frag").unwrap();
        let b = Request::parse("http://example.com/p?a=1&b=2").unwrap();
        let c = Request::parse("http://example.com/p?a=1&b=3").unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
        let post = b.clone().method(http::Method::POST);
        assert_ne!(fingerprint(&post), fingerprint(&b));
        let body = post.clone().body("x=1");
        assert_ne!(fingerprint(&post), fingerprint(&body));
        assert_eq!(to_hex(&fingerprint(&a)).len(), 40);
    }
}
