//! Local simulators of the external systems Kapu talks to, speaking their real wire protocols.
//!
//! Each simulator is a module with a `start` function that binds its listeners on 127.0.0.1
//! (port 0 picks a free port), spawns its servers on the current tokio runtime and returns a
//! handle. The handle gives tests direct access to what the simulator saw and lets them steer
//! it; every simulator also serves the same controls over a small HTTP API, so a demo or an
//! out-of-process test can use it from the `kapu-sim` binary.
//!
//! **Architecture Invariant:** simulators are real network servers. Tests talk to them over
//! TCP exactly as production code talks to the real systems; nothing here is a mock.
//!
//! Simulators:
//! - [`smtp`]: an SMTP server (RFC 5321) that keeps received mail in memory.
//! - [`registry`]: the central personal data and address registry's (SZL) identity check, a
//!   JSON API over HTTP (see `REGISTRY-PROTOCOL.md`).
//! - [`kau`]: the national login (KAÜ), a SAML 2.0 identity provider with a login page of
//!   test persons (see `KAU-PROFILE.md`).
//! - [`tsa`]: a time-stamping authority, RFC 3161 over HTTP (see `TSA-PROTOCOL.md`).
//! - [`dns`]: a DNS server (UDP) answering A, AAAA and MX records from a zone the test sets.
//! - The municipalities' local systems, each with the protocol in `plugins/<name>/PROTOCOL.md`
//!   and the shared request record and outage switch of [`vendor`]: [`citynform`] (parking
//!   permits, REST/JSON), [`dmsone`] (records management, SOAP 1.1), [`forras`] (finance,
//!   JSON with decimal-string money) and [`qfusion`] (queue system, REST/JSON and an event feed).

use std::fmt;
use std::net::SocketAddr;

pub mod citynform;
pub mod dmsone;
pub mod dns;
pub mod forras;
pub mod kau;
pub mod qfusion;
pub mod registry;
pub mod smtp;
pub mod tsa;
pub mod vendor;

/// One address a simulator listens on, as printed by `kapu-sim all`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The simulator, e.g. `smtp`.
    pub simulator: &'static str,
    /// What is spoken there, e.g. `smtp` or `http`.
    pub protocol: &'static str,
    /// The bound address.
    pub addr: SocketAddr,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<8} {}://{}", self.simulator, self.protocol, self.addr)
    }
}
