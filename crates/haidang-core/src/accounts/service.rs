//! Signing in and staying signed in: password check with lock-out, second factor, sessions that
//! expire when idle, first-sign-in password change and TOTP enrolment, API token checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use tracing::instrument;

use super::model::{AccountStatus, Credential, Session, SessionStage, User};
use super::policy::{ActingFor, Subject};
use super::{password, secret, totp};
use crate::audit::{Actor, AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::repo::Repositories;
use crate::time::now;

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub idle_timeout: SignedDuration,
    pub session_lifetime: SignedDuration,
    pub max_failed_logins: i64,
    pub lockout: SignedDuration,
    pub totp_issuer: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            idle_timeout: SignedDuration::from_mins(30),
            session_lifetime: SignedDuration::from_hours(12),
            max_failed_logins: 5,
            lockout: SignedDuration::from_mins(15),
            totp_issuer: "Hai Dang IOC".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub totp_code: Option<String>,
    pub source_ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The cookie value; shown once, only its hash is stored.
    pub secret: String,
    pub session: Session,
    pub user: User,
}

pub struct AccountService {
    pub(crate) repo: Arc<dyn Repositories>,
    pub(crate) settings: AuthSettings,
    /// Failed attempts for usernames that do not exist, so that they lock out exactly like real
    /// ones and the lock-out does not reveal which usernames exist.
    unknown_failures: Mutex<HashMap<String, (i64, Option<Timestamp>)>>,
    /// One sign-in at a time per username: the failure count and the TOTP step are read, checked
    /// and written back, and parallel guesses must not all read the same count.
    login_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// argon2 off the async workers: it takes tens of milliseconds and much memory.
async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || password::verify(&password, &hash)).await.unwrap_or(false)
}

async fn verify_dummy(password: &str) {
    let password = password.to_string();
    let _ = tokio::task::spawn_blocking(move || password::verify_dummy(&password)).await;
}

