//! Telling the reporter what happened: a notice is written with the step that causes it (an
//! outbox, in the same transaction), and a job hands it to the SMS/Zalo gateway's webhook and,
//! for a reporter who left an email address, to the mail server.
//! The contact is opened only when the notice is sent, so an identity erased meanwhile is never
//! sent anywhere. SMS text is also given without diacritics, which many gateways need.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::model::{CitizenReport, RejectReason};
use super::service::ReportService;
use crate::error::CoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportNotice {
    pub id: String,
    pub report_id: String,
    pub number: i64,
    /// The step that caused it ("receive", "assign", "reject", "request_info", "approve"...).
    pub event: String,
    /// The text, with {number} and {code} filled in when it is sent (a new report's number is
    /// given by the store as it is written).
    pub text_vi: String,
    /// The tracking code of a receipt notice, sealed; dropped once the notice is done.
    #[serde(default)]
    pub sealed_code: Option<String>,
    pub created_at: Timestamp,
    /// pending, sent, failed (gave up) or skipped (no contact, or no gateway configured).
    pub state: String,
    pub attempts: u32,
    pub next_at: Timestamp,
    pub last_error: Option<String>,
    /// The ways it has gone out so far ("webhook", "email"): a retry after one of two failed
    /// sends only the other.
    #[serde(default)]
    pub delivered: Vec<String>,
}

/// What the gateway receives.
#[derive(Debug, Clone, Serialize)]
pub struct OutgoingNotice {
    pub event: String,
    pub number: i64,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub text: String,
    /// The same text without Vietnamese diacritics, for SMS gateways that take only ASCII.
    pub sms_text: String,
}

/// The text the reporter gets for a step, or None when the step is not one they are told of.
pub fn text_for(event: &str, report: &CitizenReport, note: &str, with_code: bool) -> Option<String> {
    let n = "{number}";
    let text = match event {
        "receive" if with_code => {
            format!(
                "Hải Đăng: đã tiếp nhận phản ánh số {n}. Mã tra cứu: {{code}}. Vui lòng giữ mã để theo dõi."
            )
        }
        "receive" => format!("Hải Đăng: đã tiếp nhận phản ánh số {n}."),
        "assign" | "transfer" => format!("Hải Đăng: phản ánh số {n} đã được chuyển đơn vị xử lý."),
        "reject" => {
            let why = match report.reject_reason {
                Some(RejectReason::Spam) => "nội dung không phù hợp",
                Some(RejectReason::Duplicate) => "trùng với phản ánh khác",
                Some(RejectReason::OutOfScope) => "không thuộc phạm vi tiếp nhận",
                Some(RejectReason::NotEnoughInformation) | None => "chưa đủ thông tin",
            };
            format!("Hải Đăng: phản ánh số {n} không được tiếp nhận: {why}.")
        }
        "merge" => format!(
            "Hải Đăng: phản ánh số {n} trùng với phản ánh đang xử lý và được theo dõi cùng phản ánh đó."
        ),
        "request_info" => format!("Hải Đăng: phản ánh số {n} cần bổ sung thông tin: {note}"),
        "approve" => {
            format!("Hải Đăng: phản ánh số {n} đã có kết quả xử lý. Tra cứu bằng mã để xem và đánh giá.")
        }
        _ => return None,
    };
    Some(text)
}

/// Vietnamese without its diacritics ("Hải Đăng: đã tiếp nhận" → "Hai Dang: da tiep nhan").
pub fn without_diacritics(text: &str) -> String {
    const GROUPS: [(&str, char); 14] = [
        ("àáạảãâầấậẩẫăằắặẳẵ", 'a'),
        ("ÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴ", 'A'),
        ("èéẹẻẽêềếệểễ", 'e'),
        ("ÈÉẸẺẼÊỀẾỆỂỄ", 'E'),
        ("ìíịỉĩ", 'i'),
        ("ÌÍỊỈĨ", 'I'),
        ("òóọỏõôồốộổỗơờớợởỡ", 'o'),
        ("ÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠ", 'O'),
        ("ùúụủũưừứựửữ", 'u'),
        ("ÙÚỤỦŨƯỪỨỰỬỮ", 'U'),
        ("ỳýỵỷỹ", 'y'),
        ("ỲÝỴỶỸ", 'Y'),
        ("đ", 'd'),
        ("Đ", 'D'),
    ];
    text.chars()
        .map(|c| GROUPS.iter().find(|(set, _)| set.contains(c)).map(|(_, plain)| *plain).unwrap_or(c))
        // Combining marks (text typed in decomposed form) are dropped.
        .filter(|c| !('\u{0300}'..='\u{036f}').contains(c))
        .collect()
}

