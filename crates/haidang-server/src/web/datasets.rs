//! Datasets as the centre and the agencies see them: each with its state, its four scores
//! ("đúng, đủ, sạch, sống") and its grants; a dataset's page with what makes its scores, the
//! supervisor's actions (approve, retire, grant, revoke) and its form (download, upload with the
//! errors shown in place).

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use haidang_core::accounts::{Action, Subject};
use haidang_core::datasets::catalog::reads_everything;
use haidang_core::datasets::model::{Consumer, Dataset, DatasetState, Frequency, Sharing};
use haidang_core::datasets::quality::{DatasetQuality, Scores};
use haidang_core::hub::context::ActiveContext;
use haidang_core::time::{format_local, now};

use super::entities::entity_href;
use super::pages::redirect_for;
use super::{render, PageCtx};
use crate::auth::{Caller, PageCaller};
use crate::i18n::{format_number_in, Lang};
use crate::state::AppState;

/// The four scores and the overall one, as the page prints them ("—" where undefined).
pub struct ScoreCells {
    pub correct: String,
    pub complete: String,
    pub clean: String,
    pub live: String,
    pub overall: String,
    /// "good", "fair" or "poor", for the colour of the overall score.
    pub band: &'static str,
}

pub fn score_cells(lang: Lang, s: &Scores) -> ScoreCells {
    let f = |v: Option<f64>| v.map(|x| format_number_in(lang, x, 1)).unwrap_or_else(|| "—".into());
    ScoreCells {
        correct: f(s.correct),
        complete: f(s.complete),
        clean: f(s.clean),
        live: f(s.live),
        overall: f(s.overall),
        band: match s.overall {
            Some(v) if v >= 80.0 => "good",
            Some(v) if v >= 50.0 => "fair",
            _ => "poor",
        },
    }
}

pub fn frequency_text(lang: Lang, f: &Frequency) -> String {
    let t = crate::i18n::Translations::get(lang);
    match f {
        Frequency::EveryMinutes { minutes } => {
            t.text("datasets.every_minutes").replace("{n}", &minutes.to_string())
        }
        Frequency::Hourly => t.text("datasets.hourly").to_string(),
        Frequency::Daily => t.text("datasets.daily").to_string(),
        Frequency::Weekly => t.text("datasets.weekly").to_string(),
        Frequency::MondayThursday => t.text("datasets.monday_thursday").to_string(),
    }
}

pub struct DatasetRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub provider: String,
    pub state: &'static str,
    pub state_key: String,
    pub sharing_key: &'static str,
    pub frequency: String,
    pub members: String,
    pub scores: ScoreCells,
    pub grants: usize,
}

#[derive(Template)]
#[template(path = "datasets.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<DatasetRow>,
}

pub(crate) async fn org_names(state: &AppState, by: &Subject) -> HashMap<String, String> {
    state.orgs.list(by).await.unwrap_or_default().into_iter().map(|o| (o.id, o.name_vi)).collect()
}

fn sharing_key(s: Sharing) -> &'static str {
    match s {
        Sharing::Default => "datasets.sharing_default",
        Sharing::SpecialRequest => "datasets.sharing_special",
    }
}

/// The scores over the last 24 hours.
async fn scores_of(state: &AppState, by: &Subject, d: &Dataset) -> Option<DatasetQuality> {
    let to = now();
    state.datasets.quality(by, &d.id, to - jiff::SignedDuration::from_hours(24), to).await.ok()
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let core = ActiveContext::core();
    let names = org_names(&state, &c.subject).await;
    let catalog = state.hub.catalog();
    let mut rows = Vec::new();
    for d in state.datasets.list(&c.subject) {
        let q = scores_of(&state, &c.subject, &d).await;
        rows.push(DatasetRow {
            id: d.id.clone(),
            name: d.name.clone(),
            kind: core.compact(&d.type_iri),
            provider: names.get(&d.provider_org).cloned().unwrap_or_else(|| d.provider_org.clone()),
            state: d.state.as_str(),
            state_key: format!("datasets.state_{}", d.state.as_str()),
            sharing_key: sharing_key(d.sharing),
            frequency: frequency_text(lang, &d.frequency),
            members: format_number_in(lang, state.hub.members(&d.id).len() as f64, 0),
            scores: score_cells(lang, &q.map(|q| q.scores).unwrap_or_default()),
            grants: catalog.grants().iter().filter(|g| g.dataset_id == d.id && g.is_active_at(now())).count(),
        });
    }
    render(&ListPage {
        page: PageCtx::new(lang, "title.datasets", "/data/datasets", Some((&c.user, &c.subject))),
        rows,
    })
}

pub struct GrantRow {
    pub id: String,
    pub consumer: String,
    pub access_key: &'static str,
    pub expires: String,
    pub agreement: String,
    pub active: bool,
}

