//! Scrapy-style selectors: CSS (with `::text` / `::attr(name)`) and XPath over a parsed
//! HTML page.
//!
//! ```
//! use trawl_engine::select::{Page, Query};
//!
//! let page = Page::parse("<h1>Hi <b>there</b></h1><a href='/x'>x</a>");
//! let title = Query::css("h1::text").unwrap();
//! assert_eq!(page.select(&title).get().as_deref(), Some("Hi "));
//! assert_eq!(page.css("a::attr(href)").unwrap().getall(), vec!["/x"]);
//! assert_eq!(page.xpath("//h1//text()").unwrap().getall(), vec!["Hi ", "there"]);
//! ```
//!
//! A page is parsed once ([`tree`]: libxml2's HTML tree, as lxml builds it for parsel
//! and Scrapy) into one arena ([`dom`]). XPath runs on it with an XPath 1.0 engine
//! ([`xpath1`], with parsel's EXSLT `re:` and `set:` functions and `has-class()`); CSS is
//! translated to XPath exactly as parsel translates it ([`css2xpath`], cssselect's
//! rules), so both kinds of selectors see the same tree and give parsel's results.

mod css2xpath;
pub mod dom;
mod entities;
mod limits;
pub mod tree;
pub mod xpath1;

pub use limits::{MAX_SELECTOR_LEN, MAX_SELECTOR_NESTING, MAX_XPATH_PREDICATE_NESTING};
pub use tree::MAX_HTML_DEPTH;

use std::sync::Arc;

use regex::Regex;
use url::Url;

use dom::{Document, NodeData, NodeId};
use xpath1::{Value, XNode, XPath};

/// Why a CSS or XPath expression was rejected, or failed on a page. Every message
/// quotes the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The expression is empty or only whitespace.
    #[error("empty {kind} expression")]
    Empty {
        /// `"CSS"` or `"XPath"`.
        kind: &'static str,
    },
    /// The CSS selector does not parse, or uses what parsel does not support.
    #[error("invalid CSS selector {expr:?}: {reason}")]
    Css {
        /// The expression as given.
        expr: String,
        /// What is wrong.
        reason: String,
    },
    /// The expression is longer than [`MAX_SELECTOR_LEN`].
    #[error("{kind} expression too long: {len} bytes (limit {max})")]
    TooLong {
        /// `"CSS"` or `"XPath"`.
        kind: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The expression nests deeper than [`MAX_SELECTOR_NESTING`].
    #[error("{kind} expression nested {depth} levels deep (limit {max})")]
    TooDeep {
        /// `"CSS"` or `"XPath"`.
        kind: &'static str,
        /// Its nesting depth.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// The XPath expression does not compile: syntax, unknown function, wrong arity,
    /// unknown namespace prefix.
    #[error("invalid XPath expression {expr:?}: {reason}")]
    XPathSyntax {
        /// The expression as given.
        expr: String,
        /// What is wrong, with the offset where parsing stopped when known.
        reason: String,
    },
    /// The expression compiled but failed on a page (a bad regex in `re:test()`, the
    /// evaluation budget exceeded, ...).
    #[error("{kind} expression {expr:?} failed: {reason}")]
    Eval {
        /// `"CSS"` or `"XPath"`.
        kind: &'static str,
        /// The expression as given.
        expr: String,
        /// What went wrong.
        reason: String,
    },
}

/// A compiled CSS or XPath selector; compile once, run on many pages.
#[derive(Debug, Clone)]
pub struct Query {
    expr: Arc<str>,
    xpath: Arc<XPath>,
    is_xpath: bool,
}

impl Query {
    /// Compiles a CSS selector as parsel does: translated to XPath by cssselect's rules,
    /// with `::text` (text children; ` ::text` all descendant text) and `::attr(name)`.
    pub fn css(expr: &str) -> Result<Query, SelectError> {
        if expr.trim().is_empty() {
            return Err(SelectError::Empty { kind: "CSS" });
        }
        limits::check("CSS", expr)?;
        let translated = css_to_xpath(expr)?;
        let xpath = xpath1::compile(&translated).map_err(|e| SelectError::Css {
            expr: expr.to_string(),
            reason: format!("its XPath translation {translated:?} does not compile: {e}"),
        })?;
        Ok(Query {
            expr: expr.into(),
            xpath: Arc::new(xpath),
            is_xpath: false,
        })
    }

    /// Compiles an XPath 1.0 expression; syntax errors, unknown functions and wrong
    /// argument counts are reported here rather than when a page is queried.
    pub fn xpath(expr: &str) -> Result<Query, SelectError> {
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err(SelectError::Empty { kind: "XPath" });
        }
        limits::check("XPath", trimmed)?;
        let xpath = xpath1::compile(trimmed).map_err(|e| SelectError::XPathSyntax {
            expr: expr.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Query {
            expr: expr.into(),
            xpath: Arc::new(xpath),
            is_xpath: true,
        })
    }

    /// The expression this query was compiled from.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    /// Whether this is an XPath query.
    pub fn is_xpath(&self) -> bool {
        self.is_xpath
    }

    fn kind(&self) -> &'static str {
        if self.is_xpath {
            "XPath"
        } else {
            "CSS"
        }
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.expr)
    }
}

