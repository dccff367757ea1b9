//! CSS selectors to XPath 1.0, exactly as parsel does it.
//!
//! [`css_to_xpath`] returns, byte for byte, what `parsel.csstranslator.css2xpath()`
//! returns (parsel 1.12.1 over the cssselect release installed with it): cssselect's
//! `HTMLTranslator` with the `descendant-or-self::` prefix, plus parsel's `::text` and
//! `::attr(name)` pseudo-elements, which become `text()` and `@name` steps. Selectors
//! cssselect or parsel reject are errors.
//!
//! ```ignore
//! assert_eq!(
//!     css_to_xpath("a.x::attr(href)").unwrap(),
//!     "descendant-or-self::a[@class and contains(@class, 'x') and contains(concat(' ', \
//!      normalize-space(@class), ' '), ' x ')]/@href"
//! );
//! ```
//!
//! Known differences, all on hostile input: functional pseudo-classes (`:not()`,
//! `:is()`, `:where()`, `:matches()`, `:has()`) nest at most [`MAX_DEPTH`] levels
//! (Python stops at its recursion limit instead, which also makes it reject very long
//! compound or combinator chains that are accepted here), and `:nth-*()` numbers must
//! fit in an `i128`.

mod parse;
mod series;
mod token;
mod translate;
mod xpath;

#[cfg(test)]
mod tests;

use std::fmt;

/// How deeply functional pseudo-classes may nest, e.g. `:not(:has(:is(a)))` is 3.
pub const MAX_DEPTH: usize = 32;

/// Whether a selector is malformed or well-formed but not translatable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CssErrorKind {
    /// The selector does not match the grammar (cssselect's `SelectorSyntaxError`).
    Syntax,
    /// The selector is unknown or unsupported, e.g. `:nth-child(foo)` or `::before`
    /// (cssselect's `ExpressionError`).
    Expression,
}

/// A selector that cannot be translated; the message names the position (in code
/// points) and the token found where relevant, as cssselect's messages do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CssError {
    /// The kind of error.
    pub kind: CssErrorKind,
    /// What went wrong, e.g. `Expected selector, got <EOF at 3>`.
    pub message: String,
}

impl CssError {
    pub(crate) fn syntax(message: String) -> Self {
        CssError {
            kind: CssErrorKind::Syntax,
            message,
        }
    }

    pub(crate) fn expression(message: String) -> Self {
        CssError {
            kind: CssErrorKind::Expression,
            message,
        }
    }
}

impl fmt::Display for CssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            CssErrorKind::Syntax => write!(f, "invalid CSS selector: {}", self.message),
            CssErrorKind::Expression => write!(f, "unsupported CSS selector: {}", self.message),
        }
    }
}

impl std::error::Error for CssError {}

/// Translates a CSS selector group to the XPath parsel produces for it.
///
/// What a query yields: parsel turns `::text` / `::attr(name)` into XPath steps, so the
/// whole query is one XPath expression (selectors of a group joined with ` | `).
pub fn css_to_xpath(css: &str) -> Result<String, CssError> {
    let selectors = parse::parse(token::tokenize(css)?)?;
    let parts = selectors
        .iter()
        .map(translate::selector_to_xpath)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(" | "))
}
