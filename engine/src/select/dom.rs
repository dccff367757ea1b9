//! The document tree every selector runs on: one arena of nodes per page.
//!
//! The tree is built by a streaming parser that only ever appends to the element open
//! at the time (libxml2's HTML parser never moves nodes), so node ids are in document
//! order and the descendants of a node are exactly the ids after it up to its
//! [`Node::subtree_end`]. Document-order sorting is a sort by id, and "is an ancestor
//! of" is a range check.

/// A node of a [`Document`]; ids grow in document order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u32);

impl NodeId {
    /// The document node.
    pub const ROOT: NodeId = NodeId(0);

    /// The id's position in the arena.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An attribute of an element (names lowercased by the parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its name.
    pub name: Box<str>,
    /// Its value, entities decoded.
    pub value: Box<str>,
}

/// An element: its lowercased name and attributes in source order (first one wins on
/// duplicates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The tag name, lowercased.
    pub name: Box<str>,
    /// The attributes in source order.
    pub attrs: Vec<Attribute>,
}

impl Element {
    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| &*a.name == name)
            .map(|a| &*a.value)
    }
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeData {
    /// The document node (the root).
    Document,
    /// An element.
    Element(Element),
    /// Character data; adjacent text is always merged into one node.
    Text(String),
    /// A comment.
    Comment(String),
    /// A processing instruction (`<?target data>`).
    ProcessingInstruction {
        /// The target.
        target: Box<str>,
        /// The rest.
        data: Box<str>,
    },
}

/// A node with its links.
#[derive(Debug, Clone)]
pub struct Node {
    /// The parent (None for the document node).
    pub parent: Option<NodeId>,
    /// The first child.
    pub first_child: Option<NodeId>,
    /// The last child.
    pub last_child: Option<NodeId>,
    /// The previous sibling.
    pub prev_sibling: Option<NodeId>,
    /// The next sibling.
    pub next_sibling: Option<NodeId>,
    /// One past the last descendant's id (the node's own id + 1 when it has none).
    pub subtree_end: u32,
    /// What the node is.
    pub data: NodeData,
}

