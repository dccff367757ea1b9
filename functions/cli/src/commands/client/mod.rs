//! Client commands for a Trawl or Scrapyd server, like scrapyd-client: deploy specs,
//! schedule and cancel jobs, list jobs, read and follow logs.
//!
//! Every command takes [`ServerOpts`] (`--url`, `--username`, `--password`, `--json`)
//! and talks to the server through [`api::ScrapydClient`].

pub mod api;
pub mod cancel;
pub mod deploy;
pub mod jobs;
pub mod list;
pub mod logs;
pub mod schedule;
pub mod schedules;
pub mod status;
mod table;
pub mod webhooks;

use serde_json::Value;

/// Where the server is and how to talk to it; shared by every client command.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerOpts {
    /// Server URL (Trawl or Scrapyd).
    #[arg(long, env = "TRAWL_URL", default_value = "http://localhost:6800")]
    pub url: String,
    /// HTTP Basic user name.
    #[arg(long, env = "TRAWL_USERNAME")]
    pub username: Option<String>,
    /// HTTP Basic password.
    #[arg(long, env = "TRAWL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Print the server's raw JSON answers.
    #[arg(long)]
    pub json: bool,
}

/// Prints a JSON answer as is (pretty-printed).
pub fn print_json(answer: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(answer).unwrap_or_else(|_| answer.to_string())
    );
}

/// A JSON value as a table cell: strings bare, null and absent as `-`.
pub fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) if s.is_empty() => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Splits `NAME=VALUE` pairs (split at the first `=`); `what` names them in errors.
pub fn split_pairs(pairs: &[String], what: &str) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => anyhow::bail!("invalid {what} {p:?}: expected NAME=VALUE"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals() {
        let got = split_pairs(&["a=b=c".into(), " k =".into()], "argument").unwrap();
        assert_eq!(
            got,
            vec![("a".into(), "b=c".into()), ("k".into(), String::new())]
        );
        assert!(split_pairs(&["novalue".into()], "argument").is_err());
        assert!(split_pairs(&["=v".into()], "setting").is_err());
    }

    #[test]
    fn cells() {
        assert_eq!(cell(None), "-");
        assert_eq!(cell(Some(&Value::Null)), "-");
        assert_eq!(cell(Some(&Value::from("x"))), "x");
        assert_eq!(cell(Some(&Value::from(3))), "3");
    }
}
