//! libxml2's tree construction (HTMLparser.c: `htmlParseStartTag`, `htmlParseEndTag`,
//! `htmlAutoClose`, `htmlCheckImplied`, `htmlCharDataSAXCallback`) on html5ever's tokens.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{LocalName, TokenizerResult};

use super::super::dom::{Attribute, Document, Element, NodeData, NodeId};
use super::table::{self, DataMode};
use super::{scan, MAX_HTML_DEPTH};

/// Names longer than this many bytes are cut (libxml2's `HTML_PARSER_BUFFER_SIZE`).
const MAX_NAME_BYTES: usize = 100;

/// Builds the tree of `text` (already stripped); also tells whether tags were dropped.
pub(super) fn build(text: &str) -> (Document, bool) {
    let queue = Rc::new(BufferQueue::default());
    queue.push_back(StrTendril::from_slice(text));
    let sink = Sink {
        state: RefCell::new(State::default()),
        queue: Rc::clone(&queue),
        src: text,
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    while !matches!(tokenizer.feed(&queue), TokenizerResult::Done) {}
    tokenizer.end();
    let mut state = tokenizer.sink.state.into_inner();
    state.doc.finish();
    (state.doc, state.capped)
}

struct Sink<'a> {
    state: RefCell<State>,
    /// The tokenizer's input, to tell how far it has read.
    queue: Rc<BufferQueue>,
    src: &'a str,
}

impl Sink<'_> {
    /// The offset in `src` just past what the tokenizer has consumed, read from what is
    /// left of its input; `None` when the tokenizer is reading text it put back (after
    /// a character reference).
    fn position(&self) -> Option<usize> {
        let Some(chunk) = self.queue.peek_front_chunk_mut() else {
            return Some(self.src.len());
        };
        let pos = self.src.len().checked_sub(chunk.len())?;
        let head = chunk.get(..chunk.len().min(16)).unwrap_or(&chunk[..]);
        self.src.get(pos..)?.starts_with(head).then_some(pos)
    }

    /// Which attributes of the start tag just read had no value, by name.
    fn valueless(&self, from: usize, end: usize) -> Option<Vec<(String, bool)>> {
        let start = scan::tag_start(self.src, from)?;
        let (attrs, tag_end) = scan::attrs_with_values(self.src, start)?;
        (tag_end == end).then_some(attrs)
    }
}

impl TokenSink for Sink<'_> {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut st = self.state.borrow_mut();
        match token {
            Token::CharacterTokens(text) => {
                // A `<` that starts no tag makes libxml2 imply a `<body>` wherever
                // it is (other text only directly in `<html>` or `<head>`).
                if &*text == "<"
                    && st.in_markup()
                    && self.position().is_some_and(|p| is_literal_lt(self.src, p))
                {
                    st.start_char_data();
                }
                st.characters(&text);
            }
            Token::NullCharacterToken => st.characters("\u{FFFD}"),
            Token::CommentToken(text) => {
                st.comment(&text);
                st.prev_end = self.position().unwrap_or(st.prev_end);
            }
            Token::DoctypeToken(_) => st.prev_end = self.position().unwrap_or(st.prev_end),
            Token::TagToken(tag) => {
                let end = self.position().unwrap_or(st.prev_end);
                let result = match tag.kind {
                    TagKind::StartTag => {
                        let scanned = if tag.attrs.is_empty() {
                            None
                        } else {
                            self.valueless(st.prev_end, end)
                        };
                        st.start_tag(tag, scanned)
                    }
                    TagKind::EndTag => {
                        st.end_tag(&tag.name);
                        TokenSinkResult::Continue
                    }
                };
                st.prev_end = end;
                return result;
            }
            Token::EOFToken => st.unterminated_tag(self.src),
            Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }
}

/// The parser's state: the tree and libxml2's stack of open elements.
#[derive(Default)]
struct State {
    doc: Document,
    /// The open elements, outermost first, with their end-tag priorities.
    stack: Vec<(NodeId, LocalName, u8)>,
    /// A `<head>` was opened (libxml2's `INSERT_IN_HEAD`).
    seen_head: bool,
    /// A `<body>` was opened (libxml2's `INSERT_IN_BODY`).
    seen_body: bool,
    heads_open: usize,
    bodies_open: usize,
    /// Misplaced `<html>`/`<head>`/`<body>` tags ignored, whose end tags are ignored too.
    misplaced: usize,
    /// Start tags dropped by the depth cap, whose end tags are still to come.
    dropped: HashMap<LocalName, usize>,
    capped: bool,
    /// Where the last tag, comment or doctype ended in the source.
    prev_end: usize,
}

