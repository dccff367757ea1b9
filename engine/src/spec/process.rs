//! Field processors: small, named transformations applied to each value of a field
//! (Scrapy's item-loader processors), written in a spec as
//! `process = ["lower", "url", { replace = ['\s+', " "] }, { prefix = "SKU-" }]`.
//!
//! A processor maps one value to zero or more values: `keep`/`drop` filter values out
//! (with `required = true`, an item whose value is filtered out is dropped), `split`
//! makes several, `map` looks values up in a table.

use indexmap::IndexMap;
use regex::Regex;
use serde_json::Value;
use url::Url;

use super::limits;
use crate::select::replace_entities_keeping;

/// The most entries of one `map` table.
pub const MAX_MAP_ENTRIES: usize = 10_000;

/// One processor.
#[derive(Debug, Clone)]
pub enum Processor {
    /// Lowercase.
    Lower,
    /// Uppercase.
    Upper,
    /// Title case: the first letter of each word upper, the rest lower (Python's
    /// `str.title()`).
    Title,
    /// Resolve against the page's URL (its `<base href>` honoured), as `response.urljoin`.
    Url,
    /// A URL slug: lowercase ASCII letters and digits, runs of anything else as one `-`.
    Slug,
    /// Collapse runs of whitespace into one space and trim.
    Squash,
    /// Replace HTML character references (`&amp;`, `&eacute;`, `&#39;`) by their
    /// characters (Python's `html.unescape`).
    Unescape,
    /// Remove HTML tags (w3lib's `remove_tags`), then character references.
    StripTags,
    /// `yes` for a true-ish value (`true`, `1`, `yes`, `y`, `on`, case-insensitive),
    /// `no` for a false-ish one (`false`, `0`, `no`, `n`, `off`), dropped otherwise.
    YesNo,
    /// `yes` when a regex matches the value, else `no` (list membership of a joined
    /// list, a class name, a keyword).
    YesNoMatch(Regex),
    /// Replace every match of a regex (`$1` / `${name}` refer to groups).
    Replace(Regex, String),
    /// Put text before the value.
    Prefix(String),
    /// Put text after the value.
    Suffix(String),
    /// Remove the first of these prefixes the value starts with (`str.removeprefix`).
    StripPrefix(Vec<String>),
    /// Remove the first of these suffixes the value ends with.
    StripSuffix(Vec<String>),
    /// Split on a literal separator: every part, or only the part at an index
    /// (negative from the end).
    Split(String, Option<i64>),
    /// Look the value up in a table; `*` is the entry for values not in it, and without
    /// one such values are dropped.
    Map(IndexMap<String, String>),
    /// Keep only values a regex matches.
    Keep(Regex),
    /// Drop values a regex matches.
    Drop(Regex),
    /// A function of the spec's script: `fn name(value)` returns the new value, or `()`
    /// to drop it.
    Script(super::script::ScriptFn),
}

/// The names accepted, for error messages.
const NAMES: &str = "lower, upper, title, url, slug, squash, unescape, strip_tags, yesno, \
                     { yesno = regex }, { replace = [regex, replacement] }, \
                     { prefix = \"...\" }, { suffix = \"...\" }, { strip_prefix = \"...\" }, \
                     { strip_suffix = \"...\" }, { split = \"sep\" }, { split = [\"sep\", index] }, \
                     { map = { from = \"to\", \"*\" = \"other\" } }, { keep = regex }, \
                     { drop = regex }, { script = \"fn_name\" }";

fn pattern(p: &str) -> Result<Regex, String> {
    if p.len() > limits::MAX_PATTERN_LEN {
        return Err(format!(
            "regex too long: {} bytes (limit {})",
            p.len(),
            limits::MAX_PATTERN_LEN
        ));
    }
    Regex::new(p).map_err(|e| format!("invalid regex {p:?}: {e}"))
}

