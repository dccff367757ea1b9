//! Unit tests, with a small XML loader building documents from well-formed markup.

use super::super::dom::{Attribute, Document, Element, NodeData};
use super::*;

/// Builds a document from well-formed XML (names lowercased, text merged).
pub(crate) fn load(xml: &str) -> Document {
    use quick_xml::events::{BytesStart, Event};
    let mut doc = Document::new();
    let mut stack = vec![doc.root()];
    let mut r = quick_xml::Reader::from_str(xml);
    let element = |e: &BytesStart<'_>| {
        let name = String::from_utf8_lossy(e.name().as_ref()).to_lowercase();
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.expect("attribute");
            let value = a.unescape_value().expect("value").into_owned();
            attrs.push(Attribute {
                name: String::from_utf8_lossy(a.key.as_ref())
                    .to_lowercase()
                    .into(),
                value: value.into(),
            });
        }
        NodeData::Element(Element {
            name: name.into(),
            attrs,
        })
    };
    loop {
        let top = *stack.last().expect("open element");
        match r.read_event().expect("well-formed test document") {
            Event::Start(e) => {
                let id = doc.append(top, element(&e));
                stack.push(id);
            }
            Event::Empty(e) => {
                doc.append(top, element(&e));
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => doc.append_text(top, &t.decode().expect("utf-8")),
            Event::CData(t) => doc.append_text(top, &t.decode().expect("utf-8")),
            Event::GeneralRef(g) => {
                let s = match g.resolve_char_ref().expect("char ref") {
                    Some(c) => c.to_string(),
                    None => {
                        let name = g.decode().expect("utf-8");
                        quick_xml::escape::unescape(&format!("&{name};"))
                            .expect("entity")
                            .into_owned()
                    }
                };
                doc.append_text(top, &s);
            }
            Event::Comment(t) => {
                doc.append(
                    top,
                    NodeData::Comment(t.decode().expect("utf-8").into_owned()),
                );
            }
            Event::PI(p) => {
                let target = String::from_utf8_lossy(p.target()).into_owned();
                let data = String::from_utf8_lossy(p.content())
                    .trim_start()
                    .to_string();
                doc.append(
                    top,
                    NodeData::ProcessingInstruction {
                        target: target.into(),
                        data: data.into(),
                    },
                );
            }
            Event::Eof => break,
            _ => {}
        }
    }
    doc.finish();
    doc
}

const PAGE: &str = r#"<html lang="en"><head><title>Test page</title></head><body class="  page   home "><!-- c --><div id="d1" class="item first"><h2>One</h2><p class="price">10.50</p><a href="/one">Link  one</a></div><div id="d2" class="item"><h2>Two</h2><p class="price">20</p><ul><li>a</li><li>b</li><li>c</li><li id="l4">d</li></ul></div><div id="d3" class="item last"><div class="inner"><a href="/deep">Deep</a></div></div><table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>-4.5</td></tr></table><p>Tail <b>bold</b> and <i>it</i>.</p></body></html>"#;

/// Renders a result compactly: nodes as `name`, `@name=value` or `"text"`.
fn run(doc: &Document, expr: &str) -> String {
    let x = compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let html = XNode::Node(doc.children(doc.root()).next().expect("root element"));
    match x.evaluate(doc, html) {
        Err(e) => format!("error: {e}"),
        Ok(Value::Boolean(b)) => b.to_string(),
        Ok(Value::Number(n)) => number_to_string(n),
        Ok(Value::String(s)) => format!("{s:?}"),
        Ok(Value::Matches(m)) => format!("matches{m:?}"),
        Ok(Value::Nodes(ns)) => {
            let v: Vec<String> = ns
                .iter()
                .map(|&n| match n {
                    XNode::Attr(..) => format!("@{}={}", node_name(doc, n), string_value(doc, n)),
                    XNode::Node(id) => match &doc.node(id).data {
                        NodeData::Element(e) => match e.attr("id") {
                            Some(i) => format!("{}#{i}", e.name),
                            None => e.name.to_string(),
                        },
                        NodeData::Document => "/".into(),
                        _ => format!("{:?}", string_value(doc, n)),
                    },
                })
                .collect();
            v.join(" ")
        }
    }
}

