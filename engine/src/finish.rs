//! Why a crawl ended: Scrapy's `finish_reason`, as a type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Scrapy's `finish_reason`. Serialises to (and parses from) Scrapy's strings;
/// reasons the engine does not know (an extension's own `closespider_*`, a reason
/// recorded by another tool) are kept as [`FinishReason::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// Every request was handled: `finished`.
    Finished,
    /// Stopped on request (a cancel): `cancelled`.
    Cancelled,
    /// Stopped because the process or its host is going away (Ctrl-C, SIGTERM, a
    /// server shutdown): `shutdown`.
    Shutdown,
    /// A job-level time limit was reached: `timeout`.
    Timeout,
    /// The crawl could not run or its runner died: `failed`.
    Failed,
    /// `CLOSESPIDER_ITEMCOUNT` reached: `closespider_itemcount`.
    ClosespiderItemcount,
    /// `CLOSESPIDER_PAGECOUNT` reached: `closespider_pagecount`.
    ClosespiderPagecount,
    /// `CLOSESPIDER_ERRORCOUNT` reached: `closespider_errorcount`.
    ClosespiderErrorcount,
    /// `CLOSESPIDER_TIMEOUT` reached: `closespider_timeout`.
    ClosespiderTimeout,
    /// Any other reason, verbatim.
    Other(String),
}

impl FinishReason {
    /// Scrapy's string for this reason.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
            Self::Shutdown => "shutdown",
            Self::Timeout => "timeout",
            Self::Failed => "failed",
            Self::ClosespiderItemcount => "closespider_itemcount",
            Self::ClosespiderPagecount => "closespider_pagecount",
            Self::ClosespiderErrorcount => "closespider_errorcount",
            Self::ClosespiderTimeout => "closespider_timeout",
            Self::Other(s) => s,
        }
    }

    /// Whether the crawl ran to its natural end or to a limit the spider set
    /// (`finished`, `closespider_*`), as opposed to being stopped or failing.
    pub fn is_complete(&self) -> bool {
        matches!(
            self,
            Self::Finished
                | Self::ClosespiderItemcount
                | Self::ClosespiderPagecount
                | Self::ClosespiderErrorcount
                | Self::ClosespiderTimeout
        )
    }
}

impl From<&str> for FinishReason {
    fn from(s: &str) -> Self {
        match s {
            "finished" => Self::Finished,
            "cancelled" => Self::Cancelled,
            "shutdown" => Self::Shutdown,
            "timeout" => Self::Timeout,
            "failed" => Self::Failed,
            "closespider_itemcount" => Self::ClosespiderItemcount,
            "closespider_pagecount" => Self::ClosespiderPagecount,
            "closespider_errorcount" => Self::ClosespiderErrorcount,
            "closespider_timeout" => Self::ClosespiderTimeout,
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<String> for FinishReason {
    fn from(s: String) -> Self {
        match Self::from(s.as_str()) {
            Self::Other(_) => Self::Other(s),
            known => known,
        }
    }
}

impl fmt::Display for FinishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for FinishReason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for FinishReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(String::deserialize(d)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_scrapy_strings() {
        for s in [
            "finished",
            "cancelled",
            "shutdown",
            "timeout",
            "failed",
            "closespider_itemcount",
            "closespider_pagecount",
            "closespider_errorcount",
            "closespider_timeout",
            "closespider_custom",
        ] {
            let r = FinishReason::from(s);
            assert_eq!(r.as_str(), s);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<FinishReason>(&json).unwrap(), r);
        }
        assert_eq!(
            FinishReason::from("closespider_custom"),
            FinishReason::Other("closespider_custom".into())
        );
        assert!(FinishReason::ClosespiderItemcount.is_complete());
        assert!(!FinishReason::Cancelled.is_complete());
    }
}
