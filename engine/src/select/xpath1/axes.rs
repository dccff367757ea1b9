//! Axis traversal and node tests.

use super::ast::{Axis, NodeTest};
use super::dom::{Document, NodeData, NodeId};
use super::{EvalError, XNode, WORK_BUDGET};

/// Counts work against a limit: [`WORK_BUDGET`] per evaluation, less when the page's
/// own budget has less left.
pub(crate) struct Budget {
    pub(crate) used: u64,
    limit: u64,
}

impl Budget {
    pub(crate) fn new() -> Budget {
        Budget::with_limit(WORK_BUDGET)
    }

    /// A budget of at most `limit` units.
    pub(crate) fn with_limit(limit: u64) -> Budget {
        Budget {
            used: 0,
            limit: limit.min(WORK_BUDGET),
        }
    }

    /// Spends `n` units.
    pub(crate) fn spend(&mut self, n: u64) -> Result<(), EvalError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.limit {
            Err(EvalError::Budget)
        } else {
            Ok(())
        }
    }
}

/// Whether tree node `id` passes `test` on a non-attribute axis.
#[inline]
pub(crate) fn matches(doc: &Document, id: NodeId, test: &NodeTest) -> bool {
    let data = &doc.node(id).data;
    match test {
        NodeTest::Node => true,
        NodeTest::Name(n) => matches!(data, NodeData::Element(e) if *e.name == **n),
        NodeTest::Any => matches!(data, NodeData::Element(_)),
        NodeTest::Text => matches!(data, NodeData::Text(_)),
        NodeTest::Comment => matches!(data, NodeData::Comment(_)),
        NodeTest::Pi(t) => match data {
            NodeData::ProcessingInstruction { target, .. } => {
                t.as_ref().is_none_or(|t| t == target)
            }
            _ => false,
        },
        NodeTest::Never => false,
    }
}

/// Appends the nodes of `axis` from `ctx` that pass `test`, in axis order (reverse
/// axes nearest first).
pub(crate) fn collect(
    doc: &Document,
    ctx: XNode,
    axis: Axis,
    test: &NodeTest,
    out: &mut Vec<XNode>,
    budget: &mut Budget,
) -> Result<(), EvalError> {
    let mut visited: u64 = 0;
    let mut push = |id: NodeId, out: &mut Vec<XNode>| {
        visited += 1;
        if matches(doc, id, test) {
            out.push(XNode::Node(id));
        }
    };
    let node = match ctx {
        XNode::Node(n) => n,
        XNode::Attr(el, _) => {
            // Attributes have no children, siblings or attributes; following and
            // preceding start from their element (as libxml2 does).
            match axis {
                Axis::SelfNode | Axis::DescendantOrSelf => {
                    if matches!(test, NodeTest::Node) {
                        out.push(ctx);
                    }
                }
                Axis::Parent => push(el, out),
                Axis::Ancestor | Axis::AncestorOrSelf => {
                    if axis == Axis::AncestorOrSelf && matches!(test, NodeTest::Node) {
                        out.push(ctx);
                    }
                    push(el, out);
                    for a in doc.ancestors(el) {
                        push(a, out);
                    }
                }
                Axis::Following => following(doc, el, &mut push, out),
                Axis::Preceding => preceding(doc, el, &mut push, out),
                _ => {}
            }
            return budget.spend(visited + 1);
        }
    };
    match axis {
        Axis::Child => {
            for c in doc.children(node) {
                push(c, out);
            }
        }
        Axis::Descendant => {
            for d in doc.descendants(node) {
                push(d, out);
            }
        }
        Axis::DescendantOrSelf => {
            push(node, out);
            for d in doc.descendants(node) {
                push(d, out);
            }
        }
        Axis::SelfNode => push(node, out),
        Axis::Parent => {
            if let Some(p) = doc.node(node).parent {
                push(p, out);
            }
        }
        Axis::Ancestor | Axis::AncestorOrSelf => {
            if axis == Axis::AncestorOrSelf {
                push(node, out);
            }
            for a in doc.ancestors(node) {
                push(a, out);
            }
        }
        Axis::FollowingSibling => {
            let mut s = doc.node(node).next_sibling;
            while let Some(id) = s {
                push(id, out);
                s = doc.node(id).next_sibling;
            }
        }
        Axis::PrecedingSibling => {
            let mut s = doc.node(node).prev_sibling;
            while let Some(id) = s {
                push(id, out);
                s = doc.node(id).prev_sibling;
            }
        }
        Axis::Following => following(doc, node, &mut push, out),
        Axis::Preceding => preceding(doc, node, &mut push, out),
        Axis::Attribute => {
            if let Some(e) = doc.element(node) {
                for (i, a) in e.attrs.iter().enumerate() {
                    visited += 1;
                    let ok = match test {
                        NodeTest::Node | NodeTest::Any => true,
                        NodeTest::Name(n) => *a.name == **n,
                        _ => false,
                    };
                    if ok {
                        out.push(XNode::Attr(node, i as u32));
                    }
                }
            }
        }
        Axis::Namespace => {}
    }
    budget.spend(visited + 1)
}

/// The following axis of `node` in document order: ids are in document order and a
/// subtree is an id range, so it is every node after `node`'s subtree.
fn following(
    doc: &Document,
    node: NodeId,
    push: &mut impl FnMut(NodeId, &mut Vec<XNode>),
    out: &mut Vec<XNode>,
) {
    let end = doc.node(node).subtree_end as usize;
    for id in doc.descendants(NodeId::ROOT).skip(end.saturating_sub(1)) {
        push(id, out);
    }
}

/// The preceding axis of `node` in reverse document order: the nodes before it that
/// are not its ancestors.
fn preceding(
    doc: &Document,
    node: NodeId,
    push: &mut impl FnMut(NodeId, &mut Vec<XNode>),
    out: &mut Vec<XNode>,
) {
    let before = node.index().saturating_sub(1);
    for id in doc.descendants(NodeId::ROOT).take(before).rev() {
        if !doc.is_ancestor(id, node) {
            push(id, out);
        }
    }
}
