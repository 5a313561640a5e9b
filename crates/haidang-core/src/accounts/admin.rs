//! Administering accounts: issue, lock, unlock, revoke and reset (each with a reason and the
//! written request's reference), API tokens shown once, acting officers, and the periodic review
//! of accounts unused for 90 days.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tracing::instrument;

use super::model::{
    AccountStatus, ApiToken, Delegation, LifecycleEvent, LifecycleKind, LifecycleRequest, NewUser, Role,
    User, TOKEN_SCOPES,
};
use super::policy::{Action, Subject};
use super::service::AccountService;
use super::{password, secret};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::time::now;

/// Longest life of an API token; machines get a new one at least once a year.
pub const MAX_TOKEN_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub token: ApiToken,
    /// The bearer secret, shown once.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnusedAccount {
    pub user: User,
    pub last_used_at: Option<Timestamp>,
}

/// Options that only the demo seeding and the CLI set.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateOptions {
    /// Skip the first-sign-in password change and TOTP enrolment (demo accounts only).
    pub demo: bool,
}

pub fn validate_username(username: &str) -> CoreResult<()> {
    let ok_len = (3..=64).contains(&username.len());
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-');
    if !ok_len || !ok_chars {
        return Err(CoreError::validation(
            "username",
            "must have 3 to 64 characters from a-z, 0-9, '.', '_' and '-'",
        ));
    }
    // Accounts are found by username or id: a username shaped like an id could stand in for
    // another account.
    if uuid::Uuid::parse_str(username).is_ok() {
        return Err(CoreError::validation("username", "must not look like an account id"));
    }
    Ok(())
}

fn lifecycle(user_id: &str, kind: LifecycleKind, req: &LifecycleRequest, actor: &Subject) -> LifecycleEvent {
    LifecycleEvent {
        id: secret::new_id(),
        user_id: user_id.to_string(),
        kind,
        reason: req.reason.trim().to_string(),
        request_ref: req.request_ref.trim().to_string(),
        actor_id: Some(actor.user_id.clone()).filter(|id| !id.is_empty()),
        at: now(),
    }
}

fn require_reason(req: &LifecycleRequest) -> CoreResult<()> {
    if req.reason.trim().is_empty() {
        return Err(CoreError::validation("reason", "must not be empty"));
    }
    if req.request_ref.trim().is_empty() {
        return Err(CoreError::validation(
            "request_ref",
            "the written request's reference must not be empty",
        ));
    }
    Ok(())
}

