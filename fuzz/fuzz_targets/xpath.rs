//! An XPath expression: compile it and, when it compiles, run it on a small page, from
//! the root and from each element it selects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl_engine::select::{Page, Query};

const PAGE: &str = "<html><head><title>t</title></head><body><div class=a id=x>\
    <p lang=en>one <b>two</b></p><a href='/n'>next</a><ul><li>1<li>2</ul></div></body></html>";

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(q) = Query::xpath(expr) {
        let page = Page::parse(PAGE);
        let found = page.select(&q);
        let _ = found.getall();
        let _ = found.select(&q).len();
    }
});
