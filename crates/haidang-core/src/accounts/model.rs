//! The records of the accounts capability, as the store keeps them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System administrator: accounts, organisations, configuration.
    Admin,
    /// IOC supervisor: runs the shift, approves data, manages accounts.
    Supervisor,
    /// IOC operator on the 24/7 shift.
    Operator,
    /// Provincial or department leader: reads everything except unmasked personal data.
    Leader,
    /// Officer of an agency: acts for their own organisation only.
    Officer,
    /// A machine account of an agency's system that pushes data.
    DataProvider,
    /// Reads the audit trail.
    Auditor,
}

impl Role {
    /// Admin and supervisor: only an administrator issues or changes these accounts, and they
    /// must sign in with a second factor.
    pub fn is_privileged(&self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }

    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Supervisor,
        Role::Operator,
        Role::Leader,
        Role::Officer,
        Role::DataProvider,
        Role::Auditor,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Operator => "operator",
            Role::Leader => "leader",
            Role::Officer => "officer",
            Role::DataProvider => "data_provider",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Roles whose holders must use a second factor.
    pub fn requires_totp(&self) -> bool {
        self.is_privileged()
    }

    /// Machines never sign in with a password; they use API tokens.
    pub fn is_machine(&self) -> bool {
        matches!(self, Role::DataProvider)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Locked,
    Revoked,
}

impl AccountStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Locked => "locked",
            AccountStatus::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<AccountStatus> {
        match text {
            "active" => Some(AccountStatus::Active),
            "locked" => Some(AccountStatus::Locked),
            "revoked" => Some(AccountStatus::Revoked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub org_id: String,
    pub role: Role,
    pub status: AccountStatus,
    #[serde(skip)]
    pub password_hash: String,
    pub must_change_password: bool,
    #[serde(skip)]
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    /// Only the demo's accounts: they may sign in without enrolling a second factor.
    pub totp_exempt: bool,
    #[serde(skip)]
    pub totp_last_step: Option<i64>,
    pub failed_logins: i64,
    pub login_locked_until: Option<Timestamp>,
    pub last_login_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The steps of an account's life the regulations name; each carries a reason and the reference
/// of the written request ("số văn bản đề nghị").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleKind {
    Issue,
    Lock,
    Unlock,
    Revoke,
    PasswordReset,
}

impl LifecycleKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            LifecycleKind::Issue => "issue",
            LifecycleKind::Lock => "lock",
            LifecycleKind::Unlock => "unlock",
            LifecycleKind::Revoke => "revoke",
            LifecycleKind::PasswordReset => "password_reset",
        }
    }

    pub fn parse(text: &str) -> Option<LifecycleKind> {
        [
            LifecycleKind::Issue,
            LifecycleKind::Lock,
            LifecycleKind::Unlock,
            LifecycleKind::Revoke,
            LifecycleKind::PasswordReset,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifecycleEvent {
    pub id: String,
    pub user_id: String,
    pub kind: LifecycleKind,
    pub reason: String,
    pub request_ref: String,
    pub actor_id: Option<String>,
    pub at: Timestamp,
}

/// How far a signed-in session may go: a first sign-in must change the password and, for admin
/// and supervisor, enrol TOTP before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    Full,
    ChangePassword,
    EnrolTotp,
}

impl SessionStage {
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionStage::Full => "full",
            SessionStage::ChangePassword => "change_password",
            SessionStage::EnrolTotp => "enrol_totp",
        }
    }

    pub fn parse(text: &str) -> Option<SessionStage> {
        match text {
            "full" => Some(SessionStage::Full),
            "change_password" => Some(SessionStage::ChangePassword),
            "enrol_totp" => Some(SessionStage::EnrolTotp),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub stage: SessionStage,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub source_ip: Option<String>,
    pub revoked_at: Option<Timestamp>,
}

/// A session or an API token as resolved on each request: with its user, and whether the user
/// acts for anyone (only then are the delegations read).
#[derive(Debug, Clone, PartialEq)]
pub struct Credential<T> {
    pub credential: T,
    pub user: User,
    pub has_delegations: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub scopes: Vec<String>,
    #[serde(skip)]
    pub token_hash: String,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// The scopes a token may carry: what a machine may do, on top of what its account's role allows.
pub const TOKEN_SCOPES: [&str; 4] = ["read", "write", "hub:read", "hub:write"];

/// A user acting for another for a period ("quyền thay thế"), e.g. a deputy during leave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delegation {
    pub id: String,
    pub principal_id: String,
    pub acting_id: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: String,
    pub request_ref: String,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl Delegation {
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.revoked_at.is_none() && self.starts_at <= at && at < self.ends_at
    }
}

/// What an administrator gives to create an account.
#[derive(Debug, Clone, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub org: String,
    pub role: String,
    pub password: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub request_ref: String,
}

/// Reason and written-request reference that every lifecycle step must carry.
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleRequest {
    pub reason: String,
    pub request_ref: String,
}
