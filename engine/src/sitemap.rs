//! Sitemaps for a SitemapSpider: `<urlset>` and `<sitemapindex>` documents, gzip
//! handling and `Sitemap:` lines of robots.txt.
//!
//! Parsing is namespace-agnostic (element local names only), tolerant of whitespace
//! and never expands entities beyond XML's five predefined ones and character
//! references, so entity-expansion attacks are inert.

use std::borrow::Cow;
use std::io::Read;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use url::Url;

use crate::bounded::BoundedBuf;

/// One `<url>` of a `<urlset>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SitemapEntry {
    /// The page URL (`<loc>`), whitespace-trimmed.
    pub loc: String,
    /// `<lastmod>`, as written.
    pub lastmod: Option<String>,
    /// `href`s of `<xhtml:link rel="alternate">` children (Scrapy's `alternate`).
    pub alternates: Vec<String>,
}

/// A parsed sitemap document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// A `<urlset>`: pages.
    UrlSet(Vec<SitemapEntry>),
    /// A `<sitemapindex>`: URLs of further sitemaps.
    Index(Vec<String>),
}

/// Why a sitemap could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SitemapError {
    /// The body is not well-formed XML.
    #[error("sitemap is not well-formed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset where parsing stopped.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// The root element is neither `urlset` nor `sitemapindex`.
    #[error("not a sitemap: root element is <{0}>, expected <urlset> or <sitemapindex>")]
    NotASitemap(String),
    /// The document has no root element.
    #[error("not a sitemap: empty document")]
    Empty,
    /// Decompressed data would exceed the allowed size.
    #[error("gzipped sitemap from {url} exceeds {max_size} bytes once decompressed")]
    TooLarge {
        /// Where the body came from.
        url: String,
        /// The limit.
        max_size: usize,
    },
    /// The gzip stream is corrupt.
    #[error("cannot gunzip sitemap from {url}: {source}")]
    Gzip {
        /// Where the body came from.
        url: String,
        /// The decoder's error.
        source: std::io::Error,
    },
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Field {
    None,
    Loc,
    Lastmod,
}

/// Parses a `<urlset>` or `<sitemapindex>` document.
pub fn parse_sitemap(body: &[u8]) -> Result<Sitemap, SitemapError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut root: Option<bool> = None; // Some(true) = index
    let mut depth = 0usize;
    let mut entries: Vec<SitemapEntry> = Vec::new();
    let mut index: Vec<String> = Vec::new();
    let mut current: Option<SitemapEntry> = None;
    let mut field = Field::None;
    let mut text = String::new();
    let xml_err = |reader: &Reader<&[u8]>, e: &dyn std::fmt::Display| SitemapError::Xml {
        position: reader.error_position(),
        message: e.to_string(),
    };
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_err(&reader, &e))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.local_name();
                let name = name.as_ref();
                if root.is_none() {
                    root = Some(match name {
                        b"urlset" => false,
                        b"sitemapindex" => true,
                        other => {
                            return Err(SitemapError::NotASitemap(
                                String::from_utf8_lossy(other).into_owned(),
                            ))
                        }
                    });
                } else if depth == 1 && (name == b"url" || name == b"sitemap") {
                    current = Some(SitemapEntry::default());
                } else if depth == 2 && current.is_some() {
                    match name {
                        b"loc" => field = Field::Loc,
                        b"lastmod" => field = Field::Lastmod,
                        b"link" => {
                            if let Some(href) = alternate_href(e) {
                                if let Some(c) = current.as_mut() {
                                    c.alternates.push(href);
                                }
                            }
                        }
                        _ => {}
                    }
                    text.clear();
                }
                if !empty {
                    depth += 1;
                } else if depth == 1 {
                    // `<url/>`: nothing to record
                    current = None;
                } else {
                    field = Field::None;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 2 && field != Field::None {
                    let value = text.trim().to_string();
                    if let Some(c) = current.as_mut() {
                        match field {
                            Field::Loc => c.loc = value,
                            Field::Lastmod => c.lastmod = (!value.is_empty()).then_some(value),
                            Field::None => {}
                        }
                    }
                    field = Field::None;
                } else if depth == 1 {
                    if let Some(c) = current.take() {
                        if !c.loc.is_empty() {
                            if root == Some(true) {
                                index.push(c.loc);
                            } else {
                                entries.push(c);
                            }
                        }
                    }
                }
            }
            Event::Text(t) if field != Field::None => {
                text.push_str(&t.decode().map_err(|e| xml_err(&reader, &e))?);
            }
            Event::CData(t) if field != Field::None => {
                text.push_str(&t.decode().map_err(|e| xml_err(&reader, &e))?);
            }
            Event::GeneralRef(r) if field != Field::None => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| xml_err(&reader, &e))?;
                    if let Some(v) = quick_xml::escape::resolve_predefined_entity(&name) {
                        text.push_str(v);
                    }
                    // Other entities are dropped, never expanded.
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    match root {
        None => Err(SitemapError::Empty),
        Some(true) => Ok(Sitemap::Index(index)),
        Some(false) => Ok(Sitemap::UrlSet(entries)),
    }
}

