//! Citizen reports from the centre's mailbox over IMAP: each round logs in, takes the messages
//! waiting in the folder, hands each to the report service, and moves it to `HaiDang-Done` once
//! its report is written, or to `HaiDang-Failed` when it cannot become one, so the mailbox shows
//! what happened to every message and nothing is taken twice. A crash between the report and
//! the move takes the message again at the next round (at least once, as the drop folder).
//!
//! The server must offer MOVE (RFC 6851), as Dovecot, Exchange, Gmail and most others do.

use std::future::Future;
use std::sync::Arc;

use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub const DONE_FOLDER: &str = "HaiDang-Done";
pub const FAILED_FOLDER: &str = "HaiDang-Failed";

/// Messages taken in one round at most; the rest wait for the next.
const PER_ROUND: usize = 50;

/// Where the centre's mailbox is: `imaps://user:password@host:993/INBOX` (TLS) or
/// `imap://user:password@host:143/INBOX` (plain, for a server on a trusted network).
#[derive(Clone, PartialEq)]
pub struct ImapMailbox {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: String,
    pub password: String,
    pub folder: String,
}

impl std::fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}@{}:{}/{}",
            if self.tls { "imaps" } else { "imap" },
            self.username,
            self.host,
            self.port,
            self.folder
        )
    }
}

/// What a round did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Round {
    pub taken: usize,
    /// Each message set aside, with why.
    pub failed: Vec<String>,
}

impl ImapMailbox {
    /// Reads the URL; the message names what is wrong with it.
    pub fn parse(text: &str) -> Result<ImapMailbox, String> {
        let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            other => return Err(format!("the scheme must be imaps or imap, not '{other}'")),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the URL names no host")?.to_string();
        let decode = |s: &str| {
            percent_decode(s)
                .ok_or_else(|| "the user name or password is not valid percent-encoding".to_string())
        };
        let username = decode(url.username())?;
        if username.is_empty() {
            return Err("the URL names no user (imaps://user:password@host/INBOX)".into());
        }
        let password = decode(url.password().unwrap_or(""))?;
        let folder = decode(url.path().trim_start_matches('/'))?;
        // IMAP names folders in a modified UTF-7 this client does not write: a name in
        // Vietnamese would be sent wrongly and not found.
        if !folder.is_ascii() {
            return Err(format!("the folder '{folder}' must be named in ASCII letters (INBOX, PhanAnh...)"));
        }
        Ok(ImapMailbox {
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            host,
            tls,
            username,
            password,
            folder: if folder.is_empty() { "INBOX".into() } else { folder },
        })
    }

    /// One round: each waiting message (its raw bytes) to `take`, then filed by the outcome.
    pub async fn round<F, Fut>(&self, take: F) -> Result<Round, String>
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let tcp = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| format!("{}:{} did not answer", self.host, self.port))?
        .map_err(|e| format!("{}:{}: {e}", self.host, self.port))?;
        if self.tls {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                .map_err(|e| format!("'{}' is not a server name: {e}", self.host))?;
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {}: {e}", self.host))?;
            self.session_round(stream, take).await
        } else {
            self.session_round(tcp, take).await
        }
    }

    async fn session_round<S, F, Fut>(&self, stream: S, mut take: F) -> Result<Round, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let imap_err = |what: &str, e: async_imap::error::Error| format!("{what}: {e}");
        let mut client = async_imap::Client::new(stream);
        client
            .read_response()
            .await
            .map_err(|e| format!("the server's greeting: {e}"))?
            .ok_or("the server closed the connection before greeting")?;
        let mut session = client
            .login(&self.username, &self.password)
            .await
            .map_err(|(e, _)| format!("login as {}: {e}", self.username))?;
        // Before anything is taken: a message taken and then not moved would be taken again
        // every round, so the server must move, and both folders must be there.
        let caps = session.capabilities().await.map_err(|e| imap_err("capabilities", e))?;
        if !caps.has_str("MOVE") {
            let _ = session.logout().await;
            return Err("the mail server does not offer MOVE (RFC 6851); messages could not be filed".into());
        }
        for folder in [DONE_FOLDER, FAILED_FOLDER] {
            // Already there after the first round: the error is expected, and the check after
            // it says whether the folder is really missing.
            let _ = session.create(folder).await;
            session.examine(folder).await.map_err(|e| imap_err(&format!("folder {folder}"), e))?;
        }
        session.select(&self.folder).await.map_err(|e| imap_err(&format!("folder {}", self.folder), e))?;
        let mut uids: Vec<u32> =
            session.uid_search("ALL").await.map_err(|e| imap_err("search", e))?.into_iter().collect();
        uids.sort_unstable();
        uids.truncate(PER_ROUND);
        let mut round = Round::default();
        if uids.is_empty() {
            let _ = session.logout().await;
            return Ok(round);
        }
        for uid in uids {
            let raw = {
                let fetched: Vec<_> = session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await
                    .map_err(|e| imap_err("fetch", e))?
                    .try_collect()
                    .await
                    .map_err(|e| imap_err("fetch", e))?;
                fetched.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body().map(<[u8]>::to_vec))
            };
            let outcome = match raw {
                Some(raw) => take(raw).await,
                None => Err("the server sent no message body".to_string()),
            };
            let folder = match &outcome {
                Ok(()) => {
                    round.taken += 1;
                    DONE_FOLDER
                }
                Err(why) => {
                    round.failed.push(format!("message {uid}: {why}"));
                    FAILED_FOLDER
                }
            };
            session
                .uid_mv(uid.to_string(), folder)
                .await
                .map_err(|e| imap_err(&format!("move to {folder}"), e))?;
        }
        let _ = session.logout().await;
        Ok(round)
    }
}

/// %XX escapes of a URL's user, password or path, as UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_url_names_the_server_account_and_folder() {
        let m =
            ImapMailbox::parse("imaps://phananh%40laichau.gov.vn:m%E1%BA%ADt@mail.laichau.gov.vn/Phan%20anh")
                .unwrap();
        assert_eq!(
            (m.host.as_str(), m.port, m.tls, m.username.as_str(), m.password.as_str(), m.folder.as_str()),
            ("mail.laichau.gov.vn", 993, true, "phananh@laichau.gov.vn", "mật", "Phan anh")
        );
        let e = ImapMailbox::parse("imaps://u:p@mail.laichau.gov.vn/Ph%E1%BA%A3n%20%C3%A1nh").unwrap_err();
        assert!(e.contains("ASCII"), "{e}");
        let plain = ImapMailbox::parse("imap://u:p@127.0.0.1:14300").unwrap();
        assert_eq!((plain.port, plain.tls, plain.folder.as_str()), (14300, false, "INBOX"));
        assert!(!format!("{plain:?}").contains(":p@"), "the password is never printed");
        for (bad, says) in [
            ("pop3://u:p@mail", "scheme"),
            ("imaps://mail.laichau.gov.vn", "no user"),
            ("mail.laichau.gov.vn", "not a URL"),
        ] {
            let e = ImapMailbox::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
