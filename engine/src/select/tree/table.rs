//! libxml2 2.14's HTML element knowledge (`html40ElementTable`, `htmlStartClose`,
//! `htmlEndPriority`, `htmlBooleanAttrs` in HTMLparser.c / HTMLtree.c).

/// How the tokenizer reads an element's content (libxml2's `dataMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DataMode {
    /// Markup.
    Normal,
    /// Text with character references (`title`, `textarea`).
    Rcdata,
    /// Text up to the matching end tag (`style`, `xmp`, `iframe`, `noembed`, `noframes`).
    Rawtext,
    /// Script data (`script`).
    Script,
    /// Everything to the end of the input (`plaintext`).
    Plaintext,
}

/// The content mode of element `name`.
pub(super) fn data_mode(name: &str) -> DataMode {
    match name {
        "title" | "textarea" => DataMode::Rcdata,
        "style" | "xmp" | "iframe" | "noembed" | "noframes" => DataMode::Rawtext,
        "script" => DataMode::Script,
        "plaintext" => DataMode::Plaintext,
        _ => DataMode::Normal,
    }
}

/// Elements libxml2 knows as empty: closed right after their start tag, serialized
/// without an end tag.
pub(super) fn is_empty(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "basefont"
            | "br"
            | "col"
            | "frame"
            | "hr"
            | "img"
            | "input"
            | "isindex"
            | "link"
            | "meta"
            | "param"
    )
}

/// Elements serialized without an end tag when they have no children (`saveEndTag`).
pub(super) fn saves_end_tag(name: &str) -> bool {
    is_empty(name) || name == "li"
}

