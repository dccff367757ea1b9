//! Scrapy's `LinkExtractor`: finds links in a page, resolves and filters them.
//!
//! ```
//! use trawl_engine::linkextract::{LinkExtractor, LinkExtractorConfig};
//! use trawl_engine::select::Page;
//! use url::Url;
//!
//! let cfg: LinkExtractorConfig = serde_json::from_str(r#"{"allow": "/item/"}"#).unwrap();
//! let le = LinkExtractor::new(cfg).unwrap();
//! let base = Url::parse("https://shop.example/list").unwrap();
//! let page = Page::parse(r#"<a href="/item/1">One</a> <a href="/about">About</a>"#);
//! let links = le.extract(&page, &base);
//! assert_eq!(links.len(), 1);
//! assert_eq!(links[0].url.as_str(), "https://shop.example/item/1");
//! ```

use std::collections::HashSet;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Deserializer};
use url::Url;

use crate::select::dom::NodeId;
use crate::select::{Page, Query, SelectError};

pub use crate::canonical::canonicalize_url;

/// File extensions whose links are ignored by default (Scrapy 2.18's `IGNORED_EXTENSIONS`).
pub const IGNORED_EXTENSIONS: &[&str] = &[
    // archives
    "7z", "7zip", "bz2", "rar", "tar", "tar.gz", "xz", "zip", // images
    "mng", "pct", "bmp", "gif", "jpg", "jpeg", "png", "pst", "psp", "tif", "tiff", "ai", "drw",
    "dxf", "eps", "ps", "svg", "cdr", "ico", "webp", // audio
    "mp3", "wma", "ogg", "wav", "ra", "aac", "mid", "au", "aiff", // video
    "3gp", "asf", "asx", "avi", "mov", "mp4", "mpg", "qt", "rm", "swf", "wmv", "m4a", "m4v", "flv",
    "webm", // office suites
    "xls", "xlsm", "xlsx", "xltm", "xltx", "potm", "potx", "ppt", "pptm", "pptx", "pps", "doc",
    "docb", "docm", "docx", "dotm", "dotx", "odt", "ods", "odg", "odp", // other
    "css", "pdf", "exe", "bin", "rss", "dmg", "iso", "apk", "jar", "sh", "rb", "js", "hta", "bat",
    "cpl", "msi", "msp", "py",
];

/// Link extractor settings, as Scrapy's `LinkExtractor(...)` arguments. Every field is
/// optional; list fields also accept a single string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkExtractorConfig {
    /// Regexes; when given, an absolute URL must match one of them.
    #[serde(deserialize_with = "one_or_many")]
    pub allow: Vec<String>,
    /// Regexes; an absolute URL matching any of them is dropped (wins over `allow`).
    #[serde(deserialize_with = "one_or_many")]
    pub deny: Vec<String>,
    /// Only links to these domains or their subdomains.
    #[serde(deserialize_with = "one_or_many")]
    pub allow_domains: Vec<String>,
    /// No links to these domains or their subdomains.
    #[serde(deserialize_with = "one_or_many")]
    pub deny_domains: Vec<String>,
    /// Only look for links inside elements matching these CSS selectors.
    #[serde(deserialize_with = "one_or_many")]
    pub restrict_css: Vec<String>,
    /// Only look for links inside elements matching these XPath expressions.
    #[serde(deserialize_with = "one_or_many")]
    pub restrict_xpaths: Vec<String>,
    /// Tags to take links from (default `a`, `area`).
    #[serde(deserialize_with = "opt_one_or_many")]
    pub tags: Option<Vec<String>>,
    /// Attributes holding the links (default `href`).
    #[serde(deserialize_with = "opt_one_or_many")]
    pub attrs: Option<Vec<String>>,
    /// Canonicalise extracted URLs with [`canonicalize_url`] (default false).
    pub canonicalize: bool,
    /// Drop duplicate links (default true).
    pub unique: Option<bool>,
    /// Extensions to ignore, without dots (default [`IGNORED_EXTENSIONS`]; `[]` keeps all).
    #[serde(deserialize_with = "opt_one_or_many")]
    pub deny_extensions: Option<Vec<String>>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

