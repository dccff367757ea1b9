//! The one configuration loader of the control plane, used by `trawl serve` and the
//! Lambda functions alike: a TOML file with Scrapyd's option names (plus Trawl's own),
//! environment variables, and command-line flags, with one precedence —
//! defaults < file < environment < flags — and one set of checks.
//!
//! | option | file key | environment |
//! |---|---|---|
//! | listen address | `bind_address` | `SCRAPYD_BIND_ADDRESS` |
//! | port | `http_port` | `SCRAPYD_HTTP_PORT` |
//! | Basic auth | `username`, `password` | `SCRAPYD_USERNAME`, `SCRAPYD_PASSWORD` |
//! | listen beyond loopback without auth | `allow_unauthenticated` (default false) | `TRAWL_ALLOW_UNAUTHENTICATED` |
//! | open connections at most | `max_connections` (default 512) | `TRAWL_MAX_CONNECTIONS` |
//! | jobs at once | `max_proc` (0 = `max_proc_per_cpu` × CPUs) | `TRAWL_MAX_PROC` |
//! | jobs per CPU | `max_proc_per_cpu` (default 4) | `TRAWL_MAX_PROC_PER_CPU` |
//! | jobs per project | `max_proc_per_project` | `TRAWL_MAX_PROC_PER_PROJECT` |
//! | crawlers one job may use (`CONCURRENT_CRAWLERS` cap) | `max_crawlers_per_job` (default 16, at most 64) | `TRAWL_MAX_CRAWLERS_PER_JOB` |
//! | poll period (s) | `poll_interval` | `TRAWL_POLL_INTERVAL` |
//! | finished jobs kept | `finished_to_keep` (or Scrapyd's `jobs_to_keep`) | `TRAWL_FINISHED_TO_KEEP` |
//! | node name | `node_name` | `TRAWL_NODE_NAME` |
//! | data directory | `data_dir` | `TRAWL_DATA_DIR` |
//! | resume interrupted jobs from their checkpoint | `resume_interrupted` (default true) | `TRAWL_RESUME_INTERRUPTED` |
//! | segments that may die in a row before a job fails | `max_failed_segments` (default 3) | `TRAWL_MAX_FAILED_SEGMENTS` |
//! | requeue interrupted jobs (without a checkpoint) | `requeue_interrupted` | `TRAWL_REQUEUE_INTERRUPTED` |
//! | heartbeat timeout (s) | `heartbeat_timeout` | `TRAWL_HEARTBEAT_TIMEOUT` |
//! | schedule grace (s) | `schedule_grace` | `TRAWL_SCHEDULE_GRACE` |
//! | non-public ranges jobs may fetch | `allowed_destinations` (list of CIDRs) | `TRAWL_ALLOWED_DESTINATIONS` (comma-separated) |
//! | webhooks may reach loopback/private/link-local addresses | `webhook_allow_private` (default false) | `TRAWL_WEBHOOK_ALLOW_PRIVATE` |
//! | first webhook retry delay (s), doubled each time | `webhook_retry_base` (default 10) | `TRAWL_WEBHOOK_RETRY_BASE` |
//! | how long webhook deliveries are retried (s) | `webhook_retry_horizon` (default 86400) | `TRAWL_WEBHOOK_RETRY_HORIZON` |
//! | one delivery's time limit (s) | `webhook_timeout` (default 10) | `TRAWL_WEBHOOK_TIMEOUT` |
//! | the server's public URL (for `log_url`, `items_url` in events) | `public_url` | `TRAWL_PUBLIC_URL` |

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::control::ControlConfig;

/// A bad configuration value; `Display` names the option and its source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read or parsed.
    #[error("invalid config file: {0}")]
    File(String),
    /// An environment variable does not parse.
    #[error("environment variable {name}={value:?} is not valid")]
    Env {
        /// The variable.
        name: &'static str,
        /// Its value (truncated).
        value: String,
    },
    /// A value is out of range.
    #[error("{option}: {message}")]
    Invalid {
        /// The option's file key.
        option: &'static str,
        /// What is wrong.
        message: &'static str,
    },
}

