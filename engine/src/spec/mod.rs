//! Declarative spider specs (TOML or JSON, one schema): start URLs, CrawlSpider rules,
//! SitemapSpider sitemaps, and callbacks that extract item fields with CSS/XPath.
//!
//! [`Spec::parse`] validates everything before any request is made and names the field
//! at fault: a bad regex, a bad selector, an unknown key, a wrong type, an unknown
//! callback or placeholder. [`SpecSpider`] runs a validated spec.

pub mod extends;
mod field;
pub mod form;
pub mod hours;
pub mod json;
pub mod limits;
pub mod process;
mod schema;
pub mod script;
mod spider;
pub mod start;
pub mod structured;
mod template;

use std::collections::HashSet;
use std::path::Path;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value};

pub use extends::{DirSources, NoSources, SpecSources};
pub use field::{ExtractError, Extracted, Field, Scope, Source};
pub use schema::{CallbackSpec, FieldSpec, FieldType, FollowSpec, SitemapRuleSpec, SpecFile};
pub use spider::SpecSpider;
pub use template::Template;

use crate::linkextract::{LinkExtractor, LinkExtractorConfig, LinkExtractorError};
use crate::select::Query;
use json::JsonPath;
use process::Processor;

/// A spec error: where (a dotted path such as `callbacks.product.fields.price.re`) and
/// what is wrong. A spec with several errors reports them all: the first here, the
/// others in [`SpecError::more`]; it displays one error per line.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// The field at fault (`spec` for the document as a whole).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
    /// The spec's other errors, in the order they were found.
    pub more: Vec<SpecError>,
}

impl SpecError {
    /// One error at `path` (a field path such as `callbacks.x.fields.y`).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            path: path.into(),
            message: message.into(),
            more: Vec::new(),
        }
    }

    /// Every error, this one first: `(path, message)`.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((self.path.as_str(), self.message.as_str())).chain(
            self.more
                .iter()
                .map(|e| (e.path.as_str(), e.message.as_str())),
        )
    }

    /// How many errors this holds.
    pub fn count(&self) -> usize {
        1 + self.more.len()
    }

    fn into_list(self) -> Vec<SpecError> {
        let mut first = self;
        let more = std::mem::take(&mut first.more);
        std::iter::once(first).chain(more).collect()
    }
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (path, message)) in self.all().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{path}: {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// Collects the errors of independent checks, so a spec reports all of them at once.
#[derive(Default)]
struct Errors(Vec<SpecError>);

impl Errors {
    /// The value of `r`, or None after recording its error(s).
    fn take<T>(&mut self, r: Result<T, SpecError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.extend(e.into_list());
                None
            }
        }
    }

    fn push(&mut self, e: SpecError) {
        self.0.extend(e.into_list());
    }

    /// Ok when nothing was recorded, else every error as one [`SpecError`].
    fn check(self) -> Result<(), SpecError> {
        let mut it = self.0.into_iter();
        match it.next() {
            None => Ok(()),
            Some(mut first) => {
                first.more = it.collect();
                Err(first)
            }
        }
    }
}

/// The text format of a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// TOML.
    Toml,
    /// JSON.
    Json,
}

impl SpecFormat {
    /// The format for a file name (`.toml`, `.json`), if known.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(SpecFormat::Toml),
            "json" => Some(SpecFormat::Json),
            _ => None,
        }
    }
}

/// A CrawlSpider rule: a link extractor, a callback, and whether to keep following.
#[derive(Debug)]
pub struct Rule {
    /// Extracts the links.
    pub extractor: LinkExtractor,
    /// The callback for extracted pages.
    pub callback: Option<String>,
    /// Apply the rules again on extracted pages.
    pub follow: bool,
    /// Request priority.
    pub priority: i32,
}

