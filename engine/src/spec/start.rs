//! Start requests beyond plain URLs: any method, headers, form or JSON bodies, and one
//! request per element of a list argument (store ids, the points of a search grid):
//!
//! ```toml
//! [args]
//! points = [{ lat = 48.85, lon = 2.35 }, { lat = 45.76, lon = 4.83 }]
//!
//! [[start_requests]]
//! url = "https://api.example.com/stores/search"
//! json = { latitude = "{points.lat}", longitude = "{points.lon}", radius = 50 }
//! callback = "stores"
//! ```

use std::borrow::Cow;
use std::collections::HashMap;

use http::Method;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::limits;
use super::template::Template;

/// A start request as written in a spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequestSpec {
    /// The URL (a template).
    pub url: String,
    /// `GET` (the default without a body) or `POST` (the default with one), `PUT`, ...
    #[serde(default)]
    pub method: Option<String>,
    /// Headers (values are templates).
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// A form body (`application/x-www-form-urlencoded`; values are templates).
    #[serde(default)]
    pub form: Option<IndexMap<String, String>>,
    /// A JSON body (string values are templates).
    #[serde(default)]
    pub json: Option<Value>,
    /// A raw body (a template).
    #[serde(default)]
    pub body: Option<String>,
    /// The callback for the response (default: the start callback and the rules).
    #[serde(default)]
    pub callback: Option<String>,
}

/// A request's body.
#[derive(Debug, Clone)]
pub enum Body {
    /// None.
    Empty,
    /// Form fields.
    Form(Vec<(String, Template)>),
    /// JSON, whose string values are templates (checked when the spec is compiled).
    Json(Value),
    /// Raw text.
    Raw(Template),
}

/// A validated start request.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The URL.
    pub url: Template,
    /// The method.
    pub method: Method,
    /// The headers.
    pub headers: Vec<(http::HeaderName, Template)>,
    /// The body.
    pub body: Body,
    /// The callback.
    pub callback: Option<String>,
}

impl StartRequest {
    /// Validates `spec`; errors are `(path suffix, message)`.
    pub fn compile(spec: &StartRequestSpec) -> Result<StartRequest, (String, String)> {
        let t = |path: &str, text: &str| {
            limits::check_len(path, "template", text).map_err(|e| (path.to_string(), e.message))?;
            Template::parse(text).map_err(|m| (path.to_string(), m))
        };
        let url = t("url", &spec.url)?;
        let bodies = [
            spec.form.is_some(),
            spec.json.is_some(),
            spec.body.is_some(),
        ];
        if bodies.iter().filter(|b| **b).count() > 1 {
            return Err(("form".into(), "give one of form, json or body".into()));
        }
        let body = if let Some(form) = &spec.form {
            Body::Form(
                form.iter()
                    .map(|(k, v)| Ok((k.clone(), t(&format!("form.{k}"), v)?)))
                    .collect::<Result<_, (String, String)>>()?,
            )
        } else if let Some(json) = &spec.json {
            check_json_templates("json", json)?;
            Body::Json(json.clone())
        } else if let Some(body) = &spec.body {
            Body::Raw(t("body", body)?)
        } else {
            Body::Empty
        };
        let method = match spec.method.as_deref() {
            None if matches!(body, Body::Empty) => Method::GET,
            None => Method::POST,
            Some(m) => match m.to_ascii_uppercase().as_str() {
                "GET" => Method::GET,
                "POST" => Method::POST,
                "PUT" => Method::PUT,
                "PATCH" => Method::PATCH,
                "DELETE" => Method::DELETE,
                "HEAD" => Method::HEAD,
                _ => {
                    return Err((
                        "method".into(),
                        format!("unsupported method {m:?} (GET, POST, PUT, PATCH, DELETE, HEAD)"),
                    ))
                }
            },
        };
        let headers = spec
            .headers
            .iter()
            .map(|(k, v)| {
                let name = http::HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| (format!("headers.{k}"), format!("invalid header name {k:?}")))?;
                Ok((name, t(&format!("headers.{k}"), v)?))
            })
            .collect::<Result<_, (String, String)>>()?;
        Ok(StartRequest {
            url,
            method,
            headers,
            body,
            callback: spec.callback.clone(),
        })
    }

    /// Every template of the request.
    pub fn templates(&self) -> Vec<Template> {
        let mut out = vec![self.url.clone()];
        out.extend(self.headers.iter().map(|(_, t)| t.clone()));
        match &self.body {
            Body::Empty => {}
            Body::Form(f) => out.extend(f.iter().map(|(_, t)| t.clone())),
            Body::Raw(t) => out.push(t.clone()),
            Body::Json(v) => json_templates(v, &mut out),
        }
        out
    }

    /// The body's bytes and content type, rendered with `lookup`.
    pub fn render_body<'a>(
        &self,
        lookup: &dyn Fn(&str) -> Option<Cow<'a, str>>,
    ) -> Option<(Vec<u8>, &'static str)> {
        match &self.body {
            Body::Empty => None,
            Body::Form(fields) => {
                let mut ser = url::form_urlencoded::Serializer::new(String::new());
                for (k, t) in fields {
                    ser.append_pair(k, &t.render(lookup));
                }
                Some((
                    ser.finish().into_bytes(),
                    "application/x-www-form-urlencoded",
                ))
            }
            Body::Json(v) => Some((
                serde_json::to_vec(&render_json(v, lookup)).unwrap_or_default(),
                "application/json",
            )),
            Body::Raw(t) => Some((t.render(lookup).into_bytes(), "text/plain; charset=utf-8")),
        }
    }
}

