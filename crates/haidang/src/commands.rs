//! What each operator command does. Commands act as the operator at the terminal ("cli" in the
//! audit trail) through the same services as the server.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use haidang_core::accounts::admin::CreateOptions;
use haidang_core::accounts::{LifecycleKind, LifecycleRequest, NewUser, Subject};
use haidang_core::audit::VerifyReport;
use haidang_core::orgs::NewOrganisation;
use haidang_core::time::{format_local, parse_duration};
use haidang_server::config::Config;
use haidang_server::state::AppState;

use crate::cli::{AuditCommand, OrgCommand, Reasoned, TokenCommand, UnitsCommand, UserCommand};
use crate::setup::{build_state, open_store};

fn read_password_stdin(flag: bool) -> anyhow::Result<String> {
    if !flag {
        bail!("give the password on standard input with --password-stdin (it is never taken as an argument)");
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let password = text.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

fn req(why: Reasoned) -> LifecycleRequest {
    LifecycleRequest { reason: why.reason, request_ref: why.request_ref }
}

pub async fn user(config: Config, cmd: UserCommand) -> anyhow::Result<()> {
    let state = build_state(config).await?;
    let cli = Subject::cli();
    match cmd {
        UserCommand::Create { username, org, role, display_name, password_stdin, reason, request_ref } => {
            let password = read_password_stdin(password_stdin)?;
            let user = state
                .accounts
                .create_user(
                    &cli,
                    NewUser {
                        username,
                        display_name,
                        email: None,
                        phone: None,
                        org,
                        role,
                        password,
                        reason,
                        request_ref,
                    },
                    CreateOptions::default(),
                )
                .await?;
            println!(
                "created {} ({}); the password must be changed at first sign-in",
                user.username,
                user.role.as_str()
            );
        }
        UserCommand::List => {
            println!("{:<20} {:<14} {:<9} {:<18} org", "username", "role", "status", "last sign-in");
            let orgs = state.orgs.list(&cli).await?;
            for u in state.accounts.list_users(&cli).await? {
                let org = orgs.iter().find(|o| o.id == u.org_id).map(|o| o.code.as_str()).unwrap_or("?");
                let last = u.last_login_at.map(format_local).unwrap_or_else(|| "-".into());
                println!(
                    "{:<20} {:<14} {:<9} {:<18} {org}",
                    u.username,
                    u.role.as_str(),
                    u.status.as_str(),
                    last
                );
            }
        }
        UserCommand::Lock { username, why } => {
            state.accounts.change_status(&cli, &username, LifecycleKind::Lock, &req(why)).await?;
            println!("locked {username}; its sessions and tokens have ended");
        }
        UserCommand::Unlock { username, why } => {
            state.accounts.change_status(&cli, &username, LifecycleKind::Unlock, &req(why)).await?;
            println!("unlocked {username}");
        }
        UserCommand::Revoke { username, why } => {
            state.accounts.change_status(&cli, &username, LifecycleKind::Revoke, &req(why)).await?;
            println!("revoked {username}; its sessions and tokens have ended");
        }
        UserCommand::SetPassword { username, password_stdin, why } => {
            let password = read_password_stdin(password_stdin)?;
            state.accounts.reset_password(&cli, &username, &password, &req(why)).await?;
            println!("password of {username} set; it must be changed at next sign-in");
        }
    }
    Ok(())
}

pub async fn token(config: Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let state = build_state(config).await?;
    let cli = Subject::cli();
    match cmd {
        TokenCommand::Issue { user, scope, expires_in, label } => {
            let d = parse_duration(&expires_in)
                .ok_or_else(|| anyhow!("--expires-in '{expires_in}' is not like 90d, 12h or 30m"))?;
            let issued = state.accounts.issue_token(&cli, &user, &label, &scope, d).await?;
            eprintln!(
                "token {} for {user}, scopes {}, expires {}",
                issued.token.id,
                scope.join(","),
                format_local(issued.token.expires_at)
            );
            eprintln!("the token is shown once; store it now:");
            println!("{}", issued.secret);
        }
        TokenCommand::List { user } => {
            for t in state.accounts.list_tokens(&cli, user.as_deref()).await? {
                let status = if t.revoked_at.is_some() { "revoked" } else { "valid" };
                println!(
                    "{}  {:<20} {:<16} {:<8} expires {}",
                    t.id,
                    t.label,
                    t.scopes.join(","),
                    status,
                    format_local(t.expires_at)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            state.accounts.revoke_token(&cli, &id).await?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}

pub async fn org(config: Config, cmd: OrgCommand) -> anyhow::Result<()> {
    let state = build_state(config).await?;
    let cli = Subject::cli();
    match cmd {
        OrgCommand::Create {
            code,
            name,
            name_en,
            kind,
            parent,
            sectors,
            units,
            head,
            phone,
            duty_phone,
            email,
        } => {
            let org = state
                .orgs
                .create(
                    &cli,
                    NewOrganisation {
                        code,
                        parent,
                        kind,
                        name_vi: name,
                        name_en,
                        sectors,
                        unit_codes: units,
                        head_name: head,
                        email,
                        phone,
                        duty_phone,
                    },
                )
                .await?;
            println!("created {} ({})", org.code, org.name_vi);
        }
        OrgCommand::List => {
            for o in state.orgs.list(&cli).await? {
                println!("{:<24} {:<22} {}", o.code, o.kind.as_str(), o.name_vi);
            }
        }
    }
    Ok(())
}

pub async fn units(config: Config, cmd: UnitsCommand) -> anyhow::Result<()> {
    let state = build_state(config).await?;
    let cli = Subject::cli();
    match cmd {
        UnitsCommand::Import { file, valid_from } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let date = valid_from
                .parse()
                .map_err(|_| anyhow!("--valid-from '{valid_from}' is not a date (YYYY-MM-DD)"))?;
            let summary = state.units.import_geojson(&cli, &text, date).await?;
            println!(
                "imported {} units ({} parent provinces added from the code list)",
                summary.units, summary.parents_added
            );
        }
        UnitsCommand::Successions { file } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let n = state.units.import_successions(&cli, &text).await?;
            println!("imported {n} successions");
        }
    }
    Ok(())
}

/// Exit status 0 when the chain is intact, an error naming the first broken record otherwise.
pub async fn audit(config: Config, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let state = build_state(config).await?;
            match verify(&state).await? {
                VerifyReport::Intact { records } => {
                    println!("audit trail intact: {records} records verified");
                    Ok(())
                }
                VerifyReport::Broken(problem) => bail!("audit trail broken: {problem}"),
            }
        }
    }
}

pub async fn verify(state: &AppState) -> anyhow::Result<VerifyReport> {
    let head_path = state.config.audit_head_file();
    let head = haidang_store::read_head_file(&head_path)
        .with_context(|| format!("reading {}", head_path.display()))?;
    Ok(state.audit.verify(state.store.audit_key(), head.as_ref()).await?)
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    println!("database at schema version {} ({})", store.schema_version(), store.backend().as_str());
    Ok(())
}

pub async fn backup(config: Config, out: &Path) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let summary = haidang_store::backup::backup(&store, std::io::BufWriter::new(file)).await?;
    std::fs::rename(&tmp, out)?;
    println!("backup written to {}: {} tables, {} rows", out.display(), summary.tables, summary.rows);
    Ok(())
}

pub async fn restore(config: Config, file: &Path) -> anyhow::Result<()> {
    let store: Arc<haidang_store::Store> = open_store(&config).await?;
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let summary = haidang_store::backup::restore(&store, std::io::BufReader::new(input)).await?;
    store.reset_head_file().await?;
    println!("restored {} tables, {} rows from {}", summary.tables, summary.rows, file.display());
    Ok(())
}
