//! Translation of parsed selectors, a transcription of cssselect's `HTMLTranslator`
//! (element and attribute names lower-cased) with parsel's pseudo-elements.

use super::parse::{Attrib, Complex, Compound, Element, PseudoElement, Selector, Simple};
use super::series::parse_series;
use super::token::{Kind, Token};
use super::xpath::{is_non_whitespace, is_safe_name, xpath_literal, XPathExpr};
use super::CssError;

type Result<T> = std::result::Result<T, CssError>;

fn expr_err(msg: String) -> CssError {
    CssError::expression(msg)
}

/// Translates one selector of a group, with the `descendant-or-self::` prefix.
pub(crate) fn selector_to_xpath(sel: &Selector) -> Result<String> {
    let mut x = complex(&sel.tree)?;
    match &sel.pseudo_element {
        None => {}
        Some(PseudoElement::Simple(name)) => {
            if name.replace('-', "_") != "text" {
                return Err(expr_err(format!("The pseudo-element ::{name} is unknown")));
            }
            x.textnode = true;
        }
        Some(PseudoElement::Functional(name, args)) => {
            if name.replace('-', "_") != "attr" {
                return Err(expr_err(format!(
                    "The functional pseudo-element ::{name}() is unknown"
                )));
            }
            x.attribute = Some(single_arg(args, "::attr()")?.to_string());
        }
    }
    Ok(format!("descendant-or-self::{x}"))
}

/// The value of a single STRING or IDENT argument.
fn single_arg<'a>(args: &'a [Token], what: &str) -> Result<&'a str> {
    match args {
        [t] if matches!(t.kind, Kind::String | Kind::Ident) => Ok(&t.value),
        _ => {
            let values: Vec<&str> = args.iter().map(|t| t.value.as_str()).collect();
            Err(expr_err(format!(
                "Expected a single string or ident for {what}, got {values:?}"
            )))
        }
    }
}

fn complex(c: &Complex) -> Result<XPathExpr> {
    let mut left = compound(&c.first)?;
    for (comb, right) in &c.rest {
        let right = compound(right)?;
        match comb {
            ' ' => {
                if right.element == "*" && right.condition.is_empty() && right.path.is_empty() {
                    left.join("/descendant-or-self::*/", right);
                } else {
                    left.join("/descendant::", right);
                }
            }
            '>' => left.join("/", right),
            '+' => {
                left.join("/following-sibling::", right);
                left.add_name_test();
                left.add_condition("position() = 1");
            }
            _ => left.join("/following-sibling::", right),
        }
    }
    Ok(left)
}

fn compound(c: &Compound) -> Result<XPathExpr> {
    let mut x = element(&c.element);
    for simple in &c.simples {
        match simple {
            Simple::Hash(id) => equals(&mut x, "@id", id),
            Simple::Class(class) => includes(&mut x, "@class", class),
            Simple::Attrib(a) => attrib(&mut x, a)?,
            Simple::Pseudo(name) => pseudo(&mut x, name)?,
            Simple::Function(name, args) => function(&mut x, name, args)?,
            Simple::Negation(arg) => {
                match match_condition(arg)? {
                    None => x.add_condition("0"),
                    Some(cond) => x.add_condition(&format!("not({cond})")),
                };
            }
            Simple::Relation(args) => relation(&mut x, args)?,
            Simple::Matching(list) => matching(&mut x, list)?,
        }
    }
    Ok(x)
}

fn element(e: &Element) -> XPathExpr {
    let (mut name, mut safe) = match &e.element {
        Some(el) if !el.is_empty() => {
            let lower = el.to_lowercase();
            if e.namespace.as_deref() == Some("*") {
                let mut x = XPathExpr::new("*");
                x.add_condition(&format!("local-name() = {}", xpath_literal(&lower)));
                return x;
            }
            (lower, is_safe_name(el))
        }
        _ => ("*".to_string(), true),
    };
    if let Some(ns) = e
        .namespace
        .as_deref()
        .filter(|ns| !ns.is_empty() && *ns != "*")
    {
        name = format!("{ns}:{name}");
        safe = safe && is_safe_name(ns);
    }
    let mut x = XPathExpr::new(name);
    if !safe {
        let cond = format!("name() = {}", xpath_literal(&x.element));
        x.add_condition(&cond);
        x.element = "*".into();
    }
    x
}

