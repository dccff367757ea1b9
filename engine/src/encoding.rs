//! Text decoding of response bodies, in the order Scrapy (w3lib's `html_to_unicode`) uses:
//!
//! 1. a byte-order mark (UTF-8, UTF-16LE, UTF-16BE);
//! 2. the `charset` parameter of the `Content-Type` header;
//! 3. a `<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">`
//!    within the first [`META_SNIFF_LIMIT`] bytes, or an XML declaration's `encoding`;
//! 4. UTF-8 when the body is valid UTF-8, else the encoding detected from the bytes
//!    (`chardetng`, Firefox's detector for undeclared legacy content: Shift_JIS, GBK,
//!    EUC-KR, windows-125x, ...).
//!
//! Labels are resolved by [`encoding_rs::Encoding::for_label`] (WHATWG labels, so
//! `latin1`, `iso-8859-1` and `ascii` all mean windows-1252, `gbk`, `shift_jis`, ...).
//! Valid UTF-8 with no declaration is returned borrowed, without a copy.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// How many leading bytes are scanned for a `<meta>` charset declaration.
pub const META_SNIFF_LIMIT: usize = 4096;

/// Decodes `body` to text and reports the encoding used.
///
/// Order: BOM, `charset` from `content_type`, `<meta>` declaration in the first 4 KB,
/// then UTF-8, else the detected encoding (see the module notes). Malformed sequences are
/// replaced by U+FFFD; the result borrows `body` when no conversion is needed.
pub fn decode_html<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
) -> (Cow<'a, str>, &'static Encoding) {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let rest = &body[bom_len..];
        return (decode_with(enc, rest), enc);
    }
    let declared = content_type
        .and_then(charset_from_content_type)
        .and_then(label_to_encoding)
        .or_else(|| sniff_meta_charset(body));
    match declared {
        Some(enc) => (decode_with(enc, body), enc),
        None => match std::str::from_utf8(body) {
            Ok(s) => (Cow::Borrowed(s), UTF_8),
            Err(_) => {
                let enc = detect(body);
                (decode_with(enc, body), enc)
            }
        },
    }
}

/// The most bytes given to the detector: enough for a confident guess, and a bound
/// on its cost for huge bodies.
const DETECT_LIMIT: usize = 64 * 1024;

/// Guesses the legacy encoding of a body that is not valid UTF-8.
fn detect(body: &[u8]) -> &'static Encoding {
    let sample = &body[..body.len().min(DETECT_LIMIT)];
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, sample.len() == body.len());
    detector.guess(None, chardetng::Utf8Detection::Deny)
}

/// Decodes `bytes` (with no BOM) using `enc`, borrowing when possible.
fn decode_with<'a>(enc: &'static Encoding, bytes: &'a [u8]) -> Cow<'a, str> {
    if enc == UTF_8 {
        return String::from_utf8_lossy(bytes);
    }
    enc.decode_without_bom_handling(bytes).0
}

/// Resolves a charset label; UTF-16 declared in a document means UTF-8 (HTML spec),
/// since a real UTF-16 body would have been caught by its BOM.
fn label_to_encoding(label: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(
        label
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .as_bytes(),
    )?;
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return Some(UTF_8);
    }
    if enc == encoding_rs::REPLACEMENT {
        return None;
    }
    Some(enc)
}

/// The `charset` parameter of a `Content-Type` header value, if any.
pub fn charset_from_content_type(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("charset") {
            let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            (!v.is_empty()).then_some(v)
        } else {
            None
        }
    })
}

/// Finds a charset declared by a `<meta>` tag in the first [`META_SNIFF_LIMIT`] bytes.
fn sniff_meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(META_SNIFF_LIMIT)];
    if let Some(enc) = xml_declaration_encoding(head) {
        return Some(enc);
    }
    let mut i = 0;
    while let Some(off) = find_ci(&head[i..], b"<meta") {
        let start = i + off + 5;
        // Must be followed by whitespace or '/' to be a meta tag (not <metadata>).
        match head.get(start) {
            Some(c) if c.is_ascii_whitespace() || *c == b'/' => {}
            _ => {
                i = start;
                continue;
            }
        }
        let end = head[start..]
            .iter()
            .position(|&c| c == b'>')
            .map_or(head.len(), |p| start + p);
        if let Some(enc) = meta_tag_charset(&head[start..end]) {
            return Some(enc);
        }
        i = end;
    }
    None
}

