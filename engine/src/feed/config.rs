//! Feed configuration: the `FEEDS` setting and `-o`/`-O` command-line arguments.

use serde_json::{Map, Value};

use super::export::ExportOptions;
use super::uri::has_batch_placeholder;
use super::{FeedError, FeedFormat};
use crate::Settings;

/// One feed: where items go and how they are serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// URI template, placeholders unexpanded (`/out/%(name)s-%(batch_id)d.jsonl`).
    pub uri: String,
    /// Serialisation format.
    pub format: FeedFormat,
    /// Fields to export as `(item field, output name)`; `None` = all.
    pub fields: Option<Vec<(String, String)>>,
    /// Truncate an existing file (`-O`) instead of appending (`-o`).
    pub overwrite: bool,
    /// Scrapy's indent (see [`ExportOptions::indent`]).
    pub indent: Option<usize>,
    /// Output encoding: `utf-8`, or empty for Scrapy's default (ASCII-escaped JSON).
    pub encoding: String,
    /// Start a new file every this many items (0 = one file).
    pub batch_item_count: u64,
    /// Create the output even when no item was scraped.
    pub store_empty: bool,
}

/// Settings-level defaults for every feed (`FEED_EXPORT_*`, `FEED_STORE_EMPTY`).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedDefaults {
    /// `FEED_EXPORT_FIELDS`.
    pub fields: Option<Vec<(String, String)>>,
    /// `FEED_EXPORT_INDENT` (default `Some(0)`: one item per line).
    pub indent: Option<usize>,
    /// `FEED_EXPORT_ENCODING` (default `utf-8`).
    pub encoding: String,
    /// `FEED_EXPORT_BATCH_ITEM_COUNT` (default 0).
    pub batch_item_count: u64,
    /// `FEED_STORE_EMPTY` (default true).
    pub store_empty: bool,
}

impl Default for FeedDefaults {
    fn default() -> Self {
        FeedDefaults {
            fields: None,
            indent: Some(0),
            encoding: "utf-8".into(),
            batch_item_count: 0,
            store_empty: true,
        }
    }
}

const OPTIONS: &[&str] = &[
    "format",
    "fields",
    "overwrite",
    "indent",
    "encoding",
    "batch_item_count",
    "store_empty",
    "item_export_kwargs",
    "item_classes",
    "item_filter",
    "uri_params",
    "postprocessing",
];

impl FeedDefaults {
    /// Reads the `FEED_*` settings.
    pub fn from_settings(s: &Settings) -> Result<Self, FeedError> {
        let setting = |name: &str, e: crate::settings::SettingError| {
            FeedError::option("(settings)", name, e.message)
        };
        let fields = parse_fields("(settings)", s.get("FEED_EXPORT_FIELDS"))?;
        let indent = match s.get("FEED_EXPORT_INDENT") {
            None | Some(Value::Null) => None,
            _ => Some(
                s.get_usize("FEED_EXPORT_INDENT")
                    .map_err(|e| setting("FEED_EXPORT_INDENT", e))?,
            ),
        };
        let store_empty = match s.get("FEED_STORE_EMPTY") {
            None => true,
            _ => s
                .get_bool("FEED_STORE_EMPTY")
                .map_err(|e| setting("FEED_STORE_EMPTY", e))?,
        };
        let encoding = s.get_str("FEED_EXPORT_ENCODING");
        check_encoding("(settings)", &encoding)?;
        Ok(FeedDefaults {
            fields,
            indent,
            encoding,
            batch_item_count: s
                .get_u64("FEED_EXPORT_BATCH_ITEM_COUNT")
                .map_err(|e| setting("FEED_EXPORT_BATCH_ITEM_COUNT", e))?,
            store_empty,
        })
    }
}

fn check_encoding(uri: &str, encoding: &str) -> Result<(), FeedError> {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "utf-8" | "utf8" => Ok(()),
        other => Err(FeedError::option(
            uri,
            "encoding",
            format!("unsupported encoding {other:?} (supported: utf-8)"),
        )),
    }
}

