//! The compiled form of an expression. Operator chains are flat so that the tree depth
//! stays bounded by the parser's nesting limit.

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// An axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    Ancestor,
    AncestorOrSelf,
    Attribute,
    Child,
    Descendant,
    DescendantOrSelf,
    Following,
    FollowingSibling,
    Namespace,
    Parent,
    Preceding,
    PrecedingSibling,
    SelfNode,
}

impl Axis {
    /// The axis called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "attribute" => Axis::Attribute,
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "following" => Axis::Following,
            "following-sibling" => Axis::FollowingSibling,
            "namespace" => Axis::Namespace,
            "parent" => Axis::Parent,
            "preceding" => Axis::Preceding,
            "preceding-sibling" => Axis::PrecedingSibling,
            "self" => Axis::SelfNode,
            _ => return None,
        })
    }

    /// Whether proximity positions count backwards on this axis.
    pub(crate) fn is_reverse(self) -> bool {
        matches!(
            self,
            Axis::Ancestor | Axis::AncestorOrSelf | Axis::Preceding | Axis::PrecedingSibling
        )
    }
}

/// A node test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeTest {
    /// A name without prefix.
    Name(Box<str>),
    /// A prefixed name or `prefix:*`: HTML nodes have no namespace, so it never matches.
    Never,
    /// `*`: the axis' principal node type.
    Any,
    Text,
    Comment,
    Node,
    /// `processing-instruction(target?)`.
    Pi(Option<Box<str>>),
}

/// A location step.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub axis: Axis,
    pub test: NodeTest,
    pub preds: Vec<Expr>,
    /// Whether some predicate depends on position or size (or may be a number).
    pub positional: bool,
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Last,
    Position,
    Count,
    Id,
    LocalName,
    NamespaceUri,
    Name,
    String,
    Concat,
    StartsWith,
    Contains,
    SubstringBefore,
    SubstringAfter,
    Substring,
    StringLength,
    NormalizeSpace,
    Translate,
    Boolean,
    Not,
    True,
    False,
    Lang,
    Number,
    Sum,
    Floor,
    Ceiling,
    Round,
    HasClass,
    ReTest,
    ReMatch,
    ReReplace,
    SetDifference,
    SetIntersection,
    SetDistinct,
    SetHasSameNode,
    SetLeading,
    SetTrailing,
}

/// An expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    /// A left-associative chain: `first op1 e1 op2 e2 ...`.
    Chain(Box<Expr>, Vec<(BinOp, Expr)>),
    /// Unary minus applied `n` times.
    Neg(u32, Box<Expr>),
    Union(Vec<Expr>),
    Literal(Box<str>),
    Number(f64),
    Call(Func, Vec<Expr>),
    /// A location path; absolute ones start at the root.
    Path {
        absolute: bool,
        steps: Vec<Step>,
    },
    /// A filter expression: a primary with predicates, then optional steps.
    Filter {
        primary: Box<Expr>,
        preds: Vec<Expr>,
        steps: Vec<Step>,
    },
}

impl Expr {
    /// Whether the value of this predicate may depend on the proximity position or size:
    /// it may be a number, or calls `position()` / `last()` outside nested steps.
    pub(crate) fn is_positional(&self) -> bool {
        match self {
            Expr::Or(_) | Expr::And(_) => self.uses_position(),
            Expr::Chain(_, ops) => {
                matches!(
                    ops.last().map(|o| o.0),
                    Some(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod)
                ) || self.uses_position()
            }
            Expr::Neg(..) | Expr::Number(_) => true,
            Expr::Literal(_) | Expr::Path { .. } => false,
            Expr::Union(_) => self.uses_position(),
            Expr::Filter { .. } => true,
            Expr::Call(f, _) => {
                matches!(
                    f,
                    Func::Last
                        | Func::Position
                        | Func::Count
                        | Func::Number
                        | Func::Sum
                        | Func::Floor
                        | Func::Ceiling
                        | Func::Round
                        | Func::StringLength
                ) || self.uses_position()
            }
        }
    }

    /// Whether `position()` or `last()` is called at this context level.
    fn uses_position(&self) -> bool {
        match self {
            Expr::Or(v) | Expr::And(v) | Expr::Union(v) => v.iter().any(Expr::uses_position),
            Expr::Chain(a, ops) => a.uses_position() || ops.iter().any(|(_, e)| e.uses_position()),
            Expr::Neg(_, e) => e.uses_position(),
            Expr::Call(Func::Last | Func::Position, _) => true,
            Expr::Call(_, args) => args.iter().any(Expr::uses_position),
            Expr::Filter { primary, .. } => primary.uses_position(),
            Expr::Literal(_) | Expr::Number(_) | Expr::Path { .. } => false,
        }
    }

    /// Whether evaluating this needs the context node (a relative path or a function
    /// defaulting to it).
    pub(crate) fn uses_context_node(&self) -> bool {
        match self {
            Expr::Or(v) | Expr::And(v) | Expr::Union(v) => v.iter().any(Expr::uses_context_node),
            Expr::Chain(a, ops) => {
                a.uses_context_node() || ops.iter().any(|(_, e)| e.uses_context_node())
            }
            Expr::Neg(_, e) => e.uses_context_node(),
            Expr::Call(f, args) => {
                (args.is_empty()
                    && matches!(
                        f,
                        Func::LocalName
                            | Func::NamespaceUri
                            | Func::Name
                            | Func::String
                            | Func::StringLength
                            | Func::NormalizeSpace
                            | Func::Number
                    ))
                    || matches!(f, Func::Lang | Func::HasClass)
                    || args.iter().any(Expr::uses_context_node)
            }
            Expr::Filter { primary, .. } => primary.uses_context_node(),
            Expr::Path { absolute, .. } => !absolute,
            Expr::Literal(_) | Expr::Number(_) => false,
        }
    }
}
