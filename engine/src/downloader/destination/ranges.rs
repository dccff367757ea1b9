//! Address ranges: CIDR blocks, and the special-purpose ranges a restricted
//! [`DestinationPolicy`](super::DestinationPolicy) refuses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A block of IPv4 or IPv6 addresses in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a
/// bare address is a block of one (`/32` or `/128`). Host bits are cleared:
/// `10.1.2.3/8` is `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// A CIDR block that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR range {input:?}: {reason}")]
pub struct CidrError {
    input: String,
    reason: &'static str,
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl Cidr {
    /// The block of `prefix` leading bits of `addr`; `None` when `prefix` is longer
    /// than the address (32 bits for IPv4, 128 for IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let network = match addr {
            IpAddr::V4(a) if prefix <= 32 => {
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_v4(prefix)))
            }
            IpAddr::V6(a) if prefix <= 128 => {
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_v6(prefix)))
            }
            _ => return None,
        };
        Some(Cidr { network, prefix })
    }

    /// The first address of the block.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The number of leading bits that every address of the block shares.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in the block. An IPv4 block never contains an IPv6 address and
    /// the reverse; the policy looks through IPv4-mapped and similar IPv6 forms itself.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask_v4(self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & mask_v6(self.prefix) == u128::from(n),
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| CidrError {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| err("not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix =
            match prefix {
                None => max,
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                    err("the prefix length is not a number within the address size")
                })?,
            };
        Cidr::new(addr, prefix).ok_or_else(|| err("the prefix is too long"))
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> String {
        c.to_string()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Why an address is not a public destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// Carrier-grade NAT, RFC 6598: `100.64.0.0/10`.
    SharedAddressSpace,
    /// IPv6 unique local addresses: `fc00::/7` (AWS's `fd00:ec2::254` among them).
    UniqueLocal,
    /// `169.254.0.0/16` (cloud metadata services), `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `0.0.0.0`, `::` (connecting to them reaches the local host).
    Unspecified,
    /// `255.255.255.255`.
    Broadcast,
    /// Other special-purpose blocks that are not globally reachable: `0.0.0.0/8`,
    /// `192.0.0.0/24`, the documentation and benchmarking blocks, `192.88.99.0/24`,
    /// `240.0.0.0/4`, `100::/64`, `64:ff9b:1::/48`, `2001:2::/48`, `2001:db8::/32`,
    /// `3fff::/20`, the deprecated site-local `fec0::/10`.
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::SharedAddressSpace => "shared (carrier-grade NAT)",
            AddressClass::UniqueLocal => "unique local",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Multicast => "multicast",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Reserved => "reserved",
        })
    }
}

/// How an IPv6 address carries an IPv4 address that is checked in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Mapped,
    /// `::ffff:0:a.b.c.d` (SIIT).
    Translated,
    /// `::a.b.c.d` (deprecated IPv4-compatible form).
    Compatible,
    /// `64:ff9b::a.b.c.d` (NAT64 well-known prefix).
    Nat64,
    /// `2002:aabb:ccdd::/48` (6to4).
    SixToFour,
}

impl fmt::Display for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Embedding::Mapped => "IPv4-mapped",
            Embedding::Translated => "IPv4-translated",
            Embedding::Compatible => "IPv4-compatible",
            Embedding::Nat64 => "NAT64",
            Embedding::SixToFour => "6to4",
        })
    }
}

use AddressClass::*;

/// IPv4 special-purpose blocks, most specific first.
const V4: &[(Ipv4Addr, u8, AddressClass)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 32, Unspecified),
    (Ipv4Addr::new(255, 255, 255, 255), 32, Broadcast),
    (Ipv4Addr::new(0, 0, 0, 0), 8, Reserved),
    (Ipv4Addr::new(10, 0, 0, 0), 8, Private),
    (Ipv4Addr::new(100, 64, 0, 0), 10, SharedAddressSpace),
    (Ipv4Addr::new(127, 0, 0, 0), 8, Loopback),
    (Ipv4Addr::new(169, 254, 0, 0), 16, LinkLocal),
    (Ipv4Addr::new(172, 16, 0, 0), 12, Private),
    (Ipv4Addr::new(192, 0, 0, 0), 24, Reserved),
    (Ipv4Addr::new(192, 0, 2, 0), 24, Reserved),
    (Ipv4Addr::new(192, 88, 99, 0), 24, Reserved),
    (Ipv4Addr::new(192, 168, 0, 0), 16, Private),
    (Ipv4Addr::new(198, 18, 0, 0), 15, Reserved),
    (Ipv4Addr::new(198, 51, 100, 0), 24, Reserved),
    (Ipv4Addr::new(203, 0, 113, 0), 24, Reserved),
    (Ipv4Addr::new(224, 0, 0, 0), 4, Multicast),
    (Ipv4Addr::new(240, 0, 0, 0), 4, Reserved),
];

