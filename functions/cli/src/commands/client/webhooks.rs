//! `trawl webhooks add|list|del`: where a project's job, schedule and deploy events are
//! POSTed (signed), a Trawl extension.

use std::process::ExitCode;

use serde_json::Value;

use super::api::ScrapydClient;
use super::{cell, print_json, table, ServerOpts};

/// `trawl webhooks` arguments.
#[derive(clap::Args, Debug)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

/// The `trawl webhooks` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum WebhooksCommand {
    /// Register a webhook; prints its secret (shown only once).
    Add {
        /// The project.
        project: String,
        /// Where to POST events (http or https).
        #[arg(value_name = "WEBHOOK_URL")]
        target: String,
        /// Event kinds: comma-separated (job.finished,schedule.missed), job.*, or *.
        #[arg(long, default_value = "*")]
        events: String,
        /// The signing secret (16+ characters; generated when absent).
        #[arg(long)]
        secret: Option<String>,
        #[command(flatten)]
        server: ServerOpts,
    },
    /// List a project's webhooks with their last delivery.
    #[command(alias = "ls")]
    List {
        /// The project.
        project: String,
        #[command(flatten)]
        server: ServerOpts,
    },
    /// Delete a webhook.
    #[command(alias = "rm")]
    Del {
        /// The project.
        project: String,
        /// The webhook id.
        id: String,
        #[command(flatten)]
        server: ServerOpts,
    },
}

/// `trawl webhooks`.
pub async fn run(args: WebhooksArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        WebhooksCommand::Add {
            project,
            target,
            events,
            secret,
            server,
        } => {
            let client = ScrapydClient::new(&server)?;
            let mut form = vec![
                ("project".to_string(), project),
                ("url".to_string(), target),
                ("events".to_string(), events),
            ];
            form.extend(secret.map(|s| ("secret".to_string(), s)));
            let answer = client.post("addwebhook.json", &form).await?;
            if server.json {
                print_json(&answer);
            } else {
                println!("Added webhook {}", cell(answer.get("id")));
                println!("Secret (shown only now): {}", cell(answer.get("secret")));
            }
        }
        WebhooksCommand::List { project, server } => {
            let client = ScrapydClient::new(&server)?;
            let answer = client
                .get("listwebhooks.json", &[("project", &project)])
                .await?;
            if server.json {
                print_json(&answer);
            } else {
                print!("{}", webhooks_table(&answer));
            }
        }
        WebhooksCommand::Del {
            project,
            id,
            server,
        } => {
            let client = ScrapydClient::new(&server)?;
            let form = [
                ("project".to_string(), project),
                ("id".to_string(), id.clone()),
            ];
            let answer = client.post("delwebhook.json", &form).await?;
            if server.json {
                print_json(&answer);
            } else {
                println!("Deleted webhook {id}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `listwebhooks.json` answer as a table: each webhook with its last delivery.
pub fn webhooks_table(answer: &Value) -> String {
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = answer
        .get("webhooks")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|w| {
            let events = w
                .get("events")
                .and_then(Value::as_array)
                .map(|e| {
                    e.iter()
                        .map(|k| cell(Some(k)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let last = w
                .get("deliveries")
                .and_then(Value::as_array)
                .and_then(|d| d.first());
            let outcome = match last {
                None => "-".to_string(),
                Some(d) if d.get("ok") == Some(&Value::Bool(true)) => {
                    format!("ok {}", cell(d.get("status")))
                }
                Some(d) => format!(
                    "failed (attempt {}): {}",
                    cell(d.get("attempt")),
                    cell(d.get("error"))
                ),
            };
            vec![
                cell(w.get("id")),
                cell(w.get("url")),
                events,
                cell(w.get("secret_hint")),
                last.map_or_else(|| "-".to_string(), |d| cell(d.get("at"))),
                outcome,
            ]
        })
        .collect();
    table::render(
        &["ID", "URL", "EVENTS", "SECRET", "LAST DELIVERY", "OUTCOME"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_of_webhooks() {
        let t = webhooks_table(&json!({"status": "ok", "webhooks": [
            {"id": "wh_1", "url": "https://x/", "events": ["job.finished"],
             "secret_hint": "whsec_ab12…",
             "deliveries": [{"at": "2026-03-01 12:00:00.000000", "attempt": 2,
                             "ok": false, "error": "HTTP 500"}]},
            {"id": "wh_2", "url": "https://y/", "events": ["*"], "deliveries": []}
        ]}));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains("failed (attempt 2): HTTP 500"), "{t}");
        assert!(lines[2].contains('*'), "{t}");
        assert_eq!(webhooks_table(&json!({"status": "ok"})).lines().count(), 1);
    }
}
