//! The evaluator: expressions, location paths, predicates, comparisons.

use std::borrow::Cow;

use super::ast::{Axis, BinOp, Expr, NodeTest, Step};
use super::axes::{collect, Budget};
use super::dom::{Document, NodeData, NodeId};
use super::num::{number_to_string, string_to_number};
use super::{attr_value, EvalError, Value, XNode};

/// The evaluation context: node, proximity position and size.
#[derive(Clone, Copy)]
pub(crate) struct Ctx {
    pub node: XNode,
    pub pos: usize,
    pub size: usize,
}

/// The most bytes of string-values one node-set comparison holds at once.
const MAX_HELD_STRINGS: usize = 64 << 20;

/// Evaluates expressions over one document, counting work.
pub(crate) struct Evaluator<'a> {
    pub doc: &'a Document,
    pub budget: Budget,
    /// Regexes compiled during this evaluation: (pattern, case-insensitive, regex).
    pub regexes: Vec<(String, bool, regex::Regex)>,
}

/// Sorts a node list into document order and drops duplicates.
pub(crate) fn sort_nodes(v: &mut Vec<XNode>) {
    if v.windows(2).all(|w| w[0].order_key() < w[1].order_key()) {
        return;
    }
    v.sort_unstable_by_key(|n| n.order_key());
    v.dedup();
}

