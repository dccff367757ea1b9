//! The tokenizer, a transcription of cssselect's `tokenize()`.
//!
//! Works on a `Vec<char>` so positions are code-point offsets (as in Python) and no
//! slicing can split a UTF-8 sequence. Escapes are decoded the way cssselect does it:
//! by successive `re.sub` passes over the matched text, quirks included (a `\5c `
//! escape yields a backslash that the second pass may then treat as an escape).

use super::CssError;
use std::fmt;

/// The kind of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Ident,
    Hash,
    String,
    S,
    Delim,
    Number,
    Eof,
}

/// One token: its kind, decoded value and code-point position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub value: String,
    pub pos: usize,
}

impl Token {
    /// Whether this is a DELIM token whose value is one of `chars`.
    pub fn is_delim(&self, chars: &str) -> bool {
        self.kind == Kind::Delim && self.value.chars().next().is_some_and(|c| chars.contains(c))
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Ident => "IDENT",
            Kind::Hash => "HASH",
            Kind::String => "STRING",
            Kind::S => "S",
            Kind::Delim => "DELIM",
            Kind::Number => "NUMBER",
            Kind::Eof => return write!(f, "<EOF at {}>", self.pos),
        };
        write!(f, "<{kind} '{}' at {}>", self.value, self.pos)
    }
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0c')
}

/// Length of a unicode escape (`\` hex{1,6} optional whitespace) at `i`, and its
/// hex digits' value, if there is one.
fn unicode_escape(s: &[char], i: usize) -> Option<(usize, u32)> {
    if s.get(i) != Some(&'\\') {
        return None;
    }
    let mut j = i + 1;
    let mut value: u32 = 0;
    while j < s.len() && j - i - 1 < 6 {
        match s[j].to_digit(16) {
            Some(d) => value = value * 16 + d,
            None => break,
        }
        j += 1;
    }
    if j == i + 1 {
        return None;
    }
    if s.get(j) == Some(&'\r') && s.get(j + 1) == Some(&'\n') {
        j += 2;
    } else if s.get(j).is_some_and(|&c| is_ws(c)) {
        j += 1;
    }
    Some((j - i, value))
}

/// Length of an `escape` (unicode escape or `\` + a char other than newline/hex).
fn escape(s: &[char], i: usize) -> Option<usize> {
    if let Some((n, _)) = unicode_escape(s, i) {
        return Some(n);
    }
    match (s.get(i), s.get(i + 1)) {
        (Some('\\'), Some(c)) if !matches!(c, '\n' | '\r' | '\x0c') && !c.is_ascii_hexdigit() => {
            Some(2)
        }
        _ => None,
    }
}

fn nmstart(s: &[char], i: usize) -> Option<usize> {
    match s.get(i) {
        Some(&c) if c == '_' || c.is_ascii_alphabetic() || c as u32 > 0x7f => Some(1),
        Some('\\') => escape(s, i),
        _ => None,
    }
}

fn nmchar(s: &[char], i: usize) -> Option<usize> {
    match s.get(i) {
        Some(&c) if c == '-' || c.is_ascii_digit() => Some(1),
        _ => nmstart(s, i),
    }
}

fn nmchars(s: &[char], mut i: usize) -> usize {
    while let Some(n) = nmchar(s, i) {
        i += n;
    }
    i
}

fn match_ident(s: &[char], i: usize) -> Option<usize> {
    let start = if s.get(i) == Some(&'-') { i + 1 } else { i };
    let n = nmstart(s, start)?;
    Some(nmchars(s, start + n))
}