impl ReportService {
    /// A notice for the reporter of `report`, when they left a contact and the event is one
    /// they are told of.
    pub(super) fn notice(
        &self,
        report: &CitizenReport,
        event: &str,
        note: &str,
        tracking_code: Option<&str>,
    ) -> Option<ReportNotice> {
        report.contact_sealed.as_ref()?;
        let text_vi = text_for(event, report, note, tracking_code.is_some())?;
        let at = self.now();
        let id = crate::accounts::secret::new_id();
        let sealed_code = tracking_code.and_then(|code| self.vault.seal_text(&id, code).ok());
        Some(ReportNotice {
            sealed_code,
            id,
            report_id: report.id.clone(),
            number: report.number,
            event: event.to_string(),
            text_vi,
            created_at: at,
            state: "pending".into(),
            attempts: 0,
            next_at: at,
            last_error: None,
            delivered: Vec::new(),
        })
    }

    /// Notices due now, with what to send; a notice whose reporter has no contact any more
    /// (erased meanwhile) comes back with no message and is marked skipped by the caller.
    pub async fn due_notices(&self, limit: i64) -> CoreResult<Vec<(ReportNotice, Option<OutgoingNotice>)>> {
        let mut out = Vec::new();
        for notice in self.repo.due_report_notices(self.now(), limit).await? {
            let report = self.repo.get_report(&notice.report_id).await?;
            let contact = match report.as_ref().and_then(|r| r.contact_sealed.as_deref().map(|s| (r, s))) {
                Some((r, sealed)) => Some(self.vault.open(&r.id, sealed)?),
                None => None,
            };
            let number = report.as_ref().map_or(notice.number, |r| r.number);
            let code = match &notice.sealed_code {
                Some(sealed) => self.vault.open_text(&notice.id, sealed)?,
                None => String::new(),
            };
            let text = notice.text_vi.replace("{number}", &number.to_string()).replace("{code}", &code);
            let message =
                contact.filter(|c| c.phone.is_some() || c.email.is_some()).map(|c| OutgoingNotice {
                    event: notice.event.clone(),
                    number,
                    name: c.name,
                    phone: c.phone,
                    email: c.email,
                    sms_text: without_diacritics(&text),
                    text,
                });
            out.push((notice, message));
        }
        Ok(out)
    }

    /// Records what a delivery came to: sent, skipped, or failed with a retry later (given up
    /// after 10 attempts).
    pub async fn record_notice(
        &self,
        mut notice: ReportNotice,
        outcome: Result<&str, String>,
    ) -> CoreResult<()> {
        notice.attempts += 1;
        match outcome {
            Ok(state) => {
                notice.state = state.to_string();
                notice.last_error = None;
                notice.sealed_code = None;
            }
            Err(e) => {
                notice.last_error = Some(e);
                if notice.attempts >= 10 {
                    notice.state = "failed".into();
                    notice.sealed_code = None;
                } else {
                    let wait = 30i64 * (1 << notice.attempts.min(8));
                    notice.next_at = self.now() + jiff::SignedDuration::from_secs(wait);
                }
            }
        }
        self.repo.update_report_notice(&notice).await
    }

    /// Every notice of a report, for the console.
    pub async fn notices_of(&self, report_id: &str) -> CoreResult<Vec<ReportNotice>> {
        self.repo.report_notices(report_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_text_keeps_every_letter_without_its_marks() {
        assert_eq!(
            without_diacritics("Hải Đăng: phản ánh số 12 đã được chuyển đơn vị xử lý. Ưu tiên, Ở, Ỹ"),
            "Hai Dang: phan anh so 12 da duoc chuyen don vi xu ly. Uu tien, O, Y"
        );
        // Decomposed input (a base letter and combining marks).
        assert_eq!(without_diacritics("a\u{0301}o\u{0302}\u{0300}"), "ao");
        assert_eq!(without_diacritics("Nguyễn Thị Ánh Tuyết"), "Nguyen Thi Anh Tuyet");
    }
}
