//! Scripted hooks: a spec's `script` holds [Rhai](https://rhai.rs) functions that a
//! callback (`script = "parse_stores"`, called as `fn parse_stores(response)`) or a
//! field processor (`{ script = "clean" }`, called as `fn clean(value)`) runs.
//!
//! The interpreter is a sandbox: it has no I/O at all (no files, network, clock or
//! modules; `eval` is disabled), and each call is bounded in operations, wall-clock
//! time, call depth, expression depth, string/array/map sizes, variables and output
//! (see the `MAX_*` constants). A call over a limit fails with an error the spider
//! reports for that response; the crawl goes on. Each call runs on a thread of its own
//! with a [`SCRIPT_STACK_BYTES`] stack, so that recursion over deeply nested values
//! inside the interpreter cannot overflow a crawl worker's stack.
//!
//! What a callback sees: `response.url`, `.status`, `.headers` (lowercase names),
//! `.text`, `.json()`, `.css(sel)` / `.xpath(expr)` (every match as a string, as
//! parsel's `getall()`), `.urljoin(href)`, `.kwargs` (the request's `cb_kwargs`) and
//! `.meta`; global `parse_json(text)`, `request(url)` / `request(#{ url, method,
//! headers, body, json, form, callback, kwargs, priority, dont_filter })` and
//! `item(map)`. It returns an item (a map), a request, or an array of them.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rhai::packages::{Package, StandardPackage};
use rhai::{
    Array, CallFnOptions, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Scope, AST,
};
use serde_json::Value;
use url::Url;

use super::SpecError;
use crate::select::{Page, Query};
use crate::{Request, Response};

/// The longest script source accepted, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 256 << 10;
/// Interpreter operations one call may run (statements, expressions, iterations).
pub const MAX_OPERATIONS: u64 = 5_000_000;
/// Wall-clock time one call may run.
pub const CALL_DEADLINE: Duration = Duration::from_secs(1);
/// The longest string a script may build, and the most string bytes one array or map
/// may hold in all (a response's `text` over it cannot be read whole: select in it).
pub const MAX_STRING_BYTES: usize = 4 << 20;
/// The most elements of one array, nested arrays included.
pub const MAX_ARRAY_SIZE: usize = 100_000;
/// The most entries of one object map, nested maps included.
pub const MAX_MAP_SIZE: usize = 100_000;
/// The deepest function-call nesting (recursion).
pub const MAX_CALL_LEVELS: usize = 32;
/// The deepest expression nesting in the source (in functions: the same).
pub const MAX_EXPR_DEPTH: usize = 64;
/// The most variables in scope at once.
pub const MAX_VARIABLES: usize = 512;
/// The most items and requests one call may return (the rest are left out).
pub const MAX_OUTPUTS: usize = 10_000;
/// The most bytes of items and request bodies (as JSON) one call may return.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;
/// The deepest nesting of an item's arrays and objects.
pub const MAX_ITEM_NESTING: usize = 64;
/// The stack of the thread a call runs on.
pub const SCRIPT_STACK_BYTES: usize = 64 << 20;
/// The longest line `print`/`debug` log; the most lines one script logs.
const MAX_PRINT_CHARS: usize = 300;
const MAX_PRINTS: u64 = 1000;

thread_local! {
    /// When the call running on this thread must stop.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// A compiled script: its functions and the sandboxed engine that runs them.
pub struct Script {
    engine: Engine,
    ast: AST,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fns: Vec<String> = self.ast.iter_functions().map(|f| f.to_string()).collect();
        f.debug_struct("Script").field("functions", &fns).finish()
    }
}