fn opt_one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    one_or_many(d).map(Some)
}

/// Why a [`LinkExtractorConfig`] was rejected; every message names the field.
#[derive(Debug, thiserror::Error)]
pub enum LinkExtractorError {
    /// A pattern in `allow` or `deny` is not a valid regex.
    #[error("link extractor `{field}`: invalid regex {pattern:?}: {source}")]
    Regex {
        /// `allow` or `deny`.
        field: &'static str,
        /// The pattern as given.
        pattern: String,
        /// The regex compiler's complaint.
        source: regex::Error,
    },
    /// A `restrict_css` / `restrict_xpaths` entry is not a valid selector.
    #[error("link extractor `{field}`: {source}")]
    Selector {
        /// `restrict_css` or `restrict_xpaths`.
        field: &'static str,
        /// The selector error (it quotes the expression).
        source: SelectError,
    },
    /// An entry of a name list (`tags`, `attrs`, domains) is empty.
    #[error("link extractor `{field}`: empty entry")]
    EmptyEntry {
        /// The field with the empty entry.
        field: &'static str,
    },
}

/// One extracted link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Absolute URL, without fragment (canonicalised when configured).
    pub url: Url,
    /// The text of the link element (all descendant text, as found).
    pub text: String,
    /// Whether the element has `rel="nofollow"`.
    pub nofollow: bool,
}

/// A compiled link extractor; build once, run on many pages (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct LinkExtractor {
    allow: Option<RegexSet>,
    deny: Option<RegexSet>,
    allow_domains: Vec<String>,
    deny_domains: Vec<String>,
    restrict: Vec<Query>,
    tags: Vec<String>,
    attrs: Vec<String>,
    canonicalize: bool,
    unique: bool,
    deny_extensions: HashSet<String>,
}

