//! Spider bundles: what `addversion.json` takes in Scrapyd's `egg` field.
//!
//! Trawl runs declarative spider specs, not Python, so a project version is a bundle
//! of specs: a single spec (TOML, or JSON when the text starts with `{`), or a zip,
//! tar.gz or tar of spec files (`.toml`/`.json` at any depth) and the files they
//! name (`script_file = "stores.rhai"`, `args_files = { points = "grid.csv" }`). A spec may extend another of the bundle
//! (`extends = "base"`, by spider name or file path); a base with `abstract = true` is
//! not a spider itself. Other files (a README,
//! Python sources next to the specs) are ignored, as are hidden files and directories
//! (names starting with `.`) and macOS `__MACOSX` metadata. A real Python egg is
//! rejected with a message that says what to send instead.
//!
//! Every spec is validated when the bundle is parsed, so a bad upload fails at
//! `addversion.json` with the file and field at fault, not later when a job runs.
//!
//! Archives are read in memory and never extracted to disk; entries whose path is
//! absolute or contains `..` are ignored all the same. Limits guard against archive
//! bombs: at most [`MAX_ENTRIES`] entries and [`MAX_UNCOMPRESSED`] bytes decompressed.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;
use trawl_engine::spec::{Spec, SpecError, SpecFormat, SpecSources, SpecSpider};

/// The most bytes a bundle may decompress to: the spec files of a zip, or the whole
/// tar stream of a tar.gz (or the text of a single spec).
pub const MAX_UNCOMPRESSED: u64 = 16 * 1024 * 1024;

/// The most entries (files and directories) an archive may hold.
pub const MAX_ENTRIES: usize = 1000;

/// What to send instead of something that is not a bundle.
const WHAT_TO_SEND: &str = "send a spider spec (.toml or .json) or a zip or tar.gz of \
                            spider specs, e.g. with `trawl deploy`";

/// Why an uploaded bundle was refused. `Display` gives the message for the API
/// (`egg is invalid: ...`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BundleError {
    /// A Python egg (or Python project) was uploaded.
    #[error("this is a Python egg: Trawl runs spider specs, not Python code; {WHAT_TO_SEND}")]
    PythonEgg,
    /// The data is neither a spec nor a supported archive, or the archive is corrupt.
    #[error("{0}")]
    Invalid(String),
    /// A spec in the bundle is invalid: the file, then the field and what is wrong
    /// (`shop.toml: callbacks.product.fields.price.re: invalid regex ...`), one line
    /// per error when there are several.
    #[error("{}", spec_errors(file, error))]
    Spec {
        /// The file in the bundle.
        file: String,
        /// The field at fault and what is wrong.
        error: SpecError,
    },
    /// Two files define the same spider.
    #[error("spider '{name}' is defined twice, in {first} and in {second}")]
    DuplicateSpider {
        /// The spider name.
        name: String,
        /// The first file defining it.
        first: String,
        /// The second file defining it.
        second: String,
    },
    /// The bundle holds no spider specs.
    #[error("the bundle holds no spider specs (no .toml or .json files); {WHAT_TO_SEND}")]
    Empty,
    /// The bundle exceeds [`MAX_UNCOMPRESSED`] or [`MAX_ENTRIES`].
    #[error("the bundle is too large: {0}")]
    TooLarge(String),
}

/// A parsed, validated bundle of spider specs.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The specs, in the order found in the upload.
    pub specs: Vec<BundleSpec>,
}

/// One validated spider spec of a bundle.
#[derive(Debug, Clone)]
pub struct BundleSpec {
    /// The spider name (the spec's `name`).
    pub name: String,
    /// The file it came from, as named in the archive (`spec.toml` or `spec.json` for
    /// a single uploaded spec).
    pub file: String,
    /// The spec's format.
    pub format: SpecFormat,
    /// The spec's text.
    pub source: String,
    /// The spec with its `extends` chain and `script_file` resolved, as JSON.
    pub resolved: String,
}

impl Bundle {
    /// The spider names, sorted.
    pub fn spider_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.specs.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names
    }

    /// The spec of spider `name`.
    pub fn get(&self, name: &str) -> Option<&BundleSpec> {
        self.specs.iter().find(|s| s.name == name)
    }
}