/// The standard library shared by every script engine (no I/O in it).
fn std_package() -> rhai::Shared<rhai::Module> {
    static PKG: OnceLock<rhai::Shared<rhai::Module>> = OnceLock::new();
    PKG.get_or_init(|| StandardPackage::new().as_shared_module())
        .clone()
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The sandboxed engine: safe packages, limits, no `eval`, output to `tracing`.
fn sandbox() -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(std_package());
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING_BYTES)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_variables(MAX_VARIABLES)
        .disable_symbol("eval");
    engine.on_progress(|ops| {
        if ops % 16 != 0 {
            return None;
        }
        let late = DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() >= t));
        late.then(|| Dynamic::from(format!("deadline of {CALL_DEADLINE:?} passed")))
    });
    let prints = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let log = move |s: &str| {
        let n = prints.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n < MAX_PRINTS {
            tracing::info!(target: "trawl::script", "{}", truncate(s, MAX_PRINT_CHARS));
        }
    };
    let log2 = log.clone();
    engine.on_print(log);
    engine.on_debug(move |s, _, pos| log2(&format!("{pos}: {s}")));
    register_api(&mut engine);
    engine
}

impl Script {
    /// Compiles `source`; a syntax error names its line and column (path `script`).
    pub fn compile(source: &str) -> Result<Script, SpecError> {
        if source.len() > MAX_SCRIPT_BYTES {
            return Err(SpecError::new(
                "script",
                format!(
                    "script too long: {} bytes (limit {MAX_SCRIPT_BYTES})",
                    source.len()
                ),
            ));
        }
        let engine = sandbox();
        let ast = engine.compile(source).map_err(|e| {
            let pos = e.1;
            let at = match (pos.line(), pos.position()) {
                (Some(l), Some(c)) => format!("{l}:{c}: "),
                (Some(l), None) => format!("{l}: "),
                _ => String::new(),
            };
            SpecError::new("script", format!("syntax error at {at}{}", e.0))
        })?;
        Ok(Script { engine, ast })
    }

    /// Ok when the script defines `fn name(...)` with `arity` parameters.
    pub fn check_fn(&self, name: &str, arity: usize) -> Result<(), String> {
        let arities: Vec<usize> = self
            .ast
            .iter_functions()
            .filter(|f| f.name == name)
            .map(|f| f.params.len())
            .collect();
        match arities.as_slice() {
            a if a.contains(&arity) => Ok(()),
            [] => {
                let defined: Vec<&str> = self.ast.iter_functions().map(|f| f.name).collect();
                Err(format!(
                    "the script defines no function {name:?} (defined: {defined:?})"
                ))
            }
            _ => Err(format!(
                "function {name:?} must take {arity} parameter(s) (it takes {arities:?})"
            )),
        }
    }

    /// Calls `name(arg)` within the limits, on a thread of its own, and turns its
    /// result into `T` there (a deeply nested value is also dropped there).
    fn call<T: Send>(
        &self,
        name: &str,
        arg: impl FnOnce() -> Dynamic + Send,
        convert: impl FnOnce(Dynamic) -> T + Send,
    ) -> Result<T, String> {
        let run = || {
            DEADLINE.with(|d| d.set(Some(Instant::now() + CALL_DEADLINE)));
            let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
            let r = self.engine.call_fn_with_options::<Dynamic>(
                options,
                &mut Scope::new(),
                &self.ast,
                name,
                (arg(),),
            );
            DEADLINE.with(|d| d.set(None));
            r.map(convert).map_err(|e| describe(&e))
        };
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("trawl-script".into())
                .stack_size(SCRIPT_STACK_BYTES)
                .spawn_scoped(s, run)
                .map_err(|e| format!("cannot start the script thread: {e}"))?
                .join()
                .unwrap_or_else(|_| Err("the script panicked".to_string()))
        })
    }
}

/// A script error in one line, with its position.
fn describe(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorTerminated(reason, pos) => format!("stopped at {pos}: {reason}"),
        other => other.to_string(),
    }
}

/// The spec's script as its callbacks and processors see it while the spec compiles.
#[derive(Clone, Copy)]
pub(crate) enum Hook<'a> {
    /// The spec has no script.
    Absent,
    /// The script did not compile (reported at `script`).
    Broken,
    /// The compiled script.
    Ready(&'a Arc<Script>),
}

