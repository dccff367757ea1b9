//! `extends`: a spec built on another spec or on a named template; `script_file`: a
//! script kept in its own file; `args_files`: list arguments read from CSV files
//! (points of a search grid, store ids), one row per element.
//!
//! A spec with `extends = "base"` is the base document with the spec's own keys laid
//! over it: tables merge key by key (recursively), anything else (strings, numbers,
//! lists) replaces what the base had, and `null` (JSON) removes the key; a field is
//! replaced whole (its keys are one definition), and `unset = ["dotted.key", ...]`
//! removes keys of the base (TOML has no `null`). The base is
//! looked up in the spec's [`SpecSources`] first — another spec of the same bundle
//! by spider name or by file path, or a file next to the spec for `trawl crawl` —
//! then among the [named templates](TEMPLATES) shipped with Trawl. Bases may extend
//! other bases, up to [`MAX_EXTENDS_DEPTH`] levels; a cycle is an error.
//!
//! A base meant only to be extended says `abstract = true`: it is not a spider of its
//! bundle and need not be complete on its own. Neither `abstract` nor `name` is
//! inherited.

use serde_json::{Map, Value};

use super::{limits, SpecError, SpecFormat};

/// The longest chain of `extends`.
pub const MAX_EXTENDS_DEPTH: usize = 8;

/// Named templates shipped with Trawl: spec documents for common store-finder
/// platforms, to be extended with a site's own keys (`extends = "wp_store_locator"`).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "wp_store_locator",
        include_str!("../../templates/wp_store_locator.toml"),
    ),
    (
        "structured_data",
        include_str!("../../templates/structured_data.toml"),
    ),
];

/// Where a spec's `extends` and `script_file` are looked up.
pub trait SpecSources {
    /// The text and format of the spec called `name` (a spider name or a path).
    fn spec(&self, name: &str) -> Option<(String, SpecFormat)>;
    /// The text of the file at `path` (relative to the spec).
    fn file(&self, path: &str) -> Option<String>;
}

/// No sources: only the named templates.
pub struct NoSources;

impl SpecSources for NoSources {
    fn spec(&self, _: &str) -> Option<(String, SpecFormat)> {
        None
    }
    fn file(&self, _: &str) -> Option<String> {
        None
    }
}

/// Files in a directory (for specs read from disk): `extends = "base"` reads
/// `base.toml` or `base.json` there, or a path below it (no `..`, nothing absolute).
pub struct DirSources(pub std::path::PathBuf);

impl DirSources {
    /// Only relative paths that stay below the folder (no `..`, nothing absolute):
    /// the same rule as inside a bundle.
    fn inside(path: &str) -> bool {
        let p = std::path::Path::new(path);
        !path.is_empty()
            && p.components().all(|c| {
                matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            })
    }
}

impl SpecSources for DirSources {
    fn spec(&self, name: &str) -> Option<(String, SpecFormat)> {
        if !Self::inside(name) {
            return None;
        }
        let direct = self.0.join(name);
        let candidates = [
            direct.clone(),
            self.0.join(format!("{name}.toml")),
            self.0.join(format!("{name}.json")),
        ];
        candidates.iter().find_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let format = SpecFormat::from_path(p).unwrap_or(SpecFormat::Toml);
            Some((text, format))
        })
    }
    fn file(&self, path: &str) -> Option<String> {
        if !Self::inside(path) {
            return None;
        }
        std::fs::read_to_string(self.0.join(path)).ok()
    }
}

/// Parses a spec text into its document as written, before `extends` and files are
/// resolved (checked for size and nesting).
pub fn document(text: &str, format: SpecFormat) -> Result<Value, SpecError> {
    limits::check_text(text)?;
    let value: Value = match format {
        SpecFormat::Toml => {
            let t: toml::Table = toml::from_str(text)
                .map_err(|e| SpecError::new("spec", format!("invalid TOML: {}", e.message())))?;
            serde_json::to_value(t).map_err(|e| SpecError::new("spec", e.to_string()))?
        }
        SpecFormat::Json => serde_json::from_str(text)
            .map_err(|e| SpecError::new("spec", format!("invalid JSON: {e}")))?,
    };
    limits::check_nesting(&value)?;
    Ok(value)
}

