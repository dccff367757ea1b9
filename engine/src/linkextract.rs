//! Link extraction (placeholder until the link extractor lands).

use url::Url;

/// The canonical form of `url` used by fingerprints: fragment dropped, query sorted.
pub fn canonicalize_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    if let Some(q) = url.query() {
        let mut pairs: Vec<&str> = q.split('&').collect();
        pairs.sort_unstable();
        u.set_query(Some(&pairs.join("&")));
    }
    u.to_string()
}
