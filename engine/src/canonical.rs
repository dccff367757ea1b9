//! URL canonicalisation, as w3lib's `canonicalize_url`: shared by the link extractor
//! (`canonicalize = true`) and the request fingerprint.

use url::{form_urlencoded, Url};

/// A canonical form of `url` for comparison and fingerprinting.
///
/// - query arguments sorted by name then value (blank values kept; `?` dropped when the
///   query is empty), re-encoded with `+` for spaces and uppercase percent-escapes;
/// - fragment dropped;
/// - path percent-encoding normalised: escapes of unreserved characters
///   (`A-Z a-z 0-9 - . _ ~`) decoded, other escapes uppercased;
/// - scheme and host lowercased and default ports dropped (done by [`Url`] parsing).
///
/// Query bytes that are not valid UTF-8 after percent-decoding become U+FFFD.
pub fn canonicalize_url(url: &Url) -> String {
    let mut out = String::with_capacity(url.as_str().len());
    // Everything up to the path: scheme, credentials, host, port.
    out.push_str(&url[..url::Position::BeforePath]);
    normalize_path(url.path(), &mut out);
    if let Some(q) = url.query() {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if !pairs.is_empty() {
            pairs.sort();
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                ser.append_pair(k, v);
            }
            out.push('?');
            out.push_str(&ser.finish());
        }
    }
    out
}

fn normalize_path(path: &str, out: &mut String) {
    if path.is_empty() {
        out.push('/');
        return;
    }
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let byte = h * 16 + l;
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(byte as char);
                } else {
                    out.push('%');
                    out.push(b[i + 1].to_ascii_uppercase() as char);
                    out.push(b[i + 2].to_ascii_uppercase() as char);
                }
                i += 3;
                continue;
            }
        }
        // The path of a parsed Url is ASCII.
        out.push(b[i] as char);
        i += 1;
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonicalize_url(&Url::parse(s).unwrap())
    }

    #[test]
    fn sorts_query_and_drops_fragment() {
        assert_eq!(
            canon("http://www.example.com/do?c=3&b=5&b=2&a=50#frag"),
            "http://www.example.com/do?a=50&b=2&b=5&c=3"
        );
    }

    #[test]
    fn keeps_blank_values_and_drops_empty_query() {
        assert_eq!(
            canon("http://example.com/?b=&a=1"),
            "http://example.com/?a=1&b="
        );
        assert_eq!(canon("http://example.com/path?"), "http://example.com/path");
        assert_eq!(canon("http://example.com"), "http://example.com/");
    }

    #[test]
    fn normalises_percent_encoding_and_case() {
        assert_eq!(
            canon("HTTP://Example.COM:80/%7euser/a%2fb%41?q=a%20b"),
            "http://example.com/~user/a%2FbA?q=a+b"
        );
        assert_eq!(
            canon("http://example.com/a b/ü"),
            "http://example.com/a%20b/%C3%BC"
        );
    }

    #[test]
    fn equivalent_urls_canonicalise_equal() {
        assert_eq!(
            canon("https://example.com/x?b=2&a=1"),
            canon("https://EXAMPLE.com:443/x?a=1&b=2#top")
        );
        assert_ne!(
            canon("https://example.com/x?a=1"),
            canon("https://example.com/x?a=2")
        );
    }

    #[test]
    fn truncated_escape_is_kept() {
        assert_eq!(canon("http://example.com/a%2"), "http://example.com/a%2");
    }
}
