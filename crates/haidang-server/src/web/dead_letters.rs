//! What the connectors could not take: each MQTT connector's state and the newest dead letters
//! (topic, payload, why, when), so the operators see at once a sensor that sends garbage.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use haidang_core::accounts::Action;
use haidang_core::time::format_local;

use super::pages::redirect_for;
use super::{render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::format_number_in;
use crate::state::AppState;

pub struct ConnectorRow {
    pub name: String,
    pub broker: String,
    pub connected: bool,
    pub received: String,
    pub stored: String,
    pub dead: String,
    pub last_error: String,
}

pub struct LetterRow {
    pub connector: String,
    pub topic: String,
    pub payload: String,
    pub error: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
struct DeadLettersPage {
    page: PageCtx,
    connectors: Vec<ConnectorRow>,
    letters: Vec<LetterRow>,
}

pub async fn dead_letters(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadAllData, None)) else {
        return redirect_for(stage);
    };
    let n = |v: u64| format_number_in(lang, v as f64, 0);
    let connectors = state
        .ingest
        .connectors(&c.subject)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(r, kept)| ConnectorRow {
            name: r.name,
            broker: r.broker,
            connected: r.connected,
            received: n(r.received),
            stored: n(r.stored),
            dead: n(kept as u64),
            last_error: r.last_error.unwrap_or_default(),
        })
        .collect();
    let letters = state
        .ingest
        .dead_letters(&c.subject, None, None, 200)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| LetterRow {
            connector: d.source,
            topic: d.topic,
            payload: d.payload.chars().take(300).collect(),
            error: d.error,
            at: format_local(d.at),
        })
        .collect();
    render(&DeadLettersPage {
        page: PageCtx::new(lang, "title.dead_letters", "/data/dead-letters", Some((&c.user, &c.subject))),
        connectors,
        letters,
    })
}
