//! `trawl status JOB [--project P]`: a job's current state.

use std::process::ExitCode;

use super::api::ScrapydClient;
use super::{cell, print_json, ServerOpts};

/// `trawl status` arguments.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The job id.
    pub job: String,
    /// The job's project (narrows the search).
    #[arg(short, long)]
    pub project: Option<String>,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// `trawl status`: prints pending, running, finished, or unknown.
pub async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let client = ScrapydClient::new(&args.server)?;
    let mut query = vec![("job", args.job.as_str())];
    if let Some(p) = &args.project {
        query.push(("project", p));
    }
    let answer = client.get("status.json", &query).await?;
    if args.server.json {
        print_json(&answer);
        return Ok(ExitCode::SUCCESS);
    }
    let state = answer.get("currstate").filter(|v| !v.is_null());
    println!("{}", state.map_or("unknown".into(), |s| cell(Some(s))));
    Ok(ExitCode::SUCCESS)
}
