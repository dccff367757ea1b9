//! JSON in specs: JMESPath queries (parsel's `.jmespath()`) over JSON responses, over
//! JSON taken out of a page (a `<script>`, an attribute), and JSON-LD objects.

use std::sync::Arc;

use jmespath::{Expression, Rcvar, Variable};
use serde_json::Value;

use crate::select::{Page, Query};
use crate::Response;

/// The longest JMESPath expression accepted, in bytes.
pub const MAX_JMESPATH_LEN: usize = 1024;

/// The most `!` operators in one expression (the parser recurses once for each).
const MAX_NOTS: usize = 16;

/// The deepest expression tree accepted (evaluation recurses once per level).
const MAX_AST_DEPTH: usize = 128;

/// The most copies of their input the multi-selects (`[a, b]`, `{k: a}`) of one
/// expression can make together: the product of their widths (each can copy what the
/// previous one made).
const MAX_MULTI_SELECT_PRODUCT: u64 = 4096;

/// The longest JSON text of one value a field keeps.
pub const MAX_VALUE_JSON: usize = 1 << 20;

/// The most JSON text parsed from one selected string (a `<script>`), in bytes.
pub const MAX_EMBEDDED_JSON: usize = 16 << 20;

/// A compiled JMESPath expression.
#[derive(Clone)]
pub struct JsonPath {
    expr: Arc<Expression<'static>>,
}

impl std::fmt::Debug for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("JsonPath")
            .field(&self.expr.as_str())
            .finish()
    }
}

impl JsonPath {
    /// Compiles `expr`; the error says where it stops parsing.
    pub fn compile(expr: &str) -> Result<JsonPath, String> {
        if expr.trim().is_empty() {
            return Err("empty JMESPath expression".into());
        }
        if expr.len() > MAX_JMESPATH_LEN {
            return Err(format!(
                "JMESPath expression too long: {} bytes (limit {MAX_JMESPATH_LEN})",
                expr.len()
            ));
        }
        if crate::select::nesting_depth(expr) > crate::select::MAX_SELECTOR_NESTING {
            return Err(format!(
                "JMESPath expression nested deeper than {} levels",
                crate::select::MAX_SELECTOR_NESTING
            ));
        }
        let nots = outside_literals(expr).filter(|&c| c == '!').count();
        if nots > MAX_NOTS {
            return Err(format!(
                "JMESPath expression with {nots} `!` (limit {MAX_NOTS})"
            ));
        }
        let expr = jmespath::compile(expr)
            .map_err(|e| format!("invalid JMESPath expression {expr:?}: {}", e.reason))?;
        let mut shape = Shape::default();
        shape.walk(expr.as_ast(), 1);
        if shape.depth > MAX_AST_DEPTH {
            return Err(format!(
                "JMESPath expression nested {} levels deep (limit {MAX_AST_DEPTH})",
                shape.depth
            ));
        }
        if shape.copies > MAX_MULTI_SELECT_PRODUCT {
            return Err(format!(
                "JMESPath multi-selects can copy their input {} times or more (limit {MAX_MULTI_SELECT_PRODUCT})",
                shape.copies
            ));
        }
        Ok(JsonPath {
            expr: Arc::new(expr),
        })
    }

    /// Runs the expression on `data`.
    pub fn search(&self, data: &Rcvar) -> Result<Rcvar, String> {
        self.expr
            .search(data.clone())
            .map_err(|e| format!("JMESPath {:?} failed: {}", self.expr.as_str(), e))
    }
}

/// The characters of `expr` outside its string, identifier and JSON literals.
fn outside_literals(expr: &str) -> impl Iterator<Item = char> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    expr.chars().filter(move |&c| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            return false;
        }
        if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
            return false;
        }
        true
    })
}

/// The depth of an expression tree and how many copies its multi-selects can make.
#[derive(Default)]
struct Shape {
    depth: usize,
    copies: u64,
}

impl Shape {
    fn walk(&mut self, ast: &jmespath::ast::Ast, depth: usize) {
        use jmespath::ast::Ast;
        self.depth = self.depth.max(depth);
        if self.copies == 0 {
            self.copies = 1;
        }
        if depth > MAX_AST_DEPTH {
            return;
        }
        let d = depth + 1;
        match ast {
            Ast::Comparison { lhs, rhs, .. }
            | Ast::Projection { lhs, rhs, .. }
            | Ast::And { lhs, rhs, .. }
            | Ast::Or { lhs, rhs, .. }
            | Ast::Subexpr { lhs, rhs, .. } => {
                self.walk(lhs, d);
                self.walk(rhs, d);
            }
            Ast::Condition {
                predicate, then, ..
            } => {
                self.walk(predicate, d);
                self.walk(then, d);
            }
            Ast::Expref { ast, .. } => self.walk(ast, d),
            Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
                self.walk(node, d)
            }
            Ast::Function { args, .. } => args.iter().for_each(|a| self.walk(a, d)),
            Ast::MultiList { elements, .. } => {
                self.copies = self.copies.saturating_mul(elements.len().max(1) as u64);
                elements.iter().for_each(|a| self.walk(a, d));
            }
            Ast::MultiHash { elements, .. } => {
                self.copies = self.copies.saturating_mul(elements.len().max(1) as u64);
                elements.iter().for_each(|kv| self.walk(&kv.value, d));
            }
            Ast::Identity { .. }
            | Ast::Field { .. }
            | Ast::Index { .. }
            | Ast::Literal { .. }
            | Ast::Slice { .. } => {}
        }
    }
}

