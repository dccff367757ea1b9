//! CSS queries with Scrapy's (parsel's) pseudo-elements `::text` and `::attr(name)`.

use scraper::{ElementRef, Selector};

use super::SelectError;

/// What a CSS query yields from each matched element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pseudo {
    /// The elements themselves.
    Element,
    /// Text nodes: direct children (`a::text`) or all descendants (`a ::text`, `::text`).
    Text { descendant: bool },
    /// An attribute of the element (`a::attr(href)`), or of it and all its descendants
    /// (`div ::attr(href)`).
    Attr { name: String, descendant: bool },
}

/// A compiled CSS query: the selector (None = the context node itself) and the
/// pseudo-element applied to its matches.
#[derive(Debug, Clone)]
pub(crate) struct CssQuery {
    pub(crate) selector: Option<Selector>,
    pub(crate) pseudo: Pseudo,
}

/// Compiles `expr`, splitting off a trailing pseudo-element from each comma-separated part.
pub(crate) fn compile(expr: &str) -> Result<CssQuery, SelectError> {
    if expr.trim().is_empty() {
        return Err(SelectError::Empty { kind: "CSS" });
    }
    super::limits::check("CSS", expr)?;
    let mut bases: Vec<&str> = Vec::new();
    let mut pseudo: Option<Pseudo> = None;
    for part in split_top_level(expr, b',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(SelectError::Css {
                expr: expr.to_string(),
                reason: "empty selector between commas".into(),
            });
        }
        let (base, p) = split_pseudo(expr, part)?;
        match &pseudo {
            None => pseudo = Some(p),
            Some(prev) if *prev == p => {}
            Some(_) => {
                return Err(SelectError::CssPseudo {
                    expr: expr.to_string(),
                    reason: "every comma-separated part must end with the same pseudo-element"
                        .into(),
                })
            }
        }
        bases.push(base);
    }
    let pseudo = pseudo.unwrap_or(Pseudo::Element);
    let empty = bases.iter().filter(|b| b.is_empty()).count();
    if empty > 0 && empty < bases.len() {
        return Err(SelectError::CssPseudo {
            expr: expr.to_string(),
            reason: "a bare pseudo-element cannot be combined with other selectors".into(),
        });
    }
    if empty == bases.len() {
        return Ok(CssQuery {
            selector: None,
            pseudo,
        });
    }
    let joined;
    let source = if bases.len() == 1 {
        bases[0]
    } else {
        joined = bases.join(", ");
        &joined
    };
    let selector = Selector::parse(source).map_err(|e| SelectError::Css {
        expr: expr.to_string(),
        reason: describe_css_error(&e),
    })?;
    Ok(CssQuery {
        selector: Some(selector),
        pseudo,
    })
}

fn describe_css_error(e: &scraper::error::SelectorErrorKind) -> String {
    use scraper::error::SelectorErrorKind as K;
    match e {
        K::UnexpectedToken => "unexpected token".into(),
        K::EndOfLine => {
            "unexpected end of selector (unclosed bracket, parenthesis or quote?)".into()
        }
        K::ExpectedColonOnPseudoElement => "expected `:` in pseudo-element".into(),
        K::ExpectedIdentityOnPseudoElement => "expected a name after `::`".into(),
        K::UnexpectedSelectorParseError(k) => {
            let s = format!("{k:?}");
            if s.contains("UnsupportedPseudoClassOrElement") {
                format!("unsupported pseudo-class or pseudo-element ({s})")
            } else {
                format!("invalid selector ({s})")
            }
        }
        other => other.to_string(),
    }
}

/// Splits off a trailing `::text` / `::attr(name)` from one selector part.
fn split_pseudo<'a>(expr: &str, part: &'a str) -> Result<(&'a str, Pseudo), SelectError> {
    let Some(pos) = last_top_level_double_colon(part) else {
        return Ok((part, Pseudo::Element));
    };
    let base_raw = &part[..pos];
    let descendant = base_raw.is_empty() || base_raw.ends_with(|c: char| c.is_whitespace());
    let base = base_raw.trim();
    let suffix = &part[pos + 2..];
    let bad = |reason: String| SelectError::CssPseudo {
        expr: expr.to_string(),
        reason,
    };
    let pseudo = if suffix == "text" {
        Pseudo::Text { descendant }
    } else if let Some(rest) = suffix.strip_prefix("attr(") {
        let Some(inner) = rest.strip_suffix(')') else {
            return Err(bad(format!(
                "`::{suffix}` must be the last thing in the selector and end with `)`"
            )));
        };
        let name = inner.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '(' || c == ')') {
            return Err(bad(format!(
                "`::attr()` needs one attribute name, got `{inner}`"
            )));
        }
        Pseudo::Attr {
            name: name.to_ascii_lowercase(),
            descendant,
        }
    } else if suffix.starts_with("text") {
        return Err(bad(format!(
            "`::text` must be the last thing in the selector, found `::{suffix}`"
        )));
    } else {
        let name: String = suffix
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        return Err(bad(format!(
            "unsupported pseudo-element `::{name}` (only `::text` and `::attr(name)` are supported)"
        )));
    };
    Ok((base, pseudo))
}

/// Byte offsets of the characters outside quotes, brackets and parentheses (the
/// brackets themselves and escaped characters excluded).
fn top_level_offsets(s: &str) -> Vec<usize> {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                b'\\' => i += 1,
                b'"' | b'\'' => quote = Some(c),
                b'[' | b'(' => depth += 1,
                b']' | b')' => depth -= 1,
                _ if depth == 0 => out.push(i),
                _ => {}
            }
        }
        i += 1;
    }
    out
}

/// Byte offset of the last `::` outside quotes, brackets and parentheses.
fn last_top_level_double_colon(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let top = top_level_offsets(s);
    top.windows(2)
        .filter(|w| w[1] == w[0] + 1 && b[w[0]] == b':' && b[w[1]] == b':')
        .map(|w| w[0])
        .next_back()
}

/// Splits on `sep` outside quotes, brackets and parentheses.
fn split_top_level(s: &str, sep: u8) -> Vec<&str> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in top_level_offsets(s) {
        if b[i] == sep {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    parts.push(&s[start.min(s.len())..]);
    parts
}

/// Elements matched by `sel` in the subtree of `ctx`, including `ctx` itself (parsel
/// translates CSS with `descendant-or-self::`), in document order.
pub(crate) fn matches_in<'p>(ctx: ElementRef<'p>, sel: &Selector, out: &mut Vec<ElementRef<'p>>) {
    if sel.matches(&ctx) {
        out.push(ctx);
    }
    out.extend(ctx.select(sel));
}

/// Drops elements nested inside an earlier element of `els` (document order assumed),
/// so descendant pseudo-elements do not yield the same node twice.
pub(crate) fn outermost<'p>(els: Vec<ElementRef<'p>>) -> Vec<ElementRef<'p>> {
    let mut out: Vec<ElementRef<'p>> = Vec::with_capacity(els.len());
    for el in els {
        if let Some(last) = out.last() {
            if el.ancestors().any(|a| a.id() == last.id()) {
                continue;
            }
        }
        out.push(el);
    }
    out
}
