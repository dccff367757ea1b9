//! Compiled item fields and their extraction from a page or a node.

use std::borrow::Cow;

use jmespath::Rcvar;
use regex::Regex;
use serde_json::Value;
use url::Url;

use super::json::{self, JsonPath};
use super::process::Processor;
use super::schema::FieldType;
use super::template::Template;
use crate::select::{Page, Query, SelectError, Selection};

/// Where a field is extracted: the whole page, one node of a callback's `items`, or a
/// JSON value (a JSON response, or one element of a JSON `items`).
#[derive(Clone, Copy)]
pub enum Scope<'a, 'p> {
    /// The whole page.
    Page(&'a Page<'p>),
    /// One node.
    Node(&'a Selection<'a>),
    /// A JSON value, and the page it came from (JSON-LD, microdata, JSON in a
    /// script), where `css`/`xpath` fields select.
    Json(&'a Rcvar, Option<&'a Page<'p>>),
}

impl<'a> Scope<'a, '_> {
    /// The strings `query` selects in this scope: in a JSON scope, on the page the JSON
    /// came from (none for a JSON response).
    pub fn strings(&self, query: &Query) -> Result<Vec<String>, SelectError> {
        Ok(match self {
            Scope::Page(p) => p.try_select(query)?.getall(),
            Scope::Node(n) => n.try_select(query)?.getall(),
            Scope::Json(_, Some(p)) => p.try_select(query)?.getall(),
            Scope::Json(_, None) => Vec::new(),
        })
    }
}

/// Why a field could not be extracted on a page.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A selector failed.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// A JMESPath expression failed.
    #[error("{0}")]
    Json(String),
    /// A script processor failed.
    #[error("{0}")]
    Script(String),
}

/// Where a field's raw values come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A CSS or XPath selector.
    Select(Query),
    /// A JMESPath over the scope's JSON, or over the JSON in the text a selector picks.
    Json {
        /// The selector of the JSON text (a `<script>`), if the JSON is in the page.
        text: Option<Query>,
        /// The JMESPath.
        path: JsonPath,
    },
    /// A template rendered per item (`{url}`, `{category}`).
    Template(Template),
    /// Several templates, one value each (empty ones dropped by `strip`).
    Templates(Vec<Template>),
    /// A constant JSON value (numbers, booleans, lists).
    Constant(Value),
}

/// A validated field.
#[derive(Debug, Clone)]
pub struct Field {
    /// The field's name in the item.
    pub name: String,
    /// Where values come from.
    pub source: Source,
    /// Regex applied to each value (for a JSON source with a selector: cutting the JSON
    /// out of the selected text).
    pub re: Option<Regex>,
    /// Processors applied to each value, in order.
    pub process: Vec<Processor>,
    /// Join separator.
    pub join: Option<String>,
    /// Trim and drop empty values.
    pub strip: bool,
    /// Keep all values as a list.
    pub all: bool,
    /// Output type.
    pub kind: FieldType,
    /// Value when nothing matches.
    pub default: Option<Value>,
    /// Drop the item when nothing matches and there is no default.
    pub required: bool,
    /// Read the value as opening hours (an OSM `opening_hours` string).
    pub hours: Option<super::hours::HoursOptions>,
}

/// The result of extracting one field.
pub enum Extracted {
    /// A value to store.
    Value(Value),
    /// Nothing matched and the field is optional: leave it out.
    Missing,
    /// Nothing matched and the field is required: drop the item.
    MissingRequired,
}

