//! Feed URI placeholders: `%(name)s`, `%(time)s`, `%(batch_id)d`, `%(batch_time)s`, and
//! any extra parameter (job id, …), with Python's `%` syntax (`%(batch_id)05d`, `%%`).

use std::collections::BTreeMap;

use super::FeedError;

/// Values for URI placeholders. `time` is fixed when the params are created (the crawl's
/// start); `batch_id` and `batch_time` are supplied per file by [`render_uri`].
#[derive(Debug, Clone, PartialEq)]
pub struct UriParams {
    values: BTreeMap<String, String>,
}

/// A filesystem-safe UTC timestamp as Scrapy's: `2024-05-06T07-08-09` (with
/// `.123456` microseconds if `micros`).
pub fn timestamp(now: chrono::DateTime<chrono::Utc>, micros: bool) -> String {
    let fmt = if micros {
        "%Y-%m-%dT%H-%M-%S%.6f"
    } else {
        "%Y-%m-%dT%H-%M-%S"
    };
    now.format(fmt).to_string()
}

impl UriParams {
    /// Params for spider `name`, with `time` set to now.
    pub fn new(spider_name: &str) -> Self {
        let mut values = BTreeMap::new();
        values.insert("name".to_string(), spider_name.to_string());
        values.insert("time".to_string(), timestamp(chrono::Utc::now(), false));
        UriParams { values }
    }

    /// Adds (or replaces) a parameter, e.g. `("job", "abc123")` or a fixed `time`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.values.insert(key.to_string(), value.into());
        self
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

/// Expands the placeholders of `template` for batch `batch_id` (1-based) started at
/// `batch_time`. An unknown placeholder is an error naming it; a `%` not followed by
/// `(` or `%` is kept as is (so `%20` escapes survive).
pub fn render_uri(
    template: &str,
    params: &UriParams,
    batch_id: u64,
    batch_time: &str,
) -> Result<String, FeedError> {
    let bad = |message: String| FeedError::InvalidUri {
        uri: template.to_string(),
        message,
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let Some(spec) = after.strip_prefix('(') else {
            out.push('%');
            rest = after;
            continue;
        };
        let close = spec
            .find(')')
            .ok_or_else(|| bad("unterminated placeholder `%(`".into()))?;
        let name = &spec[..close];
        let conv = &spec[close + 1..];
        let flags_len = conv
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(conv.len());
        let (flags, kind) = (&conv[..flags_len], conv[flags_len..].chars().next());
        let width: usize = if flags.is_empty() {
            0
        } else {
            flags
                .parse()
                .map_err(|_| bad(format!("bad width in %({name})")))?
        };
        let value: String = match name {
            "batch_id" => batch_id.to_string(),
            "batch_time" => batch_time.to_string(),
            _ => params.get(name).map(str::to_string).ok_or_else(|| {
                FeedError::UnknownPlaceholder {
                    uri: template.to_string(),
                    name: name.to_string(),
                    known: params
                        .values
                        .keys()
                        .map(String::as_str)
                        .chain(["batch_id", "batch_time"])
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?,
        };
        match kind {
            Some('s') => out.push_str(&format!("{value:>width$}")),
            Some('d') => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| bad(format!("%({name})d needs an integer, got {value:?}")))?;
                if flags.starts_with('0') {
                    out.push_str(&format!("{n:0width$}"));
                } else {
                    out.push_str(&format!("{n:>width$}"));
                }
            }
            _ => {
                return Err(bad(format!(
                    "placeholder %({name}) must end with `s` or `d`"
                )))
            }
        }
        rest = &conv[flags_len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `template` names `%(batch_id)` or `%(batch_time)` (needed for batches).
pub(super) fn has_batch_placeholder(template: &str) -> bool {
    template.contains("%(batch_id)") || template.contains("%(batch_time)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> UriParams {
        UriParams::new("shop")
            .with("time", "2024-05-06T07-08-09")
            .with("job", "j1")
    }

    #[test]
    fn expands_placeholders() {
        let p = params();
        let r = |t: &str| render_uri(t, &p, 3, "2024-05-06T07-08-09.000001").unwrap();
        assert_eq!(
            r("/out/%(name)s/%(time)s.jsonl"),
            "/out/shop/2024-05-06T07-08-09.jsonl"
        );
        assert_eq!(r("/out/%(job)s-%(batch_id)d.csv"), "/out/j1-3.csv");
        assert_eq!(r("/out/%(batch_id)05d.csv"), "/out/00003.csv");
        assert_eq!(
            r("/out/%(batch_time)s.csv"),
            "/out/2024-05-06T07-08-09.000001.csv"
        );
        assert_eq!(r("s3://b/a%20b/100%%.json"), "s3://b/a%20b/100%.json");
        assert_eq!(r("plain.json"), "plain.json");
    }

    #[test]
    fn errors_name_the_problem() {
        let p = params();
        let e = render_uri("/o/%(spider)s.json", &p, 1, "t")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("%(spider)s") && e.contains("name") && e.contains("job"),
            "{e}"
        );
        let e = render_uri("/o/%(name.json", &p, 1, "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unterminated"), "{e}");
        let e = render_uri("/o/%(name)x.json", &p, 1, "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`s` or `d`"), "{e}");
        let e = render_uri("/o/%(name)d.json", &p, 1, "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("integer"), "{e}");
    }

    #[test]
    fn time_is_filesystem_safe() {
        let t = UriParams::new("x").get("time").unwrap().to_string();
        assert_eq!(t.len(), 19);
        assert!(!t.contains(':'), "{t}");
    }
}
