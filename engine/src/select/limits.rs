//! Limits on selector expressions, checked before an expression reaches a parser.
//!
//! skyscraper's XPath parser recurses once per nesting level with large stack frames
//! (tens of KiB in release builds, more in debug ones), so a hostile expression with a
//! few dozen nested parentheses would overflow a 2 MiB thread stack and abort the
//! process. Expressions are therefore measured first — length, then nesting — and the
//! XPath parser runs on a thread of its own with [`XPATH_PARSE_STACK`] bytes of stack,
//! enough for [`MAX_SELECTOR_NESTING`] levels in any build.

use super::SelectError;

/// The longest CSS or XPath expression accepted, in bytes.
pub const MAX_SELECTOR_LEN: usize = 4096;

/// The deepest nesting accepted in a CSS or XPath expression: parentheses, brackets and
/// braces, plus (XPath) each `if`, `for`, `let`, `some` and `every` keyword, since each
/// of those nests the parser once more.
pub const MAX_SELECTOR_NESTING: usize = 32;

/// The deepest nesting of XPath predicates (`[...]` within `[...]`) accepted: the
/// parser backtracks through nested predicates that hold paths in time exponential in
/// their depth (twelve levels take seconds), while real expressions nest two or three.
pub const MAX_XPATH_PREDICATE_NESTING: usize = 8;

/// How long the XPath parser may take before an expression is refused as too complex
/// (a bound for structures the nesting limits do not catch).
pub(crate) const XPATH_PARSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The stack of the thread that parses XPath expressions.
pub(crate) const XPATH_PARSE_STACK: usize = 64 << 20;

/// XPath keywords that open a nested expression without a bracket.
const XPATH_NESTING_KEYWORDS: &[&str] = &["if", "for", "let", "some", "every"];

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

/// The deepest nesting in `expr`: brackets outside string literals, plus (when
/// `keywords`) every nesting keyword seen so far. Unbalanced closing brackets do not
/// lower the depth below zero.
pub(crate) fn nesting(expr: &str, keywords: bool) -> usize {
    let b = expr.as_bytes();
    let mut depth = 0usize;
    let mut kw = 0usize;
    let mut max = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            // XPath doubles a quote to escape it; CSS uses a backslash. Both keep the
            // literal open, which is all that matters here.
            if c == b'\\' && !keywords {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' | b'\'' => quote = Some(c),
            b'\\' if !keywords => i += 1,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            c if keywords && c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'_')) {
                    i += 1;
                }
                let word = &expr[start..i];
                let after_name_char = start > 0
                    && (b[start - 1].is_ascii_alphanumeric()
                        || matches!(b[start - 1], b'-' | b'_' | b':' | b'@' | b'$'));
                if !after_name_char && XPATH_NESTING_KEYWORDS.contains(&word) {
                    kw += 1;
                }
                max = max.max(depth + kw);
                continue;
            }
            _ => {}
        }
        max = max.max(depth + kw);
        i += 1;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_and_xpath_keywords() {
        assert_eq!(nesting("//a[@x='((((']", true), 1);
        assert_eq!(nesting("(((1)))", true), 3);
        assert_eq!(nesting("if (1) then 2 else if (3) then 4 else 5", true), 3);
        assert_eq!(nesting("//for/let", true), 2);
        assert_eq!(nesting("//a[@data-if]", true), 1);
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