fn check(cases: &[(&str, &str)]) {
    let doc = load(PAGE);
    let mut bad = Vec::new();
    for (expr, want) in cases {
        let got = run(&doc, expr);
        if got != *want {
            bad.push(format!("{expr}\n   want {want}\n   got  {got}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn paths_and_predicates() {
    check(&[
        ("//div[@class='item']", "div#d2"),
        ("//*[@id]", "div#d1 div#d2 li#l4 div#d3"),
        ("//a/@href", "@href=/one @href=/deep"),
        ("//li[1]", "li"),
        ("//li[last()]", "li#l4"),
        ("(//li)[2]", "li"),
        ("//li[position() > 2]", "li li#l4"),
        ("//li[@id='l4']/ancestor::*[1]", "ul"),
        ("//li[@id='l4']/ancestor::*", "html body div#d2 ul"),
        ("//li[@id='l4']/preceding-sibling::li[1]", "li"),
        ("//ul/li[3]/preceding-sibling::li", "li li"),
        ("//h2[2]/following::*[1]", ""),
        ("(//h2)[2]/following::*[1]", "p"),
        ("(//h2)[2]/preceding::*[1]", "a"),
        ("//div//a[1]", "a a"),
        ("(//div//a)[1]", "a"),
        ("//div[h2 = 'Two']/@id", "@id=d2"),
        ("//td[. > 1]", "td td"),
        ("//a | //h2 | //a", "h2 a h2 a"),
        ("/", "/"),
        ("//body/comment()", "\" c \""),
        ("//p[b and i]/text()", "\"Tail \" \" and \" \".\""),
        ("//div[@id='d1']/@class/following::h2", "h2"),
        (
            "//div[@id='d1']/@class/ancestor-or-self::node()",
            "/ html body div#d1 @class=item first",
        ),
        ("///a", "a a"),
        ("//div[has-class('item', 'last')]/@id", "@id=d3"),
        ("//body[has-class('home')]", "body"),
        ("//*[has-class('inner')]", "div"),
        ("set:leading(//li, //li[3] | //li[4])", "li li"),
        ("set:trailing(//li, //li[2])", "li li#l4"),
        (
            "set:difference(//div, //div[@id='d2'])/@id",
            "@id=d1 @id=d3",
        ),
        ("id('d2 l4')", "div#d2 li#l4"),
    ]);
}

#[test]
fn functions_and_numbers() {
    check(&[
        ("count(//li)", "4"),
        ("sum(//td)", "1.5"),
        ("name(//@href)", "\"href\""),
        ("local-name(//li[4])", "\"li\""),
        ("namespace-uri(//li[4])", "\"\""),
        ("normalize-space(//body/@class)", "\"page home\""),
        (
            "normalize-space('\u{a0}a  b\u{a0}')",
            "\"\\u{a0}a b\\u{a0}\"",
        ),
        ("substring('12345', 1.5, 2.6)", "\"234\""),
        ("substring('12345', 0, 3)", "\"12\""),
        ("substring('12345', -1 div 0, 1 div 0)", "\"\""),
        ("substring('abc', 1e300)", "\"\""),
        ("substring('abc', 2, 1e300)", "\"bc\""),
        ("string-length('café€')", "5"),
        ("translate('--aaa--', 'abc-', 'ABC')", "\"AAA\""),
        ("substring-after('2024-01-02', '-')", "\"01-02\""),
        ("round(-0.5)", "0"),
        ("1 div round(-0.3)", "-Infinity"),
        ("round(2.5)", "3"),
        ("round(-2.5)", "-2"),
        ("string(1 div 3)", "\"0.333333333333333\""),
        ("string(1000000000.5)", "\"1.0000000005e+09\""),
        ("string(2147483647)", "\"2.147483647e+09\""),
        ("string(2147483646)", "\"2147483646\""),
        ("string(0.000001)", "\"1e-06\""),
        ("string(0.00001)", "\"0.00001\""),
        ("string(12345678901234567890)", "\"1.23456789012346e+19\""),
        ("string(4.9e-324)", "\"0\""),
        ("string(12e)", "\"12\""),
        ("number('1e3')", "1000"),
        ("number('+5')", "NaN"),
        ("number(' -.5 ')", "-0.5"),
        ("-5 mod 3", "-2"),
        ("0 div 0", "NaN"),
        ("//td = //li", "false"),
        ("//td != 3", "true"),
        ("3 < //td", "false"),
        ("3 > //td", "true"),
        ("'2' > '10'", "false"),
        ("true() = 'a'", "true"),
        ("lang('en')", "false"),
        ("re:test(//title, 'TEST', 'i')", "true"),
        (
            "re:match(//title, '(\\w+) (\\w+)')",
            "matches[\"Test page\", \"Test\", \"page\"]",
        ),
        (
            "re:match(//title, '(\\w)\\w', 'g')",
            "matches[\"T\", \"s\", \"p\", \"g\"]",
        ),
        ("re:match(//title, '\\w+', 'g')[2]", "matches[\"page\"]"),
        ("count(re:match(//title, '\\w+', 'g'))", "2"),
        (
            "re:replace(//title, '(\\w+) (\\w+)', '', '\\2 \\1')",
            "\"page Test\"",
        ),
        ("re:replace('abc', 'x*', 'g', '-')", "\"-a-b-c-\""),
        ("re:test(5, '^5\\.0$')", "true"),
        (
            "position()",
            "error: position() is only available inside a predicate",
        ),
        (
            "has-class(1)",
            "error: XPath error: has-class arguments must be strings",
        ),
        (
            "1[1]",
            "error: filter expression: expected a node-set, got a number",
        ),
    ]);
}

#[test]
fn compile_errors() {
    let err = |e: &str| compile(e).map(|_| ()).unwrap_err().to_string();
    assert_eq!(
        err("//div/]"),
        "syntax error at offset 6: expected a node test after '/', found ']'"
    );
    assert_eq!(err("foo()"), "unknown function foo()");
    assert_eq!(
        err("contains('a')"),
        "contains() takes 2 arguments, given 1"
    );
    assert_eq!(
        err("//x:a"),
        "unknown namespace prefix 'x' (known: re, set, xml)"
    );
    assert_eq!(err("$x"), "variables are not supported: $x");
    assert_eq!(
        err("1 +"),
        "syntax error at offset 3: expected an expression, found end of expression"
    );
    assert_eq!(
        err("'abc"),
        "syntax error at offset 0: unterminated string literal"
    );
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    assert!(matches!(compile(&deep), Err(CompileError::TooDeep(_))));
    // Long flat chains are fine (and evaluate without deep recursion).
    let chain = vec!["1"; 20_000].join("+");
    let doc = load("<a/>");
    let v = compile(&chain)
        .expect("flat chain")
        .evaluate(&doc, XNode::Node(doc.root()));
    assert_eq!(v, Ok(Value::Number(20_000.0)));
    let negs = format!("{}1", "-".repeat(10_001));
    assert_eq!(
        compile(&negs)
            .expect("negations")
            .evaluate(&doc, XNode::Node(doc.root())),
        Ok(Value::Number(-1.0))
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    let doc = load(PAGE);
    let ctx = XNode::Node(doc.root());
    for e in [
        "substring('abc', 1e300, -1e300)",
        "substring('é', 0.5)",
        "string(1e308 * 10)",
        "translate('é€', 'é', '')",
        "//li[1e300]",
        "//li[-1e300]",
        "re:match('ééé', '', 'g')",
        "re:replace('éa', 'a?', 'g', '\\g<9>\\9\\')",
        "substring-before('é', '')",
        "'\u{1F600}'",
        "\u{e9}",
        "//\u{e9}[\u{e9}]",
    ] {
        match compile(e) {
            Ok(x) => {
                let _ = x.evaluate(&doc, ctx);
            }
            Err(err) => assert!(!err.to_string().is_empty()),
        }
    }
    for bad in [
        "é(", ":", "a:", "1..2", "@*:x", "..[1]", "*[", "/[", "(", ")", "[", "]", ",", "|", "!",
    ] {
        let _ = compile(bad);
    }
}

#[test]
fn budget_is_enforced() {
    let mut xml = String::from("<r>");
    for _ in 0..10_000 {
        xml.push_str("<x>t</x>");
    }
    xml.push_str("</r>");
    let doc = load(&xml);
    let ctx = XNode::Node(doc.root());
    let x = compile("count(//x[count(//x) > 0])").expect("compiles");
    assert_eq!(x.evaluate(&doc, ctx), Err(EvalError::Budget));
    // Cheap queries over the same page stay well within it.
    let y = compile("count(//x[. = 't'])").expect("compiles");
    assert_eq!(y.evaluate(&doc, ctx), Ok(Value::Number(10_000.0)));
}

#[test]
fn re_match_from_xml_doc_and_nested_descendants() {
    let doc = load("<a><div><div><p>1</p></div><p>2</p></div></a>");
    let ctx = XNode::Node(doc.root());
    let x = compile("//div//p").expect("compiles");
    match x.evaluate(&doc, ctx) {
        Ok(Value::Nodes(v)) => assert_eq!(v.len(), 2),
        other => panic!("{other:?}"),
    }
    let x = compile("//div//p[1]").expect("compiles");
    match x.evaluate(&doc, ctx) {
        Ok(Value::Nodes(v)) => assert_eq!(v.len(), 2),
        other => panic!("{other:?}"),
    }
}
