//! CSRF protection of the console's actions.
//!
//! A browser that has the console open holds the Basic credentials and sends them with
//! any request to the server, including one a foreign page makes it send. So every
//! console action (`POST {base}/console/do/{action}`) needs a token that only a
//! console page carries (`X-Trawl-CSRF` header or `csrf` form field): the HMAC-SHA256 of
//! the hour it was issued in, keyed with a secret derived from the configured
//! credentials (so every instance of the API function accepts the tokens of the
//! others), or a random per-process secret when auth is off. A token is good for
//! [`TOKEN_HOURS`] hours. A request a browser marks `Sec-Fetch-Site: cross-site` or
//! `same-site` is refused before the token is looked at.
//!
//! The Scrapyd JSON API takes no token (its clients are programs that send their
//! credentials with each call), but when auth is on, a `POST` that a browser marks as
//! cross-site is refused there too ([`cross_site`]): no legitimate caller sends one,
//! as the CORS answer does not allow an `Authorization` header.

use http::HeaderMap;
use trawl_core::events::sign::hmac_hex;

use crate::auth::ct_eq;

/// How long a token is accepted, in hours.
pub const TOKEN_HOURS: i64 = 12;

/// The header the console's script sends the token in.
pub const HEADER: &str = "x-trawl-csrf";

/// Issues and checks tokens.
pub(crate) struct Csrf {
    secret: String,
}

impl Csrf {
    /// A secret derived from the credentials, or a random one when there are none.
    pub(crate) fn new(username: Option<&str>, password: Option<&str>) -> Self {
        let (u, p) = (username.unwrap_or(""), password.unwrap_or(""));
        let secret = if u.is_empty() && p.is_empty() {
            let bytes: [u8; 32] = rand::random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        } else {
            // Not the password itself: a token never reveals anything about it.
            hmac_hex(&format!("{u}:{p}"), 0, b"trawl console csrf")
        };
        Csrf { secret }
    }

    /// The token for the hour of `unix` seconds.
    pub(crate) fn token(&self, unix: i64) -> String {
        let hour = unix.div_euclid(3600);
        format!("{hour}.{}", hmac_hex(&self.secret, hour, b"console"))
    }

    /// Whether `token` was issued by [`Csrf::token`] within [`TOKEN_HOURS`] of `unix`.
    pub(crate) fn check(&self, token: &str, unix: i64) -> bool {
        let Some((hour, _)) = token.split_once('.') else {
            return false;
        };
        let Ok(hour) = hour.parse::<i64>() else {
            return false;
        };
        let now = unix.div_euclid(3600);
        if hour > now || now - hour >= TOKEN_HOURS {
            return false;
        }
        ct_eq(token.as_bytes(), self.token(hour * 3600).as_bytes())
    }
}

/// Whether a browser says the request comes from another site (`Sec-Fetch-Site`
/// `cross-site` or `same-site`). Programs send no such header.
pub fn cross_site(headers: &HeaderMap) -> bool {
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site" | "same-site")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_are_keyed() {
        let c = Csrf::new(Some("u"), Some("p"));
        let t = c.token(10_000);
        assert!(c.check(&t, 10_000));
        assert!(c.check(&t, 10_000 + 3600 * (TOKEN_HOURS - 1)));
        assert!(!c.check(&t, 10_000 + 3600 * TOKEN_HOURS));
        assert!(!c.check(&t, 10_000 - 3600), "from the future");
        assert!(!Csrf::new(Some("u"), Some("q")).check(&t, 10_000));
        assert!(
            Csrf::new(Some("u"), Some("p")).check(&t, 10_000),
            "same key on every instance"
        );
        assert!(!c.check("", 10_000));
        assert!(!c.check("2.abc", 10_000));
        let a = Csrf::new(None, None);
        assert!(a.check(&a.token(5), 5));
        assert!(!Csrf::new(None, None).check(&a.token(5), 5));
    }

    #[test]
    fn cross_site_requests() {
        let mut h = HeaderMap::new();
        assert!(!cross_site(&h));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(!cross_site(&h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&h));
        h.insert("sec-fetch-site", "same-site".parse().unwrap());
        assert!(cross_site(&h));
    }
}
