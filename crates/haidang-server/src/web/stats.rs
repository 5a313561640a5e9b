//! The citizen reports' statistics as pages: `/portal/statistics` for the public and
//! `/reports/statistics` for the staff who see reports everywhere. Both are shells around the
//! same table: `stats.js` reads the figures from the statistics API (JSON, or the CSV and XLSX
//! downloads) and names the rows from the names this page carries in its JSON blob.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use haidang_core::accounts::Action;
use haidang_core::reports::stats::Group;
use serde_json::{json, Value};

use super::pages::redirect_for;
use super::portal::PortalCtx;
use super::{render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::{Lang, Translations};
use crate::state::AppState;

/// The groupings offered, as the API names them.
const GROUPS: [(&str, Group); 4] = [
    ("category", Group::Category),
    ("agency", Group::Agency),
    ("unit", Group::Unit),
    ("channel", Group::Channel),
];

/// The names of every row key in every grouping; the communes are the province's own.
async fn names(state: &AppState, lang: Lang) -> Value {
    let mut out = BTreeMap::new();
    for (by, group) in GROUPS {
        let mut map: BTreeMap<String, String> = match crate::report_files::labels(state, group, lang).await {
            Ok(labels) => labels.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, by, "statistics names could not be read");
                BTreeMap::new()
            }
        };
        if group == Group::Unit {
            // Only the province's communes (and "commune unknown"), not the whole country.
            map.retain(|k, _| k.is_empty());
            map.extend(super::portal::communes(state, lang).await);
        }
        out.insert(by, map);
    }
    json!(out)
}

/// The blob the script reads: the API to ask, the words and the names.
async fn page_data(state: &AppState, lang: Lang, api: &str) -> String {
    let t = Translations::get(lang);
    let words: BTreeMap<&str, &str> =
        t.keys().into_iter().filter(|k| k.starts_with("stats.")).map(|k| (k, t.text(k))).collect();
    let data = json!({
        "lang": lang.as_str(),
        "api": api,
        "t": words,
        "names": names(state, lang).await,
    });
    // Inside a <script> element: "</" would end it.
    data.to_string().replace("</", "<\\/")
}

#[derive(Template)]
#[template(path = "portal_statistics.html")]
struct PortalStatsPage {
    page: PortalCtx,
    data: String,
}

/// `/portal/statistics`: the public figures, without sign-in.
pub async fn portal(State(state): State<Arc<AppState>>, PageCaller(_, lang, _): PageCaller) -> Response {
    render(&PortalStatsPage {
        page: PortalCtx::new(lang, "portal.title_statistics", "/portal/statistics"),
        data: page_data(&state, lang, "/api/v1/public/statistics").await,
    })
}

#[derive(Template)]
#[template(path = "reports_statistics.html")]
struct ConsoleStatsPage {
    page: PageCtx,
    data: String,
}

/// `/reports/statistics`: the same figures for the staff who see reports everywhere.
pub async fn console(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can_everywhere(Action::ViewCitizenReports)) else {
        return redirect_for(stage);
    };
    render(&ConsoleStatsPage {
        page: PageCtx::new(lang, "stats.title", "/reports", Some((&c.user, &c.subject))),
        data: page_data(&state, lang, "/api/v1/reports/statistics").await,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word `stats.js` asks for (`tr("stats.…")`) exists in both languages.
    #[test]
    fn every_word_the_statistics_script_uses_exists_in_both_languages() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static/stats.js");
        let text = std::fs::read_to_string(path).unwrap();
        let keys: std::collections::BTreeSet<String> = text
            .split("\"stats.")
            .skip(1)
            .map(|part| format!("stats.{}", part.split('"').next().unwrap_or_default()))
            .filter(|k| !k.ends_with('.') && !k.ends_with('_'))
            .collect();
        assert!(keys.len() >= 10, "{keys:?}");
        for lang in [Lang::Vi, Lang::En] {
            let known: std::collections::BTreeSet<&str> =
                Translations::get(lang).keys().into_iter().collect();
            let missing: Vec<&String> = keys.iter().filter(|k| !known.contains(k.as_str())).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }

    #[test]
    fn the_groupings_are_the_api_s() {
        for (by, group) in GROUPS {
            assert_eq!(Group::parse(by), Some(group));
        }
    }
}