/// Whether the `<` just read is a literal one rather than `&lt;`: the tokenizer emits
/// it after reading the character that follows it (one that starts no tag), or at the
/// end of the input.
fn is_literal_lt(src: &str, pos: usize) -> bool {
    let mut before = src.get(..pos).unwrap_or_default().chars().rev();
    match before.next() {
        Some('<') if pos == src.len() => true,
        Some(c) if c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?') => false,
        Some(_) => before.next() == Some('<'),
        None => false,
    }
}

fn is_html_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// `name` cut to libxml2's name buffer.
fn cut_name(name: &LocalName) -> LocalName {
    if name.len() <= MAX_NAME_BYTES {
        return name.clone();
    }
    let mut out = String::new();
    for c in name.chars() {
        if out.len() + c.len_utf8() <= MAX_NAME_BYTES {
            out.push(c);
        }
    }
    LocalName::from(out)
}

impl State {
    fn current_name(&self) -> Option<&str> {
        self.stack.last().map(|(_, n, _)| &**n)
    }

    fn push(&mut self, name: LocalName, attrs: Vec<Attribute>) -> NodeId {
        let parent = self.stack.last().map_or(NodeId::ROOT, |&(id, _, _)| id);
        let id = self.doc.append(
            parent,
            NodeData::Element(Element {
                name: Box::from(&*name),
                attrs,
            }),
        );
        match &*name {
            "head" => {
                self.seen_head = true;
                self.heads_open += 1;
            }
            "body" => {
                self.seen_body = true;
                self.bodies_open += 1;
            }
            _ => {}
        }
        let priority = table::end_priority(&name);
        self.stack.push((id, name, priority));
        id
    }

    fn pop(&mut self) {
        if let Some((_, name, _)) = self.stack.pop() {
            match &*name {
                "head" => self.heads_open -= 1,
                "body" => self.bodies_open -= 1,
                _ => {}
            }
        }
    }

    /// `htmlAutoClose`: pops the open elements the start tag `name` closes.
    fn auto_close(&mut self, name: &str) {
        while self
            .current_name()
            .is_some_and(|cur| table::start_closes(cur, name))
        {
            self.pop();
        }
    }

    /// `htmlCheckImplied`: opens the `<html>`, `<head>` or `<body>` the tag implies.
    fn check_implied(&mut self, name: &str) {
        if name == "html" {
            return;
        }
        if self.stack.is_empty() {
            self.push(LocalName::from("html"), Vec::new());
        }
        if name == "body" || name == "head" {
            return;
        }
        if self.stack.len() <= 1 && table::is_head_element(name) {
            if !self.seen_head && !self.seen_body {
                self.push(LocalName::from("head"), Vec::new());
            }
        } else if !matches!(name, "noframes" | "frame" | "frameset")
            && !self.seen_body
            && self.bodies_open == 0
            && self.heads_open == 0
        {
            self.push(LocalName::from("body"), Vec::new());
        }
    }

    /// `htmlCharDataSAXCallback` and `htmlStartCharData`.
    fn characters(&mut self, text: &str) {
        let mut text = text;
        if matches!(self.current_name(), None | Some("html" | "head")) {
            let rest = text.trim_start_matches(is_html_ws);
            let blank = &text[..text.len() - rest.len()];
            self.append_text(blank);
            text = rest;
            if text.is_empty() {
                return;
            }
            self.start_char_data();
        }
        self.append_text(text);
    }

    /// `htmlStartCharData`: text closes `<head>` and implies `<body>`.
    fn start_char_data(&mut self) {
        if self.current_name() == Some("head") {
            self.auto_close("p");
        }
        self.check_implied("p");
    }

    /// Whether the open element holds markup (not raw text).
    fn in_markup(&self) -> bool {
        self.current_name()
            .is_none_or(|n| table::data_mode(n) == DataMode::Normal)
    }

    /// Text goes to the open element; with none open it is dropped.
    fn append_text(&mut self, text: &str) {
        if let Some(&(id, _, _)) = self.stack.last() {
            self.doc.append_text(id, text);
        }
    }

    fn comment(&mut self, text: &str) {
        let parent = self.stack.last().map_or(NodeId::ROOT, |&(id, _, _)| id);
        self.doc.append(parent, NodeData::Comment(text.to_string()));
    }

