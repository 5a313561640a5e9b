//! The shared data store as the centre sees it: which kinds of data (entity types) the agencies
//! and sensors feed, how many of each, their attributes, and the exchange data structure each is
//! checked against.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use haidang_core::accounts::Action;
use haidang_core::hub::context::ActiveContext;

use super::pages::redirect_for;
use super::{render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::format_number_in;
use crate::state::AppState;

pub struct TypeRow {
    pub name: String,
    pub iri: String,
    pub count: String,
    pub attrs: String,
    /// Translation key of where its schema comes from.
    pub schema_key: &'static str,
}

#[derive(Template)]
#[template(path = "data.html")]
struct DataPage {
    page: PageCtx,
    total: String,
    types: Vec<TypeRow>,
    schemas: usize,
    endpoint: &'static str,
}

pub async fn data(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let core = ActiveContext::core();
    let schemas = state.hub.list_schemas(&c.subject).unwrap_or_default();
    let types = state.hub.types(&c.subject).unwrap_or_default();
    let rows = types
        .iter()
        .map(|t| {
            let source = schemas.iter().find(|s| s.type_iri == t.name).map(|s| s.source);
            TypeRow {
                name: core.compact(&t.name),
                iri: t.name.clone(),
                count: format_number_in(lang, t.count as f64, 0),
                attrs: t.attrs.iter().map(|a| core.compact(a)).collect::<Vec<_>>().join(", "),
                schema_key: match source {
                    Some("shipped") => "data.schema_shipped",
                    Some(_) => "data.schema_custom",
                    None => "data.schema_none",
                },
            }
        })
        .collect();
    render(&DataPage {
        page: PageCtx::new(lang, "title.data", "/data", Some((&c.user, &c.subject))),
        // What this caller may read: not the drafts, nor what is shared only on request.
        total: format_number_in(lang, types.iter().map(|t| t.count).sum::<usize>() as f64, 0),
        types: rows,
        schemas: schemas.len(),
        endpoint: "/ngsi-ld/v1/entities",
    })
}
