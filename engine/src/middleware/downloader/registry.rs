//! The generic part of the middleware registries: built-in tables, name matching and
//! `*_MIDDLEWARES` overrides (shared by the downloader and spider registries).

use std::sync::Arc;

use serde_json::Value;

use crate::middleware::MiddlewareContext;
use crate::settings::SettingError;

/// Builds a built-in middleware; `Ok(None)` when its setting disables it.
pub(crate) type Build<T> = fn(&MiddlewareContext) -> Result<Option<Arc<T>>, SettingError>;

/// One built-in middleware: its short name, Scrapy's dotted path, default order and
/// constructor (`None` for Scrapy middlewares Trawl accepts by name but has no use for).
pub(crate) struct Builtin<T: ?Sized> {
    pub name: &'static str,
    pub path: &'static str,
    pub order: i32,
    pub build: Option<Build<T>>,
}

/// Whether `key` (a `*_MIDDLEWARES` key) names the middleware called `name` with the
/// dotted path `path`: the short name, the short name without `Middleware`, or the path.
pub(crate) fn matches(key: &str, name: &str, path: &str) -> bool {
    let key = key.trim();
    key == path
        || key == name
        || name
            .strip_suffix("Middleware")
            .is_some_and(|short| key == short)
        || (!name.ends_with("Middleware") && key == format!("{name}Middleware"))
}

enum Override {
    Disable,
    Order(i32),
}

fn parse_override(setting: &str, key: &str, v: &Value) -> Result<Override, SettingError> {
    let bad = || SettingError {
        name: setting.to_string(),
        message: format!("{key}: expected an order number, null or false, got {v}"),
    };
    match v {
        Value::Null | Value::Bool(false) => Ok(Override::Disable),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(|o| Override::Order(o as i32))
            .ok_or_else(bad),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "null" | "none" | "false" => Ok(Override::Disable),
            t => t.parse::<i32>().map(Override::Order).map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

/// Builds the enabled built-ins plus `extra`, applies the overrides in `setting`, and
/// returns them sorted by order (built-ins first on ties, then extras in given order).
pub(crate) fn build_chain<T, N>(
    ctx: &MiddlewareContext,
    setting: &str,
    builtins: &[Builtin<T>],
    extra: Vec<(i32, Arc<T>)>,
    name_of: N,
) -> Result<Vec<Arc<T>>, SettingError>
where
    T: ?Sized,
    N: Fn(&T) -> String,
{
    let overrides = ctx.settings.get_map(setting)?;
    let mut parsed = Vec::with_capacity(overrides.len());
    let mut unknown = Vec::new();
    for (key, v) in &overrides {
        let o = parse_override(setting, key, v)?;
        let known = builtins.iter().any(|b| matches(key, b.name, b.path))
            || extra.iter().any(|(_, m)| key.trim() == name_of(m));
        if !known {
            unknown.push(key.clone());
        }
        parsed.push((key.clone(), o));
    }
    if !unknown.is_empty() {
        return Err(SettingError {
            name: setting.to_string(),
            message: format!("unknown middleware(s): {}", unknown.join(", ")),
        });
    }
    let lookup = |is: &dyn Fn(&str) -> bool, default: i32| -> Option<i32> {
        let mut order = Some(default);
        for (key, o) in &parsed {
            if is(key) {
                order = match o {
                    Override::Disable => None,
                    Override::Order(n) => Some(*n),
                };
            }
        }
        order
    };
    let mut chain: Vec<(i32, usize, Arc<T>)> = Vec::new();
    for b in builtins {
        let Some(order) = lookup(&|k| matches(k, b.name, b.path), b.order) else {
            continue;
        };
        let Some(build) = b.build else { continue };
        if let Some(m) = build(ctx)? {
            chain.push((order, chain.len(), m));
        }
    }
    for (order, m) in extra {
        let name = name_of(&m);
        if let Some(order) = lookup(&|k| k.trim() == name, order) {
            chain.push((order, chain.len(), m));
        }
    }
    chain.sort_by_key(|(order, seq, _)| (*order, *seq));
    Ok(chain.into_iter().map(|(_, _, m)| m).collect())
}

/// Standard base64 (with padding), for `Authorization: Basic` headers.
pub(crate) fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether `host` is `domain` or one of its subdomains (case-insensitive).
pub(crate) fn host_in_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_start_matches('.').to_ascii_lowercase();
    !domain.is_empty()
        && (host == domain
            || (host.len() > domain.len()
                && host.ends_with(&domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn names_match_short_long_and_dotted() {
        let p = "scrapy.downloadermiddlewares.retry.RetryMiddleware";
        assert!(matches("RetryMiddleware", "RetryMiddleware", p));
        assert!(matches("Retry", "RetryMiddleware", p));
        assert!(matches(p, "RetryMiddleware", p));
        assert!(!matches("Redirect", "RetryMiddleware", p));
        let s = "scrapy.downloadermiddlewares.stats.DownloaderStats";
        assert!(matches("DownloaderStatsMiddleware", "DownloaderStats", s));
    }

    #[test]
    fn subdomains_match_but_lookalikes_do_not() {
        assert!(host_in_domain("example.com", "example.com"));
        assert!(host_in_domain("www.Example.com", "example.com"));
        assert!(!host_in_domain("badexample.com", "example.com"));
        assert!(!host_in_domain("example.com", ""));
    }
}
