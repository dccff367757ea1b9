//! The parser, a transcription of cssselect's `parse_selector_group()` and friends.
//!
//! cssselect nests compound selectors (`a.b:c` is `Pseudo(Class(Element))`) and
//! combinators (`a b c` is `Combined(Combined(a, b), c)`); here both are flat lists, so
//! long chains cost no recursion. Only functional pseudo-classes recurse, up to
//! [`MAX_DEPTH`](super::MAX_DEPTH) levels.

use super::token::{Kind, Token};
use super::{CssError, MAX_DEPTH};

/// A type selector: `namespace|element`; `None` element is `*`, `Some("*")`
/// namespace is the `*|` wildcard.
#[derive(Clone, Debug, Default)]
pub(crate) struct Element {
    pub namespace: Option<String>,
    pub element: Option<String>,
}

/// An attribute selector.
#[derive(Clone, Debug)]
pub(crate) struct Attrib {
    pub namespace: Option<String>,
    /// `None` only for `[*|=value]`, which cssselect parses but cannot translate.
    pub name: Option<String>,
    /// `exists`, `=`, `~=`, `|=`, `^=`, `$=`, `*=` or `!=`.
    pub op: &'static str,
    pub value: Option<String>,
    /// `i` or `s`, lower-cased.
    pub flag: Option<String>,
}

/// One simple selector applied to the compound selector to its left.
#[derive(Clone, Debug)]
pub(crate) enum Simple {
    Hash(String),
    Class(String),
    Attrib(Attrib),
    /// A pseudo-class name, ASCII-lower-cased.
    Pseudo(String),
    /// A functional pseudo-class: name (ASCII-lower-cased) and argument tokens.
    Function(String, Vec<Token>),
    Negation(Complex),
    /// `:has()`: (leading combinator, relative selector) pairs.
    Relation(Vec<(char, Complex)>),
    /// `:is()`, `:matches()` and `:where()` (which translate alike).
    Matching(Vec<Compound>),
}

/// A compound selector: a type selector and the simple selectors that follow it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Compound {
    pub element: Element,
    pub simples: Vec<Simple>,
}

/// Compound selectors joined by combinators (` `, `>`, `+`, `~`).
#[derive(Clone, Debug)]
pub(crate) struct Complex {
    pub first: Compound,
    pub rest: Vec<(char, Compound)>,
}

/// A pseudo-element.
#[derive(Clone, Debug)]
pub(crate) enum PseudoElement {
    /// `::name`, ASCII-lower-cased.
    Simple(String),
    /// `::name(args)`, name ASCII-lower-cased.
    Functional(String, Vec<Token>),
}

impl std::fmt::Display for PseudoElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PseudoElement::Simple(n) => f.write_str(n),
            PseudoElement::Functional(n, args) => {
                let args: Vec<&str> = args.iter().map(|t| t.value.as_str()).collect();
                write!(f, "{n}({args:?})")
            }
        }
    }
}

/// One selector of a group.
#[derive(Clone, Debug)]
pub(crate) struct Selector {
    pub tree: Complex,
    pub pseudo_element: Option<PseudoElement>,
}

/// cssselect's `TokenStream`: `used` is the number of tokens consumed.
struct Stream {
    tokens: Vec<Token>,
    used: usize,
}

impl Stream {
    fn peek(&self) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[self.used.min(last)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.used += 1;
        t
    }

    fn peek_is_delim(&self, chars: &str) -> bool {
        self.peek().is_delim(chars)
    }

    fn next_ident(&mut self) -> Result<String, CssError> {
        let t = self.next();
        if t.kind != Kind::Ident {
            return Err(syntax(format!("Expected ident, got {t}")));
        }
        Ok(t.value)
    }

