//! Origins from configuration: where every absolute link Kapu sends or publishes points.
//!
//! A link is never built from a request's `Host` header, which the sender chooses. It is
//! built from the tenant's configured origin (`origin` in `tenant.toml`), or else from the
//! deployment's public URL (`KAPU_PUBLIC_URL`) followed by `/t/{slug}`.

use serde::{Deserialize, Serialize};

/// Why a text is not an origin.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Not a URL at all.
    #[error("{0:?} is not a URL: {1}")]
    NotAUrl(String, String),
    /// A scheme other than `http` or `https`.
    #[error("{0:?}: the scheme must be http or https")]
    Scheme(String),
    /// A user name or password before the host.
    #[error("{0:?}: an origin has no user name or password")]
    Userinfo(String),
    /// A path, query or fragment after the host and port.
    #[error("{0:?}: an origin is only scheme, host and port, without path, query or fragment")]
    NotJustOrigin(String),
}

/// An origin: scheme (`http` or `https`), host and port, e.g. `https://kapu.example.hu`.
/// Its text is the ASCII serialization without a default port and without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin {
    text: String,
    host: String,
    https: bool,
}

impl Origin {
    /// Checks and normalises an origin; a single trailing slash is accepted.
    pub fn parse(s: &str) -> Result<Self, OriginError> {
        let url = url::Url::parse(s.trim()).map_err(|e| OriginError::NotAUrl(s.to_owned(), e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OriginError::Scheme(s.to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OriginError::Userinfo(s.to_owned()));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(OriginError::NotJustOrigin(s.to_owned()));
        }
        let Some(host) = url.host_str() else { return Err(OriginError::NotJustOrigin(s.to_owned())) };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        Ok(Self { text: url.origin().ascii_serialization(), host, https: url.scheme() == "https" })
    }

    /// `http://127.0.0.1:<port>`: a development server's origin.
    pub fn loopback(port: u16) -> Self {
        Self { text: format!("http://127.0.0.1:{port}"), host: "127.0.0.1".into(), https: false }
    }

    /// The origin as text, e.g. `https://kapu.example.hu:8443`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host without port, lowercase; an IPv6 address in brackets (`[::1]`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Origin {
    type Err = OriginError;
    fn from_str(s: &str) -> Result<Self, OriginError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Origin {
    type Error = OriginError;
    fn try_from(s: String) -> Result<Self, OriginError> {
        Self::parse(&s)
    }
}

impl From<Origin> for String {
    fn from(o: Origin) -> Self {
        o.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        for (input, text, host) in [
            ("https://kapu.example.hu", "https://kapu.example.hu", "kapu.example.hu"),
            ("https://kapu.example.hu/", "https://kapu.example.hu", "kapu.example.hu"),
            ("HTTPS://Kapu.Example.HU:443", "https://kapu.example.hu", "kapu.example.hu"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1"),
            ("http://[::1]:9000/", "http://[::1]:9000", "[::1]"),
            ("https://ügyintézés.example.hu", "https://xn--gyintzs-fyab6p.example.hu", "xn--gyintzs-fyab6p.example.hu"),
        ] {
            let o = Origin::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(o.as_str(), text, "{input}");
            assert_eq!(o.host(), host, "{input}");
        }
        assert_eq!(Origin::loopback(8080), Origin::parse("http://127.0.0.1:8080").unwrap());
        assert!(Origin::parse("https://a.example").unwrap().is_https());
        assert!(!Origin::parse("http://a.example").unwrap().is_https());
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "",
            "kapu.example.hu",
            "ftp://kapu.example.hu",
            "javascript:alert(1)",
            "https://user@kapu.example.hu",
            "https://user:pw@kapu.example.hu",
            "https://kapu.example.hu/t/hegyvidek",
            "https://kapu.example.hu?x=1",
            "https://kapu.example.hu#x",
            "https://kapu.example.hu//",
            "https://kapu.example.hu:99999",
            "https://",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
