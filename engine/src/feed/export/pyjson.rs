//! A `serde_json` formatter producing Python `json.dumps` output (`{"a": 1, "b": [1, 2]}`),
//! optionally indented and ASCII-escaped, so files match Scrapy's byte for byte.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

/// Python-style JSON formatting.
pub(super) struct PyFormatter {
    indent: Option<usize>,
    ensure_ascii: bool,
    depth: usize,
    has_value: bool,
}

impl PyFormatter {
    /// `indent`: `None` for one line, `Some(n)` (n > 0) for pretty output.
    pub(super) fn new(indent: Option<usize>, ensure_ascii: bool) -> Self {
        PyFormatter {
            indent: indent.filter(|n| *n > 0),
            ensure_ascii,
            depth: 0,
            has_value: false,
        }
    }

    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        if let Some(n) = self.indent {
            w.write_all(b"\n")?;
            for _ in 0..n * self.depth {
                w.write_all(b" ")?;
            }
        }
        Ok(())
    }

    fn begin<W: ?Sized + Write>(&mut self, w: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(open)
    }

    fn end<W: ?Sized + Write>(&mut self, w: &mut W, close: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline_indent(w)?;
        }
        self.has_value = true;
        w.write_all(close)
    }

    fn element<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline_indent(w)
    }
}

impl serde_json::ser::Formatter for PyFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.element(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.element(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        if !self.ensure_ascii || s.is_ascii() {
            return w.write_all(s.as_bytes());
        }
        let mut buf = [0u16; 2];
        for c in s.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut buf) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Writes `value` as Python-style JSON.
pub(super) fn write_json<T: Serialize + ?Sized>(
    w: &mut dyn Write,
    value: &T,
    indent: Option<usize>,
    ensure_ascii: bool,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, PyFormatter::new(indent, ensure_ascii));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// `value` as one-line Python-style JSON text.
pub(super) fn to_json_string(value: &Value) -> String {
    let mut out = Vec::new();
    write_json(&mut out, value, None, false).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}
