//! Tenant configuration folders: `tenants/<slug>/tenant.toml` plus the files it names.
//!
//! `kapu tenant apply` creates the tenant from its folder or updates it; `export` writes a
//! folder back; `import` is `apply` that refuses an existing tenant.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kapu_core::{Db, NewTenant, Seeder, Tenant, TenantSlug};
use serde::{Deserialize, Serialize};

/// `tenant.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Host names.
    #[serde(default)]
    pub domains: Vec<String>,
    /// The tenant's canonical origin, e.g. `https://ugyintezes.hegyvidek.hu`: every absolute
    /// link to the tenant starts with it. Its host must be one of `domains`. Without it,
    /// links go to the deployment's public URL followed by `/t/<slug>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Branding.
    #[serde(default)]
    pub branding: Branding,
    /// The national login (KAÜ) identity provider, if the tenant uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kau: Option<KauFile>,
    /// Delivery of issued documents: the deemed delivery and reminder periods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryFile>,
    /// Case handling settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<CasesFile>,
    /// What the tenant prints on its decisions: address, place, legal remedy notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<kapu_cases::DecisionSettings>,
    /// Attachments: each portal account's storage quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploads: Option<UploadsFile>,
}

/// `[uploads]`: how much the files of one portal account's drafts and cases may take.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UploadsFile {
    /// The quota in MiB (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_mib: Option<u64>,
}

/// `[delivery]`: when an unopened decision is deemed delivered, and when the reminder goes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFile {
    /// Working days after which an unopened decision is deemed delivered (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deemed_after_working_days: Option<u32>,
    /// The working day on which the reminder goes out (default 3; 0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_after_working_days: Option<u32>,
}

/// `[cases]`: how the tenant's cases are numbered.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CasesFile {
    /// The case number prefix, e.g. `HV` for `HV-2026-000123`.
    pub number_prefix: String,
}

/// `[kau]`: the national login's identity provider, from its metadata.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KauFile {
    /// Entity ID.
    pub idp_entity_id: String,
    /// Single sign-on URL (HTTP-Redirect binding).
    pub idp_sso_url: String,
    /// Its signing certificate, a PEM file relative to the folder.
    pub idp_certificate: String,
    /// The lowest assurance level accepted (authentication context class); substantial if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_assurance: Option<String>,
}

/// Branding of the portal.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Header background, `#rrggbb`.
    pub primary_colour: Option<String>,
    /// Header text, `#rrggbb`.
    pub on_primary_colour: Option<String>,
    /// Accent, `#rrggbb`.
    pub accent_colour: Option<String>,
    /// Crest SVG file, relative to the folder.
    pub crest: Option<String>,
}

/// Demo data (`demo.toml`): staff accounts with known passwords and TOTP secrets.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFile {
    /// Staff accounts.
    #[serde(default)]
    pub staff: Vec<DemoStaff>,
    /// Facts for the rules of each case type (`[facts.<code>]`), standing in for the
    /// registries and connectors that would supply them.
    #[serde(default)]
    pub facts: std::collections::BTreeMap<String, serde_json::Value>,
}

/// One demo account.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoStaff {
    /// E-mail.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// `clerk` or `admin`.
    pub role: String,
    /// Password.
    pub password: String,
    /// Base32 TOTP secret, to enable TOTP at once.
    pub totp_secret: Option<String>,
}

/// A loaded, checked tenant folder.
#[derive(Clone, Debug)]
pub struct TenantDir {
    /// The folder.
    pub path: PathBuf,
    /// Its `tenant.toml`.
    pub file: TenantFile,
    /// The registry settings made from it (branding with the crest inlined).
    pub settings: serde_json::Value,
    /// Its `demo.toml`, if any.
    pub demo: Option<DemoFile>,
    /// Its case types (`case-types/*.toml`), checked.
    pub case_types: Vec<kapu_cases::LoadedCaseType>,
}

/// The case types folder of a tenant folder, or `dir` itself when it holds no `tenant.toml`.
pub fn case_types_dir(dir: &Path) -> PathBuf {
    if dir.join("tenant.toml").exists() { dir.join("case-types") } else { dir.to_owned() }
}

/// Reads and checks a folder of case types; every problem is listed with file, line and path.
pub fn load_case_types(dir: &Path) -> Result<Vec<kapu_cases::LoadedCaseType>> {
    kapu_cases::load_folder(dir, chrono::Utc::now().date_naive()).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| format!("{}/{e}", dir.display())).collect();
        anyhow::anyhow!("case types in {} are invalid:\n  - {}", dir.display(), list.join("\n  - "))
    })
}