    /// `Some(name)` for an ident, `None` for `*`.
    fn next_ident_or_star(&mut self) -> Result<Option<String>, CssError> {
        let t = self.next();
        match t.kind {
            Kind::Ident => Ok(Some(t.value)),
            _ if t.is_delim("*") => Ok(None),
            _ => Err(syntax(format!("Expected ident or '*', got {t}"))),
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().kind == Kind::S {
            self.used += 1;
        }
    }

    /// The token consumed at index `i`.
    fn used_token(&self, i: usize) -> &Token {
        &self.tokens[i.min(self.tokens.len() - 1)]
    }
}

fn syntax(msg: String) -> CssError {
    CssError::syntax(msg)
}

/// Parses a group of selectors (comma-separated).
pub(crate) fn parse(tokens: Vec<Token>) -> Result<Vec<Selector>, CssError> {
    let mut s = Stream { tokens, used: 0 };
    let mut out = Vec::new();
    s.skip_whitespace();
    loop {
        out.push(parse_selector(&mut s)?);
        if s.peek_is_delim(",") {
            s.next();
            s.skip_whitespace();
        } else {
            break;
        }
    }
    Ok(out)
}

fn parse_selector(s: &mut Stream) -> Result<Selector, CssError> {
    let (first, mut pseudo) = parse_simple_selector(s, Ctx::default())?;
    let mut tree = Complex {
        first,
        rest: Vec::new(),
    };
    loop {
        s.skip_whitespace();
        let peek = s.peek();
        if peek.kind == Kind::Eof || peek.is_delim(",") {
            break;
        }
        if let Some(pe) = &pseudo {
            return Err(syntax(format!(
                "Got pseudo-element ::{pe} not at the end of a selector"
            )));
        }
        let comb = combinator(s);
        let (next, pe) = parse_simple_selector(s, Ctx::default())?;
        pseudo = pe;
        tree.rest.push((comb, next));
    }
    Ok(Selector {
        tree,
        pseudo_element: pseudo,
    })
}

/// Consumes an explicit combinator (and the whitespace after it), or returns ` `.
fn combinator(s: &mut Stream) -> char {
    if s.peek_is_delim("+>~") {
        let c = s.next().value.chars().next().unwrap_or(' ');
        s.skip_whitespace();
        c
    } else {
        ' '
    }
}

#[derive(Clone, Copy, Default)]
struct Ctx {
    inside_negation: bool,
    inside_selector_list: bool,
    depth: usize,
}

fn parse_simple_selector(
    s: &mut Stream,
    ctx: Ctx,
) -> Result<(Compound, Option<PseudoElement>), CssError> {
    s.skip_whitespace();
    let selector_start = s.used;
    let mut compound = Compound::default();
    let peek = s.peek();
    if peek.kind == Kind::Ident || peek.is_delim("*") {
        let t = s.next();
        let namespace = if t.kind == Kind::Ident {
            t.value
        } else {
            "*".to_string()
        };
        if s.peek_is_delim("|") {
            s.next();
            compound.element = Element {
                namespace: Some(namespace),
                element: s.next_ident_or_star()?,
            };
        } else if namespace != "*" {
            compound.element.element = Some(namespace);
        }
    }
    let mut pseudo: Option<PseudoElement> = None;
    loop {
        let peek = s.peek().clone();
        if matches!(peek.kind, Kind::S | Kind::Eof) || peek.is_delim(",+>~)") {
            break;
        }
        if let Some(pe) = &pseudo {
            return Err(syntax(format!(
                "Got pseudo-element ::{pe} not at the end of a selector"
            )));
        }
        if peek.kind == Kind::Hash {
            compound.simples.push(Simple::Hash(s.next().value));
        } else if peek.is_delim(".") {
            s.next();
            compound.simples.push(Simple::Class(s.next_ident()?));
        } else if peek.is_delim("|") {
            if s.used != selector_start {
                return Err(syntax(format!("Expected selector, got {peek}")));
            }
            s.next();
            compound.element = Element {
                namespace: None,
                element: s.next_ident_or_star()?,
            };
        } else if peek.is_delim("[") {
            s.next();
            compound.simples.push(Simple::Attrib(parse_attrib(s)?));
        } else if peek.is_delim(":") {
            s.next();
            if s.peek_is_delim(":") {
                s.next();
                let name = s.next_ident()?.to_ascii_lowercase();
                pseudo = Some(if s.peek_is_delim("(") {
                    s.next();
                    PseudoElement::Functional(name, parse_arguments(s)?)
                } else {
                    PseudoElement::Simple(name)
                });
                continue;
            }
            let ident = s.next_ident()?;
            let lower = ident.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "first-line" | "first-letter" | "before" | "after"
            ) {
                pseudo = Some(PseudoElement::Simple(lower));
                continue;
            }
            if !s.peek_is_delim("(") {
                if lower == "scope" {
                    check_scope(s, selector_start, ctx)?;
                }
                compound.simples.push(Simple::Pseudo(lower));
                continue;
            }
            s.next();
            s.skip_whitespace();
            let inner = Ctx {
                depth: ctx.depth + 1,
                ..Ctx::default()
            };
            let is_nesting = matches!(lower.as_str(), "not" | "has" | "matches" | "is" | "where");
            if is_nesting && inner.depth > MAX_DEPTH {
                return Err(syntax(format!(
                    "Selector nested more than {MAX_DEPTH} levels deep at {}",
                    peek.pos
                )));
            }
            let simple = match lower.as_str() {
                "not" => parse_negation(s, ctx, inner)?,
                "has" => Simple::Relation(parse_relative_selector(s, inner)?),
                "matches" | "is" | "where" => {
                    let list = Ctx {
                        inside_selector_list: true,
                        ..inner
                    };
                    Simple::Matching(parse_simple_selector_arguments(s, list)?)
                }
                _ => Simple::Function(lower, parse_arguments(s)?),
            };
            compound.simples.push(simple);
        } else {
            return Err(syntax(format!("Expected selector, got {peek}")));
        }
    }
    if s.used == selector_start {
        return Err(syntax(format!("Expected selector, got {}", s.peek())));
    }
    Ok((compound, pseudo))
}