/// A parsed HTML document, queried with [`Query`]s. Lives in one synchronous callback.
pub struct Page<'h> {
    source: &'h str,
    doc: Document,
    /// XPath work spent on this page so far (see [`xpath1::PAGE_WORK_BUDGET`]).
    work: std::cell::Cell<u64>,
    base_href: Option<String>,
    base_url: Option<Url>,
}

impl std::fmt::Debug for Page<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("len", &self.source.len())
            .field("nodes", &self.doc.len())
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl<'h> Page<'h> {
    /// Parses `html` as lxml's HTML parser does (malformed HTML is repaired its way;
    /// elements nested deeper than [`MAX_HTML_DEPTH`] are flattened into the deepest
    /// one kept).
    pub fn parse(html: &'h str) -> Page<'h> {
        let doc = tree::parse_html(html).doc;
        let base_href = find_base_href(&doc);
        let base_url = base_href.as_deref().and_then(|h| Url::parse(h).ok());
        Page {
            source: html,
            doc,
            work: std::cell::Cell::new(0),
            base_href,
            base_url,
        }
    }

    /// Parses `html` fetched from `url`; [`Page::urljoin`] resolves against the page's
    /// `<base href>` (itself resolved against `url`) or else `url`.
    pub fn parse_with_url(html: &'h str, url: &Url) -> Page<'h> {
        let mut page = Page::parse(html);
        page.base_url = Some(page.effective_base(url));
        page
    }

    /// Parses `html` fetched from `url` into a page that does not borrow the text (its
    /// [`Page::source`] is empty), for holders that must own the page.
    pub fn parse_detached(html: &str, url: &Url) -> Page<'static> {
        let page = Page::parse_with_url(html, url);
        Page {
            source: "",
            doc: page.doc,
            work: page.work,
            base_href: page.base_href,
            base_url: page.base_url,
        }
    }

    /// The URL relative links resolve against, given the URL the page came from.
    pub fn effective_base(&self, url: &Url) -> Url {
        self.base_href
            .as_deref()
            .and_then(|h| url.join(h).ok())
            .unwrap_or_else(|| url.clone())
    }

    /// The raw `href` of the document's `<base>` element, if any.
    pub fn base_href(&self) -> Option<&str> {
        self.base_href.as_deref()
    }

    /// Resolves `href` (whitespace-trimmed) against the page's base URL.
    pub fn urljoin(&self, href: &str) -> Option<Url> {
        match &self.base_url {
            Some(base) => base.join(href.trim()).ok(),
            None => Url::parse(href.trim()).ok(),
        }
    }

    /// The source text the page was parsed from.
    pub fn source(&self) -> &'h str {
        self.source
    }

    /// The parsed tree.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The root element (`<html>`), where parsel evaluates page-level queries from.
    pub fn root_element(&self) -> NodeId {
        self.doc
            .children(NodeId::ROOT)
            .find(|&c| self.doc.element(c).is_some())
            .unwrap_or(NodeId::ROOT)
    }

    /// Runs `query` on the whole document; a query that fails on this page (see
    /// [`Page::try_select`]) is logged and yields nothing.
    pub fn select<'p>(&'p self, query: &Query) -> SelectionList<'p> {
        self.try_select(query).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "selector failed");
            SelectionList {
                page: self,
                items: Vec::new(),
            }
        })
    }

    /// Runs `query` on the whole document, reporting a failure (a bad regex in
    /// `re:test()`, the evaluation budget exceeded).
    pub fn try_select<'p>(&'p self, query: &Query) -> Result<SelectionList<'p>, SelectError> {
        let mut items = Vec::new();
        run(self, query, XNode::Node(self.root_element()), &mut items)?;
        Ok(SelectionList { page: self, items })
    }

    /// Compiles `expr` as CSS and runs it (prefer a precompiled [`Query`] in hot code).
    pub fn css<'p>(&'p self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        self.try_select(&Query::css(expr)?)
    }

    /// Compiles `expr` as XPath and runs it (prefer a precompiled [`Query`] in hot code).
    pub fn xpath<'p>(&'p self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        self.try_select(&Query::xpath(expr)?)
    }
}

