//! Runs a validated [`Spec`] as a [`Spider`]: CrawlSpider rules, SitemapSpider
//! sitemaps, and field extraction.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;

use anyhow::{anyhow, Context};
use serde_json::{Map, Value};
use url::Url;

use jmespath::Rcvar;
use regex::Regex;

use super::json::{self, JsonPath};
use super::start::{self, StartRequest};
use super::{Callback, Extracted, FollowSource, ItemSource, Scope, Spec, SpecError};
use crate::select::{Page, Query};
use crate::sitemap::{self, Sitemap};
use crate::spider::{Output, StartRequests};
use crate::{Item, Request, Response, Spider};

const SITEMAP_CALLBACK: &str = "_sitemap";
const RULE_CALLBACK: &str = "_rule";
/// Largest decompressed sitemap accepted (Scrapy's SITEMAP limit is DOWNLOAD_MAXSIZE).
const SITEMAP_MAX_BYTES: usize = 64 << 20;

/// The most start requests list arguments may expand into.
const MAX_EXPANDED: usize = super::limits::MAX_START_URLS;

/// The `cb_kwargs` key of an item a listing passes to its detail page (`then`).
const PASSED_ITEM: &str = "item";

/// The URL of the page after `url`: its counter parameter one step further, unless
/// that passes `max`.
fn next_page(url: &Url, p: &super::Paginate) -> Option<Url> {
    let current = url
        .query_pairs()
        .find(|(k, _)| *k == p.param)
        .and_then(|(_, v)| v.trim().parse::<i64>().ok())
        .unwrap_or(p.start);
    let next = current.checked_add(p.step)?;
    if next > p.max {
        return None;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| *k != p.param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(&p.param, &next.to_string());
    Some(out)
}

/// The URLs a follow selector gives: an element's `href` (or `src`), else the text.
fn hrefs(found: &crate::select::SelectionList<'_>) -> Vec<String> {
    found
        .iter()
        .filter_map(|sel| {
            if sel.is_element() {
                sel.attr("href")
                    .or_else(|| sel.attr("src"))
                    .map(str::to_string)
            } else {
                Some(sel.get())
            }
        })
        .collect()
}

/// A response as a callback sees it: an HTML (or text) page, or JSON.
enum Doc<'h> {
    Html(Page<'h>),
    Json(Rcvar),
}

impl<'h> Doc<'h> {
    /// JSON when the response says so, or when its body is a JSON object or array;
    /// otherwise the parsed page.
    fn of(response: &'h Response) -> Doc<'h> {
        let text = response.text();
        let starts_like_json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
        if json::is_json_response(response) || starts_like_json {
            if let Some(v) = json::parse(text) {
                return Doc::Json(v);
            }
            if text.len() > json::MAX_EMBEDDED_JSON {
                tracing::warn!(
                    url = %response.url,
                    bytes = text.len(),
                    "JSON body over {} bytes: read as a page, not as JSON",
                    json::MAX_EMBEDDED_JSON
                );
            }
        }
        Doc::Html(Page::parse_with_url(text, &response.url))
    }
}

/// The page of an HTML document.
fn page_of<'a, 'h>(doc: &'a Doc<'h>) -> Option<&'a Page<'h>> {
    match doc {
        Doc::Html(page) => Some(page),
        Doc::Json(_) => None,
    }
}

/// A spider defined by a spec, with its run-time arguments.
#[derive(Debug)]
pub struct SpecSpider {
    spec: Arc<Spec>,
    args: Map<String, Value>,
    /// How often each selector (by its path in the spec) failed at crawl time.
    failures: Mutex<HashMap<String, u64>>,
}

impl SpecSpider {
    /// A spider for `spec` with `-a` arguments (which override the spec's defaults).
    /// Fails when a start URL needs an argument that is missing or gives a bad URL.
    pub fn new(spec: Arc<Spec>, args: &[(String, String)]) -> Result<Self, SpecError> {
        let mut all = spec.args.clone();
        for (k, v) in args {
            // An argument declared as a list takes a comma-separated value (`-a ids=1,2`).
            let value = match spec.args.get(k) {
                Some(Value::Array(_)) => Value::Array(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                ),
                _ => Value::String(v.clone()),
            };
            all.insert(k.clone(), value);
        }
        let spider = SpecSpider {
            spec,
            args: all,
            failures: Mutex::new(HashMap::new()),
        };
        for (i, t) in spider.spec.sitemap_urls.iter().enumerate() {
            let path = format!("sitemap_urls[{i}]");
            spider
                .expand_url(t)
                .map_err(|e| SpecError::new(path, format!("{e:#}")))?;
        }
        for (i, t) in spider.spec.start_urls.iter().enumerate() {
            let path = format!("start_urls[{i}]");
            spider
                .expand_url(t)
                .map_err(|e| SpecError::new(path, format!("{e:#}")))?;
        }
        for (i, r) in spider.spec.start_requests.iter().enumerate() {
            let path = format!("start_requests[{i}]");
            spider
                .expand_request(r)
                .map_err(|e| SpecError::new(path, format!("{e:#}")))?;
        }
        Ok(spider)
    }

    /// The spec this spider runs.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    fn arg(&self, name: &str) -> Option<Cow<'_, str>> {
        self.args.get(name).map(|v| match v {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_string()),
        })
    }

    /// A start URL template, once per element of the list arguments it names.
    fn expand_url(&self, t: &super::Template) -> anyhow::Result<Vec<Url>> {
        let sets = start::bindings(&self.args, std::slice::from_ref(t), MAX_EXPANDED)
            .map_err(|e| anyhow!(e))?;
        sets.iter()
            .map(|b| {
                let text = t.render(|v| self.lookup(b, v));
                Url::parse(&text).with_context(|| format!("invalid start URL {text:?}"))
            })
            .collect()
    }

    /// A start request, once per element of the list arguments it names.
    fn expand_request(&self, r: &StartRequest) -> anyhow::Result<Vec<Request>> {
        let sets =
            start::bindings(&self.args, &r.templates(), MAX_EXPANDED).map_err(|e| anyhow!(e))?;
        let mut out = Vec::with_capacity(sets.len());
        for b in &sets {
            let lookup = |v: &str| self.lookup(b, v);
            let text = r.url.render(lookup);
            let url = Url::parse(&text).with_context(|| format!("invalid start URL {text:?}"))?;
            if !matches!(url.scheme(), "http" | "https" | "file") {
                return Err(anyhow!("unsupported URL scheme in {text:?}"));
            }
            let mut req = Request::get(url).method(r.method.clone()).dont_filter(true);
            for (name, t) in &r.headers {
                req = req.header(name.as_str(), &t.render(lookup));
            }
            if let Some((body, ct)) = r.render_body(&lookup) {
                if !r
                    .headers
                    .iter()
                    .any(|(n, _)| n == http::header::CONTENT_TYPE)
                {
                    req = req.header("content-type", ct);
                }
                req = req.body(body);
            }
            if let Some(cb) = &r.callback {
                req = req.callback(cb.clone());
            }
            out.push(req);
        }
        Ok(out)
    }

    /// A placeholder's value: `spider`, a list argument's current element (or one of
    /// its keys), another argument.
    fn lookup<'a>(
        &'a self,
        binding: &'a std::collections::HashMap<String, Value>,
        name: &str,
    ) -> Option<Cow<'a, str>> {
        if name == "spider" {
            return Some(Cow::Borrowed(self.spec.name.as_str()));
        }
        start::lookup_arg(binding, &self.args, name)
    }

    /// Reports a selector that failed on a page (a bad regex in `re:test()`, the
    /// evaluation budget exceeded, a JMESPath type error): logged with the selector's
    /// path in the spec and the URL the first time, then again at the 10th, 100th, ...
    /// failure with the count, so a selector failing on every page neither floods the
    /// log nor goes unseen.
    fn selector_failed(&self, path: &str, url: &Url, error: &dyn std::fmt::Display) {
        let n = {
            let mut failures = self.failures.lock();
            let n = failures.entry(path.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        if n == 1 {
            tracing::warn!(selector = %path, %url, %error, "selector failed; the value is left out");
        } else if n == 10u64.pow(n.ilog10()) {
            tracing::warn!(selector = %path, failures = n, last_url = %url, %error, "selector failed again");
        }
    }

    /// Runs scripted callback `name`: its items and requests go to `out`; a failure (an
    /// error, a limit hit) is reported as [`SpecSpider::selector_failed`] reports
    /// selectors, under `callbacks.NAME.script`.
    fn run_script(
        &self,
        name: &str,
        f: &super::script::ScriptFn,
        response: &Response,
        out: &mut Output,
    ) {
        let is_callback = |cb: &str| self.spec.callbacks.contains_key(cb);
        let (outputs, error) = f.callback(response, &is_callback, name);
        for o in outputs {
            match o {
                super::script::ScriptOutput::Item(item) => out.item(item),
                super::script::ScriptOutput::Request(r) => out.request(*r),
            }
        }
        if let Some(e) = error {
            let path = format!("callbacks.{name}.script");
            let n = {
                let mut failures = self.failures.lock();
                let n = failures.entry(path.clone()).or_insert(0);
                *n += 1;
                *n
            };
            if n == 1 {
                tracing::warn!(script = %path, url = %response.url, error = %e, "script failed on a page");
            } else if n == 10u64.pow(n.ilog10()) {
                tracing::warn!(script = %path, failures = n, last_url = %response.url, error = %e, "script failed again");
            }
        }
    }

    /// The value of `result`, or None after reporting its error under `path`.
    fn ok_or_report<T, E: std::fmt::Display>(
        &self,
        path: impl FnOnce() -> String,
        result: Result<T, E>,
        url: &Url,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.selector_failed(&path(), url, &e);
                None
            }
        }
    }

    /// The JSON elements of an `items = { jmespath = ... }` on this response.
    fn json_items(
        &self,
        doc: &Doc<'_>,
        text: Option<&Query>,
        cut: Option<&Regex>,
        path: &JsonPath,
        body: &str,
    ) -> Result<Vec<Rcvar>, String> {
        let mut out = Vec::new();
        match (doc, text) {
            // JSON cut out of a body that is not JSON (JSONP, a .js file, a text page).
            (_, None) if cut.is_some() => {
                let cut = cut.and_then(|re| super::field::first_match(re, body));
                if let Some(data) = cut.and_then(json::parse) {
                    out.extend(json::elements(path.search(&data)?));
                }
            }
            (Doc::Json(v), None) => out.extend(json::elements(path.search(v)?)),
            (Doc::Html(page), Some(q)) => {
                for text in page.try_select(q).map_err(|e| e.to_string())?.iter() {
                    let text = text.get();
                    let cut = match cut {
                        Some(re) => super::field::first_match(re, &text),
                        None => Some(text.as_str()),
                    };
                    if let Some(data) = cut.and_then(json::parse) {
                        out.extend(json::elements(path.search(&data)?));
                    }
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// The JSON items of a callback's `items` that are not HTML nodes: JSON (from the
    /// response, a page's text, or cut out of the body), JSON-LD and microdata objects,
    /// CSV rows and regex matches. A source that fails on this page is reported and
    /// gives none.
    fn json_items_of(
        &self,
        name: &str,
        src: &ItemSource,
        doc: &Doc<'_>,
        base: &Url,
        response: &Response,
    ) -> Vec<Rcvar> {
        let path = || format!("callbacks.{name}.items");
        match (src, doc) {
            (ItemSource::Json { text, cut, path: p }, _) => {
                let found = self.json_items(doc, text.as_ref(), cut.as_ref(), p, response.text());
                self.ok_or_report(path, found, &response.url)
                    .unwrap_or_default()
            }
            (ItemSource::JsonLd(types), Doc::Html(page)) => json::json_ld_objects(page, types),
            (ItemSource::Microdata { types, json_ld }, Doc::Html(page)) => {
                let mut found = json_ld
                    .as_ref()
                    .map(|t| json::json_ld_objects(page, t))
                    .unwrap_or_default();
                found.extend(super::structured::microdata_objects(page, base, types));
                found
            }
            (ItemSource::Csv { text, .. } | ItemSource::Regex { text, .. }, _) => {
                let texts = match (text, doc) {
                    (None, _) => Ok(vec![Cow::Borrowed(response.text())]),
                    (Some(q), Doc::Html(page)) => page
                        .try_select(q)
                        .map(|l| l.getall().into_iter().map(Cow::Owned).collect()),
                    (Some(_), Doc::Json(_)) => Ok(Vec::new()),
                };
                self.ok_or_report(path, texts, &response.url)
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|t| super::structured::text_items(src, t))
                    .take(super::structured::MAX_CSV_ROWS)
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Runs callback `name` on a response's document.
    fn run_callback(&self, name: &str, doc: &Doc<'_>, response: &Response, out: &mut Output) {
        let Some(cb) = self.spec.callbacks.get(name) else {
            return;
        };
        let status = response.status.to_string();
        let depth = response.request.depth.to_string();
        let vars = |v: &str| -> Option<Cow<'_, str>> {
            match v {
                "url" => Some(Cow::Borrowed(response.url.as_str())),
                "status" => Some(Cow::Borrowed(status.as_str())),
                "depth" => Some(Cow::Borrowed(depth.as_str())),
                "spider" => Some(Cow::Borrowed(self.spec.name.as_str())),
                other => self.arg(other),
            }
        };
        let base = match doc {
            Doc::Html(page) => page.effective_base(&response.url),
            Doc::Json(_) => response.url.clone(),
        };
        if let Some(f) = &cb.script {
            self.run_script(name, f, response, out);
        }
        let before = (out.items.len(), out.requests.len(), out.dropped.len());
        let items_path = || format!("callbacks.{name}.items");
        if !cb.fields.is_empty() {
            match (&cb.items, doc) {
                (None, Doc::Html(page)) => {
                    self.emit_item(name, cb, Scope::Page(page), &vars, &base, response, out)
                }
                (None, Doc::Json(v)) => {
                    self.emit_item(name, cb, Scope::Json(v, None), &vars, &base, response, out)
                }
                (Some(ItemSource::Nodes(q)), Doc::Html(page)) => {
                    let nodes = self.ok_or_report(items_path, page.try_select(q), &response.url);
                    for node in nodes.iter().flat_map(|l| l.iter()) {
                        self.emit_item(name, cb, Scope::Node(&node), &vars, &base, response, out);
                    }
                }
                (Some(src), _) => {
                    for v in self.json_items_of(name, src, doc, &base, response) {
                        let scope = Scope::Json(&v, page_of(doc));
                        self.emit_item(name, cb, scope, &vars, &base, response, out);
                    }
                }
            }
        }
        // Paginate while this page yielded items (or sent items on to detail pages).
        if let Some(p) = &cb.paginate {
            let yielded = out.items.len() > before.0
                || out.dropped.len() > before.2
                || out.requests[before.1..]
                    .iter()
                    .any(|r| r.cb_kwargs.contains_key(PASSED_ITEM));
            let last = match (&p.stop, doc) {
                (Some(stop), Doc::Json(v)) => {
                    let path = || format!("callbacks.{name}.paginate.stop");
                    self.ok_or_report(path, stop.search(v), &response.url)
                        .is_none_or(|r| r.is_truthy())
                }
                _ => false,
            };
            if yielded && !last {
                if let Some(next) = next_page(&response.request.url, p) {
                    let mut r = Request::get(next).callback(name.to_string());
                    r.depth = response.request.depth + 1;
                    out.request(r);
                }
            }
        }
        if let (Some(form), Doc::Html(page)) = (&cb.form, doc) {
            self.submit_form(name, form, page, &vars, response, out);
        }
        for (i, f) in cb.follow.iter().enumerate() {
            let path = || format!("callbacks.{name}.follow[{i}]");
            let hrefs: Vec<String> = match (&f.source, doc) {
                (FollowSource::Select(q), Doc::Html(page)) => {
                    let Some(found) = self.ok_or_report(path, page.try_select(q), &response.url)
                    else {
                        continue;
                    };
                    hrefs(&found)
                }
                (FollowSource::Json(p), Doc::Json(v)) => {
                    match self.ok_or_report(path, p.search(v), &response.url) {
                        Some(found) => json::values(&found),
                        None => continue,
                    }
                }
                _ => continue,
            };
            for href in hrefs {
                let Ok(url) = base.join(href.trim()) else {
                    continue;
                };
                if !matches!(url.scheme(), "http" | "https" | "file") {
                    continue;
                }
                let mut r = Request::get(url)
                    .callback(f.callback.clone())
                    .priority(f.priority);
                r.depth = response.request.depth + 1;
                out.request(r);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_item<'v>(
        &self,
        name: &str,
        cb: &Callback,
        scope: Scope<'_, '_>,
        vars: &dyn Fn(&str) -> Option<Cow<'v, str>>,
        base: &Url,
        response: &Response,
        out: &mut Output,
    ) {
        // An item passed on by a listing's `then` grows here.
        let mut item = match response.request.cb_kwargs.get(PASSED_ITEM) {
            Some(Value::Object(passed)) => passed.clone(),
            _ => Item::new(),
        };
        for field in &cb.fields {
            // Templates see the fields extracted before this one, then the built-ins.
            let item_vars = |v: &str| -> Option<Cow<'_, str>> {
                match item.get(v) {
                    Some(Value::String(s)) => Some(Cow::Owned(s.clone())),
                    Some(Value::Null) => None,
                    Some(other) => Some(Cow::Owned(other.to_string())),
                    None => vars(v),
                }
            };
            let extracted = field
                .extract(scope, &item_vars, Some(base))
                .unwrap_or_else(|e| {
                    let path = format!("callbacks.{name}.fields.{}", field.name);
                    self.selector_failed(&path, &response.url, &e);
                    if field.required && field.default.is_none() {
                        Extracted::MissingRequired
                    } else {
                        field
                            .default
                            .clone()
                            .map_or(Extracted::Missing, Extracted::Value)
                    }
                });
            match extracted {
                Extracted::Value(v) => {
                    item.insert(field.name.clone(), v);
                }
                Extracted::Missing => {}
                Extracted::MissingRequired => {
                    out.drop_item(format!("missing required field {}", field.name));
                    return;
                }
            }
        }
        let Some(then) = &cb.then else {
            // Fields named `_...` are scratch values for templates, not output.
            item.retain(|k, _| !k.starts_with('_'));
            return out.item(item);
        };
        let path = || format!("callbacks.{name}.then");
        let hrefs = match (&then.source, scope) {
            (FollowSource::Select(q), Scope::Page(p)) => self
                .ok_or_report(path, p.try_select(q), &response.url)
                .map(|l| hrefs(&l)),
            (FollowSource::Select(q), Scope::Node(n)) => self
                .ok_or_report(path, n.try_select(q), &response.url)
                .map(|l| hrefs(&l)),
            (FollowSource::Json(p), Scope::Json(v, _)) => self
                .ok_or_report(path, p.search(v), &response.url)
                .map(|found| json::values(&found)),
            _ => None,
        };
        let url = hrefs
            .unwrap_or_default()
            .into_iter()
            .find_map(|h| base.join(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https" | "file"));
        match url {
            Some(url) => {
                let mut r = Request::get(url)
                    .callback(then.callback.clone())
                    .priority(then.priority)
                    .cb_kwarg(PASSED_ITEM, Value::Object(item));
                r.depth = response.request.depth + 1;
                out.request(r);
            }
            None => out.drop_item(format!("no detail URL for callbacks.{name}.then")),
        }
    }

    /// Submits the form a callback names, with its `formdata` rendered for this page.
    fn submit_form<'v>(
        &self,
        name: &str,
        form: &super::form::FormSubmit,
        page: &Page<'_>,
        vars: &dyn Fn(&str) -> Option<Cow<'v, str>>,
        response: &Response,
        out: &mut Output,
    ) {
        let path = || format!("callbacks.{name}.form");
        let query = form
            .select
            .clone()
            .unwrap_or_else(|| Query::xpath("//form").expect("a valid constant XPath"));
        let Some(found) = self.ok_or_report(path, page.try_select(&query), &response.url) else {
            return;
        };
        let data: Vec<(String, String)> = form
            .formdata
            .iter()
            .map(|(k, t)| (k.clone(), t.render(vars)))
            .collect();
        let submission = found.iter().next().and_then(|el| {
            super::form::submit(
                &super::form::QUERIES,
                &el,
                &data,
                form.dont_click,
                &response.url,
            )
        });
        let Some(s) = submission else {
            self.selector_failed(&path(), &response.url, &"no <form> found on the page");
            return;
        };
        // As for followed links: a page's form may not send the crawl elsewhere.
        if !matches!(s.url.scheme(), "http" | "https" | "file") {
            self.selector_failed(&path(), &response.url, &"the form's action is not http(s)");
            return;
        }
        let mut r = Request::get(s.url)
            .method(s.method)
            .callback(form.callback.clone())
            .priority(form.priority);
        if let Some(body) = s.body {
            r = r
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        r.depth = response.request.depth + 1;
        out.request(r);
    }

    /// CrawlSpider: every rule extracts links; each link is requested once per page.
    /// Only HTML responses are followed, as in Scrapy (a text or binary file yields no
    /// links).
    fn apply_rules(&self, page: &Page<'_>, response: &Response, out: &mut Output) {
        if !response.is_html() {
            return;
        }
        let base = page.effective_base(&response.url);
        let mut seen = HashSet::new();
        for (i, rule) in self.spec.rules.iter().enumerate() {
            for link in rule.extractor.extract(page, &base) {
                if !seen.insert(link.url.clone()) {
                    continue;
                }
                let mut r = Request::get(link.url)
                    .callback(RULE_CALLBACK)
                    .meta("rule", i)
                    .priority(rule.priority);
                r.depth = response.request.depth + 1;
                out.request(r);
            }
        }
    }

    fn parse_sitemap(&self, response: &Response, out: &mut Output) -> anyhow::Result<()> {
        let body = sitemap::maybe_gunzip(
            &response.body,
            response.url.as_str(),
            response.header("content-type"),
            SITEMAP_MAX_BYTES,
        )
        .map_err(|e| anyhow!("{e}"))?;
        let follow = |url: Url, callback: &str, out: &mut Output| {
            let mut r = Request::get(url).callback(callback);
            r.depth = response.request.depth + 1;
            out.request(r);
        };
        if response.url.path().ends_with("/robots.txt") {
            let text = String::from_utf8_lossy(&body);
            for url in sitemap::sitemap_urls_from_robots(&text, &response.url) {
                follow(url, SITEMAP_CALLBACK, out);
            }
            return Ok(());
        }
        match sitemap::parse_sitemap(&body).map_err(|e| anyhow!("{e}"))? {
            Sitemap::Index(locs) => {
                for loc in locs {
                    let wanted = self.spec.sitemap_follow.is_empty()
                        || self.spec.sitemap_follow.iter().any(|re| re.is_match(&loc));
                    if let (true, Some(url)) = (wanted, response.urljoin(&loc)) {
                        follow(url, SITEMAP_CALLBACK, out);
                    }
                }
            }
            Sitemap::UrlSet(entries) => {
                for e in entries {
                    let Some((_, cb)) = self
                        .spec
                        .sitemap_rules
                        .iter()
                        .find(|(re, _)| re.is_match(&e.loc))
                    else {
                        continue;
                    };
                    if let Some(url) = response.urljoin(&e.loc) {
                        follow(url, cb, out);
                    }
                }
            }
        }
        Ok(())
    }
}

impl Spider for SpecSpider {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn allowed_domains(&self) -> Vec<String> {
        self.spec.allowed_domains.clone()
    }

    fn custom_settings(&self) -> Map<String, Value> {
        self.spec.settings.clone()
    }

    fn start_requests(&self) -> anyhow::Result<StartRequests> {
        let mut requests = Vec::new();
        for t in &self.spec.sitemap_urls {
            for url in self.expand_url(t)? {
                requests.push(
                    Request::get(url)
                        .callback(SITEMAP_CALLBACK)
                        .dont_filter(true),
                );
            }
        }
        for t in &self.spec.start_urls {
            for url in self.expand_url(t)? {
                requests.push(Request::get(url).dont_filter(true));
            }
        }
        for r in &self.spec.start_requests {
            requests.extend(self.expand_request(r)?);
        }
        Ok(Box::new(requests.into_iter()))
    }

    fn parse(&self, callback: &str, response: &Response, out: &mut Output) -> anyhow::Result<()> {
        if callback == SITEMAP_CALLBACK {
            return self.parse_sitemap(response, out);
        }
        // Scrapy gives a binary body a plain `Response`: no text, no selectors.
        if !response.is_text() {
            return Err(anyhow!(
                "Response content isn't text ({}): callback {callback:?} cannot select in it",
                response.header("content-type").unwrap_or("no Content-Type")
            ));
        }
        let doc = Doc::of(response);
        match callback {
            "parse" => {
                if let Some(cb) = &self.spec.start_callback {
                    self.run_callback(cb, &doc, response, out);
                }
                if let Doc::Html(page) = &doc {
                    self.apply_rules(page, response, out);
                }
            }
            RULE_CALLBACK => {
                let idx = response.request.meta_u64("rule").unwrap_or(0) as usize;
                let rule = self
                    .spec
                    .rules
                    .get(idx)
                    .ok_or_else(|| anyhow!("request names rule {idx}, which does not exist"))?;
                if let Some(cb) = &rule.callback {
                    self.run_callback(cb, &doc, response, out);
                }
                if let (true, Doc::Html(page)) = (rule.follow, &doc) {
                    self.apply_rules(page, response, out);
                }
            }
            name if self.spec.callbacks.contains_key(name) => {
                self.run_callback(name, &doc, response, out)
            }
            other => {
                return Err(anyhow!(
                    "spider {} has no callback {other:?}",
                    self.spec.name
                ))
            }
        }
        Ok(())
    }
}
