//! HTML parsing with a cap on the tree's depth.
//!
//! html5ever's tree builder walks its stack of open elements for most start and end
//! tags ("has an element in scope"), so a page of 100,000 nested `<div>`s takes time
//! quadratic in its depth (minutes for 1.3 MB), and every recursive walk of such a
//! tree risks the stack. Browsers cap the tree's depth (Chromium at 512). Here a token
//! filter sits between html5ever's tokenizer and its tree builder: once the tree
//! builder holds [`MAX_HTML_DEPTH`] open elements, further start tags (and the end
//! tags that match them) are dropped, so their content joins the deepest element kept.
//! Void and raw-text elements (`<br>`, `<script>`, ...) are always kept: they never
//! hold child elements. The depth is read from the tree builder itself, in time
//! proportional to the (capped) depth, so parsing is linear in the page's size.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use html5ever::interface::Tracer;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::{TreeBuilder, TreeBuilderOpts, TreeSink};
use html5ever::{local_name, LocalName};
use scraper::{Html, HtmlTreeSink};

/// The most elements open at once while parsing; deeper start tags are dropped.
pub const MAX_HTML_DEPTH: usize = 512;

/// Parses a whole document; the flag tells whether tags were dropped to cap the depth.
pub(crate) fn parse_document(text: &str) -> (Html, bool) {
    let builder = TreeBuilder::new(
        HtmlTreeSink::new(Html::new_document()),
        TreeBuilderOpts::default(),
    );
    let filter = DepthCap {
        inner: builder,
        dropped: RefCell::new(HashMap::new()),
        any_dropped: Cell::new(false),
    };
    let tokenizer = Tokenizer::new(filter, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(text));
    // Scripts are not run and the text is already decoded: go on until all is read
    // (`feed` pauses after each `</script>` and at `<meta charset>`).
    while !matches!(tokenizer.feed(&input), html5ever::TokenizerResult::Done) {}
    tokenizer.end();
    let capped = tokenizer.sink.any_dropped.get();
    let html = tokenizer.sink.inner.sink.finish();
    (html, capped)
}

/// The token filter (see the module notes).
struct DepthCap<Sink: TreeSink> {
    inner: TreeBuilder<Sink::Handle, Sink>,
    /// Names of dropped start tags whose end tags are still to come, with counts.
    dropped: RefCell<HashMap<LocalName, usize>>,
    any_dropped: Cell<bool>,
}

/// Counts the handles the tree builder holds: its open elements, plus its active
/// formatting elements and a few pointers (an upper bound on the open elements).
struct Counter<H> {
    n: Cell<usize>,
    _handle: std::marker::PhantomData<H>,
}

impl<H> Tracer for Counter<H> {
    type Handle = H;
    fn trace_handle(&self, _node: &H) {
        self.n.set(self.n.get() + 1);
    }
}

fn never_dropped(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("html")
            | local_name!("head")
            | local_name!("body")
            | local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
            | local_name!("script")
            | local_name!("style")
            | local_name!("title")
            | local_name!("textarea")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript")
            | local_name!("plaintext")
    )
}

impl<Sink: TreeSink> DepthCap<Sink>
where
    Sink::Handle: Clone,
{
    fn held_handles(&self) -> usize {
        let counter = Counter {
            n: Cell::new(0),
            _handle: std::marker::PhantomData,
        };
        self.inner.trace_handles(&counter);
        counter.n.get()
    }
}

impl<Sink: TreeSink> TokenSink for DepthCap<Sink>
where
    Sink::Handle: Clone,
{
    type Handle = Sink::Handle;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<Self::Handle> {
        if let Token::TagToken(tag) = &token {
            match tag.kind {
                // `<div/>` opens a `<div>` like `<div>` does (HTML ignores the slash
                // on non-void elements), so self-closing tags count too; only their
                // end tags are not awaited.
                TagKind::StartTag
                    if !never_dropped(&tag.name) && self.held_handles() >= MAX_HTML_DEPTH =>
                {
                    if !tag.self_closing {
                        *self
                            .dropped
                            .borrow_mut()
                            .entry(tag.name.clone())
                            .or_insert(0) += 1;
                    }
                    self.any_dropped.set(true);
                    return TokenSinkResult::Continue;
                }
                TagKind::EndTag => {
                    let mut dropped = self.dropped.borrow_mut();
                    if let Some(n) = dropped.get_mut(&tag.name) {
                        *n -= 1;
                        if *n == 0 {
                            dropped.remove(&tag.name);
                        }
                        return TokenSinkResult::Continue;
                    }
                }
                TagKind::StartTag => {}
            }
        }
        self.inner.process_token(token, line_number)
    }

    fn end(&self) {
        self.inner.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.inner
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_documents_parse_as_html5ever_parses_them() {
        for text in [
            "<p>a<p>b<table><tr><td>c</table><b><i>d</b>e</i><ul><li>x<li>y</ul>",
            "<!doctype html><title>t</title><script>if (a<b) {}</script><br/><img src=x>",
            "<html><head><meta charset=utf-8><script>1</script></head><body><h1>after</h1>",
        ] {
            let (ours, capped) = parse_document(text);
            assert!(!capped);
            assert_eq!(ours.html(), Html::parse_document(text).html());
        }
    }

    #[test]
    fn self_closing_non_void_tags_nest_and_are_capped_too() {
        let text = format!("{}x", "<div/>".repeat(5000));
        let (html, capped) = parse_document(&text);
        assert!(capped);
        let divs = html
            .root_element()
            .descendent_elements()
            .filter(|e| e.value().name() == "div")
            .count();
        assert!(divs < MAX_HTML_DEPTH, "{divs} divs kept");
    }

    #[test]
    fn deep_documents_are_capped_and_keep_their_text() {
        let n = 5000;
        let text = format!(
            "{}deep{}<p id=after>after</p>",
            "<div>".repeat(n),
            "</div>".repeat(n)
        );
        let (html, capped) = parse_document(&text);
        assert!(capped);
        let divs = html
            .root_element()
            .descendent_elements()
            .filter(|e| e.value().name() == "div")
            .count();
        assert!(divs < MAX_HTML_DEPTH, "{divs} divs kept");
        let text: String = html.root_element().text().collect();
        assert_eq!(text, "deepafter");
        let after = html
            .root_element()
            .descendent_elements()
            .find(|e| e.value().id() == Some("after"))
            .unwrap();
        // The paragraph after the deep part is still a child of <body>.
        let parent = after.parent().and_then(scraper::ElementRef::wrap).unwrap();
        assert_eq!(parent.value().name(), "body");
    }
}
