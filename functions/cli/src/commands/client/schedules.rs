//! `trawl schedules add|list|rm|enable|disable`: recurring (cron) jobs, a Trawl extension.

use std::process::ExitCode;

use serde_json::Value;

use super::api::ScrapydClient;
use super::schedule::{add_schedule, CronOpts, RunArgs};
use super::{cell, print_json, table, ServerOpts};

/// `trawl schedules` arguments.
#[derive(clap::Args, Debug)]
pub struct SchedulesArgs {
    #[command(subcommand)]
    pub command: SchedulesCommand,
}

/// The `trawl schedules` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum SchedulesCommand {
    /// Add a recurring schedule.
    Add(AddArgs),
    /// List schedules (of one project, or all).
    #[command(alias = "ls")]
    List {
        /// Only this project's schedules.
        project: Option<String>,
        #[command(flatten)]
        server: ServerOpts,
    },
    /// Delete a schedule.
    #[command(alias = "del")]
    Rm(IdArgs),
    /// Enable a schedule.
    Enable(IdArgs),
    /// Disable a schedule (it stays listed but starts no jobs).
    Disable(IdArgs),
}

/// `trawl schedules add` arguments.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Cron expression, e.g. "0 3 * * *".
    #[arg(long)]
    pub cron: String,
    #[command(flatten)]
    pub cron_opts: CronOpts,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// A schedule id and the server.
#[derive(clap::Args, Debug)]
pub struct IdArgs {
    /// The schedule id.
    pub id: String,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// `trawl schedules`.
pub async fn run(args: SchedulesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SchedulesCommand::Add(a) => add_schedule(&a.run, &a.cron, &a.cron_opts, &a.server).await,
        SchedulesCommand::List { project, server } => list(project.as_deref(), &server).await,
        SchedulesCommand::Rm(a) => by_id("delschedule.json", "Deleted", &a).await,
        SchedulesCommand::Enable(a) => by_id("enableschedule.json", "Enabled", &a).await,
        SchedulesCommand::Disable(a) => by_id("disableschedule.json", "Disabled", &a).await,
    }
}

async fn list(project: Option<&str>, server: &ServerOpts) -> anyhow::Result<ExitCode> {
    let client = ScrapydClient::new(server)?;
    let query: Vec<(&str, &str)> = project.map(|p| ("project", p)).into_iter().collect();
    let answer = client.get("listschedules.json", &query).await?;
    if server.json {
        print_json(&answer);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", schedules_table(&answer));
    Ok(ExitCode::SUCCESS)
}

/// The `listschedules.json` answer as a table.
pub fn schedules_table(answer: &Value) -> String {
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = answer
        .get("schedules")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|s| {
            let enabled = match s.get("enabled") {
                Some(Value::Bool(true)) => "yes".to_string(),
                Some(Value::Bool(false)) => "no".to_string(),
                other => cell(other),
            };
            vec![
                cell(s.get("id")),
                cell(s.get("project")),
                cell(s.get("spider")),
                cell(s.get("cron")),
                cell(s.get("timezone")),
                enabled,
                cell(s.get("overlap")),
                cell(s.get("next_run")),
                cell(s.get("last_job")),
            ]
        })
        .collect();
    table::render(
        &[
            "ID", "PROJECT", "SPIDER", "CRON", "TIMEZONE", "ENABLED", "OVERLAP", "NEXT RUN",
            "LAST JOB",
        ],
        &rows,
    )
}

async fn by_id(endpoint: &str, verb: &str, args: &IdArgs) -> anyhow::Result<ExitCode> {
    let client = ScrapydClient::new(&args.server)?;
    let answer = client
        .post(endpoint, &[("id".to_string(), args.id.clone())])
        .await?;
    if args.server.json {
        print_json(&answer);
    } else {
        println!("{verb} schedule {}", args.id);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_of_schedules() {
        let t = schedules_table(&json!({"status": "ok", "schedules": [
            {"id": "s1", "project": "p", "spider": "shop", "cron": "0 3 * * *",
             "timezone": "UTC", "enabled": true, "overlap": "skip", "next_run": null}
        ]}));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID"));
        assert!(lines[1].contains("0 3 * * *"));
        assert!(lines[1].contains("yes"));
        assert_eq!(schedules_table(&json!({"status": "ok"})).lines().count(), 1);
    }
}
