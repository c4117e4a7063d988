//! Official documents: decisions (határozat) rendered to PDF from a tenant's Typst template and
//! sealed as PAdES B-T with the tenant's seal certificate and an RFC 3161 time-stamp.
//!
//! - [`render`]: Typst templates to PDF, with bundled fonts and no file or network access.
//! - [`signer`]: the [`Signer`] trait (a software key now; a PKCS#11 token later).
//! - [`cms`]: CMS `SignedData` with the CAdES signed attributes.
//! - [`tsp`]: the RFC 3161 client.
//! - [`pades`]: the incremental update that carries the signature.
//! - [`pki`]: a local test CA, seal and TSA certificate for the demo and the tests.
//!
//! **Architecture Invariant:** an issued document is either sealed and time-stamped or not
//! produced at all: every failure (template, signer, time-stamping authority) is an error and
//! no partial PDF is returned.

pub mod cms;
pub mod oid;
pub mod pades;
pub mod pki;
pub mod render;
pub mod signer;
pub mod tsp;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use pades::SealError;
pub use render::RenderError;
pub use signer::{SignError, Signer, SoftwareSigner};
pub use tsp::{TsaClient, TsaConfig, TsaError};

/// Kapu's default decision template (Typst).
pub const DEFAULT_DECISION_TEMPLATE: &str = include_str!("../templates/decision.typ");

/// The data a decision template is filled with (the template reads it as `data.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Decision {
    /// The issuing authority, e.g. the mayor's office.
    pub authority: String,
    /// The authority's address.
    pub authority_address: String,
    /// The case's file number (iktatószám).
    pub file_number: String,
    /// What the case is about (tárgy).
    pub subject: String,
    /// The client the decision is addressed to.
    pub client: DecisionClient,
    /// A simplified decision (egyszerűsített határozat): no reasoning is printed.
    pub simplified: bool,
    /// The operative part (rendelkező rész), one paragraph per item.
    pub operative_part: Vec<String>,
    /// The reasoning (indokolás), one paragraph per item.
    pub reasoning: Vec<String>,
    /// The legal remedy notice (jogorvoslati tájékoztatás).
    pub legal_remedy: String,
    /// Where it was made.
    pub place: String,
    /// When it was made, as printed (e.g. `2026. november 25.`).
    pub date: String,
    /// Who issues it (kiadmányozó).
    pub signatory: Signatory,
}

/// The addressee of a decision.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DecisionClient {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
}

/// The person who issues a decision.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Signatory {
    /// Name.
    pub name: String,
    /// Title, e.g. `jegyző`.
    pub title: String,
}

/// Why a document could not be issued. In every case no document exists.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Sealing or time-stamping failed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl IssueError {
    /// Whether trying again later may succeed (the time-stamping authority was unavailable),
    /// as opposed to an error that needs a person to fix the template or the key.
    pub fn is_transient(&self) -> bool {
        matches!(self, IssueError::Seal(SealError::TimeStamp(TsaError::Unavailable { .. })))
    }
}

/// Renders `data` with `template` and seals the PDF as PAdES B-T.
///
/// Rendering, the heavy part, runs on the blocking pool.
pub async fn issue(
    template: &str,
    data: &impl Serialize,
    signer: &dyn Signer,
    tsa: &TsaClient,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, IssueError> {
    let data = serde_json::to_value(data).map_err(|e| RenderError::Data(e.to_string()))?;
    let template = template.to_owned();
    let pdf = tokio::task::spawn_blocking(move || render::render_pdf(&template, &data, now))
        .await
        .map_err(|e| RenderError::Export(format!("the renderer stopped: {e}")))??;
    Ok(pades::seal(&pdf, signer, tsa, now).await?)
}

impl Decision {
    /// A sample decision of the demo tenant (a residential parking permit), for the demo, the
    /// benchmark and the tests. `n` varies the file number, the client and the plate number.
    pub fn sample(n: u64) -> Self {
        const NAMES: [&str; 4] = ["Kovács Éva", "Szőke Ödön Árpád", "dr. Nagy-Kerekes Zsófia", "Ürmössy Győző"];
        let name = NAMES[usize::try_from(n % 4).unwrap_or(0)];
        Decision {
            authority: "Budapest Főváros XII. kerület Hegyvidéki Önkormányzat Polgármesteri Hivatala".into(),
            authority_address: "1126 Budapest, Böszörményi út 23–25.".into(),
            file_number: format!("XII/{n}-2/2026"),
            subject: "Lakossági várakozási hozzájárulás kiadása".into(),
            client: DecisionClient { name: name.into(), address: "1124 Budapest, Csörsz utca 12. 3/8.".into() },
            simplified: false,
            operative_part: vec![
                format!("{name} kérelmezőnek az AB-CD-{:03} forgalmi rendszámú személygépkocsira a 2026. december 1. és 2027. november 30. közötti időszakra lakossági várakozási hozzájárulást adok.", n % 1000),
                "A hozzájárulás a Hegyvidék I. várakozási övezetben érvényes.".into(),
            ],
            reasoning: vec![
                "A kérelmező 2026. november 20-án kérelmet nyújtott be, amelyhez csatolta a jármű forgalmi engedélyét és lakcímkártyáját.".into(),
                "A kérelmező bejelentett lakóhelye a várakozási övezetben található, a jármű üzembentartója a kérelmező, ezért a kérelemnek helyt adtam.".into(),
            ],
            legal_remedy: "A határozat ellen a közléstől számított 15 napon belül a Budapest Főváros Kormányhivatalához címzett, de a Hivatalnál előterjesztett fellebbezéssel lehet élni.".into(),
            place: "Budapest".into(),
            date: "2026. november 25.".into(),
            signatory: Signatory { name: "dr. Hegyi Anna".into(), title: "jegyző".into() },
        }
    }
}