/// The `encoding` of an XML declaration (`<?xml version="1.0" encoding="..."?>`) at the
/// start of the body (after optional whitespace), as w3lib reads it.
fn xml_declaration_encoding(head: &[u8]) -> Option<&'static Encoding> {
    let start = head.iter().position(|c| !c.is_ascii_whitespace())?;
    let rest = head[start..].strip_prefix(b"<?xml")?;
    let end = rest.windows(2).position(|w| w == b"?>")?;
    let attrs = parse_attrs(&rest[..end]);
    let (_, label) = attrs
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(b"encoding"))?;
    label_to_encoding(std::str::from_utf8(label).ok()?)
}

/// Inspects the attributes of one `<meta ...>` tag.
fn meta_tag_charset(attrs: &[u8]) -> Option<&'static Encoding> {
    let mut charset = None;
    let mut content = None;
    let mut http_equiv_ct = false;
    for (name, value) in parse_attrs(attrs) {
        if name.eq_ignore_ascii_case(b"charset") {
            charset = Some(value);
        } else if name.eq_ignore_ascii_case(b"content") {
            content = Some(value);
        } else if name.eq_ignore_ascii_case(b"http-equiv") {
            http_equiv_ct = value.eq_ignore_ascii_case(b"content-type");
        }
    }
    if let Some(cs) = charset {
        return label_to_encoding(std::str::from_utf8(cs).ok()?);
    }
    if http_equiv_ct {
        let content = std::str::from_utf8(content?).ok()?;
        let lower = content.to_ascii_lowercase();
        let pos = lower.find("charset")?;
        let rest = content[pos + 7..].trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        let rest = rest.trim_start_matches(['"', '\'']);
        let end = rest
            .find(|c: char| c == ';' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(rest.len());
        return label_to_encoding(&rest[..end]);
    }
    None
}

