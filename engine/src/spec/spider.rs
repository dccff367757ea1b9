//! Runs a validated [`Spec`] as a [`Spider`]: CrawlSpider rules, SitemapSpider
//! sitemaps, and field extraction.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use serde_json::{Map, Value};
use url::Url;

use super::{Callback, Extracted, Scope, Spec, SpecError};
use crate::select::Page;
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
}

impl SpecSpider {
    /// A spider for `spec` with `-a` arguments (which override the spec's defaults).
    /// Fails when a start URL needs an argument that is missing or gives a bad URL.
    pub fn new(spec: Arc<Spec>, args: &[(String, String)]) -> Result<Self, SpecError> {
        let mut all = spec.args.clone();
        for (k, v) in args {
            all.insert(k.clone(), Value::String(v.clone()));
        }
        let spider = SpecSpider { spec, args: all };
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
                    for node in page.select(q).iter() {
                        self.emit_item(cb, Scope::Node(&node), &vars, out);
                    }
                }
                None => self.emit_item(cb, Scope::Page(page), &vars, out),
            }
        }
        for f in &cb.follow {
            for sel in page.select(&f.query).iter() {
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
        cb: &Callback,
        scope: Scope<'_, '_>,
        vars: &dyn Fn(&str) -> Option<Cow<'v, str>>,
        out: &mut Output,
    ) {
        let mut item = Item::new();
        for field in &cb.fields {
            match field.extract(scope, vars) {
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
