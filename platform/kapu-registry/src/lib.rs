//! The central personal data and address registry (SZL) over its JSON API
//! (`POST /szl/v1/szemelyazonosito-ellenorzes`, see `platform/kapu-sim/REGISTRY-PROTOCOL.md`).

use std::time::Duration;

use kapu_clients::identification::{DocumentKind, Registry, RegistryAnswer, RegistryQuery};
use serde::{Deserialize, Serialize};

/// An SZL client: base URL and API key.
#[derive(Clone, Debug)]
pub struct SzlClient {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl SzlClient {
    /// A client of the service at `base` (e.g. `https://szl.example`), authorised by `key`.
    pub fn new(base: impl Into<String>, key: impl Into<String>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { base: base.into().trim_end_matches('/').to_owned(), key: key.into(), http }
    }
}

#[derive(Serialize)]
struct Okmany<'a> {
    tipus: &'static str,
    szam: &'a str,
}

#[derive(Serialize)]
struct Lakcim<'a> {
    iranyitoszam: &'a str,
    telepules: &'a str,
    kozterulet: &'a str,
}

#[derive(Serialize)]
struct Keres<'a> {
    csaladi_nev: &'a str,
    utonev: &'a str,
    szuletesi_nev: Option<&'a str>,
    anyja_neve: &'a str,
    szuletesi_hely: &'a str,
    szuletesi_ido: String,
    okmany: Okmany<'a>,
    lakcim: Option<Lakcim<'a>>,
}

#[derive(Deserialize)]
struct Valasz {
    eredmeny: String,
    #[serde(default)]
    elteresek: Vec<String>,
}

#[derive(Deserialize)]
struct Hiba {
    hiba: String,
    #[serde(default)]
    uzenet: String,
}

/// The registry's field names, in Kapu's words.
fn field_name(szl: &str) -> String {
    match szl {
        "csaladi_nev" => "family_name",
        "utonev" => "given_name",
        "szuletesi_nev" => "birth_name",
        "anyja_neve" => "mother_birth_name",
        "szuletesi_hely" => "birth_place",
        "szuletesi_ido" => "birth_date",
        "lakcim" => "address",
        "okmany_ervenyesseg" => "document_validity",
        other => other,
    }
    .to_owned()
}

#[async_trait::async_trait]
impl Registry for SzlClient {
    async fn check(&self, q: &RegistryQuery) -> Result<RegistryAnswer, String> {
        let body = Keres {
            csaladi_nev: &q.family_name,
            utonev: &q.given_name,
            szuletesi_nev: q.birth_name.as_deref(),
            anyja_neve: &q.mother_birth_name,
            szuletesi_hely: &q.birth_place,
            szuletesi_ido: q.birth_date.format("%Y-%m-%d").to_string(),
            okmany: Okmany {
                tipus: match q.document.kind {
                    DocumentKind::IdentityCard => "szemelyi_igazolvany",
                    DocumentKind::Passport => "utlevel",
                    DocumentKind::DrivingLicence => "vezetoi_engedely",
                },
                szam: &q.document.number,
            },
            lakcim: q.address.as_ref().map(|a| Lakcim { iranyitoszam: &a.postcode, telepules: &a.city, kozterulet: &a.street }),
        };
        let res = self
            .http
            .post(format!("{}/szl/v1/szemelyazonosito-ellenorzes", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .map_err(|e| if e.is_timeout() { "timed out".to_owned() } else { "could not be reached".to_owned() })?;
        let status = res.status();
        if !status.is_success() {
            let err: Option<Hiba> = res.json().await.ok();
            return Err(match err {
                Some(h) => format!("refused the query ({status}, {}: {})", h.hiba, h.uzenet),
                None => format!("answered {status}"),
            });
        }
        let v: Valasz = res.json().await.map_err(|_| "answered with an unreadable body".to_owned())?;
        match v.eredmeny.as_str() {
            "egyezik" => Ok(RegistryAnswer::Match),
            "elter" => Ok(RegistryAnswer::Mismatch(v.elteresek.iter().map(|f| field_name(f)).collect())),
            "nincs_talalat" => Ok(RegistryAnswer::NotFound),
            other => Err(format!("answered an unknown result {other:?}")),
        }
    }
}