impl BundleSpec {
    /// A runnable spider with `-a` style arguments: the spec is parsed again with the
    /// argument names as known arguments (so start URLs may use them), then checked
    /// with the argument values.
    pub fn spider(&self, args: &[(String, String)]) -> Result<SpecSpider, SpecError> {
        let known: Vec<&str> = args.iter().map(|(k, _)| k.as_str()).collect();
        let doc: Value = serde_json::from_str(&self.resolved)
            .map_err(|e| SpecError::new("spec", e.to_string()))?;
        let spec = Spec::from_document(doc, &known)?;
        SpecSpider::new(Arc::new(spec), args)
    }
}

/// Parses and validates an uploaded bundle (see the module docs for what is accepted).
pub fn parse_bundle(data: &[u8]) -> Result<Bundle, BundleError> {
    let files = if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        read_zip(data)?
    } else if data.starts_with(&[0x1f, 0x8b]) {
        read_tar(flate2::read::GzDecoder::new(data))?
    } else if data.len() > 262 && &data[257..262] == b"ustar" {
        read_tar(data)?
    } else {
        vec![single_spec(data)?]
    };
    let (spec_files, scripts): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|(_, f, _)| f.is_some());
    let mut docs = Vec::with_capacity(spec_files.len());
    for (file, format, text) in spec_files {
        let format = format.expect("partitioned");
        // Read before bases are resolved: a base is found by its name.
        let raw = trawl_engine::spec::extends::document(&text, format).ok();
        let name = raw
            .as_ref()
            .and_then(|d| d.get("name")?.as_str().map(str::to_string));
        let is_abstract = raw.is_some_and(|d| d.get("abstract") == Some(&Value::Bool(true)));
        docs.push((file, format, text, name, is_abstract));
    }
    let mut specs: Vec<BundleSpec> = Vec::with_capacity(docs.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (file, format, source, _, is_abstract) in &docs {
        if *is_abstract {
            continue;
        }
        let sources = BundleSources {
            dir: file.rsplit_once('/').map_or("", |(d, _)| d),
            docs: &docs,
            scripts: &scripts,
        };
        let spec_err = |error| BundleError::Spec {
            file: file.clone(),
            error,
        };
        // Resolved once: the spider is checked on, and later built from, this document.
        let resolved = Spec::resolve(source, *format, &sources).map_err(spec_err)?;
        let spec = Spec::from_document(resolved.clone(), &[]).map_err(spec_err)?;
        if let Some(&i) = seen.get(&spec.name) {
            return Err(BundleError::DuplicateSpider {
                name: spec.name,
                first: specs[i].file.clone(),
                second: file.clone(),
            });
        }
        seen.insert(spec.name.clone(), specs.len());
        specs.push(BundleSpec {
            name: spec.name,
            file: file.clone(),
            format: *format,
            source: source.clone(),
            resolved: resolved.to_string(),
        });
    }
    if specs.is_empty() {
        return Err(BundleError::Empty);
    }
    Ok(Bundle { specs })
}

/// What `extends` and `script_file` find in a bundle: specs by spider name or by path
/// (relative to the spec's directory, then to the bundle's root), scripts by path.
struct BundleSources<'a> {
    dir: &'a str,
    docs: &'a [(String, SpecFormat, String, Option<String>, bool)],
    scripts: &'a [BundleFile],
}

impl BundleSources<'_> {
    fn paths(&self, path: &str) -> [String; 2] {
        let local = if self.dir.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.dir)
        };
        [local, path.to_string()]
    }
}

impl SpecSources for BundleSources<'_> {
    fn spec(&self, name: &str) -> Option<(String, SpecFormat)> {
        let by_name = self.docs.iter().find(|d| d.3.as_deref() == Some(name));
        let by_path = || {
            self.paths(name)
                .into_iter()
                .find_map(|p| self.docs.iter().find(|d| d.0 == p))
        };
        by_name
            .or_else(by_path)
            .map(|(_, format, text, _, _)| (text.clone(), *format))
    }

    fn file(&self, path: &str) -> Option<String> {
        self.paths(path)
            .into_iter()
            .find_map(|p| self.scripts.iter().find(|s| s.0 == p))
            .map(|s| s.2.clone())
    }
}

/// A file read from the upload: (file name, its spec format or `None` for a script,
/// text).
type BundleFile = (String, Option<SpecFormat>, String);

