//! The declarative spider spec as written by users (TOML or JSON, one schema).

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A spider spec file, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The spider's name: letters, digits, `_`, `-`, `.`.
    pub name: String,
    /// What this spider is for.
    #[serde(default)]
    pub description: Option<String>,
    /// A base for other specs only (`extends`), not a spider (always false here:
    /// abstract specs are refused before they are compiled).
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    /// Start URLs; may hold `{arg}` placeholders.
    #[serde(default)]
    pub start_urls: Vec<String>,
    /// Start requests with a method, headers or a body, one per element of the list
    /// arguments they name (see [`super::start`]).
    #[serde(default)]
    pub start_requests: Vec<super::start::StartRequestSpec>,
    /// Domains the crawl stays on (subdomains included); empty = any.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// The callback for start URL responses (CrawlSpider's `parse_start_url`).
    #[serde(default)]
    pub start_callback: Option<String>,
    /// CrawlSpider rules, applied to start responses and to pages that rules follow.
    /// Each rule holds the link extractor's keys (`allow`, `deny`, `restrict_css`, ...)
    /// plus `callback`, `follow`, `priority`.
    #[serde(default)]
    pub rules: Vec<Map<String, Value>>,
    /// Named callbacks: how items are extracted and which links they follow.
    #[serde(default)]
    pub callbacks: IndexMap<String, CallbackSpec>,
    /// Sitemaps (or robots.txt URLs listing sitemaps) to start from, as SitemapSpider.
    #[serde(default)]
    pub sitemap_urls: Vec<String>,
    /// Which sitemap URLs go to which callback (first match wins).
    #[serde(default)]
    pub sitemap_rules: Vec<SitemapRuleSpec>,
    /// Regexes of sitemap-index entries to follow (default: all).
    #[serde(default)]
    pub sitemap_follow: Vec<String>,
    /// Settings at spider priority (below the job's and the command line's).
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// Declared spider arguments with their default values (`-a name=value` overrides).
    #[serde(default)]
    pub args: Map<String, Value>,
    /// Emit only items not seen by earlier runs of this spider in the same project
    /// (DeltaFetch); honoured by the control plane.
    #[serde(default)]
    pub incremental: bool,
    /// Rhai source defining the functions scripted callbacks and `{ script = ".." }`
    /// processors call (see [`super::script`]).
    #[serde(default)]
    pub script: Option<String>,
}

/// One named callback.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSpec {
    /// Extract one item per node matching this selector (fields are relative to it);
    /// without it, one item per page.
    #[serde(default)]
    pub items: Option<SelectorSpec>,
    /// Item fields, in output order.
    #[serde(default)]
    pub fields: IndexMap<String, FieldSpec>,
    /// Links to follow from this callback's pages (pagination, detail pages).
    #[serde(default)]
    pub follow: Vec<FollowSpec>,
    /// Instead of emitting each item, request its detail page (the first URL this
    /// selects in the item's scope) and pass the item on: the `callback` there adds
    /// its fields to it (Scrapy's `cb_kwargs` from a listing to its detail pages).
    #[serde(default)]
    pub then: Option<FollowSpec>,
    /// Page through results by a query parameter (`?page=2`, `?offset=40`) while pages
    /// yield items.
    #[serde(default)]
    pub paginate: Option<PaginateSpec>,
    /// The function of the spec's `script` that handles the response instead:
    /// `fn name(response)` returning items and requests (it may still `follow`).
    #[serde(default)]
    pub script: Option<String>,
    /// Submit a form of the page (a login, a search), as `FormRequest.from_response`.
    #[serde(default)]
    pub form: Option<FormSpec>,
}

/// Submitting a form of the page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    /// A CSS selector for the form, or for an element inside it (default: the first
    /// form of the page).
    #[serde(default)]
    pub css: Option<String>,
    /// An XPath expression for the form, or for an element inside it.
    #[serde(default)]
    pub xpath: Option<String>,
    /// Values that replace the form's own or are added (templates: `{user}`).
    #[serde(default)]
    pub formdata: IndexMap<String, String>,
    /// Do not add the first submit button's name and value.
    #[serde(default)]
    pub dont_click: bool,
    /// The callback for the response.
    pub callback: String,
    /// Request priority.
    #[serde(default)]
    pub priority: i32,
}

/// Pagination by a counter in the URL's query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaginateSpec {
    /// The query parameter holding the counter.
    pub param: String,
    /// Its value on the first page, when the URL has none (default 1).
    #[serde(default)]
    pub start: Option<i64>,
    /// How much it grows per page (default 1; e.g. the page size for an offset).
    #[serde(default)]
    pub step: Option<i64>,
    /// The last value requested (default: no limit but the page stopping to yield
    /// items; at most 10,000 pages).
    #[serde(default)]
    pub max: Option<i64>,
    /// A JMESPath over the JSON response: the page is the last when it is true
    /// (`pageInfo.pageNo >= pageInfo.totalPageCnt`).
    #[serde(default)]
    pub stop: Option<String>,
}