fn check_colour(field: &str, v: &Option<String>, errors: &mut Vec<String>) {
    if let Some(c) = v
        && !(c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit()))
    {
        errors.push(format!("branding.{field}: {c:?} is not a colour of the form #rrggbb"));
    }
}

/// Reads and checks a tenant folder; every problem is reported with the file it is in.
pub fn load(dir: &Path) -> Result<TenantDir> {
    let toml_path = dir.join("tenant.toml");
    let text = std::fs::read_to_string(&toml_path).with_context(|| format!("reading {}", toml_path.display()))?;
    let file: TenantFile = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", toml_path.display()))?;
    let mut errors = Vec::new();
    if let Err(e) = TenantSlug::parse(&file.slug) {
        errors.push(format!("slug: {e}"));
    }
    if file.name.trim().is_empty() || file.name.len() > 200 {
        errors.push("name: must be 1 to 200 characters".into());
    }
    for d in &file.domains {
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !ok {
            errors.push(format!("domains: {d:?} is not a host name"));
        }
    }
    let origin = match &file.origin {
        Some(o) => match kapu_core::Origin::parse(o) {
            Ok(origin) if file.domains.iter().any(|d| d.trim_end_matches('.').eq_ignore_ascii_case(origin.host())) => {
                Some(origin.to_string())
            }
            Ok(origin) => {
                errors.push(format!("origin: its host {:?} is not one of the tenant's domains", origin.host()));
                None
            }
            Err(e) => {
                errors.push(format!("origin: {e}"));
                None
            }
        },
        None => None,
    };
    let b = &file.branding;
    check_colour("primary_colour", &b.primary_colour, &mut errors);
    check_colour("on_primary_colour", &b.on_primary_colour, &mut errors);
    check_colour("accent_colour", &b.accent_colour, &mut errors);
    let crest_svg = match &b.crest {
        Some(c) => match std::fs::read_to_string(dir.join(c)) {
            Ok(svg) if svg.contains("<svg") => Some(svg),
            Ok(_) => {
                errors.push(format!("branding.crest: {c} is not an SVG file"));
                None
            }
            Err(e) => {
                errors.push(format!("branding.crest: cannot read {c}: {e}"));
                None
            }
        },
        None => None,
    };
    let kau = match &file.kau {
        Some(k) => match std::fs::read_to_string(dir.join(&k.idp_certificate)) {
            Ok(pem) => {
                let v = serde_json::json!({
                    "idp_entity_id": k.idp_entity_id,
                    "idp_sso_url": k.idp_sso_url,
                    "idp_certificate": pem,
                    "min_assurance": k.min_assurance,
                });
                if let Err(e) = kapu_kau::KauConfig::from_settings(&serde_json::json!({ "kau": v })) {
                    errors.push(format!("kau: {e}"));
                }
                v
            }
            Err(e) => {
                errors.push(format!("kau.idp_certificate: cannot read {}: {e}", k.idp_certificate));
                serde_json::Value::Null
            }
        },
        None => serde_json::Value::Null,
    };
    let delivery = match &file.delivery {
        Some(d) => {
            let v = serde_json::json!({
                "deemed_after_working_days": d.deemed_after_working_days,
                "reminder_after_working_days": d.reminder_after_working_days,
            });
            if let Err(e) = kapu_delivery::DeliverySettings::from_settings(&serde_json::json!({ "delivery": v })) {
                errors.push(format!("delivery.{e}"));
            }
            v
        }
        None => serde_json::Value::Null,
    };
    let documents = match &file.documents {
        Some(d) => {
            let v = serde_json::to_value(d)?;
            if let Err(e) = kapu_cases::DecisionSettings::from_settings(&serde_json::json!({ "documents": v })) {
                errors.push(format!("documents.{e}"));
            }
            v
        }
        None => serde_json::Value::Null,
    };
    let uploads = match &file.uploads {
        Some(u) => {
            let v = serde_json::json!({ "quota_mib": u.quota_mib });
            if let Err(e) = kapu_cases::attachments::UploadSettings::from_settings(&serde_json::json!({ "uploads": v })) {
                errors.push(format!("uploads.{e}"));
            }
            v
        }
        None => serde_json::Value::Null,
    };
    if !errors.is_empty() {
        bail!("{} is invalid:\n  - {}", toml_path.display(), errors.join("\n  - "));
    }
    let demo_path = dir.join("demo.toml");
    let demo = if demo_path.exists() {
        let t = std::fs::read_to_string(&demo_path)?;
        Some(toml::from_str::<DemoFile>(&t).map_err(|e| anyhow::anyhow!("{}: {e}", demo_path.display()))?)
    } else {
        None
    };
    let settings = serde_json::json!({
        "origin": origin,
        "branding": {
            "primary_colour": b.primary_colour,
            "on_primary_colour": b.on_primary_colour,
            "accent_colour": b.accent_colour,
            "crest_svg": crest_svg,
        },
        "kau": kau,
        "delivery": delivery,
        "documents": documents,
        "uploads": uploads,
    });
    let ct_dir = dir.join("case-types");
    let case_types = if ct_dir.is_dir() { load_case_types(&ct_dir)? } else { Vec::new() };
    Ok(TenantDir { path: dir.to_owned(), file, settings, demo, case_types })
}

