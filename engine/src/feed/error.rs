//! Feed export errors.

/// Everything that can go wrong configuring or writing a feed.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A format name that is not one of [`crate::feed::FeedFormat::NAMES`].
    #[error("unknown feed format {format:?} (valid formats: {valid})")]
    UnknownFormat {
        /// The format as given.
        format: String,
        /// Comma-separated list of the valid names.
        valid: String,
    },
    /// No format was given and none could be inferred from the URI's extension.
    #[error("cannot infer the feed format of {uri:?}: give it as `URI:FORMAT` or a `format` option (valid formats: {valid})")]
    NoFormat {
        /// The feed URI.
        uri: String,
        /// Comma-separated list of the valid names.
        valid: String,
    },
    /// A URI whose scheme has no registered storage.
    #[error(
        "unsupported feed URI {uri:?}: scheme {scheme:?} has no storage (supported: {supported})"
    )]
    UnsupportedScheme {
        /// The feed URI.
        uri: String,
        /// Its scheme.
        scheme: String,
        /// Comma-separated list of the supported schemes.
        supported: String,
    },
    /// A bad option value in a feed's configuration.
    #[error("feed {uri:?}: option {option:?}: {message}")]
    InvalidOption {
        /// The feed URI.
        uri: String,
        /// The option's name.
        option: String,
        /// What is wrong.
        message: String,
    },
    /// A `%(name)s` placeholder with no value.
    #[error("feed URI {uri:?}: unknown placeholder %({name})s (known: {known})")]
    UnknownPlaceholder {
        /// The URI template.
        uri: String,
        /// The placeholder's name.
        name: String,
        /// Comma-separated list of the known names.
        known: String,
    },
    /// A checkpointed position that does not fit the feeds being resumed.
    #[error("cannot resume feed {uri:?}: {message}")]
    Resume {
        /// The feed URI.
        uri: String,
        /// What is wrong.
        message: String,
    },
    /// A malformed placeholder or URI.
    #[error("feed URI {uri:?}: {message}")]
    InvalidUri {
        /// The URI template.
        uri: String,
        /// What is wrong.
        message: String,
    },
    /// An I/O error opening, writing or storing a feed.
    #[error("feed {uri:?}: {source}")]
    Io {
        /// The (rendered) feed URI.
        uri: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl FeedError {
    pub(crate) fn io(uri: &str, source: std::io::Error) -> Self {
        FeedError::Io {
            uri: uri.to_string(),
            source,
        }
    }

    pub(crate) fn option(uri: &str, option: &str, message: impl Into<String>) -> Self {
        FeedError::InvalidOption {
            uri: uri.to_string(),
            option: option.to_string(),
            message: message.into(),
        }
    }
}
