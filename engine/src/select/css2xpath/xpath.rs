//! cssselect's `XPathExpr` (with parsel's `::text` / `::attr()` rendering) and its
//! string helpers.

use std::fmt;

/// An XPath expression under construction: `path` + `element` + `[condition]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct XPathExpr {
    pub path: String,
    pub element: String,
    pub condition: String,
    /// parsel's `::text`.
    pub textnode: bool,
    /// parsel's `::attr(name)`.
    pub attribute: Option<String>,
}

impl XPathExpr {
    /// An expression for the node test `element`.
    pub fn new(element: impl Into<String>) -> Self {
        XPathExpr {
            element: element.into(),
            ..Self::default()
        }
    }

    /// The plain cssselect rendering (without parsel's pseudo-elements).
    pub fn base(&self) -> String {
        let mut s = format!("{}{}", self.path, self.element);
        if !self.condition.is_empty() {
            s.push('[');
            s.push_str(&self.condition);
            s.push(']');
        }
        s
    }

    /// Adds `condition`, and-ed with any existing one.
    pub fn add_condition(&mut self, condition: &str) -> &mut Self {
        if self.condition.is_empty() {
            self.condition = condition.to_string();
        } else {
            self.condition = format!("({}) and ({condition})", self.condition);
        }
        self
    }

    /// Moves the element name test into the condition, leaving `*` as node test.
    pub fn add_name_test(&mut self) {
        if self.element == "*" {
            return;
        }
        let (prefix, local) = match self.element.split_once(':') {
            Some((p, l)) => (p, Some(l)),
            None => (self.element.as_str(), None),
        };
        let node_test = is_safe_name(prefix) && local.is_none_or(|l| l == "*" || is_safe_name(l));
        let cond = if node_test {
            format!("self::{}", self.element)
        } else {
            format!("name() = {}", xpath_literal(&self.element))
        };
        self.add_condition(&cond);
        self.element = "*".into();
    }

    /// `self` followed by `combiner` and `other`.
    pub fn join(&mut self, combiner: &str, other: XPathExpr) {
        let mut path = self.base();
        path.push_str(combiner);
        if other.path != "*/" {
            path.push_str(&other.path);
        }
        self.path = path;
        self.element = other.element;
        self.condition = other.condition;
        self.textnode = other.textnode;
        self.attribute = other.attribute;
    }
}

impl fmt::Display for XPathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path = self.base();
        if self.textnode {
            if path == "*" {
                path = "text()".into();
            } else if path.ends_with("::*/*") {
                path.truncate(path.len() - 3);
                path.push_str("text()");
            } else {
                path.push_str("/text()");
            }
        }
        if let Some(attr) = &self.attribute {
            if path.ends_with("::*/*") {
                path.truncate(path.len() - 2);
            }
            if is_safe_name(attr) {
                path.push_str("/@");
                path.push_str(attr);
            } else {
                path.push_str(&format!("/attribute::*[name() = {}]", xpath_literal(attr)));
            }
        }
        f.write_str(&path)
    }
}

/// Python's `re.match(pattern + "$", s)`: `$` also matches before a final newline.
fn full_match(s: &str, ok: impl Fn(&str) -> bool) -> bool {
    ok(s) || s.strip_suffix('\n').is_some_and(ok)
}

/// cssselect's `is_safe_name`: `^[a-zA-Z_][a-zA-Z0-9_.-]*$`.
pub(crate) fn is_safe_name(s: &str) -> bool {
    full_match(s, |s| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    })
}

/// cssselect's `is_non_whitespace`: `^[^ \t\r\n\f]+$`.
pub(crate) fn is_non_whitespace(s: &str) -> bool {
    full_match(s, |s| {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0c'))
    })
}

/// cssselect's `xpath_literal`: quotes `s` as an XPath string literal.
pub(crate) fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        return format!("'{s}'");
    }
    if !s.contains('"') {
        return format!("\"{s}\"");
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(first) = rest.chars().next() {
        let quote = first == '\'';
        let end = rest
            .find(|c: char| (c == '\'') != quote)
            .unwrap_or(rest.len());
        let (part, tail) = rest.split_at(end);
        parts.push(if quote {
            format!("\"{part}\"")
        } else {
            format!("'{part}'")
        });
        rest = tail;
    }
    format!("concat({})", parts.join(","))
}
