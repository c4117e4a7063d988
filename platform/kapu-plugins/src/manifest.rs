//! The plugin manifest (`plugin.toml`): who the plugin is, which contract version and world it
//! implements, which hosts it may reach and what configuration it takes.

use std::collections::{BTreeMap, HashMap};

use kapu_core::Refusal;
use serde::{Deserialize, Serialize};

use crate::PluginError;

/// Versions of the `kapu:plugin` contract this host runs, oldest first.
pub const SUPPORTED_SDK_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// The kinds of integration, one WIT world each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Residential parking permits (`parking-plugin`).
    Parking,
    /// Records management (`records-plugin`).
    Records,
    /// Finance (`finance-plugin`).
    Finance,
    /// Central registries (`registry-plugin`).
    Registry,
    /// Queue system (`queue-plugin`).
    Queue,
}

impl World {
    /// The name used in manifests and the API, e.g. `registry`.
    pub fn as_str(self) -> &'static str {
        match self {
            World::Parking => "parking",
            World::Records => "records",
            World::Finance => "finance",
            World::Registry => "registry",
            World::Queue => "queue",
        }
    }

    /// Parses a world name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "parking" => World::Parking,
            "records" => World::Records,
            "finance" => World::Finance,
            "registry" => World::Registry,
            "queue" => World::Queue,
            _ => return None,
        })
    }

    /// The interface a component of this world exports, e.g. `kapu:plugin/registry@0.1.0`.
    pub fn export_name(self, sdk: &str) -> String {
        format!("kapu:plugin/{}@{sdk}", self.as_str())
    }
}

/// The kind of a configuration setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingKind {
    /// Free text.
    String,
    /// An `http://` or `https://` URL whose host the manifest allows.
    Url,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A secret (stored encrypted, shown to nobody).
    Secret,
}

/// One setting of the configuration schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Setting {
    /// Its kind.
    pub kind: SettingKind,
    /// Whether the plugin cannot work without it.
    #[serde(default)]
    pub required: bool,
    /// What it is, for the admin.
    #[serde(default)]
    pub description: String,
}

/// A parsed and validated `plugin.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// The plugin's name: lower-case letters, digits and hyphens, e.g. `registry`.
    pub name: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// The `kapu:plugin` contract version it was built against, e.g. `0.1.0`.
    pub sdk: String,
    /// The world it implements, e.g. `registry`.
    pub world: World,
    /// What it does, for the admin.
    #[serde(default)]
    pub description: String,
    /// Hosts it may reach over HTTP: `host`, `host:port` or `*.domain`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Its configuration schema, by setting name.
    #[serde(default)]
    pub config: BTreeMap<String, Setting>,
}