/// Where a callback's items come from.
#[derive(Debug, Clone)]
pub enum ItemSource {
    /// One item per HTML node a selector matches.
    Nodes(Query),
    /// One item per element of a JMESPath result: over the JSON response, or over the
    /// JSON a selector takes out of the page (cut by a regex first when given).
    Json {
        /// The selector of the JSON text, when it is in an HTML page.
        text: Option<Query>,
        /// A regex cutting the JSON out of the selected text.
        cut: Option<Regex>,
        /// The JMESPath giving the elements.
        path: JsonPath,
    },
    /// One item per JSON-LD object of these `@type`s (any when empty).
    JsonLd(Vec<String>),
    /// One item per microdata item of these types, shaped like JSON-LD; first the
    /// JSON-LD objects of `json_ld` types, when given.
    Microdata {
        /// The microdata item types.
        types: Vec<String>,
        /// JSON-LD types also taken.
        json_ld: Option<Vec<String>>,
    },
    /// One item per CSV row of the body, or of the text a selector picks.
    Csv {
        /// The selector of the CSV text, when it is in an HTML page.
        text: Option<Query>,
        /// How the CSV is read.
        options: structured::CsvOptions,
    },
    /// One item per match of a regex over the body, or over the text a selector picks:
    /// an object of its groups.
    Regex {
        /// The selector of the text, when not the whole body.
        text: Option<Query>,
        /// The regex.
        re: Regex,
    },
}

/// Where followed URLs come from.
#[derive(Debug, Clone)]
pub enum FollowSource {
    /// A selector (elements give their `href`/`src`).
    Select(Query),
    /// A JMESPath over the JSON response.
    Json(JsonPath),
}

/// Links a callback follows.
#[derive(Debug, Clone)]
pub struct Follow {
    /// Selects URLs.
    pub source: FollowSource,
    /// The callback for followed pages.
    pub callback: String,
    /// Request priority.
    pub priority: i32,
}

/// A validated callback.
#[derive(Debug, Clone)]
pub struct Callback {
    /// One item per node, JSON element or JSON-LD object, when set.
    pub items: Option<ItemSource>,
    /// The fields, in output order.
    pub fields: Vec<Field>,
    /// Links to follow.
    pub follow: Vec<Follow>,
    /// Each item goes on to its detail page instead of being emitted.
    pub then: Option<Follow>,
    /// Pagination by a query counter.
    pub paginate: Option<Paginate>,
    /// A form of the page to submit.
    pub form: Option<form::FormSubmit>,
    /// The script function that handles the response (a scripted callback).
    pub script: Option<script::ScriptFn>,
}

/// Pagination by a query counter: the next page is requested while a page yields
/// items (or goes on to a detail page) and the counter stays within `max`.
#[derive(Debug, Clone)]
pub struct Paginate {
    /// The query parameter.
    pub param: String,
    /// The counter of a URL without the parameter.
    pub start: i64,
    /// The increment.
    pub step: i64,
    /// The last counter requested.
    pub max: i64,
    /// True on the JSON of the last page.
    pub stop: Option<JsonPath>,
}

/// The most pages one pagination may request.
pub const MAX_PAGES: i64 = 10_000;

/// A validated spider spec.
#[derive(Debug)]
pub struct Spec {
    /// The spider's name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Start URL templates.
    pub start_urls: Vec<Template>,
    /// Start requests with methods, headers or bodies.
    pub start_requests: Vec<start::StartRequest>,
    /// Allowed domains.
    pub allowed_domains: Vec<String>,
    /// Callback for start responses.
    pub start_callback: Option<String>,
    /// CrawlSpider rules.
    pub rules: Vec<Rule>,
    /// Named callbacks.
    pub callbacks: IndexMap<String, Callback>,
    /// Sitemap URL templates.
    pub sitemap_urls: Vec<Template>,
    /// (pattern, callback) pairs for sitemap entries.
    pub sitemap_rules: Vec<(Regex, String)>,
    /// Sitemap-index entries to follow (empty = all).
    pub sitemap_follow: Vec<Regex>,
    /// Spider-priority settings.
    pub settings: Map<String, Value>,
    /// Declared arguments and their defaults.
    pub args: Map<String, Value>,
    /// DeltaFetch-style incremental crawling.
    pub incremental: bool,
}

impl Spec {
    /// Parses and validates a spec; `known_args` are argument names that will be
    /// supplied at run time (besides those the spec declares under `args`).
    pub fn parse(text: &str, format: SpecFormat, known_args: &[&str]) -> Result<Spec, SpecError> {
        Spec::parse_with(text, format, known_args, &extends::NoSources)
    }

