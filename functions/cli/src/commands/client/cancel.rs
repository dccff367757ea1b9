//! `trawl cancel PROJECT JOB [--force]`: cancel a job; prints its previous state.

use std::process::ExitCode;

use super::api::ScrapydClient;
use super::{cell, print_json, ServerOpts};

/// `trawl cancel` arguments.
#[derive(clap::Args, Debug)]
pub struct CancelArgs {
    /// The project.
    pub project: String,
    /// The job id.
    pub job: String,
    /// Stop at once: send the cancel twice, like ScrapydWeb's force stop.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// `trawl cancel`.
pub async fn run(args: CancelArgs) -> anyhow::Result<ExitCode> {
    let client = ScrapydClient::new(&args.server)?;
    let form = [
        ("project".to_string(), args.project.clone()),
        ("job".to_string(), args.job.clone()),
    ];
    let answer = client.post("cancel.json", &form).await?;
    let second = if args.force {
        Some(client.post("cancel.json", &form).await?)
    } else {
        None
    };
    if args.server.json {
        print_json(&answer);
        if let Some(second) = &second {
            print_json(second);
        }
    } else {
        let prev = answer.get("prevstate").filter(|v| !v.is_null());
        println!("{}", prev.map_or("none".into(), |p| cell(Some(p))));
    }
    Ok(ExitCode::SUCCESS)
}
