//! One SMTP connection (RFC 5321), optionally upgraded with STARTTLS (RFC 3207).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::store::{Envelope, Store};

/// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
const COMMAND_LINE_LIMIT: usize = 512;
/// Longest text line of a message, CRLF included (RFC 5321 §4.5.3.1.6).
const TEXT_LINE_LIMIT: usize = 1000;
/// Most recipients per transaction (RFC 5321 §4.5.3.1.8 asks for at least 100).
const MAX_RECIPIENTS: usize = 100;
/// How long to wait for the next command (RFC 5321 §4.5.3.2.7 suggests 5 minutes).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// What every session needs to know.
pub(crate) struct Context {
    pub(crate) store: Store,
    pub(crate) hostname: String,
    pub(crate) max_message_size: usize,
    pub(crate) tls: Option<TlsAcceptor>,
}

/// Serves one client until it quits or disconnects.
pub(crate) async fn serve(stream: TcpStream, context: Arc<Context>) {
    let peer = stream.peer_addr().ok();
    let mut conn = BufReader::new(stream);
    let outcome = Session::new(&context, false).run(&mut conn).await;
    let outcome = match (outcome, &context.tls) {
        (Ok(Flow::StartTls), Some(acceptor)) => {
            // Anything the client pipelined after STARTTLS is discarded with the buffer,
            // as RFC 3207 §4.2 requires.
            match acceptor.accept(conn.into_inner()).await {
                Ok(tls) => Session::new(&context, true).run(&mut BufReader::new(tls)).await,
                Err(error) => Err(error),
            }
        }
        (outcome, _) => outcome,
    };
    if let Err(error) = outcome {
        tracing::debug!(?peer, %error, "SMTP session ended with an error");
    }
}

/// What happens after a command.
enum Flow {
    /// Read the next command.
    Continue,
    /// QUIT, a disconnect or a timeout: the session is over.
    Closed,
    /// STARTTLS was accepted; the caller continues over TLS.
    StartTls,
}

/// A line read from the client.
enum Line {
    /// The line without its CRLF (or bare LF).
    Complete(Vec<u8>),
    /// The line was longer than allowed; it has been read and discarded.
    TooLong,
    /// The client closed the connection.
    Eof,
}

struct Transaction {
    mail_from: String,
    rcpt_to: Vec<String>,
}

struct Session<'a> {
    context: &'a Context,
    is_tls: bool,
    /// The client's HELO/EHLO domain, once greeted.
    greeted: Option<String>,
    auth_user: Option<String>,
    transaction: Option<Transaction>,
}

/// Writes one reply, multi-line if `text` has several lines.
async fn reply<W: AsyncWrite + Unpin>(conn: &mut W, code: u16, text: &str) -> io::Result<()> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let separator = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("{code}{separator}{line}\r\n"));
    }
    conn.write_all(out.as_bytes()).await?;
    conn.flush().await
}

/// Reads one line of at most `limit` bytes (CRLF included).
async fn read_line<R: AsyncBufRead + Unpin>(conn: &mut R, limit: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = conn.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let (take, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(pos) => (pos + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if line.len() + take > limit {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&available[..take]);
            }
        }
        conn.consume(take);
        if complete {
            if too_long {
                return Ok(Line::TooLong);
            }
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Line::Complete(line));
        }
    }
}

