//! Finds a spider spec by path or by name.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// Folders searched for `NAME.toml` / `NAME.json`: `$TRAWL_SPIDERS` (`:`-separated),
/// then `./spiders`, then `./examples`.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var("TRAWL_SPIDERS")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("spiders"));
    dirs.push(PathBuf::from("examples"));
    dirs
}

/// The spec file for `spider`: an existing path, or a name in the search folders.
pub fn resolve(spider: &str) -> anyhow::Result<PathBuf> {
    let direct = Path::new(spider);
    if direct.is_file() {
        return Ok(direct.to_path_buf());
    }
    if spider.contains('/') || spider.ends_with(".toml") || spider.ends_with(".json") {
        bail!("spec file {spider} not found");
    }
    let mut available = Vec::new();
    for dir in search_dirs() {
        for ext in ["toml", "json"] {
            let p = dir.join(format!("{spider}.{ext}"));
            if p.is_file() {
                return Ok(p);
            }
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let p = e.path();
                if matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("toml" | "json")
                ) {
                    if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                        available.push(stem.to_string());
                    }
                }
            }
        }
    }
    available.sort();
    available.dedup();
    bail!(
        "spider {spider:?} not found: give a spec file path, or one of: {}",
        if available.is_empty() {
            "(no specs in ./spiders or ./examples)".to_string()
        } else {
            available.join(", ")
        }
    )
}

/// Splits `NAME=VALUE` arguments (`-a`).
pub fn parse_args(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => bail!("invalid spider argument {p:?}: expected NAME=VALUE"),
        })
        .collect()
}
