//! `shop-trawl`: the `trawl` command with the `category_stats` Rust spider registered.
//!
//! ```sh
//! shop-trawl demo-site &
//! shop-trawl crawl category_stats -O stats.jsonl      # the Rust spider
//! shop-trawl crawl examples/shop.toml -O items.jsonl  # spec spiders work as before
//! shop-trawl serve                                    # jobs may run category_stats too
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    trawl_cli::Trawl::new()
        .spider(
            trawl_example_rust_spider::NAME,
            trawl_example_rust_spider::factory,
        )
        .run()
}