impl AccountService {
    pub fn new(repo: Arc<dyn Repositories>, settings: AuthSettings) -> Self {
        AccountService {
            repo,
            settings,
            unknown_failures: Mutex::new(HashMap::new()),
            login_locks: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    fn login_lock(&self, username: &str) -> Arc<tokio::sync::Mutex<()>> {
        let Ok(mut map) = self.login_locks.lock() else { return Arc::new(tokio::sync::Mutex::new(())) };
        if map.len() > 10_000 {
            map.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        map.entry(username.to_lowercase()).or_default().clone()
    }

    #[instrument(skip_all, fields(username = %req.username))]
    pub async fn login(&self, req: LoginRequest) -> CoreResult<LoginOutcome> {
        let lock = self.login_lock(&req.username);
        let _one_at_a_time = lock.lock().await;
        let at = now();
        let actor = Actor {
            username: Some(req.username.clone()),
            source_ip: req.source_ip.clone(),
            ..Actor::default()
        };
        let Some(user) =
            self.repo.get_user_by_username(&req.username).await?.filter(|u| !u.role.is_machine())
        else {
            verify_dummy(&req.password).await;
            let locked = self.note_unknown_failure(&req.username, at);
            let detail = if locked.is_some() { "locked_out" } else { "invalid_credentials" };
            let event = AuditEvent::new(&actor, "auth.login", Some(&req.username), Outcome::Failure)
                .with_detail(detail);
            self.repo.append_audit(&event).await?;
            return Err(match locked {
                Some(until) => CoreError::AccountLocked { until: Some(until) },
                None => CoreError::InvalidCredentials,
            });
        };
        let actor = Actor {
            user_id: Some(user.id.clone()),
            org_id: Some(user.org_id.clone()),
            role: Some(user.role.as_str().to_string()),
            ..actor
        };
        let fail = |detail: &str| {
            AuditEvent::new(&actor, "auth.login", Some(&user.username), Outcome::Failure).with_detail(detail)
        };

        if let Some(until) = user.login_locked_until.filter(|until| *until > at) {
            // As long as an unknown name takes, so the time does not tell whether the user exists.
            verify_dummy(&req.password).await;
            self.repo.append_audit(&fail("locked_out")).await?;
            return Err(CoreError::AccountLocked { until: Some(until) });
        }
        if !verify_password(&req.password, &user.password_hash).await {
            return Err(self.count_failure(&user, at, fail("invalid_credentials")).await?);
        }
        match user.status {
            AccountStatus::Active => {}
            AccountStatus::Locked => {
                self.repo.append_audit(&fail("account_locked")).await?;
                return Err(CoreError::AccountLocked { until: None });
            }
            AccountStatus::Revoked => {
                self.repo.append_audit(&fail("account_revoked")).await?;
                return Err(CoreError::AccountRevoked);
            }
        }
        if user.totp_enabled {
            let Some(code) = req.totp_code.as_deref().filter(|c| !c.trim().is_empty()) else {
                return Err(CoreError::TotpRequired);
            };
            let secret_b32 = user.totp_secret.clone().unwrap_or_default();
            match totp::verify(&secret_b32, code, at.as_second(), user.totp_last_step) {
                Some(step) => self.repo.set_totp_last_step(&user.id, step).await?,
                None => {
                    self.count_failure(&user, at, fail("totp_invalid")).await?;
                    return Err(CoreError::TotpInvalid);
                }
            }
        }

        let stage = self.stage_after_password(&user);
        let secret = secret::new_secret("hs_");
        let session = Session {
            id: secret::new_id(),
            token_hash: secret::hash_secret(&secret),
            user_id: user.id.clone(),
            stage,
            created_at: at,
            last_seen_at: at,
            expires_at: at + self.settings.session_lifetime,
            source_ip: req.source_ip.clone(),
            revoked_at: None,
        };
        self.repo.create_session(&session).await?;
        let ok = AuditEvent::new(&actor, "auth.login", Some(&user.username), Outcome::Success)
            .with_detail(stage.as_str());
        self.repo.record_login(&user.id, 0, None, Some(at), &ok).await?;
        Ok(LoginOutcome { secret, session, user })
    }

    fn stage_after_password(&self, user: &User) -> SessionStage {
        if user.must_change_password {
            SessionStage::ChangePassword
        } else if user.role.requires_totp() && !user.totp_enabled && !user.totp_exempt {
            SessionStage::EnrolTotp
        } else {
            SessionStage::Full
        }
    }

    async fn count_failure(&self, user: &User, at: Timestamp, audit: AuditEvent) -> CoreResult<CoreError> {
        let failures = user.failed_logins + 1;
        let (failures, until) = if failures >= self.settings.max_failed_logins {
            (0, Some(at + self.settings.lockout))
        } else {
            (failures, None)
        };
        let audit =
            if until.is_some() { audit.with_detail("invalid_credentials; locked_out") } else { audit };
        self.repo.record_login(&user.id, failures, until, user.last_login_at, &audit).await?;
        Ok(CoreError::InvalidCredentials)
    }

    fn note_unknown_failure(&self, username: &str, at: Timestamp) -> Option<Timestamp> {
        let Ok(mut map) = self.unknown_failures.lock() else { return None };
        if map.len() > 10_000 {
            map.retain(|_, (_, until)| until.is_some_and(|u| u > at));
        }
        let entry = map.entry(username.to_string()).or_insert((0, None));
        if let Some(until) = entry.1.filter(|u| *u > at) {
            return Some(until);
        }
        entry.0 += 1;
        if entry.0 > self.settings.max_failed_logins {
            entry.0 = 1;
        }
        if entry.0 >= self.settings.max_failed_logins {
            entry.1 = Some(at + self.settings.lockout);
            entry.0 = 0;
        }
        None
    }

    /// Resolves a session cookie to the signed-in user, ending sessions idle for too long.
    #[instrument(skip_all)]
    pub async fn authenticate_session(&self, secret: &str) -> CoreResult<(User, Session, Subject)> {
        let at = now();
        let Credential { credential: session, user, has_delegations } = self
            .repo
            .session_with_user(&secret::hash_secret(secret))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        if session.revoked_at.is_some() || at >= session.expires_at {
            return Err(CoreError::Unauthenticated);
        }
        if at.duration_since(session.last_seen_at) > self.settings.idle_timeout {
            self.repo.revoke_session(&session.id, at).await?;
            return Err(CoreError::Unauthenticated);
        }
        if user.status != AccountStatus::Active {
            return Err(CoreError::Unauthenticated);
        }
        // Touching at most once a minute keeps the idle clock right without a write per request.
        if at.duration_since(session.last_seen_at) > SignedDuration::from_secs(60) {
            self.repo.touch_session(&session.id, at).await?;
        }
        let subject = self.subject_of(&user, None, has_delegations, at).await?;
        Ok((user, session, subject))
    }

    /// Resolves a bearer token.
    #[instrument(skip_all)]
    pub async fn authenticate_token(&self, secret: &str) -> CoreResult<(User, Subject)> {
        let at = now();
        let Credential { credential: token, user, has_delegations } =
            self.repo.token_with_user(&secret::hash_secret(secret)).await?.ok_or(CoreError::TokenInvalid)?;
        if token.revoked_at.is_some() || at >= token.expires_at {
            return Err(CoreError::TokenInvalid);
        }
        if user.status != AccountStatus::Active {
            return Err(CoreError::TokenInvalid);
        }
        if token.last_used_at.is_none_or(|t| at.duration_since(t) > SignedDuration::from_secs(60)) {
            self.repo.touch_token(&token.id, at).await?;
        }
        let mut subject = self.subject_of(&user, Some(token.scopes.clone()), has_delegations, at).await?;
        subject.token_id = Some(token.id.clone());
        Ok((user, subject))
    }

    pub async fn subject_for(
        &self,
        user: &User,
        scopes: Option<Vec<String>>,
        at: Timestamp,
    ) -> CoreResult<Subject> {
        self.subject_of(user, scopes, true, at).await
    }

    /// The subject a request acts as; the delegations are read only when the user has any.
    async fn subject_of(
        &self,
        user: &User,
        scopes: Option<Vec<String>>,
        has_delegations: bool,
        at: Timestamp,
    ) -> CoreResult<Subject> {
        let mut acting_for = Vec::new();
        let delegations =
            if has_delegations { self.repo.delegations_for(&user.id).await? } else { Vec::new() };
        for d in delegations.iter().filter(|d| d.is_active_at(at)) {
            if let Some(p) =
                self.repo.get_user(&d.principal_id).await?.filter(|p| p.status == AccountStatus::Active)
            {
                acting_for.push(ActingFor { principal_id: p.id, role: p.role, org_id: p.org_id });
            }
        }
        Ok(Subject { acting_for, token_scopes: scopes, ..Subject::of_user(user) })
    }

    pub async fn logout(&self, session: &Session, subject: &Subject) -> CoreResult<()> {
        self.repo.revoke_session(&session.id, now()).await?;
        let event =
            AuditEvent::new(&subject.actor(), "auth.logout", Some(&subject.username), Outcome::Success);
        self.repo.append_audit(&event).await?;
        Ok(())
    }

    /// The user's own password change (first sign-in or later). Returns the session's next stage.
    #[instrument(skip_all)]
    pub async fn change_own_password(
        &self,
        user: &User,
        session: &Session,
        subject: &Subject,
        current: &str,
        new: &str,
    ) -> CoreResult<SessionStage> {
        if !verify_password(current, &user.password_hash).await {
            return Err(CoreError::validation("current_password", "is not correct"));
        }
        if current == new {
            return Err(CoreError::validation("new_password", "must differ from the current password"));
        }
        password::check_policy(new, &user.username)?;
        let hash = password::hash(new)?;
        let event =
            AuditEvent::new(&subject.actor(), "auth.password_change", Some(&user.username), Outcome::Success);
        self.repo.set_password(&user.id, &hash, false, None, &event).await?;
        let updated = User { must_change_password: false, ..user.clone() };
        let stage = self.stage_after_password(&updated);
        self.repo.set_session_stage(&session.id, stage).await?;
        Ok(stage)
    }

    /// Starts TOTP enrolment: a new secret, not yet active, for the authenticator app.
    pub async fn begin_totp(&self, user: &User) -> CoreResult<(String, String)> {
        if user.totp_enabled {
            return Err(CoreError::Conflict("a second factor is already enrolled".into()));
        }
        let secret_b32 = totp::new_secret();
        self.repo.set_totp(&user.id, Some(&secret_b32), false, None).await?;
        let uri = totp::otpauth_uri(&secret_b32, &user.username, &self.settings.totp_issuer);
        Ok((secret_b32, uri))
    }

    /// Confirms enrolment with a first code; the session becomes a full one.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        session: &Session,
        subject: &Subject,
        code: &str,
    ) -> CoreResult<()> {
        let user = self.repo.get_user(user_id).await?.ok_or_else(|| CoreError::not_found("user"))?;
        let secret_b32 = user
            .totp_secret
            .clone()
            .filter(|_| !user.totp_enabled)
            .ok_or_else(|| CoreError::Conflict("no enrolment in progress".into()))?;
        let step = totp::verify(&secret_b32, code, now().as_second(), None).ok_or(CoreError::TotpInvalid)?;
        let event =
            AuditEvent::new(&subject.actor(), "auth.totp_enrol", Some(&user.username), Outcome::Success);
        self.repo.set_totp(&user.id, Some(&secret_b32), true, Some(&event)).await?;
        self.repo.set_totp_last_step(&user.id, step).await?;
        if session.stage == SessionStage::EnrolTotp {
            self.repo.set_session_stage(&session.id, SessionStage::Full).await?;
        }
        Ok(())
    }
}
