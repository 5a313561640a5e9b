//! Organisations: the provincial People's Committee, departments and agencies, commune People's
//! Committees, the centre's operating unit, police, utilities and service providers. Each has its
//! sectors, the administrative units it covers, its head, contacts and 24/7 duty phone, which
//! escalations and emergency playbooks use.

mod service;

pub use service::{resolve_org, OrgService};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    ProvincialCommittee,
    Department,
    CommuneCommittee,
    OperatingUnit,
    Police,
    Utility,
    ServiceProvider,
    Other,
}

impl OrgKind {
    /// Also the order lists show them in: the province's bodies before the communes'.
    pub const ALL: [OrgKind; 8] = [
        OrgKind::ProvincialCommittee,
        OrgKind::Department,
        OrgKind::OperatingUnit,
        OrgKind::Police,
        OrgKind::Utility,
        OrgKind::ServiceProvider,
        OrgKind::CommuneCommittee,
        OrgKind::Other,
    ];

    fn rank(&self) -> usize {
        OrgKind::ALL.iter().position(|k| k == self).unwrap_or(OrgKind::ALL.len())
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            OrgKind::ProvincialCommittee => "provincial_committee",
            OrgKind::Department => "department",
            OrgKind::CommuneCommittee => "commune_committee",
            OrgKind::OperatingUnit => "operating_unit",
            OrgKind::Police => "police",
            OrgKind::Utility => "utility",
            OrgKind::ServiceProvider => "service_provider",
            OrgKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Sectors an organisation answers for (DOMAIN.md, scenario (b)).
pub const SECTORS: [&str; 14] = [
    "general",
    "health",
    "education",
    "transport",
    "environment",
    "public_order",
    "social_welfare",
    "agriculture",
    "construction",
    "tourism",
    "finance",
    "information",
    "disaster",
    "utilities",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: String,
    /// Short stable code used in URLs, commands and data feeds, e.g. "so-tnmt".
    pub code: String,
    pub parent_id: Option<String>,
    pub kind: OrgKind,
    pub name_vi: String,
    pub name_en: String,
    pub sectors: Vec<String>,
    pub unit_codes: Vec<String>,
    pub head_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub duty_phone: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Organisation {
    /// The English name when asked for and there is one, else the official Vietnamese name.
    pub fn name(&self, english: bool) -> &str {
        if english && !self.name_en.is_empty() {
            &self.name_en
        } else {
            &self.name_vi
        }
    }
}

/// What is given to create an organisation.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct NewOrganisation {
    pub code: String,
    pub parent: Option<String>,
    pub kind: String,
    pub name_vi: String,
    pub name_en: Option<String>,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default)]
    pub unit_codes: Vec<String>,
    pub head_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub duty_phone: Option<String>,
}

impl NewOrganisation {
    /// Checks the fields that need no store; the service checks parent and units exist.
    pub fn validate(&self) -> CoreResult<OrgKind> {
        let code = self.code.trim();
        if code.is_empty() || code.len() > 64 {
            return Err(CoreError::validation("code", "must have 1 to 64 characters"));
        }
        if !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
            return Err(CoreError::validation("code", "may hold only a-z, 0-9, '-' and '_'"));
        }
        if self.name_vi.trim().is_empty() {
            return Err(CoreError::validation("name_vi", "must not be empty"));
        }
        let kind = OrgKind::parse(&self.kind)
            .ok_or_else(|| CoreError::validation("kind", format!("unknown kind '{}'", self.kind)))?;
        if let Some(bad) = self.sectors.iter().find(|s| !SECTORS.contains(&s.as_str())) {
            return Err(CoreError::validation("sectors", format!("unknown sector '{bad}'")));
        }
        for (field, phone) in [("phone", &self.phone), ("duty_phone", &self.duty_phone)] {
            if let Some(p) = phone {
                let ok = !p.trim().is_empty()
                    && p.chars().all(|c| c.is_ascii_digit() || " +.-()".contains(c))
                    && p.chars().filter(char::is_ascii_digit).count() >= 3;
                if !ok {
                    return Err(CoreError::validation(field, format!("'{p}' is not a phone number")));
                }
            }
        }
        if let Some(e) = &self.email {
            if !e.contains('@') || e.starts_with('@') || e.ends_with('@') {
                return Err(CoreError::validation("email", format!("'{e}' is not an e-mail address")));
            }
        }
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let mut o = NewOrganisation {
            code: "so-yte".into(),
            kind: "department".into(),
            name_vi: "Sở Y tế".into(),
            ..Default::default()
        };
        assert_eq!(o.validate().ok(), Some(OrgKind::Department));
        o.kind = "ministry".into();
        assert!(matches!(o.validate(), Err(CoreError::Validation { field, .. }) if field == "kind"));
        o.kind = "department".into();
        o.duty_phone = Some("gọi tôi".into());
        assert!(matches!(o.validate(), Err(CoreError::Validation { field, .. }) if field == "duty_phone"));
        o.duty_phone = Some("0213 3876 114".into());
        o.code = "Sở Y tế".into();
        assert!(matches!(o.validate(), Err(CoreError::Validation { field, .. }) if field == "code"));
    }
}
