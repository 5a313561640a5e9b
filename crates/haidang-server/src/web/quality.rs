//! Who provides good data and who is late: the providing organisations ranked by their
//! datasets' scores over the last day, and the overdue list (which organisation owes which data
//! since when). What a province's leader looks at first.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use haidang_core::accounts::Action;
use haidang_core::datasets::assess::OverdueSource;
use haidang_core::time::{format_local, now};

use super::datasets::{org_names, score_cells, ScoreCells};
use super::pages::redirect_for;
use super::{render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::format_number_in;
use crate::state::AppState;

pub struct RankRow {
    pub rank: usize,
    pub org: String,
    pub datasets: usize,
    pub scores: ScoreCells,
}

pub struct OverdueRow {
    pub org: String,
    pub dataset: String,
    pub href: String,
    pub since: String,
    pub hours: String,
    pub late: String,
}

#[derive(Template)]
#[template(path = "quality.html")]
struct QualityPage {
    page: PageCtx,
    ranking: Vec<RankRow>,
    overdue: Vec<OverdueRow>,
}

pub async fn quality(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let names = org_names(&state, &c.subject).await;
    let at = now();
    let ranking = state
        .datasets
        .ranking(&c.subject, at - jiff::SignedDuration::from_hours(24), at)
        .await
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, o)| RankRow {
            rank: i + 1,
            org: names.get(&o.org_id).cloned().unwrap_or(o.org_id),
            datasets: o.datasets,
            scores: score_cells(lang, &o.scores),
        })
        .collect();
    let overdue = state
        .overdue(&c.subject, at)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|o| OverdueRow {
            href: match (o.source, &o.period) {
                (OverdueSource::Indicators, Some(p)) => {
                    format!("/indicators/submit?org={}&period={p}", o.provider_org)
                }
                _ => format!("/data/datasets/{}", o.dataset_id),
            },
            org: names.get(&o.provider_org).cloned().unwrap_or(o.provider_org),
            dataset: o.dataset_name,
            since: format_local(o.since),
            hours: format_number_in(lang, at.duration_since(o.since).as_secs_f64() / 3600.0, 1),
            late: format!("{}/{}", o.late, o.expected),
        })
        .collect();
    render(&QualityPage {
        page: PageCtx::new(lang, "title.quality", "/data/quality", Some((&c.user, &c.subject))),
        ranking,
        overdue,
    })
}
