//! A DNS server (RFC 1035, over UDP) that answers from a zone set at start or through its
//! handle: A, AAAA and MX records, NXDOMAIN for names it does not know. Tests point a resolver
//! at it to make a name resolve to an address of their choosing (for example a name that
//! resolves to loopback), over the real protocol.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, MX};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Endpoint;

/// The simulator's default port.
pub const DEFAULT_PORT: u16 = 8053;

/// The time to live of every answer, in seconds.
const TTL: u32 = 5;

/// One name's records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Its addresses (A and AAAA records).
    pub addresses: Vec<IpAddr>,
    /// Its mail exchangers: preference and host name.
    pub mx: Vec<(u16, String)>,
}

type Zone = Arc<Mutex<HashMap<String, Entry>>>;

/// A running DNS simulator.
pub struct DnsSim {
    /// Where it listens (UDP).
    pub addr: SocketAddr,
    zone: Zone,
    queries: Arc<Mutex<Vec<(String, String)>>>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Binds 127.0.0.1:`port` (UDP; 0 = a free port) and answers from `zone`.
pub async fn start(port: u16, zone: HashMap<String, Entry>) -> io::Result<DnsSim> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = socket.local_addr()?;
    let zone: Zone = Arc::new(Mutex::new(zone.into_iter().map(|(k, v)| (key(&k), v)).collect()));
    let queries = Arc::new(Mutex::new(Vec::new()));
    let (shutdown, mut stop) = watch::channel(false);
    let (z, q) = (zone.clone(), queries.clone());
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, from) = tokio::select! {
                r = socket.recv_from(&mut buf) => match r {
                    Ok(r) => r,
                    Err(error) => {
                        tracing::warn!(%error, "the DNS simulator could not read a datagram");
                        continue;
                    }
                },
                _ = stop.wait_for(|s| *s) => break,
            };
            let Some(answer) = answer(&buf[..n], &z, &q) else { continue };
            if let Err(error) = socket.send_to(&answer, from).await {
                tracing::warn!(%error, "the DNS simulator could not answer");
            }
        }
    });
    tracing::info!(%addr, "DNS simulator listening (UDP)");
    Ok(DnsSim { addr, zone, queries, shutdown, task: Some(task) })
}

fn answer(datagram: &[u8], zone: &Zone, queries: &Mutex<Vec<(String, String)>>) -> Option<Vec<u8>> {
    let query = Message::from_vec(datagram).ok()?;
    if query.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(query.id, query.op_code);
    response.metadata.recursion_desired = query.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.authoritative = true;
    if query.op_code != OpCode::Query || query.queries.len() != 1 {
        response.metadata.response_code = ResponseCode::NotImp;
        return response.to_vec().ok();
    }
    let q = query.queries[0].clone();
    let (name, kind) = (q.name().clone(), q.query_type());
    queries.lock().unwrap_or_else(|p| p.into_inner()).push((key(&name.to_ascii()), kind.to_string()));
    response.add_query(q);
    let entry = zone.lock().unwrap_or_else(|p| p.into_inner()).get(&key(&name.to_ascii())).cloned();
    let Some(entry) = entry else {
        response.metadata.response_code = ResponseCode::NXDomain;
        return response.to_vec().ok();
    };
    for ip in &entry.addresses {
        let rdata = match (ip, kind) {
            (IpAddr::V4(v4), RecordType::A) => RData::A(A(*v4)),
            (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(*v6)),
            _ => continue,
        };
        response.add_answer(Record::from_rdata(name.clone(), TTL, rdata));
    }
    if kind == RecordType::MX {
        for (preference, exchange) in &entry.mx {
            let Ok(exchange) = Name::from_ascii(exchange) else { continue };
            response.add_answer(Record::from_rdata(name.clone(), TTL, RData::MX(MX::new(*preference, exchange))));
        }
    }
    response.to_vec().ok()
}

impl DnsSim {
    /// Makes `name` resolve to `addresses` (replacing what it had).
    pub fn set_addresses(&self, name: &str, addresses: Vec<IpAddr>) {
        self.zone.lock().unwrap_or_else(|p| p.into_inner()).entry(key(name)).or_default().addresses = addresses;
    }

    /// Gives `name` these mail exchangers (replacing what it had).
    pub fn set_mx(&self, name: &str, mx: Vec<(u16, String)>) {
        self.zone.lock().unwrap_or_else(|p| p.into_inner()).entry(key(name)).or_default().mx = mx;
    }

    /// The questions received so far: name (lower case, no trailing dot) and record type.
    pub fn queries(&self) -> Vec<(String, String)> {
        self.queries.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        vec![Endpoint { simulator: "dns", protocol: "dns+udp", addr: self.addr }]
    }

    /// Stops answering and waits for the server.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DnsSim {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ask(server: SocketAddr, name: &str, kind: RecordType) -> Message {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let mut q = Message::query();
        q.metadata.id = 4242;
        q.add_query(hickory_proto::op::Query::query(Name::from_ascii(name).expect("name"), kind));
        socket.send_to(&q.to_vec().expect("encode"), server).await.expect("send");
        let mut buf = vec![0u8; 4096];
        let (n, _) =
            tokio::time::timeout(std::time::Duration::from_secs(5), socket.recv_from(&mut buf)).await.expect("in time").expect("recv");
        Message::from_vec(&buf[..n]).expect("decode")
    }

    #[tokio::test]
    async fn answers_a_aaaa_and_mx_from_its_zone_and_nxdomain_otherwise() {
        let zone = HashMap::from([(
            "Sneaky.Test.".to_owned(),
            Entry {
                addresses: vec!["127.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")],
                mx: vec![(10, "mx.sneaky.test".into())],
            },
        )]);
        let sim = start(0, zone).await.expect("start");
        let a = ask(sim.addr, "sneaky.test.", RecordType::A).await;
        assert_eq!((a.id, a.response_code), (4242, ResponseCode::NoError));
        let ips: Vec<String> = a.answers.iter().filter_map(|r| r.data.ip_addr()).map(|ip| ip.to_string()).collect();
        assert_eq!(ips, ["127.0.0.1"]);
        let aaaa = ask(sim.addr, "sneaky.test.", RecordType::AAAA).await;
        let ips: Vec<String> = aaaa.answers.iter().filter_map(|r| r.data.ip_addr()).map(|ip| ip.to_string()).collect();
        assert_eq!(ips, ["::1"]);
        sim.set_mx("sneaky.test", vec![(5, "mail.sneaky.test".into())]);
        let mx = ask(sim.addr, "sneaky.test.", RecordType::MX).await;
        match &mx.answers[0].data {
            RData::MX(m) => assert_eq!((m.preference, m.exchange.to_ascii().as_str()), (5, "mail.sneaky.test.")),
            other => panic!("not MX: {other:?}"),
        }
        let none = ask(sim.addr, "nobody.test.", RecordType::A).await;
        assert_eq!(none.response_code, ResponseCode::NXDomain);
        assert_eq!(sim.queries().len(), 4);
        sim.shutdown().await;
    }
}