/// Attributes serialized by name alone; valueless ones get their name as value.
pub(super) fn is_boolean_attr(name: &str) -> bool {
    const NAMES: [&str; 13] = [
        "checked", "compact", "declare", "defer", "disabled", "ismap", "multiple", "nohref",
        "noresize", "noshade", "nowrap", "readonly", "selected",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// An end tag may only close open elements of lower or equal priority.
pub(super) fn end_priority(name: &str) -> u8 {
    match name {
        "div" => 150,
        "td" | "th" => 160,
        "tr" => 170,
        "thead" | "tbody" | "tfoot" => 180,
        "table" => 190,
        "head" | "body" => 200,
        "html" => 220,
        _ => 100,
    }
}

/// Elements implied into `<head>` when they come first.
pub(super) fn is_head_element(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "meta" | "link" | "title" | "base"
    )
}

/// Whether a start tag `new` closes the open element `old`.
pub(super) fn start_closes(old: &str, new: &str) -> bool {
    START_CLOSE
        .binary_search_by(|&(o, n)| o.cmp(old).then(n.cmp(new)))
        .is_ok()
}

/// `htmlStartClose`: (open element, start tag that closes it), sorted.
#[rustfmt::skip]
const START_CLOSE: &[(&str, &str)] = &[
    ("a", "a"), ("a", "fieldset"), ("a", "table"), ("a", "td"), ("a", "th"),
    ("address", "dd"), ("address", "dl"), ("address", "dt"), ("address", "form"),
    ("address", "li"), ("address", "ul"),
    ("b", "center"), ("b", "p"), ("b", "td"), ("b", "th"),
    ("big", "p"),
    ("caption", "col"), ("caption", "colgroup"), ("caption", "tbody"), ("caption", "tfoot"),
    ("caption", "thead"), ("caption", "tr"),
    ("col", "col"), ("col", "colgroup"), ("col", "tbody"), ("col", "tfoot"), ("col", "thead"),
    ("col", "tr"),
    ("colgroup", "colgroup"), ("colgroup", "tbody"), ("colgroup", "tfoot"),
    ("colgroup", "thead"), ("colgroup", "tr"),
    ("dd", "dt"),
    ("dir", "dd"), ("dir", "dl"), ("dir", "dt"), ("dir", "form"), ("dir", "ul"),
    ("dl", "form"), ("dl", "li"),
    ("dt", "dd"), ("dt", "dl"),
    ("font", "center"), ("font", "td"), ("font", "th"),
    ("form", "form"),
    ("h1", "fieldset"), ("h1", "form"), ("h1", "li"), ("h1", "p"), ("h1", "table"),
    ("h2", "fieldset"), ("h2", "form"), ("h2", "li"), ("h2", "p"), ("h2", "table"),
    ("h3", "fieldset"), ("h3", "form"), ("h3", "li"), ("h3", "p"), ("h3", "table"),
    ("h4", "fieldset"), ("h4", "form"), ("h4", "li"), ("h4", "p"), ("h4", "table"),
    ("h5", "fieldset"), ("h5", "form"), ("h5", "li"), ("h5", "p"), ("h5", "table"),
    ("h6", "fieldset"), ("h6", "form"), ("h6", "li"), ("h6", "p"), ("h6", "table"),
    ("head", "a"), ("head", "abbr"), ("head", "acronym"), ("head", "address"), ("head", "b"),
    ("head", "bdo"), ("head", "big"), ("head", "blockquote"), ("head", "body"), ("head", "br"),
    ("head", "center"), ("head", "cite"), ("head", "code"), ("head", "dd"), ("head", "dfn"),
    ("head", "dir"), ("head", "div"), ("head", "dl"), ("head", "dt"), ("head", "em"),
    ("head", "fieldset"), ("head", "font"), ("head", "form"), ("head", "frameset"),
    ("head", "h1"), ("head", "h2"), ("head", "h3"), ("head", "h4"), ("head", "h5"),
    ("head", "h6"), ("head", "hr"), ("head", "i"), ("head", "iframe"), ("head", "img"),
    ("head", "kbd"), ("head", "li"), ("head", "listing"), ("head", "map"), ("head", "menu"),
    ("head", "ol"), ("head", "p"), ("head", "pre"), ("head", "q"), ("head", "s"),
    ("head", "samp"), ("head", "small"), ("head", "span"), ("head", "strike"),
    ("head", "strong"), ("head", "sub"), ("head", "sup"), ("head", "table"), ("head", "tt"),
    ("head", "u"), ("head", "ul"), ("head", "var"), ("head", "xmp"),
    ("hr", "form"),
    ("i", "center"), ("i", "p"), ("i", "td"), ("i", "th"),
    ("legend", "fieldset"),
    ("li", "li"),
    ("link", "body"), ("link", "frameset"),
    ("listing", "dd"), ("listing", "dl"), ("listing", "dt"), ("listing", "fieldset"),
    ("listing", "form"), ("listing", "li"), ("listing", "table"), ("listing", "ul"),
    ("menu", "dd"), ("menu", "dl"), ("menu", "dt"), ("menu", "form"), ("menu", "ul"),
    ("ol", "form"),
    ("option", "optgroup"), ("option", "option"),
    ("p", "address"), ("p", "blockquote"), ("p", "body"), ("p", "caption"), ("p", "center"),
    ("p", "col"), ("p", "colgroup"), ("p", "dd"), ("p", "dir"), ("p", "div"), ("p", "dl"),
    ("p", "dt"), ("p", "fieldset"), ("p", "form"), ("p", "frameset"), ("p", "h1"),
    ("p", "h2"), ("p", "h3"), ("p", "h4"), ("p", "h5"), ("p", "h6"), ("p", "head"),
    ("p", "hr"), ("p", "li"), ("p", "listing"), ("p", "menu"), ("p", "ol"), ("p", "p"),
    ("p", "pre"), ("p", "table"), ("p", "tbody"), ("p", "td"), ("p", "tfoot"), ("p", "th"),
    ("p", "title"), ("p", "tr"), ("p", "ul"), ("p", "xmp"),
    ("pre", "dd"), ("pre", "dl"), ("pre", "dt"), ("pre", "fieldset"), ("pre", "form"),
    ("pre", "li"), ("pre", "table"), ("pre", "ul"),
    ("s", "p"),
    ("script", "noscript"),
    ("small", "p"),
    ("span", "td"), ("span", "th"),
    ("strike", "p"),
    ("style", "body"), ("style", "frameset"),
    ("tbody", "tbody"), ("tbody", "tfoot"),
    ("td", "tbody"), ("td", "td"), ("td", "tfoot"), ("td", "th"), ("td", "tr"),
    ("tfoot", "tbody"),
    ("th", "tbody"), ("th", "td"), ("th", "tfoot"), ("th", "th"), ("th", "tr"),
    ("thead", "tbody"), ("thead", "tfoot"),
    ("title", "body"), ("title", "frameset"),
    ("tr", "tbody"), ("tr", "tfoot"), ("tr", "tr"),
    ("tt", "p"),
    ("u", "p"), ("u", "td"), ("u", "th"),
    ("ul", "address"), ("ul", "form"), ("ul", "menu"), ("ul", "pre"),
    ("xmp", "dd"), ("xmp", "dl"), ("xmp", "dt"), ("xmp", "fieldset"), ("xmp", "form"),
    ("xmp", "li"), ("xmp", "table"), ("xmp", "ul"),
];