/// Every option, each unset unless a source set it. Sources are merged with
/// [`Options::or`]; [`Options::control_config`] and the other getters check and
/// apply defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// `bind_address`.
    pub bind_address: Option<String>,
    /// `http_port`.
    pub http_port: Option<u16>,
    /// `username` (Basic auth).
    pub username: Option<String>,
    /// `password` (Basic auth).
    pub password: Option<String>,
    /// `allow_unauthenticated`: listen on a non-loopback address without credentials.
    pub allow_unauthenticated: Option<bool>,
    /// `max_connections`: HTTP connections open at once.
    pub max_connections: Option<usize>,
    /// `max_proc` (0 = per CPU).
    pub max_proc: Option<usize>,
    /// `max_proc_per_cpu`.
    pub max_proc_per_cpu: Option<usize>,
    /// `max_proc_per_project` (0 = no per-project limit).
    pub max_proc_per_project: Option<usize>,
    /// `max_crawlers_per_job`.
    pub max_crawlers_per_job: Option<usize>,
    /// `poll_interval`, seconds.
    pub poll_interval: Option<f64>,
    /// `finished_to_keep`.
    pub finished_to_keep: Option<usize>,
    /// Scrapyd's older name of `finished_to_keep`.
    pub jobs_to_keep: Option<usize>,
    /// `node_name`.
    pub node_name: Option<String>,
    /// `data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `resume_interrupted`.
    pub resume_interrupted: Option<bool>,
    /// `max_failed_segments`.
    pub max_failed_segments: Option<u32>,
    /// `requeue_interrupted`.
    pub requeue_interrupted: Option<bool>,
    /// `heartbeat_timeout`, seconds.
    pub heartbeat_timeout: Option<f64>,
    /// `schedule_grace`, seconds.
    pub schedule_grace: Option<f64>,
    /// `allowed_destinations`: CIDR ranges (`127.0.0.0/8`, `10.1.2.3`, `fd00::/8`).
    pub allowed_destinations: Option<Vec<String>>,
    /// `webhook_allow_private`.
    pub webhook_allow_private: Option<bool>,
    /// `webhook_retry_base`, seconds.
    pub webhook_retry_base: Option<f64>,
    /// `webhook_retry_horizon`, seconds.
    pub webhook_retry_horizon: Option<f64>,
    /// `webhook_timeout`, seconds.
    pub webhook_timeout: Option<f64>,
    /// `public_url`.
    pub public_url: Option<String>,
}

fn lookup(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError> {
    match lookup(env, name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| ConfigError::Env {
            name,
            value: v.chars().take(64).collect(),
        }),
    }
}

