//! Blocking outbound HTTP over `wasi:http` 0.2.
//!
//! The host lets a request through only if its host is among the `allowed-hosts` of the
//! plugin's manifest and resolves to addresses the operator's network policy allows (no
//! loopback, private or link-local address unless the operator allows it); any other is
//! refused with [`HttpError::Denied`] and recorded for the tenant's admin. Redirects are not
//! followed: a plugin that follows one sends a new request, checked the same way.

use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// The largest response body [`Request::send`] reads (8 MiB).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The URL could not be used (only `http://` and `https://` URLs are).
    BadUrl(String),
    /// The host refused the request: its host is not allowed by the manifest.
    Denied,
    /// The request timed out.
    Timeout,
    /// The connection failed, or the response could not be read.
    Failed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::BadUrl(u) => write!(f, "unusable URL {u:?}"),
            HttpError::Denied => f.write_str("the host is not allowed by the plugin's manifest"),
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for crate::PluginError {
    /// A failed request means the remote system is unavailable, unless the manifest forbids it
    /// (then the configuration is wrong).
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::BadUrl(_) | HttpError::Denied => crate::PluginError::Config(e.to_string()),
            HttpError::Timeout | HttpError::Failed(_) => crate::PluginError::Unavailable(e.to_string()),
        }
    }
}

/// A response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// An outgoing request, built with [`Request::get`], [`Request::post`] or [`Request::new`].
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Request {
    /// A request with any method, e.g. `"PUT"`.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Self { method: method.to_owned(), url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        let (scheme, authority, path) = split_url(&self.url)?;
        let headers = Fields::new();
        for (name, value) in &self.headers {
            headers.append(name, value).map_err(|e| HttpError::Failed(format!("header {name}: {e:?}")))?;
        }
        let request = OutgoingRequest::new(headers);
        let method = match self.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_owned()),
        };
        let bad = |what: &str| HttpError::BadUrl(format!("{} ({what})", self.url));
        request.set_method(&method).map_err(|()| bad("method"))?;
        request.set_scheme(Some(&scheme)).map_err(|()| bad("scheme"))?;
        request.set_authority(Some(authority)).map_err(|()| bad("authority"))?;
        request.set_path_with_query(Some(path)).map_err(|()| bad("path"))?;
        let body = request.body().map_err(|()| HttpError::Failed("request body taken".into()))?;
        let future = outgoing_handler::handle(request, None).map_err(from_code)?;
        {
            let out = body.write().map_err(|()| HttpError::Failed("request body stream".into()))?;
            for chunk in self.body.chunks(4096) {
                out.blocking_write_and_flush(chunk).map_err(|e| HttpError::Failed(format!("writing the body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(from_code)?;
        future.subscribe().block();
        let incoming = match future.get() {
            Some(Ok(Ok(r))) => r,
            Some(Ok(Err(code))) => return Err(from_code(code)),
            Some(Err(())) | None => return Err(HttpError::Failed("no response".into())),
        };
        let status = incoming.status();
        let headers = incoming.headers().entries();
        let body = incoming.consume().map_err(|()| HttpError::Failed("response body taken".into()))?;
        let mut bytes = Vec::new();
        {
            let stream = body.stream().map_err(|()| HttpError::Failed("response body stream".into()))?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => {
                        bytes.extend_from_slice(&chunk);
                        if bytes.len() > MAX_RESPONSE_BYTES {
                            return Err(HttpError::Failed("response body over 8 MiB".into()));
                        }
                    }
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(HttpError::Failed(format!("reading the body: {}", e.to_debug_string())));
                    }
                }
            }
        }
        let _trailers = IncomingBody::finish(body);
        Ok(Response { status, headers, body: bytes })
    }
}

fn from_code(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied,
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout | ErrorCode::ConnectionWriteTimeout => HttpError::Timeout,
        other => HttpError::Failed(format!("{other:?}")),
    }
}

fn split_url(url: &str) -> Result<(Scheme, &str, &str), HttpError> {
    let bad = || HttpError::BadUrl(url.to_owned());
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(bad()),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    Ok((scheme, authority, if path.is_empty() { "/" } else { path }))
}
