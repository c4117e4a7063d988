//! The operator's network policy for plugins: which addresses a plugin's outbound HTTP may
//! reach after its host name is resolved.
//!
//! A manifest names the hosts a plugin may ask for; this policy decides where the platform
//! actually connects. Every address a name resolves to is classified: loopback, unspecified,
//! link-local (with the cloud metadata address 169.254.169.254), private, shared (CGNAT),
//! unique-local, multicast, broadcast and reserved addresses, their IPv4-mapped and NAT64
//! forms, and the platform's own listeners are refused unless the operator allows the host,
//! address or range (and port) explicitly.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// Why an address is not reached without the operator's explicit allowance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restricted {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 169.254.0.0/16 (with the metadata address 169.254.169.254), fe80::/10.
    LinkLocal,
    /// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
    Private,
    /// 100.64.0.0/10 (carrier-grade NAT).
    SharedAddressSpace,
    /// fc00::/7.
    UniqueLocal,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 0.0.0.0/8, 192.0.0.0/24, 198.18.0.0/15, 240.0.0.0/4, fec0::/10 and the documentation
    /// ranges: not addresses of a system a plugin talks to.
    Reserved,
    /// An address and port the platform itself listens on.
    OwnListener,
}

impl Restricted {
    /// How the class reads in an error, e.g. `a loopback address`.
    pub fn describe(self) -> &'static str {
        match self {
            Restricted::Loopback => "a loopback address",
            Restricted::Unspecified => "the unspecified address",
            Restricted::LinkLocal => "a link-local address (such as the cloud metadata service)",
            Restricted::Private => "a private address",
            Restricted::SharedAddressSpace => "a carrier-grade NAT address",
            Restricted::UniqueLocal => "a unique-local address",
            Restricted::Multicast => "a multicast address",
            Restricted::Broadcast => "the broadcast address",
            Restricted::Reserved => "a reserved address",
            Restricted::OwnListener => "one of the platform's own listeners",
        }
    }
}

/// The class of `ip` if it is one a plugin must not reach by default; `None` for a public
/// address. IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible and NAT64 (`64:ff9b::/96`)
/// addresses are judged by the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> Option<Restricted> {
    match canonical(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// `ip` with an IPv4 address carried in IPv6 taken out.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            // IPv4-compatible ::a.b.c.d (deprecated, but some stacks still route it), except
            // :: and ::1 themselves.
            if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
                return IpAddr::V4(embedded_v4(v6));
            }
            // NAT64 well-known prefix 64:ff9b::/96.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return IpAddr::V4(embedded_v4(v6));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Ipv4Addr {
    let o = v6.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