/// Where a callback's items come from: HTML nodes (CSS or XPath), JSON elements
/// (JMESPath over a JSON response, or over JSON a selector takes out of the page, cut
/// by `re` first when given), or JSON-LD objects of some schema.org types.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorSpec {
    /// A CSS selector (with `::text` / `::attr(name)`).
    #[serde(default)]
    pub css: Option<String>,
    /// An XPath 1.0 expression.
    #[serde(default)]
    pub xpath: Option<String>,
    /// A JMESPath expression: one item per element of its result.
    #[serde(default)]
    pub jmespath: Option<String>,
    /// With `jmespath` and a selector: a regex cutting the JSON out of the selected text
    /// (group 1 when it has groups).
    #[serde(default)]
    pub re: Option<String>,
    /// One item per JSON-LD object of this `@type` (or any of these types).
    #[serde(default)]
    pub json_ld: Option<OneOrMany>,
    /// One item per microdata `itemscope` of this `itemtype` (or any of these), shaped
    /// like JSON-LD.
    #[serde(default)]
    pub microdata: Option<OneOrMany>,
    /// One item per CSV row of the body (or of the selected text): `true` or
    /// `{ delimiter = ";", header = true }`.
    #[serde(default)]
    pub csv: Option<Value>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// One item field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// A CSS selector.
    #[serde(default)]
    pub css: Option<String>,
    /// An XPath expression.
    #[serde(default)]
    pub xpath: Option<String>,
    /// A constant, or a template such as `"{url}"` or `"{category}"`.
    #[serde(default)]
    pub value: Option<Value>,
    /// A JMESPath expression: over the JSON response or the callback's JSON item, or,
    /// with `css`/`xpath`, over the JSON in the selected text.
    #[serde(default)]
    pub jmespath: Option<String>,
    /// Several templates, one value each, empty ones dropped: the first that is not
    /// empty (a fallback), or all of them with `join` (address lines) or `all`.
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// A regex applied to each value as parsel's `.re()`; with `jmespath` and a selector,
    /// it cuts the JSON out of the selected text instead (group 1 when it has groups).
    #[serde(default)]
    pub re: Option<String>,
    /// Processors applied to each value, in order (see [`super::process::Processor`];
    /// `{ script = "fn_name" }` calls a function of the spec's script).
    #[serde(default)]
    pub process: Vec<Value>,
    /// Join every value with this separator into one string.
    #[serde(default)]
    pub join: Option<String>,
    /// Trim whitespace and drop empty values (default true).
    #[serde(default)]
    pub strip: Option<bool>,
    /// Keep only the first value (default true unless `all`).
    #[serde(default)]
    pub first: Option<bool>,
    /// Keep every value, as a list.
    #[serde(default)]
    pub all: Option<bool>,
    /// Convert to `string` (default), `int`, `float` or `bool`.
    #[serde(default, rename = "type")]
    pub kind: Option<FieldType>,
    /// The value when nothing matches.
    #[serde(default)]
    pub default: Option<Value>,
    /// Drop the item when nothing matches and there is no default.
    #[serde(default)]
    pub required: bool,
    /// Read the value as opening hours and give an OpenStreetMap `opening_hours`
    /// string: `true`, or `{ days = "de", day = "..", open = "..", close = ".." }`.
    #[serde(default)]
    pub hours: Option<Value>,
}

/// A field's output type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Text (the default).
    String,
    /// A signed integer (`1,234` and `1 234` accepted).
    Int,
    /// A float (`1,234.5` accepted).
    Float,
    /// `true`/`false`, `yes`/`no`, `1`/`0`, `on`/`off`.
    Bool,
}

/// Links to follow from a callback's page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowSpec {
    /// A CSS selector for URLs (e.g. `a.next::attr(href)`; elements give their `href`).
    #[serde(default)]
    pub css: Option<String>,
    /// An XPath expression for URLs.
    #[serde(default)]
    pub xpath: Option<String>,
    /// A JMESPath expression for URLs in a JSON response (pagination links of APIs).
    #[serde(default)]
    pub jmespath: Option<String>,
    /// The callback for the followed pages (default: the same callback).
    #[serde(default)]
    pub callback: Option<String>,
    /// Request priority.
    #[serde(default)]
    pub priority: i32,
}

/// A sitemap rule: URLs matching `pattern` go to `callback`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitemapRuleSpec {
    /// A regex on the URL.
    pub pattern: String,
    /// The callback name.
    pub callback: String,
}

/// The keys of a rule that are not link-extractor keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOptions {
    /// The callback for pages this rule extracts.
    #[serde(default)]
    pub callback: Option<String>,
    /// Apply the rules again on those pages (default: true without a callback).
    #[serde(default)]
    pub follow: Option<bool>,
    /// Request priority.
    #[serde(default)]
    pub priority: i32,
}

/// Keys of a rule table that belong to [`RuleOptions`].
pub const RULE_OPTION_KEYS: &[&str] = &["callback", "follow", "priority"];