/// A JSON value as JMESPath data.
pub fn to_var(v: &Value) -> Rcvar {
    Rcvar::new(Variable::from_serializable(v).unwrap_or(Variable::Null))
}

/// Parses `text` as JSON (at most [`MAX_EMBEDDED_JSON`] bytes).
///
/// Text that is not JSON is read as a JavaScript object literal (JSON5: unquoted keys,
/// single quotes, trailing commas, comments, hexadecimal numbers), as sites assign
/// state to script variables (`var stores = [{id: 1, name: 'A'},]`); such text nested
/// deeper than [`MAX_LITERAL_NESTING`] is refused before it is parsed.
pub fn parse(text: &str) -> Option<Rcvar> {
    if text.len() > MAX_EMBEDDED_JSON {
        return None;
    }
    let text = text.trim();
    if let Ok(v) = Variable::from_json(text) {
        return Some(Rcvar::new(v));
    }
    if bracket_depth(text) > MAX_LITERAL_NESTING {
        return None;
    }
    let value: serde_json::Value = json5::from_str(text).ok()?;
    Some(to_var(&value))
}

/// The deepest nesting of a JavaScript literal read as JSON5.
pub const MAX_LITERAL_NESTING: usize = 128;

/// The deepest nesting of `[` and `{`, counting those inside strings too (an
/// overestimate, so the bound holds whatever the quoting).
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The strings a JMESPath result gives a field, as parsel's `.jmespath().getall()`:
/// a list gives its elements, `null` nothing, strings themselves, other values their
/// JSON text.
pub fn values(result: &Variable) -> Vec<String> {
    match result {
        Variable::Null => Vec::new(),
        Variable::Array(items) => items.iter().filter_map(|i| scalar(i)).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

fn scalar(v: &Variable) -> Option<String> {
    match v {
        Variable::Null => None,
        Variable::String(s) => Some(s.clone()),
        other => {
            // At most MAX_VALUE_JSON bytes: a value over it is left out.
            let mut out = Limited(Vec::new());
            serde_json::to_writer(&mut out, other).ok()?;
            String::from_utf8(out.0).ok()
        }
    }
}

/// A buffer that refuses to grow past [`MAX_VALUE_JSON`].
struct Limited(Vec<u8>);

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_VALUE_JSON {
            return Err(std::io::Error::other("value too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The elements a JMESPath result gives as items: a list's elements (nulls skipped),
/// or the value itself when it is not null.
pub fn elements(result: Rcvar) -> Vec<Rcvar> {
    match &*result {
        Variable::Null => Vec::new(),
        Variable::Array(items) => items.iter().filter(|i| !i.is_null()).cloned().collect(),
        _ => vec![result],
    }
}

/// Whether a response holds JSON: a JSON media type, or a body that starts like JSON
/// and parses as such (checked by the caller).
pub fn is_json_response(response: &Response) -> bool {
    let mime = response.mime();
    mime == "application/json" || mime.ends_with("+json") || mime == "text/json"
}

/// The JSON-LD objects of a page (`<script type="application/ld+json">`), with every
/// array and `@graph` flattened, whose `@type` is one of `types` (any type when empty).
pub fn json_ld_objects(page: &Page<'_>, types: &[String]) -> Vec<Rcvar> {
    static QUERY: std::sync::OnceLock<Query> = std::sync::OnceLock::new();
    let q = QUERY.get_or_init(|| {
        Query::xpath("//script[@type='application/ld+json']/text()").expect("a valid XPath")
    });
    let mut out = Vec::new();
    for text in page.select(q).iter() {
        let Some(s) = text.as_str() else { continue };
        let Ok(v) = serde_json::from_str::<Value>(s.trim()) else {
            continue;
        };
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::Array(items) => stack.extend(items.into_iter().rev()),
                Value::Object(mut map) => {
                    if let Some(graph) = map.remove("@graph") {
                        stack.push(graph);
                    }
                    let wanted = types.is_empty()
                        || match map.get("@type") {
                            Some(Value::String(t)) => types.iter().any(|w| type_is(t, w)),
                            Some(Value::Array(ts)) => ts
                                .iter()
                                .filter_map(Value::as_str)
                                .any(|t| types.iter().any(|w| type_is(t, w))),
                            _ => false,
                        };
                    if wanted && map.contains_key("@type") {
                        out.push(to_var(&Value::Object(map)));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// `Store` matches `Store`, `schema:Store` and `http://schema.org/Store`.
fn type_is(t: &str, wanted: &str) -> bool {
    t == wanted || t.rsplit([':', '/']).next() == Some(wanted)
}
