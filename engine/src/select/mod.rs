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
//! CSS runs on `scraper` (html5ever). XPath runs on `skyscraper` (see the [`xpath`]
//! module notes for why); its document is parsed only when a page is first queried
//! with XPath, so CSS-only callbacks pay for one parse. Element results of one engine
//! can be queried with the other: elements are matched across the two trees by their
//! position in document order.

mod css;
mod html;
mod limits;
mod xpath;

pub use html::MAX_HTML_DEPTH;
pub use limits::{MAX_SELECTOR_LEN, MAX_SELECTOR_NESTING, MAX_XPATH_PREDICATE_NESTING};

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use scraper::{ElementRef, Html};
use skyscraper::xpath::grammar::{DisplayFormatting, XpathItemTreeNode};
use skyscraper::xpath::XpathItemTree;
use url::Url;

use css::{CssQuery, Pseudo};
use xpath::{XOut, XPathQuery};

/// Why a CSS or XPath expression was rejected. Every message quotes the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The expression is empty or only whitespace.
    #[error("empty {kind} expression")]
    Empty {
        /// `"CSS"` or `"XPath"`.
        kind: &'static str,
    },
    /// The CSS selector does not parse.
    #[error("invalid CSS selector {expr:?}: {reason}")]
    Css {
        /// The expression as given.
        expr: String,
        /// What is wrong.
        reason: String,
    },
    /// A pseudo-element other than `::text` / `::attr(name)`, or one misplaced.
    #[error("invalid pseudo-element in CSS selector {expr:?}: {reason}")]
    CssPseudo {
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
    /// The XPath expression does not parse.
    #[error("invalid XPath expression {expr:?}: {reason}")]
    XPathSyntax {
        /// The expression as given.
        expr: String,
        /// What is wrong, with the offset where parsing stopped when known.
        reason: String,
    },
    /// The XPath expression parses but cannot run (unknown function, wrong arity, ...).
    #[error("invalid XPath expression {expr:?}: {reason}")]
    XPathEval {
        /// The expression as given.
        expr: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Clone)]
enum QueryKind {
    Css(Arc<CssQuery>),
    XPath(XPathQuery),
}

/// A compiled CSS or XPath selector; compile once, run on many pages.
#[derive(Debug, Clone)]
pub struct Query {
    expr: Arc<str>,
    kind: QueryKind,
}

impl Query {
    /// Compiles a CSS selector. A trailing `::text` selects direct text children,
    /// ` ::text` (after a space) all descendant text, `::attr(name)` an attribute.
    pub fn css(expr: &str) -> Result<Query, SelectError> {
        Ok(Query {
            expr: expr.into(),
            kind: QueryKind::Css(Arc::new(css::compile(expr)?)),
        })
    }

    /// Compiles an XPath expression; syntax errors, unknown functions and wrong
    /// argument counts are reported here rather than when a page is queried.
    pub fn xpath(expr: &str) -> Result<Query, SelectError> {
        Ok(Query {
            expr: expr.into(),
            kind: QueryKind::XPath(xpath::compile(expr)?),
        })
    }