/// `:scope` is only accepted at the start of a selector.
fn check_scope(s: &Stream, selector_start: usize, ctx: Ctx) -> Result<(), CssError> {
    let mut end = selector_start;
    while end > 0 && s.used_token(end - 1).kind == Kind::S {
        end -= 1;
    }
    if ctx.inside_selector_list || (end > 0 && !s.used_token(end - 1).is_delim(",")) {
        return Err(syntax(
            "Got pseudo-class \":scope\" not at the start of a selector".into(),
        ));
    }
    Ok(())
}

fn parse_negation(s: &mut Stream, ctx: Ctx, inner: Ctx) -> Result<Simple, CssError> {
    if ctx.inside_selector_list {
        return Err(syntax(
            ":not() is not supported inside :is(), :where() and :matches()".into(),
        ));
    }
    if ctx.inside_negation {
        return Err(syntax("Got nested :not()".into()));
    }
    let neg = Ctx {
        inside_negation: true,
        ..inner
    };
    let (first, mut pe) = parse_simple_selector(s, neg)?;
    let mut arg = Complex {
        first,
        rest: Vec::new(),
    };
    loop {
        s.skip_whitespace();
        let peek = s.peek().clone();
        if let Some(pe) = &pe {
            return Err(syntax(format!(
                "Got pseudo-element ::{pe} inside :not() at {}",
                peek.pos
            )));
        }
        if peek.is_delim(")") {
            s.next();
            break;
        }
        if peek.kind == Kind::Eof || peek.is_delim(",") {
            return Err(syntax(format!("Expected ')', got {peek}")));
        }
        let comb = combinator(s);
        let (next, next_pe) = parse_simple_selector(s, neg)?;
        pe = next_pe;
        arg.rest.push((comb, next));
    }
    Ok(Simple::Negation(arg))
}

fn parse_arguments(s: &mut Stream) -> Result<Vec<Token>, CssError> {
    let mut args = Vec::new();
    loop {
        s.skip_whitespace();
        let t = s.next();
        if matches!(t.kind, Kind::Ident | Kind::String | Kind::Number) || t.is_delim("+-") {
            args.push(t);
        } else if t.is_delim(")") {
            return Ok(args);
        } else {
            return Err(syntax(format!("Expected an argument, got {t}")));
        }
    }
}

