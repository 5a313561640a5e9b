//! Users, lifecycle events, sessions, API tokens and delegations in the store.

use async_trait::async_trait;
use haidang_core::accounts::{
    AccountStatus, ApiToken, Credential, Delegation, LifecycleEvent, LifecycleKind, Role, Session,
    SessionStage, User,
};
use haidang_core::audit::AuditEvent;
use haidang_core::repo::AccountRepository;
use haidang_core::time::now;
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::rows::{bool_int, flag, int, list, list_json, opt_int, opt_text, opt_ts, opt_us, text, ts, us};
use crate::{db_err, Store};

const USER_COLUMNS: &str = "id, username, display_name, email, phone, org_id, role, status, password_hash, \
    must_change_password, totp_secret, totp_enabled, totp_exempt, totp_last_step, failed_logins, \
    login_locked_until, last_login_at, created_at, updated_at";
const SESSION_COLUMNS: &str =
    "id, token_hash, user_id, stage, created_at, last_seen_at, expires_at, source_ip, revoked_at";
const TOKEN_COLUMNS: &str =
    "id, user_id, label, scopes, token_hash, created_by, created_at, expires_at, revoked_at, last_used_at";
const DELEGATION_COLUMNS: &str = "id, principal_id, acting_id, starts_at, ends_at, reason, request_ref, \
    created_by, created_at, revoked_at";

fn bad(col: &str) -> CoreError {
    CoreError::Storage(format!("{col}: unknown value"))
}