impl Manifest {
    /// Parses and validates a manifest.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        let m: Manifest = toml::from_str(text).map_err(|e| PluginError::Manifest(e.message().to_owned()))?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<(), PluginError> {
        let bad = |m: String| Err(PluginError::Manifest(m));
        if !is_name(&self.name) {
            return bad(format!("name {:?}: use 1 to 40 lower-case letters, digits and hyphens", self.name));
        }
        if semver::Version::parse(&self.version).is_err() {
            return bad(format!("version {:?} is not a semantic version such as 1.0.0", self.version));
        }
        if !SUPPORTED_SDK_VERSIONS.contains(&self.sdk.as_str()) {
            return Err(PluginError::UnsupportedSdk { requested: self.sdk.clone(), supported: SUPPORTED_SDK_VERSIONS.join(", ") });
        }
        for h in &self.allowed_hosts {
            if HostPattern::parse(h).is_none() {
                return bad(format!("allowed-hosts: {h:?} is not a host, host:port or *.domain"));
            }
        }
        for key in self.config.keys() {
            if !is_name(key) {
                return bad(format!("config: setting name {key:?}: use lower-case letters, digits and hyphens"));
            }
        }
        Ok(())
    }

    /// The allowed hosts, parsed.
    pub fn host_patterns(&self) -> Vec<HostPattern> {
        self.allowed_hosts.iter().filter_map(|h| HostPattern::parse(h)).collect()
    }

    /// Checks a configuration against the schema: no unknown settings, every required one
    /// present, each of the right kind, URLs pointing at allowed hosts. Every problem is named,
    /// per setting.
    pub fn check_config(&self, values: &HashMap<String, String>) -> Result<(), PluginError> {
        let problems = self.config_problems(values);
        if problems.is_empty() { Ok(()) } else { Err(PluginError::InvalidConfig(problems)) }
    }

    /// What is wrong with a configuration, per setting (empty if nothing).
    pub fn config_problems(&self, values: &HashMap<String, String>) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut bad =
            |setting: &str, reason: Refusal, message: String| problems.push(ConfigProblem { setting: setting.to_owned(), reason, message });
        let mut unknown: Vec<&String> = values.keys().filter(|k| !self.config.contains_key(*k)).collect();
        unknown.sort();
        for k in unknown {
            let known = self.config.keys().cloned().collect();
            bad(k, Refusal::UnknownField { known }, format!("{k} is not a setting of {} (settings: {})", self.name, self.setting_names()));
        }
        for (key, setting) in &self.config {
            let Some(v) = values.get(key).filter(|v| !v.trim().is_empty()) else {
                if setting.required {
                    bad(key, Refusal::Required, format!("{key} is required"));
                }
                continue;
            };
            match setting.kind {
                SettingKind::String | SettingKind::Secret => {}
                SettingKind::Integer => {
                    if v.trim().parse::<i64>().is_err() {
                        bad(key, Refusal::NotAWholeNumber, format!("{key} must be a whole number, not {v:?}"));
                    }
                }
                SettingKind::Boolean => {
                    if v != "true" && v != "false" {
                        bad(key, Refusal::NotABoolean, format!("{key} must be true or false, not {v:?}"));
                    }
                }
                SettingKind::Url => {
                    let Ok(u) = url::Url::parse(v) else {
                        bad(key, Refusal::InvalidUrl, format!("{key} must be a URL such as https://example.hu/, not {v:?}"));
                        continue;
                    };
                    if !matches!(u.scheme(), "http" | "https") {
                        bad(key, Refusal::NotHttpUrl, format!("{key} must be an http:// or https:// URL"));
                        continue;
                    }
                    let host = u.host_str().unwrap_or_default();
                    let port = u.port_or_known_default();
                    if !self.host_patterns().iter().any(|p| p.allows(host, port)) {
                        bad(
                            key,
                            Refusal::HostNotAllowed { host: host.to_owned(), allowed: self.allowed_hosts.clone() },
                            format!(
                                "{key} points at {host}, which the plugin's manifest does not allow (allowed: {})",
                                if self.allowed_hosts.is_empty() { "none".to_owned() } else { self.allowed_hosts.join(", ") }
                            ),
                        );
                    }
                }
            }
        }
        problems
    }

    /// Whether setting `key` is a secret.
    pub fn is_secret(&self, key: &str) -> bool {
        self.config.get(key).is_some_and(|s| s.kind == SettingKind::Secret)
    }

    fn setting_names(&self) -> String {
        if self.config.is_empty() { "none".to_owned() } else { self.config.keys().cloned().collect::<Vec<_>>().join(", ") }
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// What is wrong with one setting of a configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    /// The setting, e.g. `base-url`.
    pub setting: String,
    /// What is wrong, as a stable code with its arguments.
    pub reason: Refusal,
    /// What is wrong in English, naming the setting, e.g. `base-url is required`.
    pub message: String,
}

