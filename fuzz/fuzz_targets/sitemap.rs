//! A sitemap body, gzipped or not: bounded gunzip, then `<urlset>`/`<sitemapindex>`
//! parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl_engine::sitemap::{maybe_gunzip, parse_sitemap};

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = maybe_gunzip(data, "http://example.com/s.xml.gz", None, 1 << 20) {
        let _ = parse_sitemap(&body);
    }
});