impl Field {
    /// Extracts this field in `scope`; `vars` resolves template placeholders and
    /// `base` relative URLs. A selector that fails on this page is an error (the caller
    /// reports it).
    pub fn extract<'v>(
        &self,
        scope: Scope<'_, '_>,
        vars: &dyn Fn(&str) -> Option<Cow<'v, str>>,
        base: Option<&Url>,
    ) -> Result<Extracted, ExtractError> {
        if let Some(h) = &self.hours {
            return super::hours::extract_field(self, h, scope, vars);
        }
        let mut values: Vec<String> = match &self.source {
            Source::Constant(v) => return Ok(Extracted::Value(v.clone())),
            Source::Template(t) => vec![t.render(vars)],
            Source::Templates(ts) => ts.iter().map(|t| t.render(vars)).collect(),
            Source::Select(q) => scope.strings(q)?,
            Source::Json { text: None, path } => match scope {
                Scope::Json(v, _) => {
                    let found = path.search(v).map_err(ExtractError::Json)?;
                    json::values(&found)
                }
                _ => Vec::new(),
            },
            Source::Json {
                text: Some(q),
                path,
            } => {
                let mut out = Vec::new();
                for text in scope.strings(q)? {
                    let cut = match &self.re {
                        Some(re) => first_match(re, &text),
                        None => Some(text.as_str()),
                    };
                    if let Some(data) = cut.and_then(json::parse) {
                        let found = path.search(&data).map_err(ExtractError::Json)?;
                        out.extend(json::values(&found));
                    }
                }
                out
            }
        };
        if self.strip {
            values = values
                .into_iter()
                .filter_map(|v| {
                    let t = v.trim();
                    if t.is_empty() {
                        None
                    } else if t.len() == v.len() {
                        Some(v)
                    } else {
                        Some(t.to_string())
                    }
                })
                .collect();
        }
        if let (Some(re), false) = (
            &self.re,
            matches!(self.source, Source::Json { text: Some(_), .. }),
        ) {
            values = values.iter().flat_map(|v| regex_values(re, v)).collect();
        }
        for p in &self.process {
            let mut next = Vec::with_capacity(values.len());
            for v in values {
                p.try_apply(v, base, &mut next)
                    .map_err(ExtractError::Script)?;
            }
            values = next;
        }
        if let Some(sep) = &self.join {
            values = if values.is_empty() {
                values
            } else {
                vec![values.join(sep)]
            };
        }
        let mut converted = values.iter().filter_map(|v| convert(v, self.kind));
        let value = if self.all {
            let list: Vec<Value> = converted.collect();
            (!list.is_empty()).then_some(Value::Array(list))
        } else {
            converted.next()
        };
        Ok(match (value, &self.default) {
            (Some(v), _) => Extracted::Value(v),
            (None, Some(d)) => Extracted::Value(d.clone()),
            (None, None) if self.required => Extracted::MissingRequired,
            (None, None) => Extracted::Missing,
        })
    }
}

/// The text of the first match of `re` in `text`: group 1 when it has groups.
pub(crate) fn first_match<'t>(re: &Regex, text: &'t str) -> Option<&'t str> {
    let caps = re.captures(text)?;
    caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str())
}

/// parsel's `re()`: a group named `extract` when there is one, else every group of
/// every match, else the whole matches.
fn regex_values(re: &Regex, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    crate::select::regex_matches(re, text, &mut out, false);
    out.into_iter()
        .map(crate::select::replace_entities)
        .collect()
}

fn convert(v: &str, kind: FieldType) -> Option<Value> {
    match kind {
        FieldType::String => Some(Value::String(v.to_string())),
        FieldType::Int => {
            let cleaned: String = v
                .chars()
                .filter(|c| !matches!(c, ',' | '_' | ' '))
                .collect();
            let t = cleaned.trim();
            // `3.0` too: XPath numbers (count(), sum()) are doubles.
            t.parse::<i64>()
                .ok()
                .or_else(|| {
                    let f = t.parse::<f64>().ok()?;
                    (f.is_finite() && f == f.trunc() && f.abs() < 9.0e15).then_some(f as i64)
                })
                .map(Value::from)
        }
        FieldType::Float => {
            let cleaned: String = v
                .chars()
                .filter(|c| !matches!(c, ',' | '_' | ' '))
                .collect();
            cleaned
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::from)
        }
        FieldType::Bool => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Some(Value::Bool(true)),
            "false" | "no" | "0" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(convert("1,234", FieldType::Int), Some(Value::from(1234)));
        assert_eq!(convert("12.5", FieldType::Float), Some(Value::from(12.5)));
        assert_eq!(convert("abc", FieldType::Float), None);
        assert_eq!(convert("Yes", FieldType::Bool), Some(Value::Bool(true)));
        assert_eq!(convert("nan", FieldType::Float), None);
    }

    #[test]
    fn regex_group_or_match() {
        let g = Regex::new(r"\$(\d+)").unwrap();
        assert_eq!(regex_values(&g, "$12 and $3"), vec!["12", "3"]);
        let two = Regex::new(r"(\d+)\.(\d+)").unwrap();
        assert_eq!(
            regex_values(&two, "v3.11 and 2.7"),
            vec!["3", "11", "2", "7"]
        );
        let named = Regex::new(r"(\d+)\.(?P<extract>\d+)").unwrap();
        assert_eq!(regex_values(&named, "v3.11 and 2.7"), vec!["11"]);
        let m = Regex::new(r"\d+").unwrap();
        assert_eq!(regex_values(&m, "a1b22"), vec!["1", "22"]);
    }
}
