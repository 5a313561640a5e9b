//! Administration pages: organisations, accounts (with lifecycle actions, the 90-day review and
//! delegations), API tokens and the audit trail.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use haidang_core::accounts::{AccountStatus, Action, Role};
use haidang_core::orgs::OrgKind;
use haidang_core::time::{format_local, now};

use super::pages::redirect_for;
use super::{render, PageCtx};
use crate::api_audit::AuditFilter;
use crate::auth::PageCaller;
use crate::error::ApiError;
use crate::state::AppState;

pub struct OrgRow {
    pub code: String,
    pub name: String,
    pub kind_key: String,
    pub sectors: String,
    pub head: String,
    pub duty_phone: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct OrgsPage {
    page: PageCtx,
    orgs: Vec<OrgRow>,
    can_manage: bool,
    kinds: Vec<(&'static str, String)>,
    sectors: &'static [&'static str],
}

pub async fn orgs(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ViewOrgs, None)) else {
        return redirect_for(stage);
    };
    let orgs = state.orgs.list(&c.subject).await.unwrap_or_default();
    let rows = orgs
        .iter()
        .map(|o| OrgRow {
            code: o.code.clone(),
            name: o.name(lang == crate::i18n::Lang::En).to_string(),
            kind_key: format!("org_kind.{}", o.kind.as_str()),
            sectors: o.sectors.join(", "),
            head: o.head_name.clone().unwrap_or_default(),
            duty_phone: o.duty_phone.clone().unwrap_or_default(),
        })
        .collect();
    render(&OrgsPage {
        page: PageCtx::new(lang, "title.orgs", "/admin/orgs", Some((&c.user, &c.subject))),
        orgs: rows,
        can_manage: c.subject.can(Action::ManageOrgs, None),
        kinds: OrgKind::ALL.iter().map(|k| (k.as_str(), format!("org_kind.{}", k.as_str()))).collect(),
        sectors: &haidang_core::orgs::SECTORS,
    })
}

pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub org: String,
    pub role_key: String,
    pub status_key: String,
    pub status_class: &'static str,
    pub last_login: String,
    pub actions: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    page: PageCtx,
    users: Vec<UserRow>,
    can_manage: bool,
    orgs: Vec<(String, String)>,
    roles: Vec<(&'static str, String)>,
    unused: Vec<(String, String, String)>,
    delegations: Vec<(String, String, String, String, String)>,
}

pub async fn users(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ViewUsers, None)) else {
        return redirect_for(stage);
    };
    let never = crate::i18n::Translations::get(lang).text("common.never").to_string();
    let orgs = state.orgs.list(&c.subject).await.unwrap_or_default();
    let org_names: HashMap<String, String> =
        orgs.iter().map(|o| (o.id.clone(), o.name(lang == crate::i18n::Lang::En).to_string())).collect();
    let users = state.accounts.list_users(&c.subject).await.unwrap_or_default();
    let usernames: HashMap<String, String> =
        users.iter().map(|u| (u.id.clone(), u.username.clone())).collect();
    let rows = users
        .iter()
        .map(|u| UserRow {
            id: u.id.clone(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            org: org_names.get(&u.org_id).cloned().unwrap_or_default(),
            role_key: format!("role.{}", u.role.as_str()),
            status_key: format!("status.{}", u.status.as_str()),
            status_class: match u.status {
                AccountStatus::Active => "badge-ok",
                AccountStatus::Locked => "badge-warn",
                AccountStatus::Revoked => "badge-muted",
            },
            last_login: u.last_login_at.map(format_local).unwrap_or_else(|| never.clone()),
            // Only the actions this caller may take on this account.
            actions: if !c.subject.can(Action::ManageUsers, None)
                || (u.role.is_privileged() && !c.subject.can(Action::ManagePrivilegedUsers, None))
            {
                vec![]
            } else {
                match u.status {
                    AccountStatus::Active => vec!["lock", "revoke"],
                    AccountStatus::Locked => vec!["unlock", "revoke"],
                    AccountStatus::Revoked => vec![],
                }
            },
        })
        .collect();
    let unused = state
        .accounts
        .unused_accounts(&c.subject, 90)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| {
            (
                u.user.username.clone(),
                org_names.get(&u.user.org_id).cloned().unwrap_or_default(),
                u.last_used_at.map(format_local).unwrap_or_else(|| never.clone()),
            )
        })
        .collect();
    let delegations = state
        .accounts
        .list_delegations(&c.subject)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            (
                usernames.get(&d.acting_id).cloned().unwrap_or_default(),
                usernames.get(&d.principal_id).cloned().unwrap_or_default(),
                format!("{} – {}", format_local(d.starts_at), format_local(d.ends_at)),
                d.reason,
                d.request_ref,
            )
        })
        .collect();
    let can_privileged = c.subject.can(Action::ManagePrivilegedUsers, None);
    render(&UsersPage {
        page: PageCtx::new(lang, "title.users", "/admin/users", Some((&c.user, &c.subject))),
        users: rows,
        can_manage: c.subject.can(Action::ManageUsers, None),
        orgs: orgs
            .iter()
            .map(|o| (o.code.clone(), o.name(lang == crate::i18n::Lang::En).to_string()))
            .collect(),
        roles: Role::ALL
            .iter()
            .filter(|r| can_privileged || !r.is_privileged())
            .map(|r| (r.as_str(), format!("role.{}", r.as_str())))
            .collect(),
        unused,
        delegations,
    })
}