    /// `htmlParseStartTag` and `htmlParseElementInternal`.
    fn start_tag(&mut self, tag: Tag, scanned: Option<Vec<(String, bool)>>) -> TokenSinkResult<()> {
        let name = cut_name(&tag.name);
        self.auto_close(&name);
        self.check_implied(&name);
        let misplaced = match &*name {
            "html" if !self.stack.is_empty() => 1,
            "head" if self.stack.len() != 1 => 1,
            "body" => self.bodies_open,
            _ => 0,
        };
        if misplaced > 0 {
            self.misplaced += misplaced;
            if tag.self_closing {
                // libxml2 ends the element then open for `/>`.
                self.pop();
            }
            return TokenSinkResult::Continue;
        }
        let mode = table::data_mode(&name);
        let keeps_content = !table::is_empty(&name) && mode == DataMode::Normal;
        if self.stack.len() >= MAX_HTML_DEPTH
            && keeps_content
            && !matches!(&*name, "html" | "head" | "body")
        {
            if !tag.self_closing {
                *self.dropped.entry(name).or_insert(0) += 1;
            }
            self.capped = true;
            return TokenSinkResult::Continue;
        }
        let attrs = attributes(tag.attrs, scanned.as_deref());
        let (attrs, bare): (Vec<Attribute>, Vec<bool>) = attrs.into_iter().unzip();
        let id = self.push(name, attrs);
        for (i, _) in bare.iter().enumerate().filter(|(_, &b)| b) {
            self.doc.mark_valueless(id, i);
        }
        if tag.self_closing || table::is_empty(self.current_name().unwrap_or_default()) {
            self.pop();
            return TokenSinkResult::Continue;
        }
        match mode {
            DataMode::Normal => TokenSinkResult::Continue,
            DataMode::Rcdata => TokenSinkResult::RawData(RawKind::Rcdata),
            DataMode::Rawtext => TokenSinkResult::RawData(RawKind::Rawtext),
            DataMode::Script => TokenSinkResult::RawData(RawKind::ScriptData),
            DataMode::Plaintext => TokenSinkResult::Plaintext,
        }
    }

    /// A start tag cut by the end of the input is dropped, but libxml2 has already
    /// closed and implied elements for it.
    fn unterminated_tag(&mut self, src: &str) {
        if !self.in_markup() {
            return;
        }
        let Some(start) = scan::tag_start(src, self.prev_end) else {
            return;
        };
        if scan::attrs_with_values(src, start).is_some() {
            return;
        }
        let name: String = src[start + 1..]
            .split(|c: char| is_html_ws(c) || c == '/' || c == '>')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name = cut_name(&LocalName::from(name));
        self.auto_close(&name);
        self.check_implied(&name);
    }

    /// `htmlParseEndTag` and `htmlAutoCloseOnClose`.
    fn end_tag(&mut self, name: &LocalName) {
        let name = cut_name(name);
        if self.misplaced > 0 && matches!(&*name, "html" | "body" | "head") {
            self.misplaced -= 1;
            return;
        }
        if let Some(n) = self.dropped.get_mut(&name) {
            *n -= 1;
            if *n == 0 {
                self.dropped.remove(&name);
            }
            return;
        }
        let Some(i) = self.stack.iter().rposition(|(_, open, _)| *open == name) else {
            return;
        };
        // A misplaced end tag only closes elements of lower or equal priority.
        let priority = table::end_priority(&name);
        if self.stack[i + 1..].iter().any(|&(_, _, p)| p > priority) {
            return;
        }
        while self.stack.len() > i {
            self.pop();
        }
    }
}

/// The element's attributes with, for each, whether it was written without a value:
/// names cut as libxml2 cuts them (the first of equal names wins), valueless boolean
/// attributes valued with their name.
fn attributes(
    attrs: Vec<html5ever::Attribute>,
    scanned: Option<&[(String, bool)]>,
) -> Vec<(Attribute, bool)> {
    let mut out: Vec<(Attribute, bool)> = Vec::with_capacity(attrs.len());
    // Hash lookups keep a tag with thousands of attributes linear.
    let mut seen: std::collections::HashSet<Box<str>> =
        std::collections::HashSet::with_capacity(attrs.len());
    let mut had_value: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
    for (n, v) in scanned.unwrap_or_default() {
        had_value.entry(n.as_str()).or_insert(*v);
    }
    for a in attrs {
        let name = cut_name(&a.name.local);
        if !seen.insert(Box::from(&*name)) {
            continue;
        }
        let bare = a.value.is_empty()
            && match scanned {
                Some(_) => had_value.get(&*name).is_none_or(|v| !v),
                None => table::is_boolean_attr(&name),
            };
        let value: Box<str> = if bare && table::is_boolean_attr(&name) {
            Box::from(&*name)
        } else {
            Box::from(&*a.value)
        };
        out.push((
            Attribute {
                name: Box::from(&*name),
                value,
            },
            bare,
        ));
    }
    out
}