/// Seeds the demo staff of a folder's `demo.toml`.
pub fn demo_seeder(demo: DemoFile, crypto: std::sync::Arc<kapu_crypto::Crypto>) -> Seeder<'static> {
    Box::new(move |tx| {
        Box::pin(async move {
            let scope = tx.slug().to_string();
            let ring = crypto.keyring(tx.conn(), &scope).await?;
            for s in demo.staff {
                let role = kapu_staff::Role::parse(&s.role).ok_or_else(|| format!("demo.toml: unknown role {:?}", s.role))?;
                let staff = kapu_staff::create_staff(
                    tx,
                    kapu_staff::NewStaff { email: s.email, display_name: s.display_name, role, password: s.password },
                )
                .await
                .map_err(|e| format!("demo.toml: {e}"))?;
                if let Some(secret) = s.totp_secret {
                    let bytes =
                        totp_rs::Secret::Encoded(secret).to_bytes().map_err(|_| "demo.toml: totp_secret is not base32".to_owned())?;
                    kapu_staff::enable_totp_with_secret(tx, &ring, staff.id, &bytes).await?;
                }
            }
            Ok(())
        })
    })
}

/// What `apply` did.
#[derive(Debug)]
pub enum Applied {
    /// A new tenant.
    Created(Tenant),
    /// An existing tenant's settings were replaced.
    Updated(Tenant),
}

/// Who `tenant apply` records as the author of case type versions.
const APPLY_AUTHOR: &str = "kapu tenant apply";

/// Saves the folder's case types in the tenant's transaction: a changed file becomes a new
/// version, an unchanged one leaves the version in force.
async fn save_case_types(
    tx: &mut kapu_core::TenantTx,
    case_types: &[kapu_cases::LoadedCaseType],
) -> Result<Vec<kapu_cases::SavedVersion>, kapu_cases::CaseTypeError> {
    let now = chrono::Utc::now();
    let mut saved = Vec::new();
    for ct in case_types {
        saved.push(kapu_cases::save_version(tx, &ct.case_type, APPLY_AUTHOR, now).await?);
    }
    Ok(saved)
}

/// Saves the folder's case numbering prefix, if it sets one.
async fn save_case_settings(tx: &mut kapu_core::TenantTx, cases: Option<&CasesFile>) -> Result<(), kapu_cases::CaseError> {
    match cases {
        Some(c) => kapu_cases::set_number_prefix(tx, &c.number_prefix).await,
        None => Ok(()),
    }
}