/// One entry of `allowed-hosts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostPattern {
    /// Parses `host`, `host:port`, `*.domain` or `*.domain:port`.
    pub fn parse(s: &str) -> Option<Self> {
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
            None => (s, None),
        };
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        let ok = !host.is_empty() && host.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        ok.then(|| Self { host: host.to_ascii_lowercase(), wildcard, port })
    }

    /// The host (or, for `*.domain`, the domain), lower case.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the pattern is `*.domain`.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// Whether a request to `host` (and `port`, if known) is allowed.
    pub fn allows(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host_ok =
            if self.wildcard { host.strip_suffix(&self.host).is_some_and(|p| p.ends_with('.') && p.len() > 1) } else { host == self.host };
        host_ok && self.port.is_none_or(|p| Some(p) == port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "registry"
version = "0.1.0"
sdk = "0.1.0"
world = "registry"
allowed-hosts = ["127.0.0.1", "*.gov.hu", "szl.example:8443"]

[config.base-url]
kind = "url"
required = true

[config.api-key]
kind = "secret"
required = true

[config.page-size]
kind = "integer"
"#;

    fn config(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parses_a_good_manifest() {
        let m = Manifest::parse(GOOD).expect("good manifest");
        assert_eq!(m.world, World::Registry);
        assert!(m.is_secret("api-key"));
        assert!(!m.is_secret("base-url"));
    }

    #[test]
    fn refuses_an_unsupported_sdk_version() {
        let e = Manifest::parse(&GOOD.replace("sdk = \"0.1.0\"", "sdk = \"9.0.0\"")).expect_err("refused");
        assert_eq!(e.to_string(), "the plugin needs SDK version 9.0.0, which this platform does not run (supported: 0.1.0, 0.2.0)");
    }

    #[test]
    fn refuses_bad_fields_by_name() {
        let check = |from: &str, to: &str, expected: &str| {
            let e = Manifest::parse(&GOOD.replacen(from, to, 1)).expect_err("refused");
            assert!(e.to_string().contains(expected), "{e} should contain {expected}");
        };
        check("world = \"registry\"", "world = \"weather\"", "unknown variant `weather`");
        check("name = \"registry\"", "name = \"Registry!\"", "name \"Registry!\"");
        check("version = \"0.1.0\"", "version = \"one\"", "not a semantic version");
        check("\"127.0.0.1\"", "\"http://x/\"", "allowed-hosts");
        check("kind = \"url\"", "kind = \"colour\"", "unknown variant `colour`");
        check("required = true\n", "required = true\nsecret = 1\n", "unknown field `secret`");
    }

    #[test]
    fn checks_configuration_against_the_schema() {
        let m = Manifest::parse(GOOD).expect("good manifest");
        let ok = config(&[("base-url", "http://127.0.0.1:8031/"), ("api-key", "k")]);
        assert!(m.check_config(&ok).is_ok());
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("api-key", "k")], "base-url is required"),
            (&[("base-url", "http://127.0.0.1/"), ("api-key", "k"), ("colour", "red")], "colour is not a setting of registry"),
            (&[("base-url", "not a url"), ("api-key", "k")], "base-url must be a URL"),
            (
                &[("base-url", "https://evil.example/"), ("api-key", "k")],
                "points at evil.example, which the plugin's manifest does not allow",
            ),
            (&[("base-url", "http://127.0.0.1/"), ("api-key", "k"), ("page-size", "ten")], "page-size must be a whole number"),
        ];
        for (values, expected) in cases {
            let e = m.check_config(&config(values)).expect_err("refused");
            assert!(e.to_string().contains(expected), "{e} should contain {expected}");
        }
    }

    #[test]
    fn a_url_setting_stays_inside_the_manifests_hosts_however_it_is_written() {
        let m = Manifest::parse(GOOD).expect("good manifest");
        let with = |url: &str| m.config_problems(&config(&[("base-url", url), ("api-key", "k")]));
        for ok in ["https://szl.gov.hu/api", "HTTPS://SZL.GOV.HU/", "https://szl.example:8443/", "https://szl.gov.hu./"] {
            assert!(with(ok).is_empty(), "{ok}: {:?}", with(ok));
        }
        for (bad, host) in [
            ("https://szl.gov.hu@evil.example/", "evil.example"),
            ("https://szl.example:8443@evil.example/", "evil.example"),
            ("https://evil.example#@szl.gov.hu/", "evil.example"),
            ("https://evil.example\\.gov.hu/", "evil.example"),
            ("https://szl.gov.hu.evil.example/", "szl.gov.hu.evil.example"),
            ("https://gov.hu/", "gov.hu"),
            ("https://szl.example/", "szl.example"),
            ("http://[::1]:8031/", "[::1]"),
            ("http://169.254.169.254/", "169.254.169.254"),
        ] {
            let problems = with(bad);
            assert_eq!(problems.len(), 1, "{bad} should be refused");
            assert!(
                problems[0].message.starts_with(&format!("base-url points at {host}, which the plugin's manifest does not allow")),
                "{bad}: {}",
                problems[0].message
            );
        }
    }

    #[test]
    fn every_problem_is_named_per_setting() {
        let m = Manifest::parse(GOOD).expect("good manifest");
        let problems = m.config_problems(&config(&[("base-url", "ftp://x/"), ("page-size", "ten"), ("colour", "red")]));
        let settings: Vec<&str> = problems.iter().map(|p| p.setting.as_str()).collect();
        assert_eq!(settings, vec!["colour", "api-key", "base-url", "page-size"]);
        assert_eq!(problems[1].message, "api-key is required");
    }

    #[test]
    fn host_patterns_match_host_and_port() {
        let p = |s| HostPattern::parse(s).expect("pattern");
        assert!(p("127.0.0.1").allows("127.0.0.1", Some(8031)));
        assert!(p("*.gov.hu").allows("szl.gov.hu", Some(443)));
        assert!(!p("*.gov.hu").allows("gov.hu", Some(443)));
        assert!(!p("*.gov.hu").allows("evilgov.hu", Some(443)));
        assert!(p("szl.example:8443").allows("SZL.example", Some(8443)));
        assert!(!p("szl.example:8443").allows("szl.example", Some(443)));
        assert!(HostPattern::parse("a b").is_none());
    }
}