fn match_number(s: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(s.get(j), Some('+' | '-')) {
        j += 1;
    }
    let digits = |mut k: usize| {
        while s.get(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        k
    };
    let int_end = digits(j);
    if s.get(int_end) == Some(&'.') {
        let frac_end = digits(int_end + 1);
        if frac_end > int_end + 1 {
            return Some(frac_end);
        }
    }
    (int_end > j).then_some(int_end)
}

/// `re.sub(unicode_escape, replace_unicode, s)`.
fn sub_unicode(s: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if let Some((n, v)) = unicode_escape(s, i) {
            let c = if v == 0 { None } else { char::from_u32(v) };
            out.push(c.unwrap_or('\u{fffd}'));
            i += n;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// `re.sub(r"\\(.)", r"\1", s)` (`.` excludes only `\n`).
fn sub_simple(s: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match (s[i], s.get(i + 1)) {
            ('\\', Some(&c)) if c != '\n' => {
                out.push(c);
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `re.sub(r"\\(?:\n|\r\n|\r|\f)", "", s)`.
fn sub_newline(s: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match (s[i], s.get(i + 1), s.get(i + 2)) {
            ('\\', Some('\r'), Some('\n')) => i += 3,
            ('\\', Some('\n' | '\r' | '\x0c'), _) => i += 2,
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn unescape_ident(raw: &[char]) -> String {
    sub_simple(&sub_unicode(raw))
}

/// End of the body of a string starting after its opening `quote` at `i`.
fn match_string_body(s: &[char], mut i: usize, quote: char) -> usize {
    loop {
        match s.get(i) {
            Some('\\') => {
                let n = match (s.get(i + 1), s.get(i + 2)) {
                    (Some('\r'), Some('\n')) => Some(3),
                    (Some('\n' | '\r' | '\x0c'), _) => Some(2),
                    _ => escape(s, i),
                };
                match n {
                    Some(n) => i += n,
                    None => return i,
                }
            }
            Some(&c) if c != quote && !matches!(c, '\n' | '\r' | '\x0c') => i += 1,
            _ => return i,
        }
    }
}

/// Splits `css` into tokens, ending with an EOF token.
pub(crate) fn tokenize(css: &str) -> Result<Vec<Token>, CssError> {
    let s: Vec<char> = css
        .chars()
        .map(|c| if c == '\0' { '\u{fffd}' } else { c })
        .collect();
    let mut tokens = Vec::new();
    let mut pos = 0;
    let tok = |kind, value: String, pos| Token { kind, value, pos };
    while pos < s.len() {
        if is_ws(s[pos]) {
            let start = pos;
            while pos < s.len() && is_ws(s[pos]) {
                pos += 1;
            }
            tokens.push(tok(Kind::S, " ".into(), start));
            continue;
        }
        if let Some(end) = match_ident(&s, pos) {
            tokens.push(tok(Kind::Ident, unescape_ident(&s[pos..end]), pos));
            pos = end;
            continue;
        }
        if s[pos] == '#' {
            let end = nmchars(&s, pos + 1);
            if end > pos + 1 {
                tokens.push(tok(Kind::Hash, unescape_ident(&s[pos + 1..end]), pos));
                pos = end;
                continue;
            }
        }
        let quote = s[pos];
        if quote == '\'' || quote == '"' {
            let end = match_string_body(&s, pos + 1, quote);
            if end == s.len() {
                return Err(CssError::syntax(format!("Unclosed string at {pos}")));
            }
            if s[end] != quote {
                return Err(CssError::syntax(format!("Invalid string at {pos}")));
            }
            let value = sub_simple(&sub_unicode(&sub_newline(&s[pos + 1..end])));
            tokens.push(tok(Kind::String, value, pos));
            pos = end + 1;
            continue;
        }
        if let Some(end) = match_number(&s, pos) {
            tokens.push(tok(Kind::Number, s[pos..end].iter().collect(), pos));
            pos = end;
            continue;
        }
        if s[pos] == '/' && s.get(pos + 1) == Some(&'*') {
            pos = (pos + 2..s.len().saturating_sub(1))
                .find(|&k| s[k] == '*' && s[k + 1] == '/')
                .map_or(s.len(), |k| k + 2);
            continue;
        }
        tokens.push(tok(Kind::Delim, s[pos].to_string(), pos));
        pos += 1;
    }
    tokens.push(tok(Kind::Eof, String::new(), pos));
    Ok(tokens)
}
