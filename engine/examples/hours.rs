//! Reads opening hours, one JSON object per line on stdin (`{"input": <text or JSON>,
//! "lang": "de"}`), and prints one JSON object per line: `{"output": "<OSM
//! opening_hours>"}` or `{"output": null}` (for tests/hours/fidelity.py).

use std::io::{BufRead, Write};

use serde_json::{json, Value};
use trawl_engine::spec::hours::{self, HoursOptions};

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let req: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let lang = req.get("lang").cloned().unwrap_or(json!("en"));
        let options = HoursOptions::compile("hours", &json!({ "days": lang }))
            .ok()
            .flatten()
            .unwrap_or_default();
        let output = match req.get("input") {
            Some(Value::String(s)) => hours::from_texts(std::slice::from_ref(s), &options),
            Some(v) => hours::from_json(v, &options),
            None => None,
        };
        writeln!(out, "{}", json!({ "output": output })).expect("stdout");
    }
}