impl Processor {
    /// Compiles one entry of a `process` list; the error names what is wrong.
    pub fn compile(v: &Value) -> Result<Processor, String> {
        match v {
            Value::String(name) => match name.as_str() {
                "lower" => Ok(Processor::Lower),
                "upper" => Ok(Processor::Upper),
                "title" => Ok(Processor::Title),
                "url" => Ok(Processor::Url),
                "slug" => Ok(Processor::Slug),
                "squash" => Ok(Processor::Squash),
                "unescape" => Ok(Processor::Unescape),
                "strip_tags" => Ok(Processor::StripTags),
                "yesno" => Ok(Processor::YesNo),
                other => Err(format!("unknown processor {other:?} (known: {NAMES})")),
            },
            Value::Object(map) if map.len() == 1 => {
                let (k, arg) = map.iter().next().expect("one entry");
                let text = |a: &Value| {
                    a.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{k} takes a string"))
                };
                let texts = |a: &Value| match a {
                    Value::String(s) => Ok(vec![s.clone()]),
                    Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| format!("{k} takes a string or a list of strings")),
                    _ => Err(format!("{k} takes a string or a list of strings")),
                };
                match k.as_str() {
                    "script" => Err("a script processor needs the spec's top-level script".into()),
                    "prefix" => Ok(Processor::Prefix(text(arg)?)),
                    "suffix" => Ok(Processor::Suffix(text(arg)?)),
                    "strip_prefix" => Ok(Processor::StripPrefix(texts(arg)?)),
                    "strip_suffix" => Ok(Processor::StripSuffix(texts(arg)?)),
                    "yesno" => Ok(Processor::YesNoMatch(pattern(&text(arg)?)?)),
                    "keep" => Ok(Processor::Keep(pattern(&text(arg)?)?)),
                    "drop" => Ok(Processor::Drop(pattern(&text(arg)?)?)),
                    "replace" => {
                        let pair = arg
                            .as_array()
                            .filter(|a| a.len() == 2)
                            .ok_or_else(|| "replace takes [regex, replacement]".to_string())?;
                        Ok(Processor::Replace(
                            pattern(&text(&pair[0])?)?,
                            text(&pair[1])?,
                        ))
                    }
                    "split" => {
                        let bad = || "split takes \"sep\" or [\"sep\", index]".to_string();
                        let (sep, index) = match arg {
                            Value::String(s) => (s.clone(), None),
                            Value::Array(a) if a.len() == 2 => (
                                a[0].as_str().ok_or_else(bad)?.to_string(),
                                Some(a[1].as_i64().ok_or_else(bad)?),
                            ),
                            _ => return Err(bad()),
                        };
                        if sep.is_empty() {
                            return Err("split needs a non-empty separator".into());
                        }
                        Ok(Processor::Split(sep, index))
                    }
                    "map" => {
                        let table = arg
                            .as_object()
                            .filter(|t| !t.is_empty())
                            .ok_or_else(|| "map takes a table { from = \"to\" }".to_string())?;
                        if table.len() > MAX_MAP_ENTRIES {
                            return Err(format!(
                                "map has {} entries (limit {MAX_MAP_ENTRIES})",
                                table.len()
                            ));
                        }
                        let mut out = IndexMap::with_capacity(table.len());
                        for (from, to) in table {
                            let to = match to {
                                Value::String(s) => s.clone(),
                                Value::Number(_) | Value::Bool(_) => to.to_string(),
                                _ => {
                                    return Err(format!(
                                        "map: the value for {from:?} must be a string"
                                    ))
                                }
                            };
                            out.insert(from.clone(), to);
                        }
                        Ok(Processor::Map(out))
                    }
                    other => Err(format!("unknown processor {other:?} (known: {NAMES})")),
                }
            }
            _ => Err(format!(
                "a processor is a name or a one-key table ({NAMES})"
            )),
        }
    }

    /// Compiles one entry of a `process` list in a spec whose script is `script`:
    /// `{ script = "fn_name" }` names one of its functions. None when the entry names a
    /// function of a script that did not compile (that error is reported at `script`).
    pub(crate) fn compile_in_spec(
        v: &Value,
        script: super::script::Hook<'_>,
    ) -> Result<Option<Processor>, String> {
        let name = match v.as_object().and_then(|m| m.get("script")) {
            Some(name) if v.as_object().is_some_and(|m| m.len() == 1) => name,
            _ => return Processor::compile(v).map(Some),
        };
        let name = name.as_str().ok_or("script takes a function name")?;
        Ok(script.function(name, 1)?.map(Processor::Script))
    }

    /// Applies the processor to `v` as [`Processor::apply`]; a script that fails is an
    /// error.
    pub fn try_apply(
        &self,
        v: String,
        base: Option<&Url>,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        match self {
            Processor::Script(f) => {
                let r = f
                    .process(v)
                    .map_err(|e| format!("script function {}: {e}", f.name()))?;
                out.extend(r);
                Ok(())
            }
            other => {
                other.apply(v, base, out);
                Ok(())
            }
        }
    }

    /// Applies the processor to `v`, pushing what comes out (nothing, one value or
    /// several) to `out`; `base` resolves relative URLs. A script that fails drops the
    /// value (use [`Processor::try_apply`] to see why).
    pub fn apply(&self, v: String, base: Option<&Url>, out: &mut Vec<String>) {
        let one = match self {
            Processor::Lower => v.to_lowercase(),
            Processor::Upper => v.to_uppercase(),
            Processor::Title => title(&v),
            Processor::Url => {
                let joined = match base {
                    Some(b) => b.join(v.trim()),
                    None => Url::parse(v.trim()),
                };
                match joined {
                    Ok(u) => u.to_string(),
                    Err(_) => return,
                }
            }
            Processor::Slug => slug(&v),
            Processor::Squash => v.split_whitespace().collect::<Vec<_>>().join(" "),
            Processor::Unescape => replace_entities_keeping(v, &[]),
            Processor::StripTags => replace_entities_keeping(strip_tags(&v), &[]),
            Processor::YesNo => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "on" => "yes".into(),
                "false" | "0" | "no" | "n" | "off" => "no".into(),
                _ => return,
            },
            Processor::YesNoMatch(re) => if re.is_match(&v) { "yes" } else { "no" }.into(),
            Processor::Replace(re, with) => re.replace_all(&v, with.as_str()).into_owned(),
            Processor::Prefix(p) => format!("{p}{v}"),
            Processor::Suffix(s) => format!("{v}{s}"),
            Processor::StripPrefix(ps) => {
                match ps.iter().find_map(|p| v.strip_prefix(p.as_str())) {
                    Some(rest) => rest.to_string(),
                    None => v,
                }
            }
            Processor::StripSuffix(ss) => {
                match ss.iter().find_map(|s| v.strip_suffix(s.as_str())) {
                    Some(rest) => rest.to_string(),
                    None => v,
                }
            }
            Processor::Split(sep, None) => {
                out.extend(v.split(sep.as_str()).map(str::to_string));
                return;
            }
            Processor::Split(sep, Some(i)) => {
                let parts: Vec<&str> = v.split(sep.as_str()).collect();
                let at = if *i < 0 { parts.len() as i64 + i } else { *i };
                match usize::try_from(at).ok().and_then(|at| parts.get(at)) {
                    Some(p) => p.to_string(),
                    None => return,
                }
            }
            Processor::Map(table) => match table.get(v.trim()).or_else(|| table.get("*")) {
                Some(to) => to.clone(),
                None => return,
            },
            Processor::Keep(re) if !re.is_match(&v) => return,
            Processor::Drop(re) if re.is_match(&v) => return,
            Processor::Keep(_) | Processor::Drop(_) => v,
            Processor::Script(f) => match f.process(v) {
                Ok(Some(v)) => v,
                _ => return,
            },
        };
        out.push(one);
    }
}