pub struct TokenRow {
    pub id: String,
    pub label: String,
    pub user: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub status_key: &'static str,
    pub status_class: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    page: PageCtx,
    tokens: Vec<TokenRow>,
    users: Vec<String>,
}

pub async fn tokens(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ManageTokens, None)) else {
        return redirect_for(stage);
    };
    let never = crate::i18n::Translations::get(lang).text("common.never").to_string();
    let users = state.accounts.list_users(&c.subject).await.unwrap_or_default();
    let usernames: HashMap<String, String> =
        users.iter().map(|u| (u.id.clone(), u.username.clone())).collect();
    let at = now();
    let rows = state
        .accounts
        .list_tokens(&c.subject, None)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let (status_key, status_class, active) = if t.revoked_at.is_some() {
                ("tokens.status_revoked", "badge-muted", false)
            } else if t.expires_at <= at {
                ("tokens.status_expired", "badge-warn", false)
            } else {
                ("tokens.status_active", "badge-ok", true)
            };
            TokenRow {
                id: t.id.clone(),
                label: t.label.clone(),
                user: usernames.get(&t.user_id).cloned().unwrap_or_default(),
                scopes: t.scopes.join(", "),
                created: format_local(t.created_at),
                expires: format_local(t.expires_at),
                last_used: t.last_used_at.map(format_local).unwrap_or_else(|| never.clone()),
                status_key,
                status_class,
                active,
            }
        })
        .collect();
    render(&TokensPage {
        page: PageCtx::new(lang, "title.tokens", "/admin/tokens", Some((&c.user, &c.subject))),
        tokens: rows,
        users: users
            .iter()
            .filter(|u| u.status == AccountStatus::Active)
            .map(|u| u.username.clone())
            .collect(),
    })
}

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub username: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub outcome_key: String,
    pub outcome_class: &'static str,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: PageCtx,
    records: Vec<AuditRow>,
    error: Option<String>,
    outcomes: [&'static str; 3],
    known_actions: &'static [&'static str],
    f_username: String,
    f_action: String,
    f_outcome: String,
    f_from: String,
    f_to: String,
    older_link: Option<String>,
}

const AUDIT_PAGE_SIZE: i64 = 100;

pub async fn audit(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
    Query(filter): Query<AuditFilter>,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ViewAudit, None)) else {
        return redirect_for(stage);
    };
    let mut error = None;
    let mut records = Vec::new();
    match filter.to_query() {
        Ok(mut q) => {
            q.limit = Some(AUDIT_PAGE_SIZE);
            match state.audit.query(&c.subject, &q).await {
                Ok(r) => records = r,
                Err(e) => error = Some(ApiError::from_core(e, lang).detail),
            }
        }
        Err(e) => error = Some(ApiError::from_core(e, lang).detail),
    }
    let older_link = (records.len() as i64 == AUDIT_PAGE_SIZE).then(|| {
        let last = records.last().map(|r| r.seq).unwrap_or_default();
        let enc = |s: &Option<String>| percent_encode(s.as_deref().unwrap_or_default());
        format!(
            "/admin/audit?username={}&action={}&outcome={}&from={}&to={}&before_seq={last}",
            enc(&filter.username),
            enc(&filter.action),
            enc(&filter.outcome),
            enc(&filter.from),
            enc(&filter.to)
        )
    });
    let rows = records
        .into_iter()
        .map(|r| AuditRow {
            seq: r.seq,
            at: format_local(r.at),
            username: r.username.unwrap_or_default(),
            role: r.role.unwrap_or_default(),
            action: r.action,
            target: r.target.unwrap_or_default(),
            ip: r.source_ip.unwrap_or_default(),
            outcome_key: format!("outcome.{}", r.outcome.as_str()),
            outcome_class: match r.outcome {
                haidang_core::audit::Outcome::Success => "badge-ok",
                haidang_core::audit::Outcome::Failure => "badge-danger",
                haidang_core::audit::Outcome::Denied => "badge-warn",
            },
            detail: r.detail,
        })
        .collect();
    render(&AuditPage {
        page: PageCtx::new(lang, "title.audit", "/admin/audit", Some((&c.user, &c.subject))),
        records: rows,
        error,
        known_actions: &haidang_core::audit::ACTIONS,
        outcomes: ["success", "failure", "denied"],
        f_username: filter.username.clone().unwrap_or_default(),
        f_action: filter.action.clone().unwrap_or_default(),
        f_outcome: filter.outcome.clone().unwrap_or_default(),
        f_from: filter.from.clone().unwrap_or_default(),
        f_to: filter.to.clone().unwrap_or_default(),
        older_link,
    })
}

/// Percent-encodes a query value (everything but unreserved characters, RFC 3986).
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::percent_encode("a b&c=đ"), "a%20b%26c%3D%C4%91");
    }
}
