//! Shared by the HTTP API's integration tests: a real server on loopback over SQLite and
//! files, and answer checks.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;
use trawl_core::{Control, ControlConfig};
use trawl_http::{router, ApiOptions};

use trawl_embedded::testkit as common;

use common::SPEC;
pub struct Server {
    pub url: String,
    pub control: Arc<Control>,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(opts: ApiOptions) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ControlConfig {
            node_name: "node-http".into(),
            ..Default::default()
        };
        let (control, _clock, _dispatched) = common::control(dir.path(), cfg);
        let app = router(control.clone(), opts);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server {
            url: format!("http://{addr}"),
            control,
            http: reqwest::Client::new(),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn get(&self, path: &str) -> Value {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        json_of(res).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let res = self
            .http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap();
        json_of(res).await
    }

    /// Deploys the example spec as scrapyd-deploy does: multipart, file `egg`
    /// named `project.egg`.
    pub async fn deploy(&self, project: &str, version: &str) -> Value {
        let form = Form::new()
            .text("project", project.to_string())
            .text("version", version.to_string())
            .part(
                "egg",
                Part::bytes(SPEC.as_bytes().to_vec()).file_name("project.egg"),
            );
        let res = self
            .http
            .post(self.url("/addversion.json"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        json_of(res).await
    }
}

pub async fn json_of(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let v: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(v["node_name"], "node-http");
    v
}

#[track_caller]
pub fn ok(v: &Value) {
    assert_eq!(v["status"], "ok", "{v}");
}

#[track_caller]
pub fn err(v: &Value, message: &str) {
    assert_eq!(v["status"], "error", "{v}");
    assert_eq!(v["message"], message, "{v}");
}

#[track_caller]
pub fn err_starts(v: &Value, prefix: &str) {
    assert_eq!(v["status"], "error", "{v}");
    let m = v["message"].as_str().unwrap();
    assert!(m.starts_with(prefix), "{m}");
}