/// A condition matching `c` against the context node (reverse axes for combinators),
/// `None` if it matches every element.
fn match_condition(c: &Complex) -> Result<Option<String>> {
    let mut acc = compound_condition(&c.first)?;
    for (comb, right) in &c.rest {
        let mut axis = match comb {
            ' ' => "ancestor::*",
            '>' => "parent::*",
            '+' => "preceding-sibling::*[1]",
            _ => "preceding-sibling::*",
        }
        .to_string();
        if let Some(left) = acc {
            axis = format!("{axis}[{left}]");
        }
        acc = Some(match compound_condition(right)? {
            None => axis,
            Some(r) => format!("{r} and {axis}"),
        });
    }
    Ok(acc)
}

fn compound_condition(c: &Compound) -> Result<Option<String>> {
    let mut x = compound(c)?;
    x.add_name_test();
    Ok(Some(x.condition).filter(|c| !c.is_empty()))
}

fn relation(x: &mut XPathExpr, args: &[(char, Complex)]) -> Result<()> {
    let mut condition = String::new();
    for (comb, sub) in args {
        let mut right = complex(sub)?;
        let arg = match comb {
            ' ' => format!("descendant::{right}"),
            '>' => format!("./{right}"),
            '+' => {
                if right.path.is_empty() {
                    right.element = format!("self::{}", right.element);
                } else {
                    right.path = format!("self::{}", right.path);
                }
                format!("following-sibling::*[1]/{right}")
            }
            _ => format!("following-sibling::{right}"),
        };
        condition = if condition.is_empty() {
            arg
        } else {
            format!("({condition}) or ({arg})")
        };
    }
    x.add_condition(&condition);
    Ok(())
}

fn matching(x: &mut XPathExpr, list: &[Compound]) -> Result<()> {
    let mut condition = String::new();
    for c in list {
        let mut e = compound(c)?;
        e.add_name_test();
        if e.condition.is_empty() {
            // A universal argument: the list adds no condition (and cssselect does not
            // translate the remaining arguments).
            return Ok(());
        }
        condition = if condition.is_empty() {
            e.condition
        } else {
            format!("({condition}) or ({})", e.condition)
        };
    }
    x.add_condition(&condition);
    Ok(())
}

fn attrib(x: &mut XPathExpr, a: &Attrib) -> Result<()> {
    let Some(name) = &a.name else {
        return Err(expr_err(
            "Attribute selector [*|=...] has no attribute name".into(),
        ));
    };
    let mut name = name.to_lowercase();
    let mut attr = if a.namespace.as_deref() == Some("*") {
        format!("attribute::*[local-name() = {}]", xpath_literal(&name))
    } else {
        let mut safe = is_safe_name(&name);
        if let Some(ns) = a.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            name = format!("{ns}:{name}");
            safe = safe && is_safe_name(ns);
        }
        if safe {
            format!("@{name}")
        } else {
            format!("attribute::*[name() = {}]", xpath_literal(&name))
        }
    };
    let mut value = a.value.clone();
    if a.flag.as_deref() == Some("i") {
        if let Some(v) = value.as_mut().filter(|v| !v.is_empty()) {
            attr = format!(
                "translate({attr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
            );
            *v = v.to_ascii_lowercase();
        }
    }
    let name = attr.as_str();
    let v = value.as_deref().unwrap_or("");
    let lit = xpath_literal(v);
    let cond = match a.op {
        "exists" => name.to_string(),
        "=" => format!("{name} = {lit}"),
        "!=" if v.is_empty() => format!("{name} != {lit}"),
        "!=" => format!("not({name}) or {name} != {lit}"),
        "~=" => {
            includes(x, name, v);
            return Ok(());
        }
        "|=" => format!(
            "{name} and ({name} = {lit} or starts-with({name}, {}))",
            xpath_literal(&format!("{v}-"))
        ),
        _ if v.is_empty() => "0".to_string(),
        "^=" => format!("{name} and starts-with({name}, {lit})"),
        "$=" => format!(
            "{name} and substring({name}, string-length({name})-{}) = {lit}",
            v.chars().count() as i64 - 1
        ),
        _ => format!("{name} and contains({name}, {lit})"),
    };
    x.add_condition(&cond);
    Ok(())
}

