//! The connect-time check: a DNS resolver for the HTTP client that drops the
//! addresses the policy refuses.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::DestinationPolicy;

/// Resolves host names with the system resolver (as reqwest does by default) and
/// keeps only the addresses the policy allows. The HTTP client connects only to what
/// this returns, so the check holds for every connection, including a name that
/// resolves differently from one lookup to the next.
///
/// The client does not call a resolver for IP-literal hosts; those are checked on the
/// URL before the request ([`DestinationPolicy::check_url`]).
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: Arc<DestinationPolicy>,
}

impl PolicyResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Arc<DestinationPolicy>) -> Self {
        PolicyResolver { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept = policy.filter_resolved(&host, resolved)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}
