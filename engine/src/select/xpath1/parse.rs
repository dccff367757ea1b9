//! Recursive-descent parser for XPath 1.0 expressions.

use super::ast::{Axis, BinOp, Expr, NodeTest, Step};
use super::lex::{tokenize, Tok};
use super::signature::{check_arity, lookup};
use super::CompileError;

/// How deeply expressions may nest (parentheses, predicates, function arguments).
pub const MAX_NESTING: usize = 64;

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Expr, CompileError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.peek() != &Tok::End {
        return Err(p.unexpected("an operator or the end of the expression"));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].0
    }

    fn offset(&self) -> usize {
        self.toks[self.pos.min(self.toks.len() - 1)].1
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &str) -> CompileError {
        let mut msg = format!("expected {expected}");
        if self.pos > 0 {
            let prev = &self.toks[self.pos - 1].0;
            if matches!(prev, Tok::Slash | Tok::DSlash | Tok::DColon | Tok::At) {
                msg = format!("expected {expected} after {}", prev.describe());
            }
        }
        CompileError::Syntax {
            offset: self.offset(),
            msg: format!("{msg}, found {}", self.peek().describe()),
        }
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), CompileError> {
        if self.eat(&t) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn expr(&mut self) -> Result<Expr, CompileError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(CompileError::TooDeep(MAX_NESTING));
        }
        let r = self.or_expr();
        self.depth -= 1;
        r
    }

    fn or_expr(&mut self) -> Result<Expr, CompileError> {
        let mut v = vec![self.and_expr()?];
        while self.eat(&Tok::Or) {
            v.push(self.and_expr()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::Number(0.0))
        } else {
            Expr::Or(v)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, CompileError> {
        let mut v = vec![self.chain(0)?];
        while self.eat(&Tok::And) {
            v.push(self.chain(0)?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::Number(0.0))
        } else {
            Expr::And(v)
        })
    }

    /// Levels 0..4: equality, relational, additive, multiplicative; then unary.
    fn chain(&mut self, level: u8) -> Result<Expr, CompileError> {
        if level == 4 {
            return self.unary();
        }
        let first = self.chain(level + 1)?;
        let mut ops = Vec::new();
        loop {
            let op = match (level, self.peek()) {
                (0, Tok::Eq) => BinOp::Eq,
                (0, Tok::Neq) => BinOp::Neq,
                (1, Tok::Lt) => BinOp::Lt,
                (1, Tok::Le) => BinOp::Le,
                (1, Tok::Gt) => BinOp::Gt,
                (1, Tok::Ge) => BinOp::Ge,
                (2, Tok::Plus) => BinOp::Add,
                (2, Tok::Minus) => BinOp::Sub,
                (3, Tok::Mul) => BinOp::Mul,
                (3, Tok::Div) => BinOp::Div,
                (3, Tok::Mod) => BinOp::Mod,
                _ => break,
            };
            self.bump();
            ops.push((op, self.chain(level + 1)?));
        }
        Ok(if ops.is_empty() {
            first
        } else {
            Expr::Chain(Box::new(first), ops)
        })
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        let mut n = 0u32;
        while self.eat(&Tok::Minus) {
            n = n.saturating_add(1);
        }
        let e = self.union()?;
        Ok(if n == 0 { e } else { Expr::Neg(n, Box::new(e)) })
    }

    fn union(&mut self) -> Result<Expr, CompileError> {
        let mut v = vec![self.path_expr()?];
        while self.eat(&Tok::Pipe) {
            v.push(self.path_expr()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::Number(0.0))
        } else {
            Expr::Union(v)
        })
    }

    fn starts_primary(&self) -> bool {
        match self.peek() {
            Tok::LParen | Tok::Literal(_) | Tok::Number(_) => true,
            Tok::Name(p, l) => {
                self.peek_at(1) == &Tok::LParen
                    && !(p.is_none()
                        && matches!(&**l, "node" | "text" | "comment" | "processing-instruction"))
            }
            _ => false,
        }
    }

    fn path_expr(&mut self) -> Result<Expr, CompileError> {
        if self.starts_primary() {
            let primary = self.primary()?;
            let preds = self.predicates()?;
            let mut steps = Vec::new();
            if matches!(self.peek(), Tok::Slash | Tok::DSlash) {
                self.relative_steps(&mut steps, true)?;
            }
            if preds.is_empty() && steps.is_empty() {
                return Ok(primary);
            }
            return Ok(Expr::Filter {
                primary: Box::new(primary),
                preds,
                steps,
            });
        }
        let mut steps = Vec::new();
        let absolute = matches!(self.peek(), Tok::Slash | Tok::DSlash);
        if !absolute && !self.starts_step() {
            return Err(self.unexpected("an expression"));
        }
        if self.eat(&Tok::Slash) {
            if !self.starts_step() {
                return Ok(Expr::Path { absolute, steps });
            }
            self.relative_steps(&mut steps, false)?;
        } else if self.eat(&Tok::DSlash) {
            steps.push(Step {
                axis: Axis::DescendantOrSelf,
                test: NodeTest::Node,
                preds: Vec::new(),
                positional: false,
            });
            // libxml2 lets the relative path after a leading '//' start with '/' or '//'.
            if self.eat(&Tok::Slash) {
                self.relative_steps(&mut steps, false)?;
            } else {
                self.relative_steps(&mut steps, matches!(self.peek(), Tok::DSlash))?;
            }
        } else {
            self.relative_steps(&mut steps, false)?;
        }
        Ok(Expr::Path {
            absolute,
            steps: optimize(steps),
        })
    }

    fn starts_step(&self) -> bool {
        matches!(
            self.peek(),
            Tok::Name(..) | Tok::Star(_) | Tok::At | Tok::Dot | Tok::DDot
        )
    }

    /// Parses steps separated by `/` or `//`; with `lead`, a separator comes first.
    fn relative_steps(&mut self, steps: &mut Vec<Step>, lead: bool) -> Result<(), CompileError> {
        let mut need_sep = lead;
        loop {
            if need_sep {
                match self.peek() {
                    Tok::Slash => {
                        self.bump();
                    }
                    Tok::DSlash => {
                        self.bump();
                        steps.push(Step {
                            axis: Axis::DescendantOrSelf,
                            test: NodeTest::Node,
                            preds: Vec::new(),
                            positional: false,
                        });
                    }
                    _ => return Ok(()),
                }
            }
            steps.push(self.step()?);
            need_sep = true;
        }
    }

    fn step(&mut self) -> Result<Step, CompileError> {
        let simple = |axis, test| Step {
            axis,
            test,
            preds: Vec::new(),
            positional: false,
        };
        if self.eat(&Tok::Dot) {
            return Ok(simple(Axis::SelfNode, NodeTest::Node));
        }
        if self.eat(&Tok::DDot) {
            return Ok(simple(Axis::Parent, NodeTest::Node));
        }
        let axis = if self.eat(&Tok::At) {
            Axis::Attribute
        } else if let (Tok::Name(None, name), Tok::DColon) = (self.peek(), self.peek_at(1)) {
            let Some(axis) = Axis::from_name(name) else {
                return Err(CompileError::Syntax {
                    offset: self.offset(),
                    msg: format!("unknown axis '{name}'"),
                });
            };
            self.bump();
            self.bump();
            axis
        } else {
            Axis::Child
        };
        let test = self.node_test()?;
        let preds = self.predicates()?;
        let positional = preds.iter().any(Expr::is_positional);
        Ok(Step {
            axis,
            test,
            preds,
            positional,
        })
    }

    fn node_test(&mut self) -> Result<NodeTest, CompileError> {
        match self.peek().clone() {
            Tok::Star(None) => {
                self.bump();
                Ok(NodeTest::Any)
            }
            Tok::Star(Some(p)) => {
                self.bump();
                check_prefix(&p)?;
                Ok(NodeTest::Never)
            }
            Tok::Name(None, l) if self.peek_at(1) == &Tok::LParen => {
                let test = match &*l {
                    "node" => NodeTest::Node,
                    "text" => NodeTest::Text,
                    "comment" => NodeTest::Comment,
                    "processing-instruction" => NodeTest::Pi(None),
                    _ => return Err(self.unexpected("a node test")),
                };
                self.bump();
                self.bump();
                let test = match (test, self.peek().clone()) {
                    (NodeTest::Pi(None), Tok::Literal(s)) => {
                        self.bump();
                        NodeTest::Pi(Some(s.into()))
                    }
                    (t, _) => t,
                };
                self.expect(Tok::RParen, "')'")?;
                Ok(test)
            }
            Tok::Name(None, l) => {
                self.bump();
                Ok(NodeTest::Name(l.into()))
            }
            Tok::Name(Some(p), _) => {
                self.bump();
                check_prefix(&p)?;
                Ok(NodeTest::Never)
            }
            _ => Err(self.unexpected("a node test")),
        }
    }

    fn predicates(&mut self) -> Result<Vec<Expr>, CompileError> {
        let mut preds = Vec::new();
        while self.eat(&Tok::LBrack) {
            preds.push(self.expr()?);
            self.expect(Tok::RBrack, "']'")?;
        }
        Ok(preds)
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        match self.bump() {
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Literal(s) => Ok(Expr::Literal(s.into())),
            Tok::Number(n) => Ok(Expr::Number(n)),
            Tok::Name(prefix, local) => {
                let fname = match &prefix {
                    Some(p) => format!("{p}:{local}"),
                    None => local.clone(),
                };
                if let Some(p) = &prefix {
                    check_prefix(p)?;
                }
                let func = lookup(prefix.as_deref(), &local)
                    .ok_or_else(|| CompileError::UnknownFunction(fname.clone()))?;
                self.bump(); // '('
                let mut args = Vec::new();
                if !self.eat(&Tok::RParen) {
                    loop {
                        args.push(self.expr()?);
                        if self.eat(&Tok::RParen) {
                            break;
                        }
                        self.expect(Tok::Comma, "',' or ')'")?;
                    }
                }
                check_arity(func, &fname, args.len())?;
                Ok(Expr::Call(func, args))
            }
            _ => {
                self.pos = self.pos.saturating_sub(1);
                Err(self.unexpected("an expression"))
            }
        }
    }
}

/// Rewrites `descendant-or-self::node()/child::x[p]` into `descendant::x[p]` when no
/// predicate is positional (libxml2 does the same; results are identical).
fn optimize(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for s in steps {
        let collapsible = s.axis == Axis::Child && !s.positional;
        if let Some(prev) = out.last_mut() {
            if collapsible
                && prev.axis == Axis::DescendantOrSelf
                && prev.test == NodeTest::Node
                && prev.preds.is_empty()
            {
                *prev = Step {
                    axis: Axis::Descendant,
                    ..s
                };
                continue;
            }
        }
        out.push(s);
    }
    out
}

/// The namespace prefixes an expression may use.
const PREFIXES: &[&str] = &["re", "set", "xml"];

fn check_prefix(p: &str) -> Result<(), CompileError> {
    if PREFIXES.contains(&p) {
        Ok(())
    } else {
        Err(CompileError::UnknownPrefix(p.to_string()))
    }
}