fn equals(x: &mut XPathExpr, name: &str, value: &str) {
    x.add_condition(&format!("{name} = {}", xpath_literal(value)));
}

fn includes(x: &mut XPathExpr, name: &str, value: &str) {
    if is_non_whitespace(value) {
        x.add_condition(&format!(
            "{name} and contains({name}, {}) and contains(concat(' ', normalize-space({name}), ' '), {})",
            xpath_literal(value),
            xpath_literal(&format!(" {value} "))
        ));
    } else {
        x.add_condition("0");
    }
}

const DISABLED_BY_FIELDSET: &str = "ancestor::fieldset[@disabled] and not(count(ancestor::legend | ancestor::fieldset[@disabled]/legend[1]) < count(ancestor::legend) + count(ancestor::fieldset[@disabled]/legend[1]))";

const DISABLED: &str = "
        (
            @disabled and
            (
                name(.) = 'input' or
                name(.) = 'button' or
                name(.) = 'select' or
                name(.) = 'textarea' or
                name(.) = 'fieldset' or
                name(.) = 'optgroup' or
                name(.) = 'option'
            )
        ) or (
            (
                name(.) = 'input' or
                name(.) = 'button' or
                name(.) = 'select' or
                name(.) = 'textarea'
            )
            and FIELDSET
        ) or (
            name(.) = 'option' and ancestor::optgroup[@disabled]
        )
        ";

const ENABLED: &str = "
        (
            (
                name(.) = 'fieldset' or
                name(.) = 'optgroup'
            )
            and not(@disabled)
        ) or (
            (
                name(.) = 'input' or
                name(.) = 'button' or
                name(.) = 'select' or
                name(.) = 'textarea'
            )
            and not(@disabled) and not(FIELDSET)
        ) or (
            name(.) = 'option' and not(
                @disabled or ancestor::optgroup[@disabled]
            )
        )
        ";

/// Rejects `*:first-of-type` and the like: the element type must be known.
fn check_of_type(x: &XPathExpr, pseudo: &str) -> Result<()> {
    if x.element == "*" || x.element.ends_with(":*") {
        return Err(expr_err(format!(
            "{}:{pseudo} is not implemented",
            x.element.replace(':', "|")
        )));
    }
    Ok(())
}

fn pseudo(x: &mut XPathExpr, name: &str) -> Result<()> {
    let cond = match name.replace('-', "_").as_str() {
        "root" => "not(parent::*)".to_string(),
        "scope" => {
            x.add_name_test();
            "position() = 1".to_string()
        }
        "first_child" => "count(preceding-sibling::*) = 0".to_string(),
        "last_child" => "count(following-sibling::*) = 0".to_string(),
        "first_of_type" => {
            check_of_type(x, "first-of-type")?;
            format!("count(preceding-sibling::{}) = 0", x.element)
        }
        "last_of_type" => {
            check_of_type(x, "last-of-type")?;
            format!("count(following-sibling::{}) = 0", x.element)
        }
        "only_child" => {
            "count(preceding-sibling::*) = 0 and count(following-sibling::*) = 0".to_string()
        }
        "only_of_type" => {
            check_of_type(x, "only-of-type")?;
            format!(
                "count(preceding-sibling::{0}) = 0 and count(following-sibling::{0}) = 0",
                x.element
            )
        }
        "empty" => "not(*) and not(string-length())".to_string(),
        "link" => "@href and (name(.) = 'a' or name(.) = 'link' or name(.) = 'area')".to_string(),
        "visited" | "hover" | "active" | "focus" | "target" => "0".to_string(),
        "checked" => "(@selected and name(.) = 'option') or (@checked and (name(.) = 'input' or name(.) = 'command')and (@type = 'checkbox' or @type = 'radio'))".to_string(),
        "disabled" => DISABLED.replace("FIELDSET", DISABLED_BY_FIELDSET),
        "enabled" => ENABLED.replace("FIELDSET", DISABLED_BY_FIELDSET),
        _ => return Err(expr_err(format!("The pseudo-class :{name} is unknown"))),
    };
    x.add_condition(&cond);
    Ok(())
}