/// The spec document with its `extends` chain merged in and its `script_file` read.
pub(crate) fn resolve(doc: Value, sources: &dyn SpecSources) -> Result<Value, SpecError> {
    let mut chain = Vec::new();
    let doc = merge_bases(doc, sources, &mut chain)?;
    let doc = inline_script(doc, sources)?;
    inline_args_files(doc, sources)
}

fn merge_bases(
    mut doc: Value,
    sources: &dyn SpecSources,
    chain: &mut Vec<String>,
) -> Result<Value, SpecError> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(doc);
    };
    let Some(base) = obj.remove("extends") else {
        return Ok(doc);
    };
    let Value::String(name) = base else {
        return Err(SpecError::new(
            "extends",
            "extends takes the name of a spec or template",
        ));
    };
    if chain.contains(&name) {
        chain.push(name);
        return Err(SpecError::new(
            "extends",
            format!("extends goes round in a circle: {}", chain.join(" -> ")),
        ));
    }
    if chain.len() >= MAX_EXTENDS_DEPTH {
        return Err(SpecError::new(
            "extends",
            format!("extends chain longer than {MAX_EXTENDS_DEPTH}"),
        ));
    }
    let (text, format) = sources
        .spec(&name)
        .or_else(|| {
            TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| (t.to_string(), SpecFormat::Toml))
        })
        .ok_or_else(|| {
            let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
            SpecError::new(
                "extends",
                format!(
                    "no spec or template {name:?} (templates: {})",
                    names.join(", ")
                ),
            )
        })?;
    chain.push(name.clone());
    let base = document(&text, format)
        .and_then(|d| merge_bases(d, sources, chain))
        .map_err(|e| {
            SpecError::new("extends", format!("in {name:?}: {}: {}", e.path, e.message))
        })?;
    chain.pop();
    let mut merged = base;
    // What is abstract is the base, not its children; and a spider has its own name.
    if let Some(m) = merged.as_object_mut() {
        m.remove("abstract");
        m.remove("name");
    }
    if let Some(paths) = doc.as_object_mut().and_then(|m| m.remove("unset")) {
        unset(&mut merged, paths)?;
    }
    overlay(&mut merged, doc, &mut Vec::new());
    limits::check_nesting(&merged)?;
    Ok(merged)
}

/// Lays `top` over `base`: tables merge, `null` removes, anything else replaces. A
/// field (`callbacks.*.fields.*`) is replaced whole: its keys are one definition.
fn overlay(base: &mut Value, top: Value, path: &mut Vec<String>) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) if !is_field(path) => overlay_map(b, t, path),
        (b, t) => *b = t,
    }
}

fn is_field(path: &[String]) -> bool {
    matches!(path, [c, _, f, _] if c == "callbacks" && f == "fields")
}

