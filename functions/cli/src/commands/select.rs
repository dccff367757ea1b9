//! `trawl select`: CSS and XPath selectors over local HTML files, as the engine applies
//! them to responses — parsel's `Selector(text).css(…).getall()` from the command line,
//! and the Trawl side of the selector parity harness (`tests/selectors/`).

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use trawl_engine::encoding::decode_html;
use trawl_engine::select::{Page, Query};

use super::crawl::EXIT_INVALID;

/// `trawl select` arguments.
#[derive(clap::Args)]
pub struct SelectArgs {
    /// HTML files to query.
    #[arg(required_unless_present = "css_to_xpath")]
    pub files: Vec<PathBuf>,
    /// Read CSS selectors from standard input, one per line, and print the XPath each
    /// becomes (`{"xpath": …}` or `{"error": …}` per line), as parsel translates them.
    #[arg(long, conflicts_with_all = ["css", "xpath", "selectors"])]
    pub css_to_xpath: bool,
    /// A CSS selector (repeatable; `::text` and `::attr(name)` as in parsel).
    #[arg(long)]
    pub css: Vec<String>,
    /// An XPath 1.0 expression (repeatable).
    #[arg(long)]
    pub xpath: Vec<String>,
    /// A JSON file of selectors: `[{"css": "…"}, {"xpath": "…"}, …]`.
    #[arg(long)]
    pub selectors: Option<PathBuf>,
}

/// One selector of a `--selectors` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectorSpec {
    css: Option<String>,
    xpath: Option<String>,
}

/// A selector to run: its key (`css:EXPR` or `xpath:EXPR`) and the compiled query, or
/// why it does not compile.
type Keyed = (String, Result<Query, String>);

/// The selectors to run.
fn queries(args: &SelectArgs) -> Result<Vec<Keyed>, String> {
    let mut specs: Vec<(bool, String)> = Vec::new();
    if let Some(path) = &args.selectors {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let list: Vec<SelectorSpec> =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for s in list {
            match (s.css, s.xpath) {
                (Some(c), None) => specs.push((false, c)),
                (None, Some(x)) => specs.push((true, x)),
                _ => {
                    return Err(format!(
                        "{}: each selector has css or xpath",
                        path.display()
                    ))
                }
            }
        }
    }
    specs.extend(args.css.iter().map(|c| (false, c.clone())));
    specs.extend(args.xpath.iter().map(|x| (true, x.clone())));
    if specs.is_empty() {
        return Err("give at least one --css, --xpath or --selectors".into());
    }
    Ok(specs
        .into_iter()
        .map(|(is_xpath, expr)| {
            let (key, q) = if is_xpath {
                (format!("xpath:{expr}"), Query::xpath(&expr))
            } else {
                (format!("css:{expr}"), Query::css(&expr))
            };
            (key, q.map_err(|e| e.to_string()))
        })
        .collect())
}

/// `trawl select`: one JSON line per file, `{"file": …, "results": {key: [values] |
/// {"error": …}}}`.
pub fn run(args: SelectArgs) -> ExitCode {
    if args.css_to_xpath {
        return translate_stdin();
    }
    let queries = match queries(&args) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let mut failed = false;
    for file in &args.files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let (text, _) = decode_html(&bytes, None);
        let page = Page::parse(&text);
        let mut results = Map::new();
        for (key, query) in &queries {
            let v = match query {
                Ok(q) => match page.try_select(q) {
                    Ok(found) => json!(found.getall()),
                    Err(e) => json!({ "error": e.to_string() }),
                },
                Err(e) => json!({ "error": e }),
            };
            results.insert(key.clone(), v);
        }
        let line = json!({ "file": file.display().to_string(), "results": Value::Object(results) });
        println!("{line}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `--css-to-xpath`: one JSON line per selector line read.
fn translate_stdin() -> ExitCode {
    use std::io::BufRead;
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            eprintln!("error: standard input is not UTF-8 text");
            return ExitCode::FAILURE;
        };
        let out = match trawl_engine::select::css_to_xpath(&line) {
            Ok(x) => json!({ "xpath": x }),
            Err(e) => json!({ "error": e.to_string() }),
        };
        println!("{out}");
    }
    ExitCode::SUCCESS
}
