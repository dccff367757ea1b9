use super::*;

const HTML: &str = r#"<!DOCTYPE html>
<html><head><title>Shop &amp; Co</title><base href="/catalog/"></head>
<body>
<h1 class="title">Widget <b>Pro</b> 3000</h1>
<div class="description"><p>Solid <em>steel</em>.</p> Ships fast. <a href="more.html">more</a></div>
<ul id="items">
  <li class="item first"><a href="/a?x=1">A</a><span class="price">$10.50</span></li>
  <li class="item"><a href="b.html">B</a><span class="price">$7</span></li>
  <li class="other"><a href="https://other.example/c">C</a></li>
</ul>
<p>unclosed paragraph <p>second <div>in p?
</body></html>"#;

fn texts(l: &SelectionList<'_>) -> Vec<String> {
    l.getall()
}

#[test]
fn css_elements_text_and_attrs() {
    let page = Page::parse(HTML);
    assert_eq!(
        page.css("h1::text").unwrap().getall(),
        vec!["Widget ", " 3000"]
    );
    assert_eq!(
        page.css("h1 ::text").unwrap().getall(),
        vec!["Widget ", "Pro", " 3000"]
    );
    assert_eq!(
        page.css("li a::attr(href)").unwrap().getall(),
        vec!["/a?x=1", "b.html", "https://other.example/c"]
    );
    assert_eq!(page.css("li.item").unwrap().len(), 2);
    assert_eq!(
        page.css("span.price").unwrap().get().as_deref(),
        Some(r#"<span class="price">$10.50</span>"#)
    );
    assert_eq!(
        page.css("title::text").unwrap().get().as_deref(),
        Some("Shop & Co")
    );
    assert!(page.css("table").unwrap().is_empty());
    assert_eq!(page.css("table").unwrap().get(), None);
}

#[test]
fn css_descendant_text_does_not_duplicate_nested_matches() {
    let page = Page::parse("<div>a<div>b</div>c</div>");
    assert_eq!(
        page.css("div ::text").unwrap().getall(),
        vec!["a", "b", "c"]
    );
    // One XPath (`descendant-or-self::div/text()`): document order, as parsel.
    assert_eq!(page.css("div::text").unwrap().getall(), vec!["a", "b", "c"]);
}

#[test]
fn css_comma_groups_and_attr_quotes() {
    let page = Page::parse(HTML);
    assert_eq!(
        page.css("h1::text, title::text").unwrap().getall(),
        vec!["Shop & Co", "Widget ", " 3000"]
    );
    assert_eq!(
        page.css("base::attr('href')").unwrap().get().as_deref(),
        Some("/catalog/")
    );
    assert_eq!(
        page.css("ul ::attr(href)").unwrap().len(),
        3,
        "descendant attr collects from all links"
    );
}

#[test]
fn nested_css_selection() {
    let page = Page::parse(HTML);
    let items = page.css("li.item").unwrap();
    let name = Query::css("a::text").unwrap();
    let price = Query::css(".price::text").unwrap();
    let rows: Vec<(String, String)> = items
        .iter()
        .map(|li| {
            (
                li.select(&name).get().unwrap(),
                li.select(&price).get().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("A".to_string(), "$10.50".to_string()),
            ("B".to_string(), "$7".to_string())
        ]
    );
    assert_eq!(items.select(&price).getall(), vec!["$10.50", "$7"]);
    // descendant-or-self, like parsel
    assert_eq!(items.css("li").unwrap().len(), 2);
    // text results have nothing under them
    assert!(page.css("h1::text").unwrap().select(&name).is_empty());
}

#[test]
fn malformed_html_is_repaired() {
    let page = Page::parse("<ul><li>one<li>two</ul><p>para <b>bold</p> after");
    assert_eq!(page.css("li::text").unwrap().getall(), vec!["one", "two"]);
    assert_eq!(
        page.css("p b::text").unwrap().get().as_deref(),
        Some("bold")
    );
    assert_eq!(
        page.xpath("//li/text()").unwrap().getall(),
        vec!["one", "two"]
    );
}

#[test]
fn xpath_basics() {
    let page = Page::parse(HTML);
    assert_eq!(
        page.xpath("//div[@class='description']//text()")
            .unwrap()
            .getall()
            .concat(),
        "Solid steel. Ships fast. more"
    );
    assert_eq!(page.xpath("//li/a/@href").unwrap().len(), 3);
    assert_eq!(
        page.xpath("//h1/text()").unwrap().getall(),
        vec!["Widget ", " 3000"]
    );
    assert_eq!(
        page.xpath("//li[contains(@class,'item')]").unwrap().len(),
        2
    );
    assert_eq!(
        page.xpath("string(//title)").unwrap().get().as_deref(),
        Some("Shop & Co")
    );
    assert_eq!(
        page.xpath("count(//a)").unwrap().get().as_deref(),
        Some("4.0"),
        "numbers as parsel prints them"
    );
    assert_eq!(
        page.xpath("normalize-space(//h1)")
            .unwrap()
            .get()
            .as_deref(),
        Some("Widget Pro 3000")
    );
    assert_eq!(
        page.xpath("//li[2]/span/text()").unwrap().get().as_deref(),
        Some("$7")
    );
    let span = page.xpath("//li[1]/span").unwrap().get().unwrap();
    assert_eq!(span, r#"<span class="price">$10.50</span>"#);
}

#[test]
fn nested_xpath_and_cross_engine() {
    let page = Page::parse(HTML);
    let lis = page
        .xpath("//li[@class='item' or contains(@class,'item')]")
        .unwrap();
    assert_eq!(lis.xpath("./a/text()").unwrap().getall(), vec!["A", "B"]);
    // absolute path from a nested selection still starts at the root
    assert_eq!(lis.xpath("//title/text()").unwrap().len(), 2);
    // CSS inside XPath results and XPath inside CSS results
    assert_eq!(
        lis.css("span::text").unwrap().getall(),
        vec!["$10.50", "$7"]
    );
    let css_lis = page.css("li.item").unwrap();
    assert_eq!(
        css_lis.xpath("a/@href").unwrap().getall(),
        vec!["/a?x=1", "b.html"]
    );
    let first = lis.first().unwrap();
    assert!(first.is_element());
    assert_eq!(first.attr("class"), Some("item first"));
}

#[test]
fn regex_extraction() {
    let page = Page::parse(HTML);
    let prices = page.css(".price::text").unwrap();
    let num = Regex::new(r"\$(\d+(?:\.\d+)?)").unwrap();
    assert_eq!(prices.re(&num), vec!["10.50", "7"]);
    assert_eq!(prices.re_first(&num).as_deref(), Some("10.50"));
    let whole = Regex::new(r"\d+").unwrap();
    assert_eq!(prices.re(&whole), vec!["10", "50", "7"]);
    let two = Regex::new(r"(\d+)\.(\d+)").unwrap();
    assert_eq!(prices.re(&two), vec!["10", "50"]);
    let named = Regex::new(r"(?P<cur>\$)(?P<extract>\d+)").unwrap();
    assert_eq!(prices.re(&named), vec!["10", "7"]);
    assert_eq!(prices.re_first(&Regex::new("zzz").unwrap()), None);
}

#[test]
fn base_href_and_urljoin() {
    let url = Url::parse("https://shop.example/products/widget").unwrap();
    let page = Page::parse_with_url(HTML, &url);
    assert_eq!(page.base_href(), Some("/catalog/"));
    assert_eq!(
        page.urljoin("b.html").unwrap().as_str(),
        "https://shop.example/catalog/b.html"
    );
    assert_eq!(
        page.urljoin("  /a?x=1 ").unwrap().as_str(),
        "https://shop.example/a?x=1"
    );
    let plain = Page::parse_with_url("<a href='x'>x</a>", &url);
    assert_eq!(
        plain.urljoin("x").unwrap().as_str(),
        "https://shop.example/products/x"
    );
    let no_url = Page::parse("<p>x</p>");
    assert_eq!(no_url.urljoin("rel"), None);
    assert!(no_url.urljoin("https://a.example/").is_some());
}

#[test]
fn query_is_send_sync_clone_and_reusable() {
    fn assert_traits<T: Send + Sync + Clone>() {}
    assert_traits::<Query>();
    let q = Query::css("p::text").unwrap();
    let q2 = q.clone();
    for html in ["<p>a</p>", "<p>b</p>"] {
        let page = Page::parse(html);
        assert_eq!(page.select(&q2).len(), 1);
    }
    assert_eq!(q.as_str(), "p::text");
    assert!(!q.is_xpath());
    let xq = Query::xpath("//p").unwrap();
    assert!(xq.is_xpath());
    let handle = std::thread::spawn(move || Page::parse("<p>t</p>").select(&xq).len());
    assert_eq!(handle.join().unwrap(), 1);
}

#[test]
fn error_empty() {
    let e = Query::css("  ").unwrap_err();
    assert_eq!(e, SelectError::Empty { kind: "CSS" });
    assert_eq!(e.to_string(), "empty CSS expression");
    let e = Query::xpath("").unwrap_err();
    assert_eq!(e.to_string(), "empty XPath expression");
}

#[test]
fn error_css_syntax() {
    let e = Query::css("div[").unwrap_err();
    assert!(matches!(e, SelectError::Css { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("\"div[\""), "{msg}");
    assert!(
        msg.contains("Expected ident or '*', got <EOF at 4>"),
        "{msg}"
    );
    let e = Query::css("a >> b").unwrap_err();
    assert!(
        e.to_string().contains("invalid CSS selector \"a >> b\""),
        "{e}"
    );
    let e = Query::css("a, , b").unwrap_err();
    assert!(e.to_string().contains("Expected selector"), "{e}");
    let e = Query::css("a:hover2").unwrap_err();
    assert!(e.to_string().contains("unsupported: "), "{e}");
}

#[test]
fn error_css_pseudo() {
    for bad in [
        "a::href",
        "a::attr()",
        "a::attr(href",
        "a::texts",
        "a::text b",
    ] {
        let e = Query::css(bad).unwrap_err();
        assert!(matches!(e, SelectError::Css { .. }), "{bad}: {e:?}");
        assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
    }
    // parsel accepts a different pseudo-element per comma-separated part.
    let page = Page::parse(r#"<a href="/x">t</a><b>u</b>"#);
    assert_eq!(
        page.css("a::attr(href), b::text").unwrap().getall(),
        vec!["/x", "u"]
    );
    // `::` inside an attribute value is not a pseudo-element
    let page = Page::parse(r#"<a title="x::y">t</a>"#);
    assert_eq!(
        page.css(r#"a[title="x::y"]::text"#).unwrap().getall(),
        vec!["t"]
    );
}

#[test]
fn error_xpath_syntax_and_functions() {
    let e = Query::xpath("//div[@class=").unwrap_err();
    assert!(matches!(e, SelectError::XPathSyntax { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("\"//div[@class=\""), "{msg}");
    assert!(msg.contains("offset"), "{msg}");
    let e = Query::xpath("//a]").unwrap_err();
    assert!(e.to_string().contains("offset 3"), "{e}");
    let e = Query::xpath("bogus(//a)").unwrap_err();
    assert!(e.to_string().contains("unknown function bogus()"), "{e}");
    let e = Query::xpath("count()").unwrap_err();
    assert!(e.to_string().contains("count() takes 1 argument"), "{e}");
    let e = Query::xpath("x:y(1)").unwrap_err();
    assert!(e.to_string().contains("unknown namespace prefix"), "{e}");
    // A bad regex fails on the page, with the expression named.
    let page = Page::parse("<a>x</a>");
    let q = Query::xpath("//a[re:test(., '(')]").unwrap();
    let e = page.try_select(&q).unwrap_err();
    assert!(matches!(e, SelectError::Eval { .. }), "{e:?}");
    assert!(page.select(&q).is_empty());
}

#[test]
fn one_tree_for_css_and_xpath() {
    let page = Page::parse(
        "<table><tr><th>h</th></tr><tr><td>1</td></tr></table>\
         <noscript><p>no js</p></noscript><pre>\nkept</pre>",
    );
    // No implied <tbody>: Scrapy users write table > tr.
    assert_eq!(
        page.css("table > tr > th::text").unwrap().getall(),
        vec!["h"]
    );
    assert_eq!(
        page.xpath("//table/tr/td/text()").unwrap().getall(),
        vec!["1"]
    );
    // <noscript> holds elements; <pre> keeps its leading newline.
    assert_eq!(
        page.css("noscript p::text").unwrap().getall(),
        vec!["no js"]
    );
    assert_eq!(page.css("pre::text").unwrap().getall(), vec!["\nkept"]);
    // CSS results feed XPath and back, on the same nodes.
    let table = page.css("table").unwrap();
    assert_eq!(table.xpath("count(.//tr)").unwrap().getall(), vec!["2.0"]);
    let rows = page.xpath("//tr").unwrap();
    assert_eq!(rows.css("td::text").unwrap().getall(), vec!["1"]);
}

#[test]
fn xpath_1_functions_and_parsel_extensions() {
    let page = Page::parse(
        "<h2>One</h2><h2>Two</h2><p class=' a  b '>x\u{a0}y  z</p><a href='/p.html'>l</a>",
    );
    assert_eq!(page.xpath("string(//h2)").unwrap().getall(), vec!["One"]);
    assert_eq!(
        page.xpath("normalize-space(//p)").unwrap().getall(),
        vec!["x\u{a0}y z"]
    );
    assert_eq!(
        page.xpath("//p[has-class('b', 'a')]/text()").unwrap().len(),
        1
    );
    assert_eq!(
        page.xpath("//a[re:test(@href, '\\.html$')]/text()")
            .unwrap()
            .getall(),
        vec!["l"]
    );
    assert_eq!(
        page.xpath("re:replace(//a/@href, '\\.html', '', '.htm')")
            .unwrap()
            .getall(),
        vec!["/p.htm"]
    );
    assert_eq!(
        page.xpath("count(set:distinct(//h2 | //h2))")
            .unwrap()
            .getall(),
        vec!["2.0"]
    );
    assert!(page.xpath("/").unwrap().is_empty());
}

#[test]
fn selection_helpers() {
    let page = Page::parse(HTML);
    let a = page.css("a::attr(href)").unwrap();
    assert_eq!(a.first().unwrap().as_str(), Some("more.html"));
    assert_eq!(texts(&a).len(), 4);
    let debug = format!("{:?}", page.css("b").unwrap());
    assert!(debug.contains("<b>Pro</b>"), "{debug}");
}

#[test]
fn xpath_work_is_bounded_per_page_not_only_per_expression() {
    let html = format!("<ul>{}</ul>", "<li>x</li>".repeat(2000));
    let page = Page::parse(&html);
    // Each evaluation fits the per-expression budget; together they exhaust the page's.
    let q = Query::xpath("count(//*[count(//li) > 0])").unwrap();
    let mut ok = 0;
    let failed = (0..200).find_map(|_| match page.try_select(&q) {
        Ok(_) => {
            ok += 1;
            None
        }
        Err(e) => Some(e),
    });
    let e = failed.expect("the page budget runs out");
    assert!(matches!(e, SelectError::Eval { .. }), "{e:?}");
    assert!(e.to_string().contains("budget"), "{e}");
    assert!(ok >= 10, "{ok} evaluations before the budget ran out");
    // Another page has its own budget.
    let other = Page::parse(&html);
    assert!(other.try_select(&q).is_ok());
}

#[test]
fn re_replaces_character_references_as_parsel_does() {
    for (text, want) in [
        ("x &gt; y", "x > y"),
        ("a &lt;b&gt; &amp; c", "a &lt;b> &amp; c"),
        ("&eacute;t&Eacute; &#233; &#xE9; &#150;", "étÉ é é \u{2013}"),
        ("&AMP; &Lt; &nbsp;x", "&AMP; &Lt; \u{a0}x"),
        ("&copy 2024 &bogus; &bogus &#;", "© 2024  &bogus &#;"),
        ("no entities", "no entities"),
        ("&#99999999;", ""),
    ] {
        assert_eq!(replace_entities(text.to_string()), want, "{text}");
    }
    let page = Page::parse("<p>x &gt; y &amp; z</p>");
    let re = Regex::new("<p>(.*)</p>").unwrap();
    assert_eq!(page.css("p").unwrap().re(&re), vec!["x > y &amp; z"]);
}
