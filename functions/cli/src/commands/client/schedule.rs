//! `trawl schedule PROJECT SPIDER`: queue a job (`schedule.json`), or with `--cron` add
//! a recurring schedule (`addschedule.json`).

use std::process::ExitCode;

use super::api::ScrapydClient;
use super::{cell, print_json, split_pairs, ServerOpts};
use serde_json::Value;

/// Parameter names the server reserves: a spider argument cannot use them.
const RESERVED: &[&str] = &[
    "project", "spider", "_version", "jobid", "priority", "setting", "cron", "timezone", "enabled",
    "overlap",
];

/// What to run: shared by one-off jobs and schedules.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The project.
    pub project: String,
    /// The spider.
    pub spider: String,
    /// Spider argument NAME=VALUE (repeatable).
    #[arg(short = 'a', value_name = "NAME=VALUE")]
    pub args: Vec<String>,
    /// Setting NAME=VALUE (repeatable).
    #[arg(short = 's', long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Job priority (higher runs first).
    #[arg(long)]
    pub priority: Option<f64>,
}

/// How a schedule behaves.
#[derive(clap::Args, Debug, Clone)]
pub struct CronOpts {
    /// IANA time zone of the cron expression (the server's default: UTC).
    #[arg(long)]
    pub timezone: Option<String>,
    /// What to do when the previous run is still going.
    #[arg(long, value_enum, default_value = "skip")]
    pub overlap: Overlap,
    /// Add the schedule disabled.
    #[arg(long)]
    pub disabled: bool,
}

/// The overlap policy of a schedule.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Skip a run while the previous one is pending or running.
    Skip,
    /// Start runs regardless.
    Allow,
}

/// `trawl schedule` arguments.
#[derive(clap::Args, Debug)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Run this deployed version (default: the latest).
    #[arg(long, conflicts_with = "cron")]
    pub version: Option<String>,
    /// Job id (default: chosen by the server).
    #[arg(long, conflicts_with = "cron")]
    pub jobid: Option<String>,
    /// Add a recurring schedule with this cron expression instead of one job.
    #[arg(long)]
    pub cron: Option<String>,
    #[command(flatten)]
    pub cron_opts: CronOpts,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// The form shared by `schedule.json` and `addschedule.json`: project, spider,
/// priority, `setting=K=V` entries, then spider arguments as their own parameters.
pub fn run_params(run: &RunArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut form = vec![
        ("project".to_string(), run.project.clone()),
        ("spider".to_string(), run.spider.clone()),
    ];
    if let Some(p) = run.priority {
        form.push(("priority".into(), p.to_string()));
    }
    for (k, v) in split_pairs(&run.set, "setting")? {
        form.push(("setting".into(), format!("{k}={v}")));
    }
    for (k, v) in split_pairs(&run.args, "spider argument")? {
        if RESERVED.contains(&k.as_str()) {
            anyhow::bail!("spider argument {k:?} clashes with the API parameter of that name");
        }
        form.push((k, v));
    }
    Ok(form)
}

/// The `schedule.json` form.
pub fn job_params(
    run: &RunArgs,
    version: Option<&str>,
    jobid: Option<&str>,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut form = run_params(run)?;
    if let Some(v) = version {
        form.push(("_version".into(), v.to_string()));
    }
    if let Some(j) = jobid {
        form.push(("jobid".into(), j.to_string()));
    }
    Ok(form)
}

/// The `addschedule.json` form.
pub fn cron_params(
    run: &RunArgs,
    cron: &str,
    opts: &CronOpts,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut form = run_params(run)?;
    form.push(("cron".into(), cron.to_string()));
    if let Some(tz) = &opts.timezone {
        form.push(("timezone".into(), tz.clone()));
    }
    form.push(("enabled".into(), (!opts.disabled).to_string()));
    let overlap = match opts.overlap {
        Overlap::Skip => "skip",
        Overlap::Allow => "allow",
    };
    form.push(("overlap".into(), overlap.into()));
    Ok(form)
}

/// Adds a schedule; prints its id.
pub async fn add_schedule(
    run: &RunArgs,
    cron: &str,
    opts: &CronOpts,
    server: &ServerOpts,
) -> anyhow::Result<ExitCode> {
    let form = cron_params(run, cron, opts)?;
    let client = ScrapydClient::new(server)?;
    let answer = client.post("addschedule.json", &form).await?;
    if server.json {
        print_json(&answer);
        return Ok(ExitCode::SUCCESS);
    }
    let s = schedule_of(&answer);
    let next = s.get("next_run").filter(|v| !v.is_null());
    match next {
        Some(n) => println!("{} (next run {})", cell(s.get("id")), cell(Some(n))),
        None => println!("{}", cell(s.get("id"))),
    }
    Ok(ExitCode::SUCCESS)
}