/// The `href` of the first `<base>` element in `<head>`.
fn find_base_href(doc: &Document) -> Option<String> {
    let html = doc
        .children(NodeId::ROOT)
        .find(|&c| doc.element(c).is_some_and(|e| &*e.name == "html"))?;
    let head = doc
        .children(html)
        .find(|&c| doc.element(c).is_some_and(|e| &*e.name == "head"))?;
    doc.children(head)
        .filter_map(|c| doc.element(c).filter(|e| &*e.name == "base"))
        .find_map(|e| e.attr("href"))
        .map(|h| h.trim().to_string())
}

/// One result: a node of the page (element, text, attribute, ...) or a computed value.
#[derive(Clone)]
enum Item {
    Node(XNode),
    Value(Arc<str>),
}

/// Evaluates `query` from `ctx` and appends its results to `out`.
fn run(page: &Page<'_>, query: &Query, ctx: XNode, out: &mut Vec<Item>) -> Result<(), SelectError> {
    let value = query
        .xpath
        .evaluate_on_page(&page.doc, ctx, &page.work)
        .map_err(|e| SelectError::Eval {
            kind: query.kind(),
            expr: query.expr.to_string(),
            reason: e.to_string(),
        })?;
    match value {
        // parsel never returns the document node itself (`xpath("/")` is empty).
        Value::Nodes(nodes) => out.extend(
            nodes
                .into_iter()
                .filter(|n| *n != XNode::Node(NodeId::ROOT))
                .map(Item::Node),
        ),
        // `re:match()` makes `<match>` elements outside the page, shown as lxml does.
        Value::Matches(found) => out.extend(
            found
                .iter()
                .map(|m| Item::Value(format!("<match>{}</match>", escape_text(m)).into())),
        ),
        Value::String(s) => out.push(Item::Value(s.into())),
        Value::Number(n) => out.push(Item::Value(py_float(n).into())),
        Value::Boolean(b) => out.push(Item::Value(if b { "1" } else { "0" }.into())),
    }
    Ok(())
}

/// One selector result: an element, a text node, an attribute value or an XPath value.
#[derive(Clone)]
pub struct Selection<'p> {
    page: &'p Page<'p>,
    item: Item,
}

impl<'p> Selection<'p> {
    /// The result as a string, as parsel's `Selector.get()`: outer HTML for elements
    /// (lxml's serialisation), the text for text and attribute results.
    pub fn get(&self) -> String {
        match &self.item {
            Item::Node(n) => match self.as_str() {
                Some(s) => s.to_string(),
                None => match n {
                    XNode::Node(id) => tree::outer_html(&self.page.doc, *id),
                    XNode::Attr(..) => String::new(),
                },
            },
            Item::Value(v) => v.to_string(),
        }
    }

    /// The result as a borrowed string when it is text, a comment's text or an
    /// attribute value.
    pub fn as_str(&self) -> Option<&'p str> {
        let doc = &self.page.doc;
        match &self.item {
            Item::Node(XNode::Attr(id, i)) => doc
                .element(*id)
                .and_then(|e| e.attrs.get(*i as usize))
                .map(|a| &*a.value),
            Item::Node(XNode::Node(id)) => match &doc.node(*id).data {
                NodeData::Text(t) => Some(t),
                _ => None,
            },
            Item::Value(_) => None,
        }
    }

    /// The element this result is, if it is one.
    pub fn element_id(&self) -> Option<NodeId> {
        match &self.item {
            Item::Node(XNode::Node(id)) if self.page.doc.element(*id).is_some() => Some(*id),
            _ => None,
        }
    }

    /// Whether this result is an element.
    pub fn is_element(&self) -> bool {
        self.element_id().is_some()
    }

    /// The tag name of an element result (lowercase).
    pub fn name(&self) -> Option<&'p str> {
        let id = self.element_id()?;
        self.page.doc.element(id).map(|e| &*e.name)
    }

    /// The text of an element result and its descendants (lxml's `text_content()`).
    pub fn text_content(&self) -> String {
        match self.element_id() {
            Some(id) => self.page.doc.text_content(id),
            None => self.as_str().unwrap_or_default().to_string(),
        }
    }

    /// An attribute of an element result (`None` for other results).
    pub fn attr(&self, name: &str) -> Option<&'p str> {
        let id = self.element_id()?;
        self.page.doc.element(id)?.attr(name)
    }

    /// Runs `query` relative to this result; results that are not nodes yield nothing.
    pub fn select(&self, query: &Query) -> SelectionList<'p> {
        self.try_select(query).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "selector failed");
            SelectionList {
                page: self.page,
                items: Vec::new(),
            }
        })
    }

    /// Runs `query` relative to this result, reporting a failure.
    pub fn try_select(&self, query: &Query) -> Result<SelectionList<'p>, SelectError> {
        let mut items = Vec::new();
        if let Item::Node(n) = &self.item {
            run(self.page, query, *n, &mut items)?;
        }
        Ok(SelectionList {
            page: self.page,
            items,
        })
    }

    /// Compiles and runs a CSS query relative to this result.
    pub fn css(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        self.try_select(&Query::css(expr)?)
    }

    /// Compiles and runs an XPath query relative to this result.
    pub fn xpath(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        self.try_select(&Query::xpath(expr)?)
    }
}

