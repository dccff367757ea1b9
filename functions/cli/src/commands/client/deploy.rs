//! `trawl deploy [PATH] --project P [--version V]`: validate spider specs locally, then
//! upload them as a bundle to `addversion.json` (like scrapyd-deploy).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use reqwest::multipart::{Form, Part};
use trawl_engine::spec::{DirSources, Spec, SpecFormat};

use super::api::ScrapydClient;
use super::{print_json, ServerOpts};
use crate::commands::crawl::EXIT_INVALID;

/// `trawl deploy` arguments.
#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    /// A spec file (sent as is) or a folder (its .toml/.json specs, zipped).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The project to deploy to.
    #[arg(short, long)]
    pub project: String,
    /// The version name (default: the current unix timestamp).
    #[arg(short, long)]
    pub version: Option<String>,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// One spec file to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its file name (the name inside the bundle).
    pub name: String,
    /// Its text.
    pub text: String,
    /// TOML or JSON.
    pub format: SpecFormat,
}

/// What gets uploaded in the `egg` field.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The upload's file name.
    pub file_name: String,
    /// The bytes: one spec as is, or a zip of specs.
    pub bytes: Vec<u8>,
}

/// Reads the spec at `path`, or every `.toml`/`.json` file directly in the folder
/// `path` (sorted by name, hidden files skipped).
pub fn collect(path: &Path) -> anyhow::Result<Vec<SpecFile>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let paths: Vec<PathBuf> = if meta.is_dir() {
        let mut found = Vec::new();
        for entry in
            std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?
        {
            let p = entry?.path();
            let hidden = match p.file_name().and_then(|n| n.to_str()) {
                Some(n) => n.starts_with('.'),
                None => true,
            };
            if !hidden && p.is_file() && SpecFormat::from_path(&p).is_some() {
                found.push(p);
            }
        }
        found.sort();
        if found.is_empty() {
            anyhow::bail!("no .toml or .json spider specs in {}", path.display());
        }
        found
    } else {
        if SpecFormat::from_path(path).is_none() {
            anyhow::bail!(
                "{}: a spider spec must be a .toml or .json file",
                path.display()
            );
        }
        vec![path.to_path_buf()]
    };
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Ok(SpecFile {
                name: p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                format: SpecFormat::from_path(&p).expect("filtered above"),
                path: p,
                text,
            })
        })
        .collect()
}