/// Parses `fields`: a list of names, a comma-separated string, or an object mapping item
/// fields to output names. Empty means all fields.
fn parse_fields(uri: &str, v: Option<&Value>) -> Result<Option<Vec<(String, String)>>, FeedError> {
    let pair = |s: &str| (s.to_string(), s.to_string());
    let fields: Vec<(String, String)> = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(pair)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|f| match f {
                Value::String(s) => Ok(pair(s)),
                other => Err(FeedError::option(
                    uri,
                    "fields",
                    format!("expected field names, got {other}"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(out) => Ok((k.clone(), out.clone())),
                other => Err(FeedError::option(
                    uri,
                    "fields",
                    format!("expected an output name for {k:?}, got {other}"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(FeedError::option(
                uri,
                "fields",
                format!("expected a list of field names, got {other}"),
            ))
        }
    };
    Ok((!fields.is_empty()).then_some(fields))
}

impl FeedConfig {
    /// A feed to `uri` in `format` with default options.
    pub fn new(uri: &str, format: FeedFormat) -> Self {
        Self::with_defaults(uri, format, &FeedDefaults::default())
    }

    fn with_defaults(uri: &str, format: FeedFormat, d: &FeedDefaults) -> Self {
        FeedConfig {
            uri: uri.to_string(),
            format,
            fields: d.fields.clone(),
            overwrite: false,
            indent: d.indent,
            encoding: d.encoding.clone(),
            batch_item_count: d.batch_item_count,
            store_empty: d.store_empty,
        }
    }

    /// The exporter options of this feed.
    pub fn export_options(&self) -> ExportOptions {
        ExportOptions {
            fields: self.fields.clone(),
            indent: self.indent,
            ensure_ascii: self.encoding.trim().is_empty(),
        }
    }

    /// Parses a command-line output, `URI[:FORMAT]` as given to `-o` (append) or `-O`
    /// (`overwrite`). Without `:FORMAT` the format comes from the extension; `-` is stdout.
    /// Colons of schemes (`s3://`) and drive letters (`C:\`) are not taken for formats.
    pub fn from_cli(
        arg: &str,
        overwrite: bool,
        defaults: &FeedDefaults,
    ) -> Result<Self, FeedError> {
        let (uri, format) = match arg.rsplit_once(':') {
            Some((uri, fmt)) if looks_like_format(uri, fmt) => (uri, Some(FeedFormat::parse(fmt)?)),
            _ => (arg, None),
        };
        let uri = if uri == "-" { "stdout:" } else { uri };
        let format = match format {
            Some(f) => f,
            None => infer(uri)?,
        };
        let mut config = Self::with_defaults(uri, format, defaults);
        config.overwrite = overwrite;
        config.validate()?;
        Ok(config)
    }

    /// The feeds of the `FEEDS` setting, with the `FEED_*` settings as defaults.
    pub fn from_settings(settings: &Settings) -> Result<Vec<Self>, FeedError> {
        let defaults = FeedDefaults::from_settings(settings)?;
        let feeds = settings
            .get_map("FEEDS")
            .map_err(|e| FeedError::option("(settings)", "FEEDS", e.message))?;
        parse_feeds(&feeds, &defaults)
    }

    fn validate(&self) -> Result<(), FeedError> {
        check_encoding(&self.uri, &self.encoding)?;
        if self.batch_item_count > 0 && !has_batch_placeholder(&self.uri) {
            return Err(FeedError::option(
                &self.uri,
                "batch_item_count",
                "the URI must contain %(batch_id)d or %(batch_time)s so each batch gets its own file",
            ));
        }
        Ok(())
    }
}

/// Whether `URI:FMT` splits into a URI and a format name: `FMT` is a bare word and the
/// colon is not a drive letter's (`C:`).
fn looks_like_format(uri: &str, fmt: &str) -> bool {
    let drive = uri.len() == 1 && uri != "-";
    let word = !fmt.is_empty() && fmt.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    !uri.is_empty() && !drive && word
}

fn infer(uri: &str) -> Result<FeedFormat, FeedError> {
    FeedFormat::from_extension(uri).ok_or_else(|| FeedError::NoFormat {
        uri: uri.to_string(),
        valid: FeedFormat::NAMES.join(", "),
    })
}

/// Parses a `FEEDS` object (`{uri: {format, fields, overwrite, …}}`) into feed configs.
/// A missing `format` is inferred from the URI's extension; unknown options are errors.
pub fn parse_feeds(
    feeds: &Map<String, Value>,
    defaults: &FeedDefaults,
) -> Result<Vec<FeedConfig>, FeedError> {
    let mut out = Vec::with_capacity(feeds.len());
    for (uri, options) in feeds {
        let empty = Map::new();
        let opts = match options {
            Value::Object(m) => m,
            Value::Null => &empty,
            other => {
                return Err(FeedError::InvalidOption {
                    uri: uri.clone(),
                    option: "(options)".into(),
                    message: format!("expected an object of feed options, got {other}"),
                })
            }
        };
        if let Some(k) = opts.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
            return Err(FeedError::option(
                uri,
                k,
                format!("unknown feed option (valid: {})", OPTIONS.join(", ")),
            ));
        }
        let format = match opts.get("format") {
            None | Some(Value::Null) => infer(uri)?,
            Some(Value::String(f)) => FeedFormat::parse(f)?,
            Some(other) => {
                return Err(FeedError::option(
                    uri,
                    "format",
                    format!("expected a format name, got {other}"),
                ))
            }
        };
        let mut c = FeedConfig::with_defaults(uri, format, defaults);
        if let Some(v) = opts.get("fields") {
            c.fields = parse_fields(uri, Some(v))?;
        }
        if let Some(v) = opts.get("overwrite") {
            c.overwrite = as_bool(uri, "overwrite", v)?;
        }
        if let Some(v) = opts.get("store_empty") {
            c.store_empty = as_bool(uri, "store_empty", v)?;
        }
        if let Some(v) = opts.get("indent") {
            c.indent = match v {
                Value::Null => None,
                v => Some(as_u64(uri, "indent", v)? as usize),
            };
        }
        if let Some(v) = opts.get("batch_item_count") {
            c.batch_item_count = as_u64(uri, "batch_item_count", v)?;
        }
        match opts.get("encoding") {
            None => {}
            Some(Value::Null) => c.encoding = String::new(),
            Some(Value::String(e)) => c.encoding = e.clone(),
            Some(other) => {
                return Err(FeedError::option(
                    uri,
                    "encoding",
                    format!("expected a string, got {other}"),
                ))
            }
        }
        if opts.get("postprocessing").is_some_and(|v| !v.is_null()) {
            tracing::warn!(uri, "feed option postprocessing is not supported; ignored");
        }
        c.validate()?;
        out.push(c);
    }
    Ok(out)
}

fn as_bool(uri: &str, option: &str, v: &Value) -> Result<bool, FeedError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(FeedError::option(
                uri,
                option,
                format!("expected a boolean, got {s:?}"),
            )),
        },
        other => Err(FeedError::option(
            uri,
            option,
            format!("expected a boolean, got {other}"),
        )),
    }
}

fn as_u64(uri: &str, option: &str, v: &Value) -> Result<u64, FeedError> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        FeedError::option(
            uri,
            option,
            format!("expected a non-negative integer, got {v}"),
        )
    })
}
