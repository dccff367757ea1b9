//! CSV exporter: header once, nested values JSON-encoded, lists joined with `,`.

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::Value;

use super::pyjson::to_json_string;
use super::{scalar_text, ExportOptions, FeedExporter};
use crate::Item;

/// Scrapy's `CsvItemExporter`: the header is `fields` (or the first item's keys); later
/// unknown keys are ignored and missing ones left empty. Lines end with `\r\n`.
pub struct CsvExporter {
    fields: Option<Vec<(String, String)>>,
    row: Vec<u8>,
    header_written: bool,
}

impl CsvExporter {
    /// A CSV exporter (`indent` and `ensure_ascii` do not apply).
    pub fn new(options: ExportOptions) -> Self {
        CsvExporter {
            fields: options.fields,
            row: Vec::with_capacity(512),
            header_written: false,
        }
    }

    fn write_row<'a>(
        &mut self,
        cells: impl Iterator<Item = Cow<'a, str>>,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        self.row.clear();
        let mut n = 0;
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                self.row.push(b',');
            }
            push_field(&mut self.row, &cell);
            n = i + 1;
        }
        if n == 1 && self.row.is_empty() {
            self.row.extend_from_slice(b"\"\"");
        }
        self.row.extend_from_slice(b"\r\n");
        w.write_all(&self.row)
    }
}

/// Appends a field quoted as Python's `csv.QUOTE_MINIMAL` does: only when it holds
/// `,`, `"`, `\r` or `\n`, with quotes doubled.
fn push_field(out: &mut Vec<u8>, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push(b'"');
        for b in field.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field.as_bytes());
    }
}

/// A cell's text: scalars as Python's `str`, lists joined with `,`, objects as JSON.
fn cell(v: &Value) -> Cow<'_, str> {
    if let Some(s) = scalar_text(v) {
        return s;
    }
    match v {
        Value::Array(a) => Cow::Owned(
            a.iter()
                .map(|e| scalar_text(e).unwrap_or_else(|| Cow::Owned(to_json_string(e))))
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Cow::Owned(to_json_string(other)),
    }
}

impl FeedExporter for CsvExporter {
    fn start(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn export_item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()> {
        if self.fields.is_none() {
            self.fields = Some(item.keys().map(|k| (k.clone(), k.clone())).collect());
        }
        let fields = self.fields.take().unwrap_or_default();
        let mut res = Ok(());
        if !self.header_written {
            res = self.write_row(fields.iter().map(|(_, out)| Cow::Borrowed(out.as_str())), w);
            self.header_written = res.is_ok();
        }
        if res.is_ok() {
            let cells = fields
                .iter()
                .map(|(src, _)| item.get(src).map(cell).unwrap_or(Cow::Borrowed("")));
            res = self.write_row(cells, w);
        }
        self.fields = Some(fields);
        res
    }

    fn finish(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn state(&self) -> Value {
        serde_json::json!({ "header_written": self.header_written, "fields": self.fields })
    }

    fn restore(&mut self, state: &Value) {
        self.header_written = state
            .get("header_written")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(fields) = state
            .get("fields")
            .and_then(|f| serde_json::from_value::<Vec<(String, String)>>(f.clone()).ok())
        {
            self.fields = Some(fields);
        }
    }
}
