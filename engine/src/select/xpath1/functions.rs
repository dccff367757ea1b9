//! The XPath 1.0 core function library.

use std::collections::HashSet;

use super::ast::{Expr, Func};
use super::eval::{type_name, Ctx, Evaluator};
use super::{node_name, EvalError, Value, XNode};

/// XPath `round()` as libxml2 computes it (`round(-0.5)` is -0, NaN stays NaN).
pub(crate) fn xpath_round(f: f64) -> f64 {
    if (-0.5..0.5).contains(&f) {
        f * 0.0
    } else {
        let r = f.floor();
        if f - r >= 0.5 {
            r + 1.0
        } else {
            r
        }
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `substring(s, start, len?)` per XPath 1.0 section 4.2.
pub(crate) fn substring(s: &str, start: f64, len: Option<f64>) -> String {
    let first = xpath_round(start);
    let end = len.map(|l| first + xpath_round(l));
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        let p = (i + 1) as f64;
        if p >= first && end.is_none_or(|e| p < e) {
            out.push(ch);
        } else if end.is_some_and(|e| p >= e) {
            break;
        }
    }
    out
}

/// `translate(s, from, to)`: each character of `from` (its first occurrence) maps to
/// the character at the same position in `to`, or is removed; linear in the lengths.
pub(crate) fn translate(s: &str, from: &str, to: &str) -> String {
    let to: Vec<char> = to.chars().collect();
    let mut map: std::collections::HashMap<char, Option<char>> = std::collections::HashMap::new();
    for (i, f) in from.chars().enumerate() {
        map.entry(f).or_insert_with(|| to.get(i).copied());
    }
    s.chars()
        .filter_map(|c| match map.get(&c) {
            Some(mapped) => *mapped,
            None => Some(c),
        })
        .collect()
}

/// `normalize-space(s)`: XML whitespace only (not U+00A0).
pub(crate) fn normalize_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split(is_xml_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

impl<'a> Evaluator<'a> {
    /// Evaluates a node-set argument.
    pub(crate) fn nodes_arg(
        &mut self,
        e: &'a Expr,
        c: Ctx,
        what: &'static str,
    ) -> Result<Vec<XNode>, EvalError> {
        match self.eval(e, c)? {
            Value::Nodes(n) => Ok(n),
            Value::Matches(_) => Err(EvalError::Matches("no use as arguments of this function")),
            v => Err(EvalError::NotNodeSet(what, type_name(&v))),
        }
    }

    fn num_arg(&mut self, e: &'a Expr, c: Ctx) -> Result<f64, EvalError> {
        let v = self.eval(e, c)?;
        Ok(self.number_of(&v))
    }

    /// The string of argument `i`, or of the context node when absent.
    fn str_or_ctx(&mut self, args: &'a [Expr], c: Ctx) -> Result<String, EvalError> {
        match args.first() {
            Some(e) => Ok(self.eval_str(e, c)?.into_owned()),
            None => Ok(self.node_string(c.node)?.into_owned()),
        }
    }

    /// Calls built-in function `f`.
    pub(crate) fn call(&mut self, f: Func, args: &'a [Expr], c: Ctx) -> Result<Value, EvalError> {
        use Func::*;
        let a = |i: usize| &args[i];
        Ok(match f {
            Last | Position if c.pos == 0 => {
                return Err(EvalError::Function(format!(
                    "{}() is only available inside a predicate",
                    if f == Last { "last" } else { "position" }
                )))
            }
            Last => Value::Number(c.size as f64),
            Position => Value::Number(c.pos as f64),
            True => Value::Boolean(true),
            False => Value::Boolean(false),
            Count => match self.eval(a(0), c)? {
                Value::Nodes(n) => Value::Number(n.len() as f64),
                Value::Matches(m) => Value::Number(m.len() as f64),
                v => return Err(EvalError::NotNodeSet("count()", type_name(&v))),
            },
            LocalName | Name | NamespaceUri => {
                let name = match args.first() {
                    None => Some(node_name(self.doc, c.node).to_string()),
                    Some(e) => match self.eval(e, c)? {
                        Value::Nodes(n) => n.first().map(|&n| node_name(self.doc, n).to_string()),
                        Value::Matches(m) => m.first().map(|_| "match".to_string()),
                        v => {
                            let what = match f {
                                LocalName => "local-name()",
                                Name => "name()",
                                _ => "namespace-uri()",
                            };
                            return Err(EvalError::NotNodeSet(what, type_name(&v)));
                        }
                    },
                };
                if f == NamespaceUri {
                    Value::String(std::string::String::new())
                } else {
                    Value::String(name.unwrap_or_default())
                }
            }
            String => Value::String(self.str_or_ctx(args, c)?),
            Concat => {
                let mut s = std::string::String::new();
                for e in args {
                    let part = self.eval_str(e, c)?;
                    self.budget.spend(part.len() as u64 / 16 + 1)?;
                    s.push_str(&part);
                }
                Value::String(s)
            }
            StartsWith | Contains | SubstringBefore | SubstringAfter => {
                let s = self.eval_str(a(0), c)?;
                let t = self.eval_str(a(1), c)?;
                self.budget.spend(s.len() as u64 / 16)?;
                match f {
                    StartsWith => Value::Boolean(s.starts_with(&*t)),
                    Contains => Value::Boolean(s.contains(&*t)),
                    SubstringBefore => Value::String(
                        s.find(&*t)
                            .map_or(std::string::String::new(), |i| s[..i].to_string()),
                    ),
                    _ => Value::String(
                        s.find(&*t)
                            .map_or(std::string::String::new(), |i| s[i + t.len()..].to_string()),
                    ),
                }
            }
            Substring => {
                let s = self.eval_str(a(0), c)?;
                let start = self.num_arg(a(1), c)?;
                let len = match args.get(2) {
                    Some(e) => Some(self.num_arg(e, c)?),
                    None => None,
                };
                self.budget.spend(s.len() as u64 / 16 + 1)?;
                Value::String(substring(&s, start, len))
            }
            StringLength => {
                let s = self.str_or_ctx(args, c)?;
                self.budget.spend(s.len() as u64 / 16 + 1)?;
                Value::Number(s.chars().count() as f64)
            }
            NormalizeSpace => {
                let s = self.str_or_ctx(args, c)?;
                self.budget.spend(s.len() as u64 / 16 + 1)?;
                Value::String(normalize_space(&s))
            }
            Translate => {
                let s = self.eval_str(a(0), c)?;
                let from = self.eval_str(a(1), c)?;
                let to = self.eval_str(a(2), c)?;
                self.budget
                    .spend((s.len() + from.len() + to.len()) as u64 / 16 + 1)?;
                Value::String(translate(&s, &from, &to))
            }
            Boolean => Value::Boolean(self.eval_bool(a(0), c)?),
            Not => Value::Boolean(!self.eval_bool(a(0), c)?),
            Lang => {
                // libxml2 looks for xml:lang, which HTML parsing never yields.
                self.eval_str(a(0), c)?;
                Value::Boolean(false)
            }
            Number => match args.first() {
                Some(e) => Value::Number(self.num_arg(e, c)?),
                None => Value::Number(super::string_to_number(&self.node_string(c.node)?)),
            },
            Sum => {
                let ns = self.nodes_arg(a(0), c, "sum()")?;
                let mut total = 0.0;
                for n in ns {
                    total += super::string_to_number(&self.node_string(n)?);
                }
                Value::Number(total)
            }
            Floor => Value::Number(self.num_arg(a(0), c)?.floor()),
            Ceiling => Value::Number(self.num_arg(a(0), c)?.ceil()),
            Round => Value::Number(xpath_round(self.num_arg(a(0), c)?)),
            Id => self.id(a(0), c)?,
            _ => self.call_ext(f, args, c)?,
        })
    }

    /// `id(x)`: elements whose `id` attribute is one of the whitespace-separated tokens
    /// (the first element per id, as libxml2's id table keeps).
    fn id(&mut self, e: &'a Expr, c: Ctx) -> Result<Value, EvalError> {
        let text = match self.eval(e, c)? {
            Value::Nodes(ns) => {
                let mut t = std::string::String::new();
                for n in ns {
                    t.push_str(&self.node_string(n)?);
                    t.push(' ');
                }
                t
            }
            v => self.string_of(&v)?,
        };
        let mut wanted: HashSet<&str> =
            text.split(is_xml_space).filter(|w| !w.is_empty()).collect();
        let mut out = Vec::new();
        if wanted.is_empty() {
            return Ok(Value::Nodes(out));
        }
        self.budget.spend(self.doc.len() as u64)?;
        for (id, el) in self.doc.elements() {
            if let Some(v) = el.attr("id") {
                if wanted.remove(v) {
                    out.push(XNode::Node(id));
                    if wanted.is_empty() {
                        break;
                    }
                }
            }
        }
        Ok(Value::Nodes(out))
    }
}
