//! Where the downloader may connect: the [`DestinationPolicy`].
//!
//! A crawl run for someone else (a job on a server) must not reach the server's own
//! network: the loopback interface, private and link-local networks (cloud metadata
//! services at `169.254.169.254` and `fd00:ec2::254`), nor local files. The policy is
//! enforced where every request passes, whatever produced it (start URLs after
//! templating, rules, callback follows, sitemaps, redirects, meta refresh, robots.txt):
//!
//! - before a download, on the URL: its scheme, and its host when that is an IP
//!   literal (the `url` crate has already normalised `2130706433`, `0x7f.0.0.1`,
//!   `0177.0.0.1`, `127.1` to `127.0.0.1`);
//! - at connect time, on every address a host name resolves to (a resolver given to
//!   the HTTP client drops refused addresses), so a name that resolves to `127.0.0.1`,
//!   or re-resolves there later (DNS rebinding), is never connected to.

mod ranges;
mod resolve;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use url::{Host, Url};

pub use ranges::{AddressClass, Cidr, CidrError, Embedding};
pub use resolve::PolicyResolver;

use ranges::{classify, Classified};

/// Which destinations the downloader may fetch.
///
/// [`DestinationPolicy::allow_all`] (the default) fetches any URL the fetcher
/// supports: `http`, `https` and `file`, at any address. It suits a crawl run by the
/// person who wrote it, on their machine.
///
/// [`DestinationPolicy::public_only`] is for crawls run on behalf of others. It
/// refuses every scheme but `http` and `https` (so `file:` URLs) and every address
/// that is not public unicast:
///
/// - loopback (`127.0.0.0/8`, `::1`), unspecified (`0.0.0.0`, `::`), broadcast;
/// - private: RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), carrier-grade NAT
///   (`100.64/10`), IPv6 unique local (`fc00::/7`);
/// - link-local (`169.254/16`, `fe80::/10`), multicast (`224/4`, `ff00::/8`);
/// - other blocks that are not globally reachable (see [`AddressClass::Reserved`]);
/// - IPv6 forms of refused IPv4 addresses: IPv4-mapped (`::ffff:127.0.0.1`),
///   IPv4-compatible (`::127.0.0.1`), IPv4-translated, NAT64 (`64:ff9b::/96`) and
///   6to4 (`2002::/16`) addresses are judged by the IPv4 address they carry.
///
/// Ranges added with [`DestinationPolicy::allow_range`] are exceptions: an address in
/// one of them is allowed whatever its class (an IPv4 range also covers the IPv6
/// forms of its addresses).
///
/// Proxies: a proxy (meta `proxy`, which HttpProxyMiddleware fills from the
/// environment or the HTTP_PROXY / HTTPS_PROXY settings) is the operator's choice and
/// is connected to whatever its address. The target URL is still checked (scheme and
/// IP literal), but a target host name is resolved by the proxy, not here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    restricted: bool,
    allowed: Vec<Cidr>,
}

impl DestinationPolicy {
    /// Everything the fetcher supports, at any address (the default).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// `http` and `https` to public addresses only, plus the ranges added with
    /// [`DestinationPolicy::allow_range`].
    pub fn public_only() -> Self {
        DestinationPolicy {
            restricted: true,
            allowed: Vec::new(),
        }
    }

    /// Allows the addresses of `range` even when their class is refused (a
    /// restricted policy only; an unrestricted one already allows them).
    pub fn allow_range(mut self, range: Cidr) -> Self {
        if !self.allowed.contains(&range) {
            self.allowed.push(range);
        }
        self
    }

    /// Allows each range of `ranges`, as [`DestinationPolicy::allow_range`].
    pub fn allow_ranges(self, ranges: impl IntoIterator<Item = Cidr>) -> Self {
        ranges.into_iter().fold(self, Self::allow_range)
    }

    /// Whether the policy refuses anything.
    pub fn is_restricted(&self) -> bool {
        self.restricted
    }

    /// The ranges allowed as exceptions.
    pub fn allowed_ranges(&self) -> &[Cidr] {
        &self.allowed
    }

    /// Checks a URL before it is fetched: its scheme, and its host when that is an IP
    /// literal. Host names pass here; their addresses are checked when they resolve.
    pub fn check_url(&self, url: &Url) -> Result<(), DestinationRefused> {
        if !self.restricted {
            return Ok(());
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DestinationRefused::Scheme(url.scheme().to_string()));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(a)) => IpAddr::V4(a),
            Some(Host::Ipv6(a)) => IpAddr::V6(a),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(DestinationRefused::NoHost),
        };
        self.check_ip(ip).map_err(DestinationRefused::Address)
    }

    /// Checks one address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), RefusedAddress> {
        if !self.restricted || self.in_allowed(ip) {
            return Ok(());
        }
        let refused = |class, via| {
            Err(RefusedAddress {
                ip,
                class,
                embeds: via,
            })
        };
        match classify(ip) {
            Classified::Global => Ok(()),
            Classified::Special(class) => refused(class, None),
            Classified::Embeds(v4, how) => {
                if self.in_allowed(IpAddr::V4(v4)) {
                    return Ok(());
                }
                match classify(IpAddr::V4(v4)) {
                    Classified::Special(class) => refused(class, Some((v4, how))),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Keeps the addresses `host` resolved to that the policy allows; fails when it
    /// allows none of them.
    pub(crate) fn filter_resolved(
        &self,
        host: &str,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, DestinationRefused> {
        let mut kept = Vec::new();
        let mut refused = Vec::new();
        for a in addrs {
            match self.check_ip(a.ip()) {
                Ok(()) => kept.push(a),
                Err(r) => refused.push(r),
            }
        }
        if kept.is_empty() && !refused.is_empty() {
            return Err(DestinationRefused::Resolved {
                host: host.to_string(),
                addresses: refused,
            });
        }
        if !refused.is_empty() {
            tracing::debug!(%host, refused = refused.len(), "dropped refused addresses of a host name");
        }
        Ok(kept)
    }

    fn in_allowed(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|c| c.contains(ip))
    }
}

/// An address the policy refuses, with its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedAddress {
    /// The address as requested or resolved.
    pub ip: IpAddr,
    /// Why it is refused.
    pub class: AddressClass,
    /// The IPv4 address an IPv6 form stands for, judged in its place.
    pub embeds: Option<(Ipv4Addr, Embedding)>,
}

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = if self.class == AddressClass::Unspecified {
            "an"
        } else {
            "a"
        };
        match self.embeds {
            None => write!(f, "{} is {a} {} address", self.ip, self.class),
            Some((v4, how)) => write!(
                f,
                "{} is the {how} form of {v4}, {a} {} address",
                self.ip, self.class
            ),
        }
    }
}

/// Why the [`DestinationPolicy`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationRefused {
    /// A scheme other than `http` or `https`.
    #[error("scheme {0:?} is not allowed (http and https only)")]
    Scheme(String),
    /// An http(s) URL without a host.
    #[error("the URL has no host")]
    NoHost,
    /// The URL's host is a refused IP address.
    #[error("{0}")]
    Address(RefusedAddress),
    /// Every address the host name resolved to is refused.
    #[error("{host} resolves only to refused addresses: {}", list(addresses))]
    Resolved {
        /// The host name.
        host: String,
        /// Its addresses, each with the reason.
        addresses: Vec<RefusedAddress>,
    },
}

fn list(addresses: &[RefusedAddress]) -> String {
    addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
