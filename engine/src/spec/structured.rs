//! Items from structured data that is not JSON: microdata (`itemscope`/`itemprop`,
//! shaped like JSON-LD so the same JMESPath fields read both), CSV rows, and the
//! matches of a regex over the page's text. Each item is a JSON value that fields
//! read with `jmespath`.

use jmespath::Rcvar;
use regex::Regex;
use serde_json::{Map, Value};
use url::Url;

use super::json;
use super::schema::SelectorSpec;
use super::{ItemSource, SpecError};
use crate::select::dom::{Document, NodeId};
use crate::select::Page;

/// The most CSV rows read from one text.
pub const MAX_CSV_ROWS: usize = 100_000;
/// The largest text read as CSV, in bytes.
pub const MAX_CSV_BYTES: usize = 32 << 20;
/// The most regex matches taken as items from one page.
pub const MAX_REGEX_ITEMS: usize = 10_000;
/// The most microdata items read from one page.
pub const MAX_MICRODATA_ITEMS: usize = 10_000;
/// The deepest nesting of microdata items followed.
const MAX_MICRODATA_DEPTH: usize = 16;
/// The most properties read from one page's microdata.
const MAX_MICRODATA_PROPS: usize = 200_000;

/// How CSV is read.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// The field delimiter (default `,`).
    pub delimiter: u8,
    /// The quote character (default `"`).
    pub quote: u8,
    /// Whether the first row names the columns (default true): rows are objects keyed
    /// by it; without, rows are arrays.
    pub header: bool,
}

impl CsvOptions {
    fn compile(path: &str, v: &Value) -> Result<CsvOptions, SpecError> {
        let mut o = CsvOptions {
            delimiter: b',',
            quote: b'"',
            header: true,
        };
        let map = match v {
            Value::Bool(true) => return Ok(o),
            Value::Object(m) => m,
            _ => {
                return Err(SpecError::new(
                    path,
                    "expected true or a table (delimiter, quote, header)",
                ))
            }
        };
        let one_char = |k: &str, v: &Value| -> Result<u8, SpecError> {
            let p = format!("{path}.{k}");
            let s = v
                .as_str()
                .ok_or_else(|| SpecError::new(&p, "expected a string"))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii() && c != '\n' && c != '\r' => Ok(c as u8),
                (Some(_), None) => Err(SpecError::new(&p, "must be an ASCII character")),
                _ => Err(SpecError::new(&p, "must be one character")),
            }
        };
        for (k, val) in map {
            match k.as_str() {
                "delimiter" => o.delimiter = one_char(k, val)?,
                "quote" => o.quote = one_char(k, val)?,
                "header" => {
                    o.header = val.as_bool().ok_or_else(|| {
                        SpecError::new(format!("{path}.header"), "expected true or false")
                    })?
                }
                other => {
                    return Err(SpecError::new(
                        format!("{path}.{other}"),
                        format!("unknown csv option {other:?} (delimiter, quote, header)"),
                    ))
                }
            }
        }
        if o.delimiter == o.quote {
            return Err(SpecError::new(
                format!("{path}.quote"),
                "the quote must differ from the delimiter",
            ));
        }
        Ok(o)
    }
}

/// Compiles `items` that use `microdata`, `csv`, or `re` without `jmespath`; None for
/// other `items` (compiled by the caller).
pub(super) fn compile_items(path: &str, s: &SelectorSpec) -> Option<Result<ItemSource, SpecError>> {
    let selector = s.css.is_some() || s.xpath.is_some();
    if let Some(types) = &s.microdata {
        if selector || s.jmespath.is_some() || s.re.is_some() || s.csv.is_some() {
            return Some(Err(SpecError::new(
                path,
                "microdata takes no css, xpath, jmespath, re or csv (json_ld may go with it)",
            )));
        }
        return Some(Ok(ItemSource::Microdata {
            types: types.to_vec(),
            json_ld: s.json_ld.as_ref().map(|t| t.to_vec()),
        }));
    }
    if let Some(c) = &s.csv {
        if s.jmespath.is_some() || s.re.is_some() || s.json_ld.is_some() {
            return Some(Err(SpecError::new(
                path,
                "csv takes no jmespath, re or json_ld (fields read the rows with jmespath)",
            )));
        }
        return Some((|| {
            let text = super::one_selector(path, s.css.as_deref(), s.xpath.as_deref())?;
            let options = CsvOptions::compile(&format!("{path}.csv"), c)?;
            Ok(ItemSource::Csv { text, options })
        })());
    }
    match (&s.re, &s.jmespath) {
        (Some(re), None) => {
            if s.json_ld.is_some() {
                return Some(Err(SpecError::new(path, "json_ld takes no re")));
            }
            Some((|| {
                let text = super::one_selector(path, s.css.as_deref(), s.xpath.as_deref())?;
                let re = super::regex(&format!("{path}.re"), re)?;
                Ok(ItemSource::Regex { text, re })
            })())
        }
        _ => None,
    }
}

