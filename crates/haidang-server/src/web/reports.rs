//! The citizen reports' console pages: the centre's intake queue (or an agency's assigned
//! reports) and one report with the steps its state allows this user. The pages are shells: the
//! names, labels and rights they need travel as one JSON blob, and `reports.js` reads and acts
//! on the reports through the JSON API.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use haidang_core::accounts::{Action, Subject};
use haidang_core::reports::model::ReportState;
use haidang_core::reports::process::{next, Step};
use serde_json::{json, Value};

use super::pages::redirect_for;
use super::{not_found_page, render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::{Lang, Translations};
use crate::state::AppState;

/// The translation sections the script reads its words from.
const SCRIPT_SECTIONS: [&str; 8] = [
    "reports_ui.",
    "report_state.",
    "report_step.",
    "channel.",
    "reject_reason.",
    "assignment_role.",
    "extension_state.",
    "urgency.",
];

/// Which steps each state allows, from the process itself (so the page never offers a step the
/// API would refuse with 409). Assigning a received report verifies it in the same step.
fn process_table() -> BTreeMap<&'static str, Vec<&'static str>> {
    ReportState::ALL
        .iter()
        .map(|state| {
            let mut steps: Vec<&'static str> =
                Step::ALL.iter().filter(|s| next(*state, **s).is_some()).map(|s| s.as_str()).collect();
            if *state == ReportState::Received && next(ReportState::Verified, Step::Assign).is_some() {
                steps.push(Step::Assign.as_str());
            }
            (state.as_str(), steps)
        })
        .collect()
}

/// What a user may do, as the page needs to know it to offer the right buttons.
fn rights(subject: &Subject, personal: bool) -> Value {
    json!({
        "org_id": subject.org_id,
        "centre": subject.can_everywhere(Action::ManageCitizenReports),
        "agency": !subject.can_everywhere(Action::ViewCitizenReports),
        "decide": subject.can_everywhere(Action::ApproveDeadlineExtension),
        "personal": personal,
    })
}

/// Names of the categories, organisations and communes, the words, the process and the rights:
/// everything the script needs besides the reports themselves.
async fn page_data(state: &AppState, subject: &Subject, lang: Lang, personal: bool) -> String {
    let en = lang == Lang::En;
    let t = Translations::get(lang);
    let words: BTreeMap<&str, &str> = t
        .keys()
        .into_iter()
        .filter(|k| SCRIPT_SECTIONS.iter().any(|s| k.starts_with(s)))
        .map(|k| (k, t.text(k)))
        .collect();
    let categories: BTreeMap<String, Value> = state
        .reports
        .categories()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let name = if en && !c.name_en.is_empty() { c.name_en } else { c.name_vi };
            (c.code, json!({ "name": name, "days": c.time_limit_days, "hours": c.urgent_hours }))
        })
        .collect();
    let (orgs, units) = super::script_names(state, subject, lang).await;
    let data = json!({
        "lang": lang.as_str(),
        "t": words,
        "categories": categories,
        "orgs": orgs,
        "units": units,
        "process": process_table(),
        "me": rights(subject, personal),
    });
    // Inside a <script> element: "</" would end it.
    data.to_string().replace("</", "<\\/")
}

/// One line of the shortcut legend: the keys (their names, the same in every language) and
/// what they do.
pub struct Shortcut {
    pub keys: Vec<&'static str>,
    pub label_key: &'static str,
}

fn shortcuts(queue: bool, centre: bool) -> Vec<Shortcut> {
    let line = |keys: &[&'static str], label_key| Shortcut { keys: keys.to_vec(), label_key };
    let mut out = Vec::new();
    if queue {
        out.push(line(&["j", "k", "↓", "↑"], "reports_ui.key_move"));
        out.push(line(&["Enter"], "reports_ui.key_open"));
    }
    if centre {
        out.push(line(&["v"], "reports_ui.key_verify"));
        out.push(line(&["a"], "reports_ui.key_assign"));
        out.push(line(&["r"], "reports_ui.key_reject"));
        out.push(line(&["m"], "reports_ui.key_merge"));
    }
    out.push(line(&["n"], "reports_ui.key_next"));
    out.push(line(&["Esc"], "reports_ui.key_escape"));
    out.push(line(&["?"], "reports_ui.key_help"));
    out
}

#[derive(Template)]
#[template(path = "reports.html")]
struct QueuePage {
    page: PageCtx,
    centre: bool,
    statistics: bool,
    heading_key: &'static str,
    lead_key: &'static str,
    shortcuts: Vec<Shortcut>,
    data: String,
}

/// `/reports`: the centre's intake queue, or the reports assigned to the officer's agency.
pub async fn queue(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ViewCitizenReports, None)) else {
        return redirect_for(stage);
    };
    let agency = !c.subject.can_everywhere(Action::ViewCitizenReports);
    let personal = c.subject.can(Action::ViewPersonalData, None);
    let (heading_key, lead_key, title_key) = if agency {
        ("reports_ui.assigned_heading", "reports_ui.assigned_lead", "reports_ui.assigned_heading")
    } else {
        ("reports_ui.queue_heading", "reports_ui.queue_lead", "reports_ui.queue_heading")
    };
    let data = page_data(&state, &c.subject, lang, personal).await;
    let centre = c.subject.can_everywhere(Action::ManageCitizenReports);
    render(&QueuePage {
        page: PageCtx::new(lang, title_key, "/reports", Some((&c.user, &c.subject))),
        centre,
        statistics: !agency,
        shortcuts: shortcuts(true, centre),
        heading_key,
        lead_key,
        data,
    })
}