fn check_json_templates(path: &str, v: &Value) -> Result<(), (String, String)> {
    match v {
        Value::String(s) => Template::parse(s)
            .map(|_| ())
            .map_err(|m| (path.to_string(), m)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| check_json_templates(&format!("{path}[{i}]"), x)),
        Value::Object(o) => o
            .iter()
            .try_for_each(|(k, x)| check_json_templates(&format!("{path}.{k}"), x)),
        _ => Ok(()),
    }
}

fn json_templates(v: &Value, out: &mut Vec<Template>) {
    match v {
        Value::String(s) => out.extend(Template::parse(s).ok()),
        Value::Array(a) => a.iter().for_each(|x| json_templates(x, out)),
        Value::Object(o) => o.values().for_each(|x| json_templates(x, out)),
        _ => {}
    }
}

/// `v` with its string leaves rendered; a string that is exactly one placeholder of a
/// number or boolean value keeps that JSON type (`"{points.lat}"` → `48.85`).
fn render_json<'a>(v: &Value, lookup: &dyn Fn(&str) -> Option<Cow<'a, str>>) -> Value {
    match v {
        Value::String(s) => {
            let Ok(t) = Template::parse(s) else {
                return v.clone();
            };
            let text = t.render(lookup);
            let single = s.starts_with('{') && s.ends_with('}') && t.vars().count() == 1;
            match serde_json::from_str::<Value>(&text) {
                Ok(n @ (Value::Number(_) | Value::Bool(_))) if single => n,
                _ => Value::String(text),
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| render_json(x, lookup)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), render_json(x, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One binding of the list arguments `templates` use: each list argument to one of
/// its elements. The cartesian product of every list used, at most `max` bindings.
pub fn bindings(
    args: &Map<String, Value>,
    templates: &[Template],
    max: usize,
) -> Result<Vec<HashMap<String, Value>>, String> {
    let mut lists: Vec<(&str, &Vec<Value>)> = Vec::new();
    for t in templates {
        for v in t.vars() {
            let base = v.split('.').next().unwrap_or(v);
            if let Some((name, Value::Array(items))) = args.get_key_value(base) {
                if !lists.iter().any(|(n, _)| *n == name.as_str()) {
                    lists.push((name.as_str(), items));
                }
            }
        }
    }
    let mut out = vec![HashMap::new()];
    for (name, items) in lists {
        let n = out.len().saturating_mul(items.len());
        if n > max {
            return Err(format!(
                "the list arguments make {n} start requests or more (limit {max})"
            ));
        }
        out = out
            .into_iter()
            .flat_map(|b| {
                items.iter().map(move |item| {
                    let mut b = b.clone();
                    b.insert(name.to_string(), item.clone());
                    b
                })
            })
            .collect();
    }
    Ok(out)
}

/// Looks `name` (`arg` or `arg.key`) up in a binding, then in `args`: strings as they
/// are, other values as JSON text.
pub fn lookup_arg<'a>(
    binding: &'a HashMap<String, Value>,
    args: &'a Map<String, Value>,
    name: &str,
) -> Option<Cow<'a, str>> {
    let mut parts = name.split('.');
    let base = parts.next()?;
    let mut v = binding.get(base).or_else(|| args.get(base))?;
    for key in parts {
        v = v.get(key)?;
    }
    Some(match v {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Null => return None,
        other => Cow::Owned(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bindings_are_the_product_of_the_lists_used_and_bounded() {
        let args = json!({"a": [1, 2, 3], "b": ["x", "y"], "c": "z", "d": [9]});
        let args = args.as_object().unwrap();
        let t = |s: &str| Template::parse(s).unwrap();
        let sets = bindings(args, &[t("{a}/{b}/{c}"), t("{a}")], 100).unwrap();
        assert_eq!(sets.len(), 6);
        let sets = bindings(args, &[t("{c}")], 100).unwrap();
        assert_eq!(sets.len(), 1);
        let e = bindings(args, &[t("{a}{b}")], 5).unwrap_err();
        assert!(e.contains("limit 5"), "{e}");
        let b = &bindings(args, &[t("{a}")], 100).unwrap()[1];
        assert_eq!(lookup_arg(b, args, "a").as_deref(), Some("2"));
        assert_eq!(lookup_arg(b, args, "c").as_deref(), Some("z"));
        assert_eq!(lookup_arg(b, args, "a.x"), None);
    }
}
