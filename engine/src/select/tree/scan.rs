//! Which attributes of a start tag were written without a value.
//!
//! html5ever's tokenizer gives `<input hidden>` and `<input hidden="">` the same empty
//! value, while libxml2 tells them apart (the first serializes as `hidden`, and a
//! valueless boolean attribute such as `checked` gets its name as value). The builder
//! knows where each start tag ends in the source; this module re-reads the tag by the
//! HTML tokenizer's rules to find the attributes without `=`.

/// HTML whitespace.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// The start of the first tag (`<` and an ASCII letter) in `src[from..]`.
pub(super) fn tag_start(src: &str, from: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = from;
    while i + 1 < bytes.len() {
        match memchr(b'<', &bytes[i..]) {
            Some(k) => i += k,
            None => return None,
        }
        if bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// Reads the start tag at `src[start..]` (which begins with `<` and a letter): the
/// lowercased attribute names in source order, each with whether it has a value, and
/// the offset just past the tag's `>`; `None` when the input ends inside the tag.
pub(super) fn attrs_with_values(src: &str, start: usize) -> Option<(Vec<(String, bool)>, usize)> {
    let b = src.as_bytes();
    let mut i = start + 1;
    while i < b.len() && !is_ws(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    let mut attrs = Vec::new();
    loop {
        // Before an attribute name.
        while i < b.len() && (is_ws(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if *b.get(i)? == b'>' {
            return Some((attrs, i + 1));
        }
        let name_start = i;
        i += 1; // the first character may be `=`
        while i < b.len() && !is_ws(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let name = src.get(name_start..i)?.to_ascii_lowercase();
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            attrs.push((name, false));
            continue;
        }
        i += 1;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        match *b.get(i)? {
            q @ (b'"' | b'\'') => {
                i += 1 + memchr(q, b.get(i + 1..)?)? + 1;
            }
            b'>' => {}
            _ => {
                while i < b.len() && !is_ws(b[i]) && b[i] != b'>' {
                    i += 1;
                }
            }
        }
        attrs.push((name, true));
    }
}
