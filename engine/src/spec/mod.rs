//! Declarative spider specs (TOML or JSON, one schema): start URLs, CrawlSpider rules,
//! SitemapSpider sitemaps, and callbacks that extract item fields with CSS/XPath.
//!
//! [`Spec::parse`] validates everything before any request is made and names the field
//! at fault: a bad regex, a bad selector, an unknown key, a wrong type, an unknown
//! callback or placeholder. [`SpecSpider`] runs a validated spec.

mod field;
pub mod limits;
mod schema;
mod spider;
mod template;

use std::collections::HashSet;
use std::path::Path;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value};

pub use field::{Extracted, Field, Scope, Source};
pub use schema::{CallbackSpec, FieldSpec, FieldType, FollowSpec, SitemapRuleSpec, SpecFile};
pub use spider::SpecSpider;
pub use template::Template;

use crate::linkextract::{LinkExtractor, LinkExtractorConfig, LinkExtractorError};
use crate::select::Query;

/// A spec error: where (a dotted path such as `callbacks.product.fields.price.re`) and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SpecError {
    /// The field at fault (`spec` for the document as a whole).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl SpecError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            path: path.into(),
            message: message.into(),
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

/// Links a callback follows.
#[derive(Debug, Clone)]
pub struct Follow {
    /// Selects URLs (elements give their `href`/`src`).
    pub query: Query,
    /// The callback for followed pages.
    pub callback: String,
    /// Request priority.
    pub priority: i32,
}

/// A validated callback.
#[derive(Debug, Clone)]
pub struct Callback {
    /// One item per matching node, when set.
    pub items: Option<Query>,
    /// The fields, in output order.
    pub fields: Vec<Field>,
    /// Links to follow.
    pub follow: Vec<Follow>,
}

