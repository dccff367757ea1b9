//! Size and nesting limits on specs, so that a spec uploaded by anyone cannot exhaust
//! the process: every limit is checked before the part it guards is compiled, and a
//! spec over a limit is rejected with a [`SpecError`] naming the field at fault.
//! Selector limits live in [`crate::select`] ([`MAX_SELECTOR_LEN`],
//! [`MAX_SELECTOR_NESTING`]).
//!
//! [`MAX_SELECTOR_LEN`]: crate::select::MAX_SELECTOR_LEN
//! [`MAX_SELECTOR_NESTING`]: crate::select::MAX_SELECTOR_NESTING

use serde_json::Value;

use super::SpecError;

/// The largest spec text accepted, in bytes.
pub const MAX_SPEC_BYTES: usize = 1 << 20;
/// The deepest nesting of arrays and tables (objects) in a spec document.
pub const MAX_SPEC_NESTING: usize = 32;
/// The most CrawlSpider rules in a spec.
pub const MAX_RULES: usize = 1000;
/// The most callbacks in a spec.
pub const MAX_CALLBACKS: usize = 1000;
/// The most fields in one callback.
pub const MAX_FIELDS_PER_CALLBACK: usize = 1000;
/// The most `follow` entries in one callback.
pub const MAX_FOLLOWS_PER_CALLBACK: usize = 100;
/// The most start URLs (and, separately, sitemap URLs) in a spec.
pub const MAX_START_URLS: usize = 10_000;
/// The most sitemap rules (and, separately, sitemap-follow patterns) in a spec.
pub const MAX_SITEMAP_RULES: usize = 1000;
/// The longest regex pattern, URL template or field template, in bytes.
pub const MAX_PATTERN_LEN: usize = 4096;

/// Rejects a spec text larger than [`MAX_SPEC_BYTES`].
pub(crate) fn check_text(text: &str) -> Result<(), SpecError> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(SpecError::new(
            "spec",
            format!(
                "spec too large: {} bytes (limit {MAX_SPEC_BYTES})",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// Rejects a document nested deeper than [`MAX_SPEC_NESTING`]; the error names the
/// first value that is too deep. Walks with an explicit stack, never recursion.
pub(crate) fn check_nesting(doc: &Value) -> Result<(), SpecError> {
    // (value, depth, path)
    let mut stack: Vec<(&Value, usize, String)> = vec![(doc, 0, String::new())];
    while let Some((v, depth, path)) = stack.pop() {
        if depth > MAX_SPEC_NESTING {
            let path = if path.is_empty() { "spec".into() } else { path };
            return Err(SpecError::new(
                path,
                format!("nested deeper than {MAX_SPEC_NESTING} levels of arrays and tables"),
            ));
        }
        match v {
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate().rev() {
                    if x.is_array() || x.is_object() {
                        stack.push((x, depth + 1, format!("{path}[{i}]")));
                    }
                }
            }
            Value::Object(m) => {
                for (k, x) in m.iter().rev() {
                    if x.is_array() || x.is_object() {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        stack.push((x, depth + 1, p));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Rejects more than `max` entries of the list or table at `path`.
pub(crate) fn check_count(path: &str, what: &str, n: usize, max: usize) -> Result<(), SpecError> {
    if n > max {
        return Err(SpecError::new(
            path,
            format!("too many {what}: {n} (limit {max})"),
        ));
    }
    Ok(())
}

/// Rejects a regex pattern or template longer than [`MAX_PATTERN_LEN`].
pub(crate) fn check_len(path: &str, what: &str, text: &str) -> Result<(), SpecError> {
    if text.len() > MAX_PATTERN_LEN {
        return Err(SpecError::new(
            path,
            format!(
                "{what} too long: {} bytes (limit {MAX_PATTERN_LEN})",
                text.len()
            ),
        ));
    }
    Ok(())
}
