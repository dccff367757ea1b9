//! XPath through `skyscraper` 0.7.
//!
//! skyscraper was kept after checking what a scraper needs: `//div[@class='x']//text()`,
//! `//a/@href`, `//h1/text()`, `contains()`, `starts-with()`, `normalize-space()`,
//! `string()`, `count()`, `name()`, positional predicates (`[2]`, `[last()]`,
//! `[position()>1]`), axes (`..`, `following-sibling::`), unions and relative
//! evaluation from a node all work (it implements the XPath 3.1 grammar, a superset of
//! 1.0). Two gaps are handled here: unknown functions and wrong arities are only
//! reported when an expression runs, so [`compile`] runs it once on a tiny document to
//! report them up front; and a path starting with `/` evaluated from a node is resolved
//! from the document root, as XPath requires.
//!
//! skyscraper has its own HTML5 parser, so an XPath document is a second parse of the
//! page, built lazily by [`super::Page`] the first time an XPath query runs.

use std::sync::Arc;

use skyscraper::xpath::grammar::data_model::XpathItem;
use skyscraper::xpath::grammar::XpathItemTreeNode;
use skyscraper::xpath::{Xpath, XpathItemTree};

use super::SelectError;

/// A compiled XPath expression (skyscraper's `Xpath` is not `Clone`, hence the `Arc`).
#[derive(Clone)]
pub(crate) struct XPathQuery {
    pub(crate) xpath: Arc<Xpath>,
    /// The expression starts with `/`: evaluate from the root even in nested selections.
    pub(crate) absolute: bool,
}

impl std::fmt::Debug for XPathQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XPathQuery")
            .field("absolute", &self.absolute)
            .finish_non_exhaustive()
    }
}

/// Parses `expr` and runs it once on a small document to surface evaluation errors
/// (unknown functions, wrong argument counts). The expression's length and nesting are
/// checked first, and the parser runs on a thread with a stack sized for the deepest
/// expression accepted (see [`super::limits`]).
pub(crate) fn compile(expr: &str) -> Result<XPathQuery, SelectError> {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return Err(SelectError::Empty { kind: "XPath" });
    }
    super::limits::check("XPath", trimmed)?;
    let failed = |reason: String| SelectError::XPathSyntax {
        expr: expr.to_string(),
        reason,
    };
    // The parser runs on a thread of its own (a large stack) and is waited for at most
    // XPATH_PARSE_TIMEOUT: an expression it cannot finish in time is refused (the thread
    // ends on its own; the nesting limits keep its work finite).
    let (tx, rx) = std::sync::mpsc::channel();
    let (owned, owned_trimmed) = (expr.to_string(), trimmed.to_string());
    std::thread::Builder::new()
        .name("xpath-parse".into())
        .stack_size(super::limits::XPATH_PARSE_STACK)
        .spawn(move || {
            let _ = tx.send(parse_and_probe(&owned, &owned_trimmed));
        })
        .map_err(|e| failed(format!("cannot start the parser thread: {e}")))?;
    let xpath = match rx.recv_timeout(super::limits::XPATH_PARSE_TIMEOUT) {
        Ok(parsed) => parsed?,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            return Err(failed(format!(
                "too complex: parsing took over {} s",
                super::limits::XPATH_PARSE_TIMEOUT.as_secs()
            )))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            return Err(failed("the XPath parser failed on this expression".into()))
        }
    };
    Ok(XPathQuery {
        xpath: Arc::new(xpath),
        absolute: trimmed.starts_with('/'),
    })
}

fn parse_and_probe(expr: &str, trimmed: &str) -> Result<Xpath, SelectError> {
    let xpath = skyscraper::xpath::parse(trimmed).map_err(|e| {
        let msg = e.to_string();
        let reason = match msg.split_once("unexpected trailing input: ") {
            Some((_, rest)) => {
                let rest = rest.trim_matches('"');
                let offset = trimmed.len().saturating_sub(rest.len());
                let shown: String = rest.chars().take(20).collect();
                format!("syntax error at offset {offset}, near `{shown}`")
            }
            None => "syntax error: not a valid XPath expression".to_string(),
        };
        SelectError::XPathSyntax {
            expr: expr.to_string(),
            reason,
        }
    })?;
    let probe = skyscraper::html::parse(
        "<html><head><title>t</title></head><body><p class=\"c\">x</p></body></html>",
    )
    .ok()
    .and_then(|doc| xpath.apply(&doc).err().map(|e| e.to_string()));
    if let Some(err) = probe {
        let reason = err
            .trim_start_matches("Error applying expression")
            .trim()
            .trim_start_matches("err:XPST0017:")
            .trim()
            .to_string();
        return Err(SelectError::XPathEval {
            expr: expr.to_string(),
            reason,
        });
    }
    Ok(xpath)
}

/// One XPath result.
pub(crate) enum XOut<'p> {
    Node(&'p XpathItemTreeNode),
    Value(String),
}

/// Evaluates `q` against `tree`, from `ctx` when given (a node of that tree).
pub(crate) fn eval<'p>(
    q: &XPathQuery,
    tree: &'p XpathItemTree,
    ctx: Option<&'p XpathItemTreeNode>,
    out: &mut Vec<XOut<'p>>,
) {
    let res = match ctx {
        Some(node) if !q.absolute => q.xpath.apply_to_item(tree, XpathItem::Node(node)),
        _ => q.xpath.apply(tree),
    };
    match res {
        Ok(items) => {
            for item in items.iter() {
                match item {
                    XpathItem::Node(n) => out.push(XOut::Node(n)),
                    XpathItem::AnyAtomicType(v) => out.push(XOut::Value(atomic_text(v))),
                    XpathItem::Function(f) => out.push(XOut::Value(f.to_string())),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "XPath evaluation failed"),
    }
}

/// An atomic XPath result as parsel gives it: XPath 1.0 numbers are doubles, shown as
/// Python shows floats (`count(//a)` → `3.0`); booleans are `1` and `0`.
fn atomic_text(v: &skyscraper::xpath::grammar::data_model::AnyAtomicType) -> String {
    use skyscraper::xpath::grammar::data_model::AnyAtomicType as A;
    match v {
        A::Integer(i) => py_float(*i as f64),
        A::Double(d) => py_float(d.0),
        A::Float(f) => py_float(f64::from(f.0)),
        A::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        other => other.to_string(),
    }
}

/// Python's `str(float)`: `3.0`, `2.5`, `1e+16`, `nan`, `inf`.
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    if f == f.trunc() {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Elements of the skyscraper tree in document order.
pub(crate) fn elements(tree: &XpathItemTree) -> Vec<&XpathItemTreeNode> {
    tree.root()
        .descendants(tree)
        .filter(|n| matches!(n, XpathItemTreeNode::ElementNode(_)))
        .collect()
}

#[cfg(test)]
mod py_float_tests {
    use super::py_float;

    #[test]
    fn numbers_print_as_python_floats() {
        for (f, s) in [
            (3.0, "3.0"),
            (0.0, "0.0"),
            (-2.0, "-2.0"),
            (2.5, "2.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e-7, "1.5e-07"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(py_float(f), s);
        }
    }
}
