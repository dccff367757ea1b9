//! Trawl's webhook endpoints (beyond Scrapyd): `addwebhook.json`, `listwebhooks.json`,
//! `delwebhook.json`. A webhook's secret is in `addwebhook.json`'s answer only;
//! listings show a hint of it.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::envelope::{scrapyd_time, Fields};
use super::{App, Params};
use trawl_core::control::ApiResult;
use trawl_core::events::{secret_hint, Delivery, Webhook};
use trawl_core::webhooks::WebhookListing;

/// A webhook as listed, without its secret.
fn webhook_entry(w: &Webhook) -> Value {
    json!({
        "id": w.id,
        "project": w.project,
        "url": w.url,
        "events": w.event_names(),
        "job": w.job,
        "schedule": w.schedule,
        "secret_hint": secret_hint(&w.secret),
        "created_at": scrapyd_time(w.created_at),
    })
}

fn delivery_entry(d: &Delivery) -> Value {
    json!({
        "event_id": d.event_id,
        "event_type": d.event_type.as_str(),
        "at": scrapyd_time(d.at),
        "attempt": d.attempt,
        "status": d.status,
        "error": d.error,
        "ok": d.ok,
        "final": d.last,
        "duration_ms": d.duration_ms,
    })
}

fn listing_entry(l: &WebhookListing) -> Value {
    let mut v = webhook_entry(&l.webhook);
    v["deliveries"] = l.deliveries.iter().map(delivery_entry).collect();
    v
}

/// `addwebhook.json`: `project`, `url`, optional `events` (comma-separated kinds,
/// `job.*`, `*`; default every kind) and `secret` (generated when absent). Answers the
/// `webhook` and its `secret`.
pub(super) async fn add_webhook(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        let url = p.required("url")?;
        let events = p.opt("events").unwrap_or_default();
        let w = app
            .control
            .add_webhook(&project, &url, &events, p.opt("secret"))
            .await?;
        Ok(fields! {"id" => w.id, "secret" => w.secret, "webhook" => webhook_entry(&w)})
    };
    app.reply(r.await)
}

/// `listwebhooks.json`: `project`; each webhook with its latest `deliveries`.
pub(super) async fn list_webhooks(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        let list = app.control.list_webhooks(&project).await?;
        Ok(fields! {"webhooks" => list.iter().map(listing_entry).collect::<Vec<_>>()})
    };
    app.reply(r.await)
}

/// `delwebhook.json`: `project`, `id`.
pub(super) async fn delete_webhook(State(app): State<Arc<App>>, p: Params) -> Response {
    let r = async {
        let project = p.required("project")?;
        let id = p.required("id")?;
        app.control.delete_webhook(&project, &id).await?;
        ApiResult::Ok(Fields::new())
    };
    app.reply(r.await)
}
