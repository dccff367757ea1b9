//! The specs written for the alltheplaces sample (docs/spec-coverage/specs): every
//! spider spec there loads and validates, with its `extends` base and `script_file`
//! read from the same folder. Abstract bases are not spiders; each must resolve and
//! be extended by at least one spec of the folder.

use std::path::{Path, PathBuf};

use serde_json::Value;
use trawl_engine::spec::{extends::DirSources, Spec, SpecFormat};

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/spec-coverage/specs")
}

fn spec_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(specs_dir())
        .expect("docs/spec-coverage/specs exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn is_abstract(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).expect("readable spec");
    let doc: toml::Table = toml::from_str(&text).unwrap_or_default();
    doc.get("abstract").and_then(|v| v.as_bool()) == Some(true)
}

fn extends_of(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    doc.get("extends")?.as_str().map(str::to_string)
}

#[test]
fn every_sampled_spider_spec_is_valid() {
    let files = spec_files();
    let mut failures = Vec::new();
    let mut spiders = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if is_abstract(path) {
            let text = std::fs::read_to_string(path).unwrap();
            let sources = DirSources(specs_dir());
            match Spec::resolve(&text, SpecFormat::Toml, &sources) {
                Ok(Value::Object(_)) => {}
                Ok(_) => failures.push(format!("{file}: not a table")),
                Err(e) => failures.push(format!("{file}: {e}")),
            }
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            if !files
                .iter()
                .any(|f| extends_of(f).as_deref() == Some(stem.as_str()))
            {
                failures.push(format!("{file}: abstract base extended by no spec"));
            }
            continue;
        }
        match Spec::load(path, &[]) {
            Ok(spec) => {
                let stem = path.file_stem().unwrap().to_string_lossy();
                if spec.name != stem {
                    failures.push(format!(
                        "{file}: spider name {:?} differs from file",
                        spec.name
                    ));
                }
                spiders.push(spec.name);
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} spec(s) invalid:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        spiders.len() >= 12,
        "only {} spider specs in docs/spec-coverage/specs: {spiders:?}",
        spiders.len()
    );
}
