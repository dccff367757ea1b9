//! The folders of job logs and items (`logs/{project}/{spider}/`, `items/...`) that the
//! API lists like Scrapyd's `/logs/` and `/items/` directory listings.

use crate::control::{ApiResult, Control};
use crate::names::is_valid_name;
use crate::ports::BlobEntry;

/// Which files of jobs a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFiles {
    /// Job logs, `{job}.log`.
    Logs,
    /// Job item feeds, `{job}.jl`.
    Items,
}

impl JobFiles {
    /// The top folder: `logs` or `items`.
    pub fn folder(self) -> &'static str {
        match self {
            JobFiles::Logs => "logs",
            JobFiles::Items => "items",
        }
    }

    /// The extension of a job's file: `.log` or `.jl`.
    pub fn extension(self) -> &'static str {
        match self {
            JobFiles::Logs => ".log",
            JobFiles::Items => ".jl",
        }
    }
}

impl Control {
    /// The entries of a folder of job files: the top folder (one folder per project),
    /// a project's (one per spider) or a spider's (its jobs' files). The top folder
    /// always exists (empty until a job ran); `None` for a project or spider folder
    /// that holds nothing, or whose name no project or spider can have.
    pub async fn list_job_files(
        &self,
        kind: JobFiles,
        project: Option<&str>,
        spider: Option<&str>,
    ) -> ApiResult<Option<Vec<BlobEntry>>> {
        let mut prefix = format!("{}/", kind.folder());
        let names: Vec<&str> = [project, spider].into_iter().flatten().collect();
        for name in &names {
            if !is_valid_name(name) {
                return Ok(None);
            }
            prefix.push_str(name);
            prefix.push('/');
        }
        let entries = self.stores.blobs.list(&prefix).await?;
        if entries.is_empty() && !names.is_empty() {
            return Ok(None);
        }
        Ok(Some(entries))
    }
}
