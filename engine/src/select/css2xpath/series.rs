//! cssselect's `parse_series()` for `:nth-*(an+b)`, with Python's `int()` rules.

use super::token::{Kind, Token};

/// First code points of the runs of ten Unicode decimal digits (`Nd`) that Python's
/// `int()` accepts (Unicode 14, as in Python 3.11).
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
    0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

fn decimal(c: char) -> Option<i128> {
    let c = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&c))
        .map(|z| i128::from(c - z))
}

/// Python's `str.isspace()` (Rust's `White_Space` plus the ASCII separators).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `int(s)` for base 10; `None` on a `ValueError` or beyond `i128`.
fn py_int(s: &str) -> Option<i128> {
    let s = s.trim_matches(is_py_space);
    let (neg, digits) = match s.chars().next()? {
        '-' => (true, &s[1..]),
        '+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: i128 = 0;
    let mut prev_digit = false;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            if !prev_digit {
                return None;
            }
            prev_digit = false;
            continue;
        }
        let d = decimal(c)?;
        value = value.checked_mul(10)?.checked_add(d)?;
        prev_digit = true;
        any = true;
    }
    if !any || !prev_digit {
        return None;
    }
    Some(if neg { -value } else { value })
}

/// The `(a, b)` of an `an+b` series, or `None` where cssselect raises `ValueError`.
pub(crate) fn parse_series(tokens: &[Token]) -> Option<(i128, i128)> {
    if tokens.iter().any(|t| t.kind == Kind::String) {
        return None;
    }
    let joined: String = tokens.iter().map(|t| t.value.as_str()).collect();
    let lower = joined.to_ascii_lowercase();
    let s = lower.trim_matches(is_py_space);
    match s {
        "odd" => return Some((2, 1)),
        "even" => return Some((2, 0)),
        "n" => return Some((1, 0)),
        _ => {}
    }
    let Some((a, b)) = s.split_once('n') else {
        return Some((0, py_int(s)?));
    };
    let a = match a {
        "" => 1,
        "-" => -1,
        "+" => 1,
        _ => py_int(a)?,
    };
    let b = if b.is_empty() { 0 } else { py_int(b)? };
    Some((a, b))
}