    /// The expression this query was compiled from.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    /// Whether this is an XPath query.
    pub fn is_xpath(&self) -> bool {
        matches!(self.kind, QueryKind::XPath(_))
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
    html: Html,
    base_href: Option<String>,
    base_url: Option<Url>,
    xtree: OnceCell<Option<XpathItemTree>>,
    /// Start tags were dropped to cap the tree's depth (see [`MAX_HTML_DEPTH`]).
    capped: bool,
}

impl std::fmt::Debug for Page<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("len", &self.source.len())
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl<'h> Page<'h> {
    /// Parses `html` (malformed HTML is repaired the way browsers do; elements nested
    /// deeper than [`MAX_HTML_DEPTH`] are flattened into the deepest one kept).
    pub fn parse(html: &'h str) -> Page<'h> {
        let (doc, capped) = html::parse_document(html);
        let base_href = find_base_href(&doc);
        let base_url = base_href.as_deref().and_then(|h| Url::parse(h).ok());
        Page {
            source: html,
            html: doc,
            base_href,
            base_url,
            xtree: OnceCell::new(),
            capped,
        }
    }

    /// Parses `html` fetched from `url`; [`Page::urljoin`] resolves against the page's
    /// `<base href>` (itself resolved against `url`) or else `url`.
    pub fn parse_with_url(html: &'h str, url: &Url) -> Page<'h> {
        let mut page = Page::parse(html);
        page.base_url = Some(page.effective_base(url));
        page
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

    /// The underlying `scraper` document (for anything these helpers lack).
    pub fn html(&self) -> &Html {
        &self.html
    }

    /// Runs `query` on the whole document.
    pub fn select<'p>(&'p self, query: &Query) -> SelectionList<'p> {
        let page: &'p Page<'p> = self;
        let mut items = Vec::new();
        match &query.kind {
            QueryKind::Css(cq) => css_apply(page, None, cq, &mut items),
            QueryKind::XPath(xq) => {
                if let Some(tree) = page.xtree() {
                    xpath_collect(tree, xq, None, &mut items);
                }
            }
        }
        SelectionList { page, items }
    }

    /// Runs `query` on the whole document, reporting a failure.
    pub fn try_select<'p>(&'p self, query: &Query) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(query))
    }

    /// Compiles `expr` as CSS and runs it (prefer a precompiled [`Query`] in hot code).
    pub fn css<'p>(&'p self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(&Query::css(expr)?))
    }

    /// Compiles `expr` as XPath and runs it (prefer a precompiled [`Query`] in hot code).
    pub fn xpath<'p>(&'p self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(&Query::xpath(expr)?))
    }

    /// The XPath document, parsed on first use. skyscraper's parser has no depth cap,
    /// so a page that needed one is given to it as the capped tree, serialised.
    fn xtree(&self) -> Option<&XpathItemTree> {
        self.xtree
            .get_or_init(|| {
                let parsed = if self.capped {
                    skyscraper::html::parse(&self.html.html())
                } else {
                    skyscraper::html::parse(self.source)
                };
                match parsed {
                    Ok(t) => Some(t),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot build XPath document");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Maps `scraper` elements to the XPath tree's elements (by document order).
    fn css_to_x<'p>(&'p self, els: &[ElementRef<'p>]) -> Vec<Option<&'p XpathItemTreeNode>> {
        let Some(tree) = self.xtree() else {
            return Vec::new();
        };
        let xs = xpath::elements(tree);
        let index: HashMap<_, usize> = self
            .html
            .root_element()
            .descendent_elements()
            .enumerate()
            .map(|(i, e)| (e.id(), i))
            .collect();
        els.iter()
            .map(|e| {
                let x = *xs.get(*index.get(&e.id())?)?;
                same_name(e, x).then_some(x)
            })
            .collect()
    }

    /// Maps XPath-tree elements to `scraper` elements (by document order).
    fn x_to_css<'p>(&'p self, xs: &[&'p XpathItemTreeNode]) -> Vec<Option<ElementRef<'p>>> {
        let Some(tree) = self.xtree() else {
            return Vec::new();
        };
        let index: HashMap<usize, usize> = xpath::elements(tree)
            .into_iter()
            .enumerate()
            .map(|(i, x)| (std::ptr::from_ref(x) as usize, i))
            .collect();
        let els: Vec<ElementRef<'p>> = self.html.root_element().descendent_elements().collect();
        xs.iter()
            .map(|x| {
                let e = *els.get(*index.get(&(std::ptr::from_ref(*x) as usize))?)?;
                same_name(&e, x).then_some(e)
            })
            .collect()
    }
}

fn same_name(e: &ElementRef<'_>, x: &XpathItemTreeNode) -> bool {
    matches!(x, XpathItemTreeNode::ElementNode(n) if n.name.eq_ignore_ascii_case(e.value().name()))
}

/// The `href` of the first `<base>` element in `<head>`.
fn find_base_href(doc: &Html) -> Option<String> {
    let root = doc.root_element();
    let head = root.child_elements().find(|e| e.value().name() == "head")?;
    head.child_elements()
        .filter(|e| e.value().name() == "base")
        .find_map(|e| e.attr("href"))
        .map(|h| h.trim().to_string())
}

#[derive(Clone)]
enum Item<'p> {
    El(ElementRef<'p>),
    Str(&'p str),
    XNode(&'p XpathItemTreeNode),
    Owned(String),
}

fn css_apply<'p>(
    page: &'p Page<'p>,
    ctx: Option<ElementRef<'p>>,
    cq: &CssQuery,
    out: &mut Vec<Item<'p>>,
) {
    let matched: Vec<ElementRef<'p>> = match (&cq.selector, ctx) {
        (None, Some(el)) => vec![el],
        (None, None) => vec![page.html.root_element()],
        (Some(sel), None) => page.html.select(sel).collect(),
        (Some(sel), Some(el)) => {
            let mut v = Vec::new();
            css::matches_in(el, sel, &mut v);
            v
        }
    };
    match &cq.pseudo {
        Pseudo::Element => out.extend(matched.into_iter().map(Item::El)),
        Pseudo::Text { descendant: false } => {
            for m in matched {
                out.extend(
                    m.children()
                        .filter_map(|c| c.value().as_text().map(|t| Item::Str(t))),
                );
            }
        }
        Pseudo::Text { descendant: true } => {
            for m in css::outermost(matched) {
                out.extend(
                    m.descendants()
                        .filter_map(|c| c.value().as_text().map(|t| Item::Str(t))),
                );
            }
        }
        Pseudo::Attr {
            name,
            descendant: false,
        } => out.extend(
            matched
                .into_iter()
                .filter_map(|m| m.attr(name).map(Item::Str)),
        ),
        Pseudo::Attr {
            name,
            descendant: true,
        } => {
            for m in css::outermost(matched) {
                out.extend(
                    m.descendent_elements()
                        .filter_map(|e| e.attr(name).map(Item::Str)),
                );
            }
        }
    }
}

fn xpath_collect<'p>(
    tree: &'p XpathItemTree,
    xq: &XPathQuery,
    ctx: Option<&'p XpathItemTreeNode>,
    out: &mut Vec<Item<'p>>,
) {
    let mut raw = Vec::new();
    xpath::eval(xq, tree, ctx, &mut raw);
    out.extend(raw.into_iter().map(|r| match r {
        XOut::Node(XpathItemTreeNode::TextNode(t)) => Item::Str(&t.content),
        XOut::Node(XpathItemTreeNode::AttributeNode(a)) => Item::Str(&a.value),
        XOut::Node(n) => Item::XNode(n),
        XOut::Value(v) => Item::Owned(v),
    }));
}

/// One selector result: an element, a text node, an attribute value or an XPath value.
#[derive(Clone)]
pub struct Selection<'p> {
    page: &'p Page<'p>,
    item: Item<'p>,
}

impl<'p> Selection<'p> {
    /// The result as a string: outer HTML for elements, the text for text and
    /// attribute results (Scrapy's `Selector.get()`).
    pub fn get(&self) -> String {
        match &self.item {
            Item::El(e) => e.html(),
            Item::Str(s) => (*s).to_string(),
            Item::Owned(s) => s.clone(),
            Item::XNode(n) => match self.page.xtree() {
                Some(tree) => n.display(tree, DisplayFormatting::Raw, 0),
                None => String::new(),
            },
        }
    }

    /// The result as a borrowed string when it is text or an attribute value.
    pub fn as_str(&self) -> Option<&'p str> {
        match &self.item {
            Item::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this result is an element.
    pub fn is_element(&self) -> bool {
        matches!(
            &self.item,
            Item::El(_) | Item::XNode(XpathItemTreeNode::ElementNode(_))
        )
    }

    /// An attribute of an element result (`None` for other results).
    pub fn attr(&self, name: &str) -> Option<&'p str> {
        match &self.item {
            Item::El(e) => e.attr(name),
            Item::XNode(XpathItemTreeNode::ElementNode(el)) => {
                let tree = self.page.xtree()?;
                el.get_attribute(tree, name)
            }
            _ => None,
        }
    }

    /// Runs `query` relative to this result; non-element results yield nothing.
    pub fn select(&self, query: &Query) -> SelectionList<'p> {
        let mut items = Vec::new();
        select_from(
            self.page,
            std::slice::from_ref(&self.item),
            query,
            &mut items,
        );
        SelectionList {
            page: self.page,
            items,
        }
    }

    /// Runs `query` relative to this result, reporting a failure.
    pub fn try_select(&self, query: &Query) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(query))
    }

    /// Compiles and runs a CSS query relative to this result.
    pub fn css(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(&Query::css(expr)?))
    }

    /// Compiles and runs an XPath query relative to this result.
    pub fn xpath(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(&Query::xpath(expr)?))
    }

    pub(crate) fn element_ref(&self) -> Option<ElementRef<'p>> {
        match &self.item {
            Item::El(e) => Some(*e),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Selection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Selection").field(&self.get()).finish()
    }
}

