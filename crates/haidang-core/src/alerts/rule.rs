//! A monitoring rule: what it watches (entity type, dataset, communes), the condition that
//! raises an alert, and what the alert is (severity, kind, who is told). Checked whole before it
//! is kept, each refusal naming its field, so a rule that is saved can always be evaluated.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

/// How grave an alert is, in CAP 1.2's words (so a public warning can carry it unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Minor,
    Moderate,
    Severe,
    Extreme,
}

/// Which entities a rule watches; every condition given must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scope {
    /// The entity type, e.g. "FloodMonitoring" or "WaterObserved".
    pub entity_type: String,
    /// Only the entities of this dataset.
    #[serde(default)]
    pub dataset: Option<String>,
    /// Only entities in these units (communes, or the province); empty: everywhere.
    #[serde(default)]
    pub units: Vec<String>,
    /// Only these entities (a rule for one station); empty: every entity of the type.
    #[serde(default)]
    pub entities: Vec<String>,
}

/// What raises the alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The attribute's value above `above` or below `below` (a range when both are given) for
    /// at least `for_secs` seconds. It clears once the value is back inside by more than
    /// `hysteresis`, so a value that hovers at the line raises one alert, not hundreds.
    Threshold {
        attribute: String,
        #[serde(default)]
        above: Option<f64>,
        #[serde(default)]
        below: Option<f64>,
        #[serde(default)]
        hysteresis: f64,
        #[serde(default)]
        for_secs: u64,
    },
    /// The attribute rising (or falling) faster than `rise` (`fall`) units per `per_minutes`,
    /// measured against the reading `per_minutes` ago.
    RateOfChange {
        attribute: String,
        #[serde(default)]
        rise: Option<f64>,
        #[serde(default)]
        fall: Option<f64>,
        per_minutes: u32,
    },
    /// No update from the entity for `minutes`.
    Missing { minutes: u32 },
    /// The entity is inside (`inside: true`, it entered) or outside (`inside: false`, it left)
    /// an area: a unit (commune or province code) or a drawn polygon, [longitude, latitude]
    /// points as GeoJSON has them.
    Geofence {
        #[serde(default)]
        unit: Option<String>,
        #[serde(default)]
        polygon: Option<Vec<[f64; 2]>>,
        #[serde(default = "yes")]
        inside: bool,
    },
}

impl Condition {
    /// The attribute the condition reads, if it reads one.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            Condition::Threshold { attribute, .. } | Condition::RateOfChange { attribute, .. } => {
                Some(attribute)
            }
            Condition::Missing { .. } | Condition::Geofence { .. } => None,
        }
    }

    /// Whether an entity at `point`, lying in `units`, is where the condition raises.
    pub fn breached(&self, point: Option<[f64; 2]>, units: &[String]) -> Option<bool> {
        let Condition::Geofence { unit, polygon, inside } = self else { return None };
        let within = match (unit, polygon) {
            (Some(code), _) => units.contains(code),
            (None, Some(ring)) => {
                use geo::Contains;
                let p = point?;
                let area =
                    geo::Polygon::new(ring.iter().map(|c| geo::Coord { x: c[0], y: c[1] }).collect(), vec![]);
                area.contains(&geo::Point::new(p[0], p[1]))
            }
            (None, None) => return None,
        };
        Some(within == *inside)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Given by the service when a new rule comes without one.
    #[serde(default)]
    pub id: String,
    /// What the operator reads on the alert, e.g. "Mực nước sông Nậm Na vượt báo động 1".
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub scope: Scope,
    pub condition: Condition,
    pub severity: Severity,
    /// The alert's kind, e.g. "flood", "air_quality", "station_silent".
    pub alert_kind: String,
    /// Organisation codes told when the alert is raised.
    #[serde(default)]
    pub notify: Vec<String>,
    /// The alert resolves itself when the condition clears.
    #[serde(default)]
    pub auto_resolve: bool,
}

fn yes() -> bool {
    true
}

/// Longest a condition may wait or look back: a day.
const MAX_SECS: u64 = 86_400;

fn name_like(field: &str, text: &str) -> CoreResult<()> {
    let ok = !text.is_empty()
        && text.len() <= 100
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::validation(field, format!("'{text}': letters, digits, - and _ only")))
    }
}

