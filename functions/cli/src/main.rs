//! `trawl`: run spiders like `scrapy crawl`, check specs, try callbacks on one page,
//! serve the control plane and the bundled example site. All of it is in the library
//! ([`trawl_cli::Trawl`]); a binary with Rust spiders of its own registers them there.

use std::process::ExitCode;

/// mimalloc: the crawl allocates per page (DOM nodes, strings); it beats glibc malloc here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    trawl_cli::Trawl::new().run()
}
