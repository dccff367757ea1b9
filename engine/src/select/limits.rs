//! Limits on selector expressions, checked before an expression reaches a parser.
//!
//! Both parsers recurse once per nesting level (and limit it themselves); measuring
//! the expression first — length, then nesting — gives one clear error for both
//! kinds and bounds the work of compiling and evaluating a hostile expression:
//! evaluation cost grows with the nesting of predicates, which real selectors keep to
//! two or three levels. Evaluation itself runs under a work budget (see `xpath1`).

use super::SelectError;

/// The longest CSS or XPath expression accepted, in bytes.
pub const MAX_SELECTOR_LEN: usize = 4096;

/// The deepest nesting accepted in a CSS or XPath expression: parentheses, brackets and
/// braces outside string literals.
pub const MAX_SELECTOR_NESTING: usize = 32;

/// The deepest nesting of XPath predicates (`[...]` within `[...]`) accepted: each
/// level can multiply the work of evaluating the one around it, while real expressions
/// nest two or three.
pub const MAX_XPATH_PREDICATE_NESTING: usize = 8;

/// Checks the length and nesting of `expr`, a `kind` (`"CSS"` or `"XPath"`) expression.
pub(crate) fn check(kind: &'static str, expr: &str) -> Result<(), SelectError> {
    if expr.len() > MAX_SELECTOR_LEN {
        return Err(SelectError::TooLong {
            kind,
            len: expr.len(),
            max: MAX_SELECTOR_LEN,
        });
    }
    let xpath = kind == "XPath";
    let depth = nesting(expr, xpath);
    if depth > MAX_SELECTOR_NESTING {
        return Err(SelectError::TooDeep {
            kind,
            depth,
            max: MAX_SELECTOR_NESTING,
        });
    }
    if xpath {
        let predicates = bracket_nesting(expr, b'[', b']');
        if predicates > MAX_XPATH_PREDICATE_NESTING {
            return Err(SelectError::TooDeep {
                kind: "XPath predicate",
                depth: predicates,
                max: MAX_XPATH_PREDICATE_NESTING,
            });
        }
    }
    Ok(())
}

/// The deepest nesting of one kind of bracket in an XPath expression, outside string
/// literals (unclosed brackets count as open to the end).
pub(crate) fn bracket_nesting(expr: &str, open: u8, close: u8) -> usize {
    let (mut depth, mut max, mut quote) = (0usize, 0usize, None::<u8>);
    for &c in expr.as_bytes() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == open => {
                depth += 1;
                max = max.max(depth);
            }
            None if c == close => depth = depth.saturating_sub(1),
            None => {}
        }
    }
    max
}

/// The deepest nesting of brackets in `expr` outside string literals. XPath doubles a
/// quote to escape it; CSS (`xpath` false) also escapes with a backslash. Unbalanced
/// closing brackets do not lower the depth below zero.
pub(crate) fn nesting(expr: &str, xpath: bool) -> usize {
    let b = expr.as_bytes();
    let (mut depth, mut max, mut quote) = (0usize, 0usize, None::<u8>);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(_) if c == b'\\' && !xpath => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'\\' if !xpath => i += 1,
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        i += 1;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings() {
        assert_eq!(nesting("//a[@x='((((']", true), 1);
        assert_eq!(nesting("(((1)))", true), 3);
        assert_eq!(nesting("//for/let[if]", true), 1);
        assert_eq!(nesting(":not(:is(a)) b", false), 2);
        assert_eq!(nesting(r"a[title='\'((']", false), 1);
        assert_eq!(nesting(")))(", false), 1);
    }

    #[test]
    fn check_rejects_long_and_deep_expressions() {
        assert!(check("CSS", &"a ".repeat(MAX_SELECTOR_LEN)).is_err());
        let deep = format!("{}1{}", "(".repeat(33), ")".repeat(33));
        assert_eq!(
            check("XPath", &deep),
            Err(SelectError::TooDeep {
                kind: "XPath",
                depth: 33,
                max: MAX_SELECTOR_NESTING
            })
        );
        let ok = format!("{}1{}", "(".repeat(32), ")".repeat(32));
        assert!(check("XPath", &ok).is_ok());
    }

    #[test]
    fn xpath_predicates_nest_a_few_levels_at_most() {
        let nested =
            |n: usize| format!("//div{}{}", "//text()[@class='p'".repeat(n), "]".repeat(n));
        assert!(check("XPath", &nested(MAX_XPATH_PREDICATE_NESTING)).is_ok());
        assert_eq!(
            check("XPath", &nested(MAX_XPATH_PREDICATE_NESTING + 1)),
            Err(SelectError::TooDeep {
                kind: "XPath predicate",
                depth: MAX_XPATH_PREDICATE_NESTING + 1,
                max: MAX_XPATH_PREDICATE_NESTING
            })
        );
        assert_eq!(bracket_nesting("//a[@x='[[[['][b[c]]", b'[', b']'), 2);
        assert!(check("CSS", "a[x] b[y]").is_ok());
    }
}