/// The folder a spec's `extends` and `script_file` are read from.
fn sources(s: &SpecFile) -> DirSources {
    DirSources(s.path.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// Whether a spec is an abstract base (`abstract = true`), only for others to extend.
fn is_abstract(s: &SpecFile) -> bool {
    trawl_engine::spec::extends::document(&s.text, s.format)
        .is_ok_and(|d| d.get("abstract") == Some(&serde_json::Value::Bool(true)))
}

/// Validates every spec (abstract bases through the specs extending them); gives one
/// `file: field: problem` line per invalid spec and per spider name used twice.
pub fn validate(specs: &[SpecFile]) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let mut names: HashMap<String, &Path> = HashMap::new();
    for s in specs.iter().filter(|s| !is_abstract(s)) {
        match Spec::parse_with(&s.text, s.format, &[], &sources(s)) {
            Ok(spec) => {
                if let Some(first) = names.insert(spec.name.clone(), &s.path) {
                    problems.push(format!(
                        "{}: spider name {:?} is also used by {}",
                        s.path.display(),
                        spec.name,
                        first.display()
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", s.path.display())),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The upload: a single file spec as is (or, when it extends another file or names a
/// script or CSV file, as one JSON spec with those resolved), a folder's specs,
/// scripts (`.rhai`) and CSV files as an in-memory zip.
pub fn bundle(specs: &[SpecFile], from_dir: bool) -> anyhow::Result<Bundle> {
    if let [one] = specs {
        if !from_dir {
            let plain = Spec::resolve(&one.text, one.format, &trawl_engine::spec::NoSources)
                .is_ok_and(|d| d.get("script_file").is_none() && d.get("args_files").is_none());
            if plain {
                return Ok(Bundle {
                    file_name: one.name.clone(),
                    bytes: one.text.clone().into_bytes(),
                });
            }
            let doc = Spec::resolve(&one.text, one.format, &sources(one))
                .map_err(|e| anyhow::anyhow!("{}: {e}", one.path.display()))?;
            let stem = one.name.rsplit_once('.').map_or(one.name.as_str(), |p| p.0);
            return Ok(Bundle {
                file_name: format!("{stem}.json"),
                bytes: serde_json::to_vec_pretty(&doc)?,
            });
        }
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for s in specs {
        zip.start_file(s.name.as_str(), options)?;
        zip.write_all(s.text.as_bytes())?;
    }
    let mut dirs: Vec<&Path> = specs.iter().filter_map(|s| s.path.parent()).collect();
    dirs.dedup();
    if from_dir {
        for dir in dirs {
            let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)?
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension().is_some_and(|e| {
                            e.eq_ignore_ascii_case("rhai") || e.eq_ignore_ascii_case("csv")
                        })
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            scripts.sort();
            for p in scripts {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                zip.start_file(name.as_ref(), options)?;
                zip.write_all(&std::fs::read(&p)?)?;
            }
        }
    }
    Ok(Bundle {
        file_name: "bundle.zip".to_string(),
        bytes: zip.finish()?.into_inner(),
    })
}

/// The default version: the current unix timestamp, like scrapyd-deploy.
pub fn default_version() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

/// `trawl deploy`.
pub async fn run(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let specs = collect(&args.path)?;
    if let Err(problems) = validate(&specs) {
        for p in problems {
            eprintln!("error: invalid spec {p}");
        }
        eprintln!("error: nothing deployed");
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    let bundle = bundle(&specs, args.path.is_dir())?;
    let version = args.version.clone().unwrap_or_else(default_version);
    let client = ScrapydClient::new(&args.server)?;
    let form = Form::new()
        .text("project", args.project.clone())
        .text("version", version.clone())
        .part(
            "egg",
            Part::bytes(bundle.bytes)
                .file_name(bundle.file_name)
                .mime_str("application/octet-stream")?,
        );
    let answer = client.post_multipart("addversion.json", form).await?;
    if args.server.json {
        print_json(&answer);
    } else {
        let n = answer
            .get("spiders")
            .and_then(|v| v.as_u64())
            .unwrap_or(specs.len() as u64);
        println!(
            "Deployed {} version {}: {n} spider{}",
            args.project,
            version,
            if n == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const GOOD: &str = "name = \"a\"\nstart_urls = [\"http://x/\"]\nstart_callback = \"page\"\n\n[callbacks.page.fields]\ntitle = { css = \"title::text\" }\n";

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn a_folder_is_zipped_with_its_specs_only() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "b.json",
            r#"{"name":"b","start_urls":["http://x/"],"start_callback":"p","callbacks":{"p":{"fields":{"t":{"css":"title::text"}}}}}"#,
        );
        write(dir.path(), "a.toml", GOOD);
        write(dir.path(), "README.md", "not a spec");
        write(dir.path(), ".hidden.toml", "junk");
        std::fs::create_dir(dir.path().join("sub.toml")).unwrap();
        let specs = collect(dir.path()).unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a.toml", "b.json"]);
        assert_eq!(specs[1].format, SpecFormat::Json);
        validate(&specs).unwrap();

        let b = bundle(&specs, true).unwrap();
        assert_eq!(b.file_name, "bundle.zip");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(b.bytes)).unwrap();
        assert_eq!(zip.len(), 2);
        let mut text = String::new();
        zip.by_name("a.toml")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, GOOD);
    }

    #[test]
    fn a_file_is_sent_as_is() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "shop.toml", GOOD);
        let specs = collect(&dir.path().join("shop.toml")).unwrap();
        let b = bundle(&specs, false).unwrap();
        assert_eq!(b.file_name, "shop.toml");
        assert_eq!(b.bytes, GOOD.as_bytes());
        assert!(collect(&dir.path().join("missing.toml")).is_err());
        write(dir.path(), "notes.txt", "x");
        assert!(collect(&dir.path().join("notes.txt")).is_err());
    }

    #[test]
    fn empty_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = collect(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no .toml or .json"), "{err}");
    }

    #[test]
    fn invalid_specs_name_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", GOOD);
        write(dir.path(), "bad.toml", "name = \"bad\"\nstart_urls = 3\n");
        write(dir.path(), "dup.toml", GOOD);
        let problems = validate(&collect(dir.path()).unwrap()).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("bad.toml: start_urls"), "{problems:?}");
        assert!(
            problems[1].contains("dup.toml: spider name \"a\""),
            "{problems:?}"
        );
    }

    #[test]
    fn bases_and_scripts_go_with_their_folder_and_a_single_file_is_resolved() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "base.toml",
            "abstract = true\nname = \"base\"\nstart_callback = \"page\"\n\
             [callbacks.page.fields]\ntitle = { css = \"title::text\" }\n",
        );
        write(
            dir.path(),
            "child.toml",
            "name = \"child\"\nextends = \"base\"\nstart_urls = [\"http://x/\"]\n",
        );
        write(dir.path(), "parse.rhai", "fn parse(response) { [] }");
        write(dir.path(), "rows.csv", "id\n1\n");
        let specs = collect(dir.path()).unwrap();
        validate(&specs).unwrap();
        let b = bundle(&specs, true).unwrap();
        let zip = zip::ZipArchive::new(std::io::Cursor::new(b.bytes)).unwrap();
        let mut names: Vec<&str> = zip.file_names().collect();
        names.sort();
        assert_eq!(names, ["base.toml", "child.toml", "parse.rhai", "rows.csv"]);

        let one = collect(&dir.path().join("child.toml")).unwrap();
        validate(&one).unwrap();
        let b = bundle(&one, false).unwrap();
        assert_eq!(b.file_name, "child.json");
        let doc: serde_json::Value = serde_json::from_slice(&b.bytes).unwrap();
        assert_eq!(
            doc["callbacks"]["page"]["fields"]["title"]["css"],
            "title::text"
        );
        assert!(doc.get("extends").is_none());
    }

    #[test]
    fn the_shop_example_is_valid() {
        let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop.toml");
        validate(&collect(&shop).unwrap()).unwrap();
    }

    #[test]
    fn versions_default_to_a_timestamp() {
        let v: u64 = default_version().parse().unwrap();
        assert!(v > 1_600_000_000);
    }
}
