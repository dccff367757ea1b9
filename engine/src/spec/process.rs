//! Field processors: small, named transformations applied to each value of a field
//! (Scrapy's item-loader processors), written in a spec as
//! `process = ["lower", "url", { replace = ['\s+', " "] }, { prefix = "SKU-" }]`.

use regex::Regex;
use serde_json::Value;
use url::Url;

use super::limits;

/// One processor.
#[derive(Debug, Clone)]
pub enum Processor {
    /// Lowercase.
    Lower,
    /// Uppercase.
    Upper,
    /// Resolve against the page's URL (its `<base href>` honoured), as `response.urljoin`.
    Url,
    /// A URL slug: lowercase ASCII letters and digits, runs of anything else as one `-`.
    Slug,
    /// Collapse runs of whitespace into one space and trim.
    Squash,
    /// Replace every match of a regex (`$1` / `${name}` refer to groups).
    Replace(Regex, String),
    /// Put text before the value.
    Prefix(String),
    /// Put text after the value.
    Suffix(String),
    /// A function of the spec's script: `fn name(value)` returns the new value, or `()`
    /// to drop it.
    Script(super::script::ScriptFn),
}

/// The names accepted, for error messages.
const NAMES: &str = "lower, upper, url, slug, squash, { replace = [regex, replacement] }, \
                     { prefix = \"...\" }, { suffix = \"...\" }, { script = \"fn_name\" }";

impl Processor {
    /// Compiles one entry of a `process` list; the error names what is wrong.
    pub fn compile(v: &Value) -> Result<Processor, String> {
        match v {
            Value::String(name) => match name.as_str() {
                "lower" => Ok(Processor::Lower),
                "upper" => Ok(Processor::Upper),
                "url" => Ok(Processor::Url),
                "slug" => Ok(Processor::Slug),
                "squash" => Ok(Processor::Squash),
                other => Err(format!("unknown processor {other:?} (known: {NAMES})")),
            },
            Value::Object(map) if map.len() == 1 => {
                let (k, arg) = map.iter().next().expect("one entry");
                let text = |a: &Value| {
                    a.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{k} takes a string"))
                };
                match k.as_str() {
                    "script" => Err("a script processor needs the spec's top-level script".into()),
                    "prefix" => Ok(Processor::Prefix(text(arg)?)),
                    "suffix" => Ok(Processor::Suffix(text(arg)?)),
                    "replace" => {
                        let pair = arg
                            .as_array()
                            .filter(|a| a.len() == 2)
                            .ok_or_else(|| "replace takes [regex, replacement]".to_string())?;
                        let pattern = text(&pair[0])?;
                        let with = text(&pair[1])?;
                        if pattern.len() > limits::MAX_PATTERN_LEN {
                            return Err(format!(
                                "regex too long: {} bytes (limit {})",
                                pattern.len(),
                                limits::MAX_PATTERN_LEN
                            ));
                        }
                        let re = Regex::new(&pattern)
                            .map_err(|e| format!("invalid regex {pattern:?}: {e}"))?;
                        Ok(Processor::Replace(re, with))
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
    pub fn try_apply(&self, v: String, base: Option<&Url>) -> Result<Option<String>, String> {
        match self {
            Processor::Script(f) => f
                .process(v)
                .map_err(|e| format!("script function {}: {e}", f.name())),
            other => Ok(other.apply(v, base)),
        }
    }

    /// Applies the processor to `v`; `base` resolves relative URLs. A script that fails
    /// drops the value (use [`Processor::try_apply`] to see why).
    pub fn apply(&self, v: String, base: Option<&Url>) -> Option<String> {
        Some(match self {
            Processor::Lower => v.to_lowercase(),
            Processor::Upper => v.to_uppercase(),
            Processor::Url => match base {
                Some(b) => b.join(v.trim()).ok()?.to_string(),
                None => Url::parse(v.trim()).ok()?.to_string(),
            },
            Processor::Slug => slug(&v),
            Processor::Squash => v.split_whitespace().collect::<Vec<_>>().join(" "),
            Processor::Replace(re, with) => re.replace_all(&v, with.as_str()).into_owned(),
            Processor::Prefix(p) => format!("{p}{v}"),
            Processor::Suffix(s) => format!("{v}{s}"),
            Processor::Script(f) => f.process(v).ok()??,
        })
    }
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

    fn run(p: Value, v: &str) -> Option<String> {
        let base = Url::parse("https://shop.example/a/b.html").unwrap();
        Processor::compile(&p).unwrap().apply(v.into(), Some(&base))
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
        ] {
            let e = Processor::compile(&p).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }
}
