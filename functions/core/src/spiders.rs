//! Which spider a job runs: a spec of the project's bundle, or a Rust spider of the
//! control plane's [`SpiderRegistry`] ([`ControlConfig::spiders`]).
//!
//! Registered spiders belong to every project: `listspiders.json` lists them next to the
//! bundle's spiders, and `schedule.json` accepts them. A project must still exist (have
//! a deployed version): Scrapyd's `project not found` stays. On a name clash the
//! bundle's spider wins, so a deployed spec can replace a compiled-in spider without a
//! new binary.
//!
//! [`ControlConfig::spiders`]: crate::ControlConfig::spiders

use std::collections::BTreeMap;
use std::sync::Arc;

use trawl_engine::registry::{SpiderArgs, SpiderRegistry};
use trawl_engine::settings::Priority;
use trawl_engine::{Settings, Spider};

use crate::control::{ApiError, ApiResult, Control};
use crate::model::Version;

/// A spider ready to run a job.
pub struct JobSpider {
    /// The version the job runs (the named one, or the project's latest).
    pub version: Version,
    /// The spider.
    pub spider: Arc<dyn Spider>,
    /// Where it came from.
    pub source: SpiderSource,
}

/// Where a job's spider came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpiderSource {
    /// A spec of the version's bundle; `incremental` is the spec's DeltaFetch flag.
    Bundle {
        /// The spec emits only items earlier runs did not.
        incremental: bool,
    },
    /// The control plane's registry (the bundle has no spider of that name).
    Registry,
}

/// The job's settings as engine settings, at command-line priority.
pub fn job_settings(settings: &BTreeMap<String, String>) -> Settings {
    let mut s = Settings::new();
    for (k, v) in settings {
        s.set(k, v.clone(), Priority::Cmdline);
    }
    s
}

impl Control {
    /// The Rust spiders every project has.
    pub fn spiders(&self) -> &SpiderRegistry {
        &self.cfg.spiders
    }

    /// Builds spider `name` of `project` (at `version`, or the latest) with the job's
    /// arguments and settings: the bundle's spec of that name, else the registered
    /// spider. Unknown project or version: Scrapyd's errors; unknown spider:
    /// [`ApiError::SpiderNotFound`]; arguments the spider refuses: an invalid
    /// `spider arguments` parameter.
    pub async fn job_spider(
        &self,
        project: &str,
        version: Option<&str>,
        name: &str,
        args: &BTreeMap<String, String>,
        settings: &BTreeMap<String, String>,
    ) -> ApiResult<JobSpider> {
        let version = self.resolve_version(project, version).await?;
        let bundle = self.bundle(&version).await?;
        let invalid = |e: String| ApiError::invalid("spider arguments", e);
        if let Some(spec) = bundle.get(name) {
            let pairs: Vec<(String, String)> = args.clone().into_iter().collect();
            let spider = spec.spider(&pairs).map_err(|e| invalid(e.to_string()))?;
            let incremental = spider.spec().incremental;
            // A spec's own settings pass the same policy as an API caller's.
            crate::policy::check_setting_names(spider.spec().settings.keys().map(String::as_str))
                .map_err(|e| ApiError::invalid("spider", format!("{name}: {e}")))?;
            return Ok(JobSpider {
                version,
                spider: Arc::new(spider),
                source: SpiderSource::Bundle { incremental },
            });
        }
        let args = SpiderArgs::from(args.clone());
        match self
            .cfg
            .spiders
            .create(name, &args, &job_settings(settings))
        {
            Some(Ok(spider)) => Ok(JobSpider {
                version,
                spider,
                source: SpiderSource::Registry,
            }),
            Some(Err(e)) => Err(invalid(format!("{e:#}"))),
            None => Err(ApiError::SpiderNotFound(name.to_string())),
        }
    }

    /// The spiders of a version: its bundle's and the registered ones, sorted, each once.
    pub(crate) fn spider_names(&self, version: &Version) -> Vec<String> {
        let mut names = version.spiders.clone();
        names.extend(self.cfg.spiders.names());
        names.sort();
        names.dedup();
        names
    }
}
