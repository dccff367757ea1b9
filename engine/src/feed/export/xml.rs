//! XML exporter in Scrapy's shape: `<items><item><field>…</field></item></items>`.

use std::io::{self, Write};

use serde_json::Value;

use super::{scalar_text, selected, ExportOptions, FeedExporter};
use crate::Item;

/// Scrapy's `XmlItemExporter`: lists become `<value>` children, objects nested elements;
/// text is escaped and field names are sanitised into valid XML names.
pub struct XmlExporter {
    options: ExportOptions,
    buf: Vec<u8>,
}

impl XmlExporter {
    /// An XML exporter.
    pub fn new(options: ExportOptions) -> Self {
        XmlExporter {
            options,
            buf: Vec::with_capacity(1024),
        }
    }

    fn newline(&mut self, new_item: bool) {
        if let Some(n) = self.options.indent {
            if n > 0 || new_item {
                self.buf.push(b'\n');
            }
        }
    }

    fn indent(&mut self, depth: usize) {
        let n = self.options.indent.unwrap_or(0) * depth;
        let len = self.buf.len();
        self.buf.resize(len + n, b' ');
    }

    fn field(&mut self, name: &str, value: &Value, depth: usize) {
        self.indent(depth);
        let tag = xml_name(name);
        self.buf.push(b'<');
        self.buf.extend_from_slice(tag.as_bytes());
        self.buf.push(b'>');
        match value {
            Value::Object(m) => {
                self.newline(false);
                for (k, v) in m {
                    self.field(k, v, depth + 1);
                }
                self.indent(depth);
            }
            Value::Array(a) => {
                self.newline(false);
                for v in a {
                    self.field("value", v, depth + 1);
                }
                self.indent(depth);
            }
            scalar => {
                let text = scalar_text(scalar).unwrap_or_default();
                escape_text(&text, &mut self.buf);
            }
        }
        self.buf.extend_from_slice(b"</");
        self.buf.extend_from_slice(tag.as_bytes());
        self.buf.push(b'>');
        self.newline(false);
    }
}

impl FeedExporter for XmlExporter {
    fn start(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<items>")?;
        if self.options.indent.is_some() {
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    fn export_item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        self.indent(1);
        self.buf.extend_from_slice(b"<item>");
        self.newline(false);
        let fields = self.options.fields.take();
        for (name, value) in selected(item, &fields) {
            self.field(name, value, 2);
        }
        self.options.fields = fields;
        self.indent(1);
        self.buf.extend_from_slice(b"</item>");
        self.newline(true);
        w.write_all(&self.buf)
    }

    fn finish(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"</items>")
    }
}

/// `name` as a valid XML element name: invalid characters become `_`, and a name that
/// cannot start an element (digit, `-`, `.`, empty) gets a `_` prefix.
pub fn xml_name(name: &str) -> std::borrow::Cow<'_, str> {
    let start_ok = |c: char| c == '_' || c.is_alphabetic();
    let char_ok = |c: char| start_ok(c) || c.is_alphanumeric() || c == '-' || c == '.';
    match name.chars().next() {
        Some(c) if start_ok(c) && name.chars().all(char_ok) => std::borrow::Cow::Borrowed(name),
        first => {
            let mut out = String::with_capacity(name.len() + 1);
            if !first.is_some_and(start_ok) {
                out.push('_');
            }
            out.extend(name.chars().map(|c| if char_ok(c) { c } else { '_' }));
            std::borrow::Cow::Owned(out)
        }
    }
}

/// Appends `text` with `&`, `<`, `>` escaped and characters XML 1.0 forbids dropped.
fn escape_text(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\t' | '\n' | '\r' => out.push(c as u8),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}
