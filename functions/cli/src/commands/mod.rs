//! One module per `trawl` subcommand.

pub mod check;
pub mod client;
pub mod crawl;
pub mod demo;
pub mod parse;
pub mod select;
pub mod serve;
