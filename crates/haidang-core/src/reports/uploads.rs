//! Uploads of a report's photos and videos: checked and stripped of metadata on arrival, read
//! back as the public copy by anyone who has the report, as the original only by the roles
//! allowed to see personal data (each look audited), and pixelated by the centre before
//! publishing.

use super::media::{self, MediaRefusal, MediaType, Rect};
use super::model::ReportMedia;
use super::service::ReportService;
use crate::accounts::{secret, Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};

/// How many photos or videos one report may carry.
pub const MAX_MEDIA_PER_REPORT: usize = 5;

fn refused(r: MediaRefusal) -> CoreError {
    match r {
        MediaRefusal::TooLarge { max } => CoreError::TooLarge { max_bytes: max },
        MediaRefusal::Unsupported => CoreError::UnsupportedType("JPEG, PNG, WebP, MP4".into()),
    }
}

impl ReportService {
    /// An upload waiting for its report (the portal sends photos first, then the report).
    pub async fn upload(&self, by: Option<&Subject>, bytes: &[u8]) -> CoreResult<ReportMedia> {
        let (kind, public) = media::accept(bytes).map_err(refused)?;
        let m = ReportMedia {
            id: secret::new_id(),
            report_id: None,
            stage: "intake".into(),
            media_type: kind,
            size: bytes.len() as i64,
            redacted: false,
            uploaded_by: by.map(|s| s.username.clone()),
            created_at: self.now(),
        };
        self.repo.insert_media(&m, bytes, &public).await?;
        Ok(m)
    }

    /// A photo added by staff to a report they handle: the agency's result ("answer") or the
    /// centre's own ("intake", a hotline caller's photo sent by other means).
    pub async fn upload_for_report(
        &self,
        by: &Subject,
        report_id: &str,
        bytes: &[u8],
    ) -> CoreResult<ReportMedia> {
        let report = self.load(report_id).await?;
        let centre = by.can_everywhere(Action::ManageCitizenReports);
        let agency = report.agency_id.as_deref().is_some_and(|o| by.can(Action::HandleAssignedWork, Some(o)));
        if !centre && !agency {
            return Err(CoreError::Forbidden("upload".into()));
        }
        if self.repo.list_media(&report.id).await?.len() >= MAX_MEDIA_PER_REPORT * 2 {
            return Err(CoreError::validation("media", "this report has as many photos as it may hold"));
        }
        let (kind, public) = media::accept(bytes).map_err(refused)?;
        let m = ReportMedia {
            id: secret::new_id(),
            report_id: Some(report.id.clone()),
            stage: if centre { "intake".into() } else { "answer".into() },
            media_type: kind,
            size: bytes.len() as i64,
            redacted: false,
            uploaded_by: Some(by.username.clone()),
            created_at: self.now(),
        };
        self.repo.insert_media(&m, bytes, &public).await?;
        Ok(m)
    }

    /// The public copy of a photo that belongs to a report (never an orphan upload's).
    pub async fn public_media(&self, media_id: &str) -> CoreResult<(MediaType, Vec<u8>)> {
        let not_found = || CoreError::not_found("media");
        let m = self.repo.get_media(media_id).await?.ok_or_else(not_found)?;
        if m.report_id.is_none() {
            return Err(not_found());
        }
        let bytes = self.repo.media_bytes(media_id, false).await?.ok_or_else(not_found)?;
        Ok((m.media_type, bytes))
    }

    /// For staff who may read the report: the public copy, or with `original` (personal data:
    /// the position and camera data the photo carried) the upload as it came, audited.
    pub async fn staff_media(
        &self,
        by: &Subject,
        report_id: &str,
        media_id: &str,
        original: bool,
    ) -> CoreResult<(MediaType, Vec<u8>)> {
        let report = self.load(report_id).await?;
        let parts = self.repo.report_assignments(&report.id).await?;
        self.require_view(by, &report, &parts)?;
        let m = self
            .repo
            .get_media(media_id)
            .await?
            .filter(|m| m.report_id.as_deref() == Some(report.id.as_str()))
            .ok_or_else(|| CoreError::not_found("media"))?;
        if original {
            let org = report.agency_id.clone().unwrap_or_default();
            if !(by.can_everywhere(Action::ViewPersonalData) || by.can(Action::ViewPersonalData, Some(&org)))
            {
                return Err(CoreError::Forbidden("ViewPersonalData".into()));
            }
            let audit =
                AuditEvent::new(&by.actor(), "report.media.original", Some(&report.id), Outcome::Success)
                    .with_detail(format!("media={media_id}"));
            self.repo.append_audit(&audit).await?;
        }
        let bytes =
            self.repo.media_bytes(media_id, original).await?.ok_or_else(|| CoreError::not_found("media"))?;
        Ok((m.media_type, bytes))
    }

    /// Pixelates the marked areas of a photo's public copy (faces, plates, names); the original
    /// stays as it was.
    pub async fn redact_media(
        &self,
        by: &Subject,
        report_id: &str,
        media_id: &str,
        rects: &[Rect],
    ) -> CoreResult<ReportMedia> {
        by.require(Action::ManageCitizenReports, None)?;
        let report = self.load(report_id).await?;
        let m = self
            .repo
            .get_media(media_id)
            .await?
            .filter(|m| m.report_id.as_deref() == Some(report.id.as_str()))
            .ok_or_else(|| CoreError::not_found("media"))?;
        let current =
            self.repo.media_bytes(media_id, false).await?.ok_or_else(|| CoreError::not_found("media"))?;
        let redacted = media::redact(&current, rects)?;
        let audit = AuditEvent::new(&by.actor(), "report.media.redact", Some(&report.id), Outcome::Success)
            .with_detail(format!("media={media_id}; areas={}", rects.len()));
        self.repo.replace_public_media(media_id, &redacted, &audit).await?;
        Ok(ReportMedia { redacted: true, size: redacted.len() as i64, ..m })
    }

    /// Uploads older than a day that never got their report.
    pub async fn forget_orphan_media(&self) -> CoreResult<u64> {
        let before = self.now() - jiff::SignedDuration::from_hours(24);
        self.repo.delete_orphan_media(before).await
    }
}