/// The `href` of a `<link rel="alternate" href="...">`.
fn alternate_href(e: &BytesStart<'_>) -> Option<String> {
    let mut rel_alt = false;
    let mut href = None;
    for a in e.attributes().flatten() {
        match a.key.local_name().as_ref() {
            b"rel" => rel_alt = a.unescape_value().ok()?.trim() == "alternate",
            b"href" => href = Some(a.unescape_value().ok()?.trim().to_string()),
            _ => {}
        }
    }
    if rel_alt {
        href
    } else {
        None
    }
}

/// Gunzips `body` when it starts with the gzip magic bytes (whatever `url` or
/// `content_type` say), refusing to produce more than `max_size` bytes. Other bodies
/// are returned as they are.
pub fn maybe_gunzip<'a>(
    body: &'a [u8],
    url: &str,
    content_type: Option<&str>,
    max_size: usize,
) -> Result<Cow<'a, [u8]>, SitemapError> {
    let _ = content_type; // gzip is recognised by content, which headers can misstate
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(body));
    }
    // Decoded in chunks into a buffer that never grows past `max_size` (`read_to_end`
    // doubles its capacity, up to twice the limit).
    let mut out = BoundedBuf::new(max_size as u64, body.len().saturating_mul(4) as u64);
    let mut decoder = flate2::read::MultiGzDecoder::new(body);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|source| SitemapError::Gzip {
                url: url.to_string(),
                source,
            })?;
        if n == 0 {
            break;
        }
        if max_size == 0 || out.push(&chunk[..n]).is_err() {
            return Err(SitemapError::TooLarge {
                url: url.to_string(),
                max_size,
            });
        }
    }
    let out = out.into_vec();
    Ok(Cow::Owned(out))
}