pub struct StaleRow {
    pub name: String,
    pub href: String,
    pub last: String,
}

#[derive(Template)]
#[template(path = "dataset.html")]
struct DetailPage {
    page: PageCtx,
    d: Arc<Dataset>,
    kind: String,
    provider: String,
    state: &'static str,
    state_key: String,
    sharing_key: &'static str,
    frequency: String,
    members: String,
    scores: ScoreCells,
    quality: Option<DatasetQuality>,
    stale: Vec<StaleRow>,
    grants: Vec<GrantRow>,
    windows: Vec<(String, String, String)>,
    submissions: Vec<(String, String, String, String)>,
    orgs: Vec<(String, String)>,
    can_approve: bool,
    can_upload: bool,
    can_see_grants: bool,
    is_draft: bool,
    is_retired: bool,
    is_form: bool,
}

fn consumer_text(c: &Consumer, names: &HashMap<String, String>, lang: Lang) -> String {
    let t = crate::i18n::Translations::get(lang);
    match c {
        Consumer::Org(id) => names.get(id).cloned().unwrap_or_else(|| id.clone()),
        Consumer::Token(id) => format!("{} {}", t.text("datasets.token"), &id[..id.len().min(8)]),
    }
}

pub async fn detail(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let Ok(d) = state.datasets.get(&c.subject, &id) else {
        return super::not_found_page(lang, &c);
    };
    render(&detail_page(&state, &c, lang, d).await)
}

async fn detail_page(state: &AppState, c: &Caller, lang: Lang, d: Arc<Dataset>) -> DetailPage {
    let core = ActiveContext::core();
    let by = &c.subject;
    let names = org_names(state, by).await;
    let q = scores_of(state, by, &d).await;
    let stale = q
        .as_ref()
        .map(|q| {
            q.stale
                .iter()
                .map(|s| StaleRow {
                    name: s.entity_id.rsplit(':').next().unwrap_or(&s.entity_id).to_string(),
                    href: entity_href(&s.entity_id),
                    last: s.last_update.map(format_local).unwrap_or_else(|| "—".into()),
                })
                .collect()
        })
        .unwrap_or_default();
    let at = now();
    let grants = state
        .datasets
        .grants(by, &d.id)
        .unwrap_or_default()
        .iter()
        .map(|g| GrantRow {
            id: g.id.clone(),
            consumer: consumer_text(&g.consumer, &names, lang),
            access_key: match (g.read, g.write) {
                (true, true) => "datasets.access_read_write",
                (false, true) => "datasets.access_write",
                _ => "datasets.access_read",
            },
            expires: g.expires_at.map(format_local).unwrap_or_else(|| "—".into()),
            agreement: g.agreement_ref.clone(),
            active: g.is_active_at(at),
        })
        .collect();
    let windows = state
        .datasets
        .windows(by, &d.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(|w| (format_local(w.starts_at), format_local(w.ends_at), w.reason.clone()))
        .collect();
    let submissions = state
        .datasets
        .submissions(by, Some(&d.id))
        .await
        .unwrap_or_default()
        .iter()
        .take(20)
        .map(|s| (format_local(s.submitted_at), s.period.clone(), s.rows.to_string(), s.file_name.clone()))
        .collect();
    let mut orgs: Vec<(String, String)> = names
        .iter()
        .filter(|(id, _)| **id != d.provider_org)
        .map(|(id, n)| (id.clone(), n.clone()))
        .collect();
    orgs.sort_by(|a, b| a.1.cmp(&b.1));
    let can_upload = d.state != DatasetState::Retired && state.hub.catalog().may_write(by, &d, at);
    DetailPage {
        page: PageCtx::new(lang, "title.dataset", "/data/datasets", Some((&c.user, by))),
        kind: core.compact(&d.type_iri),
        provider: names.get(&d.provider_org).cloned().unwrap_or_else(|| d.provider_org.clone()),
        state: d.state.as_str(),
        state_key: format!("datasets.state_{}", d.state.as_str()),
        sharing_key: sharing_key(d.sharing),
        frequency: frequency_text(lang, &d.frequency),
        members: format_number_in(lang, state.hub.members(&d.id).len() as f64, 0),
        scores: score_cells(lang, &q.as_ref().map(|q| q.scores).unwrap_or_default()),
        quality: q,
        stale,
        grants,
        windows,
        submissions,
        orgs,
        can_approve: by.can(Action::ApproveData, None),
        can_upload,
        can_see_grants: by.can(Action::ApproveData, None)
            || reads_everything(by)
            || by.org_id == d.provider_org,
        is_draft: d.state == DatasetState::Draft,
        is_retired: d.state == DatasetState::Retired,
        is_form: d.frequency == Frequency::MondayThursday,
        d,
    }
}