impl Options {
    /// The options of a TOML config file's text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml_parse(text)
    }

    /// The options set in the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&|name| std::env::var(name).ok())
    }

    /// The options set by variables looked up with `env` (empty values count as unset).
    pub fn from_vars(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Options {
            bind_address: lookup(env, "SCRAPYD_BIND_ADDRESS"),
            http_port: parse(env, "SCRAPYD_HTTP_PORT")?,
            username: lookup(env, "SCRAPYD_USERNAME"),
            password: lookup(env, "SCRAPYD_PASSWORD"),
            allow_unauthenticated: parse(env, "TRAWL_ALLOW_UNAUTHENTICATED")?,
            max_connections: parse(env, "TRAWL_MAX_CONNECTIONS")?,
            max_proc: parse(env, "TRAWL_MAX_PROC")?,
            max_proc_per_cpu: parse(env, "TRAWL_MAX_PROC_PER_CPU")?,
            max_proc_per_project: parse(env, "TRAWL_MAX_PROC_PER_PROJECT")?,
            max_crawlers_per_job: parse(env, "TRAWL_MAX_CRAWLERS_PER_JOB")?,
            poll_interval: parse(env, "TRAWL_POLL_INTERVAL")?,
            finished_to_keep: parse(env, "TRAWL_FINISHED_TO_KEEP")?,
            jobs_to_keep: None,
            node_name: lookup(env, "TRAWL_NODE_NAME"),
            data_dir: lookup(env, "TRAWL_DATA_DIR").map(PathBuf::from),
            resume_interrupted: parse(env, "TRAWL_RESUME_INTERRUPTED")?,
            max_failed_segments: parse(env, "TRAWL_MAX_FAILED_SEGMENTS")?,
            requeue_interrupted: parse(env, "TRAWL_REQUEUE_INTERRUPTED")?,
            heartbeat_timeout: parse(env, "TRAWL_HEARTBEAT_TIMEOUT")?,
            schedule_grace: parse(env, "TRAWL_SCHEDULE_GRACE")?,
            allowed_destinations: lookup(env, "TRAWL_ALLOWED_DESTINATIONS").map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            webhook_allow_private: parse(env, "TRAWL_WEBHOOK_ALLOW_PRIVATE")?,
            webhook_retry_base: parse(env, "TRAWL_WEBHOOK_RETRY_BASE")?,
            webhook_retry_horizon: parse(env, "TRAWL_WEBHOOK_RETRY_HORIZON")?,
            webhook_timeout: parse(env, "TRAWL_WEBHOOK_TIMEOUT")?,
            public_url: lookup(env, "TRAWL_PUBLIC_URL"),
        })
    }

    /// These options over `lower`: every option set here wins.
    pub fn or(self, lower: Options) -> Options {
        Options {
            bind_address: self.bind_address.or(lower.bind_address),
            http_port: self.http_port.or(lower.http_port),
            username: self.username.or(lower.username),
            password: self.password.or(lower.password),
            allow_unauthenticated: self.allow_unauthenticated.or(lower.allow_unauthenticated),
            max_connections: self.max_connections.or(lower.max_connections),
            max_proc: self.max_proc.or(lower.max_proc),
            max_proc_per_cpu: self.max_proc_per_cpu.or(lower.max_proc_per_cpu),
            max_proc_per_project: self.max_proc_per_project.or(lower.max_proc_per_project),
            max_crawlers_per_job: self.max_crawlers_per_job.or(lower.max_crawlers_per_job),
            poll_interval: self.poll_interval.or(lower.poll_interval),
            finished_to_keep: self
                .finished_to_keep
                .or(self.jobs_to_keep)
                .or(lower.finished_to_keep)
                .or(lower.jobs_to_keep),
            jobs_to_keep: None,
            node_name: self.node_name.or(lower.node_name),
            data_dir: self.data_dir.or(lower.data_dir),
            resume_interrupted: self.resume_interrupted.or(lower.resume_interrupted),
            max_failed_segments: self.max_failed_segments.or(lower.max_failed_segments),
            requeue_interrupted: self.requeue_interrupted.or(lower.requeue_interrupted),
            heartbeat_timeout: self.heartbeat_timeout.or(lower.heartbeat_timeout),
            schedule_grace: self.schedule_grace.or(lower.schedule_grace),
            allowed_destinations: self.allowed_destinations.or(lower.allowed_destinations),
            webhook_allow_private: self.webhook_allow_private.or(lower.webhook_allow_private),
            webhook_retry_base: self.webhook_retry_base.or(lower.webhook_retry_base),
            webhook_retry_horizon: self.webhook_retry_horizon.or(lower.webhook_retry_horizon),
            webhook_timeout: self.webhook_timeout.or(lower.webhook_timeout),
            public_url: self.public_url.or(lower.public_url),
        }
    }

    /// The control plane's limits and names; `default_node_name` when none is set.
    pub fn control_config(&self, default_node_name: &str) -> Result<ControlConfig, ConfigError> {
        let mut c = ControlConfig::default();
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        c.max_proc = match self.max_proc.unwrap_or(0) {
            0 => self.max_proc_per_cpu.unwrap_or(4) * cpus,
            n => n,
        };
        if c.max_proc == 0 {
            return Err(ConfigError::Invalid {
                option: "max_proc_per_cpu",
                message: "must be at least 1",
            });
        }
        if let Some(n) = self.max_proc_per_project {
            c.max_proc_per_project = n;
        }
        if let Some(n) = self.max_crawlers_per_job {
            if n == 0 || n > crate::frontier::MAX_CRAWLERS {
                return Err(ConfigError::Invalid {
                    option: "max_crawlers_per_job",
                    message: "must be between 1 and 64",
                });
            }
            c.max_crawlers_per_job = n;
        }
        if let Some(n) = self.finished_to_keep.or(self.jobs_to_keep) {
            c.finished_to_keep = n;
        }
        c.node_name = self
            .node_name
            .clone()
            .unwrap_or_else(|| default_node_name.to_string());
        if let Some(r) = self.requeue_interrupted {
            c.requeue_interrupted = r;
        }
        if let Some(r) = self.resume_interrupted {
            c.resume_interrupted = r;
        }
        if let Some(n) = self.max_failed_segments {
            if n == 0 {
                return Err(ConfigError::Invalid {
                    option: "max_failed_segments",
                    message: "must be at least 1",
                });
            }
            c.max_failed_segments = n;
        }
        if let Some(s) = self.heartbeat_timeout {
            c.heartbeat_timeout = chrono_secs(positive("heartbeat_timeout", s)?);
        }
        if let Some(s) = self.schedule_grace {
            if !(s >= 0.0 && s.is_finite()) {
                return Err(ConfigError::Invalid {
                    option: "schedule_grace",
                    message: "must be zero or a positive number of seconds",
                });
            }
            c.schedule_grace = chrono_secs(s);
        }
        for range in self.allowed_destinations.iter().flatten() {
            let cidr = range.parse().map_err(|_| ConfigError::Invalid {
                option: "allowed_destinations",
                message: "each entry is an address or a CIDR range such as 127.0.0.0/8",
            })?;
            c.allowed_destinations.push(cidr);
        }
        self.events_config(&mut c.events)?;
        Ok(c)
    }

    /// Applies the webhook options.
    fn events_config(&self, e: &mut crate::events::EventsConfig) -> Result<(), ConfigError> {
        if let Some(b) = self.webhook_allow_private {
            e.allow_private = b;
        }
        let secs = |option, v: Option<f64>| -> Result<Option<Duration>, ConfigError> {
            v.map(|s| positive(option, s).map(Duration::from_secs_f64))
                .transpose()
        };
        if let Some(d) = secs("webhook_retry_base", self.webhook_retry_base)? {
            e.retry_base = d;
        }
        if let Some(d) = secs("webhook_retry_horizon", self.webhook_retry_horizon)? {
            e.retry_horizon = d;
        }
        if let Some(d) = secs("webhook_timeout", self.webhook_timeout)? {
            e.timeout = d;
        }
        if let Some(url) = &self.public_url {
            if url::Url::parse(url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
                return Err(ConfigError::Invalid {
                    option: "public_url",
                    message: "must be an absolute http or https URL",
                });
            }
            e.public_url = Some(url.trim_end_matches('/').to_string());
        }
        Ok(())
    }

    /// The poll period (default 5 s).
    pub fn poll_interval(&self) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs_f64(positive(
            "poll_interval",
            self.poll_interval.unwrap_or(5.0),
        )?))
    }

    /// Basic auth credentials: both or neither.
    pub fn auth(&self) -> Result<Option<(String, String)>, ConfigError> {
        let user = self.username.clone().filter(|s| !s.is_empty());
        let pass = self.password.clone().filter(|s| !s.is_empty());
        match (user, pass) {
            (Some(u), Some(p)) => Ok(Some((u, p))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::Invalid {
                option: "username",
                message: "set both username and password, or neither",
            }),
        }
    }
}

