//! The demo's local systems: the simulators of Citynform, DMS One, Forrás and Q-Fusion beside
//! the registry simulator, and the five plugins installed and configured for the demo tenant.

use std::path::Path;

use anyhow::{Context, Result};
use kapu_core::{Db, Tenant};
use kapu_crypto::Crypto;
use kapu_plugins::{Runtime, installation};
use kapu_sim::{citynform, dmsone, forras, qfusion};

/// The running vendor simulators.
pub struct Vendors {
    citynform: citynform::CitynformSim,
    dmsone: dmsone::DmsOneSim,
    forras: forras::ForrasSim,
    qfusion: qfusion::QFusionSim,
}

impl Vendors {
    /// Starts the simulators on `first_port` and the next three (0: free ports).
    pub async fn start(first_port: u16) -> Result<Self> {
        let port = |i: u16| if first_port == 0 { 0 } else { first_port + i };
        Ok(Self {
            citynform: citynform::start(port(0), citynform::DEFAULT_API_KEY).await.context("starting the Citynform simulator")?,
            dmsone: dmsone::start(port(1), dmsone::DEFAULT_USERNAME, dmsone::DEFAULT_PASSWORD)
                .await
                .context("starting the DMS One simulator")?,
            forras: forras::start(port(2), forras::DEFAULT_USER, forras::DEFAULT_PASSWORD)
                .await
                .context("starting the Forrás simulator")?,
            qfusion: qfusion::start(port(3), qfusion::DEFAULT_SITE, qfusion::DEFAULT_TOKEN)
                .await
                .context("starting the Q-Fusion simulator")?,
        })
    }

    /// Builds the plugins in `plugins_dir` (cargo, wasm32-wasip2; quick when up to date) and
    /// installs and configures each for `tenant`, pointed at the simulators. The registry plugin
    /// talks to the SZL simulator at `registry_url`.
    pub async fn install(
        &self,
        db: &Db,
        crypto: &Crypto,
        runtime: &Runtime,
        tenant: &Tenant,
        plugins_dir: &Path,
        registry_url: &str,
    ) -> Result<()> {
        let dir = plugins_dir.to_owned();
        let components = tokio::task::spawn_blocking(move || kapu_plugins::harness::build_components(dir)).await??;
        let plugins: [(&str, Vec<(&str, String)>); 5] = [
            ("registry", vec![("base-url", registry_url.to_owned()), ("api-key", kapu_sim::registry::DEFAULT_API_KEY.to_owned())]),
            ("citynform", vec![("base-url", self.citynform.url()), ("api-key", citynform::DEFAULT_API_KEY.to_owned())]),
            (
                "dmsone",
                vec![
                    ("base-url", self.dmsone.url()),
                    ("username", dmsone::DEFAULT_USERNAME.to_owned()),
                    ("password", dmsone::DEFAULT_PASSWORD.to_owned()),
                ],
            ),
            (
                "forras",
                vec![
                    ("base-url", self.forras.url()),
                    ("user", forras::DEFAULT_USER.to_owned()),
                    ("password", forras::DEFAULT_PASSWORD.to_owned()),
                ],
            ),
            (
                "qfusion",
                vec![
                    ("base-url", self.qfusion.url()),
                    ("site", qfusion::DEFAULT_SITE.to_owned()),
                    ("token", qfusion::DEFAULT_TOKEN.to_owned()),
                ],
            ),
        ];
        let now = chrono::Utc::now();
        let mut tx = db.tenant_tx(tenant).await?;
        let ring = crypto.keyring(tx.conn(), tenant.slug.as_str()).await?;
        for (name, values) in plugins {
            let manifest =
                std::fs::read_to_string(plugins_dir.join(name).join("plugin.toml")).with_context(|| format!("the manifest of {name}"))?;
            let component = std::fs::read(components.join(format!("{name}.wasm"))).with_context(|| format!("the component of {name}"))?;
            installation::install(&mut tx, runtime, &manifest, &component, None, now).await?;
            let values = values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            installation::configure(&mut tx, &ring, name, values, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The simulators' URLs.
    pub fn urls(&self) -> [String; 4] {
        [self.citynform.url(), self.dmsone.url(), self.forras.url(), self.qfusion.url()]
    }

    /// Prints where the simulators listen.
    pub fn print(&self) {
        println!("  Citynform (parking) simulator:  {}   plugin citynform", self.citynform.url());
        println!("  DMS One (records) simulator:    {}/dmsone/services/IktatoService?wsdl   plugin dmsone", self.dmsone.url());
        println!("  Forrás (finance) simulator:     {}   plugin forras", self.forras.url());
        println!("  Q-Fusion (queue) simulator:     {}   plugin qfusion", self.qfusion.url());
    }

    /// Stops the simulators.
    pub async fn shutdown(self) {
        self.citynform.shutdown().await;
        self.dmsone.shutdown().await;
        self.forras.shutdown().await;
        self.qfusion.shutdown().await;
    }
}
