//! The client network a request comes from: what one party is likely to control.

use std::fmt;
use std::net::IpAddr;

/// An IPv4 /24, an IPv6 /64, or unknown (no address, e.g. a test without a socket).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Network(String);

impl Network {
    /// The network of a client address; IPv4-mapped IPv6 addresses count as IPv4.
    pub fn of(ip: Option<IpAddr>) -> Self {
        let ip = ip.map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        });
        Network(match ip {
            Some(IpAddr::V4(a)) => {
                let [a, b, c, _] = a.octets();
                format!("{a}.{b}.{c}.0/24")
            }
            Some(IpAddr::V6(a)) => {
                let s = a.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            None => "unknown".into(),
        })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> String {
        Network::of(Some(s.parse().unwrap())).to_string()
    }

    #[test]
    fn addresses_group_into_their_networks() {
        assert_eq!(net("192.0.2.17"), "192.0.2.0/24");
        assert_eq!(net("192.0.2.200"), net("192.0.2.1"));
        assert_ne!(net("192.0.3.1"), net("192.0.2.1"));
        assert_eq!(net("127.0.0.1"), net("127.0.0.2"), "loopback addresses of one /24 are one network");
        assert_ne!(net("127.0.0.1"), net("127.0.1.1"));
        assert_eq!(net("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(net("2001:db8:1:2:ffff::9"), net("2001:db8:1:2::1"));
        assert_ne!(net("2001:db8:1:3::1"), net("2001:db8:1:2::1"));
        assert_eq!(net("::ffff:192.0.2.9"), "192.0.2.0/24", "IPv4-mapped counts as IPv4");
        assert_eq!(Network::of(None).to_string(), "unknown");
    }
}