fn overlay_map(base: &mut Map<String, Value>, top: Map<String, Value>, path: &mut Vec<String>) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (_, Value::Null) => {
                base.remove(&k);
            }
            (Some(b @ Value::Object(_)), v @ Value::Object(_)) => {
                path.push(k);
                overlay(b, v, path);
                path.pop();
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// `unset = ["callbacks.stores.fields.phone", "args.key"]`: keys of the base removed
/// (TOML has no `null`).
fn unset(doc: &mut Value, paths: Value) -> Result<(), SpecError> {
    let bad = || SpecError::new("unset", "unset takes a list of dotted key paths");
    let Value::Array(paths) = paths else {
        return Err(bad());
    };
    for p in paths {
        let Value::String(p) = p else {
            return Err(bad());
        };
        let mut parts: Vec<&str> = p.split('.').collect();
        let last = parts.pop().ok_or_else(bad)?;
        let mut at = Some(&mut *doc);
        for part in parts {
            at = at.and_then(|v| v.get_mut(part));
        }
        if let Some(m) = at.and_then(Value::as_object_mut) {
            m.remove(last);
        }
    }
    Ok(())
}

fn inline_script(mut doc: Value, sources: &dyn SpecSources) -> Result<Value, SpecError> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(doc);
    };
    let Some(file) = obj.remove("script_file") else {
        return Ok(doc);
    };
    let Value::String(path) = file else {
        return Err(SpecError::new(
            "script_file",
            "script_file takes a path to a script",
        ));
    };
    if obj.contains_key("script") {
        return Err(SpecError::new(
            "script_file",
            "give either script or script_file, not both",
        ));
    }
    let text = sources.file(&path).ok_or_else(|| {
        SpecError::new(
            "script_file",
            format!("no file {path:?} next to the spec (in the bundle)"),
        )
    })?;
    limits::check_text(&text).map_err(|e| SpecError::new("script_file", e.message))?;
    obj.insert("script".into(), Value::String(text));
    Ok(doc)
}

/// The most rows one `args_files` CSV gives.
pub const MAX_ARGS_FILE_ROWS: usize = 100_000;

