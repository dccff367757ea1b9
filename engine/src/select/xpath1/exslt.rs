//! parsel's extension functions: EXSLT regular expressions (`re:`), EXSLT sets
//! (`set:`) and `has-class()`, with lxml's argument conversions.

use std::collections::HashSet;

use regex::{Captures, Regex, RegexBuilder};

use super::ast::{Expr, Func};
use super::eval::{Ctx, Evaluator};
use super::num::py_float_repr;
use super::{EvalError, Value, XNode, REGEX_SIZE_LIMIT};

/// Units of work charged for compiling one regex (cached ones are free).
const REGEX_COMPILE_COST: u64 = 10_000;

/// The longest string `re:replace()` builds, in bytes.
const MAX_REPLACED: usize = 64 << 20;

/// How many compiled regexes one evaluation keeps.
const REGEX_CACHE: usize = 16;

fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// Expands a Python `re.sub` replacement template for one match.
fn expand(template: &str, caps: &Captures<'_>, out: &mut String) {
    let group = |out: &mut String, k: &str| {
        let m = match k.parse::<usize>() {
            Ok(i) => caps.get(i),
            Err(_) => caps.name(k),
        };
        if let Some(m) = m {
            out.push_str(m.as_str());
        }
    };
    let mut chars = template.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            None => out.push('\\'),
            Some((_, d)) if d.is_ascii_digit() => {
                let mut k = d.to_string();
                if let Some(&(_, d2)) = chars.peek() {
                    if d2.is_ascii_digit() {
                        k.push(d2);
                        chars.next();
                    }
                }
                group(out, &k);
            }
            Some((_, 'g')) if template[i + 2..].starts_with('<') => {
                let rest = &template[i + 3..];
                if let Some(end) = rest.find('>') {
                    group(out, &rest[..end]);
                    let stop = i + 3 + end;
                    while chars.peek().is_some_and(|&(j, _)| j <= stop) {
                        chars.next();
                    }
                } else {
                    out.push_str("\\g");
                }
            }
            Some((_, e)) => match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                'a' => out.push('\x07'),
                '\\' => out.push('\\'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
        }
    }
}

impl<'a> Evaluator<'a> {
    /// lxml's `_make_string`: a string as is, the first node's string-value, Python's
    /// `str()` of a number or boolean.
    fn py_string(&mut self, e: &'a Expr, c: Ctx) -> Result<String, EvalError> {
        Ok(match self.eval(e, c)? {
            Value::String(s) => s,
            Value::Number(n) => py_float_repr(n),
            Value::Boolean(b) => if b { "True" } else { "False" }.to_string(),
            v => self.string_of(&v)?,
        })
    }

