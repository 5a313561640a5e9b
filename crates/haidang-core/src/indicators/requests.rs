//! Ad hoc data requests ("yêu cầu đột xuất"): a leader asks an organisation for a figure by a
//! deadline; the organisation answers in the thread (with the figure when one was asked for);
//! the one who asked closes it.

use jiff::civil::Date;
use serde::Deserialize;
use serde_json::json;

use super::model::{DataRequest, RequestMessage, RequestState};
use super::period::Period;
use super::service::{audit, today, IndicatorService};
use crate::accounts::{Action, Subject};
use crate::error::{CoreError, CoreResult};
use crate::time::now;

#[derive(Debug, Clone, Deserialize)]
pub struct RequestSpec {
    pub to_org: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub unit_code: Option<String>,
    #[serde(default)]
    pub period: Option<String>,
    pub question: String,
    pub due_on: String,
}

impl IndicatorService {
    pub async fn ask(&self, by: &Subject, spec: &RequestSpec) -> CoreResult<DataRequest> {
        by.require(Action::SendDataRequest, None)?;
        let to = crate::orgs::resolve_org(self.repo.as_ref(), &spec.to_org).await?.ok_or_else(|| {
            CoreError::validation("to_org", format!("unknown organisation '{}'", spec.to_org))
        })?;
        let book = self.book();
        if let Some(code) = &spec.code {
            if book.indicator(code).is_none() {
                return Err(CoreError::validation("code", format!("unknown indicator '{code}'")));
            }
        }
        if let Some(u) = &spec.unit_code {
            if !book.has_unit(u) {
                return Err(CoreError::validation("unit_code", format!("unknown unit '{u}'")));
            }
        }
        let period = match &spec.period {
            Some(p) => Some(
                Period::parse(p)
                    .ok_or_else(|| CoreError::validation("period", format!("'{p}' is not a period")))?,
            ),
            None => None,
        };
        let due_on: Date = spec.due_on.parse().map_err(|_| {
            CoreError::validation("due_on", format!("'{}' is not a date (yyyy-mm-dd)", spec.due_on))
        })?;
        if due_on < today() {
            return Err(CoreError::validation("due_on", "is in the past"));
        }
        if spec.question.trim().is_empty() {
            return Err(CoreError::validation("question", "is required"));
        }
        let at = now();
        let request = DataRequest {
            id: uuid::Uuid::new_v4().to_string(),
            from_user: by.username.clone(),
            from_org: by.org_id.clone(),
            to_org: to.id.clone(),
            code: spec.code.clone(),
            unit_code: spec.unit_code.clone(),
            period,
            question: spec.question.trim().to_string(),
            due_on,
            state: RequestState::Open,
            answer_value: None,
            created_at: at,
            answered_at: None,
            messages: vec![RequestMessage {
                by: by.username.clone(),
                org_id: by.org_id.clone(),
                at,
                body: spec.question.trim().to_string(),
            }],
        };
        let event = audit(
            by,
            "data_request.create",
            &request.id,
            json!({"to_org": to.code, "due_on": due_on.to_string(), "code": request.code}),
        );
        self.repo.save_request(&request, &event).await?;
        Ok(request)
    }

    /// Requests the subject sent or must answer (the centre and leaders see all).
    pub async fn requests(&self, by: &Subject) -> CoreResult<Vec<DataRequest>> {
        by.require(Action::ReadData, None)?;
        let all = by.can_everywhere(Action::SendDataRequest);
        Ok(self
            .repo
            .list_requests()
            .await?
            .into_iter()
            .filter(|r| all || r.to_org == by.org_id || r.from_org == by.org_id)
            .collect())
    }

    pub async fn request(&self, by: &Subject, id: &str) -> CoreResult<DataRequest> {
        self.requests(by)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| CoreError::not_found(format!("request '{id}'")))
    }

    /// A message in the thread: from the organisation asked (an answer, with the figure when
    /// given) or from the one who asked; `close` ends it (only the one who asked).
    pub async fn reply(
        &self,
        by: &Subject,
        id: &str,
        body: &str,
        value: Option<f64>,
        close: bool,
    ) -> CoreResult<DataRequest> {
        let mut r = self.request(by, id).await?;
        if r.state == RequestState::Closed {
            return Err(CoreError::Conflict("the request is closed".into()));
        }
        let answering = by.org_id == r.to_org;
        if !answering && !by.can(Action::SendDataRequest, None) {
            return Err(CoreError::Forbidden(
                "only the organisation asked or the one who asked may reply".into(),
            ));
        }
        if body.trim().is_empty() && value.is_none() && !close {
            return Err(CoreError::validation("body", "is required"));
        }
        if value.is_some_and(|v| !v.is_finite()) {
            return Err(CoreError::validation("value", "must be a number"));
        }
        let at = now();
        if answering {
            if let Some(v) = value {
                r.answer_value = Some(v);
            }
            r.state = RequestState::Answered;
            r.answered_at = Some(at);
        }
        if close {
            if answering {
                return Err(CoreError::Forbidden("the one who asked closes the request".into()));
            }
            r.state = RequestState::Closed;
        }
        let text = match value {
            Some(v) if body.trim().is_empty() => format!("{v}"),
            _ => body.trim().to_string(),
        };
        if !text.is_empty() {
            r.messages.push(RequestMessage {
                by: by.username.clone(),
                org_id: by.org_id.clone(),
                at,
                body: text,
            });
        }
        let action = if close {
            "data_request.close"
        } else if answering {
            "data_request.answer"
        } else {
            "data_request.message"
        };
        self.repo.save_request(&r, &audit(by, action, id, json!({"value": value}))).await?;
        Ok(r)
    }
}