fn finite(field: &str, v: Option<f64>) -> CoreResult<()> {
    match v {
        Some(x) if !x.is_finite() => Err(CoreError::validation(field, "not a number")),
        _ => Ok(()),
    }
}

impl Rule {
    /// Checks the rule whole; `attributes` are the attributes the scope's entity type has (from
    /// its schema), when known, so a rule on an attribute the type never sends is refused.
    pub fn check(&self, attributes: Option<&[String]>) -> CoreResult<()> {
        if self.name.trim().is_empty() {
            return Err(CoreError::validation("name", "is required"));
        }
        name_like("id", &self.id)?;
        name_like("scope.entity_type", &self.scope.entity_type)?;
        name_like("alert_kind", &self.alert_kind)?;
        let mut seen = std::collections::HashSet::new();
        for e in &self.scope.entities {
            if !seen.insert(e) {
                return Err(CoreError::validation("scope.entities", format!("'{e}' is named twice")));
            }
        }
        if let (Some(attribute), Some(known)) = (self.condition.attribute(), attributes) {
            if !known.iter().any(|a| a == attribute) {
                return Err(CoreError::validation(
                    "condition.attribute",
                    format!("'{attribute}' is not an attribute of {}", self.scope.entity_type),
                ));
            }
        }
        match &self.condition {
            Condition::Threshold { attribute, above, below, hysteresis, for_secs } => {
                name_like("condition.attribute", attribute)?;
                finite("condition.above", *above)?;
                finite("condition.below", *below)?;
                if above.is_none() && below.is_none() {
                    return Err(CoreError::validation("condition", "give above, below or both"));
                }
                if let (Some(a), Some(b)) = (above, below) {
                    // Back inside means above by the hysteresis from both lines: the range must
                    // have room for it, or the alert would never clear.
                    if a - b <= 2.0 * hysteresis.max(0.0) {
                        // Outside a range: above the top or below the bottom.
                        return Err(CoreError::validation(
                            "condition.above",
                            "above must be higher than below by more than twice the hysteresis",
                        ));
                    }
                }
                if !hysteresis.is_finite() || *hysteresis < 0.0 {
                    return Err(CoreError::validation("condition.hysteresis", "zero or more"));
                }
                if *for_secs > MAX_SECS {
                    return Err(CoreError::validation("condition.for_secs", "at most a day (86400)"));
                }
            }
            Condition::RateOfChange { attribute, rise, fall, per_minutes } => {
                name_like("condition.attribute", attribute)?;
                finite("condition.rise", *rise)?;
                finite("condition.fall", *fall)?;
                if rise.is_none() && fall.is_none() {
                    return Err(CoreError::validation("condition", "give rise, fall or both"));
                }
                if rise.is_some_and(|r| r <= 0.0) || fall.is_some_and(|f| f <= 0.0) {
                    return Err(CoreError::validation("condition", "rise and fall are amounts more than 0"));
                }
                if *per_minutes == 0 || u64::from(*per_minutes) * 60 > MAX_SECS {
                    return Err(CoreError::validation("condition.per_minutes", "from 1 to 1440"));
                }
            }
            Condition::Geofence { unit, polygon, .. } => match (unit, polygon) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(CoreError::validation("condition", "give a unit or a polygon, not both"))
                }
                (Some(code), None) => {
                    if !(code.len() == 2 || code.len() == 5) || !code.chars().all(|c| c.is_ascii_digit()) {
                        return Err(CoreError::validation(
                            "condition.unit",
                            format!("'{code}' is not a province or commune code"),
                        ));
                    }
                }
                (None, Some(ring)) => {
                    let mut distinct: Vec<[f64; 2]> = Vec::new();
                    for p in ring {
                        if !(p[0].is_finite()
                            && p[1].is_finite()
                            && (-180.0..=180.0).contains(&p[0])
                            && (-90.0..=90.0).contains(&p[1]))
                        {
                            return Err(CoreError::validation(
                                "condition.polygon",
                                "longitude and latitude out of range",
                            ));
                        }
                        if !distinct.contains(p) {
                            distinct.push(*p);
                        }
                    }
                    if distinct.len() < 3 {
                        return Err(CoreError::validation(
                            "condition.polygon",
                            "an area needs three corners at least",
                        ));
                    }
                }
            },
            Condition::Missing { minutes } => {
                if *minutes == 0 || u64::from(*minutes) * 60 > MAX_SECS {
                    return Err(CoreError::validation("condition.minutes", "from 1 to 1440"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn river_rule() -> Rule {
        Rule {
            id: "r1".into(),
            name: "Mực nước sông Nậm Na vượt báo động 1".into(),
            enabled: true,
            scope: Scope { entity_type: "FloodMonitoring".into(), ..Scope::default() },
            condition: Condition::Threshold {
                attribute: "currentLevel".into(),
                above: Some(3.5),
                below: None,
                hysteresis: 0.1,
                for_secs: 300,
            },
            severity: Severity::Severe,
            alert_kind: "flood".into(),
            notify: vec!["so-nn-mt".into()],
            auto_resolve: true,
        }
    }

    fn refused_field(rule: &Rule, known: Option<&[String]>) -> String {
        match rule.check(known) {
            Err(CoreError::Validation { field, .. }) => field,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_river_rule_is_accepted_and_reads_back_from_json() {
        let rule = river_rule();
        let known = vec!["currentLevel".to_string(), "alertLevel".to_string()];
        assert!(rule.check(Some(&known)).is_ok());
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(json["condition"]["kind"], "threshold");
        assert_eq!(serde_json::from_value::<Rule>(json).unwrap(), rule);
    }

    #[test]
    fn a_geofence_needs_one_area_that_can_hold_a_point() {
        let mut r = river_rule();
        r.condition = Condition::Geofence {
            unit: None,
            polygon: Some(vec![[103.7, 22.3], [103.8, 22.3]]),
            inside: true,
        };
        assert_eq!(refused_field(&r, None), "condition.polygon");
        r.condition = Condition::Geofence { unit: Some("Pa Tần".into()), polygon: None, inside: true };
        assert_eq!(refused_field(&r, None), "condition.unit");
        r.condition = Condition::Geofence { unit: None, polygon: None, inside: true };
        assert_eq!(refused_field(&r, None), "condition");
        r.condition = Condition::Geofence { unit: Some("03503".into()), polygon: None, inside: false };
        assert!(r.check(None).is_ok());
    }

    #[test]
    fn a_rule_that_cannot_be_evaluated_is_refused_by_field() {
        let known = vec!["currentLevel".to_string()];
        let mut r = river_rule();
        r.condition = Condition::Threshold {
            attribute: "mucNuoc".into(),
            above: Some(3.5),
            below: None,
            hysteresis: 0.0,
            for_secs: 0,
        };
        assert_eq!(refused_field(&r, Some(&known)), "condition.attribute");
        r.condition = Condition::Threshold {
            attribute: "currentLevel".into(),
            above: Some(1.0),
            below: Some(2.0),
            hysteresis: 0.0,
            for_secs: 0,
        };
        assert_eq!(refused_field(&r, Some(&known)), "condition.above");
        // A range too narrow for its hysteresis would never clear.
        r.condition = Condition::Threshold {
            attribute: "currentLevel".into(),
            above: Some(2.0),
            below: Some(1.9),
            hysteresis: 0.1,
            for_secs: 0,
        };
        assert_eq!(refused_field(&r, Some(&known)), "condition.above");
        r.condition = Condition::Threshold {
            attribute: "currentLevel".into(),
            above: None,
            below: None,
            hysteresis: 0.0,
            for_secs: 0,
        };
        assert_eq!(refused_field(&r, Some(&known)), "condition");
        r.condition = Condition::Threshold {
            attribute: "currentLevel".into(),
            above: Some(f64::NAN),
            below: None,
            hysteresis: 0.0,
            for_secs: 0,
        };
        assert_eq!(refused_field(&r, None), "condition.above");
        r.condition = Condition::RateOfChange {
            attribute: "currentLevel".into(),
            rise: Some(0.5),
            fall: None,
            per_minutes: 0,
        };
        assert_eq!(refused_field(&r, None), "condition.per_minutes");
        r.condition = Condition::Missing { minutes: 2000 };
        assert_eq!(refused_field(&r, None), "condition.minutes");
        let mut r = river_rule();
        r.scope.entity_type = "Flood Monitoring".into();
        assert_eq!(refused_field(&r, None), "scope.entity_type");
        let mut r = river_rule();
        r.scope.entities = vec!["g1".into(), "g1".into()];
        assert_eq!(refused_field(&r, None), "scope.entities");
        let mut r = river_rule();
        r.name = "  ".into();
        assert_eq!(refused_field(&r, None), "name");
    }
}