fn single_spec(data: &[u8]) -> Result<BundleFile, BundleError> {
    if data.len() as u64 > MAX_UNCOMPRESSED {
        return Err(too_large());
    }
    let text = std::str::from_utf8(data).map_err(|_| {
        BundleError::Invalid(format!(
            "not a spider bundle (neither UTF-8 spec text nor a zip or tar.gz); {WHAT_TO_SEND}"
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(BundleError::Empty);
    }
    Ok(if text.trim_start().starts_with('{') {
        ("spec.json".into(), Some(SpecFormat::Json), text.to_string())
    } else {
        ("spec.toml".into(), Some(SpecFormat::Toml), text.to_string())
    })
}

fn too_large() -> BundleError {
    BundleError::TooLarge(format!(
        "it expands to more than {} MiB",
        MAX_UNCOMPRESSED / (1024 * 1024)
    ))
}

fn too_many() -> BundleError {
    BundleError::TooLarge(format!("it has more than {MAX_ENTRIES} entries"))
}

/// What to do with an archive entry, by its path.
enum EntryKind {
    /// A spec file to read.
    Spec(SpecFormat),
    /// A file specs may name: a script (`.rhai`), rows of list arguments (`.csv`).
    Side,
    /// A sign of a Python egg or project.
    Python,
    /// Anything else: skipped.
    Other,
}

/// Classifies an archive entry path. Returns `None` for entries to skip outright:
/// unsafe paths (absolute, `..`), hidden files and directories, `__MACOSX`.
fn classify(raw: &str) -> Option<EntryKind> {
    let path = raw.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    if path.starts_with('/') || path.as_bytes().get(1) == Some(&b':') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts
        .iter()
        .any(|p| *p == ".." || p.starts_with('.') || *p == "__MACOSX")
    {
        return None;
    }
    let name = parts.last()?;
    if parts
        .iter()
        .any(|p| *p == "EGG-INFO" || p.ends_with(".egg-info"))
    {
        return Some(EntryKind::Python);
    }
    if let Some(format) = SpecFormat::from_path(Path::new(name)) {
        return Some(EntryKind::Spec(format));
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".rhai") || lower.ends_with(".csv") {
        return Some(EntryKind::Side);
    }
    if lower.ends_with(".py") || lower.ends_with(".pyc") || lower == "scrapy.cfg" {
        return Some(EntryKind::Python);
    }
    Some(EntryKind::Other)
}

/// Turns the spec files and Python markers of an archive into spec texts, or the
/// Python-egg error.
fn finish(
    specs: Vec<BundleFile>,
    python: bool,
    egg_info: bool,
) -> Result<Vec<BundleFile>, BundleError> {
    if egg_info || (specs.iter().all(|f| f.1.is_none()) && python) {
        return Err(BundleError::PythonEgg);
    }
    Ok(specs)
}

fn spec_text(file: &str, bytes: Vec<u8>) -> Result<String, BundleError> {
    String::from_utf8(bytes)
        .map(|s| match s.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => s,
        })
        .map_err(|_| BundleError::Invalid(format!("{file}: not UTF-8 text")))
}

fn read_zip(data: &[u8]) -> Result<Vec<BundleFile>, BundleError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| BundleError::Invalid(format!("cannot read the zip: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(too_many());
    }
    let (mut specs, mut python, mut egg_info) = (Vec::new(), false, false);
    let mut budget = MAX_UNCOMPRESSED;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| BundleError::Invalid(format!("cannot read the zip: {e}")))?;
        let name = entry.name().to_string();
        if entry.is_dir() {
            egg_info |= name.contains("EGG-INFO") || name.contains(".egg-info");
            continue;
        }
        match classify(&name) {
            None | Some(EntryKind::Other) => {}
            Some(EntryKind::Python) => {
                python = true;
                egg_info |= name.contains("EGG-INFO") || name.contains(".egg-info");
            }
            Some(kind @ (EntryKind::Spec(_) | EntryKind::Side)) => {
                let format = match kind {
                    EntryKind::Spec(f) => Some(f),
                    _ => None,
                };
                if entry.is_symlink() {
                    continue;
                }
                // Check what the entry claims first, then what it really expands to.
                if entry.size() > budget {
                    return Err(too_large());
                }
                let mut bytes = Vec::new();
                (&mut entry)
                    .take(budget + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| BundleError::Invalid(format!("{name}: cannot read: {e}")))?;
                if bytes.len() as u64 > budget {
                    return Err(too_large());
                }
                budget -= bytes.len() as u64;
                let text = spec_text(&name, bytes)?;
                specs.push((name, format, text));
            }
        }
    }
    finish(specs, python, egg_info)
}