impl AccountService {
    #[instrument(skip_all, fields(username = %new.username))]
    pub async fn create_user(&self, by: &Subject, new: NewUser, opts: CreateOptions) -> CoreResult<User> {
        by.require(Action::ManageUsers, None)?;
        let username = new.username.trim().to_lowercase();
        validate_username(&username)?;
        // Issuing an account is a lifecycle step like a lock: through the console or the API it
        // needs its reason and written request. The terminal (`haidang user create`, run by the
        // server's operator, audited as "cli") and the demo may leave them out.
        if !by.user_id.is_empty() && !opts.demo {
            require_reason(&LifecycleRequest {
                reason: new.reason.clone(),
                request_ref: new.request_ref.clone(),
            })?;
        }
        let role = Role::parse(&new.role)
            .ok_or_else(|| CoreError::validation("role", format!("unknown role '{}'", new.role)))?;
        if role.is_privileged() {
            by.require(Action::ManagePrivilegedUsers, None)?;
        }
        let org = match self.repo.get_org_by_code(&new.org).await? {
            Some(org) => org,
            None => self
                .repo
                .get_org(&new.org)
                .await?
                .ok_or_else(|| CoreError::validation("org", format!("no organisation '{}'", new.org)))?,
        };
        if !role.is_machine() {
            password::check_policy(&new.password, &username)?;
        } else if new.password.chars().count() < password::MIN_LENGTH {
            return Err(CoreError::WeakPassword(crate::PasswordRule::TooShort { min: password::MIN_LENGTH }));
        }
        if self.repo.get_user_by_username(&username).await?.is_some() {
            return Err(CoreError::Conflict(format!("username '{username}' is taken")));
        }
        let at = now();
        let user = User {
            id: secret::new_id(),
            username: username.clone(),
            display_name: new
                .display_name
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| username.clone()),
            email: new.email.filter(|e| !e.trim().is_empty()),
            phone: new.phone.filter(|p| !p.trim().is_empty()),
            org_id: org.id.clone(),
            role,
            status: AccountStatus::Active,
            password_hash: password::hash(&new.password)?,
            must_change_password: !opts.demo && !role.is_machine(),
            totp_secret: None,
            totp_enabled: false,
            totp_exempt: opts.demo,
            totp_last_step: None,
            failed_logins: 0,
            login_locked_until: None,
            last_login_at: None,
            created_at: at,
            updated_at: at,
        };
        let req = LifecycleRequest {
            reason: if new.reason.trim().is_empty() { "account issued".into() } else { new.reason.clone() },
            request_ref: new.request_ref.clone(),
        };
        let event = lifecycle(&user.id, LifecycleKind::Issue, &req, by);
        let audit =
            AuditEvent::new(&by.actor(), "user.create", Some(&username), Outcome::Success).with_detail(
                format!("role={}; org={}; request_ref={}", role.as_str(), org.code, req.request_ref.trim()),
            );
        self.repo.create_user(&user, &event, &audit).await?;
        Ok(user)
    }

    pub async fn find_user(&self, id_or_username: &str) -> CoreResult<User> {
        if uuid::Uuid::parse_str(id_or_username).is_ok() {
            if let Some(u) = self.repo.get_user(id_or_username).await? {
                return Ok(u);
            }
        }
        if let Some(u) = self.repo.get_user_by_username(id_or_username).await? {
            return Ok(u);
        }
        self.repo
            .get_user(id_or_username)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("user '{id_or_username}'")))
    }

    pub async fn list_users(&self, by: &Subject) -> CoreResult<Vec<User>> {
        by.require(Action::ViewUsers, None)?;
        self.repo.list_users().await
    }

    pub async fn lifecycle_of(&self, by: &Subject, user_id: &str) -> CoreResult<Vec<LifecycleEvent>> {
        by.require(Action::ViewUsers, None)?;
        self.repo.lifecycle_events(user_id).await
    }

    /// Lock, unlock or revoke an account. Locking or revoking ends its sessions and tokens at once.
    #[instrument(skip_all, fields(user = %target, kind = kind.as_str()))]
    pub async fn change_status(
        &self,
        by: &Subject,
        target: &str,
        kind: LifecycleKind,
        req: &LifecycleRequest,
    ) -> CoreResult<User> {
        by.require(Action::ManageUsers, None)?;
        require_reason(req)?;
        let user = self.find_user(target).await?;
        if user.role.is_privileged() {
            by.require(Action::ManagePrivilegedUsers, None)?;
        }
        if user.id == by.user_id {
            return Err(CoreError::Conflict("you cannot change the status of your own account".into()));
        }
        let status = match (kind, user.status) {
            (LifecycleKind::Lock, AccountStatus::Active) => AccountStatus::Locked,
            (LifecycleKind::Unlock, AccountStatus::Locked) => AccountStatus::Active,
            (LifecycleKind::Revoke, AccountStatus::Active | AccountStatus::Locked) => AccountStatus::Revoked,
            (LifecycleKind::Lock | LifecycleKind::Unlock | LifecycleKind::Revoke, current) => {
                return Err(CoreError::Conflict(format!(
                    "cannot {} an account that is {}",
                    kind.as_str(),
                    current.as_str()
                )))
            }
            (other, _) => {
                return Err(CoreError::validation(
                    "kind",
                    format!("'{}' is not a status change", other.as_str()),
                ))
            }
        };
        let event = lifecycle(&user.id, kind, req, by);
        let audit = AuditEvent::new(
            &by.actor(),
            &format!("user.{}", kind.as_str()),
            Some(&user.username),
            Outcome::Success,
        )
        .with_detail(format!("reason={}; request_ref={}", req.reason.trim(), req.request_ref.trim()));
        self.repo.set_status(&user.id, status, &event, &audit).await?;
        Ok(User { status, ..user })
    }

    /// Sets a new password chosen by an administrator; the owner must change it at next sign-in.
    pub async fn reset_password(
        &self,
        by: &Subject,
        target: &str,
        new_password: &str,
        req: &LifecycleRequest,
    ) -> CoreResult<()> {
        by.require(Action::ManageUsers, None)?;
        require_reason(req)?;
        let user = self.find_user(target).await?;
        if user.role.is_privileged() {
            by.require(Action::ManagePrivilegedUsers, None)?;
        }
        password::check_policy(new_password, &user.username)?;
        let hash = password::hash(new_password)?;
        let event = lifecycle(&user.id, LifecycleKind::PasswordReset, req, by);
        let audit =
            AuditEvent::new(&by.actor(), "user.password_reset", Some(&user.username), Outcome::Success)
                .with_detail(format!("reason={}; request_ref={}", req.reason.trim(), req.request_ref.trim()));
        self.repo.set_password(&user.id, &hash, true, Some(&event), &audit).await
    }

    #[instrument(skip_all, fields(user = %target))]
    pub async fn issue_token(
        &self,
        by: &Subject,
        target: &str,
        label: &str,
        scopes: &[String],
        expires_in: SignedDuration,
    ) -> CoreResult<IssuedToken> {
        by.require(Action::ManageTokens, None)?;
        let user = self.find_user(target).await?;
        // A token acts as its account with no second factor: only an administrator may make one
        // for an administrator or supervisor.
        if user.role.is_privileged() {
            by.require(Action::ManagePrivilegedUsers, None)?;
        }
        if user.status != AccountStatus::Active {
            return Err(CoreError::Conflict(format!(
                "account '{}' is {}",
                user.username,
                user.status.as_str()
            )));
        }
        if scopes.is_empty() {
            return Err(CoreError::validation(
                "scope",
                format!("give at least one of {}", TOKEN_SCOPES.join(", ")),
            ));
        }
        if let Some(bad) = scopes.iter().find(|s| !TOKEN_SCOPES.contains(&s.as_str())) {
            return Err(CoreError::validation(
                "scope",
                format!("unknown scope '{bad}'; known: {}", TOKEN_SCOPES.join(", ")),
            ));
        }
        if expires_in <= SignedDuration::ZERO || expires_in > SignedDuration::from_hours(24 * MAX_TOKEN_DAYS)
        {
            return Err(CoreError::validation(
                "expires_in",
                format!("must be between 1 second and {MAX_TOKEN_DAYS} days"),
            ));
        }
        let at = now();
        let secret = secret::new_secret("hd_");
        let token = ApiToken {
            id: secret::new_id(),
            user_id: user.id.clone(),
            label: if label.trim().is_empty() { user.username.clone() } else { label.trim().to_string() },
            scopes: scopes.to_vec(),
            token_hash: secret::hash_secret(&secret),
            created_by: Some(by.user_id.clone()).filter(|id| !id.is_empty()),
            created_at: at,
            expires_at: at + expires_in,
            revoked_at: None,
            last_used_at: None,
        };
        let audit =
            AuditEvent::new(&by.actor(), "token.issue", Some(&user.username), Outcome::Success).with_detail(
                format!("token={}; scopes={}; expires_at={}", token.id, scopes.join(","), token.expires_at),
            );
        self.repo.create_token(&token, &audit).await?;
        Ok(IssuedToken { token, secret })
    }

    pub async fn list_tokens(&self, by: &Subject, user: Option<&str>) -> CoreResult<Vec<ApiToken>> {
        by.require(Action::ManageTokens, None)?;
        let user_id = match user {
            Some(u) => Some(self.find_user(u).await?.id),
            None => None,
        };
        self.repo.list_tokens(user_id.as_deref()).await
    }

    pub async fn revoke_token(&self, by: &Subject, token_id: &str) -> CoreResult<()> {
        by.require(Action::ManageTokens, None)?;
        let token = self
            .repo
            .get_token(token_id)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("token '{token_id}'")))?;
        if token.revoked_at.is_some() {
            return Err(CoreError::Conflict("the token is already revoked".into()));
        }
        if self.repo.get_user(&token.user_id).await?.is_some_and(|u| u.role.is_privileged()) {
            by.require(Action::ManagePrivilegedUsers, None)?;
        }
        let audit = AuditEvent::new(&by.actor(), "token.revoke", Some(&token.id), Outcome::Success);
        self.repo.revoke_token(&token.id, now(), &audit).await
    }

    #[instrument(skip_all)]
    pub async fn create_delegation(
        &self,
        by: &Subject,
        principal: &str,
        acting: &str,
        starts_at: Timestamp,
        ends_at: Timestamp,
        req: &LifecycleRequest,
    ) -> CoreResult<Delegation> {
        by.require(Action::ManageDelegations, None)?;
        require_reason(req)?;
        let principal = self.find_user(principal).await?;
        let acting = self.find_user(acting).await?;
        if principal.id == acting.id {
            return Err(CoreError::validation("acting", "a user cannot act for themselves"));
        }
        if ends_at <= starts_at {
            return Err(CoreError::validation("ends_at", "must be after starts_at"));
        }
        if ends_at.duration_since(starts_at) > SignedDuration::from_hours(24 * 366) {
            return Err(CoreError::validation("ends_at", "a delegation lasts at most one year"));
        }
        // Only an administrator hands on the rights of an administrator, a supervisor or an auditor
        // (the audit trail is read by people independent of those who run the centre).
        if principal.role.is_privileged() || principal.role == Role::Auditor {
            by.require(Action::ManagePrivilegedUsers, None)?;
        }
        // Nobody hands themselves someone else's rights.
        if acting.id == by.user_id {
            return Err(CoreError::Forbidden("a delegation to yourself must be made by someone else".into()));
        }
        let d = Delegation {
            id: secret::new_id(),
            principal_id: principal.id.clone(),
            acting_id: acting.id.clone(),
            starts_at,
            ends_at,
            reason: req.reason.trim().to_string(),
            request_ref: req.request_ref.trim().to_string(),
            created_by: Some(by.user_id.clone()).filter(|id| !id.is_empty()),
            created_at: now(),
            revoked_at: None,
        };
        let audit =
            AuditEvent::new(&by.actor(), "delegation.create", Some(&acting.username), Outcome::Success)
                .with_detail(format!(
                    "acts_for={}; from={starts_at}; to={ends_at}; request_ref={}",
                    principal.username, d.request_ref
                ));
        self.repo.create_delegation(&d, &audit).await?;
        Ok(d)
    }

    pub async fn list_delegations(&self, by: &Subject) -> CoreResult<Vec<Delegation>> {
        by.require(Action::ViewUsers, None)?;
        self.repo.list_delegations().await
    }

    /// Active accounts with no sign-in (or, for machines, no token use) for `days` days.
    pub async fn unused_accounts(&self, by: &Subject, days: i64) -> CoreResult<Vec<UnusedAccount>> {
        by.require(Action::ViewUsers, None)?;
        // At most ten years back: beyond that nothing changes, and the arithmetic stays in range.
        let cutoff = now() - SignedDuration::from_hours(24 * days.clamp(1, 3_660));
        let tokens = self.repo.list_tokens(None).await?;
        let mut out = Vec::new();
        for user in self.repo.list_users().await?.into_iter().filter(|u| u.status == AccountStatus::Active) {
            let token_use =
                tokens.iter().filter(|t| t.user_id == user.id).filter_map(|t| t.last_used_at).max();
            let last_used_at = user.last_login_at.max(token_use);
            if last_used_at.unwrap_or(user.created_at) < cutoff {
                out.push(UnusedAccount { user, last_used_at });
            }
        }
        Ok(out)
    }
}
