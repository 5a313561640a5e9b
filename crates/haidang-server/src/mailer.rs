//! Email notices to reporters over SMTP. The transport is built once from `reports.smtp_url`
//! (lettre reads the scheme, credentials, host, port and `tls=` from it) and checked at start,
//! so a wrong URL or sender stops the server with the key named instead of failing each notice.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use haidang_core::reports::notices::OutgoingNotice;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer for `url`, sending as `from`; the message names what is wrong.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err("must start with smtp:// or smtps://".into());
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("not a mail server URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let bad = |e: lettre::address::AddressError| {
            format!("reports.smtp_from '{from}' is not an email address: {e}")
        };
        // "Name <address>", where the name may hold commas ("Trung tâm giám sát, điều hành...")
        // that RFC 5322 would want quoted: the name is taken as it is written.
        let from = match from.trim().strip_suffix('>').and_then(|f| f.rsplit_once('<')) {
            Some((name, address)) => {
                let name = name.trim().trim_matches('"').trim();
                Mailbox::new(
                    (!name.is_empty()).then(|| name.to_string()),
                    address.trim().parse().map_err(bad)?,
                )
            }
            None => Mailbox::new(None, from.trim().parse().map_err(bad)?),
        };
        Ok(Mailer { transport, from })
    }

    /// Sends a plain text message to one address (an agency told of an alert).
    pub async fn send_text(&self, to: &str, subject: &str, text: &str) -> Result<(), String> {
        let to =
            Mailbox::new(None, to.parse().map_err(|e| format!("the address '{to}' cannot be used: {e}"))?);
        let body = format!("{text}\n\n--\nThư tự động của Trung tâm giám sát, điều hành thông minh.\n");
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("the email could not be made: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| format!("the mail server refused: {e}"))
    }

    /// Sends the notice to the reporter's address (the caller checked there is one).
    pub async fn send(&self, notice: &OutgoingNotice) -> Result<(), String> {
        let address = notice.email.as_deref().unwrap_or_default();
        let to = Mailbox::new(
            notice.name.clone().filter(|n| !n.trim().is_empty()),
            address.parse().map_err(|e| format!("the reporter's address '{address}' cannot be used: {e}"))?,
        );
        let body = format!(
            "{}\n\n--\nThư tự động của Trung tâm giám sát, điều hành thông minh. \
             Vui lòng không trả lời thư này; tra cứu phản ánh bằng mã đã được cấp.\n",
            notice.text
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("Phản ánh số {}", notice.number))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("the email could not be made: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| format!("the mail server refused: {e}"))
    }
}
