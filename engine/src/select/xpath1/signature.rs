//! The function library's names and arities.

use super::ast::Func;
use super::CompileError;

/// The function called `prefix:name`, if it exists.
pub(crate) fn lookup(prefix: Option<&str>, name: &str) -> Option<Func> {
    use Func::*;
    Some(match (prefix, name) {
        (None, n) => match n {
            "last" => Last,
            "position" => Position,
            "count" => Count,
            "id" => Id,
            "local-name" => LocalName,
            "namespace-uri" => NamespaceUri,
            "name" => Name,
            "string" => String,
            "concat" => Concat,
            "starts-with" => StartsWith,
            "contains" => Contains,
            "substring-before" => SubstringBefore,
            "substring-after" => SubstringAfter,
            "substring" => Substring,
            "string-length" => StringLength,
            "normalize-space" => NormalizeSpace,
            "translate" => Translate,
            "boolean" => Boolean,
            "not" => Not,
            "true" => True,
            "false" => False,
            "lang" => Lang,
            "number" => Number,
            "sum" => Sum,
            "floor" => Floor,
            "ceiling" => Ceiling,
            "round" => Round,
            "has-class" => HasClass,
            _ => return None,
        },
        (Some("re"), "test") => ReTest,
        (Some("re"), "match") => ReMatch,
        (Some("re"), "replace") => ReReplace,
        (Some("set"), "difference") => SetDifference,
        (Some("set"), "intersection") => SetIntersection,
        (Some("set"), "distinct") => SetDistinct,
        (Some("set"), "has-same-node") => SetHasSameNode,
        (Some("set"), "leading") => SetLeading,
        (Some("set"), "trailing") => SetTrailing,
        _ => return None,
    })
}

/// Checks the argument count of a call.
pub(crate) fn check_arity(f: Func, name: &str, n: usize) -> Result<(), CompileError> {
    use Func::*;
    let (min, max) = match f {
        Last | Position | True | False => (0, 0),
        Count | Id | Boolean | Not | Lang | Sum | Floor | Ceiling | Round | SetDistinct => (1, 1),
        LocalName | NamespaceUri | Name | String | StringLength | NormalizeSpace | Number => (0, 1),
        StartsWith | Contains | SubstringBefore | SubstringAfter => (2, 2),
        SetDifference | SetIntersection | SetHasSameNode | SetLeading | SetTrailing => (2, 2),
        Substring => (2, 3),
        Translate => (3, 3),
        Concat => (2, usize::MAX),
        HasClass => (0, usize::MAX),
        ReTest | ReMatch => (2, 3),
        ReReplace => (4, 4),
    };
    if n < min || n > max {
        let takes = if min == max {
            format!("{min} argument{}", if min == 1 { "" } else { "s" })
        } else if max == usize::MAX {
            format!("at least {min} arguments")
        } else {
            format!("{min} to {max} arguments")
        };
        return Err(CompileError::Arity {
            name: name.to_string(),
            takes,
            given: n,
        });
    }
    Ok(())
}
