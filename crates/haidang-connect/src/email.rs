//! Citizen reports by email: a message (an .eml file from the centre's mailbox, dropped in a
//! folder by the mail system) read into its sender, subject, text and attachments. What becomes
//! of them is the report service's business.

use mail_parser::{MessageParser, MimeHeaders};

/// What a report needs from an email.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailReport {
    pub message_id: Option<String>,
    pub from_name: Option<String>,
    pub from_email: Option<String>,
    pub subject: String,
    pub text: String,
    /// (file name, bytes) of each attachment.
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// Reads a message; None when it is not an email at all.
pub fn read_email(raw: &[u8]) -> Option<EmailReport> {
    let message = MessageParser::default().parse(raw)?;
    let from = message.from().and_then(|a| a.first());
    let text = message
        .body_text(0)
        .map(|t| t.to_string())
        // An HTML-only message: its text without the markup.
        .or_else(|| message.body_html(0).map(|h| strip_tags(&h)))
        .unwrap_or_default();
    let attachments = message
        .attachments()
        .map(|a| (a.attachment_name().unwrap_or("tep-dinh-kem").to_string(), a.contents().to_vec()))
        .collect();
    Some(EmailReport {
        message_id: message.message_id().map(String::from),
        from_name: from.and_then(|a| a.name()).map(String::from),
        from_email: from.and_then(|a| a.address()).map(String::from),
        subject: message.subject().unwrap_or_default().to_string(),
        text: text.trim().to_string(),
        attachments,
    })
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_citizens_email_with_a_photo_is_read_in_full() {
        let raw = "From: =?UTF-8?B?TMO5IFbEg24gUMOibmc=?= <pang@example.vn>\r\n\
To: phananh@laichau.gov.vn\r\n\
Subject: =?UTF-8?Q?=C4=90=C3=A8n_=C4=91=C6=B0=E1=BB=9Dng_h=E1=BB=8Fng?=\r\n\
Message-ID: <abc@example.vn>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Đèn đường trước số 12 Trần Phú tắt 3 hôm nay.\r\n\
--b\r\n\
Content-Type: image/jpeg; name=\"anh.jpg\"\r\n\
Content-Disposition: attachment; filename=\"anh.jpg\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
/9j/4AAQ\r\n\
--b--\r\n";
        let mail = read_email(raw.as_bytes()).unwrap();
        assert_eq!(mail.from_name.as_deref(), Some("Lù Văn Pâng"));
        assert_eq!(mail.from_email.as_deref(), Some("pang@example.vn"));
        assert_eq!(mail.subject, "Đèn đường hỏng");
        assert!(mail.text.contains("Trần Phú tắt 3 hôm nay"));
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].0, "anh.jpg");
        assert_eq!(mail.attachments[0].1, vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]);
        assert_eq!(mail.message_id.as_deref(), Some("abc@example.vn"));
    }

    #[test]
    fn an_html_only_message_keeps_its_words() {
        let raw = "From: a@b.vn\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Rác <b>ùn ứ</b> ở chợ</p>";
        let mail = read_email(raw.as_bytes()).unwrap();
        assert!(
            mail.text.contains("Rác") && mail.text.contains("ùn ứ") && !mail.text.contains('<'),
            "{}",
            mail.text
        );
    }
}