fn positive(option: &'static str, s: f64) -> Result<f64, ConfigError> {
    if s > 0.0 && s.is_finite() && s < 1e9 {
        Ok(s)
    } else {
        Err(ConfigError::Invalid {
            option,
            message: "must be a positive number of seconds",
        })
    }
}

fn chrono_secs(s: f64) -> chrono::Duration {
    chrono::Duration::milliseconds((s * 1000.0) as i64)
}

fn toml_parse(text: &str) -> Result<Options, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::File(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_beats_file_and_flags_beat_both() {
        let file = Options::from_toml(
            "node_name = 'file'\nmax_proc = 3\nheartbeat_timeout = 9\nrequeue_interrupted = true\njobs_to_keep = 7",
        )
        .unwrap();
        let env = Options::from_vars(&vars(&[
            ("TRAWL_NODE_NAME", "env"),
            ("TRAWL_HEARTBEAT_TIMEOUT", "30"),
            ("TRAWL_SCHEDULE_GRACE", "0"),
            ("TRAWL_FINISHED_TO_KEEP", "12"),
            ("TRAWL_REQUEUE_INTERRUPTED", "false"),
            ("TRAWL_ALLOWED_DESTINATIONS", "127.0.0.0/8, ::1"),
        ]))
        .unwrap();
        let flags = Options {
            max_proc: Some(5),
            ..Options::default()
        };
        let merged = flags.or(env.or(file));
        let c = merged.control_config("host").unwrap();
        assert_eq!(c.node_name, "env");
        assert_eq!(c.max_proc, 5);
        assert_eq!(c.heartbeat_timeout, chrono::Duration::seconds(30));
        assert_eq!(c.schedule_grace, chrono::Duration::zero());
        assert_eq!(c.finished_to_keep, 12);
        assert!(!c.requeue_interrupted);
        let ranges: Vec<String> = c
            .allowed_destinations
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(ranges, ["127.0.0.0/8", "::1/128"]);
    }

    #[test]
    fn bad_values_are_named() {
        let e = Options::from_vars(&vars(&[("TRAWL_HEARTBEAT_TIMEOUT", "soon")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable TRAWL_HEARTBEAT_TIMEOUT=\"soon\" is not valid"
        );
        let o = Options {
            heartbeat_timeout: Some(-1.0),
            ..Options::default()
        };
        assert!(o
            .control_config("n")
            .unwrap_err()
            .to_string()
            .starts_with("heartbeat_timeout: "));
        let o = Options {
            username: Some("u".into()),
            ..Options::default()
        };
        assert!(o.auth().is_err());
        assert!(Options::from_toml("nonsense = 1").is_err());
        assert!(Options::default().poll_interval().is_ok());
        let o = Options {
            poll_interval: Some(0.0),
            ..Options::default()
        };
        assert!(o.poll_interval().is_err());
    }

    #[test]
    fn webhook_options_are_read_and_checked() {
        let env = Options::from_vars(&vars(&[
            ("TRAWL_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("TRAWL_WEBHOOK_RETRY_BASE", "0.5"),
            ("TRAWL_WEBHOOK_RETRY_HORIZON", "3600"),
            ("TRAWL_PUBLIC_URL", "https://trawl.example/"),
        ]))
        .unwrap();
        let e = Options::from_toml("webhook_timeout = 3")
            .unwrap()
            .or(env)
            .control_config("n")
            .unwrap()
            .events;
        assert!(e.allow_private);
        assert_eq!(e.retry_base, Duration::from_millis(500));
        assert_eq!(e.retry_horizon, Duration::from_secs(3600));
        assert_eq!(e.timeout, Duration::from_secs(3));
        assert_eq!(e.public_url.as_deref(), Some("https://trawl.example"));
        assert!(
            !Options::default()
                .control_config("n")
                .unwrap()
                .events
                .allow_private
        );
        for bad in [
            "webhook_timeout = 0",
            "webhook_retry_base = -1",
            "public_url = 'ftp://x'",
        ] {
            let o = Options::from_toml(bad).unwrap();
            assert!(o.control_config("n").is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_use_the_given_node_name() {
        let c = Options::default().control_config("myhost").unwrap();
        assert_eq!(c.node_name, "myhost");
        assert!(c.max_proc >= 4);
    }
}
