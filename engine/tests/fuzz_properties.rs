//! Property tests of the parsers of untrusted input, run with every `cargo test`: for
//! arbitrary input — random text over each language's own symbols, and valid inputs
//! with random edits — nothing panics and nothing overflows the stack. The long runs
//! are the cargo-fuzz targets in `fuzz/` (`scripts/fuzz`); these are their short form.

use proptest::prelude::*;
use trawl_engine::encoding::decode_html;
use trawl_engine::select::{Page, Query};
use trawl_engine::sitemap::{maybe_gunzip, parse_sitemap, sitemap_urls_from_robots};
use trawl_engine::spec::{Spec, SpecFormat};

const SHOP_TOML: &str = include_str!("../../fuzz/seeds/spec_toml/shop.toml");
const SHOP_JSON: &str = include_str!("../../fuzz/seeds/spec_json/shop.json");
const ROBOTS: &str = include_str!("../../fuzz/seeds/robots/1");
const SITEMAP: &str = include_str!("../../fuzz/seeds/sitemap/1.xml");
const PAGE: &str = "<html><head><title>t</title></head><body><div class=a id=x>\
    <p lang=en>one <b>two</b></p><a href='/n'>next</a><ul><li>1<li>2</ul></div></body></html>";

const CSS_SEEDS: &[&str] = &[
    "div.product > h1::text",
    "a[href^=\"/p/\"]::attr(href)",
    "ul li:nth-child(2n+1) ::text, p:not(.x)::text",
    ":is(div, p):has(> b)",
];
const XPATH_SEEDS: &[&str] = &[
    "//div[@class='product']//text()",
    "//a[contains(@href, \"/p/\")]/@href",
    "normalize-space(string(//title))",
    "(//li)[last()] | //p[position()>1]/following-sibling::*",
    "if (count(//a) > 1) then //a[1]/text() else \"none\"",
];

/// One edit of a text: at a relative position, delete, insert or replace with a char.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    Repeat(usize, usize, u8),
}

/// `seed` with a few random edits; inserted characters favour `symbols`.
fn mutated(seed: &'static str, symbols: &'static str) -> impl Strategy<Value = String> {
    let sym: Vec<char> = symbols.chars().collect();
    let ch = prop_oneof![
        3 => proptest::sample::select(sym),
        1 => any::<char>(),
    ];
    let edit = prop_oneof![
        (any::<usize>()).prop_map(Edit::Delete),
        (any::<usize>(), ch.clone()).prop_map(|(p, c)| Edit::Insert(p, c)),
        (any::<usize>(), ch).prop_map(|(p, c)| Edit::Replace(p, c)),
        (any::<usize>(), 1usize..40, 2u8..60).prop_map(|(p, l, n)| Edit::Repeat(p, l, n)),
    ];
    proptest::collection::vec(edit, 1..8).prop_map(move |edits| {
        let mut chars: Vec<char> = seed.chars().collect();
        for e in edits {
            let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
            match e {
                Edit::Delete(p) if !chars.is_empty() => {
                    let i = at(p, chars.len());
                    chars.remove(i);
                }
                Edit::Delete(_) => {}
                Edit::Insert(p, c) => {
                    let i = at(p, chars.len() + 1);
                    chars.insert(i, c);
                }
                Edit::Replace(p, c) if !chars.is_empty() => {
                    let i = at(p, chars.len());
                    chars[i] = c;
                }
                Edit::Replace(..) => {}
                Edit::Repeat(p, len, n) if !chars.is_empty() => {
                    let i = at(p, chars.len());
                    let end = (i + len).min(chars.len());
                    let piece: Vec<char> = chars[i..end].to_vec();
                    for _ in 0..n {
                        chars.splice(end..end, piece.iter().copied());
                    }
                }
                Edit::Repeat(..) => {}
            }
        }
        chars.into_iter().collect()
    })
}

fn seeded(seeds: &'static [&'static str], symbols: &'static str) -> BoxedStrategy<String> {
    let strategies: Vec<BoxedStrategy<String>> =
        seeds.iter().map(|s| mutated(s, symbols).boxed()).collect();
    proptest::strategy::Union::new(strategies).boxed()
}

const TOML_SYMBOLS: &str = "[]{}=,.\"'#\n \\tuf0123456789-+:ea_";
const JSON_SYMBOLS: &str = "[]{}:,\"\\ntuf0123456789-+.e ";
const CSS_SYMBOLS: &str = "[](),.:#>+~*=^$|\"' \\-_abdilnpt0123456789";
const XPATH_SYMBOLS: &str = "/[]()@*.,|:='\"<>!$- abcdefilnortx0123456789";

fn run_css(expr: &str) {
    if let Ok(q) = Query::css(expr) {
        let page = Page::parse(PAGE);
        let found = page.select(&q);
        let _ = found.getall();
        let _ = found.select(&q).len();
    }
}

