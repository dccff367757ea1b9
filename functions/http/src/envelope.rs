//! Scrapyd's JSON envelope: `{"node_name": ..., "status": "ok", ...}` on success,
//! `{"node_name": ..., "status": "error", "message": ...}` (HTTP 200) on failure.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};

use super::App;
use trawl_core::control::{ApiError, ApiResult};

/// The fields of a successful answer besides `node_name` and `status`.
pub type Fields = Map<String, Value>;

/// A JSON answer with the given status code.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text_response(status, text)
}

/// A JSON answer whose text is already serialised.
pub fn text_response(status: StatusCode, text: impl Into<axum::body::Body>) -> Response {
    let body: axum::body::Body = text.into();
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// `{"node_name", "status": "ok", ...fields}`.
pub fn ok(node_name: &str, fields: Fields) -> Response {
    text_response(StatusCode::OK, ok_text(node_name, fields))
}

/// The text of [`ok`]'s answer.
pub fn ok_text(node_name: &str, fields: Fields) -> String {
    let mut body = Map::new();
    body.insert("node_name".into(), node_name.into());
    body.insert("status".into(), "ok".into());
    body.extend(fields);
    let mut text = serde_json::to_string(&Value::Object(body)).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// `{"node_name", "status": "error", "message"}` with `status` (200 for API errors).
pub fn error(node_name: &str, status: StatusCode, message: &str) -> Response {
    let mut body = Map::new();
    body.insert("node_name".into(), node_name.into());
    body.insert("status".into(), "error".into());
    body.insert("message".into(), message.into());
    json_response(status, &Value::Object(body))
}

impl App {
    /// The envelope for an operation's result.
    pub(crate) fn reply(&self, result: ApiResult<Fields>) -> Response {
        match result {
            Ok(fields) => ok(self.node_name(), fields),
            Err(e) => self.error(e),
        }
    }

    /// The error envelope (HTTP 200) for `e`.
    pub(crate) fn error(&self, e: ApiError) -> Response {
        if let ApiError::Store(_) = &e {
            tracing::warn!(error = %e, "API call failed in storage");
        }
        error(self.node_name(), StatusCode::OK, &e.to_string())
    }
}

/// A UTC time as Scrapyd writes it: `YYYY-MM-DD HH:MM:SS.ffffff`.
pub fn scrapyd_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// [`scrapyd_time`] or `null`.
pub fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(scrapyd_time(t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    async fn body(res: Response) -> Value {
        let b = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    #[tokio::test]
    async fn ok_envelope() {
        let res = ok("node1", fields! {"jobid" => "abc", "n" => 3});
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        let v = body(res).await;
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"node_name":"node1","status":"ok","jobid":"abc","n":3}"#
        );
    }

    #[tokio::test]
    async fn error_envelope() {
        let res = error(
            "node1",
            StatusCode::OK,
            &ApiError::Missing("project").to_string(),
        );
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        let v = body(res).await;
        assert_eq!(
            v,
            serde_json::json!({"node_name": "node1", "status": "error", "message": "'project' parameter is required"})
        );
    }

    #[test]
    fn times() {
        let t = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(scrapyd_time(t), "2024-01-02 03:04:05.123456");
        let t = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(scrapyd_time(t), "2024-01-02 03:04:05.000000");
        assert_eq!(opt_time(None), Value::Null);
    }
}
