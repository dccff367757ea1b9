use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use super::*;

fn strict() -> DestinationPolicy {
    DestinationPolicy::public_only().allow_range("10.20.0.0/16".parse().unwrap())
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn the_url_crate_normalises_numeric_ipv4_spellings() {
    for s in [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://127.0.1/",
        "http://127.0.0.1./",
        "http://%31%32%37.0.0.1/",
        "http://１２７.０.０.１/",
        "HTTP://127.0.0.1:80/",
    ] {
        let u = url(s);
        assert_eq!(
            u.host(),
            Some(Host::Ipv4("127.0.0.1".parse().unwrap())),
            "{s}"
        );
        let e = strict().check_url(&u).unwrap_err();
        assert_eq!(e.to_string(), "127.0.0.1 is a loopback address", "{s}");
    }
    let u = url("http://[::ffff:7f00:1]/");
    assert_eq!(u.host_str(), Some("[::ffff:7f00:1]"));
    assert!(matches!(u.host(), Some(Host::Ipv6(_))));
}

#[test]
fn refused_spellings_and_their_messages() {
    let p = strict();
    for (s, msg) in [
        ("http://[::1]:8080/", "::1 is a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a unique local address"),
        ("http://0.0.0.0:6800/", "0.0.0.0 is an unspecified address"),
        ("http://[::]/", ":: is an unspecified address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://172.20.0.1/", "172.20.0.1 is a private address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://100.100.100.200/", "100.100.100.200 is a shared (carrier-grade NAT) address"),
        ("http://224.0.0.251/", "224.0.0.251 is a multicast address"),
        ("http://255.255.255.255/", "255.255.255.255 is a broadcast address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1 is the IPv4-mapped form of 127.0.0.1, a loopback address",
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            "::ffff:169.254.169.254 is the IPv4-mapped form of 169.254.169.254, a link-local address",
        ),
        (
            "http://[::127.0.0.1]/",
            "::7f00:1 is the IPv4-compatible form of 127.0.0.1, a loopback address",
        ),
        (
            "http://[64:ff9b::a9fe:a9fe]/",
            "64:ff9b::a9fe:a9fe is the NAT64 form of 169.254.169.254, a link-local address",
        ),
        (
            "http://[2002:c0a8:101::1]/",
            "2002:c0a8:101::1 is the 6to4 form of 192.168.1.1, a private address",
        ),
        ("file:///etc/passwd", "scheme \"file\" is not allowed (http and https only)"),
        ("ftp://example.com/x", "scheme \"ftp\" is not allowed (http and https only)"),
        ("data:text/plain,hi", "scheme \"data\" is not allowed (http and https only)"),
    ] {
        let e = p.check_url(&url(s)).expect_err(s);
        assert_eq!(e.to_string(), msg, "{s}");
    }
}

#[test]
fn public_addresses_and_names_pass_the_url_check() {
    let p = strict();
    for s in [
        "http://93.184.216.34/",
        "https://[2606:4700:4700::1111]/",
        "http://[64:ff9b::808:808]/",
        "https://example.com/",
        "http://localhost:6800/",
        "http://10.20.3.4/",
        "http://[::ffff:10.20.3.4]/",
    ] {
        assert_eq!(p.check_url(&url(s)), Ok(()), "{s}");
    }
}

#[test]
fn allow_all_allows_everything_and_ranges_are_exceptions() {
    let all = DestinationPolicy::allow_all();
    assert!(!all.is_restricted());
    assert_eq!(all, DestinationPolicy::default());
    for s in ["file:///etc/passwd", "http://127.0.0.1/", "http://[::1]/"] {
        assert_eq!(all.check_url(&url(s)), Ok(()), "{s}");
    }
    let lo = DestinationPolicy::public_only().allow_ranges([
        "127.0.0.0/8".parse().unwrap(),
        "127.0.0.0/8".parse().unwrap(),
    ]);
    assert_eq!(lo.allowed_ranges().len(), 1);
    assert_eq!(lo.check_url(&url("http://127.0.0.2/")), Ok(()));
    assert_eq!(lo.check_url(&url("http://[::ffff:127.0.0.1]/")), Ok(()));
    assert!(lo.check_url(&url("http://[::1]/")).is_err());
    assert!(lo.check_url(&url("file:///etc/passwd")).is_err());
    let v6 = DestinationPolicy::public_only().allow_range("::1/128".parse().unwrap());
    assert_eq!(v6.check_url(&url("http://[::1]/")), Ok(()));
    assert!(v6.check_url(&url("http://127.0.0.1/")).is_err());
}

#[test]
fn resolved_addresses_are_filtered() {
    let p = strict();
    let sa = |s: &str| SocketAddr::new(s.parse::<IpAddr>().unwrap(), 0);
    let kept = p
        .filter_resolved(
            "mixed.test",
            [sa("127.0.0.1"), sa("93.184.216.34"), sa("::1")],
        )
        .unwrap();
    assert_eq!(kept, [sa("93.184.216.34")]);
    let e = p
        .filter_resolved("localhost", [sa("127.0.0.1"), sa("::1")])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "localhost resolves only to refused addresses: 127.0.0.1 is a loopback address; \
         ::1 is a loopback address"
    );
    assert_eq!(p.filter_resolved("nothing.test", []), Ok(vec![]));
    let all = DestinationPolicy::allow_all();
    assert_eq!(
        all.filter_resolved("localhost", [sa("127.0.0.1")]).unwrap(),
        [sa("127.0.0.1")]
    );
}
