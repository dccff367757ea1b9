//! A response body: encoding detection and decoding (the first byte picks a
//! Content-Type), HTML parsing, and CSS and XPath queries over the tree.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trawl_engine::encoding::decode_html;
use trawl_engine::select::{Page, Query};

const CONTENT_TYPES: [Option<&str>; 4] = [
    None,
    Some("text/html; charset=utf-8"),
    Some("text/html; charset=\"shift_jis\""),
    Some("text/html;charset=bogus"),
];

fn queries() -> &'static [Query] {
    static Q: OnceLock<Vec<Query>> = OnceLock::new();
    Q.get_or_init(|| {
        vec![
            Query::css("a::attr(href)").unwrap(),
            Query::css("div ::text").unwrap(),
            Query::css("p, li").unwrap(),
            Query::xpath("//div//text()").unwrap(),
            Query::xpath("//*[@id]").unwrap(),
            Query::xpath("string(//title)").unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()];
    let (text, _encoding) = decode_html(body, content_type);
    let page = Page::parse(&text);
    let base = url::Url::parse("http://example.com/a/").unwrap();
    let _ = page.effective_base(&base);
    for q in queries() {
        let found = page.select(q);
        for s in found.iter() {
            let _ = s.get();
        }
        let _ = found.select(&queries()[1]).len();
        let _ = found.select(&queries()[3]).len();
    }
});
