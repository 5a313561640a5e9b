//! The console's response pages: the operator's live alert list, the incident board and the
//! incident command page, the agency's tasks, public warnings, and the rules and playbook
//! editors. Each page is a shell; `response.js` reads and acts through the JSON API and the
//! live stream, with the words and rights it needs passed as one JSON blob.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use haidang_core::accounts::{Action, Subject};
use haidang_core::alerts::{AlertAction, AlertState};
use serde_json::{json, Value};

use super::pages::redirect_for;
use super::{render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::{Lang, Translations};
use crate::state::AppState;

/// The translation sections the script reads its words from.
const SCRIPT_SECTIONS: [&str; 7] = [
    "response_ui.",
    "alert_state.",
    "alert_action.",
    "incident_type.",
    "task_state.",
    "severity.",
    "warning_state.",
];

/// Which steps each alert state allows, from the process itself.
fn process_table() -> BTreeMap<&'static str, Vec<&'static str>> {
    AlertState::ALL
        .iter()
        .map(|s| (s.as_str(), AlertAction::allowed(*s).iter().map(AlertAction::as_str).collect()))
        .collect()
}

async fn page_data(state: &AppState, subject: &Subject, lang: Lang, extra: Value) -> String {
    let t = Translations::get(lang);
    let words: BTreeMap<&str, &str> = t
        .keys()
        .into_iter()
        .filter(|k| SCRIPT_SECTIONS.iter().any(|s| k.starts_with(s)))
        .map(|k| (k, t.text(k)))
        .collect();
    let (orgs, units) = super::script_names(state, subject, lang).await;
    let data = json!({
        "lang": lang.as_str(),
        "t": words,
        "orgs": orgs,
        "units": units,
        "process": process_table(),
        "me": {
            "org_id": subject.org_id,
            "username": subject.username,
            "centre": subject.can_everywhere(Action::ViewAlerts),
            "handle": subject.can(Action::HandleAlerts, None),
            "rules": subject.can(Action::ManageAlertRules, None),
            "approve": subject.can(Action::ApprovePublicWarnings, None),
        },
        "extra": extra,
    });
    // Inside a <script> element: "</" would end it.
    data.to_string().replace("</", "<\\/")
}

#[derive(Template)]
#[template(path = "response.html")]
struct ResponsePage {
    page: PageCtx,
    view: &'static str,
    data: String,
}

async fn page(
    state: &AppState,
    caller: PageCaller,
    view: &'static str,
    path: &str,
    title_key: &str,
    need: Action,
    extra: Value,
) -> Response {
    let PageCaller(caller, lang, stage) = caller;
    let Some(c) = caller.filter(|c| c.subject.can(need, Some(&c.subject.org_id))) else {
        return redirect_for(stage);
    };
    let data = page_data(state, &c.subject, lang, extra).await;
    render(&ResponsePage {
        page: PageCtx::new(lang, title_key, path, Some((&c.user, &c.subject))),
        view,
        data,
    })
}

/// `/alerts`: the live alert list.
pub async fn alerts(State(state): State<Arc<AppState>>, caller: PageCaller) -> Response {
    page(&state, caller, "alerts", "/alerts", "response_ui.alerts_title", Action::ViewAlerts, json!({})).await
}

/// `/incidents`: the board of open incidents.
pub async fn incidents(State(state): State<Arc<AppState>>, caller: PageCaller) -> Response {
    page(
        &state,
        caller,
        "incidents",
        "/incidents",
        "response_ui.incidents_title",
        Action::ViewAlerts,
        json!({}),
    )
    .await
}

/// `/incidents/{id}`: the incident command page.
pub async fn incident(
    State(state): State<Arc<AppState>>,
    caller: PageCaller,
    Path(id): Path<String>,
) -> Response {
    let extra = json!({ "id": id });
    page(&state, caller, "incident", "/incidents", "response_ui.incident_title", Action::ViewAlerts, extra)
        .await
}

/// `/tasks`: the agency's tasks.
pub async fn tasks(State(state): State<Arc<AppState>>, caller: PageCaller) -> Response {
    page(&state, caller, "tasks", "/tasks", "response_ui.tasks_title", Action::ViewAlerts, json!({})).await
}

/// `/warnings`: public warnings, drafted and approved.
pub async fn warnings(State(state): State<Arc<AppState>>, caller: PageCaller) -> Response {
    page(
        &state,
        caller,
        "warnings",
        "/warnings",
        "response_ui.warnings_title",
        Action::HandleAlerts,
        json!({}),
    )
    .await
}

/// `/alerts/rules`: the monitoring rules and playbooks, edited by supervisors.
pub async fn rules(State(state): State<Arc<AppState>>, caller: PageCaller) -> Response {
    page(&state, caller, "rules", "/alerts/rules", "response_ui.rules_title", Action::ViewAlerts, json!({}))
        .await
}