fn classify_v4(ip: Ipv4Addr) -> Option<Restricted> {
    let o = ip.octets();
    Some(if ip.is_loopback() {
        Restricted::Loopback
    } else if ip.is_unspecified() {
        Restricted::Unspecified
    } else if ip.is_link_local() {
        Restricted::LinkLocal
    } else if ip.is_private() {
        Restricted::Private
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Restricted::SharedAddressSpace
    } else if ip.is_broadcast() {
        Restricted::Broadcast
    } else if ip.is_multicast() {
        Restricted::Multicast
    } else if o[0] == 0 || o[0] >= 240 || (o[0], o[1], o[2]) == (192, 0, 0) || (o[0] == 198 && (o[1] & 0xfe) == 18) || ip.is_documentation()
    {
        Restricted::Reserved
    } else {
        return None;
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Restricted> {
    let s = ip.segments();
    Some(if ip.is_loopback() {
        Restricted::Loopback
    } else if ip.is_unspecified() {
        Restricted::Unspecified
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Restricted::LinkLocal
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Restricted::UniqueLocal
    } else if ip.is_multicast() {
        Restricted::Multicast
    } else if (s[0] & 0xffc0) == 0xfec0 || (s[0], s[1]) == (0x2001, 0x0db8) {
        Restricted::Reserved
    } else {
        return None;
    })
}

/// What one entry of the operator's allow-list names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowTarget {
    /// A host name, exactly (lower case, no trailing dot): whatever it resolves to.
    Name(String),
    /// An address or a range of addresses.
    Net(IpNet),
}

/// One entry of the operator's allow-list: a host name, address or range, on one port or any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// The host, address or range.
    pub target: AllowTarget,
    /// The port, or any port.
    pub port: Option<u16>,
}

impl Allowance {
    /// Parses `name`, `name:port`, `address`, `address:port`, `[v6-address]:port`,
    /// `range` (CIDR, e.g. `10.1.2.0/24`) or `range:port` (IPv4 ranges only).
    pub fn parse(s: &str) -> Result<Self, PolicyError> {
        let s = s.trim();
        let bad = || PolicyError::Allowance(s.to_owned());
        if s.is_empty() {
            return Err(bad());
        }
        let net = |t: &str| -> Option<IpNet> {
            if let Ok(n) = t.parse::<IpNet>() {
                return Some(n.trunc());
            }
            t.parse::<IpAddr>().ok().map(IpNet::from)
        };
        if let Some(n) = net(s) {
            return Ok(Self { target: AllowTarget::Net(n), port: None });
        }
        if let Some(rest) = s.strip_prefix('[') {
            let (addr, port) = rest.split_once("]:").ok_or_else(bad)?;
            let n = net(addr).ok_or_else(bad)?;
            return Ok(Self { target: AllowTarget::Net(n), port: Some(port.parse().map_err(|_| bad())?) });
        }
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().map_err(|_| bad())?)),
            None => (s, None),
        };
        if let Some(n) = net(host) {
            return Ok(Self { target: AllowTarget::Net(n), port });
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let ok = !name.is_empty() && name.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !ok {
            return Err(bad());
        }
        Ok(Self { target: AllowTarget::Name(name), port })
    }

    fn port_ok(&self, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
    }

    /// Whether this entry lets a request for `host` on `port` reach `ip`.
    fn covers(&self, host: &str, port: u16, ip: IpAddr) -> bool {
        self.port_ok(port)
            && match &self.target {
                AllowTarget::Name(n) => n == host,
                AllowTarget::Net(net) => net.contains(&canonical(ip)) || net.contains(&ip),
            }
    }
}

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match &self.target {
            AllowTarget::Name(n) => n.clone(),
            AllowTarget::Net(n) if n.prefix_len() == n.max_prefix_len() => n.addr().to_string(),
            AllowTarget::Net(n) => n.to_string(),
        };
        match (self.port, &self.target) {
            (None, _) => f.write_str(&target),
            (Some(p), AllowTarget::Net(IpNet::V6(_))) => write!(f, "[{target}]:{p}"),
            (Some(p), _) => write!(f, "{target}:{p}"),
        }
    }
}

/// A refused destination: the address and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The address the host resolved to.
    pub address: IpAddr,
    /// Its class.
    pub class: Restricted,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.address, self.class.describe())
    }
}

/// A network policy setting that does not parse; the message names the variable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// An allow-list entry that is not a host, address or range (optionally with a port).
    #[error("{ALLOW_ENV}: {0:?} is not a host, address or range (optionally with :port)")]
    Allowance(String),
    /// A name server that is not an address or `address:port`.
    #[error("{DNS_ENV}: {0:?} is not an address or address:port")]
    NameServer(String),
}

/// The deployment's network policy for plugins (`KAPU_PLUGIN_ALLOW`, `KAPU_PLUGIN_DNS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    allow: Vec<Allowance>,
    name_servers: Vec<SocketAddr>,
}

/// The operator's allow-list: a comma-separated list of [`Allowance`]s.
pub const ALLOW_ENV: &str = "KAPU_PLUGIN_ALLOW";
/// The name servers plugins' host names are resolved with (`address:port`, comma-separated);
/// the system's (`/etc/resolv.conf`) when unset.
pub const DNS_ENV: &str = "KAPU_PLUGIN_DNS";