/// `args_files = { points = "grid.csv" }`: the argument `points` becomes the list of
/// the file's rows, each an object keyed by the CSV header (`{points.lat}`).
fn inline_args_files(mut doc: Value, sources: &dyn SpecSources) -> Result<Value, SpecError> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(doc);
    };
    let Some(files) = obj.remove("args_files") else {
        return Ok(doc);
    };
    let Value::Object(files) = files else {
        return Err(SpecError::new(
            "args_files",
            "args_files maps argument names to CSV files",
        ));
    };
    let mut args = match obj.remove("args") {
        Some(Value::Object(a)) => a,
        None => Map::new(),
        Some(_) => return Err(SpecError::new("args", "args must be a table")),
    };
    for (name, path) in files {
        let at = format!("args_files.{name}");
        let Value::String(path) = path else {
            return Err(SpecError::new(at, "give the path of a CSV file"));
        };
        let text = sources.file(&path).ok_or_else(|| {
            SpecError::new(
                &at,
                format!("no file {path:?} next to the spec (in the bundle)"),
            )
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| SpecError::new(&at, format!("{path}: {e}")))?
            .clone();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| SpecError::new(&at, format!("{path}: {e}")))?;
            if rows.len() == MAX_ARGS_FILE_ROWS {
                return Err(SpecError::new(
                    &at,
                    format!("{path}: more than {MAX_ARGS_FILE_ROWS} rows"),
                ));
            }
            let row: Map<String, Value> = header
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.trim().to_string(), Value::String(v.trim().to_string())))
                .collect();
            rows.push(Value::Object(row));
        }
        args.insert(name, Value::Array(rows));
    }
    obj.insert("args".into(), Value::Object(args));
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    struct Map2(HashMap<&'static str, &'static str>);

    impl SpecSources for Map2 {
        fn spec(&self, name: &str) -> Option<(String, SpecFormat)> {
            self.0.get(name).map(|t| (t.to_string(), SpecFormat::Toml))
        }
        fn file(&self, path: &str) -> Option<String> {
            self.0.get(path).map(|t| t.to_string())
        }
    }

    fn sources() -> Map2 {
        Map2(HashMap::from([
            (
                "base",
                "abstract = true\nallowed_domains = [\"a\"]\n[args]\nsite = \"x\"\nkey = \"k\"\n\
                 [callbacks.stores.fields]\nname = { jmespath = \"name\" }\ncity = { jmespath = \"city\" }\n",
            ),
            ("mid", "extends = \"base\"\n[args]\nkey = \"mid\"\n"),
            ("loop1", "extends = \"loop2\""),
            ("loop2", "extends = \"loop1\""),
            ("parse.rhai", "fn parse(r) { [] }"),
            ("grid.csv", "lat,lon\n51.5, -0.12\n53.8,-1.55\n"),
            ("ragged.csv", "lat,lon\n1\n"),
        ]))
    }

    #[test]
    fn tables_merge_and_the_rest_replaces() {
        let doc = json!({
            "extends": "mid",
            "name": "child",
            "allowed_domains": ["b"],
            "args": {"site": "y"},
            "callbacks": {"stores": {"fields": {"city": null, "ref": {"jmespath": "id"}}}},
        });
        let out = resolve(doc, &sources()).unwrap();
        assert_eq!(
            out,
            json!({
                "allowed_domains": ["b"],
                "args": {"site": "y", "key": "mid"},
                "callbacks": {"stores": {"fields": {
                    "name": {"jmespath": "name"}, "ref": {"jmespath": "id"}}}},
                "name": "child",
            })
        );
    }

    #[test]
    fn fields_replace_whole_and_unset_removes() {
        let doc = json!({
            "extends": "base",
            "name": "child",
            "unset": ["callbacks.stores.fields.city", "args.key", "no.such.key"],
            "callbacks": {"stores": {"fields": {"name": {"value": "Acme"}}}},
        });
        let out = resolve(doc, &sources()).unwrap();
        assert_eq!(
            out["callbacks"]["stores"]["fields"],
            json!({"name": {"value": "Acme"}})
        );
        assert_eq!(out["args"], json!({"site": "x"}));
    }

    #[test]
    fn cycles_unknown_bases_and_scripts() {
        let e = resolve(json!({"extends": "loop1"}), &sources()).unwrap_err();
        assert!(e.message.contains("circle"), "{e}");
        let e = resolve(json!({"extends": "nope"}), &sources()).unwrap_err();
        assert!(e.message.contains("no spec or template \"nope\""), "{e}");
        assert_eq!(e.path, "extends");
        let out = resolve(json!({"script_file": "parse.rhai"}), &sources()).unwrap();
        assert_eq!(out["script"], "fn parse(r) { [] }");
        let e = resolve(json!({"script_file": "x.rhai"}), &sources()).unwrap_err();
        assert_eq!(e.path, "script_file");
        let out = resolve(
            json!({"args": {"key": "k"}, "args_files": {"points": "grid.csv"}}),
            &sources(),
        )
        .unwrap();
        assert_eq!(
            out["args"],
            json!({"key": "k", "points": [{"lat": "51.5", "lon": "-0.12"}, {"lat": "53.8", "lon": "-1.55"}]})
        );
        let e = resolve(json!({"args_files": {"p": "ragged.csv"}}), &sources()).unwrap_err();
        assert_eq!(e.path, "args_files.p");
        let e = resolve(json!({"args_files": {"p": "none.csv"}}), &sources()).unwrap_err();
        assert!(e.message.contains("no file"), "{e}");
    }

    #[test]
    fn dir_sources_stay_below_their_folder() {
        let root = tempfile::tempdir().unwrap();
        let specs = root.path().join("specs");
        std::fs::create_dir_all(specs.join("bases")).unwrap();
        std::fs::write(root.path().join("secret.toml"), "name = \"x\"").unwrap();
        std::fs::write(specs.join("bases/b.toml"), "abstract = true").unwrap();
        let src = DirSources(specs.clone());
        assert!(src.spec("bases/b").is_some());
        assert!(src.spec("../secret").is_none());
        assert!(src.file("../secret.toml").is_none());
        let abs = root.path().join("secret.toml");
        assert!(src.file(abs.to_str().unwrap()).is_none());
    }

    #[test]
    fn templates_parse() {
        for (name, text) in TEMPLATES {
            let doc = document(text, SpecFormat::Toml).unwrap();
            assert_eq!(doc["abstract"], true, "{name}");
        }
    }
}
