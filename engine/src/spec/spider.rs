//! Runs a validated [`Spec`] as a [`Spider`]: CrawlSpider rules, SitemapSpider
//! sitemaps, and field extraction.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;

use anyhow::{anyhow, Context};
use serde_json::{Map, Value};
use url::Url;

use super::{Callback, Extracted, Scope, Spec, SpecError};
use crate::select::{Page, SelectError, SelectionList};
use crate::sitemap::{self, Sitemap};
use crate::spider::{Output, StartRequests};
use crate::{Item, Request, Response, Spider};

const SITEMAP_CALLBACK: &str = "_sitemap";
const RULE_CALLBACK: &str = "_rule";
/// Largest decompressed sitemap accepted (Scrapy's SITEMAP limit is DOWNLOAD_MAXSIZE).
const SITEMAP_MAX_BYTES: usize = 64 << 20;

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
            all.insert(k.clone(), Value::String(v.clone()));
        }
        let spider = SpecSpider {
            spec,
            args: all,
            failures: Mutex::new(HashMap::new()),
        };
        for (i, t) in spider.spec.start_urls.iter().enumerate() {
            let path = format!("start_urls[{i}]");
            spider
                .start_url(t)
                .map_err(|e| SpecError::new(path, e.to_string()))?;
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

    fn start_url(&self, t: &super::Template) -> anyhow::Result<Url> {
        let text = t.render(|v| match v {
            "spider" => Some(Cow::Borrowed(self.spec.name.as_str())),
            other => self.arg(other),
        });
        Url::parse(&text).with_context(|| format!("invalid start URL {text:?}"))
    }

    /// Reports a selector that failed on a page (a bad regex in `re:test()`, the
    /// evaluation budget exceeded): logged with the selector's path in the spec and the
    /// URL the first time, then again at the 10th, 100th, ... failure with the count,
    /// so a selector failing on every page neither floods the log nor goes unseen.
    fn selector_failed(&self, path: &str, url: &Url, error: &SelectError) {
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

    /// Runs a callback's `items` or `follow` selector, reporting a failure.
    fn select_or_report<'p>(
        &self,
        path: impl FnOnce() -> String,
        result: Result<SelectionList<'p>, SelectError>,
        url: &Url,
    ) -> Option<SelectionList<'p>> {
        match result {
            Ok(list) => Some(list),
            Err(e) => {
                self.selector_failed(&path(), url, &e);
                None
            }
        }
    }

    /// Runs callback `name` on a parsed page.
    fn run_callback(&self, name: &str, page: &Page<'_>, response: &Response, out: &mut Output) {
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
        if !cb.fields.is_empty() {
            match &cb.items {
                Some(q) => {
                    let nodes = self.select_or_report(
                        || format!("callbacks.{name}.items"),
                        page.try_select(q),
                        &response.url,
                    );
                    for node in nodes.iter().flat_map(|l| l.iter()) {
                        self.emit_item(name, cb, Scope::Node(&node), &vars, response, out);
                    }
                }
                None => self.emit_item(name, cb, Scope::Page(page), &vars, response, out),
            }
        }
        for (i, f) in cb.follow.iter().enumerate() {
            let Some(found) = self.select_or_report(
                || format!("callbacks.{name}.follow[{i}]"),
                page.try_select(&f.query),
                &response.url,
            ) else {
                continue;
            };
            for sel in found.iter() {
                let href = if sel.is_element() {
                    sel.attr("href")
                        .or_else(|| sel.attr("src"))
                        .map(str::to_string)
                } else {
                    Some(sel.get())
                };
                let Some(href) = href else { continue };
                let Some(url) = page.urljoin(&href).or_else(|| response.urljoin(&href)) else {
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

    fn emit_item<'v>(
        &self,
        name: &str,
        cb: &Callback,
        scope: Scope<'_, '_>,
        vars: &dyn Fn(&str) -> Option<Cow<'v, str>>,
        response: &Response,
        out: &mut Output,
    ) {
        let mut item = Item::new();
        for field in &cb.fields {
            let extracted = field.extract(scope, vars).unwrap_or_else(|e| {
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
        out.item(item);
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
            requests.push(
                Request::get(self.start_url(t)?)
                    .callback(SITEMAP_CALLBACK)
                    .dont_filter(true),
            );
        }
        for t in &self.spec.start_urls {
            requests.push(Request::get(self.start_url(t)?).dont_filter(true));
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
        let page = Page::parse_with_url(response.text(), &response.url);
        match callback {
            "parse" => {
                if let Some(cb) = &self.spec.start_callback {
                    self.run_callback(cb, &page, response, out);
                }
                self.apply_rules(&page, response, out);
            }
            RULE_CALLBACK => {
                let idx = response.request.meta_u64("rule").unwrap_or(0) as usize;
                let rule = self
                    .spec
                    .rules
                    .get(idx)
                    .ok_or_else(|| anyhow!("request names rule {idx}, which does not exist"))?;
                if let Some(cb) = &rule.callback {
                    self.run_callback(cb, &page, response, out);
                }
                if rule.follow {
                    self.apply_rules(&page, response, out);
                }
            }
            name if self.spec.callbacks.contains_key(name) => {
                self.run_callback(name, &page, response, out)
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
