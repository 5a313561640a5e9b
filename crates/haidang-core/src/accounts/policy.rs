//! The one place that decides every permission. Handlers and services ask `Subject::can`; nothing
//! else looks at roles. `role_grant` is the role × action matrix; a test walks all of it.

use jiff::Timestamp;
use serde::Serialize;

use super::model::{Delegation, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open the console (dashboard, map, pages).
    ViewConsole,
    ViewUnits,
    ManageUnits,
    ViewOrgs,
    ManageOrgs,
    ViewUsers,
    ManageUsers,
    /// Create and revoke accounts with the admin or supervisor role.
    ManagePrivilegedUsers,
    ManageDelegations,
    ManageTokens,
    ViewAudit,
    /// See a citizen's name, phone and address unmasked.
    ViewPersonalData,
    /// Ask an agency for figures or data.
    SendDataRequest,
    /// Direct the response to an incident from the centre.
    DirectIncident,
    ChangeConfiguration,
    /// Submit data or indicator values for an organisation.
    SubmitData,
    /// Read the shared data store.
    ReadData,
    /// Handle work assigned to an organisation (citizen reports, incidents).
    HandleAssignedWork,
    /// Read every approved dataset, whatever its sharing mode (the centre and leaders).
    ReadAllData,
    /// Define datasets (the provider's own, or any for the centre's supervisors).
    ManageDatasets,
    /// Approve and retire datasets, grant and revoke access to them.
    ApproveData,
    /// Keep the indicator catalog and the year's targets, review the figures sent.
    ManageIndicators,
    /// Read citizen reports (an agency: those assigned to it), without personal data.
    ViewCitizenReports,
    /// The centre's side of citizen reports: intake, verify, reject, merge, route, review, close.
    ManageCitizenReports,
    /// Grant or refuse an agency's request for more time on a citizen report.
    ApproveDeadlineExtension,
    /// Edit report categories, the routing table and the working-time calendar.
    ManageReportSettings,
    /// See the alert list and the live stream (an agency: the alerts forwarded to it).
    ViewAlerts,
    /// Acknowledge, verify, dismiss, forward and resolve alerts.
    HandleAlerts,
    /// Create and change monitoring rules and playbooks.
    ManageAlertRules,
    /// Approve a public warning before it goes out, and cancel one.
    ApprovePublicWarnings,
}

impl Action {
    pub const ALL: [Action; 30] = [
        Action::ViewConsole,
        Action::ViewUnits,
        Action::ManageUnits,
        Action::ViewOrgs,
        Action::ManageOrgs,
        Action::ViewUsers,
        Action::ManageUsers,
        Action::ManagePrivilegedUsers,
        Action::ManageDelegations,
        Action::ManageTokens,
        Action::ViewAudit,
        Action::ViewPersonalData,
        Action::SendDataRequest,
        Action::DirectIncident,
        Action::ChangeConfiguration,
        Action::SubmitData,
        Action::ReadData,
        Action::HandleAssignedWork,
        Action::ReadAllData,
        Action::ManageDatasets,
        Action::ApproveData,
        Action::ManageIndicators,
        Action::ViewCitizenReports,
        Action::ManageCitizenReports,
        Action::ApproveDeadlineExtension,
        Action::ManageReportSettings,
        Action::ViewAlerts,
        Action::HandleAlerts,
        Action::ManageAlertRules,
        Action::ApprovePublicWarnings,
    ];
}

/// How far a role's permission reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    No,
    /// Only for the holder's own organisation.
    OwnOrg,
    All,
}

