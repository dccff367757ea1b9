//! JSON lines and JSON array exporters.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::pyjson::write_json;
use super::{selected, ExportOptions, FeedExporter};
use crate::Item;

/// The selected fields of an item, serialised as an object without copying it.
struct Selected<'a>(&'a Item, &'a Option<Vec<(String, String)>>);

impl Serialize for Selected<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.1.is_none() {
            return self.0.serialize(s);
        }
        let mut map = s.serialize_map(None)?;
        for (k, v) in selected(self.0, self.1) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One JSON object per line (`{"a": 1, "b": "x"}\n`).
pub struct JsonLinesExporter {
    options: ExportOptions,
}

impl JsonLinesExporter {
    /// A JSON lines exporter (`indent` is ignored: one item per line).
    pub fn new(options: ExportOptions) -> Self {
        JsonLinesExporter { options }
    }
}

impl FeedExporter for JsonLinesExporter {
    fn start(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn export_item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()> {
        let value = Selected(item, &self.options.fields);
        write_json(w, &value, None, self.options.ensure_ascii)?;
        w.write_all(b"\n")
    }

    fn finish(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

/// A JSON array of objects; `finish` closes it, so an empty feed is `[]`.
pub struct JsonExporter {
    options: ExportOptions,
    count: u64,
    buf: Vec<u8>,
}

impl JsonExporter {
    /// A JSON array exporter.
    pub fn new(options: ExportOptions) -> Self {
        JsonExporter {
            options,
            count: 0,
            buf: Vec::with_capacity(1024),
        }
    }
}

impl FeedExporter for JsonExporter {
    fn start(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"[")
    }

    fn export_item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()> {
        // Serialise first so a failing item does not leave a dangling comma.
        self.buf.clear();
        let value = Selected(item, &self.options.fields);
        write_json(
            &mut self.buf,
            &value,
            self.options.indent,
            self.options.ensure_ascii,
        )?;
        let sep: &[u8] = match (self.count, self.options.indent) {
            (0, None) => b"",
            (0, Some(_)) => b"\n",
            (_, None) => b",",
            (_, Some(_)) => b",\n",
        };
        w.write_all(sep)?;
        w.write_all(&self.buf)?;
        self.count += 1;
        Ok(())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "count": self.count })
    }

    fn restore(&mut self, state: &serde_json::Value) {
        self.count = state
            .get("count")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
    }

    fn finish(&mut self, w: &mut dyn Write) -> io::Result<()> {
        if self.count > 0 && self.options.indent.is_some() {
            w.write_all(b"\n")?;
        }
        w.write_all(b"]")
    }
}