fn user_from_row(row: &AnyRow) -> CoreResult<User> {
    Ok(User {
        id: text(row, "id")?,
        username: text(row, "username")?,
        display_name: text(row, "display_name")?,
        email: opt_text(row, "email")?,
        phone: opt_text(row, "phone")?,
        org_id: text(row, "org_id")?,
        role: Role::parse(&text(row, "role")?).ok_or_else(|| bad("users.role"))?,
        status: AccountStatus::parse(&text(row, "status")?).ok_or_else(|| bad("users.status"))?,
        password_hash: text(row, "password_hash")?,
        must_change_password: flag(row, "must_change_password")?,
        totp_secret: opt_text(row, "totp_secret")?,
        totp_enabled: flag(row, "totp_enabled")?,
        totp_exempt: flag(row, "totp_exempt")?,
        totp_last_step: opt_int(row, "totp_last_step")?,
        failed_logins: int(row, "failed_logins")?,
        login_locked_until: opt_ts(row, "login_locked_until")?,
        last_login_at: opt_ts(row, "last_login_at")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

/// A session from columns named with `prefix` (a join with its user renames them).
fn session_from(row: &AnyRow, prefix: &str) -> CoreResult<Session> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(Session {
        id: text(row, &c("id"))?,
        token_hash: text(row, &c("token_hash"))?,
        user_id: text(row, &c("user_id"))?,
        stage: SessionStage::parse(&text(row, &c("stage"))?).ok_or_else(|| bad("sessions.stage"))?,
        created_at: ts(row, &c("created_at"))?,
        last_seen_at: ts(row, &c("last_seen_at"))?,
        expires_at: ts(row, &c("expires_at"))?,
        source_ip: opt_text(row, &c("source_ip"))?,
        revoked_at: opt_ts(row, &c("revoked_at"))?,
    })
}

fn token_from_row(row: &AnyRow) -> CoreResult<ApiToken> {
    token_from(row, "")
}

/// A token from columns named with `prefix` (a join with its user renames them).
fn token_from(row: &AnyRow, prefix: &str) -> CoreResult<ApiToken> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(ApiToken {
        id: text(row, &c("id"))?,
        user_id: text(row, &c("user_id"))?,
        label: text(row, &c("label"))?,
        scopes: list(row, &c("scopes"))?,
        token_hash: text(row, &c("token_hash"))?,
        created_by: opt_text(row, &c("created_by"))?,
        created_at: ts(row, &c("created_at"))?,
        expires_at: ts(row, &c("expires_at"))?,
        revoked_at: opt_ts(row, &c("revoked_at"))?,
        last_used_at: opt_ts(row, &c("last_used_at"))?,
    })
}

/// "t.a AS c_a, t.b AS c_b": a credential's columns renamed apart from its user's.
fn credential_columns(columns: &str, table: &str) -> String {
    columns.split(',').map(|c| format!("{table}.{0} AS c_{0}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// One read for the credential, its user and whether the user acts for anyone.
fn credential_sql(columns: &str, table: &str) -> String {
    let users: Vec<String> = USER_COLUMNS.split(',').map(|c| format!("u.{}", c.trim())).collect();
    format!(
        "SELECT {}, {}, CAST(CASE WHEN EXISTS (SELECT 1 FROM delegations d WHERE d.acting_id = u.id \
         AND d.revoked_at IS NULL) THEN 1 ELSE 0 END AS BIGINT) AS has_delegations \
         FROM {table} c JOIN users u ON u.id = c.user_id WHERE c.token_hash = $1",
        credential_columns(columns, "c"),
        users.join(", ")
    )
}

fn delegation_from_row(row: &AnyRow) -> CoreResult<Delegation> {
    Ok(Delegation {
        id: text(row, "id")?,
        principal_id: text(row, "principal_id")?,
        acting_id: text(row, "acting_id")?,
        starts_at: ts(row, "starts_at")?,
        ends_at: ts(row, "ends_at")?,
        reason: text(row, "reason")?,
        request_ref: text(row, "request_ref")?,
        created_by: opt_text(row, "created_by")?,
        created_at: ts(row, "created_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

async fn insert_lifecycle(tx: &mut Transaction<'static, Any>, e: &LifecycleEvent) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO account_events (id, user_id, kind, reason, request_ref, actor_id, at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
    )
    .bind(e.id.clone())
    .bind(e.user_id.clone())
    .bind(e.kind.as_str())
    .bind(e.reason.clone())
    .bind(e.request_ref.clone())
    .bind(e.actor_id.clone())
    .bind(us(e.at))
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl Store {
    async fn fetch_user(&self, column: &str, value: &str) -> CoreResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = $1"))
            .bind(value.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Runs `statement` (binding `user_id` as $1 and a time as $2) plus the audit record in one
    /// transaction; most account updates are this shape.
    async fn simple_write<'q>(
        &self,
        statement: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
        audit: Option<&AuditEvent>,
    ) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        statement.execute(&mut *tx).await.map_err(db_err)?;
        let record = match audit {
            Some(a) => Some(self.append_in_tx(&mut tx, a).await?),
            None => None,
        };
        tx.commit().await.map_err(db_err)?;
        if let Some(r) = record {
            self.after_commit(&r).await;
        }
        Ok(())
    }
}

#[async_trait]
impl AccountRepository for Store {
    async fn create_user(&self, u: &User, event: &LifecycleEvent, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)"
        ))
        .bind(u.id.clone())
        .bind(u.username.clone())
        .bind(u.display_name.clone())
        .bind(u.email.clone())
        .bind(u.phone.clone())
        .bind(u.org_id.clone())
        .bind(u.role.as_str())
        .bind(u.status.as_str())
        .bind(u.password_hash.clone())
        .bind(bool_int(u.must_change_password))
        .bind(u.totp_secret.clone())
        .bind(bool_int(u.totp_enabled))
        .bind(bool_int(u.totp_exempt))
        .bind(u.totp_last_step)
        .bind(u.failed_logins)
        .bind(opt_us(u.login_locked_until))
        .bind(opt_us(u.last_login_at))
        .bind(us(u.created_at))
        .bind(us(u.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| match db_err(e) {
            CoreError::Conflict(_) => CoreError::Conflict(format!("username '{}' is taken", u.username)),
            other => other,
        })?;
        insert_lifecycle(&mut tx, event).await?;
        self.commit_audited(tx, audit).await
    }

    async fn get_user(&self, id: &str) -> CoreResult<Option<User>> {
        self.fetch_user("id", id).await
    }

    async fn get_user_by_username(&self, username: &str) -> CoreResult<Option<User>> {
        self.fetch_user("username", username).await
    }

    async fn list_users(&self) -> CoreResult<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn record_login(
        &self,
        user_id: &str,
        failed_logins: i64,
        locked_until: Option<Timestamp>,
        last_login_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> CoreResult<()> {
        let q = sqlx::query(
            "UPDATE users SET failed_logins = $2, login_locked_until = $3, last_login_at = $4 WHERE id = $1",
        )
        .bind(user_id.to_string())
        .bind(failed_logins)
        .bind(opt_us(locked_until))
        .bind(opt_us(last_login_at));
        self.simple_write(q, Some(audit)).await
    }

    async fn set_status(
        &self,
        user_id: &str,
        status: AccountStatus,
        event: &LifecycleEvent,
        audit: &AuditEvent,
    ) -> CoreResult<()> {
        let at = us(event.at);
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        // Unlocking also clears the sign-in lock-out, so the owner can sign in at once.
        sqlx::query(
            "UPDATE users SET status = $2, updated_at = $3, failed_logins = 0, login_locked_until = NULL WHERE id = $1",
        )
        .bind(user_id.to_string())
        .bind(status.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if status != AccountStatus::Active {
            for table in ["sessions", "api_tokens"] {
                sqlx::query(&format!(
                    "UPDATE {table} SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
                ))
                .bind(user_id.to_string())
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
        insert_lifecycle(&mut tx, event).await?;
        self.commit_audited(tx, audit).await
    }

    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        must_change: bool,
        event: Option<&LifecycleEvent>,
        audit: &AuditEvent,
    ) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = $4, failed_logins = 0, \
             login_locked_until = NULL WHERE id = $1",
        )
        .bind(user_id.to_string())
        .bind(password_hash.to_string())
        .bind(bool_int(must_change))
        .bind(us(now()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some(e) = event {
            insert_lifecycle(&mut tx, e).await?;
            // An administrator's reset ends the sessions opened with the old password.
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id.to_string())
                .bind(us(e.at))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn set_totp(
        &self,
        user_id: &str,
        secret: Option<&str>,
        enabled: bool,
        audit: Option<&AuditEvent>,
    ) -> CoreResult<()> {
        let q = sqlx::query(
            "UPDATE users SET totp_secret = $2, totp_enabled = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(user_id.to_string())
        .bind(secret.map(str::to_string))
        .bind(bool_int(enabled))
        .bind(us(now()));
        self.simple_write(q, audit).await
    }

    async fn set_totp_last_step(&self, user_id: &str, step: i64) -> CoreResult<()> {
        let q = sqlx::query("UPDATE users SET totp_last_step = $2 WHERE id = $1")
            .bind(user_id.to_string())
            .bind(step);
        self.simple_write(q, None).await
    }

    async fn lifecycle_events(&self, user_id: &str) -> CoreResult<Vec<LifecycleEvent>> {
        let rows = sqlx::query(
            "SELECT id, user_id, kind, reason, request_ref, actor_id, at FROM account_events WHERE user_id = $1 ORDER BY at, id",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(LifecycleEvent {
                    id: text(r, "id")?,
                    user_id: text(r, "user_id")?,
                    kind: LifecycleKind::parse(&text(r, "kind")?)
                        .ok_or_else(|| bad("account_events.kind"))?,
                    reason: text(r, "reason")?,
                    request_ref: text(r, "request_ref")?,
                    actor_id: opt_text(r, "actor_id")?,
                    at: ts(r, "at")?,
                })
            })
            .collect()
    }

    async fn create_session(&self, s: &Session) -> CoreResult<()> {
        let sql = format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)");
        let q = sqlx::query(&sql)
            .bind(s.id.clone())
            .bind(s.token_hash.clone())
            .bind(s.user_id.clone())
            .bind(s.stage.as_str())
            .bind(us(s.created_at))
            .bind(us(s.last_seen_at))
            .bind(us(s.expires_at))
            .bind(s.source_ip.clone())
            .bind(opt_us(s.revoked_at));
        self.simple_write(q, None).await
    }

    async fn session_with_user(&self, token_hash: &str) -> CoreResult<Option<Credential<Session>>> {
        let row = sqlx::query(&credential_sql(SESSION_COLUMNS, "sessions"))
            .bind(token_hash.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Credential {
            credential: session_from(&row, "c_")?,
            user: user_from_row(&row)?,
            has_delegations: flag(&row, "has_delegations")?,
        }))
    }

    async fn touch_session(&self, id: &str, at: Timestamp) -> CoreResult<()> {
        let q = sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(us(at));
        self.simple_write(q, None).await
    }

    async fn set_session_stage(&self, id: &str, stage: SessionStage) -> CoreResult<()> {
        let q = sqlx::query("UPDATE sessions SET stage = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(stage.as_str());
        self.simple_write(q, None).await
    }

    async fn revoke_session(&self, id: &str, at: Timestamp) -> CoreResult<()> {
        let q = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.to_string())
            .bind(us(at));
        self.simple_write(q, None).await
    }

    async fn create_token(&self, t: &ApiToken, audit: &AuditEvent) -> CoreResult<()> {
        let sql = format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)");
        let q = sqlx::query(&sql)
            .bind(t.id.clone())
            .bind(t.user_id.clone())
            .bind(t.label.clone())
            .bind(list_json(&t.scopes))
            .bind(t.token_hash.clone())
            .bind(t.created_by.clone())
            .bind(us(t.created_at))
            .bind(us(t.expires_at))
            .bind(opt_us(t.revoked_at))
            .bind(opt_us(t.last_used_at));
        self.simple_write(q, Some(audit)).await
    }

    async fn token_with_user(&self, token_hash: &str) -> CoreResult<Option<Credential<ApiToken>>> {
        let row = sqlx::query(&credential_sql(TOKEN_COLUMNS, "api_tokens"))
            .bind(token_hash.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Credential {
            credential: token_from(&row, "c_")?,
            user: user_from_row(&row)?,
            has_delegations: flag(&row, "has_delegations")?,
        }))
    }

    async fn get_token(&self, id: &str) -> CoreResult<Option<ApiToken>> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_tokens(&self, user_id: Option<&str>) -> CoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ($1 IS NULL OR user_id = $1) ORDER BY created_at DESC, id"
        ))
        .bind(user_id.map(str::to_string))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: &str, at: Timestamp, audit: &AuditEvent) -> CoreResult<()> {
        let q = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.to_string())
            .bind(us(at));
        self.simple_write(q, Some(audit)).await
    }

    async fn touch_token(&self, id: &str, at: Timestamp) -> CoreResult<()> {
        let q = sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(us(at));
        self.simple_write(q, None).await
    }

    async fn create_delegation(&self, d: &Delegation, audit: &AuditEvent) -> CoreResult<()> {
        let sql =
            format!("INSERT INTO delegations ({DELEGATION_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)");
        let q = sqlx::query(&sql)
            .bind(d.id.clone())
            .bind(d.principal_id.clone())
            .bind(d.acting_id.clone())
            .bind(us(d.starts_at))
            .bind(us(d.ends_at))
            .bind(d.reason.clone())
            .bind(d.request_ref.clone())
            .bind(d.created_by.clone())
            .bind(us(d.created_at))
            .bind(opt_us(d.revoked_at));
        self.simple_write(q, Some(audit)).await
    }

    async fn list_delegations(&self) -> CoreResult<Vec<Delegation>> {
        let rows =
            sqlx::query(&format!("SELECT {DELEGATION_COLUMNS} FROM delegations ORDER BY starts_at DESC, id"))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter().map(delegation_from_row).collect()
    }

    async fn delegations_for(&self, acting_id: &str) -> CoreResult<Vec<Delegation>> {
        let rows = sqlx::query(&format!(
            "SELECT {DELEGATION_COLUMNS} FROM delegations WHERE acting_id = $1 AND revoked_at IS NULL ORDER BY starts_at, id"
        ))
        .bind(acting_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(delegation_from_row).collect()
    }
}