    fn regex(&mut self, pattern: &str, icase: bool) -> Result<Regex, EvalError> {
        if let Some((_, _, r)) = self
            .regexes
            .iter()
            .find(|(p, i, _)| p == pattern && *i == icase)
        {
            return Ok(r.clone());
        }
        // Compiling costs far more than matching a node: charge it.
        self.budget.spend(REGEX_COMPILE_COST)?;
        // Python's \Z is Rust's \z.
        let translated = pattern.replace("\\Z", "\\z");
        let r = RegexBuilder::new(&translated)
            .case_insensitive(icase)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                let msg = e.to_string();
                let msg = msg.lines().last().unwrap_or_default();
                let msg = msg.strip_prefix("error: ").unwrap_or(msg).to_string();
                EvalError::Regex {
                    pattern: pattern.to_string(),
                    msg,
                }
            })?;
        if self.regexes.len() >= REGEX_CACHE {
            self.regexes.remove(0);
        }
        self.regexes.push((pattern.to_string(), icase, r.clone()));
        Ok(r)
    }

    fn set_arg(
        &mut self,
        e: &'a Expr,
        c: Ctx,
        what: &'static str,
    ) -> Result<Vec<XNode>, EvalError> {
        self.nodes_arg(e, c, what)
    }

    /// Calls an extension function.
    pub(crate) fn call_ext(
        &mut self,
        f: Func,
        args: &'a [Expr],
        c: Ctx,
    ) -> Result<Value, EvalError> {
        use Func::{
            HasClass, ReMatch, ReReplace, ReTest, SetDifference, SetDistinct, SetHasSameNode,
            SetIntersection, SetLeading, SetTrailing,
        };
        Ok(match f {
            HasClass => {
                if args.is_empty() {
                    return Err(EvalError::Function(
                        "XPath error: has-class must have at least 1 argument".into(),
                    ));
                }
                let mut classes = Vec::with_capacity(args.len());
                for e in args {
                    match self.eval(e, c)? {
                        Value::String(s) => classes.push(s),
                        _ => {
                            return Err(EvalError::Function(
                                "XPath error: has-class arguments must be strings".into(),
                            ))
                        }
                    }
                }
                let class = match c.node {
                    XNode::Node(id) => self.doc.element(id).and_then(|e| e.attr("class")),
                    XNode::Attr(..) => None,
                };
                let Some(class) = class else {
                    return Ok(Value::Boolean(false));
                };
                let mut norm = String::with_capacity(class.len() + 2);
                norm.push(' ');
                for w in class.split(is_html_space).filter(|w| !w.is_empty()) {
                    norm.push_str(w);
                    norm.push(' ');
                }
                Value::Boolean(classes.iter().all(|k| {
                    norm.match_indices(k.as_str()).any(|(i, _)| {
                        norm[..i].ends_with(' ') && norm[i + k.len()..].starts_with(' ')
                    })
                }))
            }
            ReTest | ReMatch | ReReplace => {
                let s = self.py_string(&args[0], c)?;
                let pattern = self.py_string(&args[1], c)?;
                let flags = match args.get(2) {
                    Some(e) => self.py_string(e, c)?,
                    None => String::new(),
                };
                let re = self.regex(&pattern, flags.contains('i'))?;
                self.budget.spend(s.len() as u64 / 4 + 1)?;
                let global = flags.contains('g');
                match f {
                    ReTest => Value::Boolean(re.is_match(&s)),
                    ReMatch => Value::Matches(self.re_match(&re, &s, global)?),
                    _ => {
                        let template = self.py_string(&args[3], c)?;
                        let mut out = String::new();
                        let mut last = 0;
                        for caps in re.captures_iter(&s) {
                            let Some(m) = caps.get(0) else { continue };
                            let before = out.len();
                            out.push_str(&s[last..m.start()]);
                            expand(&template, &caps, &mut out);
                            last = m.end();
                            // What this match added, so the total stays linear.
                            self.budget.spend((out.len() - before) as u64 / 16 + 1)?;
                            if out.len() > MAX_REPLACED {
                                return Err(EvalError::Budget);
                            }
                            if !global {
                                break;
                            }
                        }
                        out.push_str(&s[last..]);
                        Value::String(out)
                    }
                }
            }
            SetDifference | SetIntersection | SetHasSameNode | SetLeading | SetTrailing => {
                let a = self.set_arg(&args[0], c, "set function")?;
                let b = self.set_arg(&args[1], c, "set function")?;
                self.budget.spend((a.len() + b.len()) as u64)?;
                match f {
                    SetDifference | SetIntersection => {
                        let hb: HashSet<XNode> = b.into_iter().collect();
                        let keep_in = f == SetIntersection;
                        Value::Nodes(
                            a.into_iter()
                                .filter(|n| hb.contains(n) == keep_in)
                                .collect(),
                        )
                    }
                    SetHasSameNode => {
                        let hb: HashSet<XNode> = b.into_iter().collect();
                        Value::Boolean(a.iter().any(|n| hb.contains(n)))
                    }
                    _ => {
                        let Some(&first) = b.first() else {
                            return Ok(Value::Nodes(a));
                        };
                        let Some(i) = a.iter().position(|&n| n == first) else {
                            return Ok(Value::Nodes(Vec::new()));
                        };
                        Value::Nodes(if f == SetLeading {
                            a[..i].to_vec()
                        } else {
                            a[i + 1..].to_vec()
                        })
                    }
                }
            }
            SetDistinct => {
                let a = self.set_arg(&args[0], c, "set:distinct()")?;
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                for n in a {
                    let s = self.node_string(n)?.into_owned();
                    if seen.insert(s) {
                        out.push(n);
                    }
                }
                Value::Nodes(out)
            }
            _ => Value::Boolean(false),
        })
    }

    /// lxml's `re:match`: without `g` the whole match then every group ('' when it did
    /// not take part); with `g`, per match the whole match (no groups), group 1 (one
    /// group) or the groups concatenated (several), as Python's `findall`.
    fn re_match(&mut self, re: &Regex, s: &str, global: bool) -> Result<Vec<String>, EvalError> {
        let text =
            |m: Option<regex::Match<'_>>| m.map_or(String::new(), |m| m.as_str().to_string());
        let mut out = Vec::new();
        if !global {
            if let Some(caps) = re.captures(s) {
                for i in 0..caps.len() {
                    out.push(text(caps.get(i)));
                }
            }
            return Ok(out);
        }
        let groups = re.captures_len() - 1;
        for caps in re.captures_iter(s) {
            self.budget.spend(1)?;
            out.push(match groups {
                0 => text(caps.get(0)),
                1 => text(caps.get(1)),
                _ => (1..=groups).map(|i| text(caps.get(i))).collect(),
            });
        }
        Ok(out)
    }
}
