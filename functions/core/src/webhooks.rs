//! The webhook operations of the control plane (`addwebhook.json`,
//! `listwebhooks.json`, `delwebhook.json`) and its deliverer.

use crate::control::{ApiError, ApiResult, Control};
use crate::events::{
    Deliverer, Delivery, EventFilter, Webhook, WebhookError, MAX_WEBHOOKS_PER_PROJECT,
};
use crate::names::is_valid_name;

/// A webhook as listed: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookListing {
    /// The webhook (its `secret` is for the server only).
    pub webhook: Webhook,
    /// Its latest delivery attempts, newest first.
    pub deliveries: Vec<Delivery>,
}

impl Control {
    /// The deliverer of this control plane's events, with its configured limits.
    pub fn deliverer(&self) -> anyhow::Result<Deliverer> {
        Deliverer::new(
            self.stores.events.clone(),
            self.stores.clock.clone(),
            self.cfg.events.clone(),
        )
    }

    /// `addwebhook.json`: registers a webhook for the project's events of the kinds
    /// `events` names (a comma-separated list, `job.*`, or `*`). Returns it with its
    /// secret, which is shown only here.
    pub async fn add_webhook(
        &self,
        project: &str,
        url: &str,
        events: &str,
        secret: Option<String>,
    ) -> ApiResult<Webhook> {
        self.require_project(project).await?;
        let filter =
            EventFilter::parse(events).map_err(|e| ApiError::invalid("events", e.to_string()))?;
        self.new_webhook(project, url, filter, secret, |_| {}).await
    }

    /// Stores a new webhook of `project` after the checks every webhook gets.
    pub(crate) async fn new_webhook(
        &self,
        project: &str,
        url: &str,
        filter: EventFilter,
        secret: Option<String>,
        scope: impl FnOnce(&mut Webhook),
    ) -> ApiResult<Webhook> {
        let mut hook = Webhook::new(project, url, filter, secret, self.stores.clock.now())
            .map_err(|e| match e {
                WebhookError::BadUrl => ApiError::invalid("url", e.to_string()),
                WebhookError::BadSecret => ApiError::invalid("secret", e.to_string()),
            })?;
        scope(&mut hook);
        let client = crate::events::WebhookClient::new(
            self.cfg.events.allow_private,
            self.cfg.events.timeout,
        )
        .map_err(|e| ApiError::invalid("url", e.to_string()))?;
        client
            .check_url(&hook.url)
            .map_err(|e| ApiError::invalid("url", e.to_string()))?;
        if self.stores.events.webhooks(project).await?.len() >= MAX_WEBHOOKS_PER_PROJECT {
            return Err(ApiError::invalid(
                "project",
                format!("has {MAX_WEBHOOKS_PER_PROJECT} webhooks already"),
            ));
        }
        self.stores.events.put_webhook(&hook).await?;
        Ok(hook)
    }

    /// `listwebhooks.json`: the project's webhooks and their latest deliveries.
    pub async fn list_webhooks(&self, project: &str) -> ApiResult<Vec<WebhookListing>> {
        if !is_valid_name(project) {
            return Err(ApiError::ProjectNotFound(project.to_string()));
        }
        let mut out = Vec::new();
        for webhook in self.stores.events.webhooks(project).await? {
            let deliveries = self.stores.events.deliveries(&webhook.id).await?;
            out.push(WebhookListing {
                webhook,
                deliveries,
            });
        }
        Ok(out)
    }

    /// `delwebhook.json`: deletes a webhook of the project.
    pub async fn delete_webhook(&self, project: &str, id: &str) -> ApiResult<()> {
        if self.stores.events.delete_webhook(project, id).await? {
            Ok(())
        } else {
            Err(ApiError::invalid(
                "id",
                format!(
                    "no webhook '{}' in project '{}'",
                    id.chars().take(64).collect::<String>(),
                    project.chars().take(64).collect::<String>()
                ),
            ))
        }
    }
}