/// Python's `str.title()`: a letter after a non-letter is uppercased, others lowered.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if c.is_alphabetic() {
            if prev_letter {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev_letter = true;
        } else {
            out.push(c);
            prev_letter = false;
        }
    }
    out
}

/// Removes `<...>` tags (and comments) as w3lib's `remove_tags` does.
fn strip_tags(s: &str) -> String {
    if !s.contains('<') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        // A `<` not starting a tag (`a < b`) stays.
        let starts_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        match (starts_tag, after.find('>')) {
            (true, Some(j)) => rest = &after[j + 1..],
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_all(p: Value, v: &str) -> Vec<String> {
        let base = Url::parse("https://shop.example/a/b.html").unwrap();
        let mut out = Vec::new();
        Processor::compile(&p)
            .unwrap()
            .apply(v.into(), Some(&base), &mut out);
        out
    }

    fn run(p: Value, v: &str) -> Option<String> {
        let mut all = run_all(p, v);
        assert!(all.len() <= 1, "{all:?}");
        all.pop()
    }

    #[test]
    fn each_processor() {
        assert_eq!(run(json!("lower"), "AbC").as_deref(), Some("abc"));
        assert_eq!(run(json!("upper"), "AbC").as_deref(), Some("ABC"));
        assert_eq!(
            run(json!("url"), " ../c?x=1 ").as_deref(),
            Some("https://shop.example/c?x=1")
        );
        assert_eq!(
            run(json!("slug"), "  Crème Brûlée & Co. 2 ").as_deref(),
            Some("cr-me-br-l-e-co-2")
        );
        assert_eq!(
            run(json!("squash"), " a \n b\t c ").as_deref(),
            Some("a b c")
        );
        assert_eq!(
            run(json!({"replace": ["(\\d+) EUR", "€$1"]}), "12 EUR").as_deref(),
            Some("€12")
        );
        assert_eq!(
            run(json!({"prefix": "SKU-"}), "7").as_deref(),
            Some("SKU-7")
        );
        assert_eq!(run(json!({"suffix": "/"}), "a").as_deref(), Some("a/"));
        assert_eq!(
            run(json!("title"), "hANS im glück-bar 2go").as_deref(),
            Some("Hans Im Glück-Bar 2Go")
        );
        assert_eq!(
            run(
                json!("unescape"),
                "Caf&eacute; &amp; Bar &#39;A&#x27; &lt;b&gt; &apos;"
            )
            .as_deref(),
            Some("Café & Bar 'A' <b> '")
        );
        assert_eq!(
            run(
                json!("strip_tags"),
                "<p>Address:<br/>1 Main&nbsp;St</p> a < b"
            )
            .as_deref(),
            Some("Address:1 Main\u{a0}St a < b")
        );
        assert_eq!(run(json!("yesno"), " True ").as_deref(), Some("yes"));
        assert_eq!(run(json!("yesno"), "0").as_deref(), Some("no"));
        assert_eq!(run(json!("yesno"), "maybe"), None);
        assert_eq!(
            run(json!({"yesno": "(?i)wifi"}), "Parking, WiFi").as_deref(),
            Some("yes")
        );
        assert_eq!(
            run(json!({"yesno": "wifi"}), "Parking").as_deref(),
            Some("no")
        );
        assert_eq!(
            run(
                json!({"strip_prefix": ["Magasin ", "Store "]}),
                "Store Lyon"
            )
            .as_deref(),
            Some("Lyon")
        );
        assert_eq!(
            run(json!({"strip_prefix": "X"}), "Lyon").as_deref(),
            Some("Lyon")
        );
        assert_eq!(
            run(json!({"strip_suffix": " (closed)"}), "Lyon (closed)").as_deref(),
            Some("Lyon")
        );
        assert_eq!(
            run_all(json!({"split": ";"}), "a;b;;c"),
            vec!["a", "b", "", "c"]
        );
        assert_eq!(
            run(json!({"split": [",", 0]}), "a@x, b@y").as_deref(),
            Some("a@x")
        );
        assert_eq!(
            run(json!({"split": [",", -1]}), "1,2,3").as_deref(),
            Some("3")
        );
        assert_eq!(run(json!({"split": [",", 5]}), "1,2"), None);
        let table = json!({"map": {"1": "shop", "2": "cafe", "*": "other"}});
        assert_eq!(run(table.clone(), "2").as_deref(), Some("cafe"));
        assert_eq!(run(table, "9").as_deref(), Some("other"));
        assert_eq!(run(json!({"map": {"1": "shop"}}), "9"), None);
        assert_eq!(run(json!({"keep": "^\\d+$"}), "12").as_deref(), Some("12"));
        assert_eq!(run(json!({"keep": "^\\d+$"}), "x"), None);
        assert_eq!(run(json!({"drop": "(?i)hidden"}), "HIDDEN"), None);
        assert_eq!(
            run(json!({"drop": "(?i)hidden"}), "open").as_deref(),
            Some("open")
        );
    }

    #[test]
    fn bad_processors_say_why() {
        for (p, want) in [
            (json!("bogus"), "unknown processor \"bogus\""),
            (
                json!({"replace": "x"}),
                "replace takes [regex, replacement]",
            ),
            (json!({"replace": ["(", ""]}), "invalid regex"),
            (json!({"prefix": 3}), "prefix takes a string"),
            (json!(3), "a processor is a name"),
            (json!({"split": ""}), "non-empty separator"),
            (json!({"split": [",", "x"]}), "split takes"),
            (json!({"map": {}}), "map takes a table"),
            (json!({"map": {"a": []}}), "must be a string"),
            (json!({"strip_prefix": []}), "a string or a list"),
            (json!({"keep": "("}), "invalid regex"),
        ] {
            let e = Processor::compile(&p).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }
}