    /// [`Spec::parse`] with a place to look up what `extends` and `script_file` name.
    pub fn parse_with(
        text: &str,
        format: SpecFormat,
        known_args: &[&str],
        sources: &dyn SpecSources,
    ) -> Result<Spec, SpecError> {
        let doc = Spec::resolve(text, format, sources)?;
        if doc.get("abstract") == Some(&Value::Bool(true)) {
            return Err(SpecError::new(
                "abstract",
                "an abstract spec is only a base for others (extends = \"...\"), not a spider",
            ));
        }
        Spec::from_document(doc, known_args)
    }

    /// The spec's document with its `extends` chain merged in and its `script_file`
    /// read: a self-contained spec for [`Spec::from_document`].
    pub fn resolve(
        text: &str,
        format: SpecFormat,
        sources: &dyn SpecSources,
    ) -> Result<Value, SpecError> {
        extends::resolve(extends::document(text, format)?, sources)
    }

    /// Validates a resolved spec document (see [`Spec::resolve`]).
    pub fn from_document(doc: Value, known_args: &[&str]) -> Result<Spec, SpecError> {
        let file: SpecFile = serde_path_to_error::deserialize(doc).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                "spec".to_string()
            } else {
                path
            };
            SpecError::new(path, e.into_inner().to_string())
        })?;
        compile(file, known_args)
    }

    /// Reads and validates a spec file (`.toml` or `.json`; other names are tried as
    /// TOML, then JSON).
    pub fn load(path: &Path, known_args: &[&str]) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::new("spec", format!("cannot read {}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let sources = extends::DirSources(dir);
        match SpecFormat::from_path(path) {
            Some(f) => Spec::parse_with(&text, f, known_args, &sources),
            None => Spec::parse_with(&text, SpecFormat::Toml, known_args, &sources).or_else(|e| {
                Spec::parse_with(&text, SpecFormat::Json, known_args, &sources).map_err(|_| e)
            }),
        }
    }
}

/// Whether `name` is a safe spider or project name (used in storage paths).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn regex(path: &str, pattern: &str) -> Result<Regex, SpecError> {
    limits::check_len(path, "regex", pattern)?;
    Regex::new(pattern).map_err(|e| SpecError::new(path, format!("invalid regex {pattern:?}: {e}")))
}

fn one_selector(
    path: &str,
    css: Option<&str>,
    xpath: Option<&str>,
) -> Result<Option<Query>, SpecError> {
    match (css, xpath) {
        (Some(_), Some(_)) => Err(SpecError::new(path, "give either css or xpath, not both")),
        (Some(c), None) => Query::css(c)
            .map(Some)
            .map_err(|e| SpecError::new(format!("{path}.css"), e.to_string())),
        (None, Some(x)) => Query::xpath(x)
            .map(Some)
            .map_err(|e| SpecError::new(format!("{path}.xpath"), e.to_string())),
        (None, None) => Ok(None),
    }
}

/// Compiles a `follow` entry (or a `then`) of callback `name`.
fn compile_follow(fpath: &str, name: &str, f: &FollowSpec) -> Result<Follow, SpecError> {
    let source = match (&f.jmespath, f.css.is_some() || f.xpath.is_some()) {
        (Some(_), true) => Err(SpecError::new(
            fpath,
            "give css, xpath or jmespath, not several",
        )),
        (Some(j), false) => jmespath(&format!("{fpath}.jmespath"), j).map(FollowSource::Json),
        (None, _) => one_selector(fpath, f.css.as_deref(), f.xpath.as_deref()).and_then(|q| {
            q.map(FollowSource::Select)
                .ok_or_else(|| SpecError::new(fpath, "needs css, xpath or jmespath"))
        }),
    }?;
    Ok(Follow {
        source,
        callback: f.callback.clone().unwrap_or_else(|| name.to_string()),
        priority: f.priority,
    })
}

fn jmespath(path: &str, expr: &str) -> Result<JsonPath, SpecError> {
    JsonPath::compile(expr).map_err(|m| SpecError::new(path, m))
}

