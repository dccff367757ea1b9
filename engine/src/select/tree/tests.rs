//! Expected trees and serializations, taken from lxml 6 with libxml2 2.14.6 through
//! parsel 1.12.1 (`Selector(text=..., type="html").root`, `tostring(method="html")`).

use std::time::{Duration, Instant};

use super::super::dom::{Document, NodeData, NodeId};
use super::*;

fn root_element(doc: &Document) -> NodeId {
    doc.children(doc.root())
        .find(|&c| doc.element(c).is_some())
        .expect("a root element")
}

fn html_of(text: &str) -> String {
    let parsed = parse_html(text);
    outer_html(&parsed.doc, root_element(&parsed.doc))
}

#[test]
fn serializations_match_lxml() {
    let cases = [
        ("implied_html_head_body", "<title>t</title><p>x", "<html><head><title>t</title></head><body><p>x</p></body></html>"),
        ("no_tbody_inserted", "<table><tr><td>a<td>b<tr><td>c</table>", "<html><body><table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table></body></html>"),
        ("p_closed_by_block_not_by_inline", "<p>a<div>b</div>c<p>d<span>e</span>", "<html><body><p>a</p><div>b</div>c<p>d<span>e</span></p></body></html>"),
        ("headings_close_p_and_p_closes_heading", "<p>a<h1>b<p>c</h1>d", "<html><body><p>a</p><h1>b</h1><p>cd</p></body></html>"),
        ("list_items_and_definitions", "<ul><li>a<li>b</ul><dl><dt>c<dd>d<dt>e</dl>", "<html><body><ul><li>a</li><li>b</li></ul><dl><dt>c</dt><dd>d</dd><dt>e</dt></dl></body></html>"),
        ("options", "<select><option>a<option>b<optgroup><option>c</select>", "<html><body><select><option>a</option><option>b</option><optgroup><option>c</option></optgroup></select></body></html>"),
        ("misnested_formatting_is_not_adopted", "<b>a<i>b</b>c</i>d", "<html><body><b>a<i>b</i></b>cd</body></html>"),
        ("noscript_holds_elements", "<noscript><p>a</p></noscript>", "<html><body><noscript><p>a</p></noscript></body></html>"),
        ("pre_keeps_leading_newline", "<pre>\nx</pre><textarea>\ny</textarea>", "<html><body><pre>\nx</pre><textarea>\ny</textarea></body></html>"),
        ("text_before_html", "text<html><body>x", "<html><body>textx</body></html>"),
        ("comments_around_root", "<!--a--><html><body>x</body></html><!--b-->", "<html><body>x</body></html>"),
        ("head_elements_after_body_stay_in_body", "<p>x</p><title>t</title><meta a=b>", "<html><body><p>x</p><title>t</title><meta a=\"b\"></body></html>"),
        ("second_html_and_body_are_dropped", "<html a=1><body b=2>x<html c=3><body d=4>y</body>z</html>w", "<html a=\"1\"><body b=\"2\">xyzw</body></html>"),
        ("script_content_is_raw", "<script>if (a</b) { x = '</p>'; }</script><p>after", "<html><head><script>if (a</b) { x = '</p>'; }</script></head><body><p>after</p></body></html>"),
        ("raw_text_elements", "<style>a > b</style><xmp><b>x</b></xmp><iframe><p>i</iframe><title>&amp;<b></title>", "<html><head><style>a > b</style></head><body><xmp>&lt;b&gt;x&lt;/b&gt;</xmp><iframe>&lt;p&gt;i</iframe><title>&amp;&lt;b&gt;</title></body></html>"),
        ("entities", "<p>&amp; &lt; &copy &notit; &#65; &#x42; &#128; &bogus;</p>", "<html><body><p>&amp; &lt; \u{a9} \u{ac}it; A B \u{20ac} &amp;bogus;</p></body></html>"),
        ("uppercase_tags_and_attributes", "<DIV CLASS=X><P>Upper</P></DIV>", "<html><body><div class=\"X\"><p>Upper</p></div></body></html>"),
        ("svg_has_no_namespace", "<svg viewBox='0 0 1 1'><circle r=1 /></svg>", "<html><body><svg viewbox=\"0 0 1 1\"><circle r=\"1\"></circle></svg></body></html>"),
        ("processing_instructions_are_comments", "<?php x ?><p>a<?pi y?>", "<html><body><p>a<!--?pi y?--></p></body></html>"),
        ("stray_end_tags_are_ignored", "</p>stray</div>end<div>a</span>b</div>", "<html><body>strayend<div>ab</div></body></html>"),
        ("end_tag_priority", "<div><table><tr><td>x</div>y</td></tr></table>z</div>", "<html><body><div><table><tr><td>xy</td></tr></table>z</div></body></html>"),
        ("self_closing_non_void", "<div/>a<span/>b<br/>c", "<html><body><div></div>a<span></span>b<br>c</body></html>"),
        ("after_html_end", "<p>a</p></html> <p>b", "<html><body><p>a</p></body></html>"),
        ("head_after_body_closed", "<body><p>x</body><script>s</script>", "<html><body><p>x</p></body><script>s</script></html>"),
        ("whitespace_in_html_and_head", "<html>\n<head>\n<title>x</title>\n</head>\n<body>\n<p>x</p>\n</body>\n</html>\n", "<html>\n<head>\n<title>x</title>\n</head>\n<body>\n<p>x</p>\n</body>\n</html>"),
        ("embed_and_source_are_not_void", "<embed><p>in</p></embed><video><source src=a><p>x</video>", "<html><body><embed><p>in</p></embed><video><source src=\"a\"><p>x</p></source></video></body></html>"),
        ("empty_li_has_no_end_tag", "<ul><li></li><li>x</ul><p></p>", "<html><body><ul><li><li>x</li></ul><p></p></body></html>"),
        ("attribute_escaping", "<p title=\"a&amp;b &lt;c&gt; &quot;q&quot;\" data-x=\"&{x}\" class=\"it's\" foo bar='' id='<!--x-->'>", "<html><body><p title='a&amp;b &lt;c&gt; \"q\"' data-x=\"&{x}\" class=\"it's\" foo bar=\"\" id=\"<!--x-->\"></p></body></html>"),
        ("uri_attributes", "<a href=' a b/\u{e9}?x=1&amp;y=\"2\"' name='\u{e9} x'>t</a><img src='\u{e9} x'>", "<html><body><a href='a%20b/%C3%A9?x=1&amp;y=\"2\"' name=\"%C3%A9%20x\">t</a><img src=\"%C3%A9%20x\"></body></html>"),
        ("boolean_attributes", "<input checked disabled=disabled value=''><option selected=''>o</option>", "<html><body><input checked disabled value=\"\"><option selected>o</option></body></html>"),
        ("unterminated_tag_still_implies", "</option><p", "<html><body></body></html>"),
        ("only_comments", "<!--a-->", "<html></html>"),
        ("empty", "   ", "<html></html>"),
    ];
    for (name, text, expected) in cases {
        assert_eq!(html_of(text), expected, "{name}");
    }
}

