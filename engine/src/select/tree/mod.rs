//! An HTML tree builder that builds the tree libxml2 2.14's HTML parser builds (as
//! lxml and parsel, Scrapy's selector library, use it), and the matching serializer.
//!
//! html5ever's tokenizer splits the page into tokens (libxml2 2.14 tokenizes as HTML5
//! does); the tree is built by libxml2's rules rather than HTML5's: start tags close
//! open elements by a fixed table, `<html>`, `<head>` and `<body>` are implied, end tags
//! without a matching open element are ignored, nothing is ever moved.

mod build;
mod scan;
mod serialize;
mod table;
#[cfg(test)]
mod tests;

use super::dom::Document;

pub use serialize::outer_html;

/// The most elements open at once; deeper start tags are dropped (their content joins
/// the deepest element kept), so parsing stays linear in the input size.
pub const MAX_HTML_DEPTH: usize = 512;

/// A parsed page.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The tree.
    pub doc: Document,
    /// Whether start tags were dropped to cap the depth at [`MAX_HTML_DEPTH`].
    pub capped: bool,
}

/// Parses HTML as parsel does: `text.strip()` (Python's `str.strip`: Unicode
/// whitespace), NUL characters removed, then libxml2's HTML parser with recovery; an
/// result without a root element is the document of `<html/>`.
pub fn parse_html(text: &str) -> Parsed {
    let stripped = text.trim_matches(is_python_space);
    let cleaned;
    let mut body = if stripped.contains('\0') {
        cleaned = stripped.replace('\0', "");
        cleaned.as_str()
    } else {
        stripped
    };
    if body.is_empty() {
        body = "<html/>";
    }
    let (mut doc, capped) = build::build(body);
    // lxml finds no root element (the page held only comments): parsel parses
    // `<html/>` instead.
    if !doc.children(doc.root()).any(|c| doc.element(c).is_some()) {
        doc = build::build("<html/>").0;
    }
    Parsed { doc, capped }
}

/// Python's `str.isspace`.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}
