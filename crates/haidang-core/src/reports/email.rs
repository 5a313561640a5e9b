//! Reports that arrive by email: the sender becomes the contact (the reply goes back to them),
//! subject and text the description, photo and video attachments the report's media. Other
//! attachments are named in the description for the operator, not kept.

use super::model::{Channel, Contact};
use super::service::{NewReport, Receipt, ReportService};
use crate::accounts::Subject;
use crate::error::{CoreError, CoreResult};

/// A message as the mail connector read it.
#[derive(Debug, Clone, Default)]
pub struct IncomingEmail {
    pub from_name: Option<String>,
    pub from_email: Option<String>,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<(String, Vec<u8>)>,
}

impl ReportService {
    /// A report from an email, filed under `category` for the operator to classify when
    /// verifying it.
    pub async fn intake_email(
        &self,
        by: &Subject,
        mail: IncomingEmail,
        category: &str,
    ) -> CoreResult<Receipt> {
        let mut description = match (mail.subject.trim(), mail.text.trim()) {
            ("", text) => text.to_string(),
            (subject, "") => subject.to_string(),
            (subject, text) => format!("{subject}\n\n{text}"),
        };
        let mut media_ids = Vec::new();
        let mut refused = Vec::new();
        for (name, bytes) in &mail.attachments {
            if media_ids.len() >= super::uploads::MAX_MEDIA_PER_REPORT {
                refused.push(name.clone());
                continue;
            }
            match self.upload(Some(by), bytes).await {
                Ok(m) => media_ids.push(m.id),
                Err(CoreError::TooLarge { .. } | CoreError::UnsupportedType(_)) => refused.push(name.clone()),
                Err(e) => return Err(e),
            }
        }
        if !refused.is_empty() {
            description.push_str(&format!("\n\n[Tệp đính kèm không nhận: {}]", refused.join(", ")));
        }
        let max = self.settings.max_description;
        if description.chars().count() > max {
            description = description.chars().take(max - 1).collect::<String>() + "…";
        }
        let contact = Contact { name: mail.from_name, email: mail.from_email, ..Contact::default() };
        let has_contact = !contact.is_empty();
        let new = NewReport {
            category: category.to_string(),
            description,
            channel: Some(Channel::Email),
            contact: has_contact.then_some(contact),
            // Writing to the centre asks for an answer: the address is used for that only.
            consent: has_contact.then(|| "Trả lời người gửi qua thư điện tử về phản ánh này".to_string()),
            media_ids,
            ..NewReport::default()
        };
        self.intake(Some(by), new).await
    }
}
