//! The client's address for throttling: the peer's, or, when the peer is a reverse proxy the
//! operator trusts (`KAPU_TRUSTED_PROXIES`), the nearest address in `X-Forwarded-For` that is
//! not one of those proxies. Without trusted proxies the header is ignored, so a client
//! cannot choose its own address and escape the per-network backoff.

use std::net::IpAddr;

use axum::http::HeaderValue;
use ipnet::IpNet;

/// A trusted-proxy entry that is not an IP address or range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or range (e.g. 10.0.0.0/8 or 127.0.0.1)")]
pub struct BadProxy(pub String);

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A settings value such as `10.0.0.0/8, 127.0.0.1, ::1` (addresses or ranges,
    /// comma-separated); empty: no proxy is trusted.
    pub fn parse(setting: &str) -> Result<Self, BadProxy> {
        let mut nets = Vec::new();
        for entry in setting.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net =
                entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)).map_err(|_| BadProxy(entry.to_owned()))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    /// Whether any proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`: walks `X-Forwarded-For` (all its headers, in order) from
    /// the right while the address at hand is a trusted proxy. An entry that is not a plain
    /// IP address ends the walk at the last address that was.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a HeaderValue>) -> IpAddr {
        let mut current = canonical(peer);
        if !self.trusts(current) {
            return current;
        }
        let chain: Vec<String> = forwarded_for
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        for entry in chain.iter().rev() {
            let Ok(ip) = entry.parse::<IpAddr>() else { return current };
            current = canonical(ip);
            if !self.trusts(current) {
                return current;
            }
        }
        current
    }
}

/// IPv4 addresses mapped into IPv6 (a dual-stack listener's view) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> Vec<HeaderValue> {
        values.iter().map(|v| HeaderValue::from_str(v).unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let p = TrustedProxies::default();
        assert_eq!(p.client(ip("203.0.113.7"), xff(&["198.51.100.1"]).iter()), ip("203.0.113.7"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_address_counts() {
        let p = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        // The client sent its own (forged) header; the proxy appended the real address.
        let h = xff(&["1.2.3.4, 198.51.100.9", "10.1.2.3"]);
        assert_eq!(p.client(ip("127.0.0.1"), h.iter()), ip("198.51.100.9"));
        // A peer that is not a trusted proxy is the client, whatever it claims.
        assert_eq!(p.client(ip("203.0.113.5"), h.iter()), ip("203.0.113.5"));
        // All trusted: the leftmost.
        assert_eq!(p.client(ip("127.0.0.1"), xff(&["10.0.0.2, 10.0.0.3"]).iter()), ip("10.0.0.2"));
        // No header: the proxy itself.
        assert_eq!(p.client(ip("127.0.0.1"), xff(&[]).iter()), ip("127.0.0.1"));
    }

    #[test]
    fn garbage_ends_the_walk_and_mapped_addresses_count_as_ipv4() {
        let p = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(p.client(ip("127.0.0.1"), xff(&["198.51.100.1, unknown"]).iter()), ip("127.0.0.1"));
        assert_eq!(p.client(ip("::ffff:127.0.0.1"), xff(&["198.51.100.1"]).iter()), ip("198.51.100.1"));
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(TrustedProxies::parse(" ").unwrap(), TrustedProxies::default());
        assert!(TrustedProxies::parse("::1, fd00::/8, 192.168.0.0/16").is_ok());
        for bad in ["10.0.0.0/33", "proxy.example.hu", "10.0.0.1:80"] {
            assert_eq!(TrustedProxies::parse(&format!("127.0.0.1, {bad}")), Err(BadProxy(bad.to_owned())), "{bad}");
        }
    }
}
