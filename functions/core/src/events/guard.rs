//! [`WebhookClient`]: the HTTP client of deliveries, with the SSRF guard: a webhook
//! URL may not reach loopback, private or link-local addresses (the Lambda runtime
//! API, instance metadata) unless the server allows them. The check is made on the URL
//! (IP literals) and on every address its host name resolves to, at delivery time,
//! by the client's resolver (so DNS rebinding cannot pass); redirects are not followed
//! and no proxy is used.

use std::sync::Arc;
use std::time::Duration;

use trawl_engine::downloader::{DestinationPolicy, DestinationRefused, PolicyResolver};
use url::Url;

/// A webhook URL refused by the guard.
#[derive(Debug, thiserror::Error)]
#[error("webhook URL refused: {0}")]
pub struct WebhookUrlError(#[from] DestinationRefused);

/// What a delivery attempt got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
}

impl Answer {
    /// Whether the receiver took the delivery (2xx).
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// POSTs signed event bodies to webhook URLs within the destination policy.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<DestinationPolicy>,
}

impl WebhookClient {
    /// A client refusing non-public addresses unless `allow_private`, with a timeout
    /// per delivery.
    pub fn new(allow_private: bool, timeout: Duration) -> anyhow::Result<Self> {
        let policy = Arc::new(if allow_private {
            DestinationPolicy::allow_all()
        } else {
            DestinationPolicy::public_only()
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Trawl-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PolicyResolver::new(policy.clone())))
            .build()?;
        Ok(WebhookClient { http, policy })
    }

    /// Checks a URL's scheme and IP-literal host (host names are checked when they
    /// resolve, at each delivery).
    pub fn check_url(&self, url: &str) -> Result<(), WebhookUrlError> {
        let url = Url::parse(url).map_err(|_| DestinationRefused::NoHost)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DestinationRefused::Scheme(url.scheme().to_string()).into());
        }
        if self.policy.is_restricted() {
            self.policy.check_url(&url)?;
        }
        Ok(())
    }

    /// POSTs `body` with `headers`; a redirect counts as a failure.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: String) -> Answer {
        if let Err(e) = self.check_url(url) {
            return Answer {
                status: None,
                error: Some(e.to_string()),
            };
        }
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        match req.body(body).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let error = (!resp.status().is_success()).then(|| format!("HTTP {status}"));
                Answer {
                    status: Some(status),
                    error,
                }
            }
            Err(e) => Answer {
                status: None,
                error: Some(error_chain(&e)),
            },
        }
    }
}

/// An error and its causes on one line (at most 300 characters): the refused address
/// of the guard is a cause of reqwest's connect error.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text.chars().take(300).collect()
}