/// URLs of the `Sitemap:` lines of a robots.txt (any case, any group), resolved
/// against `base`; empty and invalid ones are skipped.
pub fn sitemap_urls_from_robots(robots_txt: &str, base: &Url) -> Vec<Url> {
    robots_txt
        .lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("").trim();
            let (key, value) = line.split_once(':')?;
            let value = value.trim();
            if !key.trim().eq_ignore_ascii_case("sitemap") || value.is_empty() {
                return None;
            }
            base.join(value).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <url>
    <loc>
      https://example.com/a?x=1&amp;y=2
    </loc>
    <lastmod>2024-01-02</lastmod>
    <xhtml:link rel="alternate" hreflang="de" href="https://example.com/de/a"/>
    <xhtml:link rel="alternate" hreflang="fr" href="https://example.com/fr/a"/>
  </url>
  <url><loc><![CDATA[https://example.com/b]]></loc><priority>0.5</priority></url>
  <url><lastmod>2024-01-01</lastmod></url>
</urlset>"#;

    #[test]
    fn parses_urlset_with_alternates_and_cdata() {
        let Sitemap::UrlSet(entries) = parse_sitemap(URLSET.as_bytes()).unwrap() else {
            panic!("expected a urlset");
        };
        assert_eq!(entries.len(), 2, "entry without <loc> is skipped");
        assert_eq!(entries[0].loc, "https://example.com/a?x=1&y=2");
        assert_eq!(entries[0].lastmod.as_deref(), Some("2024-01-02"));
        assert_eq!(
            entries[0].alternates,
            vec!["https://example.com/de/a", "https://example.com/fr/a"]
        );
        assert_eq!(entries[1].loc, "https://example.com/b");
        assert_eq!(entries[1].lastmod, None);
    }

    #[test]
    fn parses_index_without_namespace() {
        let xml = "<sitemapindex>\n <sitemap><loc>https://example.com/s1.xml.gz</loc>\
                   <lastmod>2024</lastmod></sitemap>\n <sitemap>\n<loc> https://example.com/s2.xml </loc></sitemap></sitemapindex>";
        assert_eq!(
            parse_sitemap(xml.as_bytes()).unwrap(),
            Sitemap::Index(vec![
                "https://example.com/s1.xml.gz".into(),
                "https://example.com/s2.xml".into()
            ])
        );
    }

    #[test]
    fn prefixed_namespace_is_accepted() {
        let xml = r#"<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:url><sm:loc>https://e.com/x</sm:loc></sm:url></sm:urlset>"#;
        let Sitemap::UrlSet(e) = parse_sitemap(xml.as_bytes()).unwrap() else {
            panic!("expected a urlset")
        };
        assert_eq!(e[0].loc, "https://e.com/x");
    }

    #[test]
    fn entities_are_not_expanded() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY boom "https://evil.example/">]>
<urlset><url><loc>&boom;page&#33;</loc></url></urlset>"#;
        let Sitemap::UrlSet(e) = parse_sitemap(xml.as_bytes()).unwrap() else {
            panic!("expected a urlset")
        };
        assert_eq!(e[0].loc, "page!");
    }

    #[test]
    fn rejects_non_sitemaps_and_broken_xml() {
        let e = parse_sitemap(b"<html><body>hi</body></html>").unwrap_err();
        assert!(
            matches!(e, SitemapError::NotASitemap(ref r) if r == "html"),
            "{e}"
        );
        assert!(e.to_string().contains("<html>"));
        assert!(matches!(
            parse_sitemap(b"  ").unwrap_err(),
            SitemapError::Empty
        ));
        let e = parse_sitemap(b"<urlset><url><loc>x</lo></url></urlset>").unwrap_err();
        assert!(matches!(e, SitemapError::Xml { .. }), "{e}");
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gunzips_by_magic_bytes() {
        let gz = gzip(URLSET.as_bytes());
        let out =
            maybe_gunzip(&gz, "https://e.com/s.xml", Some("application/xml"), 1 << 20).unwrap();
        assert_eq!(&*out, URLSET.as_bytes());
        assert!(matches!(parse_sitemap(&out).unwrap(), Sitemap::UrlSet(e) if e.len() == 2));
        let plain = maybe_gunzip(b"<urlset/>", "https://e.com/s.xml.gz", None, 10).unwrap();
        assert!(matches!(plain, Cow::Borrowed(b"<urlset/>")));
    }

    #[test]
    fn gunzip_is_bounded() {
        let bomb = gzip(&vec![b'a'; 100_000]);
        assert!(bomb.len() < 1_000);
        let e = maybe_gunzip(&bomb, "https://e.com/bomb.gz", None, 10_000).unwrap_err();
        assert!(
            matches!(
                e,
                SitemapError::TooLarge {
                    max_size: 10_000,
                    ..
                }
            ),
            "{e}"
        );
        assert!(maybe_gunzip(&bomb, "u", None, 100_000).is_ok());
        let mut corrupt = gzip(b"hello world");
        corrupt.truncate(12);
        assert!(matches!(
            maybe_gunzip(&corrupt, "u", None, 100).unwrap_err(),
            SitemapError::Gzip { .. }
        ));
    }

    #[test]
    fn robots_sitemap_lines() {
        let robots = "User-agent: *\nDisallow: /private\nSitemap: https://example.com/sitemap.xml\n\
                      sitemap:/relative-map.xml # comment\nSITEMAP :  https://cdn.example.com/s.xml.gz\nSitemap:\n";
        let base = Url::parse("https://example.com/robots.txt").unwrap();
        let urls: Vec<String> = sitemap_urls_from_robots(robots, &base)
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            urls,
            vec![
                "https://example.com/sitemap.xml",
                "https://example.com/relative-map.xml",
                "https://cdn.example.com/s.xml.gz",
            ]
        );
    }
}