/// A forgiving attribute tokenizer for the inside of a tag.
fn parse_attrs(s: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = s.len();
    while i < n {
        while i < n && (s[i].is_ascii_whitespace() || s[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < n && !s[i].is_ascii_whitespace() && s[i] != b'=' && s[i] != b'/' {
            i += 1;
        }
        let name = &s[name_start..i];
        while i < n && s[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value: &[u8] = b"";
        if i < n && s[i] == b'=' {
            i += 1;
            while i < n && s[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < n && (s[i] == b'"' || s[i] == b'\'') {
                let q = s[i];
                i += 1;
                let vs = i;
                while i < n && s[i] != q {
                    i += 1;
                }
                value = &s[vs..i];
                i += 1;
            } else {
                let vs = i;
                while i < n && !s[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = &s[vs..i];
            }
        }
        if name.is_empty() {
            i += 1;
            continue;
        }
        out.push((name, value));
    }
    out
}

/// Case-insensitive search of an ASCII `needle` in `hay`.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1252;

    #[test]
    fn valid_utf8_without_declaration_is_borrowed() {
        let body = "<html><body>héllo</body></html>".as_bytes();
        let (text, enc) = decode_html(body, None);
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(enc, UTF_8);
        assert!(text.contains("héllo"));
    }

    #[test]
    fn utf8_bom_is_stripped_and_wins_over_header() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("<p>ünï</p>".as_bytes());
        let (text, enc) = decode_html(&body, Some("text/html; charset=iso-8859-1"));
        assert_eq!(enc, UTF_8);
        assert_eq!(text, "<p>ünï</p>");
    }

    #[test]
    fn utf16le_bom() {
        let mut body = vec![0xFF, 0xFE];
        for u in "<p>hi</p>".encode_utf16() {
            body.extend_from_slice(&u.to_le_bytes());
        }
        let (text, enc) = decode_html(&body, None);
        assert_eq!(enc, encoding_rs::UTF_16LE);
        assert_eq!(text, "<p>hi</p>");
    }

    #[test]
    fn header_charset_windows_1252() {
        let body = b"<p>caf\xe9 \x93quoted\x94</p>";
        let (text, enc) = decode_html(body, Some("text/html; charset=\"latin1\""));
        assert_eq!(enc, WINDOWS_1252);
        assert_eq!(text, "<p>café \u{201c}quoted\u{201d}</p>");
    }

    #[test]
    fn header_charset_shift_jis() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("<p>日本語</p>");
        let (text, enc) = decode_html(&bytes, Some("text/html;charset=Shift_JIS"));
        assert_eq!(enc, encoding_rs::SHIFT_JIS);
        assert_eq!(text, "<p>日本語</p>");
    }

    #[test]
    fn meta_charset_gbk() {
        let (bytes, _, _) =
            encoding_rs::GBK.encode("<html><head><meta charset=\"gbk\"></head><body>中文</body>");
        let (text, enc) = decode_html(&bytes, Some("text/html"));
        assert_eq!(enc, encoding_rs::GBK);
        assert!(text.contains("中文"));
    }

    #[test]
    fn meta_http_equiv_shift_jis() {
        let html = "<html><head><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=shift_jis\"></head><body>テスト</body>";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(html);
        let (text, enc) = decode_html(&bytes, None);
        assert_eq!(enc, encoding_rs::SHIFT_JIS);
        assert!(text.contains("テスト"));
    }

    #[test]
    fn header_beats_meta() {
        let body = b"<meta charset=\"shift_jis\"><p>caf\xe9</p>";
        let (text, enc) = decode_html(body, Some("text/html; charset=windows-1252"));
        assert_eq!(enc, WINDOWS_1252);
        assert!(text.contains("café"));
    }

    #[test]
    fn meta_beyond_sniff_limit_is_ignored() {
        let mut body = vec![b' '; META_SNIFF_LIMIT + 10];
        body.extend_from_slice(b"<meta charset=\"shift_jis\"><p>ok</p>");
        let (_, enc) = decode_html(&body, None);
        assert_eq!(enc, UTF_8);
    }

    #[test]
    fn invalid_utf8_without_declaration_is_detected() {
        let body = b"<p>Une na\xefve id\xe9e, d\xe9j\xe0 vue \xe0 l'\xe9t\xe9.</p>";
        let (text, enc) = decode_html(body, None);
        assert_eq!(enc, WINDOWS_1252);
        assert_eq!(text, "<p>Une naïve idée, déjà vue à l'été.</p>");
    }

    #[test]
    fn undeclared_shift_jis_served_as_text_plain_is_detected() {
        let source =
            "日本語のテキストです。これはシフトJISで書かれた文書で、文字コードの宣言がありません。";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(source);
        let (text, enc) = decode_html(&bytes, Some("text/plain"));
        assert_eq!(enc, encoding_rs::SHIFT_JIS);
        assert_eq!(text, source);
    }

    #[test]
    fn xml_declaration_names_the_encoding() {
        let (bytes, _, _) = encoding_rs::EUC_JP
            .encode("<?xml version='1.0' encoding='EUC-JP'?><rss><title>日本</title></rss>");
        let (text, enc) = decode_html(&bytes, None);
        assert_eq!(enc, encoding_rs::EUC_JP);
        assert!(text.contains("日本"));
    }

    #[test]
    fn declared_utf8_with_bad_bytes_is_lossy() {
        let body = b"<p>a\xffb</p>";
        let (text, enc) = decode_html(body, Some("text/html; charset=utf-8"));
        assert_eq!(enc, UTF_8);
        assert_eq!(text, "<p>a\u{fffd}b</p>");
    }

    #[test]
    fn unknown_label_is_ignored_and_meta_utf16_means_utf8() {
        let (text, enc) = decode_html(b"<p>x</p>", Some("text/html; charset=bogus-42"));
        assert_eq!(enc, UTF_8);
        assert_eq!(text, "<p>x</p>");
        let (_, enc) = decode_html(b"<meta charset=utf-16><p>x</p>", None);
        assert_eq!(enc, UTF_8);
    }

    #[test]
    fn metadata_tag_is_not_meta() {
        let body = b"<metadata charset=\"shift_jis\"><p>x</p>";
        let (_, enc) = decode_html(body, None);
        assert_eq!(enc, UTF_8);
    }

    #[test]
    fn content_type_charset_parsing() {
        assert_eq!(
            charset_from_content_type("text/html; Charset='GBK' "),
            Some("GBK")
        );
        assert_eq!(charset_from_content_type("text/html"), None);
        assert_eq!(charset_from_content_type("text/html; charset="), None);
    }
}