/// The schedule in an answer: under `schedule` when present, else the answer itself.
fn schedule_of(answer: &Value) -> &Value {
    answer
        .get("schedule")
        .filter(|v| v.is_object())
        .unwrap_or(answer)
}

/// `trawl schedule`.
pub async fn run(args: ScheduleArgs) -> anyhow::Result<ExitCode> {
    if let Some(cron) = &args.cron {
        return add_schedule(&args.run, cron, &args.cron_opts, &args.server).await;
    }
    let form = job_params(&args.run, args.version.as_deref(), args.jobid.as_deref())?;
    let client = ScrapydClient::new(&args.server)?;
    let answer = client.post("schedule.json", &form).await?;
    if args.server.json {
        print_json(&answer);
    } else {
        println!("{}", super::cell(answer.get("jobid")));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: ScheduleArgs,
    }

    fn parse(args: &[&str]) -> Result<ScheduleArgs, clap::Error> {
        T::try_parse_from(std::iter::once("schedule").chain(args.iter().copied())).map(|t| t.a)
    }

    fn pairs(form: &[(String, String)]) -> Vec<String> {
        form.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    #[test]
    fn job_form() {
        let a = parse(&[
            "p",
            "shop",
            "-a",
            "site=http://h/?a=b",
            "-s",
            "DOWNLOAD_DELAY=0.5",
            "-s",
            "USER_AGENT=x=y",
            "--priority",
            "1.5",
            "--version",
            "v2",
            "--jobid",
            "j1",
        ])
        .unwrap();
        let form = job_params(&a.run, a.version.as_deref(), a.jobid.as_deref()).unwrap();
        assert_eq!(
            pairs(&form),
            [
                "project=p",
                "spider=shop",
                "priority=1.5",
                "setting=DOWNLOAD_DELAY=0.5",
                "setting=USER_AGENT=x=y",
                "site=http://h/?a=b",
                "_version=v2",
                "jobid=j1",
            ]
        );
    }

    #[test]
    fn cron_form() {
        let a = parse(&[
            "p",
            "shop",
            "--cron",
            "0 3 * * *",
            "--timezone",
            "Europe/Paris",
            "--overlap",
            "allow",
            "--disabled",
            "-a",
            "k=v",
        ])
        .unwrap();
        let form = cron_params(&a.run, a.cron.as_deref().unwrap(), &a.cron_opts).unwrap();
        assert_eq!(
            pairs(&form),
            [
                "project=p",
                "spider=shop",
                "k=v",
                "cron=0 3 * * *",
                "timezone=Europe/Paris",
                "enabled=false",
                "overlap=allow",
            ]
        );
        let a = parse(&["p", "s", "--cron", "* * * * *"]).unwrap();
        let form = cron_params(&a.run, "* * * * *", &a.cron_opts).unwrap();
        assert!(pairs(&form).contains(&"enabled=true".to_string()));
        assert!(pairs(&form).contains(&"overlap=skip".to_string()));
    }

    #[test]
    fn bad_arguments_are_refused() {
        let a = parse(&["p", "s", "-a", "novalue"]).unwrap();
        assert!(run_params(&a.run).is_err());
        let a = parse(&["p", "s", "-a", "jobid=x"]).unwrap();
        let err = run_params(&a.run).unwrap_err().to_string();
        assert!(err.contains("clashes"), "{err}");
        assert!(parse(&["p", "s", "--cron", "* * * * *", "--jobid", "j"]).is_err());
        assert!(parse(&["p", "s", "--overlap", "never"]).is_err());
        assert!(parse(&["p", "s", "--priority", "high"]).is_err());
        assert!(parse(&["p"]).is_err());
    }

    #[test]
    fn schedule_in_answer() {
        let a = serde_json::json!({"status": "ok", "schedule": {"id": "x"}});
        assert_eq!(schedule_of(&a)["id"], "x");
        let a = serde_json::json!({"status": "ok", "id": "y"});
        assert_eq!(schedule_of(&a)["id"], "y");
    }
}