fn parse_relative_selector(s: &mut Stream, ctx: Ctx) -> Result<Vec<(char, Complex)>, CssError> {
    let mut args = Vec::new();
    loop {
        s.skip_whitespace();
        let comb = combinator(s);
        let (first, mut pe) = parse_simple_selector(s, ctx)?;
        let mut tree = Complex {
            first,
            rest: Vec::new(),
        };
        loop {
            if let Some(pe) = &pe {
                return Err(syntax(format!("Got pseudo-element ::{pe} inside function")));
            }
            s.skip_whitespace();
            let peek = s.peek();
            if peek.is_delim(",)") {
                break;
            }
            if peek.kind == Kind::Eof {
                return Err(syntax(format!("Expected ')', got {peek}")));
            }
            let c = combinator(s);
            let (next, next_pe) = parse_simple_selector(s, ctx)?;
            pe = next_pe;
            tree.rest.push((c, next));
        }
        args.push((comb, tree));
        if s.next().is_delim(")") {
            break;
        }
    }
    Ok(args)
}

fn parse_simple_selector_arguments(s: &mut Stream, ctx: Ctx) -> Result<Vec<Compound>, CssError> {
    let mut args = Vec::new();
    loop {
        let (compound, pe) = parse_simple_selector(s, ctx)?;
        if let Some(pe) = pe {
            return Err(syntax(format!("Got pseudo-element ::{pe} inside function")));
        }
        s.skip_whitespace();
        let t = s.next();
        if t.is_delim(",") {
            s.skip_whitespace();
            args.push(compound);
        } else if t.is_delim(")") {
            args.push(compound);
            break;
        } else {
            return Err(syntax(format!("Expected an argument, got {t}")));
        }
    }
    Ok(args)
}

fn parse_attrib(s: &mut Stream) -> Result<Attrib, CssError> {
    s.skip_whitespace();
    let namespace: Option<String>;
    let name: Option<String>;
    let mut op: Option<&'static str> = None;
    if s.peek_is_delim("|") {
        s.next();
        namespace = None;
        name = Some(s.next_ident()?);
    } else {
        let attrib = s.next_ident_or_star()?;
        if attrib.is_none() && !s.peek_is_delim("|") {
            return Err(syntax(format!("Expected '|', got {}", s.peek())));
        }
        if s.peek_is_delim("|") {
            s.next();
            if s.peek_is_delim("=") {
                namespace = None;
                name = attrib;
                s.next();
                op = Some("|=");
            } else {
                namespace = Some(attrib.unwrap_or_else(|| "*".into()));
                name = Some(s.next_ident()?);
            }
        } else {
            namespace = None;
            name = attrib;
        }
    }
    let op = match op {
        Some(op) => op,
        None => {
            s.skip_whitespace();
            let t = s.next();
            if t.is_delim("]") {
                return Ok(Attrib {
                    namespace,
                    name,
                    op: "exists",
                    value: None,
                    flag: None,
                });
            }
            if t.is_delim("=") {
                "="
            } else if t.is_delim("^$*~|!") && s.peek_is_delim("=") {
                s.next();
                match t.value.as_str() {
                    "^" => "^=",
                    "$" => "$=",
                    "*" => "*=",
                    "~" => "~=",
                    "|" => "|=",
                    _ => "!=",
                }
            } else {
                return Err(syntax(format!("Operator expected, got {t}")));
            }
        }
    };
    s.skip_whitespace();
    let value = s.next();
    if !matches!(value.kind, Kind::Ident | Kind::String) {
        return Err(syntax(format!("Expected string or ident, got {value}")));
    }
    s.skip_whitespace();
    let mut t = s.next();
    let mut flag = None;
    if t.kind == Kind::Ident {
        let f = t.value.to_ascii_lowercase();
        if f != "i" && f != "s" {
            return Err(syntax(format!("Expected ']', got {t}")));
        }
        flag = Some(f);
        s.skip_whitespace();
        t = s.next();
    }
    if !t.is_delim("]") {
        return Err(syntax(format!("Expected ']', got {t}")));
    }
    Ok(Attrib {
        namespace,
        name,
        op,
        value: Some(value.value),
        flag,
    })
}