/// The role × action matrix.
pub fn role_grant(role: Role, action: Action) -> Grant {
    use Action::*;
    use Grant::{All, No, OwnOrg};
    match role {
        Role::Admin => match action {
            ViewConsole
            | ViewUnits
            | ManageUnits
            | ViewOrgs
            | ManageOrgs
            | ViewUsers
            | ManageUsers
            | ManagePrivilegedUsers
            | ManageDelegations
            | ManageTokens
            | ViewAudit
            | ChangeConfiguration
            | ReadData
            | ReadAllData
            | ManageReportSettings => All,
            ViewPersonalData
            | SendDataRequest
            | DirectIncident
            | SubmitData
            | HandleAssignedWork
            | ManageDatasets
            | ApproveData
            | ManageIndicators
            | ViewCitizenReports
            | ManageCitizenReports
            | ApproveDeadlineExtension
            | ViewAlerts
            | HandleAlerts
            | ManageAlertRules
            | ApprovePublicWarnings => No,
        },
        Role::Supervisor => match action {
            ViewConsole
            | ViewUnits
            | ViewOrgs
            | ViewUsers
            | ManageUsers
            | ManageDelegations
            | ManageTokens
            | ViewPersonalData
            | SendDataRequest
            | DirectIncident
            | SubmitData
            | ReadData
            | HandleAssignedWork
            | ReadAllData
            | ManageDatasets
            | ApproveData
            | ManageIndicators
            | ViewCitizenReports
            | ManageCitizenReports
            | ApproveDeadlineExtension
            | ManageReportSettings
            | ViewAlerts
            | HandleAlerts
            | ManageAlertRules
            | ApprovePublicWarnings => All,
            ManageUnits | ManageOrgs | ManagePrivilegedUsers | ViewAudit | ChangeConfiguration => No,
        },
        Role::Operator => match action {
            ViewConsole | ViewUnits | ViewOrgs | ViewPersonalData | SendDataRequest | SubmitData
            | ReadData | HandleAssignedWork | ReadAllData | ViewCitizenReports | ManageCitizenReports
            | ViewAlerts | HandleAlerts => All,
            _ => No,
        },
        Role::Leader => match action {
            ViewConsole | ViewUnits | ViewOrgs | ViewUsers | SendDataRequest | DirectIncident | ReadData
            | ReadAllData | ViewCitizenReports | ViewAlerts => All,
            _ => No,
        },
        Role::Officer => match action {
            ViewConsole | ViewUnits | ViewOrgs | ReadData => All,
            ViewPersonalData | SubmitData | HandleAssignedWork | ManageDatasets | ViewCitizenReports
            | ViewAlerts => OwnOrg,
            _ => No,
        },
        Role::DataProvider => match action {
            ViewUnits | ReadData => All,
            SubmitData => OwnOrg,
            _ => No,
        },
        Role::Auditor => match action {
            ViewConsole | ViewUnits | ViewOrgs | ViewUsers | ViewAudit => All,
            _ => No,
        },
    }
}

/// Someone (or something) acting: their role and organisation, and the people they currently act
/// for through a delegation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subject {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub org_id: String,
    /// (role, organisation) of each principal this user acts for right now.
    pub acting_for: Vec<ActingFor>,
    /// For API tokens: the scopes the token carries; None for a console session.
    pub token_scopes: Option<Vec<String>>,
    /// The API token a request came with: a grant may name one token rather than a whole
    /// organisation.
    pub token_id: Option<String>,
    pub source_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActingFor {
    pub principal_id: String,
    pub role: Role,
    pub org_id: String,
}

impl Subject {
    /// A user acting on their own, with no delegation and no token scope: how the system acts
    /// for an account that set something up (a subscription, a connector).
    pub fn of_user(user: &super::User) -> Subject {
        Subject {
            user_id: user.id.clone(),
            username: user.username.clone(),
            role: user.role,
            org_id: user.org_id.clone(),
            acting_for: vec![],
            token_scopes: None,
            token_id: None,
            source_ip: None,
        }
    }

    /// The operator at a terminal running `haidang` commands on the store: full administrative
    /// rights, recorded in the audit trail as "cli".
    pub fn cli() -> Subject {
        Subject {
            user_id: String::new(),
            username: "cli".into(),
            role: Role::Admin,
            org_id: String::new(),
            acting_for: vec![],
            token_scopes: None,
            token_id: None,
            source_ip: None,
        }
    }

