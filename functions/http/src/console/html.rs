//! Small HTML pieces of the console: times, durations, tables and the progress chart.
//! Every text that reaches the page passes [`escape`].

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::pages::escape;

/// `YYYY-MM-DD HH:MM:SS` (UTC), or `""`.
pub(crate) fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A duration as `1h 02m 03s`, `2m 05s` or `7s`.
pub(crate) fn duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, s) => format!("{h}h {m:02}m {s:02}s"),
    }
}

/// A JSON value as text: strings as they are, anything else as JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A two-column table of `(name, value)` rows, both escaped.
pub(crate) fn kv_table(class: &str, rows: &[(String, String)]) -> String {
    let mut h = format!("<table class=\"kv {}\"><tbody>", escape(class));
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
    }
    h.push_str("</tbody></table>");
    h
}

/// A `NAME=VALUE` line per entry.
pub(crate) fn pairs_text(m: &std::collections::BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An inline SVG of pages/min and items/min over time, from LogParser's `datas` rows
/// (`[time, pages, pages/min, items, items/min]`). `None` with fewer than two rows.
pub(crate) fn chart(datas: &[Value]) -> Option<String> {
    if datas.len() < 2 {
        return None;
    }
    let series = |i: usize| -> Vec<f64> {
        datas
            .iter()
            .map(|r| r.get(i).and_then(Value::as_f64).unwrap_or(0.0))
            .collect()
    };
    let (pages, items) = (series(2), series(4));
    let max = pages.iter().chain(&items).copied().fold(1.0, f64::max);
    let (w, h, pad) = (600.0, 160.0, 30.0);
    let n = datas.len() as f64 - 1.0;
    let line = |s: &[f64]| -> String {
        s.iter()
            .enumerate()
            .map(|(i, v)| {
                let x = pad + (w - 2.0 * pad) * i as f64 / n;
                let y = h - pad - (h - 2.0 * pad) * v / max;
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let label = |i: usize| escape(&datas[i].get(0).map(value_text).unwrap_or_default());
    Some(format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"pages and items per minute\">\
         <line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/>\
         <text x=\"{pad}\" y=\"12\">{max:.0}/min</text>\
         <text x=\"{pad}\" y=\"{t}\">{first}</text>\
         <text x=\"{r}\" y=\"{t}\" text-anchor=\"end\">{last}</text>\
         <polyline class=\"pages\" points=\"{p}\"/><polyline class=\"items\" points=\"{i}\"/>\
         </svg><p class=\"legend\"><span class=\"pages\">pages/min</span> \
         <span class=\"items\">items/min</span></p>",
        b = h - pad,
        r = w - pad,
        t = h - 8.0,
        first = label(0),
        last = label(datas.len() - 1),
        p = line(&pages),
        i = line(&items),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(duration(chrono::Duration::seconds(7)), "7s");
        assert_eq!(duration(chrono::Duration::seconds(125)), "2m 05s");
        assert_eq!(duration(chrono::Duration::seconds(3723)), "1h 02m 03s");
    }

    #[test]
    fn chart_escapes_and_scales() {
        assert!(chart(&[json!(["t", 1, 2, 3, 4])]).is_none());
        let svg = chart(&[json!(["<b>", 0, 0, 0, 0]), json!(["x", 10, 60, 5, 30])]).unwrap();
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains("60/min"));
        assert!(svg.contains("points=\"30.0,130.0 570.0,30.0\""));
    }

    #[test]
    fn tables_escape() {
        let t = kv_table("s", &[("<k>".into(), "\"v\"".into())]);
        assert!(t.contains("<th>&lt;k&gt;</th><td>&quot;v&quot;</td>"));
    }
}