impl std::fmt::Debug for Selection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Selection").field(&self.get()).finish()
    }
}

/// Results of a query, as Scrapy's `SelectorList`.
#[derive(Clone)]
pub struct SelectionList<'p> {
    page: &'p Page<'p>,
    items: Vec<Item>,
}

impl<'p> SelectionList<'p> {
    /// The first result as a string (Scrapy's `.get()`).
    pub fn get(&self) -> Option<String> {
        self.first().map(|s| s.get())
    }

    /// Every result as a string (Scrapy's `.getall()`).
    pub fn getall(&self) -> Vec<String> {
        self.iter().map(|s| s.get()).collect()
    }

    /// The number of results.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no results.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first result.
    pub fn first(&self) -> Option<Selection<'p>> {
        self.items.first().map(|i| Selection {
            page: self.page,
            item: i.clone(),
        })
    }

    /// The results one by one.
    pub fn iter(&self) -> impl Iterator<Item = Selection<'p>> + '_ {
        self.items.iter().map(|i| Selection {
            page: self.page,
            item: i.clone(),
        })
    }

    /// The elements among the results.
    pub fn element_ids(&self) -> Vec<NodeId> {
        self.iter().filter_map(|s| s.element_id()).collect()
    }

    /// Regex matches over every result's string, as Scrapy's `.re()`: with a group
    /// named `extract`, that group; with other groups, every group of every match;
    /// without groups, the whole matches. Character references in the matches are
    /// replaced, except `&lt;` and `&amp;` (parsel's `replace_entities`).
    pub fn re(&self, re: &Regex) -> Vec<String> {
        let mut out = Vec::new();
        for s in self.iter() {
            regex_matches(re, &s.get(), &mut out, false);
        }
        out.into_iter().map(replace_entities).collect()
    }

    /// The first string [`SelectionList::re`] would return.
    pub fn re_first(&self, re: &Regex) -> Option<String> {
        let mut out = Vec::new();
        for s in self.iter() {
            regex_matches(re, &s.get(), &mut out, true);
            if !out.is_empty() {
                return out.into_iter().next().map(replace_entities);
            }
        }
        None
    }

    /// Runs `query` relative to each result and concatenates the results (parsel's
    /// `SelectorList.xpath()` / `.css()`); a failure is logged and yields nothing.
    pub fn select(&self, query: &Query) -> SelectionList<'p> {
        self.try_select(query).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "selector failed");
            SelectionList {
                page: self.page,
                items: Vec::new(),
            }
        })
    }

    /// Runs `query` relative to each result, reporting a failure.
    pub fn try_select(&self, query: &Query) -> Result<SelectionList<'p>, SelectError> {
        let mut items = Vec::new();
        for i in &self.items {
            if let Item::Node(n) = i {
                run(self.page, query, *n, &mut items)?;
            }
        }
        Ok(SelectionList {
            page: self.page,
            items,
        })
    }

    /// Compiles and runs a CSS query relative to each result.
    pub fn css(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        self.try_select(&Query::css(expr)?)
    }

    /// Compiles and runs an XPath query relative to each result.
    pub fn xpath(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        self.try_select(&Query::xpath(expr)?)
    }
}