/// IPv6 special-purpose blocks that do not embed an IPv4 address.
const V6: &[(Ipv6Addr, u8, AddressClass)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, Unspecified),
    (Ipv6Addr::LOCALHOST, 128, Loopback),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, Reserved),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, Reserved),
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48, Reserved),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, Reserved),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, Reserved),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, UniqueLocal),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, LinkLocal),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, Reserved),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, Multicast),
];

/// What an address is, for the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Classified {
    /// A public unicast address.
    Global,
    /// A special-purpose address.
    Special(AddressClass),
    /// An IPv6 form of this IPv4 address, which is checked instead.
    Embeds(Ipv4Addr, Embedding),
}

/// Classifies `ip` by the special-purpose tables.
pub(crate) fn classify(ip: IpAddr) -> Classified {
    match ip {
        IpAddr::V4(a) => V4
            .iter()
            .find(|(net, len, _)| in_v4(a, *net, *len))
            .map_or(Classified::Global, |(_, _, c)| Classified::Special(*c)),
        IpAddr::V6(a) => {
            // `::` and `::1` first: they also look like IPv4-compatible addresses.
            if let Some((_, _, c)) = V6[..2].iter().find(|(net, _, _)| *net == a) {
                return Classified::Special(*c);
            }
            if let Some((v4, how)) = embedded_ipv4(a) {
                return Classified::Embeds(v4, how);
            }
            V6.iter()
                .find(|(net, len, _)| in_v6(a, *net, *len))
                .map_or(Classified::Global, |(_, _, c)| Classified::Special(*c))
        }
    }
}

fn in_v4(a: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    u32::from(a) & mask_v4(len) == u32::from(net)
}

fn in_v6(a: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    u128::from(a) & mask_v6(len) == u128::from(net)
}

/// The IPv4 address an IPv6 address stands for, if it is one of the forms that reach
/// (or may reach) an IPv4 host.
fn embedded_ipv4(a: Ipv6Addr) -> Option<(Ipv4Addr, Embedding)> {
    let s = a.segments();
    let low = Ipv4Addr::from(u128::from(a) as u32);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some((low, Embedding::Mapped)),
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some((low, Embedding::Translated)),
        [0, 0, 0, 0, 0, 0, _, _] => Some((low, Embedding::Compatible)),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some((low, Embedding::Nat64)),
        [0x2002, hi, lo, ..] => Some((
            Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)),
            Embedding::SixToFour,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Classified {
        classify(s.parse().unwrap())
    }

    #[test]
    fn cidr_parses_normalises_and_matches() {
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains("10.255.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.prefix(), 32);
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: Cidr = "[fd00:ec2::]/32".parse().unwrap();
        assert!(v6.contains("fd00:ec2::254".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "example.com/8",
            "10.0.0.0/x",
            "",
        ] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.to_string().contains("invalid CIDR range"), "{e}");
        }
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"10.0.0.0/8\"");
        assert_eq!(serde_json::from_str::<Cidr>(&json).unwrap(), c);
        assert!(serde_json::from_str::<Cidr>("\"10.0.0.0/40\"").is_err());
    }

    #[test]
    fn special_ipv4_blocks() {
        for (ip, want) in [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("169.254.169.254", LinkLocal),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.0.192", Reserved),
            ("192.0.2.1", Reserved),
            ("198.18.0.1", Reserved),
        ] {
            assert_eq!(class(ip), Classified::Special(want), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "11.0.0.1",
            "93.184.216.34",
        ] {
            assert_eq!(class(ip), Classified::Global, "{ip}");
        }
    }

    #[test]
    fn special_ipv6_blocks_and_embedded_ipv4() {
        for (ip, want) in [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fc00::1", UniqueLocal),
            ("fd00:ec2::254", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("ff02::1", Multicast),
            ("fec0::1", Reserved),
            ("2001:db8::1", Reserved),
            ("64:ff9b:1::1", Reserved),
        ] {
            assert_eq!(class(ip), Classified::Special(want), "{ip}");
        }
        let lo = Ipv4Addr::new(127, 0, 0, 1);
        for (ip, how) in [
            ("::ffff:127.0.0.1", Embedding::Mapped),
            ("::ffff:0:127.0.0.1", Embedding::Translated),
            ("::127.0.0.1", Embedding::Compatible),
            ("64:ff9b::7f00:1", Embedding::Nat64),
            ("2002:7f00:1::", Embedding::SixToFour),
        ] {
            assert_eq!(class(ip), Classified::Embeds(lo, how), "{ip}");
        }
        for ip in ["2606:4700:4700::1111", "2a00:1450:4001:80b::200e"] {
            assert_eq!(class(ip), Classified::Global, "{ip}");
        }
    }
}