/// A reader that fails once more than its budget has been read, and says so.
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // Allow a clean end of stream; only fail when more data follows.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded.set(true);
                    Err(std::io::Error::other("bundle too large"))
                }
            };
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn read_tar(reader: impl Read) -> Result<Vec<BundleFile>, BundleError> {
    let exceeded = Rc::new(Cell::new(false));
    let limited = Limited {
        inner: reader,
        left: MAX_UNCOMPRESSED,
        exceeded: exceeded.clone(),
    };
    let result = read_tar_entries(limited);
    if exceeded.get() {
        return Err(too_large());
    }
    let (specs, python, egg_info) = result?;
    finish(specs, python, egg_info)
}

fn read_tar_entries(reader: impl Read) -> Result<(Vec<BundleFile>, bool, bool), BundleError> {
    let bad = |e: std::io::Error| BundleError::Invalid(format!("cannot read the tar.gz: {e}"));
    let mut archive = tar::Archive::new(reader);
    let (mut specs, mut python, mut egg_info) = (Vec::new(), false, false);
    for (count, entry) in archive.entries().map_err(bad)?.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(too_many());
        }
        let mut entry = entry.map_err(bad)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            egg_info |= name.contains("EGG-INFO") || name.contains(".egg-info");
            continue;
        }
        if !kind.is_file() {
            continue; // links, devices, ...
        }
        match classify(&name) {
            None | Some(EntryKind::Other) => {}
            Some(EntryKind::Python) => {
                python = true;
                egg_info |= name.contains("EGG-INFO") || name.contains(".egg-info");
            }
            Some(kind @ (EntryKind::Spec(_) | EntryKind::Side)) => {
                let format = match kind {
                    EntryKind::Spec(f) => Some(f),
                    _ => None,
                };
                let name = name.strip_prefix("./").unwrap_or(&name).to_string();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(bad)?;
                let text = spec_text(&name, bytes)?;
                specs.push((name, format, text));
            }
        }
    }
    Ok((specs, python, egg_info))
}