/// Compiles a callback's `items`: nodes, JSON elements or JSON-LD objects.
fn compile_items(path: &str, s: &schema::SelectorSpec) -> Result<ItemSource, SpecError> {
    if let Some(compiled) = structured::compile_items(path, s) {
        return compiled;
    }
    let selector = one_selector(path, s.css.as_deref(), s.xpath.as_deref())?;
    match (&s.json_ld, &s.jmespath, selector) {
        (Some(types), None, None) if s.re.is_none() => Ok(ItemSource::JsonLd(types.to_vec())),
        (Some(_), _, _) => Err(SpecError::new(
            path,
            "json_ld takes no css, xpath, jmespath or re",
        )),
        (None, Some(j), text) => Ok(ItemSource::Json {
            cut: s
                .re
                .as_deref()
                .map(|p| regex(&format!("{path}.re"), p))
                .transpose()?,
            path: jmespath(&format!("{path}.jmespath"), j)?,
            text,
        }),
        (None, None, Some(q)) if s.re.is_none() => Ok(ItemSource::Nodes(q)),
        (None, None, Some(_)) => Err(SpecError::new(
            format!("{path}.re"),
            "re cuts JSON out of the selected text: it needs jmespath",
        )),
        (None, None, None) => Err(SpecError::new(
            path,
            "needs css, xpath, jmespath, re, json_ld, microdata or csv",
        )),
    }
}

fn template(path: &str, text: &str, known: &HashSet<String>) -> Result<Template, SpecError> {
    limits::check_len(path, "template", text)?;
    let t = Template::parse(text).map_err(|m| SpecError::new(path, m))?;
    if let Some(v) = t.unknown_var(known) {
        return Err(SpecError::new(
            path,
            format!(
                "unknown placeholder {{{v}}}: declare it under [args] or pass -a {v}=VALUE \
                 (built-ins: {})",
                template::BUILTINS.join(", ")
            ),
        ));
    }
    Ok(t)
}