#[derive(Template)]
#[template(path = "reports_detail.html")]
struct DetailPage {
    page: PageCtx,
    id: String,
    number: i64,
    centre: bool,
    personal: bool,
    geometry: String,
    shortcuts: Vec<Shortcut>,
    data: String,
}

/// `/reports/{id}`: one report (by id or number), if this user may see it.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ViewCitizenReports, None)) else {
        return redirect_for(stage);
    };
    let Ok(detail) = state.reports.get(&c.subject, &id).await else { return not_found_page(lang, &c) };
    let report = detail.report;
    let personal = c.subject.can_everywhere(Action::ViewPersonalData)
        || report.agency_id.as_deref().is_some_and(|org| c.subject.can(Action::ViewPersonalData, Some(org)));
    // The commune's outline for the small map, when the report has one.
    let geometry = match &report.unit_code {
        Some(code) => {
            state.units.detail(&c.subject, code).await.ok().and_then(|d| d.unit.geometry).unwrap_or_default()
        }
        None => String::new(),
    };
    let data = page_data(&state, &c.subject, lang, personal).await;
    let centre = c.subject.can_everywhere(Action::ManageCitizenReports);
    render(&DetailPage {
        page: PageCtx::new(lang, "reports_ui.detail_title", "/reports", Some((&c.user, &c.subject))),
        id: report.id,
        number: report.number,
        centre,
        shortcuts: shortcuts(false, centre),
        personal,
        geometry,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_offers_what_the_process_allows() {
        let table = process_table();
        assert!(table["received"].contains(&"verify") && table["received"].contains(&"assign"));
        assert!(table["assigned"].contains(&"accept") && !table["assigned"].contains(&"answer"));
        assert!(table["closed"].contains(&"reopen") && !table["closed"].contains(&"assign"));
        assert_eq!(table.len(), ReportState::ALL.len());
    }

    /// The words the script asks for by name (`tr("reports_ui.done")`) and those it builds from
    /// the API's codes (`report_state.` + a state) exist in both languages.
    #[test]
    fn every_word_the_script_uses_exists_in_both_languages() {
        use haidang_core::reports::model::{AssignmentRole, Channel, ExtensionState, RejectReason, Urgency};
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut keys = std::collections::BTreeSet::new();
        for file in ["reports.js", "report_detail.js"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for part in text.split("tr(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                if !key.ends_with('.') && !key.ends_with('_') {
                    keys.insert(key.to_string());
                }
            }
            for part in text.split("\"reports_ui.").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                // "reports_ui.contact_" + a contact field: those are listed below.
                if !key.ends_with('.') && !key.ends_with('_') {
                    keys.insert(format!("reports_ui.{key}"));
                }
            }
        }
        assert!(keys.len() > 20, "{keys:?}");
        keys.extend(["name", "phone", "email", "id_number"].map(|f| format!("reports_ui.contact_{f}")));
        keys.extend(ReportState::ALL.iter().map(|s| format!("report_state.{}", s.as_str())));
        keys.extend(Step::ALL.iter().map(|s| format!("report_step.{}", s.as_str())));
        keys.extend(Channel::ALL.iter().map(|c| format!("channel.{}", c.as_str())));
        for r in ["spam", "duplicate", "out_of_scope", "not_enough_information"] {
            assert!(RejectReason::parse(r).is_some());
            keys.insert(format!("reject_reason.{r}"));
        }
        keys.extend([Urgency::Ordinary, Urgency::Urgent].iter().map(|u| format!("urgency.{}", u.as_str())));
        keys.extend(
            [AssignmentRole::Lead, AssignmentRole::Support]
                .iter()
                .map(|r| format!("assignment_role.{}", r.as_str())),
        );
        keys.extend(
            [ExtensionState::Pending, ExtensionState::Approved, ExtensionState::Refused]
                .iter()
                .map(|s| format!("extension_state.{}", s.as_str())),
        );
        for lang in [Lang::Vi, Lang::En] {
            let known: std::collections::BTreeSet<&str> =
                Translations::get(lang).keys().into_iter().collect();
            let missing: Vec<&String> = keys.iter().filter(|k| !known.contains(k.as_str())).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }
}
