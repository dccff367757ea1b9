//! `{name}` templates in start URLs and field values (`{{` and `}}` are literal braces).

use std::collections::HashSet;

/// Placeholders every template may use besides spider arguments.
pub const BUILTINS: &[&str] = &["url", "status", "depth", "spider"];

/// The longest text a template renders to, in bytes.
pub const MAX_RENDERED: usize = 1 << 20;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(String),
}

impl Template {
    /// Parses `text`; errors say what is wrong (an unclosed `{`, an empty name).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) => name.push(ch),
                            None => return Err(format!("unclosed '{{' in {text:?}")),
                        }
                    }
                    let name = name.trim().to_string();
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
                        || name.starts_with('.')
                        || name.ends_with('.')
                    {
                        return Err(format!("bad placeholder {{{name}}} in {text:?}"));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var(name));
                }
                '}' => return Err(format!("unmatched '}}' in {text:?} (write '}}}}')")),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    /// Placeholder names used.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Whether the template has no placeholders.
    pub fn is_constant(&self) -> bool {
        self.vars().next().is_none()
    }

    /// The first placeholder not in `known` or [`BUILTINS`] (`{row.key}` is known when
    /// `row` is).
    pub fn unknown_var<'a>(&'a self, known: &HashSet<String>) -> Option<&'a str> {
        self.vars().find(|v| {
            let base = v.split('.').next().unwrap_or(v);
            !known.contains(*v) && !known.contains(base) && !BUILTINS.contains(v)
        })
    }

    /// Renders with `lookup` (unknown names render empty; validation rules them out).
    /// The result is cut at [`MAX_RENDERED`] bytes: templates over other fields could
    /// otherwise grow exponentially (`{a}{a}` over `{b}{b}` over ...).
    pub fn render<'a>(&self, lookup: impl Fn(&str) -> Option<std::borrow::Cow<'a, str>>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            let piece = match p {
                Part::Lit(s) => std::borrow::Cow::Borrowed(s.as_str()),
                Part::Var(v) => match lookup(v) {
                    Some(val) => val,
                    None => continue,
                },
            };
            if out.len() + piece.len() > MAX_RENDERED {
                let mut end = MAX_RENDERED - out.len();
                while !piece.is_char_boundary(end) {
                    end -= 1;
                }
                out.push_str(&piece[..end]);
                break;
            }
            out.push_str(&piece);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn parses_and_renders() {
        let t = Template::parse("http://h/{category}/p?x={{1}}").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), vec!["category"]);
        let out = t.render(|v| (v == "category").then_some(Cow::Borrowed("books")));
        assert_eq!(out, "http://h/books/p?x={1}");
        let known: HashSet<String> = HashSet::new();
        assert_eq!(t.unknown_var(&known), Some("category"));
        assert!(Template::parse("{url}")
            .unwrap()
            .unknown_var(&known)
            .is_none());
    }

    #[test]
    fn rendering_is_cut_at_the_limit() {
        let t = Template::parse("{a}{a}{a}").unwrap();
        let big = "é".repeat(MAX_RENDERED / 3);
        let out = t.render(|_| Some(Cow::Borrowed(big.as_str())));
        assert!(out.len() <= MAX_RENDERED && out.len() > MAX_RENDERED - 4);
    }

    #[test]
    fn rejects_bad_templates() {
        assert!(Template::parse("x{").unwrap_err().contains("unclosed"));
        assert!(Template::parse("x}").unwrap_err().contains("unmatched"));
        assert!(Template::parse("{a b}")
            .unwrap_err()
            .contains("bad placeholder"));
        assert!(Template::parse("{}").is_err());
    }
}