fn start_url(path: &str, text: &str, known: &HashSet<String>) -> Result<Template, SpecError> {
    let t = template(path, text, known)?;
    if t.is_constant() {
        let url = url::Url::parse(text)
            .map_err(|e| SpecError::new(path, format!("invalid URL {text:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https" | "file") {
            return Err(SpecError::new(
                path,
                format!(
                    "unsupported URL scheme {:?} (use http, https or file)",
                    url.scheme()
                ),
            ));
        }
    }
    Ok(t)
}

fn compile(file: SpecFile, known_args: &[&str]) -> Result<Spec, SpecError> {
    let mut errs = Errors::default();
    if !is_valid_name(&file.name) {
        errs.push(SpecError::new(
            "name",
            format!(
                "invalid spider name {:?}: use 1-100 letters, digits, '_', '-' or '.'",
                file.name
            ),
        ));
    }
    let known: HashSet<String> = file
        .args
        .keys()
        .cloned()
        .chain(known_args.iter().map(|s| s.to_string()))
        .collect();
    if file.start_urls.is_empty() && file.sitemap_urls.is_empty() && file.start_requests.is_empty()
    {
        errs.push(SpecError::new(
            "start_urls",
            "a spider needs start_urls, start_requests or sitemap_urls",
        ));
    }
    for (path, what, n, max) in [
        (
            "start_urls",
            "start URLs",
            file.start_urls.len(),
            limits::MAX_START_URLS,
        ),
        (
            "sitemap_urls",
            "sitemap URLs",
            file.sitemap_urls.len(),
            limits::MAX_START_URLS,
        ),
        ("rules", "rules", file.rules.len(), limits::MAX_RULES),
        (
            "callbacks",
            "callbacks",
            file.callbacks.len(),
            limits::MAX_CALLBACKS,
        ),
        (
            "sitemap_rules",
            "sitemap rules",
            file.sitemap_rules.len(),
            limits::MAX_SITEMAP_RULES,
        ),
        (
            "sitemap_follow",
            "sitemap_follow patterns",
            file.sitemap_follow.len(),
            limits::MAX_SITEMAP_RULES,
        ),
    ] {
        errs.take(limits::check_count(path, what, n, max));
    }
    // Lists over their limit were reported above; entries past it are not checked.
    let start_urls: Vec<Template> = file
        .start_urls
        .iter()
        .take(limits::MAX_START_URLS)
        .enumerate()
        .filter_map(|(i, u)| errs.take(start_url(&format!("start_urls[{i}]"), u, &known)))
        .collect();
    let sitemap_urls: Vec<Template> = file
        .sitemap_urls
        .iter()
        .take(limits::MAX_START_URLS)
        .enumerate()
        .filter_map(|(i, u)| errs.take(start_url(&format!("sitemap_urls[{i}]"), u, &known)))
        .collect();
    errs.take(limits::check_count(
        "start_requests",
        "start requests",
        file.start_requests.len(),
        limits::MAX_START_URLS,
    ));
    let mut start_requests = Vec::new();
    for (i, r) in file
        .start_requests
        .iter()
        .take(limits::MAX_START_URLS)
        .enumerate()
    {
        let path = format!("start_requests[{i}]");
        match start::StartRequest::compile(r) {
            Ok(req) => {
                for t in req.templates() {
                    if let Some(v) = t.unknown_var(&known) {
                        errs.push(SpecError::new(
                            &path,
                            format!(
                                "unknown placeholder {{{v}}}: declare it under [args] or pass -a {v}=VALUE"
                            ),
                        ));
                    }
                }
                if req.url.is_constant() {
                    errs.take(start_url(&format!("{path}.url"), &r.url, &known).map(|_| ()));
                }
                start_requests.push(req);
            }
            Err((suffix, message)) => {
                errs.push(SpecError::new(format!("{path}.{suffix}"), message))
            }
        }
    }
    for (i, d) in file.allowed_domains.iter().enumerate() {
        if d.is_empty() || d.contains('/') || d.contains(':') {
            errs.push(SpecError::new(
                format!("allowed_domains[{i}]"),
                format!("{d:?} is not a domain name (no scheme, port or path)"),
            ));
        }
    }

    // A callback reached through another's `then` starts from that callback's item:
    // its templates may name those fields too.
    let mut inherited: std::collections::HashMap<&str, HashSet<String>> = Default::default();
    for (name, cb) in &file.callbacks {
        if let Some(then) = &cb.then {
            let target = then.callback.as_deref().unwrap_or(name);
            inherited
                .entry(target)
                .or_default()
                .extend(cb.fields.keys().cloned());
        }
    }
    let script = file.script.as_deref().map(|src| {
        errs.take(script::Script::compile(src))
            .map(std::sync::Arc::new)
    });
    let hook = match &script {
        None => script::Hook::Absent,
        Some(None) => script::Hook::Broken,
        Some(Some(s)) => script::Hook::Ready(s),
    };
    let mut callbacks = IndexMap::new();
    for (name, cb) in file.callbacks.iter().take(limits::MAX_CALLBACKS) {
        let path = format!("callbacks.{name}");
        let mut known = known.clone();
        if let Some(extra) = inherited.get(name.as_str()) {
            known.extend(extra.iter().cloned());
        }
        if let Some(cb) = errs.take(compile_callback(&path, name, cb, &known, hook)) {
            callbacks.insert(name.clone(), cb);
        }
    }
    // References are checked against every callback the spec defines, compiled or not
    // (one with errors of its own is not also "unknown").
    let check_callback = |path: &str, name: &str| -> Result<(), SpecError> {
        if file.callbacks.contains_key(name) {
            Ok(())
        } else {
            let defined: Vec<&String> = file.callbacks.keys().collect();
            Err(SpecError::new(
                path,
                format!("unknown callback {name:?} (defined: {defined:?})"),
            ))
        }
    };
    if let Some(cb) = &file.start_callback {
        errs.take(check_callback("start_callback", cb));
    }
    for (i, r) in file.start_requests.iter().enumerate() {
        if let Some(cb) = &r.callback {
            errs.take(check_callback(&format!("start_requests[{i}].callback"), cb));
        }
    }
    for (name, cb) in &callbacks {
        for (i, f) in cb.follow.iter().enumerate() {
            errs.take(check_callback(
                &format!("callbacks.{name}.follow[{i}].callback"),
                &f.callback,
            ));
        }
        if let Some(then) = &cb.then {
            errs.take(check_callback(
                &format!("callbacks.{name}.then.callback"),
                &then.callback,
            ));
        }
        if let Some(form) = &cb.form {
            errs.take(check_callback(
                &format!("callbacks.{name}.form.callback"),
                &form.callback,
            ));
        }
    }

    let mut rules = Vec::new();
    for (i, table) in file.rules.iter().take(limits::MAX_RULES).enumerate() {
        let path = format!("rules[{i}]");
        if let Some(rule) = errs.take(compile_rule(&path, table)) {
            if let Some(cb) = &rule.callback {
                errs.take(check_callback(&format!("{path}.callback"), cb));
            }
            rules.push(rule);
        }
    }

    let mut sitemap_rules = Vec::new();
    for (i, r) in file
        .sitemap_rules
        .iter()
        .take(limits::MAX_SITEMAP_RULES)
        .enumerate()
    {
        let path = format!("sitemap_rules[{i}]");
        errs.take(check_callback(&format!("{path}.callback"), &r.callback));
        if let Some(re) = errs.take(regex(&format!("{path}.pattern"), &r.pattern)) {
            sitemap_rules.push((re, r.callback.clone()));
        }
    }
    if !file.sitemap_urls.is_empty() && file.sitemap_rules.is_empty() {
        errs.push(SpecError::new(
            "sitemap_rules",
            "sitemap_urls need at least one sitemap rule (pattern + callback)",
        ));
    }
    let sitemap_follow: Vec<Regex> = file
        .sitemap_follow
        .iter()
        .take(limits::MAX_SITEMAP_RULES)
        .enumerate()
        .filter_map(|(i, p)| errs.take(regex(&format!("sitemap_follow[{i}]"), p)))
        .collect();
    let requests_have_callbacks = file.start_requests.iter().all(|r| r.callback.is_some());
    if file.rules.is_empty()
        && file.start_callback.is_none()
        && (!file.start_urls.is_empty() || !requests_have_callbacks)
    {
        errs.push(SpecError::new(
            "rules",
            "start_urls need rules or a start_callback, or no page would be processed",
        ));
    }
    for (k, v) in &file.settings {
        if v.is_object()
            && !matches!(
                k.as_str(),
                "FEEDS"
                    | "DEFAULT_REQUEST_HEADERS"
                    | "DOWNLOADER_MIDDLEWARES"
                    | "SPIDER_MIDDLEWARES"
                    | "ITEM_PIPELINES"
            )
        {
            errs.push(SpecError::new(
                format!("settings.{k}"),
                "expected a value, not a table",
            ));
        }
    }
    errs.check()?;

    Ok(Spec {
        name: file.name,
        description: file.description,
        start_urls,
        start_requests,
        allowed_domains: file.allowed_domains,
        start_callback: file.start_callback,
        rules,
        callbacks,
        sitemap_urls,
        sitemap_rules,
        sitemap_follow,
        settings: file.settings,
        args: file.args,
        incremental: file.incremental,
    })
}

/// Compiles one CrawlSpider rule: its options and its link extractor.
fn compile_rule(path: &str, table: &Map<String, Value>) -> Result<Rule, SpecError> {
    let deser_err = |e: serde_path_to_error::Error<serde_json::Error>| {
        let p = e.path().to_string();
        let p = if p == "." {
            path.to_string()
        } else {
            format!("{path}.{p}")
        };
        SpecError::new(p, e.into_inner().to_string())
    };
    let (opts, extractor): (Map<String, Value>, Map<String, Value>) = table
        .clone()
        .into_iter()
        .partition(|(k, _)| schema::RULE_OPTION_KEYS.contains(&k.as_str()));
    let opts: schema::RuleOptions =
        serde_path_to_error::deserialize(Value::Object(opts)).map_err(deser_err)?;
    let cfg: LinkExtractorConfig =
        serde_path_to_error::deserialize(Value::Object(extractor)).map_err(deser_err)?;
    let extractor = LinkExtractor::new(cfg).map_err(|e| {
        let field = match &e {
            LinkExtractorError::Regex { field, .. }
            | LinkExtractorError::Selector { field, .. }
            | LinkExtractorError::EmptyEntry { field } => field,
        };
        SpecError::new(format!("{path}.{field}"), e.to_string())
    })?;
    Ok(Rule {
        extractor,
        follow: opts.follow.unwrap_or(opts.callback.is_none()),
        callback: opts.callback,
        priority: opts.priority,
    })
}

fn compile_callback(
    path: &str,
    name: &str,
    cb: &CallbackSpec,
    known: &HashSet<String>,
    hook: script::Hook<'_>,
) -> Result<Callback, SpecError> {
    let mut errs = Errors::default();
    let script = cb.script.as_ref().and_then(|f| {
        for (key, given) in [
            ("items", cb.items.is_some()),
            ("fields", !cb.fields.is_empty()),
            ("then", cb.then.is_some()),
            ("paginate", cb.paginate.is_some()),
        ] {
            if given {
                errs.push(SpecError::new(
                    format!("{path}.{key}"),
                    "a scripted callback returns its own items and requests: it takes \
                     follow, but no items, fields, then or paginate",
                ));
            }
        }
        let f = hook.function(f, 1);
        errs.take(f.map_err(|m| SpecError::new(format!("{path}.script"), m)))
            .flatten()
    });
    let items = match &cb.items {
        Some(s) => errs.take(compile_items(&format!("{path}.items"), s)),
        None => None,
    };
    errs.take(limits::check_count(
        &format!("{path}.fields"),
        "fields",
        cb.fields.len(),
        limits::MAX_FIELDS_PER_CALLBACK,
    ));
    errs.take(limits::check_count(
        &format!("{path}.follow"),
        "follow entries",
        cb.follow.len(),
        limits::MAX_FOLLOWS_PER_CALLBACK,
    ));
    let mut fields = Vec::new();
    // A field's template may use the fields before it (`{name} ({city})`).
    let mut known = known.clone();
    for (fname, f) in cb.fields.iter().take(limits::MAX_FIELDS_PER_CALLBACK) {
        let fpath = format!("{path}.fields.{fname}");
        fields.extend(errs.take(compile_field(&fpath, fname, f, &known, hook)));
        known.insert(fname.clone());
    }
    let mut follow = Vec::new();
    for (i, f) in cb
        .follow
        .iter()
        .take(limits::MAX_FOLLOWS_PER_CALLBACK)
        .enumerate()
    {
        let fpath = format!("{path}.follow[{i}]");
        follow.extend(errs.take(compile_follow(&fpath, name, f)));
    }
    let then = match &cb.then {
        Some(t) => {
            let tpath = format!("{path}.then");
            if t.callback.is_none() {
                errs.push(SpecError::new(
                    &tpath,
                    "then needs a callback for the detail pages",
                ));
            }
            if cb.fields.is_empty() {
                errs.push(SpecError::new(
                    &tpath,
                    "then passes the item on: it needs fields",
                ));
            }
            errs.take(compile_follow(&tpath, name, t))
        }
        None => None,
    };
    let paginate = cb.paginate.as_ref().and_then(|p| {
        let ppath = format!("{path}.paginate");
        let start = p.start.unwrap_or(1);
        let step = p.step.unwrap_or(1);
        if p.param.trim().is_empty() {
            errs.push(SpecError::new(
                format!("{ppath}.param"),
                "an empty parameter name",
            ));
            return None;
        }
        if step <= 0 {
            errs.push(SpecError::new(
                format!("{ppath}.step"),
                "step must be positive",
            ));
            return None;
        }
        if cb.fields.is_empty() {
            errs.push(SpecError::new(
                &ppath,
                "paginate goes on while pages yield items: the callback needs fields",
            ));
            return None;
        }
        let limit = start.saturating_add(step.saturating_mul(MAX_PAGES - 1));
        let stop = match &p.stop {
            Some(expr) => Some(errs.take(jmespath(&format!("{ppath}.stop"), expr))?),
            None => None,
        };
        Some(Paginate {
            stop,
            param: p.param.clone(),
            start,
            step,
            max: p.max.unwrap_or(limit).min(limit),
        })
    });
    let form = cb.form.as_ref().and_then(|f| {
        let fpath = format!("{path}.form");
        let select = errs.take(one_selector(&fpath, f.css.as_deref(), f.xpath.as_deref()));
        let mut formdata = IndexMap::new();
        for (k, v) in &f.formdata {
            let t = errs.take(template(&format!("{fpath}.formdata.{k}"), v, &known));
            formdata.insert(k.clone(), t?);
        }
        Some(form::FormSubmit {
            select: select?,
            formdata,
            dont_click: f.dont_click,
            callback: f.callback.clone(),
            priority: f.priority,
        })
    });
    if cb.fields.is_empty() && cb.follow.is_empty() && cb.form.is_none() && cb.script.is_none() {
        errs.push(SpecError::new(
            path,
            "a callback needs fields, follow entries, a form or a script",
        ));
    }
    errs.check()?;
    Ok(Callback {
        items,
        fields,
        follow,
        then,
        paginate,
        form,
        script,
    })
}

fn compile_field(
    path: &str,
    name: &str,
    f: &FieldSpec,
    known: &HashSet<String>,
    hook: script::Hook<'_>,
) -> Result<Field, SpecError> {
    let mut errs = Errors::default();
    let query = one_selector(path, f.css.as_deref(), f.xpath.as_deref());
    let json = f
        .jmespath
        .as_deref()
        .map(|j| jmespath(&format!("{path}.jmespath"), j))
        .transpose();
    let (query, json) = match (query, json) {
        (Err(e), _) | (_, Err(e)) => (Err(e), None),
        (Ok(q), Ok(j)) => (Ok(q), j),
    };
    let source = match (query, &f.value) {
        (Ok(q), v) if f.values.is_some() => {
            if q.is_some() || json.is_some() || v.is_some() {
                Err(SpecError::new(
                    path,
                    "values excludes css, xpath, jmespath and value",
                ))
            } else {
                let list = f.values.as_deref().unwrap_or_default();
                let mut ts = Vec::with_capacity(list.len());
                for (i, t) in list.iter().enumerate() {
                    ts.extend(errs.take(template(&format!("{path}.values[{i}]"), t, known)));
                }
                if list.is_empty() {
                    Err(SpecError::new(format!("{path}.values"), "an empty list"))
                } else {
                    Ok(Source::Templates(ts))
                }
            }
        }
        (Ok(_), Some(_)) if json.is_some() => Err(SpecError::new(
            path,
            "give either jmespath or a value, not both",
        )),
        (Ok(text), None) if json.is_some() => Ok(Source::Json {
            text,
            path: json.clone().expect("checked"),
        }),
        (Ok(Some(_)), Some(_)) => Err(SpecError::new(
            path,
            "give either a selector (css/xpath) or a value, not both",
        )),
        (Ok(Some(q)), None) => Ok(Source::Select(q)),
        (Err(e), _) => Err(e),
        (Ok(None), Some(Value::String(s))) => {
            template(&format!("{path}.value"), s, known).map(Source::Template)
        }
        (Ok(None), Some(v)) => Ok(Source::Constant(v.clone())),
        (Ok(None), None) => Err(SpecError::new(
            path,
            "needs one of css, xpath, jmespath, value or values",
        )),
    };
    let source = errs.take(source);
    let process: Vec<Processor> = f
        .process
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            errs.take(
                Processor::compile_in_spec(p, hook)
                    .map_err(|m| SpecError::new(format!("{path}.process[{i}]"), m)),
            )
            .flatten()
        })
        .collect();
    let re = errs.take(
        f.re.as_deref()
            .map(|p| regex(&format!("{path}.re"), p))
            .transpose(),
    );
    let (source, re) = match (source, re, errs.check()) {
        (Some(source), Some(re), Ok(())) => (source, re),
        (_, _, Err(e)) => return Err(e),
        _ => return Err(SpecError::new(path, "invalid field")),
    };
    let all = f.all.unwrap_or(false);
    if f.first == Some(true) && all {
        return Err(SpecError::new(path, "first and all exclude each other"));
    }
    if f.first == Some(false) && f.all.is_none() {
        return Err(SpecError::new(
            path.to_string() + ".first",
            "first = false needs all = true (or join)",
        ));
    }
    if f.join.is_some() && all {
        return Err(SpecError::new(
            path,
            "join makes one string: it excludes all = true",
        ));
    }
    let kind = f.kind.unwrap_or(FieldType::String);
    if let Some(d) = &f.default {
        let ok = match kind {
            FieldType::String => d.is_string() || d.is_null(),
            FieldType::Int => d.is_i64() || d.is_u64() || d.is_null(),
            FieldType::Float => d.is_number() || d.is_null(),
            FieldType::Bool => d.is_boolean() || d.is_null(),
        };
        if !ok && !all {
            return Err(SpecError::new(
                format!("{path}.default"),
                format!("default {d} does not match type {kind:?}"),
            ));
        }
    }
    let hours = match &f.hours {
        Some(h) => hours::HoursOptions::compile(&format!("{path}.hours"), h)?,
        None => None,
    };
    if hours.is_some() && (all || f.join.is_some() || kind != FieldType::String) {
        return Err(SpecError::new(
            format!("{path}.hours"),
            "hours gives one string: it excludes all, join and type",
        ));
    }
    Ok(Field {
        hours,
        name: name.to_string(),
        source,
        re,
        process,
        join: f.join.clone(),
        strip: f.strip.unwrap_or(true),
        all,
        kind,
        default: f.default.clone(),
        required: f.required,
    })
}