    /// How this subject appears in the audit trail.
    pub fn actor(&self) -> crate::audit::Actor {
        if self.user_id.is_empty() {
            return crate::audit::Actor { source_ip: self.source_ip.clone(), ..crate::audit::Actor::cli() };
        }
        crate::audit::Actor {
            user_id: Some(self.user_id.clone()),
            username: Some(self.username.clone()),
            org_id: Some(self.org_id.clone()),
            role: Some(self.role.as_str().to_string()),
            source_ip: self.source_ip.clone(),
        }
    }

    /// Fails with `forbidden` naming the action unless allowed.
    pub fn require(&self, action: Action, target_org: Option<&str>) -> crate::CoreResult<()> {
        if self.can(action, target_org) {
            Ok(())
        } else {
            Err(crate::CoreError::Forbidden(format!("{action:?}")))
        }
    }

    /// May this subject do `action`, for `target_org` when the action concerns one organisation?
    pub fn can(&self, action: Action, target_org: Option<&str>) -> bool {
        let own = permits(role_grant(self.role, action), &self.org_id, target_org);
        own || self.acting_for.iter().any(|a| permits(role_grant(a.role, action), &a.org_id, target_org))
    }

    /// May this subject do `action` for every organisation (a grant that is not limited to its
    /// own)?
    pub fn can_everywhere(&self, action: Action) -> bool {
        role_grant(self.role, action) == Grant::All
            || self.acting_for.iter().any(|a| role_grant(a.role, action) == Grant::All)
    }

    /// Keeps the delegations active at `at` whose principal has the given role and organisation.
    pub fn with_delegations(
        mut self,
        delegations: &[Delegation],
        principals: &[(String, Role, String)],
        at: Timestamp,
    ) -> Self {
        for d in delegations.iter().filter(|d| d.acting_id == self.user_id && d.is_active_at(at)) {
            if let Some((id, role, org)) = principals.iter().find(|(id, _, _)| *id == d.principal_id) {
                self.acting_for.push(ActingFor {
                    principal_id: id.clone(),
                    role: *role,
                    org_id: org.clone(),
                });
            }
        }
        self
    }

    /// A token scope check on top of the role: "read" for safe requests, "write" for the rest.
    pub fn token_allows(&self, write: bool) -> bool {
        match &self.token_scopes {
            None => true,
            Some(scopes) => {
                let needed = if write { "write" } else { "read" };
                scopes.iter().any(|s| s == needed || (needed == "read" && s == "write"))
            }
        }
    }
}