fn function(x: &mut XPathExpr, name: &str, args: &[Token]) -> Result<()> {
    match name.replace('-', "_").as_str() {
        "nth_child" => nth(x, args, false, true),
        "nth_last_child" => nth(x, args, true, true),
        "nth_of_type" => {
            check_of_type(x, "nth-of-type()")?;
            nth(x, args, false, false)
        }
        "nth_last_of_type" => {
            check_of_type(x, "nth-last-of-type()")?;
            nth(x, args, true, false)
        }
        "contains" => {
            let v = single_arg(args, ":contains()")?;
            x.add_condition(&format!("contains(., {})", xpath_literal(v)));
            Ok(())
        }
        "lang" => {
            let v = single_arg(args, ":lang()")?;
            if v.is_empty() {
                return Err(expr_err(":lang() needs a non-empty language".into()));
            }
            x.add_condition(&format!(
                "ancestor-or-self::*[@lang][1][starts-with(concat(translate(@lang, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '-'), {})]",
                xpath_literal(&format!("{}-", v.to_lowercase()))
            ));
            Ok(())
        }
        _ => Err(expr_err(format!("The pseudo-class :{name}() is unknown"))),
    }
}

/// `:nth-child()` and friends, with cssselect's formula.
fn nth(x: &mut XPathExpr, args: &[Token], last: bool, any_type: bool) -> Result<()> {
    let invalid = || {
        let values: Vec<&str> = args.iter().map(|t| t.value.as_str()).collect();
        expr_err(format!("Invalid series: {values:?}"))
    };
    let (a, b) = parse_series(args).ok_or_else(invalid)?;
    let b1 = b.checked_sub(1).ok_or_else(invalid)?;
    if a == 1 && b1 <= 0 {
        return Ok(());
    }
    if a < 0 && b1 < 0 {
        x.add_condition("0");
        return Ok(());
    }
    let nodetest = if any_type { "*" } else { x.element.as_str() };
    let axis = if last { "following" } else { "preceding" };
    let count = format!("count({axis}-sibling::{nodetest})");
    if a == 0 {
        x.add_condition(&format!("{count} = {b1}"));
        return Ok(());
    }
    let mut exprs = Vec::new();
    if a > 0 {
        if b1 > 0 {
            exprs.push(format!("{count} >= {b1}"));
        }
    } else {
        exprs.push(format!("{count} <= {b1}"));
    }
    let abs_a = a.checked_abs().ok_or_else(invalid)?;
    if abs_a != 1 {
        let b_neg = b1.checked_neg().ok_or_else(invalid)?.rem_euclid(abs_a);
        let left = if b_neg != 0 {
            format!("({count} +{b_neg})")
        } else {
            count
        };
        exprs.push(format!("{left} mod {a} = 0"));
    }
    let cond = if exprs.len() > 1 {
        exprs
            .iter()
            .map(|e| format!("({e})"))
            .collect::<Vec<_>>()
            .join(" and ")
    } else {
        exprs.join(" and ")
    };
    x.add_condition(&cond);
    Ok(())
}