impl std::fmt::Debug for SelectionList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// parsel's `re()` over one string, appended to `out`: a group named `extract` when
/// there is one (its first match only), else every group of every match, else the
/// whole matches; `first_only` stops after the first match.
pub(crate) fn regex_matches(re: &Regex, text: &str, out: &mut Vec<String>, first_only: bool) {
    let groups = re.captures_len() - 1;
    if groups == 0 {
        for m in re.find_iter(text) {
            out.push(m.as_str().to_string());
            if first_only {
                return;
            }
        }
        return;
    }
    let named = re.capture_names().position(|n| n == Some("extract"));
    for caps in re.captures_iter(text) {
        match named {
            Some(i) => out.extend(caps.get(i).map(|m| m.as_str().to_string())),
            None => {
                for g in 1..=groups {
                    out.push(caps.get(g).map_or("", |m| m.as_str()).to_string());
                }
            }
        }
        if first_only || named.is_some() {
            return;
        }
    }
}

/// The deepest nesting of brackets in `expr` outside string literals (for other
/// expression languages bounded like selectors, such as JMESPath).
pub fn nesting_depth(expr: &str) -> usize {
    limits::nesting(expr, true)
}

/// w3lib's `replace_entities(text, keep=["lt", "amp"])`, as parsel applies it to
/// `.re()` results: `&name;` (HTML 4 names; the `;` optional), `&#NN;` and `&#xHH;`
/// become their characters (`&#128;`–`&#159;` as windows-1252), except `&lt;` and
/// `&amp;`; an unknown or invalid reference ending in `;` is removed.
pub fn replace_entities(text: String) -> String {
    replace_entities_keeping(text, &["lt", "amp"])
}

/// [`replace_entities`] keeping the references named in `keep` (lowercase names) as
/// they are; with nothing kept, it is Python's `html.unescape` for HTML 4's names
/// (and `&apos;`).
pub fn replace_entities_keeping(text: String, keep: &[&str]) -> String {
    if !text.contains('&') {
        return text;
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while let Some(off) = text[i..].find('&') {
        let start = i + off;
        let mut j = start + 1;
        let (kind, digits_start) = if b.get(j) == Some(&b'#') {
            if matches!(b.get(j + 1), Some(b'x' | b'X')) {
                (16, j + 2)
            } else {
                (10, j + 1)
            }
        } else {
            (0, j)
        };
        j = digits_start;
        while j < b.len()
            && match kind {
                16 => b[j].is_ascii_hexdigit(),
                10 => b[j].is_ascii_digit(),
                _ => b[j].is_ascii_alphanumeric(),
            }
        {
            j += 1;
        }
        if j == digits_start {
            i = start + 1;
            continue;
        }
        let semicolon = b.get(j) == Some(&b';');
        let body = &text[digits_start..j];
        let end = if semicolon { j + 1 } else { j };
        let replacement: Option<Option<char>> = if kind == 0 {
            let lower = body.to_ascii_lowercase();
            if keep.contains(&lower.as_str()) {
                None
            } else if body == "apos" {
                Some(Some('\''))
            } else {
                let find = |n: &str| {
                    entities::HTML4
                        .binary_search_by(|(k, _)| (*k).cmp(n))
                        .ok()
                        .and_then(|k| char::from_u32(entities::HTML4[k].1))
                };
                match find(body).or_else(|| find(&lower)) {
                    Some(c) => Some(Some(c)),
                    None if semicolon => Some(None),
                    None => None,
                }
            }
        } else {
            let n = u32::from_str_radix(body, kind).ok();
            let c = n.and_then(|n| {
                if (0x80..=0x9f).contains(&n) {
                    let byte = [n as u8];
                    encoding_rs::WINDOWS_1252
                        .decode_without_bom_handling(&byte)
                        .0
                        .chars()
                        .next()
                } else {
                    char::from_u32(n)
                }
            });
            match c {
                Some(c) => Some(Some(c)),
                None if semicolon => Some(None),
                None => None,
            }
        };
        match replacement {
            Some(r) => {
                out.push_str(&text[copied..start]);
                if let Some(c) = r {
                    out.push(c);
                }
                copied = end;
                i = end;
            }
            None => i = start + 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Escapes text as lxml serialises it inside an element.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The XPath parsel runs for a CSS selector (`descendant-or-self::` prefixed, with
/// `::text` and `::attr(name)` translated), or why it is refused.
pub fn css_to_xpath(expr: &str) -> Result<String, SelectError> {
    css2xpath::css_to_xpath(expr).map_err(|e| SelectError::Css {
        expr: expr.to_string(),
        reason: match e.kind {
            css2xpath::CssErrorKind::Syntax => e.message,
            css2xpath::CssErrorKind::Expression => format!("unsupported: {}", e.message),
        },
    })
}

/// Python's `str(float)`, which is how parsel shows an XPath number: `3.0`, `2.5`,
/// `1e+16`, `nan`, `inf`.
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    if f == f.trunc() {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests;