fn select_from<'p>(page: &'p Page<'p>, ctx: &[Item<'p>], query: &Query, out: &mut Vec<Item<'p>>) {
    match &query.kind {
        QueryKind::Css(cq) => {
            let xs: Vec<&'p XpathItemTreeNode> = ctx
                .iter()
                .filter_map(|i| match i {
                    Item::XNode(n @ XpathItemTreeNode::ElementNode(_)) => Some(*n),
                    _ => None,
                })
                .collect();
            let mapped = if xs.is_empty() {
                Vec::new()
            } else {
                page.x_to_css(&xs)
            };
            let mut mapped = mapped.into_iter();
            for i in ctx {
                match i {
                    Item::El(e) => css_apply(page, Some(*e), cq, out),
                    Item::XNode(XpathItemTreeNode::ElementNode(_)) => {
                        if let Some(Some(e)) = mapped.next() {
                            css_apply(page, Some(e), cq, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        QueryKind::XPath(xq) => {
            let Some(tree) = page.xtree() else { return };
            let els: Vec<ElementRef<'p>> = ctx
                .iter()
                .filter_map(|i| match i {
                    Item::El(e) => Some(*e),
                    _ => None,
                })
                .collect();
            let mapped = if els.is_empty() {
                Vec::new()
            } else {
                page.css_to_x(&els)
            };
            let mut mapped = mapped.into_iter();
            for i in ctx {
                match i {
                    Item::El(_) => {
                        if let Some(Some(x)) = mapped.next() {
                            xpath_collect(tree, xq, Some(x), out);
                        }
                    }
                    Item::XNode(n) => xpath_collect(tree, xq, Some(n), out),
                    _ => {}
                }
            }
        }
    }
}

/// Results of a query, as Scrapy's `SelectorList`.
#[derive(Clone)]
pub struct SelectionList<'p> {
    page: &'p Page<'p>,
    items: Vec<Item<'p>>,
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

    /// Regex matches over every result's string, as Scrapy's `.re()`: with a group
    /// named `extract`, that group; with other groups, every group of every match;
    /// without groups, the whole matches.
    pub fn re(&self, re: &Regex) -> Vec<String> {
        let mut out = Vec::new();
        for s in self.iter() {
            extract_regex(re, &s.get(), &mut out, false);
        }
        out
    }

    /// The first string [`SelectionList::re`] would return.
    pub fn re_first(&self, re: &Regex) -> Option<String> {
        let mut out = Vec::new();
        for s in self.iter() {
            extract_regex(re, &s.get(), &mut out, true);
            if !out.is_empty() {
                return out.into_iter().next();
            }
        }
        None
    }

    /// Runs `query` relative to each element result and concatenates the results.
    pub fn select(&self, query: &Query) -> SelectionList<'p> {
        let mut items = Vec::new();
        select_from(self.page, &self.items, query, &mut items);
        SelectionList {
            page: self.page,
            items,
        }
    }

    /// Compiles and runs a CSS query relative to each element result.
    pub fn css(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(&Query::css(expr)?))
    }

    /// Compiles and runs an XPath query relative to each element result.
    pub fn xpath(&self, expr: &str) -> Result<SelectionList<'p>, SelectError> {
        Ok(self.select(&Query::xpath(expr)?))
    }

    /// The `scraper` elements among the results, mapping XPath elements across.
    pub(crate) fn element_refs(&self) -> Vec<ElementRef<'p>> {
        let xs: Vec<&'p XpathItemTreeNode> = self
            .items
            .iter()
            .filter_map(|i| match i {
                Item::XNode(n @ XpathItemTreeNode::ElementNode(_)) => Some(*n),
                _ => None,
            })
            .collect();
        if xs.is_empty() {
            return self.iter().filter_map(|s| s.element_ref()).collect();
        }
        let mut mapped = self.page.x_to_css(&xs).into_iter();
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::El(e) => Some(*e),
                Item::XNode(XpathItemTreeNode::ElementNode(_)) => mapped.next().flatten(),
                _ => None,
            })
            .collect()
    }
}

impl std::fmt::Debug for SelectionList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn extract_regex(re: &Regex, text: &str, out: &mut Vec<String>, first_only: bool) {
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
            Some(i) => out.push(caps.get(i).map_or("", |m| m.as_str()).to_string()),
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

#[cfg(test)]
mod tests;