/// Every error of a spec, each on its own line and prefixed with the file's name.
fn spec_errors(file: &str, error: &SpecError) -> String {
    error
        .all()
        .map(|(path, message)| format!("{file}: {path}: {message}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn spec(name: &str) -> String {
        format!(
            "name = \"{name}\"\nstart_urls = [\"https://example.com/\"]\n\
             start_callback = \"page\"\n\
             [callbacks.page.fields]\ntitle = {{ css = \"h1::text\" }}\n"
        )
    }

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            if name.ends_with('/') {
                w.add_directory(*name, opts).unwrap();
            } else {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn single_toml_spec() {
        let b = parse_bundle(spec("shop").as_bytes()).unwrap();
        assert_eq!(b.spider_names(), ["shop"]);
        let s = b.get("shop").unwrap();
        assert_eq!((s.file.as_str(), s.format), ("spec.toml", SpecFormat::Toml));
        assert!(b.get("other").is_none());
    }

    #[test]
    fn single_json_spec() {
        let json = r#"
            {"name": "api", "start_urls": ["https://example.com/{page}"],
             "args": {"page": "1"}, "start_callback": "page",
             "callbacks": {"page": {"fields": {"title": {"css": "h1::text"}}}}}"#;
        let b = parse_bundle(json.as_bytes()).unwrap();
        assert_eq!(b.spider_names(), ["api"]);
        assert_eq!(b.specs[0].format, SpecFormat::Json);
        assert_eq!(b.specs[0].file, "spec.json");
        // Arguments override the declared defaults.
        let spider = b.specs[0].spider(&[("page".into(), "2".into())]).unwrap();
        assert_eq!(spider.spec().name, "api");
    }

    #[test]
    fn spider_with_undeclared_argument() {
        let text = spec("s").replace("https://example.com/", "{site}/start");
        // `site` is not declared, so the bundle is invalid on its own...
        let err = parse_bundle(text.as_bytes()).unwrap_err();
        assert!(
            err.to_string().starts_with("spec.toml: start_urls"),
            "{err}"
        );
        // ...but a spec taking it at run time works.
        let bs = BundleSpec {
            name: "s".into(),
            file: "s.toml".into(),
            format: SpecFormat::Toml,
            resolved: Spec::resolve(&text, SpecFormat::Toml, &trawl_engine::spec::NoSources)
                .unwrap()
                .to_string(),
            source: text,
        };
        assert!(bs
            .spider(&[("site".into(), "https://a.example".into())])
            .is_ok());
        assert!(bs.spider(&[("site".into(), "not a url".into())]).is_err());
    }

    #[test]
    fn specs_extend_others_of_the_bundle_and_abstract_bases_are_not_spiders() {
        let base = "abstract = true\nname = \"base\"\nstart_callback = \"page\"\n\
                    [callbacks.page.fields]\ntitle = { css = \"h1::text\" }\n";
        let child = "name = \"child\"\nextends = \"base\"\n\
                     start_urls = [\"https://example.com/\"]\n\
                     [callbacks.page.fields]\nprice = { css = \".price::text\" }\n";
        let by_path = "name = \"other\"\nextends = \"../bases/base.toml\"\n\
                       start_urls = [\"https://example.org/\"]\n";
        let data = zip_of(&[
            ("bases/base.toml", base.as_bytes()),
            ("child.toml", child.as_bytes()),
            ("more/other.toml", by_path.as_bytes()),
        ]);
        let err = parse_bundle(&data).unwrap_err();
        // Paths are not normalised: `..` never reaches outside the bundle's names.
        assert!(err.to_string().contains("no spec or template"), "{err}");
        let data = zip_of(&[
            ("bases/base.toml", base.as_bytes()),
            ("child.toml", child.as_bytes()),
        ]);
        let bundle = parse_bundle(&data).unwrap();
        assert_eq!(bundle.spider_names(), vec!["child"]);
        let spider = bundle.get("child").unwrap().spider(&[]).unwrap();
        let fields: Vec<&str> = spider.spec().callbacks["page"]
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(fields, vec!["title", "price"]);
        // A base that is not complete is fine; one that is abstract alone is no bundle.
        let only_base = zip_of(&[("bases/base.toml", base.as_bytes())]);
        assert_eq!(parse_bundle(&only_base).unwrap_err(), BundleError::Empty);
    }

    #[test]
    fn scripts_travel_in_the_bundle_with_their_spec() {
        let spec = include_str!("../../../examples/scripted/dealers.toml");
        let script = include_str!("../../../examples/scripted/dealers.rhai");
        let data = zip_of(&[
            ("dealers/dealers.toml", spec.as_bytes()),
            ("dealers/dealers.rhai", script.as_bytes()),
        ]);
        let bundle = parse_bundle(&data).unwrap();
        let spider = bundle.get("scripted_dealers").unwrap().spider(&[]).unwrap();
        assert!(spider.spec().callbacks["dealer"].script.is_some());
        let without = zip_of(&[("dealers/dealers.toml", spec.as_bytes())]);
        let err = parse_bundle(&without).unwrap_err().to_string();
        assert!(
            err.starts_with("dealers/dealers.toml: script_file: no file \"dealers.rhai\""),
            "{err}"
        );
    }

    #[test]
    fn csv_rows_travel_in_the_bundle_with_their_spec() {
        let spec = include_str!("../../../examples/grid-search.toml");
        let rows = include_str!("../../../examples/grid-search-points.csv");
        let data = zip_of(&[
            ("grid-search.toml", spec.as_bytes()),
            ("grid-search-points.csv", rows.as_bytes()),
        ]);
        let bundle = parse_bundle(&data).unwrap();
        let spider = bundle.get("grid_search").unwrap().spider(&[]).unwrap();
        assert_eq!(spider.spec().args["points"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn zip_of_specs() {
        let (a, b) = (spec("alpha"), spec("beta"));
        let data = zip_of(&[
            ("specs/", b""),
            ("specs/beta.toml", b.as_bytes()),
            ("specs/deep/alpha.TOML", a.as_bytes()),
            ("README.md", b"# not a spec"),
            ("helpers.py", b"print()"),
            (".hidden.toml", b"garbage ="),
            ("__MACOSX/specs/._beta.toml", b"\0\0binary"),
            ("../evil.toml", b"garbage ="),
            ("/abs.toml", b"garbage ="),
        ]);
        let bundle = parse_bundle(&data).unwrap();
        assert_eq!(bundle.spider_names(), ["alpha", "beta"]);
        assert_eq!(bundle.get("alpha").unwrap().file, "specs/deep/alpha.TOML");
        assert_eq!(bundle.specs[0].name, "beta", "archive order");
    }

    #[test]
    fn tar_gz_and_tar_of_specs() {
        let (a, j) = (
            spec("alpha"),
            r#"{"name": "jay", "start_urls": ["https://example.com/"], "start_callback": "p",
                "callbacks": {"p": {"fields": {"t": {"css": "h1::text"}}}}}"#
                .to_string(),
        );
        let tar = tar_of(&[
            ("./project/alpha.toml", a.as_bytes()),
            ("project/jay.json", j.as_bytes()),
            ("project/README", b"hello"),
            ("project/.git/config.toml", b"junk ="),
        ]);
        let b = parse_bundle(&gz(&tar)).unwrap();
        assert_eq!(b.spider_names(), ["alpha", "jay"]);
        assert_eq!(b.get("alpha").unwrap().file, "project/alpha.toml");
        assert_eq!(b.get("jay").unwrap().format, SpecFormat::Json);
        let b = parse_bundle(&tar).unwrap();
        assert_eq!(b.spider_names(), ["alpha", "jay"]);
    }

    #[test]
    fn python_eggs_are_rejected() {
        let egg = zip_of(&[
            ("EGG-INFO/PKG-INFO", b"Metadata-Version: 2.1"),
            (
                "EGG-INFO/entry_points.txt",
                b"[scrapy]\nsettings = x.settings",
            ),
            ("myproject/__init__.py", b""),
            ("myproject/spiders/shop.py", b"import scrapy"),
        ]);
        let err = parse_bundle(&egg).unwrap_err();
        assert_eq!(err, BundleError::PythonEgg);
        let msg = err.to_string();
        assert!(msg.contains("Trawl runs spider specs, not Python"), "{msg}");
        assert!(msg.contains(".toml or .json"), "{msg}");
        assert!(msg.contains("zip or tar.gz"), "{msg}");
        assert!(msg.contains("trawl deploy"), "{msg}");
        // Only Python files, no EGG-INFO.
        let py = zip_of(&[("spiders/shop.py", b"import scrapy")]);
        assert_eq!(parse_bundle(&py).unwrap_err(), BundleError::PythonEgg);
        // An egg with a stray spec is still an egg.
        let s = spec("shop");
        let mixed = zip_of(&[("EGG-INFO/PKG-INFO", b""), ("shop.toml", s.as_bytes())]);
        assert_eq!(parse_bundle(&mixed).unwrap_err(), BundleError::PythonEgg);
        // A Scrapy project as a tar.gz.
        let proj = gz(&tar_of(&[
            ("scrapy.cfg", b"[settings]"),
            ("p/settings.py", b""),
        ]));
        assert_eq!(parse_bundle(&proj).unwrap_err(), BundleError::PythonEgg);
    }

    #[test]
    fn bad_spec_names_file_and_field() {
        let bad = spec("shop").replace(
            "title = { css = \"h1::text\" }",
            "price = { css = \".price::text\", re = '[0-9' }",
        );
        let ok = spec("other");
        let data = zip_of(&[("other.toml", ok.as_bytes()), ("shop.toml", bad.as_bytes())]);
        let err = parse_bundle(&data).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("shop.toml: callbacks.page.fields.price.re: invalid regex"),
            "{msg}"
        );
        let data = zip_of(&[("x/bad.json", b"{\"name\": \"x\", \"nope\": 1}")]);
        let msg = parse_bundle(&data).unwrap_err().to_string();
        assert!(msg.starts_with("x/bad.json: "), "{msg}");
        assert!(msg.contains("nope"), "{msg}");
        let data = zip_of(&[("latin1.toml", b"name = \"caf\xe9\"")]);
        let msg = parse_bundle(&data).unwrap_err().to_string();
        assert_eq!(msg, "latin1.toml: not UTF-8 text");
        let msg = parse_bundle(b"name = ").unwrap_err().to_string();
        assert!(msg.starts_with("spec.toml: spec: invalid TOML"), "{msg}");
    }

    #[test]
    fn duplicate_spiders() {
        let s = spec("shop");
        let data = zip_of(&[
            ("a/shop.toml", s.as_bytes()),
            ("b/shop2.toml", s.as_bytes()),
        ]);
        assert_eq!(
            parse_bundle(&data).unwrap_err().to_string(),
            "spider 'shop' is defined twice, in a/shop.toml and in b/shop2.toml"
        );
    }

    #[test]
    fn empty_bundles() {
        assert_eq!(parse_bundle(b"").unwrap_err(), BundleError::Empty);
        assert_eq!(parse_bundle(b"  \n").unwrap_err(), BundleError::Empty);
        let readme_only = zip_of(&[("README.md", b"hi")]);
        let err = parse_bundle(&readme_only).unwrap_err();
        assert_eq!(err, BundleError::Empty);
        assert!(err.to_string().contains("no spider specs"));
        assert_eq!(parse_bundle(&zip_of(&[])).unwrap_err(), BundleError::Empty);
        assert_eq!(
            parse_bundle(&gz(&tar_of(&[]))).unwrap_err(),
            BundleError::Empty
        );
    }

    #[test]
    fn garbage() {
        let err = parse_bundle(b"\xff\xfe\x00binary").unwrap_err();
        assert!(matches!(err, BundleError::Invalid(_)), "{err}");
        assert!(err.to_string().contains("trawl deploy"));
        let err = parse_bundle(b"PK\x03\x04truncated").unwrap_err();
        assert!(err.to_string().starts_with("cannot read the zip"), "{err}");
        let err = parse_bundle(&[0x1f, 0x8b, 1, 2, 3]).unwrap_err();
        assert!(matches!(err, BundleError::Invalid(_)), "{err}");
    }

    #[test]
    fn zip_bomb_is_refused() {
        // 17 MiB of spaces deflates to a few KiB.
        let huge = vec![b' '; 17 * 1024 * 1024];
        let data = zip_of(&[("big.toml", &huge)]);
        assert!(data.len() < 200 * 1024);
        let err = parse_bundle(&data).unwrap_err();
        assert!(matches!(err, BundleError::TooLarge(_)), "{err}");
        assert!(err.to_string().contains("more than 16 MiB"), "{err}");
        // Several files that together exceed the limit.
        let nine = vec![b' '; 9 * 1024 * 1024];
        let data = zip_of(&[("a.toml", &nine), ("b.toml", &nine)]);
        assert!(matches!(parse_bundle(&data), Err(BundleError::TooLarge(_))));
        // The same as a tar.gz.
        let data = gz(&tar_of(&[("big.toml", &huge)]));
        assert!(matches!(parse_bundle(&data), Err(BundleError::TooLarge(_))));
        // Large non-spec content in a tar.gz counts too (it is decompressed to skip it).
        let data = gz(&tar_of(&[
            ("a.toml", spec("a").as_bytes()),
            ("blob.bin", &huge),
        ]));
        assert!(matches!(parse_bundle(&data), Err(BundleError::TooLarge(_))));
    }

    #[test]
    fn zip_entry_claiming_huge_size_is_refused() {
        // Patch the uncompressed size in both headers to claim 4 GiB - 1.
        let mut data = zip_of(&[("a.toml", spec("a").as_bytes())]);
        let lfh = 0; // the local file header comes first
        data[lfh + 22..lfh + 26].copy_from_slice(&u32::MAX.to_le_bytes());
        let cdh = data.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        data[cdh + 24..cdh + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = parse_bundle(&data).unwrap_err();
        assert!(matches!(err, BundleError::TooLarge(_)), "{err}");
    }

    #[test]
    fn too_many_entries() {
        let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("f{i}.txt")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let err = parse_bundle(&zip_of(&files)).unwrap_err();
        assert!(err.to_string().contains("more than 1000 entries"), "{err}");
        let err = parse_bundle(&gz(&tar_of(&files))).unwrap_err();
        assert!(err.to_string().contains("more than 1000 entries"), "{err}");
    }

    #[test]
    fn entry_classification() {
        assert!(classify("../x.toml").is_none());
        assert!(classify("a/../../x.toml").is_none());
        assert!(classify("/etc/x.toml").is_none());
        assert!(classify("C:\\x.toml").is_none());
        assert!(classify(".git/x.toml").is_none());
        assert!(classify("__MACOSX/x.toml").is_none());
        assert!(matches!(
            classify("./a/x.json"),
            Some(EntryKind::Spec(SpecFormat::Json))
        ));
        assert!(matches!(
            classify("a\\x.toml"),
            Some(EntryKind::Spec(SpecFormat::Toml))
        ));
        assert!(matches!(
            classify("x.egg-info/PKG-INFO"),
            Some(EntryKind::Python)
        ));
        assert!(matches!(classify("README"), Some(EntryKind::Other)));
    }
}
