//! An XPath 1.0 engine over [`super::dom::Document`], matching what parsel (lxml /
//! libxml2) returns: the core function library, EXSLT regular expressions (`re:`) and
//! sets (`set:`), and parsel's `has-class()`.
//!
//! Expressions are compiled once ([`compile`]) and evaluated against a context node
//! ([`XPath::evaluate`]). Evaluation is bounded: it counts work against
//! [`WORK_BUDGET`] and fails with [`EvalError::Budget`] beyond it.

mod ast;
mod axes;
mod compare;
mod eval;
mod exslt;
mod functions;
mod lex;
mod num;
mod parse;
mod signature;

#[cfg(test)]
mod tests;

use super::dom::{self, Document, NodeData, NodeId};

pub use num::{number_to_string, string_to_number};
pub use parse::MAX_NESTING;

/// How many units of work (nodes visited or produced, characters scanned / 16) one
/// [`XPath::evaluate`] call may spend.
pub const WORK_BUDGET: u64 = 50_000_000;

/// Units of work all the evaluations on one page may spend together (see
/// [`XPath::evaluate_on_page`]).
pub const PAGE_WORK_BUDGET: u64 = 4 * WORK_BUDGET;

/// The most bytes a regular expression of `re:test` / `re:match` / `re:replace` may
/// compile to.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A node in a result: a tree node or an attribute of an element (index into
/// `Element::attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum XNode {
    /// A node of the tree.
    Node(NodeId),
    /// Attribute number `.1` of element `.0`.
    Attr(NodeId, u32),
}

impl XNode {
    /// The document-order key: an element, then its attributes, then its descendants.
    pub fn order_key(self) -> u64 {
        match self {
            XNode::Node(n) => (n.index() as u64) << 32,
            XNode::Attr(n, i) => ((n.index() as u64) << 32) | (u64::from(i) + 1),
        }
    }
}

/// An XPath value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A node-set, in document order without duplicates.
    Nodes(Vec<XNode>),
    /// A string.
    String(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Boolean(bool),
    /// The result of `re:match()`: in lxml a node-set of new elements
    /// `<match>text</match>` (outside the document), one per string here, in order.
    /// A caller rendering them like parsel writes `<match>` + the text escaped as XML
    /// character data + `</match>`; their string-value is the text. Within an
    /// expression they behave as a node-set for conversions, comparisons, `count()`,
    /// `name()` and predicates that do not use the context node.
    Matches(Vec<String>),
}

/// Why an expression does not compile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// Malformed syntax at byte `offset`.
    #[error("syntax error at offset {offset}: {msg}")]
    Syntax {
        /// Byte offset in the expression.
        offset: usize,
        /// What was expected and found.
        msg: String,
    },
    /// A call to a function that does not exist.
    #[error("unknown function {0}()")]
    UnknownFunction(String),
    /// A call with the wrong number of arguments.
    #[error("{name}() takes {takes}, given {given}")]
    Arity {
        /// The function.
        name: String,
        /// How many it takes, in words.
        takes: String,
        /// How many were given.
        given: usize,
    },
    /// A namespace prefix other than `re`, `set` and `xml`.
    #[error("unknown namespace prefix '{0}' (known: re, set, xml)")]
    UnknownPrefix(String),
    /// A `$variable` reference.
    #[error("variables are not supported: ${0}")]
    Variable(String),
    /// Nesting beyond [`MAX_NESTING`].
    #[error("expression nested too deeply (more than {0} levels)")]
    TooDeep(usize),
}

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A value of the wrong type where a node-set is needed.
    #[error("{0}: expected a node-set, got a {1}")]
    NotNodeSet(&'static str, &'static str),
    /// More than [`WORK_BUDGET`] units of work.
    #[error("XPath evaluation exceeded its work budget of {WORK_BUDGET} units")]
    Budget,
    /// A regular expression that does not compile.
    #[error("invalid regular expression {pattern:?}: {msg}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// The regex compiler's message.
        msg: String,
    },
    /// An error raised by an extension function (e.g. `has-class()` arguments).
    #[error("{0}")]
    Function(String),
    /// An operation re:match() results do not support.
    #[error("re:match() results support {0}")]
    Matches(&'static str),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct XPath {
    expr: ast::Expr,
    source: Box<str>,
}

/// Compiles `expr`.
pub fn compile(expr: &str) -> Result<XPath, CompileError> {
    Ok(XPath {
        expr: parse::parse(expr)?,
        source: expr.into(),
    })
}

impl XPath {
    /// The expression's source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression with `ctx` as context node (position and size 1).
    pub fn evaluate(&self, doc: &Document, ctx: XNode) -> Result<Value, EvalError> {
        eval::Evaluator::new(doc).run(&self.expr, ctx)
    }

    /// Evaluates like [`XPath::evaluate`], also spending from a budget shared by every
    /// evaluation on one page (`page_used` units spent so far, of [`PAGE_WORK_BUDGET`]),
    /// so many items times many fields cannot multiply the per-evaluation budget.
    pub fn evaluate_on_page(
        &self,
        doc: &Document,
        ctx: XNode,
        page_used: &std::cell::Cell<u64>,
    ) -> Result<Value, EvalError> {
        let left = PAGE_WORK_BUDGET.saturating_sub(page_used.get());
        if left == 0 {
            return Err(EvalError::Budget);
        }
        let mut ev = eval::Evaluator::with_budget(doc, axes::Budget::with_limit(left));
        let result = ev.run_borrowed(&self.expr, ctx);
        page_used.set(page_used.get().saturating_add(ev.budget.used));
        result
    }
}

/// The string-value of a node: its text, an attribute's value, or the concatenated text
/// of an element's or the document's descendant text nodes.
pub fn string_value(doc: &Document, n: XNode) -> String {
    match n {
        XNode::Node(id) => doc.text_content(id),
        XNode::Attr(id, i) => attr_value(doc, id, i).to_string(),
    }
}

fn attr_value(doc: &Document, id: NodeId, i: u32) -> &str {
    doc.element(id)
        .and_then(|e| e.attrs.get(i as usize))
        .map_or("", |a| &a.value)
}

/// The name of a node as `name()` gives it ("" for text, comments and the document).
pub fn node_name(doc: &Document, n: XNode) -> &str {
    match n {
        XNode::Attr(id, i) => doc
            .element(id)
            .and_then(|e| e.attrs.get(i as usize))
            .map_or("", |a| &a.name),
        XNode::Node(id) => match &doc.node(id).data {
            NodeData::Element(e) => &e.name,
            NodeData::ProcessingInstruction { target, .. } => target,
            _ => "",
        },
    }
}