impl<'a> Session<'a> {
    fn new(context: &'a Context, is_tls: bool) -> Self {
        Self { context, is_tls, greeted: None, auth_user: None, transaction: None }
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(mut self, conn: &mut BufReader<S>) -> io::Result<Flow> {
        if !self.is_tls {
            let greeting = format!("{} ESMTP kapu-sim ready", self.context.hostname);
            reply(conn, 220, &greeting).await?;
        }
        loop {
            let line = match tokio::time::timeout(COMMAND_TIMEOUT, read_line(conn, COMMAND_LINE_LIMIT)).await {
                Ok(line) => line?,
                Err(_) => {
                    reply(conn, 421, "4.4.2 Timeout, closing connection").await?;
                    return Ok(Flow::Closed);
                }
            };
            let line = match line {
                Line::Eof => return Ok(Flow::Closed),
                Line::TooLong => {
                    reply(conn, 500, "5.5.2 Line too long").await?;
                    continue;
                }
                Line::Complete(line) => line,
            };
            let Ok(line) = String::from_utf8(line) else {
                reply(conn, 500, "5.5.2 Command line is not valid UTF-8").await?;
                continue;
            };
            let (verb, arg) = match line.split_once(' ') {
                Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim()),
                None => (line.trim().to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "HELO" | "EHLO" => self.helo(conn, &verb, arg).await?,
                "MAIL" => self.mail(conn, arg).await?,
                "RCPT" => self.rcpt(conn, arg).await?,
                "DATA" => {
                    if let Flow::Closed = self.data(conn, arg).await? {
                        return Ok(Flow::Closed);
                    }
                }
                "RSET" => {
                    self.transaction = None;
                    reply(conn, 250, "2.0.0 Ok").await?;
                }
                "NOOP" => reply(conn, 250, "2.0.0 Ok").await?,
                "VRFY" => {
                    reply(conn, 252, "2.1.5 Cannot VRFY user, but will accept message and attempt delivery").await?;
                }
                "HELP" => reply(conn, 214, "2.0.0 See RFC 5321").await?,
                "QUIT" => {
                    reply(conn, 221, "2.0.0 Bye").await?;
                    return Ok(Flow::Closed);
                }
                "STARTTLS" => {
                    if self.starttls(conn, arg).await? {
                        return Ok(Flow::StartTls);
                    }
                }
                "AUTH" => {
                    if let Flow::Closed = self.auth(conn, arg).await? {
                        return Ok(Flow::Closed);
                    }
                }
                "EXPN" | "TURN" | "ETRN" | "ATRN" | "BDAT" | "SEND" | "SOML" | "SAML" => {
                    reply(conn, 502, "5.5.1 Command not implemented").await?;
                }
                _ => reply(conn, 500, "5.5.2 Command not recognized").await?,
            }
        }
    }

    async fn helo<W: AsyncWrite + Unpin>(&mut self, conn: &mut W, verb: &str, arg: &str) -> io::Result<()> {
        if arg.is_empty() {
            return reply(conn, 501, &format!("5.5.4 Syntax: {verb} hostname")).await;
        }
        self.greeted = Some(arg.to_owned());
        self.transaction = None;
        let hostname = &self.context.hostname;
        if verb == "HELO" {
            return reply(conn, 250, &format!("{hostname} greets {arg}")).await;
        }
        let mut lines = vec![
            format!("{hostname} greets {arg}"),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.context.max_message_size),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.context.tls.is_some() && !self.is_tls {
            lines.push("STARTTLS".to_owned());
        }
        lines.push("AUTH PLAIN LOGIN".to_owned());
        reply(conn, 250, &lines.join("\n")).await
    }

    async fn mail<W: AsyncWrite + Unpin>(&mut self, conn: &mut W, arg: &str) -> io::Result<()> {
        if self.greeted.is_none() {
            return reply(conn, 503, "5.5.1 Send HELO/EHLO first").await;
        }
        if self.transaction.is_some() {
            return reply(conn, 503, "5.5.1 Nested MAIL command").await;
        }
        let Some((path, params)) = parse_path(arg, "FROM:") else {
            return reply(conn, 501, "5.5.4 Syntax: MAIL FROM:<address>").await;
        };
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<usize>() {
                    Ok(size) if size > self.context.max_message_size => {
                        return reply(conn, 552, "5.3.4 Message size exceeds fixed limit").await;
                    }
                    Ok(_) => {}
                    Err(_) => return reply(conn, 501, "5.5.4 Invalid SIZE parameter").await,
                },
                "BODY" | "SMTPUTF8" | "AUTH" => {}
                _ => {
                    return reply(conn, 555, "5.5.4 Unsupported MAIL parameter").await;
                }
            }
        }
        self.transaction = Some(Transaction { mail_from: path, rcpt_to: Vec::new() });
        reply(conn, 250, "2.1.0 Ok").await
    }

    async fn rcpt<W: AsyncWrite + Unpin>(&mut self, conn: &mut W, arg: &str) -> io::Result<()> {
        let Some(transaction) = &mut self.transaction else {
            return reply(conn, 503, "5.5.1 Need MAIL before RCPT").await;
        };
        let Some((path, params)) = parse_path(arg, "TO:") else {
            return reply(conn, 501, "5.5.4 Syntax: RCPT TO:<address>").await;
        };
        if path.is_empty() {
            return reply(conn, 501, "5.1.3 Empty recipient address").await;
        }
        if !params.is_empty() {
            return reply(conn, 555, "5.5.4 Unsupported RCPT parameter").await;
        }
        if transaction.rcpt_to.len() >= MAX_RECIPIENTS {
            return reply(conn, 452, "4.5.3 Too many recipients").await;
        }
        transaction.rcpt_to.push(path);
        reply(conn, 250, "2.1.5 Ok").await
    }

    async fn data<S: AsyncRead + AsyncWrite + Unpin>(&mut self, conn: &mut BufReader<S>, arg: &str) -> io::Result<Flow> {
        match &self.transaction {
            None => {
                reply(conn, 503, "5.5.1 Need MAIL before DATA").await?;
                return Ok(Flow::Continue);
            }
            Some(t) if t.rcpt_to.is_empty() => {
                reply(conn, 503, "5.5.1 Need RCPT before DATA").await?;
                return Ok(Flow::Continue);
            }
            Some(_) if !arg.is_empty() => {
                reply(conn, 501, "5.5.4 Syntax: DATA").await?;
                return Ok(Flow::Continue);
            }
            Some(_) => {}
        }
        reply(conn, 354, "End data with <CR><LF>.<CR><LF>").await?;

        let max = self.context.max_message_size;
        let mut raw = Vec::new();
        let mut too_big = false;
        let mut too_long = false;
        loop {
            match read_line(conn, TEXT_LINE_LIMIT).await? {
                Line::Eof => return Ok(Flow::Closed),
                Line::TooLong => too_long = true,
                Line::Complete(line) if line == b"." => break,
                Line::Complete(line) => {
                    let content = line.strip_prefix(b".").unwrap_or(&line);
                    if raw.len() + content.len() + 2 > max {
                        too_big = true;
                    }
                    if !too_big {
                        raw.extend_from_slice(content);
                        raw.extend_from_slice(b"\r\n");
                    }
                }
            }
        }
        let Some(transaction) = self.transaction.take() else {
            return Ok(Flow::Continue);
        };
        if too_big {
            reply(conn, 552, "5.3.4 Message size exceeds fixed limit").await?;
            return Ok(Flow::Continue);
        }
        if too_long {
            reply(conn, 500, "5.5.2 Line too long").await?;
            return Ok(Flow::Continue);
        }
        if !self.wait_while_held(conn).await {
            // No addresses in the log: they are personal data.
            tracing::info!(recipients = transaction.rcpt_to.len(), "client left while its message was held; discarded");
            return Ok(Flow::Closed);
        }
        let id = self
            .context
            .store
            .insert(Envelope { mail_from: transaction.mail_from, rcpt_to: transaction.rcpt_to, auth_user: self.auth_user.clone() }, raw);
        tracing::info!(id, "message received");
        reply(conn, 250, &format!("2.0.0 Ok: queued as {id}")).await?;
        Ok(Flow::Continue)
    }

    /// While the hold switch is on, keeps the finished transaction unanswered. Returns
    /// `false` if the client disconnects meanwhile (the message is then discarded).
    async fn wait_while_held<S: AsyncRead + Unpin>(&self, conn: &mut BufReader<S>) -> bool {
        let store = &self.context.store;
        let mut hold = store.subscribe_hold();
        if !*hold.borrow_and_update() {
            return true;
        }
        let _held = store.enter_hold();
        tracing::info!("holding a finished transaction");
        let released = tokio::select! {
            released = hold.wait_for(|on| !*on) => Some(released.is_ok()),
            // A well-behaved client sends nothing until it has our reply, so readable
            // means end-of-file or an error, i.e. gone.
            input = conn.fill_buf() => match input {
                Ok([]) | Err(_) => Some(false),
                Ok(_) => None,
            },
        };
        let disconnected = match released {
            Some(released) => !released,
            None => hold.wait_for(|on| !*on).await.is_err(),
        };
        !disconnected
    }

    /// Handles STARTTLS; `true` means the reply 220 has been sent and TLS must begin.
    async fn starttls<W: AsyncWrite + Unpin>(&mut self, conn: &mut W, arg: &str) -> io::Result<bool> {
        if self.context.tls.is_none() {
            reply(conn, 502, "5.5.1 STARTTLS not available").await?;
            return Ok(false);
        }
        if self.is_tls {
            reply(conn, 503, "5.5.1 TLS already active").await?;
            return Ok(false);
        }
        if !arg.is_empty() {
            reply(conn, 501, "5.5.4 Syntax: STARTTLS").await?;
            return Ok(false);
        }
        if self.greeted.is_none() {
            reply(conn, 503, "5.5.1 Send EHLO first").await?;
            return Ok(false);
        }
        reply(conn, 220, "2.0.0 Ready to start TLS").await?;
        Ok(true)
    }

    /// AUTH PLAIN and AUTH LOGIN (RFC 4954, 4616); any credentials are accepted.
    async fn auth<S: AsyncRead + AsyncWrite + Unpin>(&mut self, conn: &mut BufReader<S>, arg: &str) -> io::Result<Flow> {
        if self.greeted.is_none() {
            reply(conn, 503, "5.5.1 Send EHLO first").await?;
            return Ok(Flow::Continue);
        }
        if self.auth_user.is_some() {
            reply(conn, 503, "5.5.1 Already authenticated").await?;
            return Ok(Flow::Continue);
        }
        if self.transaction.is_some() {
            reply(conn, 503, "5.5.1 AUTH not allowed during a mail transaction").await?;
            return Ok(Flow::Continue);
        }
        let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
        let user = match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => {
                let response = if initial.is_empty() {
                    match self.challenge(conn, "").await? {
                        Some(response) => response,
                        None => return Ok(Flow::Closed),
                    }
                } else {
                    initial.to_owned()
                };
                decode(&response).and_then(|plain| {
                    // authzid NUL authcid NUL password
                    plain.split('\0').nth(1).map(str::to_owned)
                })
            }
            "LOGIN" => {
                let user = match self.challenge(conn, "VXNlcm5hbWU6").await? {
                    Some(response) => decode(&response),
                    None => return Ok(Flow::Closed),
                };
                if user.is_some() && self.challenge(conn, "UGFzc3dvcmQ6").await?.is_none() {
                    return Ok(Flow::Closed);
                }
                user
            }
            _ => {
                reply(conn, 504, "5.5.4 Unrecognized authentication type").await?;
                return Ok(Flow::Continue);
            }
        };
        match user {
            Some(user) => {
                self.auth_user = Some(user);
                reply(conn, 235, "2.7.0 Authentication successful").await?;
            }
            None => reply(conn, 501, "5.5.2 Cannot decode the response").await?,
        }
        Ok(Flow::Continue)
    }

    /// Sends a 334 challenge and reads the answer; `None` on disconnect.
    async fn challenge<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut BufReader<S>,
        challenge: &str,
    ) -> io::Result<Option<String>> {
        reply(conn, 334, challenge).await?;
        match read_line(conn, COMMAND_LINE_LIMIT).await? {
            Line::Eof => Ok(None),
            Line::TooLong => Ok(Some(String::new())),
            Line::Complete(line) => Ok(Some(String::from_utf8_lossy(&line).into_owned())),
        }
    }
}

fn decode(base64: &str) -> Option<String> {
    let bytes = BASE64.decode(base64.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

/// Parses `FROM:<path> params` (or `TO:`), case-insensitively and allowing a space after the
/// colon. Returns the address without brackets or source route, and the parameters.
fn parse_path<'s>(arg: &'s str, prefix: &str) -> Option<(String, &'s str)> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let path = &rest[..end];
    let address = match path.strip_prefix('@') {
        Some(route) => route.split_once(':')?.1,
        None => path,
    };
    Some((address.to_owned(), rest[end + 1..].trim()))
}