/// The type name of a value, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nodes(_) | Value::Matches(_) => "node-set",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Boolean(_) => "boolean",
    }
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(doc: &'a Document) -> Evaluator<'a> {
        Evaluator::with_budget(doc, Budget::new())
    }

    pub(crate) fn with_budget(doc: &'a Document, budget: Budget) -> Evaluator<'a> {
        Evaluator {
            doc,
            budget,
            regexes: Vec::new(),
        }
    }

    pub(crate) fn run(mut self, e: &'a Expr, node: XNode) -> Result<Value, EvalError> {
        self.run_borrowed(e, node)
    }

    /// [`Evaluator::run`], leaving the evaluator (and its budget) to the caller.
    pub(crate) fn run_borrowed(&mut self, e: &'a Expr, node: XNode) -> Result<Value, EvalError> {
        // At the top level there is no context position or size (libxml2 rejects
        // position() and last() there).
        self.eval(
            e,
            Ctx {
                node,
                pos: 0,
                size: 0,
            },
        )
    }

    pub(crate) fn eval(&mut self, e: &'a Expr, c: Ctx) -> Result<Value, EvalError> {
        Ok(match e {
            Expr::Literal(s) => Value::String(s.to_string()),
            Expr::Number(n) => Value::Number(*n),
            Expr::Or(v) => {
                for x in v {
                    if self.eval_bool(x, c)? {
                        return Ok(Value::Boolean(true));
                    }
                }
                Value::Boolean(false)
            }
            Expr::And(v) => {
                for x in v {
                    if !self.eval_bool(x, c)? {
                        return Ok(Value::Boolean(false));
                    }
                }
                Value::Boolean(true)
            }
            Expr::Chain(first, ops) => {
                let mut acc = self.eval(first, c)?;
                for (op, rhs) in ops {
                    let r = self.eval(rhs, c)?;
                    acc = self.binop(*op, acc, r)?;
                }
                acc
            }
            Expr::Neg(n, x) => {
                let v = self.eval(x, c)?;
                let f = self.number_of(&v);
                Value::Number(if n % 2 == 1 { -f } else { f })
            }
            Expr::Union(parts) => {
                let mut all = Vec::new();
                for p in parts {
                    match self.eval(p, c)? {
                        Value::Nodes(v) => all.extend(v),
                        Value::Matches(_) => return Err(EvalError::Matches("no union")),
                        v => return Err(EvalError::NotNodeSet("union '|'", type_name(&v))),
                    }
                }
                self.budget.spend(all.len() as u64)?;
                sort_nodes(&mut all);
                Value::Nodes(all)
            }
            Expr::Call(f, args) => self.call(*f, args, c)?,
            Expr::Path { absolute, steps } => {
                let start = if *absolute {
                    XNode::Node(NodeId::ROOT)
                } else {
                    c.node
                };
                Value::Nodes(self.steps(vec![start], steps)?)
            }
            Expr::Filter {
                primary,
                preds,
                steps,
            } => {
                let v = self.eval(primary, c)?;
                let nodes = match v {
                    Value::Nodes(n) => n,
                    Value::Matches(m) => return self.filter_matches(m, preds, steps),
                    v => return Err(EvalError::NotNodeSet("filter expression", type_name(&v))),
                };
                let mut nodes = nodes;
                for p in preds {
                    nodes = self.filter(nodes, p)?;
                }
                Value::Nodes(self.steps(nodes, steps)?)
            }
        })
    }

    fn filter_matches(
        &mut self,
        mut m: Vec<String>,
        preds: &'a [Expr],
        steps: &[Step],
    ) -> Result<Value, EvalError> {
        if !steps.is_empty() {
            return Err(EvalError::Matches("no location steps after them"));
        }
        for p in preds {
            if p.uses_context_node() {
                return Err(EvalError::Matches(
                    "only predicates that do not use the context node",
                ));
            }
            let positional = p.is_positional();
            let size = m.len();
            let mut keep = Vec::with_capacity(size);
            for (i, s) in m.into_iter().enumerate() {
                let c = Ctx {
                    node: XNode::Node(NodeId::ROOT),
                    pos: i + 1,
                    size,
                };
                if self.pred_true(p, positional, c)? {
                    keep.push(s);
                }
            }
            m = keep;
        }
        Ok(Value::Matches(m))
    }

    /// Applies location steps to a node-set in document order.
    pub(crate) fn steps(
        &mut self,
        mut nodes: Vec<XNode>,
        steps: &'a [Step],
    ) -> Result<Vec<XNode>, EvalError> {
        for s in steps {
            nodes = self.step(&nodes, s)?;
        }
        Ok(nodes)
    }

    fn step(&mut self, input: &[XNode], step: &'a Step) -> Result<Vec<XNode>, EvalError> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let skip_nested =
            matches!(step.axis, Axis::Descendant | Axis::DescendantOrSelf) && !step.positional;
        let mut covered_end = 0usize;
        for &n in input {
            if skip_nested {
                if let XNode::Node(id) = n {
                    if id.index() < covered_end {
                        continue;
                    }
                    covered_end = self.doc.node(id).subtree_end as usize;
                }
            }
            if step.preds.is_empty() {
                collect(
                    self.doc,
                    n,
                    step.axis,
                    &step.test,
                    &mut out,
                    &mut self.budget,
                )?;
            } else {
                buf.clear();
                collect(
                    self.doc,
                    n,
                    step.axis,
                    &step.test,
                    &mut buf,
                    &mut self.budget,
                )?;
                let mut cur = std::mem::take(&mut buf);
                for p in &step.preds {
                    cur = self.filter(cur, p)?;
                }
                out.extend_from_slice(&cur);
                buf = cur;
            }
        }
        if step.axis.is_reverse() && input.len() == 1 {
            out.reverse();
        } else if input.len() > 1 || step.axis.is_reverse() {
            self.budget.spend(out.len() as u64)?;
            sort_nodes(&mut out);
        }
        Ok(out)
    }

    /// Keeps the nodes for which predicate `p` holds, positions counted in list order.
    fn filter(&mut self, mut nodes: Vec<XNode>, p: &'a Expr) -> Result<Vec<XNode>, EvalError> {
        if let Expr::Number(n) = p {
            let keep = if n.fract() == 0.0 && *n >= 1.0 && *n <= nodes.len() as f64 {
                vec![nodes[*n as usize - 1]]
            } else {
                Vec::new()
            };
            return Ok(keep);
        }
        let positional = p.is_positional();
        let size = nodes.len();
        let mut w = 0;
        for i in 0..size {
            let node = nodes[i];
            if self.pred_true(
                p,
                positional,
                Ctx {
                    node,
                    pos: i + 1,
                    size,
                },
            )? {
                nodes[w] = node;
                w += 1;
            }
        }
        nodes.truncate(w);
        Ok(nodes)
    }

    fn pred_true(&mut self, p: &'a Expr, positional: bool, c: Ctx) -> Result<bool, EvalError> {
        if !positional {
            return self.eval_bool(p, c);
        }
        Ok(match self.eval(p, c)? {
            Value::Number(x) => x == c.pos as f64,
            v => self.bool_of(&v),
        })
    }

    /// The single attribute step `@name` of a relative path, if that is all it is.
    fn attr_path(e: &Expr) -> Option<&str> {
        match e {
            Expr::Path {
                absolute: false,
                steps,
            } if steps.len() == 1 => {
                let s = &steps[0];
                match (&s.test, s.axis, s.preds.is_empty()) {
                    (NodeTest::Name(n), Axis::Attribute, true) => Some(n),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Evaluates as a boolean, without building node-sets for `@name`.
    pub(crate) fn eval_bool(&mut self, e: &'a Expr, c: Ctx) -> Result<bool, EvalError> {
        if let Some(name) = Self::attr_path(e) {
            return Ok(match c.node {
                XNode::Node(id) => self
                    .doc
                    .element(id)
                    .is_some_and(|el| el.attr(name).is_some()),
                XNode::Attr(..) => false,
            });
        }
        if let Expr::Chain(lhs, ops) = e {
            if let [(op @ (BinOp::Eq | BinOp::Neq), rhs)] = ops.as_slice() {
                // `@name = 'literal'`: existential over zero or one attribute.
                let pair = match (Self::attr_path(lhs), &**lhs, rhs) {
                    (Some(name), _, Expr::Literal(lit)) => Some((name, lit)),
                    (None, Expr::Literal(lit), r) => Self::attr_path(r).map(|n| (n, lit)),
                    _ => None,
                };
                if let Some((name, lit)) = pair {
                    let value = match c.node {
                        XNode::Node(id) => self.doc.element(id).and_then(|el| el.attr(name)),
                        XNode::Attr(..) => None,
                    };
                    return Ok(value.is_some_and(|v| (v == &**lit) == (*op == BinOp::Eq)));
                }
            }
        }
        let v = self.eval(e, c)?;
        Ok(self.bool_of(&v))
    }

    /// Evaluates as a string, borrowing literals and `@name` values.
    pub(crate) fn eval_str(&mut self, e: &'a Expr, c: Ctx) -> Result<Cow<'a, str>, EvalError> {
        if let Expr::Literal(s) = e {
            return Ok(Cow::Borrowed(s));
        }
        if let Some(name) = Self::attr_path(e) {
            let doc: &'a Document = self.doc;
            return Ok(Cow::Borrowed(match c.node {
                XNode::Node(id) => doc.element(id).and_then(|el| el.attr(name)).unwrap_or(""),
                XNode::Attr(..) => "",
            }));
        }
        let v = self.eval(e, c)?;
        Ok(Cow::Owned(self.string_of(&v)?))
    }

    /// The string-value of a node, charging its size.
    pub(crate) fn node_string(&mut self, n: XNode) -> Result<Cow<'a, str>, EvalError> {
        let doc: &'a Document = self.doc;
        Ok(match n {
            XNode::Attr(id, i) => {
                let v = attr_value(doc, id, i);
                self.budget.spend(v.len() as u64 / 16 + 1)?;
                Cow::Borrowed(v)
            }
            XNode::Node(id) => match &doc.node(id).data {
                NodeData::Text(t) | NodeData::Comment(t) => {
                    self.budget.spend(t.len() as u64 / 16 + 1)?;
                    Cow::Borrowed(t)
                }
                NodeData::ProcessingInstruction { data, .. } => Cow::Borrowed(data),
                _ => {
                    let end = doc.node(id).subtree_end as usize;
                    self.budget.spend((end - id.index()) as u64)?;
                    let s = doc.text_content(id);
                    self.budget.spend(s.len() as u64 / 16)?;
                    Cow::Owned(s)
                }
            },
        })
    }

    pub(crate) fn string_of(&mut self, v: &Value) -> Result<String, EvalError> {
        Ok(match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => number_to_string(*n),
            Value::Boolean(b) => if *b { "true" } else { "false" }.to_string(),
            Value::Nodes(ns) => match ns.first() {
                Some(&n) => self.node_string(n)?.into_owned(),
                None => String::new(),
            },
            Value::Matches(m) => m.first().cloned().unwrap_or_default(),
        })
    }

    pub(crate) fn bool_of(&self, v: &Value) -> bool {
        match v {
            Value::Boolean(b) => *b,
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::String(s) => !s.is_empty(),
            Value::Nodes(n) => !n.is_empty(),
            Value::Matches(m) => !m.is_empty(),
        }
    }

    pub(crate) fn number_of(&mut self, v: &Value) -> f64 {
        match v {
            Value::Number(n) => *n,
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::String(s) => string_to_number(s),
            Value::Matches(m) => m.first().map_or(f64::NAN, |s| string_to_number(s)),
            Value::Nodes(ns) => match ns.first() {
                Some(&n) => match self.node_string(n) {
                    Ok(s) => string_to_number(&s),
                    Err(_) => f64::NAN,
                },
                None => f64::NAN,
            },
        }
    }

    /// The string-values of a node-set (or re:match() results).
    pub(crate) fn strings(&mut self, v: Value) -> Result<Vec<String>, EvalError> {
        match v {
            Value::Matches(m) => Ok(m),
            Value::Nodes(ns) => {
                let mut out = Vec::with_capacity(ns.len());
                let mut bytes = 0usize;
                for n in ns {
                    let s = self.node_string(n)?.into_owned();
                    // Nested elements repeat each other's text: bound what is held.
                    bytes = bytes.saturating_add(s.len());
                    if bytes > MAX_HELD_STRINGS {
                        return Err(EvalError::Budget);
                    }
                    out.push(s);
                }
                Ok(out)
            }
            _ => Ok(Vec::new()),
        }
    }
}
