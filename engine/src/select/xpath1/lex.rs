//! The XPath 1.0 tokenizer, with the disambiguation rules of section 3.7.

use super::CompileError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Slash,
    DSlash,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Dot,
    DDot,
    At,
    Comma,
    DColon,
    Pipe,
    Plus,
    Minus,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    /// `*` as the multiplication operator.
    Mul,
    And,
    Or,
    Div,
    Mod,
    Literal(String),
    Number(f64),
    /// A name test, function name, axis name or node type: `local` or `prefix:local`.
    Name(Option<String>, String),
    /// `*` or `prefix:*` as a name test.
    Star(Option<String>),
    /// End of input.
    End,
}

impl Tok {
    /// How the token reads in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Literal(s) => format!("string literal \"{s}\""),
            Tok::Number(n) => format!("number {}", super::num::number_to_string(*n)),
            Tok::Name(Some(p), l) => format!("'{p}:{l}'"),
            Tok::Name(None, l) => format!("'{l}'"),
            Tok::Star(Some(p)) => format!("'{p}:*'"),
            Tok::Star(None) | Tok::Mul => "'*'".into(),
            Tok::End => "end of expression".into(),
            t => format!("'{}'", t.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::Slash => "/",
            Tok::DSlash => "//",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrack => "[",
            Tok::RBrack => "]",
            Tok::Dot => ".",
            Tok::DDot => "..",
            Tok::At => "@",
            Tok::Comma => ",",
            Tok::DColon => "::",
            Tok::Pipe => "|",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Eq => "=",
            Tok::Neq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Div => "div",
            Tok::Mod => "mod",
            _ => "?",
        }
    }

    /// Whether a following `*` or name must be an operator (XPath 1.0 section 3.7).
    fn ends_operand(&self) -> bool {
        matches!(
            self,
            Tok::RParen
                | Tok::RBrack
                | Tok::Dot
                | Tok::DDot
                | Tok::Literal(_)
                | Tok::Number(_)
                | Tok::Name(..)
                | Tok::Star(_)
        )
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || (!c.is_ascii() && !c.is_whitespace())
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

/// Splits `src` into tokens with their byte offsets; the last one is [`Tok::End`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, CompileError> {
    let b = src.as_bytes();
    let mut out: Vec<(Tok, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        let prev_operand = out.last().is_some_and(|(t, _)| t.ends_operand());
        let two = |s: &[u8]| b[i..].starts_with(s);
        let tok = match c {
            b'/' if two(b"//") => {
                i += 2;
                Tok::DSlash
            }
            b'/' => {
                i += 1;
                Tok::Slash
            }
            b'(' | b')' | b'[' | b']' | b'@' | b',' | b'|' | b'+' | b'-' | b'=' => {
                i += 1;
                match c {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'[' => Tok::LBrack,
                    b']' => Tok::RBrack,
                    b'@' => Tok::At,
                    b',' => Tok::Comma,
                    b'|' => Tok::Pipe,
                    b'+' => Tok::Plus,
                    b'-' => Tok::Minus,
                    _ => Tok::Eq,
                }
            }
            b'!' if two(b"!=") => {
                i += 2;
                Tok::Neq
            }
            b'<' | b'>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                i += 1 + usize::from(eq);
                match (c, eq) {
                    (b'<', false) => Tok::Lt,
                    (b'<', true) => Tok::Le,
                    (_, false) => Tok::Gt,
                    _ => Tok::Ge,
                }
            }
            b':' if two(b"::") => {
                i += 2;
                Tok::DColon
            }
            b'.' if two(b"..") => {
                i += 2;
                Tok::DDot
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                Tok::Dot
            }
            b'0'..=b'9' | b'.' => {
                let (n, len) = super::num::scan_number(&src[i..]);
                i += len;
                Tok::Number(n)
            }
            b'"' | b'\'' => {
                let Some(end) = src[i + 1..].find(c as char) else {
                    return Err(CompileError::Syntax {
                        offset: start,
                        msg: "unterminated string literal".into(),
                    });
                };
                let s = src[i + 1..i + 1 + end].to_string();
                i += end + 2;
                Tok::Literal(s)
            }
            b'*' => {
                i += 1;
                if prev_operand {
                    Tok::Mul
                } else {
                    Tok::Star(None)
                }
            }
            b'$' => {
                let name: String = src[i + 1..]
                    .chars()
                    .take_while(|&c| is_name_char(c) || c == ':')
                    .collect();
                return Err(CompileError::Variable(name));
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('\0');
                if !is_name_start(ch) {
                    return Err(CompileError::Syntax {
                        offset: start,
                        msg: format!("unexpected character '{ch}'"),
                    });
                }
                let local = read_name(src, &mut i);
                if prev_operand {
                    match local.as_str() {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        "div" => Tok::Div,
                        "mod" => Tok::Mod,
                        _ => {
                            return Err(CompileError::Syntax {
                                offset: start,
                                msg: format!("expected an operator, found '{local}'"),
                            })
                        }
                    }
                } else if b.get(i) == Some(&b':') && b.get(i + 1) != Some(&b':') {
                    let after = src[i + 1..].chars().next();
                    if after == Some('*') {
                        i += 2;
                        Tok::Star(Some(local))
                    } else if after.is_some_and(is_name_start) {
                        i += 1;
                        let l2 = read_name(src, &mut i);
                        Tok::Name(Some(local), l2)
                    } else {
                        return Err(CompileError::Syntax {
                            offset: i,
                            msg: format!("expected a name or '*' after '{local}:'"),
                        });
                    }
                } else {
                    Tok::Name(None, local)
                }
            }
        };
        out.push((tok, start));
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

fn read_name(src: &str, i: &mut usize) -> String {
    let rest = &src[*i..];
    let len = rest
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(rest.len(), |(k, _)| k);
    *i += len;
    rest[..len].to_string()
}
