//! A robots.txt: the rules the robots.txt middleware builds from it, checked against a
//! few URLs, and the `Sitemap:` lines a SitemapSpider reads from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl_engine::sitemap::sitemap_urls_from_robots;

fuzz_target!(|data: &[u8]| {
    if let Ok(robot) = texting_robots::Robot::new("Trawl", data) {
        for path in ["/", "/a/b?c=d", "/%7Euser", "http://example.com/x"] {
            let _ = robot.allowed(path);
        }
    }
    let base = url::Url::parse("http://example.com/robots.txt").unwrap();
    let _ = sitemap_urls_from_robots(&String::from_utf8_lossy(data), &base);
});