impl Node {
    /// The element, when this node is one.
    pub fn element(&self) -> Option<&Element> {
        match &self.data {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The text, when this node is a text node.
    pub fn text(&self) -> Option<&str> {
        match &self.data {
            NodeData::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A parsed document: an arena of nodes, the document node first.
#[derive(Debug, Clone)]
pub struct Document {
    nodes: Vec<Node>,
    /// Attributes written without a value (`<div hidden>`), as (element, attribute
    /// index), sorted.
    valueless: Vec<(NodeId, u32)>,
}

impl Default for Document {
    fn default() -> Self {
        Document::new()
    }
}

impl Document {
    /// An empty document (only the document node).
    pub fn new() -> Document {
        Document {
            nodes: vec![Node {
                parent: None,
                first_child: None,
                last_child: None,
                prev_sibling: None,
                next_sibling: None,
                subtree_end: 1,
                data: NodeData::Document,
            }],
            valueless: Vec::new(),
        }
    }

    /// The document node.
    pub fn root(&self) -> NodeId {
        NodeId::ROOT
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// How many nodes the document holds (the document node included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the document holds only its document node.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    /// The element `id`, when it is one.
    pub fn element(&self, id: NodeId) -> Option<&Element> {
        self.node(id).element()
    }

    /// Appends a new last child to `parent`. Appending to a node other than the most
    /// recently opened one breaks the document-order invariant: the parser appends
    /// only to the element open at the time. [`Document::finish`] must run before the
    /// descendant ranges are used.
    pub(crate) fn append(&mut self, parent: NodeId, data: NodeData) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).expect("documents hold < 2^32 nodes"));
        let prev = self.nodes[parent.index()].last_child;
        self.nodes.push(Node {
            parent: Some(parent),
            first_child: None,
            last_child: None,
            prev_sibling: prev,
            next_sibling: None,
            subtree_end: id.0 + 1,
            data,
        });
        if let Some(p) = prev {
            self.nodes[p.index()].next_sibling = Some(id);
        } else {
            self.nodes[parent.index()].first_child = Some(id);
        }
        self.nodes[parent.index()].last_child = Some(id);
        id
    }

    /// Sets every node's [`Node::subtree_end`] in one backward pass (each node's
    /// subtree ends where its last descendant's does). The builder calls it once the
    /// tree is complete; appending does not walk up the ancestors, so building stays
    /// linear however deep the tree.
    pub(crate) fn finish(&mut self) {
        for i in (1..self.nodes.len()).rev() {
            let end = self.nodes[i].subtree_end;
            if let Some(p) = self.nodes[i].parent {
                let parent = &mut self.nodes[p.index()];
                parent.subtree_end = parent.subtree_end.max(end);
            }
        }
    }

    /// Appends text to `parent`, merged into its last child when that is text.
    pub(crate) fn append_text(&mut self, parent: NodeId, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(last) = self.nodes[parent.index()].last_child {
            if let NodeData::Text(t) = &mut self.nodes[last.index()].data {
                t.push_str(text);
                return;
            }
        }
        self.append(parent, NodeData::Text(text.to_string()));
    }

    /// Records that attribute `index` of element `id` was written without a value
    /// (`<div hidden>`, serialized so); marks come in document order.
    pub(crate) fn mark_valueless(&mut self, id: NodeId, index: usize) {
        let key = (id, u32::try_from(index).unwrap_or(u32::MAX));
        if self.valueless.last().is_none_or(|&last| last < key) {
            self.valueless.push(key);
        }
    }

    /// Whether attribute `index` of element `id` was written without a value.
    pub fn is_valueless(&self, id: NodeId, index: usize) -> bool {
        u32::try_from(index).is_ok_and(|i| self.valueless.binary_search(&(id, i)).is_ok())
    }

    /// The children of `id`, in order.
    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children {
            doc: self,
            next: self.node(id).first_child,
        }
    }

    /// The descendants of `id` in document order (not `id` itself).
    pub fn descendants(
        &self,
        id: NodeId,
    ) -> impl DoubleEndedIterator<Item = NodeId> + ExactSizeIterator {
        (id.0 + 1..self.node(id).subtree_end).map(NodeId)
    }

    /// Whether `anc` is a proper ancestor of `id`.
    pub fn is_ancestor(&self, anc: NodeId, id: NodeId) -> bool {
        anc.0 < id.0 && id.0 < self.node(anc).subtree_end
    }

    /// The ancestors of `id`, nearest first (the document node last).
    pub fn ancestors(&self, id: NodeId) -> Ancestors<'_> {
        Ancestors {
            doc: self,
            next: self.node(id).parent,
        }
    }

    /// The string-value of `id`: its text, or the text of all its descendant text nodes.
    pub fn text_content(&self, id: NodeId) -> String {
        let mut out = String::new();
        self.push_text_content(id, &mut out);
        out
    }

    /// Appends the string-value of `id` to `out`.
    pub fn push_text_content(&self, id: NodeId, out: &mut String) {
        match &self.node(id).data {
            NodeData::Text(t) | NodeData::Comment(t) => out.push_str(t),
            NodeData::ProcessingInstruction { data, .. } => out.push_str(data),
            NodeData::Document | NodeData::Element(_) => {
                for d in self.descendants(id) {
                    if let NodeData::Text(t) = &self.node(d).data {
                        out.push_str(t);
                    }
                }
            }
        }
    }

    /// The elements of the document in document order.
    pub fn elements(&self) -> impl Iterator<Item = (NodeId, &Element)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.element().map(|e| (NodeId(i as u32), e)))
    }
}

/// Iterator over a node's children.
pub struct Children<'d> {
    doc: &'d Document,
    next: Option<NodeId>,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let id = self.next?;
        self.next = self.doc.node(id).next_sibling;
        Some(id)
    }
}

/// Iterator over a node's ancestors, nearest first.
pub struct Ancestors<'d> {
    doc: &'d Document,
    next: Option<NodeId>,
}

impl Iterator for Ancestors<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let id = self.next?;
        self.next = self.doc.node(id).parent;
        Some(id)
    }
}
