//! Feed format names and inference from a URI's extension.

use super::FeedError;

/// A feed serialisation format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedFormat {
    /// One JSON object per line (`jsonlines`, `jsonl`, `jl`).
    JsonLines,
    /// One JSON array (`json`).
    Json,
    /// Comma-separated values with a header line (`csv`).
    Csv,
    /// Scrapy's `<items><item>…</item></items>` XML (`xml`).
    Xml,
}

impl FeedFormat {
    /// Every accepted format name, aliases included.
    pub const NAMES: &'static [&'static str] = &["jsonlines", "jsonl", "jl", "json", "csv", "xml"];

    /// Parses a format name (case-insensitive); an unknown name is an error listing the valid ones.
    pub fn parse(name: &str) -> Result<Self, FeedError> {
        Self::from_name(name).ok_or_else(|| FeedError::UnknownFormat {
            format: name.to_string(),
            valid: Self::NAMES.join(", "),
        })
    }

    fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "jsonlines" | "jsonl" | "jl" => Some(Self::JsonLines),
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            "xml" => Some(Self::Xml),
            _ => None,
        }
    }

    /// The format named by the extension of the URI's last path segment (`items.jsonl`).
    pub fn from_extension(uri: &str) -> Option<Self> {
        let path = uri.split(['?', '#']).next().unwrap_or(uri);
        let last = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (stem, ext) = last.rsplit_once('.')?;
        if stem.is_empty() {
            return None;
        }
        Self::from_name(ext)
    }

    /// The canonical name (`jsonlines`, `json`, `csv`, `xml`).
    pub fn name(self) -> &'static str {
        match self {
            Self::JsonLines => "jsonlines",
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Xml => "xml",
        }
    }
}

impl std::fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        for (n, f) in [
            ("jsonlines", FeedFormat::JsonLines),
            ("JSONL", FeedFormat::JsonLines),
            ("jl", FeedFormat::JsonLines),
            ("json", FeedFormat::Json),
            ("csv", FeedFormat::Csv),
            ("xml", FeedFormat::Xml),
        ] {
            assert_eq!(FeedFormat::parse(n).unwrap(), f);
        }
        let e = FeedFormat::parse("yaml").unwrap_err().to_string();
        assert!(
            e.contains("\"yaml\"") && e.contains("jsonlines, jsonl, jl, json, csv, xml"),
            "{e}"
        );
    }

    #[test]
    fn extension_inference() {
        assert_eq!(
            FeedFormat::from_extension("items.jsonl"),
            Some(FeedFormat::JsonLines)
        );
        assert_eq!(
            FeedFormat::from_extension("/a.b/items.JSON"),
            Some(FeedFormat::Json)
        );
        assert_eq!(
            FeedFormat::from_extension("s3://b/x/items.csv?x=1"),
            Some(FeedFormat::Csv)
        );
        assert_eq!(
            FeedFormat::from_extension(r"C:\out\items.xml"),
            Some(FeedFormat::Xml)
        );
        assert_eq!(FeedFormat::from_extension("/a.json/items"), None);
        assert_eq!(FeedFormat::from_extension(".json"), None);
        assert_eq!(FeedFormat::from_extension("stdout:"), None);
    }
}