/// Creates the tenant of a folder, or updates its name, domains, branding and case types.
/// Returns what happened to each case type.
pub async fn apply(
    db: &Db,
    dir: &TenantDir,
    seed: Option<Seeder<'static>>,
    create_only: bool,
) -> Result<(Applied, Vec<kapu_cases::SavedVersion>)> {
    let slug = TenantSlug::parse(&dir.file.slug)?;
    let mut conn = db.pool().acquire().await?;
    let existing = kapu_core::find_tenant_by_slug(&mut conn, slug.as_str()).await?;
    drop(conn);
    match existing {
        Some(_) if create_only => bail!("a tenant with slug {slug:?} already exists; use `kapu tenant apply` to update it"),
        Some(mut t) => {
            t.name = dir.file.name.clone();
            t.domains = dir.file.domains.clone();
            t.settings = dir.settings.clone();
            let mut tx = db.platform_tx().await?;
            kapu_core::update_tenant(tx.conn(), &t).await?;
            tx.commit().await?;
            let mut ttx = db.tenant_tx(&t).await?;
            let saved = save_case_types(&mut ttx, &dir.case_types).await?;
            save_case_settings(&mut ttx, dir.file.cases.as_ref()).await?;
            ttx.commit().await?;
            Ok((Applied::Updated(t), saved))
        }
        None => {
            let results = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let out = results.clone();
            let case_types = dir.case_types.clone();
            let cases = dir.file.cases.clone();
            // The case types go in with the seed, inside the provisioning transaction.
            let seeder: Seeder<'_> = Box::new(move |tx| {
                Box::pin(async move {
                    if let Some(seed) = seed {
                        seed(tx).await?;
                    }
                    let saved = save_case_types(tx, &case_types).await.map_err(|e| format!("case types: {e}"))?;
                    save_case_settings(tx, cases.as_ref()).await.map_err(|e| format!("cases: {e}"))?;
                    if let Ok(mut o) = out.lock() {
                        *o = saved;
                    }
                    Ok(())
                })
            });
            let t = kapu_core::provision_tenant(
                db,
                NewTenant { slug, name: dir.file.name.clone(), domains: dir.file.domains.clone(), settings: dir.settings.clone() },
                Some(seeder),
            )
            .await?;
            let saved = results.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
            Ok((Applied::Created(t), saved))
        }
    }
}

/// Writes a tenant's configuration to a folder in the `tenant.toml` format.
pub async fn export(db: &Db, slug: &str, out: &Path) -> Result<()> {
    let mut conn = db.pool().acquire().await?;
    let t = kapu_core::find_tenant_by_slug(&mut conn, slug).await?.with_context(|| format!("no tenant with slug {slug:?}"))?;
    std::fs::create_dir_all(out)?;
    let s = |k: &str| t.settings.pointer(&format!("/branding/{k}")).and_then(|v| v.as_str()).map(str::to_owned);
    let crest = s("crest_svg");
    if let Some(svg) = &crest {
        std::fs::write(out.join("crest.svg"), svg)?;
    }
    let kau = |k: &str| t.settings.pointer(&format!("/kau/{k}")).and_then(|v| v.as_str()).map(str::to_owned);
    let kau = match (kau("idp_entity_id"), kau("idp_sso_url"), kau("idp_certificate")) {
        (Some(idp_entity_id), Some(idp_sso_url), Some(pem)) => {
            std::fs::write(out.join("kau-idp.pem"), pem)?;
            Some(KauFile { idp_entity_id, idp_sso_url, idp_certificate: "kau-idp.pem".into(), min_assurance: kau("min_assurance") })
        }
        _ => None,
    };
    let origin = t.origin().map(|o| o.to_string());
    let file = TenantFile {
        slug: t.slug.to_string(),
        name: t.name,
        origin,
        domains: t.domains,
        branding: Branding {
            primary_colour: s("primary_colour"),
            on_primary_colour: s("on_primary_colour"),
            accent_colour: s("accent_colour"),
            crest: crest.map(|_| "crest.svg".into()),
        },
        kau,
        delivery: t.settings.get("delivery").filter(|v| !v.is_null()).map(|d| {
            let days = |k: &str| d.get(k).and_then(serde_json::Value::as_u64).and_then(|n| u32::try_from(n).ok());
            DeliveryFile {
                deemed_after_working_days: days("deemed_after_working_days"),
                reminder_after_working_days: days("reminder_after_working_days"),
            }
        }),
        cases: None,
        documents: t.settings.get("documents").filter(|v| !v.is_null()).and_then(|d| serde_json::from_value(d.clone()).ok()),
        uploads: t
            .settings
            .get("uploads")
            .filter(|v| !v.is_null())
            .map(|u| UploadsFile { quota_mib: u.get("quota_mib").and_then(serde_json::Value::as_u64) }),
    };
    drop(conn);
    let mut tx = db.tenant_tx_for(&TenantSlug::parse(slug)?).await?;
    let file = TenantFile { cases: Some(CasesFile { number_prefix: kapu_cases::number_prefix(&mut tx).await? }), ..file };
    std::fs::write(out.join("tenant.toml"), toml::to_string_pretty(&file)?)?;
    // Each case type's version in force, as the file it was saved from.
    let case_types = kapu_cases::list_case_types(&mut tx).await?;
    if !case_types.is_empty() {
        std::fs::create_dir_all(out.join("case-types"))?;
    }
    for c in case_types {
        let v = kapu_cases::get_version(&mut tx, &c.code, None).await?;
        std::fs::write(out.join("case-types").join(format!("{}.toml", c.code)), v.source)?;
    }
    tx.commit().await?;
    Ok(())
}
