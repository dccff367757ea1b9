//! Item exporters: serialise items one at a time onto a [`Write`], as Scrapy's
//! `JsonLinesItemExporter`, `JsonItemExporter`, `CsvItemExporter` and `XmlItemExporter`.

mod csv;
mod json;
mod pyjson;
mod xml;

use std::io::{self, Write};

use serde_json::Value;

use super::FeedFormat;
use crate::Item;

pub use self::csv::CsvExporter;
pub use self::json::{JsonExporter, JsonLinesExporter};
pub use self::xml::XmlExporter;

/// Serialises a stream of items. Object-safe; `start` is called once before the first
/// item and `finish` once after the last (also when the crawl was interrupted).
pub trait FeedExporter: Send {
    /// Writes whatever precedes the first item (`[`, the XML prolog).
    fn start(&mut self, w: &mut dyn Write) -> io::Result<()>;
    /// Writes one item.
    fn export_item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()>;
    /// Writes whatever follows the last item (`]`, `</items>`).
    fn finish(&mut self, w: &mut dyn Write) -> io::Result<()>;
    /// What the exporter must remember to continue a file after a resume (JSON: how
    /// many items the array holds; CSV: the header). `Null` when nothing.
    fn state(&self) -> Value {
        Value::Null
    }
    /// Continues from [`state`](Self::state): `start` is then not called again.
    fn restore(&mut self, _state: &Value) {}
}

/// Options shared by every exporter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportOptions {
    /// Fields to export, in order, as `(item field, output name)`; `None` = every field
    /// (CSV: the first item's fields).
    pub fields: Option<Vec<(String, String)>>,
    /// Scrapy's `indent`: `None` = everything on one line, `Some(0)` = one item per line,
    /// `Some(n)` = pretty-printed with `n` spaces.
    pub indent: Option<usize>,
    /// Escape non-ASCII characters in JSON output (Scrapy's behaviour with no encoding).
    pub ensure_ascii: bool,
}

/// A new exporter for `format`.
pub fn new_exporter(format: FeedFormat, options: ExportOptions) -> Box<dyn FeedExporter> {
    match format {
        FeedFormat::JsonLines => Box::new(JsonLinesExporter::new(options)),
        FeedFormat::Json => Box::new(JsonExporter::new(options)),
        FeedFormat::Csv => Box::new(CsvExporter::new(options)),
        FeedFormat::Xml => Box::new(XmlExporter::new(options)),
    }
}

/// The `(output name, value)` pairs to export: the selected fields present in the item,
/// or all of its fields.
fn selected<'a>(
    item: &'a Item,
    fields: &'a Option<Vec<(String, String)>>,
) -> Box<dyn Iterator<Item = (&'a str, &'a Value)> + 'a> {
    match fields {
        None => Box::new(item.iter().map(|(k, v)| (k.as_str(), v))),
        Some(fields) => Box::new(
            fields
                .iter()
                .filter_map(|(src, out)| item.get(src).map(|v| (out.as_str(), v))),
        ),
    }
}

/// A scalar as text, as Python's `str()` would render it (`True`, `12.5`); `null` is empty.
fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match v {
        Value::Null => Some(Cow::Borrowed("")),
        Value::Bool(true) => Some(Cow::Borrowed("True")),
        Value::Bool(false) => Some(Cow::Borrowed("False")),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => None,
    }
}