impl Hook<'_> {
    /// `fn name(..)` with `arity` parameters; None when the script is broken.
    pub(crate) fn function(self, name: &str, arity: usize) -> Result<Option<ScriptFn>, String> {
        match self {
            Hook::Absent => Err(format!(
                "names script function {name:?}, but the spec has no top-level script"
            )),
            Hook::Broken => Ok(None),
            Hook::Ready(s) => ScriptFn::new(s, name, arity).map(Some),
        }
    }
}

/// A function of the script a callback or a processor runs.
#[derive(Clone)]
pub struct ScriptFn {
    script: Arc<Script>,
    name: String,
}

impl std::fmt::Debug for ScriptFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScriptFn({})", self.name)
    }
}

/// What a scripted callback yields.
#[derive(Debug)]
pub enum ScriptOutput {
    /// An item.
    Item(serde_json::Map<String, Value>),
    /// A request.
    Request(Box<Request>),
}

impl ScriptFn {
    /// `fn name(..)` of `script`, checked to take `arity` parameters.
    pub fn new(script: &Arc<Script>, name: &str, arity: usize) -> Result<ScriptFn, String> {
        script.check_fn(name, arity)?;
        Ok(ScriptFn {
            script: script.clone(),
            name: name.to_string(),
        })
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the function as a field processor: a string in, a string (or `()` to drop
    /// the value) out.
    pub fn process(&self, value: String) -> Result<Option<String>, String> {
        let convert = |out: Dynamic| {
            if out.is_string() {
                return Ok(Some(out.into_string().expect("a string")));
            }
            match to_json(&out, 0)? {
                Value::Null => Ok(None),
                other => Ok(Some(other.to_string())),
            }
        };
        self.script
            .call(&self.name, || Dynamic::from(value), convert)?
    }

    /// Runs the function as a callback on `response`. The outputs before an error are
    /// returned with it; `is_callback` tells the callback names a request may use, and
    /// a request naming none goes to `default_callback`.
    pub fn callback(
        &self,
        response: &Response,
        is_callback: &(dyn Fn(&str) -> bool + Sync),
        default_callback: &str,
    ) -> (Vec<ScriptOutput>, Option<String>) {
        let arg = || Dynamic::from(ScriptResponse::new(response));
        let convert = |result: Dynamic| {
            let values: Array = if result.is_array() {
                result.into_array().expect("an array")
            } else if result.is_unit() {
                Array::new()
            } else {
                vec![result]
            };
            let mut out = Vec::new();
            let mut bytes = 0usize;
            for (i, v) in values.into_iter().enumerate() {
                if out.len() >= MAX_OUTPUTS {
                    let e = format!("output capped at {MAX_OUTPUTS} items and requests");
                    return (out, Some(e));
                }
                let one = match output(v, response, is_callback, default_callback) {
                    Ok(Some(o)) => o,
                    Ok(None) => continue,
                    Err(e) => return (out, Some(format!("returned value [{i}]: {e}"))),
                };
                bytes += match &one {
                    ScriptOutput::Item(m) => json_len(m),
                    ScriptOutput::Request(r) => r.url.as_str().len() + r.body.len(),
                };
                if bytes > MAX_OUTPUT_BYTES {
                    let e = format!("output capped at {MAX_OUTPUT_BYTES} bytes");
                    return (out, Some(e));
                }
                out.push(one);
            }
            (out, None)
        };
        match self.script.call(&self.name, arg, convert) {
            Ok(r) => r,
            Err(e) => (Vec::new(), Some(e)),
        }
    }
}

fn json_len(m: &serde_json::Map<String, Value>) -> usize {
    serde_json::to_vec(m).map_or(0, |v| v.len())
}

/// One returned value as an item or a request (`()` is skipped).
fn output(
    v: Dynamic,
    response: &Response,
    is_callback: &(dyn Fn(&str) -> bool + Sync),
    default_callback: &str,
) -> Result<Option<ScriptOutput>, String> {
    if v.is_unit() {
        return Ok(None);
    }
    if v.is_map() {
        return match to_json(&v, 0)? {
            Value::Object(m) => Ok(Some(ScriptOutput::Item(m))),
            _ => unreachable!("a map converts to an object"),
        };
    }
    let Some(spec) = v.clone().try_cast::<RequestSpec>() else {
        return Err(format!(
            "a {} is neither an item (a map) nor a request(...)",
            v.type_name()
        ));
    };
    spec.build(response, is_callback, default_callback)
        .map(|r| Some(ScriptOutput::Request(Box::new(r))))
}

/// A request a script built with `request(...)`: checked when returned.
#[derive(Debug, Clone, Default)]
struct RequestSpec {
    url: String,
    method: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<(Vec<u8>, Option<&'static str>)>,
    callback: Option<String>,
    kwargs: serde_json::Map<String, Value>,
    priority: i32,
    dont_filter: bool,
}

impl RequestSpec {
    fn from_map(map: Map) -> Result<RequestSpec, String> {
        let mut r = RequestSpec::default();
        let text = |k: &str, v: &Dynamic| -> Result<String, String> {
            v.clone()
                .into_string()
                .map_err(|t| format!("request {k} must be a string, not {t}"))
        };
        for (k, v) in map {
            match k.as_str() {
                "url" => r.url = text("url", &v)?,
                "method" => r.method = Some(text("method", &v)?.to_ascii_uppercase()),
                "callback" => r.callback = Some(text("callback", &v)?),
                "headers" => {
                    let Some(h) = v.read_lock::<Map>() else {
                        return Err("request headers must be a map".into());
                    };
                    for (name, value) in h.iter() {
                        r.headers.push((name.to_string(), text("header", value)?));
                    }
                }
                "body" | "json" | "form" if r.body.is_some() => {
                    return Err("give one of body, json and form".into())
                }
                "body" => r.body = Some((text("body", &v)?.into_bytes(), None)),
                "json" => {
                    let body = to_json(&v, 0)?.to_string().into_bytes();
                    r.body = Some((body, Some("application/json")));
                }
                "form" => {
                    let Some(m) = v.read_lock::<Map>() else {
                        return Err("request form must be a map".into());
                    };
                    let mut enc = url::form_urlencoded::Serializer::new(String::new());
                    for (name, value) in m.iter() {
                        let value = match to_json(value, 0)? {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        enc.append_pair(name, &value);
                    }
                    r.body = Some((
                        enc.finish().into_bytes(),
                        Some("application/x-www-form-urlencoded"),
                    ));
                }
                "kwargs" => match to_json(&v, 0)? {
                    Value::Object(m) => r.kwargs = m,
                    _ => return Err("request kwargs must be a map".into()),
                },
                "priority" => {
                    let p = v
                        .as_int()
                        .map_err(|t| format!("request priority must be an integer, not {t}"))?;
                    r.priority = i32::try_from(p).map_err(|_| "request priority out of range")?;
                }
                "dont_filter" => {
                    r.dont_filter = v
                        .as_bool()
                        .map_err(|t| format!("request dont_filter must be a bool, not {t}"))?
                }
                other => {
                    return Err(format!(
                        "unknown request key {other:?} (known: url, method, headers, body, \
                         json, form, callback, kwargs, priority, dont_filter)"
                    ))
                }
            }
        }
        if r.url.is_empty() {
            return Err("request needs a url".into());
        }
        Ok(r)
    }

    fn build(
        self,
        response: &Response,
        is_callback: &dyn Fn(&str) -> bool,
        default_callback: &str,
    ) -> Result<Request, String> {
        let url = response
            .url
            .join(self.url.trim())
            .map_err(|e| format!("invalid request URL {:?}: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("request URL {url} is not http or https"));
        }
        let cb = self.callback.as_deref().unwrap_or(default_callback);
        if !is_callback(cb) {
            return Err(format!(
                "request callback {cb:?} is not a callback of the spec"
            ));
        }
        let mut req = Request::get(url).callback(cb);
        let method = match (&self.method, &self.body) {
            (Some(m), _) => m.clone(),
            (None, Some((_, Some(_)))) => "POST".to_string(),
            (None, _) => "GET".to_string(),
        };
        req = req.method(
            http::Method::from_bytes(method.as_bytes())
                .map_err(|_| format!("invalid request method {method:?}"))?,
        );
        if let Some((body, ct)) = self.body {
            if let Some(ct) = ct.filter(|_| {
                !self
                    .headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            }) {
                req = req.header("content-type", ct);
            }
            req = req.body(body);
        }
        for (name, value) in &self.headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || http::HeaderValue::from_str(value).is_err()
            {
                return Err(format!("invalid request header {name:?}"));
            }
            req = req.header(name, value);
        }
        req.cb_kwargs = self.kwargs;
        req.depth = response.request.depth + 1;
        Ok(req.priority(self.priority).dont_filter(self.dont_filter))
    }
}

/// The `response` a scripted callback receives (cheap to clone).
#[derive(Clone)]
struct ScriptResponse(Arc<ResponseData>);

struct ResponseData {
    url: Url,
    status: u16,
    headers: Map,
    text: ImmutableString,
    kwargs: Dynamic,
    meta: Dynamic,
    /// The page, parsed at the first `css()`/`xpath()`.
    page: OnceLock<Mutex<Page<'static>>>,
}

impl ScriptResponse {
    fn new(response: &Response) -> ScriptResponse {
        let mut headers = Map::new();
        for (name, value) in &response.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            // Repeated headers are joined as one value, as HTTP allows.
            headers
                .entry(name.as_str().into())
                .and_modify(|v: &mut Dynamic| *v = format!("{v}, {value}").into())
                .or_insert_with(|| value.into());
        }
        let map = |m: &serde_json::Map<String, Value>| from_json(&Value::Object(m.clone()));
        ScriptResponse(Arc::new(ResponseData {
            url: response.url.clone(),
            status: response.status,
            headers,
            text: response.text().into(),
            kwargs: map(&response.request.cb_kwargs),
            meta: map(&response.request.meta),
            page: OnceLock::new(),
        }))
    }

    fn text(&mut self) -> Result<ImmutableString, Box<EvalAltResult>> {
        if self.0.text.len() > MAX_STRING_BYTES {
            return Err(format!(
                "response text over {MAX_STRING_BYTES} bytes: use css(), xpath() or json()"
            )
            .into());
        }
        Ok(self.0.text.clone())
    }

    fn select(
        &mut self,
        query: Result<Query, crate::select::SelectError>,
    ) -> Result<Array, Box<EvalAltResult>> {
        let query = query.map_err(|e| e.to_string())?;
        let page = self
            .0
            .page
            .get_or_init(|| Mutex::new(Page::parse_detached(&self.0.text, &self.0.url)))
            .lock();
        let found = page.try_select(&query).map_err(|e| e.to_string())?;
        Ok(found.getall().into_iter().map(Dynamic::from).collect())
    }
}

/// JSON text as a script value.
fn parse_json(text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    if text.len() > super::json::MAX_EMBEDDED_JSON {
        return Err(format!("JSON over {} bytes", super::json::MAX_EMBEDDED_JSON).into());
    }
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(from_json(&v))
}

/// The functions and the `response` type scripts see; none does I/O.
fn register_api(engine: &mut Engine) {
    engine
        .register_type_with_name::<ScriptResponse>("Response")
        .register_get("url", |r: &mut ScriptResponse| r.0.url.to_string())
        .register_get("status", |r: &mut ScriptResponse| r.0.status as rhai::INT)
        .register_get("headers", |r: &mut ScriptResponse| r.0.headers.clone())
        .register_get("text", ScriptResponse::text)
        .register_get("kwargs", |r: &mut ScriptResponse| r.0.kwargs.clone())
        .register_get("meta", |r: &mut ScriptResponse| r.0.meta.clone())
        .register_fn("json", |r: &mut ScriptResponse| parse_json(&r.0.text))
        .register_fn("css", |r: &mut ScriptResponse, s: &str| {
            r.select(Query::css(s))
        })
        .register_fn("xpath", |r: &mut ScriptResponse, s: &str| {
            r.select(Query::xpath(s))
        })
        .register_fn(
            "urljoin",
            |r: &mut ScriptResponse, href: &str| -> Result<String, Box<EvalAltResult>> {
                r.0.url
                    .join(href.trim())
                    .map(|u| u.to_string())
                    .map_err(|e| format!("cannot join {href:?}: {e}").into())
            },
        )
        .register_fn("to_string", |r: &mut ScriptResponse| {
            format!("<Response {}>", r.0.url)
        })
        .register_fn("parse_json", |s: &str| parse_json(s))
        .register_fn("opening_hours", |v: Dynamic| opening_hours(&v, &Map::new()))
        .register_fn("opening_hours", |v: Dynamic, o: Map| opening_hours(&v, &o))
        .register_fn("item", |m: Map| m)
        .register_type_with_name::<RequestSpec>("Request")
        .register_fn("request", |url: &str| RequestSpec {
            url: url.to_string(),
            ..RequestSpec::default()
        })
        .register_fn(
            "request",
            |m: Map| -> Result<RequestSpec, Box<EvalAltResult>> {
                RequestSpec::from_map(m).map_err(Into::into)
            },
        )
        .register_fn("to_string", |r: &mut RequestSpec| {
            format!("<Request {}>", r.url)
        });
}

/// `opening_hours(value)` / `opening_hours(value, #{ days: "de", ... })`: a field's
/// `hours` conversion (text, schema.org objects, day-keyed maps, records) to an OSM
/// `opening_hours` string, or `()` when nothing is read.
fn opening_hours(v: &Dynamic, options: &Map) -> Result<Dynamic, Box<EvalAltResult>> {
    let options = to_json(&Dynamic::from_map(options.clone()), 0)?;
    let options = match &options {
        Value::Object(m) if m.is_empty() => Value::Bool(true),
        other => other.clone(),
    };
    let o = super::hours::HoursOptions::compile("opening_hours", &options)
        .map_err(|e| e.message)?
        .unwrap_or_default();
    let v = to_json(v, 0)?;
    Ok(match super::hours::from_json(&v, &o) {
        Some(s) => s.into(),
        None => Dynamic::UNIT,
    })
}

/// A JSON value as a script value.
fn from_json(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        Value::String(s) => s.clone().into(),
        Value::Array(a) => Dynamic::from_array(a.iter().map(from_json).collect()),
        Value::Object(m) => Dynamic::from_map(
            m.iter()
                .map(|(k, v)| (k.as_str().into(), from_json(v)))
                .collect(),
        ),
    }
}

/// A script value as JSON (at most [`MAX_ITEM_NESTING`] levels deep).
fn to_json(v: &Dynamic, depth: usize) -> Result<Value, String> {
    if depth > MAX_ITEM_NESTING {
        return Err(format!(
            "value nested deeper than {MAX_ITEM_NESTING} levels"
        ));
    }
    if v.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(b.into());
    }
    if let Ok(i) = v.as_int() {
        return Ok(i.into());
    }
    if let Ok(f) = v.as_float() {
        return Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Ok(c) = v.as_char() {
        return Ok(c.to_string().into());
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Ok(s.as_str().into());
    }
    if let Some(a) = v.read_lock::<Array>() {
        return a
            .iter()
            .map(|x| to_json(x, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Some(m) = v.read_lock::<Map>() {
        let mut out = serde_json::Map::new();
        for (k, x) in m.iter() {
            out.insert(k.to_string(), to_json(x, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    if let Some(b) = v.read_lock::<rhai::Blob>() {
        return Ok(Value::Array(b.iter().map(|&x| x.into()).collect()));
    }
    Err(format!("a {} cannot be stored in an item", v.type_name()))
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
