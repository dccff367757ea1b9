//! `trawl projects`, `trawl versions PROJECT`, `trawl spiders PROJECT`: one name a line.

use std::process::ExitCode;

use serde_json::Value;

use super::api::ScrapydClient;
use super::{cell, print_json, ServerOpts};

/// `trawl projects` arguments.
#[derive(clap::Args, Debug)]
pub struct ProjectsArgs {
    #[command(flatten)]
    pub server: ServerOpts,
}

/// `trawl versions` arguments.
#[derive(clap::Args, Debug)]
pub struct VersionsArgs {
    /// The project.
    pub project: String,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// `trawl spiders` arguments.
#[derive(clap::Args, Debug)]
pub struct SpidersArgs {
    /// The project.
    pub project: String,
    /// A deployed version (default: the latest).
    #[arg(long)]
    pub version: Option<String>,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// `trawl projects`.
pub async fn projects(args: ProjectsArgs) -> anyhow::Result<ExitCode> {
    names(&args.server, "listprojects.json", &[], "projects").await
}

/// `trawl versions`: oldest first, latest last.
pub async fn versions(args: VersionsArgs) -> anyhow::Result<ExitCode> {
    let query = [("project", args.project.as_str())];
    names(&args.server, "listversions.json", &query, "versions").await
}

/// `trawl spiders`.
pub async fn spiders(args: SpidersArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![("project", args.project.as_str())];
    if let Some(v) = &args.version {
        query.push(("_version", v));
    }
    names(&args.server, "listspiders.json", &query, "spiders").await
}

async fn names(
    server: &ServerOpts,
    endpoint: &str,
    query: &[(&str, &str)],
    key: &str,
) -> anyhow::Result<ExitCode> {
    let client = ScrapydClient::new(server)?;
    let answer = client.get(endpoint, query).await?;
    if server.json {
        print_json(&answer);
    } else {
        for name in answer
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!("{}", cell(Some(name)));
        }
    }
    Ok(ExitCode::SUCCESS)
}
