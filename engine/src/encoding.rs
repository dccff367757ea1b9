//! Text decoding of response bodies (placeholder until detection lands).

use std::borrow::Cow;

/// Decodes `body` using the charset from `content_type`, a `<meta charset>`, or a BOM.
pub fn decode_html<'a>(
    body: &'a [u8],
    _content_type: Option<&str>,
) -> (Cow<'a, str>, &'static encoding_rs::Encoding) {
    (String::from_utf8_lossy(body), encoding_rs::UTF_8)
}