/// The items of `csv` or `re` items in one text.
pub(super) fn text_items(source: &ItemSource, text: &str) -> Vec<Rcvar> {
    match source {
        ItemSource::Csv { options, .. } => csv_rows(text, options),
        ItemSource::Regex { re, .. } => regex_items(text, re),
        _ => Vec::new(),
    }
}

/// The rows of CSV `text`: objects keyed by the header row, or arrays.
pub fn csv_rows(text: &str, o: &CsvOptions) -> Vec<Rcvar> {
    if text.len() > MAX_CSV_BYTES {
        tracing::warn!(
            bytes = text.len(),
            "CSV over {MAX_CSV_BYTES} bytes: no items read"
        );
        return Vec::new();
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(o.delimiter)
        .quote(o.quote)
        .has_headers(o.header)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = if o.header {
        match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(_) => return Vec::new(),
        }
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let Ok(record) = record else { break };
        if out.len() >= MAX_CSV_ROWS {
            tracing::warn!("CSV with over {MAX_CSV_ROWS} rows: the rest is left out");
            break;
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let row = if o.header {
            let mut m = Map::new();
            for (i, f) in record.iter().enumerate() {
                let key = match header.get(i) {
                    Some(h) if !h.is_empty() => h.clone(),
                    _ => i.to_string(),
                };
                m.entry(key).or_insert_with(|| Value::String(f.to_string()));
            }
            Value::Object(m)
        } else {
            Value::Array(record.iter().map(|f| Value::String(f.into())).collect())
        };
        out.push(json::to_var(&row));
    }
    out
}

/// One object per match of `re` in `text`: its named groups by name, other groups by
/// number (`"1"`, `"2"`), the whole match as `"0"` when it has no groups. Groups that
/// took no part in a match are left out.
pub fn regex_items(text: &str, re: &Regex) -> Vec<Rcvar> {
    let names: Vec<Option<&str>> = re.capture_names().collect();
    let mut out = Vec::new();
    for caps in re.captures_iter(text) {
        if out.len() >= MAX_REGEX_ITEMS {
            tracing::warn!("over {MAX_REGEX_ITEMS} regex matches on a page: the rest are left out");
            break;
        }
        let mut m = Map::new();
        if names.len() == 1 {
            m.insert("0".into(), Value::String(caps[0].to_string()));
        }
        for (i, name) in names.iter().enumerate().skip(1) {
            if let Some(g) = caps.get(i) {
                let key = name.map_or_else(|| i.to_string(), str::to_string);
                m.insert(key, Value::String(g.as_str().to_string()));
            }
        }
        out.push(json::to_var(&Value::Object(m)));
    }
    out
}

/// `Store` matches `Store`, `schema:Store` and `http://schema.org/Store`.
fn type_is(t: &str, wanted: &str) -> bool {
    t == wanted || t.trim_end_matches('/').rsplit(['/', ':', '#']).next() == Some(wanted)
}

/// The short name of an item type (`https://schema.org/Store` → `Store`).
fn short_type(t: &str) -> &str {
    t.trim_end_matches('/')
        .rsplit(['/', '#', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(t)
}

/// The microdata items of a page whose `itemtype` is one of `types` (any when empty),
/// nested ones included, as JSON-LD-shaped objects; URL values resolved against `base`.
pub fn microdata_objects(page: &Page<'_>, base: &Url, types: &[String]) -> Vec<Rcvar> {
    let doc = page.document();
    let mut reader = Microdata {
        doc,
        base,
        props: 0,
        ids: None,
    };
    let mut out = Vec::new();
    let scopes: Vec<NodeId> = doc
        .elements()
        .filter(|(_, e)| e.attr("itemscope").is_some())
        .map(|(id, _)| id)
        .collect();
    for id in scopes {
        if out.len() >= MAX_MICRODATA_ITEMS || reader.props >= MAX_MICRODATA_PROPS {
            break;
        }
        let itemtype = doc
            .element(id)
            .and_then(|e| e.attr("itemtype"))
            .unwrap_or("");
        let wanted = types.is_empty()
            || itemtype
                .split_ascii_whitespace()
                .any(|t| types.iter().any(|w| type_is(t, w)));
        if wanted {
            let mut chain = Vec::new();
            out.push(json::to_var(&reader.item(id, &mut chain)));
        }
    }
    out
}

struct Microdata<'d> {
    doc: &'d Document,
    base: &'d Url,
    /// Properties read so far (bounds the work on hostile pages).
    props: usize,
    /// Elements by `id` (first one wins), made at the first `itemref`.
    ids: Option<std::collections::HashMap<&'d str, NodeId>>,
}

impl<'d> Microdata<'d> {
    /// The object of the item at `id`; `chain` holds the items being read around it
    /// (an `itemref` loop reads as a string).
    fn item(&mut self, id: NodeId, chain: &mut Vec<NodeId>) -> Value {
        let doc = self.doc;
        let el = doc.element(id).expect("an element");
        let mut obj = Map::new();
        let types: Vec<&str> = el
            .attr("itemtype")
            .unwrap_or("")
            .split_ascii_whitespace()
            .map(short_type)
            .collect();
        match types.as_slice() {
            [] => {}
            [one] => {
                obj.insert("@type".into(), Value::String(one.to_string()));
            }
            many => {
                obj.insert(
                    "@type".into(),
                    Value::Array(many.iter().map(|t| Value::String(t.to_string())).collect()),
                );
            }
        }
        if let Some(itemid) = el.attr("itemid") {
            obj.insert("@id".into(), Value::String(self.url(itemid)));
        }
        chain.push(id);
        // The item's subtree, then the elements `itemref` names (with theirs), not
        // entering nested items.
        let mut stack: Vec<NodeId> = doc.children(id).collect::<Vec<_>>();
        stack.reverse();
        let mut refs = Vec::new();
        for r in el
            .attr("itemref")
            .unwrap_or("")
            .split_ascii_whitespace()
            .take(64)
        {
            let ids = self.ids.get_or_insert_with(|| {
                let mut m = std::collections::HashMap::new();
                for (nid, e) in doc.elements() {
                    if let Some(i) = e.attr("id") {
                        m.entry(i).or_insert(nid);
                    }
                }
                m
            });
            if let Some(&rid) = ids.get(r) {
                if rid != id && !doc.is_ancestor(rid, id) {
                    refs.push(rid);
                }
            }
        }
        let mut queue: Vec<NodeId> = refs.into_iter().rev().collect();
        queue.extend(stack);
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = queue.pop() {
            if self.props >= MAX_MICRODATA_PROPS || !seen.insert(n) {
                continue;
            }
            let Some(e) = doc.element(n) else { continue };
            if let Some(names) = e.attr("itemprop") {
                let value = if e.attr("itemscope").is_some() {
                    if chain.contains(&n) || chain.len() >= MAX_MICRODATA_DEPTH {
                        Value::String(doc.text_content(n).trim().to_string())
                    } else {
                        self.item(n, chain)
                    }
                } else {
                    Value::String(self.value(n))
                };
                for name in names.split_ascii_whitespace() {
                    self.props += 1;
                    match obj.get_mut(name) {
                        None => {
                            obj.insert(name.to_string(), value.clone());
                        }
                        // Values are strings or objects: a list is one this made.
                        Some(Value::Array(list)) => list.push(value.clone()),
                        Some(existing) => {
                            let first = existing.take();
                            *existing = Value::Array(vec![first, value.clone()]);
                        }
                    }
                }
            }
            if e.attr("itemscope").is_none() {
                let mut kids: Vec<NodeId> = doc.children(n).collect();
                kids.reverse();
                queue.extend(kids);
            }
        }
        chain.pop();
        obj.into_iter().collect()
    }

    /// A property's value by the element it is on (W3C microdata rules).
    fn value(&self, id: NodeId) -> String {
        let doc = self.doc;
        let e = doc.element(id).expect("an element");
        let attr = |name: &str| e.attr(name).unwrap_or("").trim().to_string();
        if let Some(c) = e.attr("content") {
            return c.trim().to_string();
        }
        match &*e.name {
            "meta" => attr("content"),
            "audio" | "embed" | "iframe" | "img" | "source" | "track" | "video" => {
                self.url(&attr("src"))
            }
            "a" | "area" | "link" => self.url(&attr("href")),
            "object" => self.url(&attr("data")),
            "data" | "meter" if e.attr("value").is_some() => attr("value"),
            "time" if e.attr("datetime").is_some() => attr("datetime"),
            _ => collapse(&doc.text_content(id)),
        }
    }

    fn url(&self, href: &str) -> String {
        if href.is_empty() {
            return String::new();
        }
        self.base
            .join(href)
            .map(String::from)
            .unwrap_or_else(|_| href.to_string())
    }
}

/// Text with runs of whitespace made one space, trimmed.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: Vec<Rcvar>) -> Vec<Value> {
        v.iter()
            .map(|v| serde_json::to_value(&**v).unwrap())
            .collect()
    }

    #[test]
    fn microdata_nested_items() {
        let html = r#"<html><body>
        <div itemscope itemtype="https://schema.org/Store" itemid="/s/1">
          <h1 itemprop="name">Corner  Shop</h1>
          <a itemprop="url" href="/stores/1">page</a>
          <img itemprop="image" src="img/1.jpg">
          <meta itemprop="openingHours" content="Mo-Fr 09:00-18:00">
          <meta itemprop="openingHours" content="Sa 10:00-14:00">
          <div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">
            <span itemprop="streetAddress">1 Main St</span>
            <span itemprop="addressLocality">Springfield</span>
          </div>
          <div itemprop="geo" itemscope itemtype="http://schema.org/GeoCoordinates">
            <meta itemprop="latitude" content="51.5"><meta itemprop="longitude" content="-0.1">
          </div>
          <time itemprop="foundingDate" datetime="1999-01-02">Jan 1999</time>
          <data itemprop="branchCode" value="B-1">one</data>
        </div>
        <div itemscope itemtype="https://schema.org/Product"><span itemprop="name">x</span></div>
        </body></html>"#;
        let url = Url::parse("https://shop.example/find/").unwrap();
        let page = Page::parse_with_url(html, &url);
        let stores = values(microdata_objects(&page, &url, &["Store".into()]));
        assert_eq!(
            stores,
            vec![serde_json::json!({
                "@type": "Store",
                "@id": "https://shop.example/s/1",
                "name": "Corner Shop",
                "url": "https://shop.example/stores/1",
                "image": "https://shop.example/find/img/1.jpg",
                "openingHours": ["Mo-Fr 09:00-18:00", "Sa 10:00-14:00"],
                "address": {"@type": "PostalAddress", "streetAddress": "1 Main St", "addressLocality": "Springfield"},
                "geo": {"@type": "GeoCoordinates", "latitude": "51.5", "longitude": "-0.1"},
                "foundingDate": "1999-01-02",
                "branchCode": "B-1",
            })]
        );
        let addresses = values(microdata_objects(
            &page,
            &url,
            &[
                "http://schema.org/PostalAddress".into(),
                "https://schema.org/PostalAddress".into(),
            ],
        ));
        assert_eq!(addresses.len(), 1);
        assert_eq!(values(microdata_objects(&page, &url, &[])).len(), 4);
    }

    #[test]
    fn microdata_itemref_and_loops() {
        let html = r#"<div itemscope itemtype="x:Person" itemref="extra"><span itemprop="name">A</span></div>
        <p id="extra"><span itemprop="age">3</span></p>
        <div id="loop" itemscope itemtype="x:T" itemref="loop"><b itemprop="n">1</b></div>"#;
        let url = Url::parse("https://e.example/").unwrap();
        let page = Page::parse_with_url(html, &url);
        let all = values(microdata_objects(&page, &url, &[]));
        assert_eq!(
            all[0],
            serde_json::json!({"@type": "Person", "name": "A", "age": "3"})
        );
        assert_eq!(all[1], serde_json::json!({"@type": "T", "n": "1"}));
    }

    #[test]
    fn csv_rows_with_and_without_header() {
        let o = CsvOptions {
            delimiter: b';',
            quote: b'"',
            header: true,
        };
        let rows = values(csv_rows(
            "\u{feff}id;name ;city\n1;\"A; B\";Oslo\n\n2;C\n",
            &o,
        ));
        assert_eq!(
            rows,
            vec![
                serde_json::json!({"id": "1", "name": "A; B", "city": "Oslo"}),
                serde_json::json!({"id": "2", "name": "C"}),
            ]
        );
        let o = CsvOptions { header: false, ..o };
        assert_eq!(
            values(csv_rows("1;x\n2;y", &o)),
            vec![serde_json::json!(["1", "x"]), serde_json::json!(["2", "y"])]
        );
    }

    #[test]
    fn regex_items_by_group() {
        let re = Regex::new(r"(?P<city>[^;!]+);;([-\d.]+)").unwrap();
        assert_eq!(
            values(regex_items("Oslo;;10.7!Lyon;;4.8", &re)),
            vec![
                serde_json::json!({"city": "Oslo", "2": "10.7"}),
                serde_json::json!({"city": "Lyon", "2": "4.8"}),
            ]
        );
        let whole = Regex::new(r"\d+").unwrap();
        assert_eq!(
            values(regex_items("a1b22", &whole)),
            vec![
                serde_json::json!({"0": "1"}),
                serde_json::json!({"0": "22"})
            ]
        );
    }

    #[test]
    fn csv_options() {
        let e = CsvOptions::compile("c", &serde_json::json!({"delimiter": ";;"})).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("c.delimiter", "must be one character")
        );
        assert!(CsvOptions::compile("c", &serde_json::json!({"delimiter": "\t"})).is_ok());
        assert_eq!(
            CsvOptions::compile("c", &serde_json::json!({"nope": 1}))
                .unwrap_err()
                .path,
            "c.nope"
        );
        assert!(CsvOptions::compile("c", &serde_json::json!(false)).is_err());
    }
}