fn run_xpath(expr: &str) {
    if let Ok(q) = Query::xpath(expr) {
        let page = Page::parse(PAGE);
        let found = page.select(&q);
        let _ = found.getall();
        let _ = found.select(&q).len();
    }
}

fn run_html(body: &[u8], content_type: Option<&str>) {
    let (text, _) = decode_html(body, content_type);
    let page = Page::parse(&text);
    for q in [
        Query::css("a::attr(href)").unwrap(),
        Query::css("div ::text").unwrap(),
        Query::xpath("//div//text()").unwrap(),
        Query::xpath("string(//title)").unwrap(),
    ] {
        for s in page.select(&q).iter() {
            let _ = s.get();
        }
    }
}

/// HTML built from random tags, text and closing tags: deep, misnested, unclosed.
fn html_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        proptest::sample::select(vec![
            "<div>",
            "<p>",
            "<b>",
            "<i>",
            "<a href=x>",
            "<table>",
            "<tr>",
            "<td>",
            "<li>",
            "<svg>",
            "<math>",
            "<template>",
            "<select>",
            "<option>",
            "<script>",
            "<title>",
            "<textarea>",
            "<frameset>",
            "<form>",
            "<br>",
            "<img>",
            "</div>",
            "</p>",
            "</b>",
            "</table>",
            "</td>",
            "</svg>",
            "</template>",
            "</script>",
            "</form>",
            "</body>",
            "</html>",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&amp;",
            "&#x0;",
            "text",
            " ",
        ]),
        "[a-z<>/= \"']{0,6}".prop_map(|s| Box::leak(s.into_boxed_str()) as &'static str),
    ];
    proptest::collection::vec((token, 1usize..4), 0..200).prop_map(|parts| {
        let mut s = String::new();
        for (t, n) in parts {
            for _ in 0..n {
                s.push_str(t);
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn toml_specs_never_panic(text in prop_oneof![
        mutated(SHOP_TOML, TOML_SYMBOLS),
        proptest::string::string_regex("[\\[\\]{}=,.\"'#\n a-z0-9_]{0,300}").unwrap(),
    ]) {
        let _ = Spec::parse(&text, SpecFormat::Toml, &["site"]);
    }

    #[test]
    fn json_specs_never_panic(text in prop_oneof![
        mutated(SHOP_JSON, JSON_SYMBOLS),
        proptest::string::string_regex("[\\[\\]{}:,\"a-z0-9 ]{0,300}").unwrap(),
    ]) {
        let _ = Spec::parse(&text, SpecFormat::Json, &["site"]);
    }

    #[test]
    fn css_selectors_never_panic(expr in prop_oneof![
        seeded(CSS_SEEDS, CSS_SYMBOLS),
        proptest::string::string_regex("[\\[\\](),.:#>+~*=^$|\"' a-z0-9-]{0,80}").unwrap(),
    ]) {
        run_css(&expr);
    }

    #[test]
    fn xpath_expressions_never_panic(expr in prop_oneof![
        seeded(XPATH_SEEDS, XPATH_SYMBOLS),
        proptest::string::string_regex("[/\\[\\]()@*.,|:='\"<>!$ a-z0-9-]{0,80}").unwrap(),
    ]) {
        run_xpath(&expr);
    }

    #[test]
    fn robots_txt_never_panics(text in prop_oneof![
        mutated(ROBOTS, "\n:*$/# ?=&%Aa"),
        any::<String>(),
    ]) {
        if let Ok(robot) = texting_robots::Robot::new("Trawl", text.as_bytes()) {
            let _ = robot.allowed("/private/x");
        }
        let base = url::Url::parse("http://example.com/robots.txt").unwrap();
        let _ = sitemap_urls_from_robots(&text, &base);
    }

    #[test]
    fn sitemaps_never_panic(body in prop_oneof![
        mutated(SITEMAP, "<>/=\"&;! ?abclmnorstux").prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(any::<u8>(), 0..400).prop_map(|mut v| {
            v.splice(0..0, [0x1f, 0x8b, 8, 0]);
            v
        }),
    ]) {
        if let Ok(xml) = maybe_gunzip(&body, "http://example.com/s.xml", None, 1 << 20) {
            let _ = parse_sitemap(&xml);
        }
    }

    #[test]
    fn html_never_panics(
        body in prop_oneof![
            html_soup().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..600),
        ],
        content_type in proptest::sample::select(vec![
            None,
            Some("text/html; charset=utf-8"),
            Some("text/html; charset=shift_jis"),
            Some("text/html; charset=utf-16le"),
            Some("text/html;charset=bogus"),
        ]),
    ) {
        run_html(&body, content_type);
    }
}