#[test]
fn attribute_values_match_lxml() {
    let parsed = parse_html("<input checked foo bar='' disabled=x SELECTED>");
    let doc = &parsed.doc;
    let (_, input) = doc.elements().find(|(_, e)| &*e.name == "input").unwrap();
    let attrs: Vec<(&str, &str)> = input.attrs.iter().map(|a| (&*a.name, &*a.value)).collect();
    assert_eq!(
        attrs,
        [
            ("checked", "checked"),
            ("foo", ""),
            ("bar", ""),
            ("disabled", "x"),
            ("selected", "selected")
        ]
    );
}

#[test]
fn comments_outside_the_root_are_its_siblings() {
    let parsed = parse_html("<!--a--><p>x</p></html><!--b-->");
    let doc = &parsed.doc;
    let kinds: Vec<&str> = doc
        .children(doc.root())
        .map(|c| match &doc.node(c).data {
            NodeData::Comment(t) => t.as_str(),
            NodeData::Element(e) => &e.name,
            _ => "?",
        })
        .collect();
    assert_eq!(kinds, ["a", "html", "b"]);
    assert_eq!(
        outer_html(doc, doc.root()),
        "<!--a--><html><body><p>x</p></body></html><!--b-->"
    );
}

#[test]
fn text_after_the_root_opens_a_second_root() {
    let parsed = parse_html("<p>a</p></html><p>b");
    let doc = &parsed.doc;
    let roots = doc.children(doc.root()).count();
    assert_eq!(roots, 2);
}

fn depth_of_deepest(doc: &Document) -> usize {
    doc.elements()
        .map(|(id, _)| doc.ancestors(id).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn deep_nesting_is_capped_and_fast() {
    let text = format!("{}x{}", "<div>".repeat(100_000), "</div>".repeat(100_000));
    let start = Instant::now();
    let parsed = parse_html(&text);
    assert!(parsed.capped);
    assert!(depth_of_deepest(&parsed.doc) <= MAX_HTML_DEPTH + 1);
    let html = outer_html(&parsed.doc, parsed.doc.root());
    assert!(html.contains('x'));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );

    // Self-closing tags nest nothing.
    let parsed = parse_html(&"<div/>".repeat(100_000));
    assert!(!parsed.capped);
}

#[test]
fn a_megabyte_of_paragraphs_is_fast() {
    let text = "<p>".repeat(350_000);
    let start = Instant::now();
    let parsed = parse_html(&text);
    assert!(!parsed.capped);
    let html = outer_html(&parsed.doc, parsed.doc.root());
    assert_eq!(html.matches("<p>").count(), 350_000);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn unmatched_end_tags_under_a_full_stack_are_fast() {
    let text = format!("<b>{}{}", "<span>".repeat(600), "</b></i>".repeat(100_000));
    let start = Instant::now();
    let parsed = parse_html(&text);
    assert!(parsed.capped);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn odd_input_does_not_panic() {
    let pieces = [
        "<",
        "</",
        "<!",
        "<!--",
        "<?",
        "&",
        "&#",
        "&#x",
        "<p",
        "<p a",
        "<p a=",
        "<p a='",
        "<script>",
        "</script>",
        "<textarea>",
        "<plaintext>",
        "<title>",
        "<!DOCTYPE",
        "\r",
        "\0",
        "\u{feff}",
        "é",
        "<html>",
        "<body>",
        "<head>",
        "</html>",
        "</body>",
        "<table>",
        "<td>",
        "<li>",
        "<p/>",
        "<br/>",
        "<a b c d>",
        ">",
        "-->",
        "x",
    ];
    let mut seed = 12345u64;
    for _ in 0..2000 {
        let mut text = String::new();
        for _ in 0..12 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        let parsed = parse_html(&text);
        let _ = outer_html(&parsed.doc, parsed.doc.root());
    }
}
