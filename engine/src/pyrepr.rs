//! Python `repr`/`pprint` of JSON values, so a job log reads like Scrapy's: the
//! `Dumping Scrapy stats:` block is `pprint.pformat(stats)` (keys sorted, one
//! `'key': value` per line, timestamps as `datetime.datetime(...)`), and the item after
//! `Scraped from <200 ...>` is the item's `repr`. LogParser parses both.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// `pprint.pformat`'s default line width.
const WIDTH: usize = 80;

/// `pprint.pformat(d)` of a stats dict: keys sorted; on one line when it fits in 80
/// columns, else one `'key': value` per line. Strings that are Trawl's UTC timestamps
/// (`2026-01-02T03:04:05.123456Z`) print as Scrapy's
/// `datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)`.
pub fn pformat_stats(stats: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = stats.keys().collect();
    keys.sort();
    let entries: Vec<String> = keys
        .iter()
        .map(|k| {
            let mut s = String::new();
            write_str(&mut s, k);
            s.push_str(": ");
            write_stat(&mut s, &stats[k.as_str()]);
            s
        })
        .collect();
    let one_line = format!("{{{}}}", entries.join(", "));
    if one_line.len() <= WIDTH {
        one_line
    } else {
        format!("{{{}}}", entries.join(",\n "))
    }
}

/// Python `repr` of a JSON value as a dict: `{'a': 1, 'b': [True, None]}`.
pub fn repr(value: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, value);
    s
}

/// Displays a JSON object as a Python dict `repr`, formatting only when written (a
/// DEBUG line that no log keeps costs nothing).
pub struct DictRepr<'a>(pub &'a Map<String, Value>);

impl std::fmt::Display for DictRepr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        write_object(&mut s, self.0);
        f.write_str(&s)
    }
}

fn write_stat(out: &mut String, v: &Value) {
    match v.as_str().and_then(datetime_repr) {
        Some(dt) => out.push_str(&dt),
        None => write_value(out, v),
    }
}

/// `datetime.datetime(...)` (Scrapy's repr) for an RFC 3339 UTC timestamp string.
pub fn datetime_repr(s: &str) -> Option<String> {
    use chrono::{Datelike, Timelike};
    if !(s.len() >= 20 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T')) {
        return None;
    }
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let us = t.nanosecond() / 1000;
    let mut r = format!(
        "datetime.datetime({}, {}, {}, {}, {}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    );
    if t.second() != 0 || us != 0 {
        let _ = write!(r, ", {}", t.second());
    }
    if us != 0 {
        let _ = write!(r, ", {us}");
    }
    r.push_str(", tzinfo=datetime.timezone.utc)");
    Some(r)
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                write_float(out, f);
            } else {
                let _ = write!(out, "{n}");
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => write_object(out, m),
    }
}

fn write_object(out: &mut String, m: &Map<String, Value>) {
    out.push('{');
    for (i, (k, x)) in m.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(out, k);
        out.push_str(": ");
        write_value(out, x);
    }
    out.push('}');
}

/// Python's float repr: `1.0`, `0.25`, `1e-07`, `inf`.
fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
    } else if f != 0.0 && (f.abs() >= 1e16 || f.abs() < 1e-4) {
        // Python switches to exponent notation here, with at least two exponent digits.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("+", exp),
        };
        let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    } else {
        let _ = write!(out, "{f:?}");
    }
}

/// Python's str repr: single quotes unless the text has `'` and no `"`.
fn write_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_dicts_fit_on_one_line_and_long_ones_wrap_sorted() {
        let m = json!({"b": 1, "a": "x"}).as_object().unwrap().clone();
        assert_eq!(pformat_stats(&m), "{'a': 'x', 'b': 1}");
        let m = json!({
            "finish_reason": "finished",
            "start_time": "2026-01-02T03:04:05.123456Z",
            "elapsed_time_seconds": 1.5,
            "downloader/response_status_count/200": 7,
        })
        .as_object()
        .unwrap()
        .clone();
        assert_eq!(
            pformat_stats(&m),
            "{'downloader/response_status_count/200': 7,\n 'elapsed_time_seconds': 1.5,\n \
             'finish_reason': 'finished',\n 'start_time': datetime.datetime(2026, 1, 2, 3, 4, 5, \
             123456, tzinfo=datetime.timezone.utc)}"
        );
    }

    #[test]
    fn values_print_as_python_reprs() {
        let v = json!({"s": "it's", "q": "a\"b'c\n", "n": null, "t": true, "l": [1, 2.0, 1e-7]});
        assert_eq!(
            repr(&v),
            r#"{'s': "it's", 'q': 'a"b\'c\n', 'n': None, 't': True, 'l': [1, 2.0, 1e-07]}"#
        );
        assert_eq!(
            datetime_repr("2026-01-02T03:04:00Z").as_deref(),
            Some("datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)")
        );
        assert_eq!(datetime_repr("2026-01-02 03:04:00"), None);
    }
}
