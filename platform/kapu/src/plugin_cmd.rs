//! `kapu plugin install|list|configure|remove|errors`: a tenant's plugins from the command line
//! (the same functions as the admin API).

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use kapu_core::TenantSlug;
use kapu_plugins::installation;

use crate::settings::Settings;

/// The subcommands of `kapu plugin`.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCmd {
    /// Install or upgrade a plugin from its manifest and component.
    Install {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's manifest (plugin.toml).
        #[arg(long)]
        manifest: PathBuf,
        /// The plugin's component (.wasm, built for wasm32-wasip2).
        #[arg(long)]
        component: PathBuf,
        /// The component's SHA-256 (hex) as its vendor published it; a different file is refused.
        #[arg(long)]
        sha256: Option<String>,
    },
    /// List a tenant's plugins.
    List {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
    },
    /// Replace a plugin's configuration (checked against its schema).
    Configure {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Plugin name.
        name: String,
        /// A setting, `key=value` (repeatable).
        #[arg(long = "set")]
        set: Vec<String>,
        /// A setting read from an environment variable, `key=VARIABLE` (for secrets; repeatable).
        #[arg(long = "set-from-env")]
        set_from_env: Vec<String>,
    },
    /// Remove a plugin with its configuration and stored values.
    Remove {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Plugin name.
        name: String,
    },
    /// The latest failed calls of a plugin.
    Errors {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Plugin name.
        name: String,
    },
}

fn pairs(set: &[String], from_env: &[String]) -> Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    for s in set {
        let (k, v) = s.split_once('=').with_context(|| format!("--set {s:?}: write key=value"))?;
        values.insert(k.to_owned(), v.to_owned());
    }
    for s in from_env {
        let (k, var) = s.split_once('=').with_context(|| format!("--set-from-env {s:?}: write key=VARIABLE"))?;
        let v = std::env::var(var).with_context(|| format!("the environment variable {var} is not set"))?;
        values.insert(k.to_owned(), v);
    }
    Ok(values)
}

/// Runs one `kapu plugin` subcommand.
pub async fn run(s: &Settings, cmd: PluginCmd) -> Result<()> {
    let db = s.db().await?;
    let tenant = match &cmd {
        PluginCmd::Install { tenant, .. }
        | PluginCmd::List { tenant }
        | PluginCmd::Configure { tenant, .. }
        | PluginCmd::Remove { tenant, .. }
        | PluginCmd::Errors { tenant, .. } => tenant.clone(),
    };
    let slug = TenantSlug::parse(&tenant)?;
    let mut tx = db.tenant_tx_for(&slug).await.with_context(|| format!("tenant {tenant:?}"))?;
    let now = chrono::Utc::now();
    match cmd {
        PluginCmd::Install { manifest, component, sha256, .. } => {
            let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
            let bytes = std::fs::read(&component).with_context(|| format!("reading {}", component.display()))?;
            let runtime = crate::wiring::plugin_runtime()?;
            let inst = installation::install(&mut tx, &runtime, &text, &bytes, sha256.as_deref(), now).await?;
            tx.commit().await?;
            println!(
                "Installed {} {} ({} world, SDK {}), SHA-256 {}.{}",
                inst.name,
                inst.version,
                inst.world.as_str(),
                inst.sdk,
                inst.digest,
                if inst.configured { "" } else { " Configure it before use: kapu plugin configure." }
            );
        }
        PluginCmd::List { .. } => {
            let list = installation::list(&mut tx).await?;
            tx.commit().await?;
            if list.is_empty() {
                println!("No plugins installed.");
            }
            for p in list {
                println!(
                    "{:<16} {:<8} {:<9} sdk {:<6} {}",
                    p.name,
                    p.version,
                    p.world.as_str(),
                    p.sdk,
                    if p.configured { "configured" } else { "NOT CONFIGURED" }
                );
            }
        }
        PluginCmd::Configure { name, set, set_from_env, .. } => {
            let values = pairs(&set, &set_from_env)?;
            let crypto = s.crypto()?;
            let ring = crypto.keyring(tx.conn(), slug.as_str()).await?;
            let inst = installation::configure(&mut tx, &ring, &name, values, now).await?;
            tx.commit().await?;
            println!(
                "Configured {}: {} setting(s), secrets set: {}.",
                inst.name,
                inst.config.len(),
                if inst.secrets_set.is_empty() { "none".to_owned() } else { inst.secrets_set.join(", ") }
            );
        }
        PluginCmd::Remove { name, .. } => {
            installation::remove(&mut tx, &name).await?;
            tx.commit().await?;
            println!("Removed {name}.");
        }
        PluginCmd::Errors { name, .. } => {
            let list = installation::errors(&mut tx, &name, 50).await?;
            tx.commit().await?;
            if list.is_empty() {
                println!("No failed calls of {name}.");
            }
            for e in list {
                println!("{}  {:<14} {:<26} {}", e.at.format("%Y-%m-%d %H:%M:%S"), e.function, e.code, e.message);
            }
        }
    }
    Ok(())
}
