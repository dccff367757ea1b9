//! Number parsing and formatting exactly as libxml2 2.14 does them.

/// How many fraction digits libxml2 reads (`MAX_FRAC`); later ones are skipped.
const MAX_FRAC: i32 = 20;

/// Reads a number at the start of `s` the way libxml2's XPath lexer does
/// (`digits ('.' digits)? ([eE] [+-]? digits)?`, exponent digits optional), returning
/// its value and its length in bytes. `s` must start with a digit or `.`.
pub(crate) fn scan_number(s: &str) -> (f64, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut ret = 0.0f64;
    while i < b.len() && b[i].is_ascii_digit() {
        ret = ret * 10.0 + f64::from(b[i] - b'0');
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let mut frac = 0;
        let mut fraction = 0.0f64;
        while i < b.len() && b[i].is_ascii_digit() && frac < MAX_FRAC {
            fraction = fraction * 10.0 + f64::from(b[i] - b'0');
            frac += 1;
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        ret += fraction / 10f64.powi(frac);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let mut neg = false;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut exp: i32 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if exp < 1_000_000 {
                exp = exp * 10 + i32::from(b[i] - b'0');
            }
            i += 1;
        }
        if neg {
            exp = -exp;
        }
        ret *= 10f64.powf(f64::from(exp));
    }
    (ret, i)
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// XPath `number(string)`: optional blanks, optional `-`, a number (libxml2 also takes
/// an exponent), optional blanks; anything else is NaN.
pub fn string_to_number(s: &str) -> f64 {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_blank(b[i]) {
        i += 1;
    }
    let neg = i < b.len() && b[i] == b'-';
    if neg {
        i += 1;
    }
    let digits_at = |k: usize| k < b.len() && b[k].is_ascii_digit();
    if !(digits_at(i) || (i < b.len() && b[i] == b'.' && digits_at(i + 1))) {
        return f64::NAN;
    }
    let (n, len) = scan_number(&s[i..]);
    i += len;
    while i < b.len() && is_blank(b[i]) {
        i += 1;
    }
    if i != b.len() {
        return f64::NAN;
    }
    if neg {
        -n
    } else {
        n
    }
}

/// XPath `string(number)` as libxml2 formats it (`xmlXPathFormatNumber`): integers in
/// the C `int` range without a fraction, `NaN`, `Infinity`, `-Infinity`, `0` for -0,
/// 15 significant digits otherwise, and `%e`-style notation outside `[1e-5, 1e9]`.
pub fn number_to_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return "0".into();
    }
    if f > f64::from(i32::MIN) && f < f64::from(i32::MAX) && f == f.trunc() {
        return format!("{}", f as i32);
    }
    let abs = f.abs();
    let mut work = if !(1e-5..=1e9).contains(&abs) {
        // "%21.14e": mantissa with 14 fraction digits, exponent sign and >= 2 digits.
        let s = format!("{f:.14e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        format!("{mant}e{sign}{digits:0>2}")
    } else {
        let integer_place = abs.log10() as i32;
        let fraction_place = if integer_place > 0 {
            15 - integer_place - 1
        } else {
            15 - integer_place
        };
        format!("{:.*}", fraction_place.max(0) as usize, f)
    };
    // Remove trailing zeros of the fraction (before any exponent).
    let epos = work.find('e').unwrap_or(work.len());
    let (head, tail) = work.split_at(epos);
    if head.contains('.') {
        let trimmed = head.trim_end_matches('0');
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        work = format!("{trimmed}{tail}");
    }
    work
}

/// Python's `str(float)`, which lxml uses when an EXSLT regexp function gets a number.
pub(crate) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mant}e{sign}{digits:0>2}");
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}
