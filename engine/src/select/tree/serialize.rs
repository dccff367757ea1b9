//! libxml2's HTML serializer (`htmlNodeDumpFormatOutput` without formatting, as lxml's
//! `tostring(method="html")` calls it), walking the tree without recursion.

use super::super::dom::{Document, NodeData, NodeId};
use super::table;

/// The outer HTML of `id` as `lxml.etree.tostring(el, method="html",
/// encoding="unicode", with_tail=False)` gives it (what parsel's `.get()` returns for
/// an element); for the document node, the serialization of its children.
pub fn outer_html(doc: &Document, id: NodeId) -> String {
    let mut out = String::new();
    if matches!(doc.node(id).data, NodeData::Document) {
        for child in doc.children(id) {
            write_subtree(doc, child, &mut out);
        }
    } else {
        write_subtree(doc, id, &mut out);
    }
    out
}

/// Writes `root` and its descendants.
fn write_subtree(doc: &Document, root: NodeId, out: &mut String) {
    let mut cur = root;
    loop {
        if open(doc, cur, out) {
            if let Some(first) = doc.node(cur).first_child {
                cur = first;
                continue;
            }
        }
        loop {
            if cur == root {
                return;
            }
            if let Some(next) = doc.node(cur).next_sibling {
                cur = next;
                break;
            }
            let Some(parent) = doc.node(cur).parent else {
                return;
            };
            cur = parent;
            if let NodeData::Element(el) = &doc.node(cur).data {
                out.push_str("</");
                out.push_str(&el.name);
                out.push('>');
            }
        }
    }
}

/// Writes node `id` up to its content; true when its children are to be written (and
/// its end tag after them).
fn open(doc: &Document, id: NodeId, out: &mut String) -> bool {
    let node = doc.node(id);
    match &node.data {
        NodeData::Element(el) => {
            out.push('<');
            out.push_str(&el.name);
            for (i, attr) in el.attrs.iter().enumerate() {
                out.push(' ');
                out.push_str(&attr.name);
                if table::is_boolean_attr(&attr.name) || doc.is_valueless(id, i) {
                    continue;
                }
                out.push('=');
                let mut value = escape_attr(&attr.value);
                if is_uri_attr(&attr.name, &el.name) {
                    value = escape_uri(value.trim_start_matches([' ', '\t', '\n', '\r']));
                }
                push_quoted(out, &value);
            }
            if table::is_empty(&el.name) {
                out.push('>');
                false
            } else if node.first_child.is_none() {
                if table::saves_end_tag(&el.name) {
                    out.push('>');
                } else {
                    out.push_str("></");
                    out.push_str(&el.name);
                    out.push('>');
                }
                false
            } else {
                out.push('>');
                true
            }
        }
        NodeData::Text(text) => {
            let raw = node.parent.and_then(|p| doc.element(p)).is_some_and(|p| {
                p.name.eq_ignore_ascii_case("script") || p.name.eq_ignore_ascii_case("style")
            });
            if raw {
                out.push_str(text);
            } else {
                escape_text(text, out);
            }
            false
        }
        NodeData::Comment(text) => {
            out.push_str("<!--");
            out.push_str(text);
            out.push_str("-->");
            false
        }
        NodeData::ProcessingInstruction { target, data } => {
            out.push_str("<?");
            out.push_str(target);
            if !data.is_empty() {
                out.push(' ');
                out.push_str(data);
            }
            out.push('>');
            false
        }
        NodeData::Document => true,
    }
}

/// Attributes whose values libxml2 writes URI-escaped.
fn is_uri_attr(name: &str, element: &str) -> bool {
    ["href", "action", "src"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
        || (name.eq_ignore_ascii_case("name") && element.eq_ignore_ascii_case("a"))
}

/// Text content: `&`, `<` and `>` escaped.
fn escape_text(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            _ => "&gt;",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// An attribute value as libxml2 escapes it (`xmlEscapeText` for HTML attributes):
/// `&`, `<`, `>` escaped, except `&{...}` (HTML 4 script macros) and `<!--...-->`
/// (server-side includes), which are kept.
fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    // Once a closing `}` or `-->` is not found, none is found later either: remember
    // it, so a value full of `&{` stays linear.
    let (mut no_brace, mut no_comment_end) = (false, false);
    while let Some(i) = rest.find(['&', '<', '>']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let kept = if tail.starts_with("&{") && !no_brace {
            let found = tail.find('}').map(|e| e + 1);
            no_brace = found.is_none();
            found
        } else if tail.starts_with("<!--") && !no_comment_end {
            let found = tail.find("-->").map(|e| e + 3);
            no_comment_end = found.is_none();
            found
        } else {
            None
        };
        if let Some(len) = kept {
            out.push_str(&tail[..len]);
            rest = &tail[len..];
            continue;
        }
        out.push_str(match tail.as_bytes()[0] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            _ => "&gt;",
        });
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// `xmlURIEscapeStr` with libxml2's list of kept characters: bytes that are not
/// printable ASCII (spaces, controls, non-ASCII) become `%XX`.
fn escape_uri(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b > 0x20 && b < 0x7f {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// `xmlOutputBufferWriteQuotedString`: double quotes, or single quotes around a value
/// holding only double quotes, or double quotes with `&quot;` when it holds both.
fn push_quoted(out: &mut String, value: &str) {
    if !value.contains('"') {
        out.push('"');
        out.push_str(value);
        out.push('"');
    } else if !value.contains('\'') {
        out.push('\'');
        out.push_str(value);
        out.push('\'');
    } else {
        out.push('"');
        out.push_str(&value.replace('"', "&quot;"));
        out.push('"');
    }
}