/// A validated spider spec.
#[derive(Debug)]
pub struct Spec {
    /// The spider's name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Start URL templates.
    pub start_urls: Vec<Template>,
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
        limits::check_text(text)?;
        let value: Value = match format {
            SpecFormat::Toml => {
                let t: toml::Table = toml::from_str(text).map_err(|e| {
                    SpecError::new("spec", format!("invalid TOML: {}", e.message()))
                })?;
                serde_json::to_value(t).map_err(|e| SpecError::new("spec", e.to_string()))?
            }
            SpecFormat::Json => serde_json::from_str(text)
                .map_err(|e| SpecError::new("spec", format!("invalid JSON: {e}")))?,
        };
        limits::check_nesting(&value)?;
        let file: SpecFile = serde_path_to_error::deserialize(value).map_err(|e| {
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
        match SpecFormat::from_path(path) {
            Some(f) => Spec::parse(&text, f, known_args),
            None => Spec::parse(&text, SpecFormat::Toml, known_args)
                .or_else(|e| Spec::parse(&text, SpecFormat::Json, known_args).map_err(|_| e)),
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
    if !is_valid_name(&file.name) {
        return Err(SpecError::new(
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
    if file.start_urls.is_empty() && file.sitemap_urls.is_empty() {
        return Err(SpecError::new(
            "start_urls",
            "a spider needs start_urls or sitemap_urls",
        ));
    }
    limits::check_count(
        "start_urls",
        "start URLs",
        file.start_urls.len(),
        limits::MAX_START_URLS,
    )?;
    limits::check_count(
        "sitemap_urls",
        "sitemap URLs",
        file.sitemap_urls.len(),
        limits::MAX_START_URLS,
    )?;
    limits::check_count("rules", "rules", file.rules.len(), limits::MAX_RULES)?;
    limits::check_count(
        "callbacks",
        "callbacks",
        file.callbacks.len(),
        limits::MAX_CALLBACKS,
    )?;
    limits::check_count(
        "sitemap_rules",
        "sitemap rules",
        file.sitemap_rules.len(),
        limits::MAX_SITEMAP_RULES,
    )?;
    limits::check_count(
        "sitemap_follow",
        "sitemap_follow patterns",
        file.sitemap_follow.len(),
        limits::MAX_SITEMAP_RULES,
    )?;
    let start_urls = file
        .start_urls
        .iter()
        .enumerate()
        .map(|(i, u)| start_url(&format!("start_urls[{i}]"), u, &known))
        .collect::<Result<Vec<_>, _>>()?;
    let sitemap_urls = file
        .sitemap_urls
        .iter()
        .enumerate()
        .map(|(i, u)| start_url(&format!("sitemap_urls[{i}]"), u, &known))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, d) in file.allowed_domains.iter().enumerate() {
        if d.is_empty() || d.contains('/') || d.contains(':') {
            return Err(SpecError::new(
                format!("allowed_domains[{i}]"),
                format!("{d:?} is not a domain name (no scheme, port or path)"),
            ));
        }
    }

    let mut callbacks = IndexMap::new();
    for (name, cb) in &file.callbacks {
        let path = format!("callbacks.{name}");
        callbacks.insert(name.clone(), compile_callback(&path, name, cb, &known)?);
    }
    let check_callback = |path: &str, name: &str| -> Result<(), SpecError> {
        if callbacks.contains_key(name) {
            Ok(())
        } else {
            let defined: Vec<&String> = callbacks.keys().collect();
            Err(SpecError::new(
                path,
                format!("unknown callback {name:?} (defined: {defined:?})"),
            ))
        }
    };
    if let Some(cb) = &file.start_callback {
        check_callback("start_callback", cb)?;
    }
    for (name, cb) in &callbacks {
        for (i, f) in cb.follow.iter().enumerate() {
            check_callback(
                &format!("callbacks.{name}.follow[{i}].callback"),
                &f.callback,
            )?;
        }
    }

    let mut rules = Vec::new();
    for (i, table) in file.rules.iter().enumerate() {
        let path = format!("rules[{i}]");
        let (opts, extractor): (Map<String, Value>, Map<String, Value>) = table
            .clone()
            .into_iter()
            .partition(|(k, _)| schema::RULE_OPTION_KEYS.contains(&k.as_str()));
        let opts: schema::RuleOptions = serde_path_to_error::deserialize(Value::Object(opts))
            .map_err(|e| {
                let p = e.path().to_string();
                let p = if p == "." {
                    path.clone()
                } else {
                    format!("{path}.{p}")
                };
                SpecError::new(p, e.into_inner().to_string())
            })?;
        let cfg: LinkExtractorConfig = serde_path_to_error::deserialize(Value::Object(extractor))
            .map_err(|e| {
            let p = e.path().to_string();
            let p = if p == "." {
                path.clone()
            } else {
                format!("{path}.{p}")
            };
            SpecError::new(p, e.into_inner().to_string())
        })?;
        let extractor = LinkExtractor::new(cfg).map_err(|e| {
            let field = match &e {
                LinkExtractorError::Regex { field, .. }
                | LinkExtractorError::Selector { field, .. }
                | LinkExtractorError::EmptyEntry { field } => field,
            };
            SpecError::new(format!("{path}.{field}"), e.to_string())
        })?;
        if let Some(cb) = &opts.callback {
            check_callback(&format!("{path}.callback"), cb)?;
        }
        rules.push(Rule {
            extractor,
            follow: opts.follow.unwrap_or(opts.callback.is_none()),
            callback: opts.callback,
            priority: opts.priority,
        });
    }

    let mut sitemap_rules = Vec::new();
    for (i, r) in file.sitemap_rules.iter().enumerate() {
        let path = format!("sitemap_rules[{i}]");
        check_callback(&format!("{path}.callback"), &r.callback)?;
        sitemap_rules.push((
            regex(&format!("{path}.pattern"), &r.pattern)?,
            r.callback.clone(),
        ));
    }
    if !file.sitemap_urls.is_empty() && sitemap_rules.is_empty() {
        return Err(SpecError::new(
            "sitemap_rules",
            "sitemap_urls need at least one sitemap rule (pattern + callback)",
        ));
    }
    let sitemap_follow = file
        .sitemap_follow
        .iter()
        .enumerate()
        .map(|(i, p)| regex(&format!("sitemap_follow[{i}]"), p))
        .collect::<Result<Vec<_>, _>>()?;
    if file.start_urls.is_empty() && file.rules.is_empty() && file.start_callback.is_none() {
        // A sitemap-only spider: fine.
    } else if file.rules.is_empty() && file.start_callback.is_none() && !file.start_urls.is_empty()
    {
        return Err(SpecError::new(
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
            return Err(SpecError::new(
                format!("settings.{k}"),
                "expected a value, not a table",
            ));
        }
    }

    Ok(Spec {
        name: file.name,
        description: file.description,
        start_urls,
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

fn compile_callback(
    path: &str,
    name: &str,
    cb: &CallbackSpec,
    known: &HashSet<String>,
) -> Result<Callback, SpecError> {
    let items = match &cb.items {
        Some(s) => {
            let q = one_selector(
                &format!("{path}.items"),
                s.css.as_deref(),
                s.xpath.as_deref(),
            )?;
            Some(q.ok_or_else(|| SpecError::new(format!("{path}.items"), "needs css or xpath"))?)
        }
        None => None,
    };
    limits::check_count(
        &format!("{path}.fields"),
        "fields",
        cb.fields.len(),
        limits::MAX_FIELDS_PER_CALLBACK,
    )?;
    limits::check_count(
        &format!("{path}.follow"),
        "follow entries",
        cb.follow.len(),
        limits::MAX_FOLLOWS_PER_CALLBACK,
    )?;
    let mut fields = Vec::new();
    for (fname, f) in &cb.fields {
        fields.push(compile_field(
            &format!("{path}.fields.{fname}"),
            fname,
            f,
            known,
        )?);
    }
    let mut follow = Vec::new();
    for (i, f) in cb.follow.iter().enumerate() {
        let fpath = format!("{path}.follow[{i}]");
        let query = one_selector(&fpath, f.css.as_deref(), f.xpath.as_deref())?
            .ok_or_else(|| SpecError::new(&fpath, "needs css or xpath"))?;
        follow.push(Follow {
            query,
            callback: f.callback.clone().unwrap_or_else(|| name.to_string()),
            priority: f.priority,
        });
    }
    if fields.is_empty() && follow.is_empty() {
        return Err(SpecError::new(
            path,
            "a callback needs fields or follow entries",
        ));
    }
    Ok(Callback {
        items,
        fields,
        follow,
    })
}

fn compile_field(
    path: &str,
    name: &str,
    f: &FieldSpec,
    known: &HashSet<String>,
) -> Result<Field, SpecError> {
    let query = one_selector(path, f.css.as_deref(), f.xpath.as_deref())?;
    let source = match (query, &f.value) {
        (Some(_), Some(_)) => {
            return Err(SpecError::new(
                path,
                "give either a selector (css/xpath) or a value, not both",
            ))
        }
        (Some(q), None) => Source::Select(q),
        (None, Some(Value::String(s))) => {
            Source::Template(template(&format!("{path}.value"), s, known)?)
        }
        (None, Some(v)) => Source::Constant(v.clone()),
        (None, None) => return Err(SpecError::new(path, "needs one of css, xpath or value")),
    };
    let re =
        f.re.as_deref()
            .map(|p| regex(&format!("{path}.re"), p))
            .transpose()?;
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
    Ok(Field {
        name: name.to_string(),
        source,
        re,
        join: f.join.clone(),
        strip: f.strip.unwrap_or(true),
        all,
        kind,
        default: f.default.clone(),
        required: f.required,
    })
}