impl LinkExtractor {
    /// Compiles `cfg`; errors name the field and the bad regex or selector.
    pub fn new(cfg: LinkExtractorConfig) -> Result<Self, LinkExtractorError> {
        let allow = regex_set("allow", &cfg.allow)?;
        let deny = regex_set("deny", &cfg.deny)?;
        let mut restrict = Vec::new();
        for expr in &cfg.restrict_css {
            restrict.push(
                Query::css(expr).map_err(|source| LinkExtractorError::Selector {
                    field: "restrict_css",
                    source,
                })?,
            );
        }
        for expr in &cfg.restrict_xpaths {
            restrict.push(
                Query::xpath(expr).map_err(|source| LinkExtractorError::Selector {
                    field: "restrict_xpaths",
                    source,
                })?,
            );
        }
        let names = |field: &'static str, v: Option<Vec<String>>, default: &[&str]| {
            let v = v.unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
            v.into_iter()
                .map(|s| {
                    let s = s.trim().trim_start_matches('.').to_ascii_lowercase();
                    if s.is_empty() {
                        Err(LinkExtractorError::EmptyEntry { field })
                    } else {
                        Ok(s)
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(LinkExtractor {
            allow,
            deny,
            allow_domains: names("allow_domains", Some(cfg.allow_domains), &[])?,
            deny_domains: names("deny_domains", Some(cfg.deny_domains), &[])?,
            restrict,
            tags: names("tags", cfg.tags, &["a", "area"])?,
            attrs: names("attrs", cfg.attrs, &["href"])?,
            canonicalize: cfg.canonicalize,
            unique: cfg.unique.unwrap_or(true),
            deny_extensions: names("deny_extensions", cfg.deny_extensions, IGNORED_EXTENSIONS)?
                .into_iter()
                .collect(),
        })
    }

    /// The links of `page` fetched from `base` (a `<base href>` in the page wins), in
    /// document order. Links with non-http(s) schemes (`javascript:`, `mailto:`, ...;
    /// `file:` links are kept on `file:` pages only), denied extensions, domains or
    /// patterns are dropped; fragments are removed.
    pub fn extract(&self, page: &Page<'_>, base: &Url) -> Vec<Link> {
        let base = page.effective_base(base);
        let mut links = Vec::new();
        let mut seen: HashSet<Url> = HashSet::new();
        let doc = page.document();
        let mut visit = |id: NodeId| {
            let Some(el) = doc.element(id) else { return };
            if !self.tags.iter().any(|t| **t == *el.name) {
                return;
            }
            for attr in &self.attrs {
                let Some(raw) = el.attr(attr) else { continue };
                let Some(url) = self.accept(&base, raw) else {
                    continue;
                };
                if self.unique && !seen.insert(url.clone()) {
                    continue;
                }
                let nofollow = el.attr("rel").is_some_and(|rel| {
                    rel.split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("nofollow"))
                });
                links.push(Link {
                    url,
                    text: doc.text_content(id),
                    nofollow,
                });
            }
        };
        if self.restrict.is_empty() {
            doc.elements().for_each(|(id, _)| visit(id));
        } else {
            // Each region and its descendants, as Scrapy iterates `region.iter()`.
            for q in &self.restrict {
                for region in page.select(q).element_ids() {
                    visit(region);
                    doc.descendants(region).for_each(&mut visit);
                }
            }
        }
        links
    }

    /// Resolves and filters one attribute value.
    fn accept(&self, base: &Url, raw: &str) -> Option<Url> {
        let raw = raw.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'));
        let mut url = base.join(raw).ok()?;
        // Local files link to local files; web pages never lead to local files.
        let file_to_file = url.scheme() == "file" && base.scheme() == "file";
        if !matches!(url.scheme(), "http" | "https") && !file_to_file {
            return None;
        }
        url.set_fragment(None);
        if self.canonicalize {
            url = Url::parse(&canonicalize_url(&url)).ok()?;
        }
        let s = url.as_str();
        if let Some(allow) = &self.allow {
            if !allow.is_match(s) {
                return None;
            }
        }
        if let Some(deny) = &self.deny {
            if deny.is_match(s) {
                return None;
            }
        }
        if !self.allow_domains.is_empty() || !self.deny_domains.is_empty() {
            let host = url.host_str()?.to_ascii_lowercase();
            if !self.allow_domains.is_empty() && !domain_in(&host, &self.allow_domains) {
                return None;
            }
            if domain_in(&host, &self.deny_domains) {
                return None;
            }
        }
        if !self.deny_extensions.is_empty() && self.has_denied_extension(&url) {
            return None;
        }
        Some(url)
    }

    fn has_denied_extension(&self, url: &Url) -> bool {
        let last = url.path().rsplit('/').next().unwrap_or("");
        match last.rfind('.') {
            Some(dot) if dot > 0 => {
                let ext = last[dot + 1..].to_ascii_lowercase();
                if self.deny_extensions.contains(&ext) {
                    return true;
                }
                // Two-part extensions such as `tar.gz`.
                last[..dot].rfind('.').is_some_and(|d2| {
                    d2 > 0
                        && self
                            .deny_extensions
                            .contains(&last[d2 + 1..].to_ascii_lowercase())
                })
            }
            _ => false,
        }
    }
}

/// `host` is one of `domains` or a subdomain of one.
fn domain_in(host: &str, domains: &[String]) -> bool {
    domains.iter().any(|d| {
        host == d
            || (host.len() > d.len()
                && host.ends_with(d.as_str())
                && host.as_bytes()[host.len() - d.len() - 1] == b'.')
    })
}

fn regex_set(
    field: &'static str,
    patterns: &[String],
) -> Result<Option<RegexSet>, LinkExtractorError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for p in patterns {
        Regex::new(p).map_err(|source| LinkExtractorError::Regex {
            field,
            pattern: p.clone(),
            source,
        })?;
    }
    RegexSet::new(patterns)
        .map(Some)
        .map_err(|source| LinkExtractorError::Regex {
            field,
            pattern: patterns.join(" | "),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r##"<html><head><title>t</title></head><body>
<div id="nav"><a href="/">Home</a> <a href="/cat/books?page=2&amp;sort=asc#top">Books <b>2</b></a></div>
<div class="content">
  <a href="item/1.html" rel="nofollow noopener">Item 1</a>
  <a href=" item/2.html ">Item 2</a>
  <a href="item/1.html#reviews">Item 1 again</a>
  <a href="javascript:void(0)">JS</a>
  <a href="mailto:me@example.com">Mail</a>
  <a href="ftp://files.example.com/x">FTP</a>
  <a href="/files/report.PDF">PDF</a>
  <a href="/files/archive.tar.gz">tarball</a>
  <a href="https://blog.example.com/post">Blog</a>
  <a href="https://other.org/x">Other</a>
  <area href="/map-area" alt="m">
  <img src="/logo.png">
  <a>no href</a>
  <a href="http://[bad">broken</a>
</div>
</body></html>"##;

    fn base() -> Url {
        Url::parse("https://www.example.com/shop/index.html").unwrap()
    }

    fn urls(links: &[Link]) -> Vec<&str> {
        links.iter().map(|l| l.url.as_str()).collect()
    }

    fn le(json: &str) -> LinkExtractor {
        LinkExtractor::new(serde_json::from_str(json).unwrap()).unwrap()
    }

    #[test]
    fn default_extracts_http_links_without_fragments_or_duplicates() {
        let page = Page::parse(PAGE);
        let links = le("{}").extract(&page, &base());
        assert_eq!(
            urls(&links),
            vec![
                "https://www.example.com/",
                "https://www.example.com/cat/books?page=2&sort=asc",
                "https://www.example.com/shop/item/1.html",
                "https://www.example.com/shop/item/2.html",
                "https://blog.example.com/post",
                "https://other.org/x",
                "https://www.example.com/map-area",
            ]
        );
        assert_eq!(links[1].text, "Books 2");
        assert!(links[2].nofollow);
        assert!(!links[3].nofollow);
    }

    #[test]
    fn not_unique_keeps_duplicates() {
        let page = Page::parse(PAGE);
        let links = le(r#"{"unique": false}"#).extract(&page, &base());
        let n = links
            .iter()
            .filter(|l| l.url.as_str() == "https://www.example.com/shop/item/1.html")
            .count();
        assert_eq!(n, 2);
    }

    #[test]
    fn allow_and_deny_regexes() {
        let page = Page::parse(PAGE);
        let links = le(r#"{"allow": ["/item/\\d+"], "deny": "2\\.html"}"#).extract(&page, &base());
        assert_eq!(
            urls(&links),
            vec!["https://www.example.com/shop/item/1.html"]
        );
    }

    #[test]
    fn domain_filters_match_subdomains() {
        let page = Page::parse(PAGE);
        let links = le(r#"{"allow_domains": ["example.com"], "deny_domains": "blog.example.com"}"#)
            .extract(&page, &base());
        assert!(urls(&links)
            .iter()
            .all(|u| u.starts_with("https://www.example.com/")));
        assert_eq!(links.len(), 5);
        let only_other = le(r#"{"allow_domains": "other.org"}"#).extract(&page, &base());
        assert_eq!(urls(&only_other), vec!["https://other.org/x"]);
        // a suffix that is not a label boundary does not match
        assert!(!domain_in("notexample.com", &["example.com".to_string()]));
    }

    #[test]
    fn deny_extensions_default_and_override() {
        let page = Page::parse(PAGE);
        let all = le(r#"{"deny_extensions": []}"#).extract(&page, &base());
        let u = urls(&all);
        assert!(u.contains(&"https://www.example.com/files/report.PDF"));
        assert!(u.contains(&"https://www.example.com/files/archive.tar.gz"));
        let default = le("{}").extract(&page, &base());
        assert!(!urls(&default).iter().any(|u| u.contains("/files/")));
        let only_pdf = le(r#"{"deny_extensions": ["pdf"]}"#).extract(&page, &base());
        let u = urls(&only_pdf);
        assert!(!u.contains(&"https://www.example.com/files/report.PDF"));
        assert!(u.contains(&"https://www.example.com/files/archive.tar.gz"));
    }

    #[test]
    fn restrict_css_and_xpaths() {
        let page = Page::parse(PAGE);
        let nav = le(r##"{"restrict_css": "#nav"}"##).extract(&page, &base());
        assert_eq!(nav.len(), 2);
        let nav_x = le(r#"{"restrict_xpaths": ["//div[@id='nav']"]}"#).extract(&page, &base());
        assert_eq!(urls(&nav_x), urls(&nav));
        let region_is_link = le(r#"{"restrict_css": "a[rel]"}"#).extract(&page, &base());
        assert_eq!(
            urls(&region_is_link),
            vec!["https://www.example.com/shop/item/1.html"]
        );
    }

    #[test]
    fn tags_and_attrs() {
        let page = Page::parse(PAGE);
        let imgs = le(r#"{"tags": "img", "attrs": ["src"], "deny_extensions": []}"#)
            .extract(&page, &base());
        assert_eq!(urls(&imgs), vec!["https://www.example.com/logo.png"]);
    }

    #[test]
    fn base_href_is_honoured() {
        let html = r#"<head><base href="https://cdn.example.net/root/"></head><a href="x">x</a>"#;
        let page = Page::parse(html);
        let links = le("{}").extract(&page, &base());
        assert_eq!(urls(&links), vec!["https://cdn.example.net/root/x"]);
        let rel = r#"<head><base href="/other/"></head><a href="y">y</a>"#;
        let page = Page::parse(rel);
        assert_eq!(
            urls(&le("{}").extract(&page, &base())),
            vec!["https://www.example.com/other/y"]
        );
    }

    #[test]
    fn canonicalize_option() {
        let page = Page::parse(r#"<a href="/p?b=2&a=1">1</a><a href="/p?a=1&b=2">2</a>"#);
        let links = le(r#"{"canonicalize": true}"#).extract(&page, &base());
        assert_eq!(urls(&links), vec!["https://www.example.com/p?a=1&b=2"]);
        let plain = le("{}").extract(&page, &base());
        assert_eq!(plain.len(), 2);
    }

    #[test]
    fn config_errors_name_field_and_value() {
        let cfg: LinkExtractorConfig =
            serde_json::from_str(r#"{"allow": ["ok", "(unclosed"]}"#).unwrap();
        let e = LinkExtractor::new(cfg).unwrap_err().to_string();
        assert!(e.contains("`allow`") && e.contains("\"(unclosed\""), "{e}");
        let cfg: LinkExtractorConfig = serde_json::from_str(r#"{"deny": "[z-a]"}"#).unwrap();
        let e = LinkExtractor::new(cfg).unwrap_err().to_string();
        assert!(e.contains("`deny`") && e.contains("[z-a]"), "{e}");
        let cfg: LinkExtractorConfig = serde_json::from_str(r#"{"restrict_css": "div["}"#).unwrap();
        let e = LinkExtractor::new(cfg).unwrap_err().to_string();
        assert!(
            e.contains("`restrict_css`") && e.contains("\"div[\""),
            "{e}"
        );
        let cfg: LinkExtractorConfig =
            serde_json::from_str(r#"{"restrict_xpaths": "//div["}"#).unwrap();
        let e = LinkExtractor::new(cfg).unwrap_err().to_string();
        assert!(
            e.contains("`restrict_xpaths`") && e.contains("//div["),
            "{e}"
        );
        let cfg: LinkExtractorConfig = serde_json::from_str(r#"{"tags": [""]}"#).unwrap();
        let e = LinkExtractor::new(cfg).unwrap_err().to_string();
        assert!(e.contains("`tags`"), "{e}");
        let unknown = serde_json::from_str::<LinkExtractorConfig>(r#"{"allowed": "x"}"#);
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `allowed`"));
    }

    #[test]
    fn extractor_is_send_sync() {
        fn assert_traits<T: Send + Sync + Clone>() {}
        assert_traits::<LinkExtractor>();
    }
}