fn permits(grant: Grant, own_org: &str, target_org: Option<&str>) -> bool {
    match grant {
        Grant::No => false,
        Grant::All => true,
        Grant::OwnOrg => target_org.is_none_or(|t| t == own_org),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(role: Role, org: &str) -> Subject {
        Subject {
            user_id: "u1".into(),
            username: "u".into(),
            role,
            org_id: org.into(),
            acting_for: vec![],
            token_scopes: None,
            token_id: None,
            source_ip: None,
        }
    }

    #[test]
    fn officer_acts_for_own_org_only() {
        let s = subject(Role::Officer, "so-tnmt");
        assert!(s.can(Action::SubmitData, Some("so-tnmt")));
        assert!(!s.can(Action::SubmitData, Some("so-yte")));
        assert!(!s.can(Action::ManageUsers, None));
    }

    #[test]
    fn delegation_extends_for_its_period_only() {
        let at: Timestamp = "2026-11-23T03:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let d = Delegation {
            id: "d".into(),
            principal_id: "p".into(),
            acting_id: "u1".into(),
            starts_at: "2026-11-20T00:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH),
            ends_at: "2026-11-30T00:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH),
            reason: "nghỉ phép".into(),
            request_ref: "12/QĐ".into(),
            created_by: None,
            created_at: at,
            revoked_at: None,
        };
        let principals = vec![("p".to_string(), Role::Officer, "so-yte".to_string())];
        let s = subject(Role::Officer, "so-tnmt").with_delegations(std::slice::from_ref(&d), &principals, at);
        assert!(s.can(Action::SubmitData, Some("so-yte")));
        let later: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let s2 = subject(Role::Officer, "so-tnmt").with_delegations(&[d], &principals, later);
        assert!(!s2.can(Action::SubmitData, Some("so-yte")));
    }

    #[test]
    fn read_scope_token_cannot_write() {
        let mut s = subject(Role::DataProvider, "x");
        s.token_scopes = Some(vec!["read".into()]);
        assert!(s.token_allows(false));
        assert!(!s.token_allows(true));
        s.token_scopes = Some(vec!["write".into()]);
        assert!(s.token_allows(true) && s.token_allows(false));
    }

    /// The whole matrix, written out by hand from the regulations' roles, so a change to
    /// `role_grant` must change this table too. A = everywhere, O = own organisation, - = no.
    /// Columns: admin, supervisor, operator, leader, officer, data_provider, auditor (Role::ALL).
    const MATRIX: &[(Action, &str)] = &[
        (Action::ViewConsole, "AAAAA-A"),
        (Action::ViewUnits, "AAAAAAA"),
        (Action::ManageUnits, "A------"),
        (Action::ViewOrgs, "AAAAA-A"),
        (Action::ManageOrgs, "A------"),
        (Action::ViewUsers, "AA-A--A"),
        (Action::ManageUsers, "AA-----"),
        (Action::ManagePrivilegedUsers, "A------"),
        (Action::ManageDelegations, "AA-----"),
        (Action::ManageTokens, "AA-----"),
        (Action::ViewAudit, "A-----A"),
        (Action::ViewPersonalData, "-AA-O--"),
        (Action::SendDataRequest, "-AAA---"),
        (Action::DirectIncident, "-A-A---"),
        (Action::ChangeConfiguration, "A------"),
        (Action::SubmitData, "-AA-OO-"),
        (Action::ReadData, "AAAAAA-"),
        (Action::HandleAssignedWork, "-AA-O--"),
        (Action::ReadAllData, "AAAA---"),
        (Action::ManageDatasets, "-A--O--"),
        (Action::ApproveData, "-A-----"),
        (Action::ManageIndicators, "-A-----"),
        (Action::ViewCitizenReports, "-AAAO--"),
        (Action::ManageCitizenReports, "-AA----"),
        (Action::ApproveDeadlineExtension, "-A-----"),
        (Action::ManageReportSettings, "AA-----"),
        (Action::ViewAlerts, "-AAAO--"),
        (Action::HandleAlerts, "-AA----"),
        (Action::ManageAlertRules, "-A-----"),
        (Action::ApprovePublicWarnings, "-A-----"),
    ];

    #[test]
    fn every_role_and_action_meets_the_matrix() {
        assert_eq!(MATRIX.len(), Action::ALL.len(), "every action has a row");
        for action in Action::ALL {
            let (_, row) = MATRIX.iter().find(|(a, _)| *a == action).unwrap();
            for (role, cell) in Role::ALL.iter().zip(row.chars()) {
                let expected = match cell {
                    'A' => Grant::All,
                    'O' => Grant::OwnOrg,
                    _ => Grant::No,
                };
                assert_eq!(role_grant(*role, action), expected, "{role:?} × {action:?}");
                // What the grant means for a subject of that role in organisation "org-a".
                let s = subject(*role, "org-a");
                assert_eq!(
                    s.can(action, Some("org-a")),
                    expected != Grant::No,
                    "{role:?} × {action:?} own org"
                );
                assert_eq!(
                    s.can(action, Some("org-b")),
                    expected == Grant::All,
                    "{role:?} × {action:?} other org"
                );
            }
        }
    }

    #[test]
    fn the_leader_reads_all_but_personal_data_and_changes_no_configuration() {
        let s = subject(Role::Leader, "ubnd");
        assert!(
            s.can(Action::ReadData, None)
                && s.can(Action::DirectIncident, None)
                && s.can(Action::SendDataRequest, None)
        );
        assert!(!s.can(Action::ViewPersonalData, None));
        assert!(
            !s.can(Action::ChangeConfiguration, None)
                && !s.can(Action::ManageOrgs, None)
                && !s.can(Action::ManageUsers, None)
        );
    }
}
