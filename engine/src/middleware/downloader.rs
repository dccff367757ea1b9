//! Built-in downloader middlewares.
