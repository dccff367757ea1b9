//! `trawl logs PROJECT SPIDER JOB [-f]`: print a job log, or follow it until the job ends.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::api::{LogRead, ScrapydClient};
use super::ServerOpts;

/// How often `-f` polls.
const POLL: Duration = Duration::from_millis(500);

/// `trawl logs` arguments.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// The project.
    pub project: String,
    /// The spider.
    pub spider: String,
    /// The job id.
    pub job: String,
    /// Keep printing new lines until the job is finished.
    #[arg(short = 'f', long)]
    pub follow: bool,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// Tracks how much of a log has been printed, across ranged and full reads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Follower {
    /// Bytes printed so far (the next `Range` start).
    pub offset: u64,
}

impl Follower {
    /// The part of `read` not printed yet; advances the offset past it.
    ///
    /// A 206 starting before the offset is trimmed, one starting after it is printed
    /// whole; a 200 (the server ignored `Range`) is cut at the offset, unless the log
    /// shrank (rotated or rewritten), in which case it is printed from the start.
    pub fn advance<'a>(&mut self, read: &'a LogRead) -> &'a [u8] {
        match read {
            LogRead::Partial { start, bytes } => {
                let end = start + bytes.len() as u64;
                if end <= self.offset {
                    return &[];
                }
                let skip = self.offset.saturating_sub(*start) as usize;
                self.offset = end;
                &bytes[skip..]
            }
            LogRead::Full(bytes) => {
                let len = bytes.len() as u64;
                let from = if len >= self.offset { self.offset } else { 0 };
                self.offset = len;
                &bytes[from as usize..]
            }
            LogRead::NothingNew | LogRead::Missing => &[],
        }
    }
}

/// `trawl logs`.
pub async fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let client = ScrapydClient::new(&args.server)?;
    let url = client.log_url(&args.project, &args.spider, &args.job);
    let mut out = std::io::stdout().lock();
    if !args.follow {
        let mut f = Follower::default();
        let read = client.read_log(&url, 0).await?;
        if read == LogRead::Missing {
            anyhow::bail!("no log at {url} (unknown job, or not started yet)");
        }
        out.write_all(f.advance(&read))?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut f = Follower::default();
    loop {
        // Ask for the state first: once finished, the read below is the remainder.
        let done = job_done(&client, &args.project, &args.job).await?;
        let read = client.read_log(&url, f.offset).await?;
        out.write_all(f.advance(&read))?;
        out.flush()?;
        if done {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether following should stop: the job is finished, or the server does not know it.
async fn job_done(client: &ScrapydClient, project: &str, job: &str) -> anyhow::Result<bool> {
    let answer = client
        .get("status.json", &[("job", job), ("project", project)])
        .await?;
    Ok(!matches!(
        answer.get("currstate").and_then(|v| v.as_str()),
        Some("pending" | "running")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn partial(start: u64, s: &'static str) -> LogRead {
        LogRead::Partial {
            start,
            bytes: Bytes::from_static(s.as_bytes()),
        }
    }

    fn full(s: &'static str) -> LogRead {
        LogRead::Full(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn ranged_reads_append() {
        let mut f = Follower::default();
        assert_eq!(f.advance(&full("ab")), b"ab");
        assert_eq!(f.advance(&partial(2, "cd")), b"cd");
        assert_eq!(f.offset, 4);
        assert_eq!(f.advance(&LogRead::NothingNew), b"");
        assert_eq!(f.advance(&LogRead::Missing), b"");
        assert_eq!(f.offset, 4);
    }

    #[test]
    fn overlapping_partial_is_trimmed() {
        let mut f = Follower { offset: 3 };
        assert_eq!(f.advance(&partial(1, "bcde")), b"de");
        assert_eq!(f.offset, 5);
        assert_eq!(f.advance(&partial(0, "abc")), b"");
        assert_eq!(f.offset, 5);
    }

    #[test]
    fn ignored_range_falls_back_to_full_reads() {
        let mut f = Follower::default();
        assert_eq!(f.advance(&full("line1\n")), b"line1\n");
        // The server answers 200 with the whole log again: print only the new tail.
        assert_eq!(f.advance(&full("line1\nline2\n")), b"line2\n");
        assert_eq!(f.advance(&full("line1\nline2\n")), b"");
        assert_eq!(f.offset, 12);
    }

    #[test]
    fn a_shrunk_log_is_printed_again() {
        let mut f = Follower { offset: 10 };
        assert_eq!(f.advance(&full("new")), b"new");
        assert_eq!(f.offset, 3);
    }

    #[test]
    fn missing_log_before_start_waits() {
        let mut f = Follower::default();
        assert_eq!(f.advance(&LogRead::Missing), b"");
        assert_eq!(f.advance(&partial(0, "x")), b"x");
    }
}