impl NetworkPolicy {
    /// The strict policy: public addresses only, names resolved by the system's name servers.
    pub fn strict() -> Self {
        Self::default()
    }

    /// The policy from `KAPU_PLUGIN_ALLOW` and `KAPU_PLUGIN_DNS`.
    pub fn from_env() -> Result<Self, PolicyError> {
        let mut p = Self::strict();
        if let Ok(list) = std::env::var(ALLOW_ENV) {
            p = p.allowing_list(&list)?;
        }
        if let Ok(list) = std::env::var(DNS_ENV) {
            for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let addr = s
                    .parse::<SocketAddr>()
                    .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| PolicyError::NameServer(s.to_owned()))?;
                p.name_servers.push(addr);
            }
        }
        Ok(p)
    }

    /// This policy with one more allowance (see [`Allowance::parse`]).
    pub fn allowing(mut self, entry: &str) -> Result<Self, PolicyError> {
        self.allow.push(Allowance::parse(entry)?);
        Ok(self)
    }

    /// This policy with a comma-separated list of allowances.
    pub fn allowing_list(mut self, list: &str) -> Result<Self, PolicyError> {
        for e in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            self = self.allowing(e)?;
        }
        Ok(self)
    }

    /// This policy resolving names with these name servers instead of the system's.
    pub fn with_name_servers(mut self, servers: Vec<SocketAddr>) -> Self {
        self.name_servers = servers;
        self
    }

    /// The operator's allowances.
    pub fn allowances(&self) -> &[Allowance] {
        &self.allow
    }

    /// The configured name servers (empty: the system's).
    pub fn name_servers(&self) -> &[SocketAddr] {
        &self.name_servers
    }

    /// Whether a request for `host` on `port` may connect to `ip`, given the platform's own
    /// listeners. A public address passes; a restricted one only with an allowance that
    /// covers it; one of the platform's own listeners (for a listener on the unspecified
    /// address: any restricted address on its port) only with an allowance that names its
    /// port.
    pub fn check(&self, host: &str, port: u16, ip: IpAddr, own: &[SocketAddr]) -> Result<(), Refusal> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let canon = canonical(ip);
        // A listener on the unspecified address answers on every local address; which public
        // addresses are this machine's is not known here, so it covers the restricted ones.
        let own_listener =
            own.iter().any(|l| l.port() == port && (canonical(l.ip()) == canon || (l.ip().is_unspecified() && classify(ip).is_some())));
        if own_listener {
            if self.allow.iter().any(|a| a.port == Some(port) && a.covers(&host, port, ip)) {
                return Ok(());
            }
            return Err(Refusal { address: ip, class: Restricted::OwnListener });
        }
        match classify(ip) {
            None => Ok(()),
            Some(_) if self.allow.iter().any(|a| a.covers(&host, port, ip)) => Ok(()),
            Some(class) => Err(Refusal { address: ip, class }),
        }
    }

    /// Whether a manifest may list `host` (an entry of `allowed-hosts`, without port or
    /// wildcard prefix). IP addresses (in any numeric form) and `localhost` names are
    /// refused unless the operator allows that address (on any port) or that name.
    pub fn manifest_host_problem(&self, host: &str, wildcard: bool) -> Option<String> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let numeric = host.rsplit('.').next().is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()));
        let local = host == "localhost" || host.ends_with(".localhost");
        if !numeric && !local {
            return None;
        }
        let shown = if wildcard { format!("*.{host}") } else { host.clone() };
        if numeric {
            let allowed = host.parse::<IpAddr>().is_ok_and(|ip| {
                self.allow.iter().any(|a| match &a.target {
                    AllowTarget::Net(n) => n.contains(&ip),
                    AllowTarget::Name(_) => false,
                })
            });
            return (!allowed).then(|| {
                format!("allowed-hosts: {shown} is an IP address, which the operator's network policy ({ALLOW_ENV}) does not allow")
            });
        }
        let allowed = self.allow.iter().any(|a| match &a.target {
            AllowTarget::Name(n) => *n == host || (wildcard && n.ends_with(&format!(".{host}"))),
            AllowTarget::Net(_) => false,
        });
        (!allowed)
            .then(|| format!("allowed-hosts: {shown} names this machine, which the operator's network policy ({ALLOW_ENV}) does not allow"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn classifies_the_ranges_a_plugin_must_not_reach() {
        let cases = [
            ("127.0.0.1", Some(Restricted::Loopback)),
            ("127.8.9.10", Some(Restricted::Loopback)),
            ("::1", Some(Restricted::Loopback)),
            ("0.0.0.0", Some(Restricted::Unspecified)),
            ("::", Some(Restricted::Unspecified)),
            ("169.254.169.254", Some(Restricted::LinkLocal)),
            ("fe80::1", Some(Restricted::LinkLocal)),
            ("10.1.2.3", Some(Restricted::Private)),
            ("172.16.0.1", Some(Restricted::Private)),
            ("172.31.255.255", Some(Restricted::Private)),
            ("192.168.1.1", Some(Restricted::Private)),
            ("100.64.0.1", Some(Restricted::SharedAddressSpace)),
            ("100.127.255.254", Some(Restricted::SharedAddressSpace)),
            ("fc00::1", Some(Restricted::UniqueLocal)),
            ("fd12:3456::1", Some(Restricted::UniqueLocal)),
            ("224.0.0.1", Some(Restricted::Multicast)),
            ("ff02::1", Some(Restricted::Multicast)),
            ("255.255.255.255", Some(Restricted::Broadcast)),
            ("0.1.2.3", Some(Restricted::Reserved)),
            ("240.0.0.1", Some(Restricted::Reserved)),
            ("198.18.0.1", Some(Restricted::Reserved)),
            ("2001:db8::1", Some(Restricted::Reserved)),
            // IPv4 carried in IPv6 is judged by the IPv4 address.
            ("::ffff:127.0.0.1", Some(Restricted::Loopback)),
            ("::ffff:169.254.169.254", Some(Restricted::LinkLocal)),
            ("::ffff:10.0.0.1", Some(Restricted::Private)),
            ("::127.0.0.1", Some(Restricted::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(Restricted::LinkLocal)),
            // Public addresses, including the neighbours of the ranges.
            ("93.184.216.34", None),
            ("172.32.0.1", None),
            ("172.15.255.255", None),
            ("100.63.255.255", None),
            ("100.128.0.1", None),
            ("169.253.1.1", None),
            ("11.0.0.1", None),
            ("2a00:1450:4001::1", None),
            ("::ffff:93.184.216.34", None),
        ];
        for (addr, expected) in cases {
            assert_eq!(classify(ip(addr)), expected, "{addr}");
        }
    }

    #[test]
    fn parses_the_operators_allow_list() {
        let p = NetworkPolicy::strict()
            .allowing_list("127.0.0.1:8041, 10.1.2.0/24,registry.local,[::1]:8443, fd00::/8, 192.168.5.0/24:443, Reg.Example.:80")
            .expect("list");
        let shown: Vec<String> = p.allowances().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["127.0.0.1:8041", "10.1.2.0/24", "registry.local", "[::1]:8443", "fd00::/8", "192.168.5.0/24:443", "reg.example:80"]
        );
        for bad in ["", "a b", "127.0.0.1:x", "[::1]", "10.0.0.0/33", "host:99999"] {
            assert_eq!(Allowance::parse(bad), Err(PolicyError::Allowance(bad.to_owned())), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_restricted_address_passes_only_with_an_allowance_that_covers_it() {
        let p = NetworkPolicy::strict().allowing_list("127.0.0.1:8041,10.1.2.0/24,registry.local").expect("list");
        let own: Vec<SocketAddr> = vec![];
        assert!(p.check("x.example", 8041, ip("127.0.0.1"), &own).is_ok());
        assert!(p.check("x.example", 8041, ip("::ffff:127.0.0.1"), &own).is_ok(), "the mapped form is the same address");
        let e = p.check("x.example", 8042, ip("127.0.0.1"), &own).expect_err("other port");
        assert_eq!(e.to_string(), "127.0.0.1 is a loopback address");
        assert!(p.check("x.example", 443, ip("10.1.2.200"), &own).is_ok());
        assert_eq!(p.check("x.example", 443, ip("10.1.3.1"), &own).expect_err("outside").class, Restricted::Private);
        assert!(p.check("Registry.Local.", 8080, ip("192.168.7.7"), &own).is_ok(), "allowed by name");
        assert!(p.check("other.local", 8080, ip("192.168.7.7"), &own).is_err());
        let e = p.check("x.example", 80, ip("169.254.169.254"), &own).expect_err("metadata");
        assert_eq!(e.class, Restricted::LinkLocal);
        assert!(p.check("x.example", 443, ip("93.184.216.34"), &own).is_ok(), "public");
        assert!(NetworkPolicy::strict().check("localhost", 8041, ip("127.0.0.1"), &own).is_err(), "strict");
    }

    #[test]
    fn the_platforms_own_listener_needs_an_allowance_naming_its_port() {
        let own: Vec<SocketAddr> = vec!["127.0.0.1:8080".parse().expect("addr"), "0.0.0.0:9090".parse().expect("addr")];
        let wide = NetworkPolicy::strict().allowing("127.0.0.0/8").expect("entry");
        assert!(wide.check("x", 8041, ip("127.0.0.1"), &own).is_ok());
        assert_eq!(wide.check("x", 8080, ip("127.0.0.1"), &own).expect_err("own").class, Restricted::OwnListener);
        assert_eq!(wide.check("x", 9090, ip("127.0.0.2"), &own).expect_err("own, any address").class, Restricted::OwnListener);
        assert!(wide.check("x", 9090, ip("93.184.216.34"), &own).is_ok(), "a public host on the same port is another machine");
        let exact = NetworkPolicy::strict().allowing("127.0.0.1:8080").expect("entry");
        assert!(exact.check("x", 8080, ip("127.0.0.1"), &own).is_ok());
    }

    #[test]
    fn ip_literals_and_localhost_in_a_manifest_need_the_operator() {
        let strict = NetworkPolicy::strict();
        for (host, wildcard) in [
            ("127.0.0.1", false),
            ("169.254.169.254", false),
            ("2130706433", false),
            ("localhost", false),
            ("localhost", true),
            ("app.localhost", false),
        ] {
            assert!(strict.manifest_host_problem(host, wildcard).is_some(), "{host}");
        }
        assert_eq!(
            strict.manifest_host_problem("127.0.0.1", false).expect("problem"),
            "allowed-hosts: 127.0.0.1 is an IP address, which the operator's network policy (KAPU_PLUGIN_ALLOW) does not allow"
        );
        assert!(strict.manifest_host_problem("szl.gov.hu", false).is_none());
        assert!(strict.manifest_host_problem("gov.hu", true).is_none());
        let demo = NetworkPolicy::strict().allowing_list("127.0.0.1:8031,localhost").expect("list");
        assert!(demo.manifest_host_problem("127.0.0.1", false).is_none());
        assert!(demo.manifest_host_problem("localhost", false).is_none());
        assert!(demo.manifest_host_problem("127.0.0.2", false).is_some());
        assert!(demo.manifest_host_problem("2130706433", false).is_some(), "a numeric name is not the allowed address");
        assert!(demo.manifest_host_problem("app.localhost", false).is_some());
    }
}
