//! A local test PKI: a certificate authority, a tenant's seal certificate and a
//! time-stamping authority's certificate, for the demo and the tests. Real deployments use a
//! qualified seal and a qualified time-stamping service instead.

use std::path::Path;

use chrono::{DateTime, Datelike, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose, date_time_ymd,
};

use crate::signer::{SignError, SoftwareSigner};

/// Why the test PKI could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Certificate generation failed.
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// Writing the files failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A generated key did not load.
    #[error(transparent)]
    Key(#[from] SignError),
}

/// PEM text of the test PKI's certificates and keys (PKCS#8).
#[derive(Clone)]
pub struct TestPki {
    /// The root CA's certificate: the trust anchor a verifier is given.
    pub ca_cert: String,
    /// The tenant's seal certificate.
    pub seal_cert: String,
    /// The seal's private key.
    pub seal_key: String,
    /// The time-stamping authority's certificate (critical EKU timeStamping, as RFC 3161
    /// requires).
    pub tsa_cert: String,
    /// The time-stamping authority's private key.
    pub tsa_key: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

/// The file names [`TestPki::write_to`] uses.
pub const FILES: [&str; 5] = ["ca.pem", "seal.pem", "seal.key", "tsa.pem", "tsa.key"];

fn name(common_name: &str, organisation: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "HU");
    dn.push(DnType::OrganizationName, organisation);
    dn.push(DnType::CommonName, common_name);
    dn
}

impl TestPki {
    /// Generates a CA, a seal certificate for `tenant_name` and a TSA certificate, all ECDSA
    /// P-256, valid from the start of `now`'s day for ten years.
    pub fn generate(tenant_name: &str, now: DateTime<Utc>) -> Result<Self, PkiError> {
        let month = u8::try_from(now.month()).unwrap_or(1);
        let day = u8::try_from(now.day()).unwrap_or(1);
        let validity = |params: &mut CertificateParams| {
            params.not_before = date_time_ymd(now.year(), month, day);
            params.not_after = date_time_ymd(now.year() + 10, month, day.min(28));
        };

        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::new())?;
        ca.distinguished_name = name("Kapu Test CA", "Kapu test PKI");
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut ca);
        let ca_cert = ca.self_signed(&ca_key)?;

        let seal_key = KeyPair::generate()?;
        let mut seal = CertificateParams::new(Vec::new())?;
        seal.distinguished_name = name(&format!("{tenant_name} (test seal)"), tenant_name);
        seal.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        seal.use_authority_key_identifier_extension = true;
        validity(&mut seal);
        let seal_cert = seal.signed_by(&seal_key, &ca_cert, &ca_key)?;

        let tsa_key = KeyPair::generate()?;
        let mut tsa = CertificateParams::new(Vec::new())?;
        tsa.distinguished_name = name("Kapu Test TSA", "Kapu test PKI");
        tsa.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        tsa.use_authority_key_identifier_extension = true;
        // extendedKeyUsage = SEQUENCE { id-kp-timeStamping }, critical (RFC 3161, 2.3).
        let mut eku = CustomExtension::from_oid_content(
            &[2, 5, 29, 37],
            vec![0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08],
        );
        eku.set_criticality(true);
        tsa.custom_extensions.push(eku);
        validity(&mut tsa);
        let tsa_cert = tsa.signed_by(&tsa_key, &ca_cert, &ca_key)?;

        Ok(Self {
            ca_cert: ca_cert.pem(),
            seal_cert: seal_cert.pem(),
            seal_key: seal_key.serialize_pem(),
            tsa_cert: tsa_cert.pem(),
            tsa_key: tsa_key.serialize_pem(),
        })
    }

    /// Writes the PKI into `dir` as [`FILES`] (keys readable by the owner only).
    pub fn write_to(&self, dir: &Path) -> Result<(), PkiError> {
        let contents = [&self.ca_cert, &self.seal_cert, &self.seal_key, &self.tsa_cert, &self.tsa_key];
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Write { path: dir.display().to_string(), source })?;
        for (file, text) in FILES.iter().zip(contents) {
            let path = dir.join(file);
            write_private(&path, text, file.ends_with(".key"))
                .map_err(|source| PkiError::Write { path: path.display().to_string(), source })?;
        }
        Ok(())
    }

    /// Reads a PKI that [`TestPki::write_to`] wrote.
    pub fn read_from(dir: &Path) -> Result<Self, PkiError> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|source| PkiError::Write { path: path.display().to_string(), source })
        };
        Ok(Self {
            ca_cert: read(FILES[0])?,
            seal_cert: read(FILES[1])?,
            seal_key: read(FILES[2])?,
            tsa_cert: read(FILES[3])?,
            tsa_key: read(FILES[4])?,
        })
    }

    /// Reads the PKI in `dir`, or generates one for `tenant_name` and writes it there if `dir`
    /// has none.
    pub fn load_or_create(dir: &Path, tenant_name: &str, now: DateTime<Utc>) -> Result<Self, PkiError> {
        if FILES.iter().all(|file| dir.join(file).is_file()) {
            return Self::read_from(dir);
        }
        let pki = Self::generate(tenant_name, now)?;
        pki.write_to(dir)?;
        Ok(pki)
    }

    /// The seal's signer, embedding the CA certificate beside its own.
    pub fn seal_signer(&self) -> Result<SoftwareSigner, PkiError> {
        Ok(SoftwareSigner::from_pem(&self.seal_key, &format!("{}{}", self.seal_cert, self.ca_cert))?)
    }

    /// The time-stamping authority's signer, embedding the CA certificate beside its own.
    pub fn tsa_signer(&self) -> Result<SoftwareSigner, PkiError> {
        Ok(SoftwareSigner::from_pem(&self.tsa_key, &format!("{}{}", self.tsa_cert, self.ca_cert))?)
    }
}

fn write_private(path: &Path, text: &str, private: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}
