//! Generated example site.
