//! The rules in force and their watches: an observation of an entity goes to the rules that
//! scope it (looked up by entity and by type, so ten thousand rules cost a look-up, not a scan),
//! each rule's watch for that entity moves, and what it answers comes back as signals for the
//! alert service. A rule saved is in force for the next observation; a changed rule starts its
//! watches afresh. Entities in a maintenance window are not judged.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;

use super::rule::{Condition, Rule};
use super::watch::{Outcome, Watch};

/// An entity as the hub committed it: what the rules may read of it.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub entity_id: String,
    pub entity_type: String,
    pub dataset: Option<String>,
    /// The units it lies in (commune, province).
    pub units: Vec<String>,
    pub at: Option<Timestamp>,
    /// Where it is, [longitude, latitude], when the change (or the entity) says.
    pub point: Option<[f64; 2]>,
    /// The numeric attributes it carries, by name.
    pub values: HashMap<String, f64>,
}

/// What a rule's watch answered for an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub rule: Arc<Rule>,
    pub entity_id: String,
    /// One alert per rule and entity: a flapping sensor updates it.
    pub dedup_key: String,
    pub outcome: Outcome,
    pub at: Timestamp,
}

/// How far ahead of the clock a reading may be dated and still be judged.
const FUTURE_MINUTES: i64 = 5;

#[derive(Default)]
pub struct Engine {
    rules: HashMap<String, Arc<Rule>>,
    /// Rules naming entities, by entity id.
    by_entity: HashMap<String, Vec<String>>,
    /// Rules for every entity of a type, by type.
    by_type: HashMap<String, Vec<String>>,
    watches: HashMap<(String, String), Watch>,
}

fn in_scope(rule: &Rule, o: &Observation) -> bool {
    let s = &rule.scope;
    rule.enabled
        && s.entity_type == o.entity_type
        && (s.entities.is_empty() || s.entities.contains(&o.entity_id))
        && s.dataset.as_ref().is_none_or(|d| o.dataset.as_ref() == Some(d))
        && (s.units.is_empty() || s.units.iter().any(|u| o.units.contains(u)))
}

impl Engine {
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Puts a rule in force, in place of the one with its id (whose watches start afresh).
    pub fn put(&mut self, rule: Rule) {
        self.remove(&rule.id.clone());
        let id = rule.id.clone();
        if rule.scope.entities.is_empty() {
            self.by_type.entry(rule.scope.entity_type.clone()).or_default().push(id.clone());
        } else {
            for e in &rule.scope.entities {
                self.by_entity.entry(e.clone()).or_default().push(id.clone());
            }
        }
        self.rules.insert(id, Arc::new(rule));
    }

    pub fn remove(&mut self, id: &str) {
        let Some(old) = self.rules.remove(id) else { return };
        let (index, keys) = if old.scope.entities.is_empty() {
            (&mut self.by_type, vec![old.scope.entity_type.clone()])
        } else {
            (&mut self.by_entity, old.scope.entities.clone())
        };
        for key in keys {
            if let Some(list) = index.get_mut(&key) {
                list.retain(|r| r != id);
                if list.is_empty() {
                    index.remove(&key);
                }
            }
        }
        self.watches.retain(|(rule, _), _| rule != id);
    }

    /// Judges an observation by every rule that scopes it; `silenced` holds what is in a
    /// maintenance window now: entity ids, and "dataset:<id>" for a whole dataset.
    pub fn observe(&mut self, o: &Observation, now: Timestamp, silenced: &HashSet<String>) -> Vec<Signal> {
        let ids: Vec<String> = self
            .by_entity
            .get(&o.entity_id)
            .into_iter()
            .chain(self.by_type.get(&o.entity_type))
            .flatten()
            .cloned()
            .collect();
        self.judge(&ids, o, now, silenced)
    }

    /// Judges an observation by one rule only: a rule just saved reads the entities as they are.
    pub fn observe_for(
        &mut self,
        rule_id: &str,
        o: &Observation,
        now: Timestamp,
        silenced: &HashSet<String>,
    ) -> Vec<Signal> {
        self.judge(&[rule_id.to_string()], o, now, silenced)
    }

    /// After a restart: the rule's alert for this entity is open in the store, so its watch
    /// starts raised (and clears it when the condition does).
    pub fn assume_raised(&mut self, rule_id: &str, entity_id: &str) {
        if self.rules.contains_key(rule_id) {
            self.watches.entry((rule_id.to_string(), entity_id.to_string())).or_default().raised = true;
        }
    }

    /// The entity was heard at `at` (a rule's first look at a station for missing data): the
    /// clock counts from then, nothing is judged.
    pub fn hear(&mut self, rule_id: &str, entity_id: &str, at: Timestamp) {
        if self.rules.contains_key(rule_id) {
            let watch = self.watches.entry((rule_id.to_string(), entity_id.to_string())).or_default();
            if watch.last_seen.is_none_or(|last| last < at) {
                watch.last_seen = Some(at);
            }
        }
    }

    /// Forgets a watch: its alert could not be written, so the next reading judges afresh
    /// (and raises again) rather than finding it already raised.
    pub fn forget(&mut self, rule_id: &str, entity_id: &str) {
        self.watches.remove(&(rule_id.to_string(), entity_id.to_string()));
    }

    /// An entity deleted: its watches go (a removed station is not "silent").
    pub fn forget_entity(&mut self, entity_id: &str) {
        self.watches.retain(|(_, entity), _| entity != entity_id);
    }

    /// Whether any rule may scope entities of this type or this entity (most readings have
    /// none: the follower skips them before reading their values).
    pub fn watches(&self, entity_id: &str, entity_type: &str) -> bool {
        self.by_type.contains_key(entity_type) || self.by_entity.contains_key(entity_id)
    }

    fn judge(
        &mut self,
        ids: &[String],
        o: &Observation,
        now: Timestamp,
        silenced: &HashSet<String>,
    ) -> Vec<Signal> {
        // A reading dated ahead of the clock (a station's clock gone wrong) would make every
        // later reading look late: it is not judged.
        let at = o.at.unwrap_or(now);
        if at > now + jiff::SignedDuration::from_mins(FUTURE_MINUTES) {
            return Vec::new();
        }
        let quiet = !silenced.is_empty()
            && (silenced.contains(&o.entity_id)
                || o.dataset.as_ref().is_some_and(|d| silenced.contains(&format!("dataset:{d}"))));
        let mut out = Vec::new();
        for id in ids {
            let Some(rule) = self.rules.get(id).cloned() else { continue };
            if !in_scope(&rule, o) {
                continue;
            }
            let value = rule.condition.attribute().and_then(|a| o.values.get(a).copied());
            // A reading that does not carry the rule's attribute says nothing to it, except
            // that the entity is alive.
            if rule.condition.attribute().is_some() && value.is_none() {
                continue;
            }
            let watch = self.watches.entry((id.clone(), o.entity_id.clone())).or_default();
            if quiet {
                // In maintenance: not judged, but heard, so its end raises no "silent" alert.
                if watch.last_seen.is_none_or(|last| last < at) {
                    watch.last_seen = Some(at);
                }
                continue;
            }
            let outcome = match &rule.condition {
                Condition::Geofence { .. } => match rule.condition.breached(o.point, &o.units) {
                    Some(b) => watch.place(at, b),
                    None => Outcome::Quiet,
                },
                c => watch.observe(c, at, value),
            };
            if outcome != Outcome::Quiet {
                out.push(Signal {
                    dedup_key: format!("{id}:{}", o.entity_id),
                    entity_id: o.entity_id.clone(),
                    rule,
                    outcome,
                    at,
                });
            }
        }
        out
    }

    /// The clock: entities silent past their rule's minutes raise their alert.
    pub fn tick(&mut self, now: Timestamp, silenced: &HashSet<String>) -> Vec<Signal> {
        let mut out = Vec::new();
        for ((id, entity), watch) in self.watches.iter_mut() {
            let Some(rule) = self.rules.get(id) else { continue };
            if !matches!(rule.condition, Condition::Missing { .. })
                || silenced.contains(entity)
                || !rule.enabled
            {
                continue;
            }
            let outcome = watch.tick(&rule.condition, now);
            if outcome != Outcome::Quiet {
                out.push(Signal {
                    dedup_key: format!("{id}:{entity}"),
                    entity_id: entity.clone(),
                    rule: rule.clone(),
                    outcome,
                    at: now,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rule::{Scope, Severity};

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + minutes * 60).unwrap()
    }

    fn rule(id: &str, condition: Condition, scope: Scope) -> Rule {
        Rule {
            id: id.into(),
            name: format!("rule {id}"),
            enabled: true,
            scope,
            condition,
            severity: Severity::Severe,
            alert_kind: "flood".into(),
            notify: vec![],
            auto_resolve: true,
        }
    }

    fn gauge(id: &str, unit: &str, minutes: i64, level: f64) -> Observation {
        Observation {
            entity_id: id.into(),
            entity_type: "FloodMonitoring".into(),
            dataset: Some("muc-nuoc".into()),
            units: vec![unit.into(), "12".into()],
            at: Some(at(minutes)),
            point: None,
            values: [("currentLevel".to_string(), level)].into_iter().collect(),
        }
    }

    #[test]
    fn a_vehicle_entering_an_area_raises_and_leaving_it_clears() {
        let mut e = Engine::default();
        let quiet = HashSet::new();
        // The area around Ô Quy Hồ pass, closed to heavy vehicles in the storm.
        let ring = vec![[103.70, 22.30], [103.85, 22.30], [103.85, 22.40], [103.70, 22.40]];
        let cond = Condition::Geofence { unit: None, polygon: Some(ring), inside: true };
        e.put(rule("deo", cond, Scope { entity_type: "Vehicle".into(), ..Scope::default() }));
        let truck = |minutes: i64, lon: f64, lat: f64| Observation {
            entity_id: "xe-25C-01234".into(),
            entity_type: "Vehicle".into(),
            at: Some(at(minutes)),
            point: Some([lon, lat]),
            ..Observation::default()
        };
        assert!(e.observe(&truck(0, 103.50, 22.35), at(0), &quiet).is_empty(), "outside: nothing");
        let s = e.observe(&truck(1, 103.78, 22.35), at(1), &quiet);
        assert_eq!(s[0].outcome, Outcome::Raise(None), "entered");
        assert!(e.observe(&truck(2, 103.80, 22.36), at(2), &quiet).is_empty(), "still inside: one alert");
        assert_eq!(e.observe(&truck(3, 103.95, 22.36), at(3), &quiet)[0].outcome, Outcome::Clear);
        // Leaving a commune: raised while outside it.
        let leave = Condition::Geofence { unit: Some("03503".into()), polygon: None, inside: false };
        e.put(rule("o-lai", leave, Scope { entity_type: "Vehicle".into(), ..Scope::default() }));
        let mut o = truck(4, 103.0, 22.0);
        o.units = vec!["03503".into()];
        assert!(e.observe(&o, at(4), &quiet).iter().all(|s| s.dedup_key != "o-lai:xe-25C-01234"));
        o.units = vec!["03388".into()];
        o.at = Some(at(5));
        assert!(e.observe(&o, at(5), &quiet).iter().any(|s| s.dedup_key == "o-lai:xe-25C-01234"));
    }

    fn above(level: f64) -> Condition {
        Condition::Threshold {
            attribute: "currentLevel".into(),
            above: Some(level),
            below: None,
            hysteresis: 0.1,
            for_secs: 0,
        }
    }

    #[test]
    fn each_rule_judges_only_what_it_scopes_and_a_new_rule_is_in_force_at_once() {
        let mut e = Engine::default();
        let quiet = HashSet::new();
        e.put(rule("all", above(3.5), Scope { entity_type: "FloodMonitoring".into(), ..Scope::default() }));
        e.put(rule(
            "nam-na",
            above(2.0),
            Scope { entity_type: "FloodMonitoring".into(), entities: vec!["g1".into()], ..Scope::default() },
        ));
        e.put(rule(
            "other-commune",
            above(1.0),
            Scope { entity_type: "FloodMonitoring".into(), units: vec!["99999".into()], ..Scope::default() },
        ));
        let s = e.observe(&gauge("g1", "03388", 0, 3.0), at(0), &quiet);
        let keys: Vec<&str> = s.iter().map(|s| s.dedup_key.as_str()).collect();
        assert_eq!(keys, vec!["nam-na:g1"], "only the station's own rule is past its line");
        let s = e.observe(&gauge("g2", "03388", 0, 3.6), at(0), &quiet);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].dedup_key.as_str(), &s[0].outcome), ("all:g2", &Outcome::Raise(Some(3.6))));
        // A rule saved now judges the next reading.
        e.put(rule("low", above(0.5), Scope { entity_type: "FloodMonitoring".into(), ..Scope::default() }));
        let s = e.observe(&gauge("g3", "03388", 1, 0.7), at(1), &quiet);
        assert_eq!(s.iter().map(|s| s.dedup_key.as_str()).collect::<Vec<_>>(), vec!["low:g3"]);
    }

    #[test]
    fn a_changed_rule_starts_afresh_and_a_removed_one_is_silent() {
        let mut e = Engine::default();
        let quiet = HashSet::new();
        let scope = Scope { entity_type: "FloodMonitoring".into(), ..Scope::default() };
        e.put(rule("r", above(3.5), scope.clone()));
        assert_eq!(e.observe(&gauge("g1", "03388", 0, 3.6), at(0), &quiet).len(), 1);
        assert!(e.observe(&gauge("g1", "03388", 1, 3.7), at(1), &quiet)[0].outcome == Outcome::Still(3.7));
        e.put(rule("r", above(3.65), scope));
        assert_eq!(
            e.observe(&gauge("g1", "03388", 2, 3.7), at(2), &quiet)[0].outcome,
            Outcome::Raise(Some(3.7))
        );
        e.remove("r");
        assert!(e.observe(&gauge("g1", "03388", 3, 9.0), at(3), &quiet).is_empty());
        assert!(e.is_empty());
    }

    #[test]
    fn stations_in_maintenance_are_not_judged_but_are_heard() {
        let mut e = Engine::default();
        let scope = Scope { entity_type: "FloodMonitoring".into(), ..Scope::default() };
        e.put(rule("r", above(3.5), scope.clone()));
        e.put(rule("silent", Condition::Missing { minutes: 15 }, scope));
        let silenced: HashSet<String> = ["g1".to_string()].into_iter().collect();
        assert!(e.observe(&gauge("g1", "03388", 0, 5.0), at(0), &HashSet::new()).len() == 1);
        assert!(e.observe(&gauge("g1", "03388", 10, 5.0), at(10), &silenced).is_empty());
        assert!(e.observe(&gauge("g1", "03388", 20, 5.0), at(20), &silenced).is_empty());
        assert_eq!(e.observe(&gauge("g2", "03388", 20, 5.0), at(20), &silenced).len(), 1);
        // The window ends at 21: the station spoke at 20, so it is not silent at 30.
        assert!(e.tick(at(30), &HashSet::new()).is_empty());
    }

    #[test]
    fn a_reading_dated_in_the_future_is_not_judged() {
        let mut e = Engine::default();
        let quiet = HashSet::new();
        e.put(rule("r", above(3.5), Scope { entity_type: "FloodMonitoring".into(), ..Scope::default() }));
        assert!(e.observe(&gauge("g1", "03388", 60 * 24 * 365, 9.0), at(0), &quiet).is_empty());
        // The watch did not move to next year: today's reading is judged.
        assert_eq!(
            e.observe(&gauge("g1", "03388", 1, 3.6), at(1), &quiet)[0].outcome,
            Outcome::Raise(Some(3.6))
        );
    }

    #[test]
    fn a_silent_station_raises_on_the_clock() {
        let mut e = Engine::default();
        let quiet = HashSet::new();
        e.put(rule(
            "silent",
            Condition::Missing { minutes: 15 },
            Scope { entity_type: "FloodMonitoring".into(), ..Scope::default() },
        ));
        assert!(e.observe(&gauge("g1", "03388", 0, 1.0), at(0), &quiet).is_empty());
        assert!(e.tick(at(10), &quiet).is_empty());
        let s = e.tick(at(16), &quiet);
        assert_eq!((s[0].dedup_key.as_str(), &s[0].outcome), ("silent:g1", &Outcome::Raise(None)));
        assert_eq!(e.observe(&gauge("g1", "03388", 17, 1.0), at(17), &quiet)[0].outcome, Outcome::Clear);
    }

    #[test]
    fn ten_thousand_station_rules_cost_a_look_up_per_reading() {
        let mut e = Engine::default();
        for i in 0..10_000 {
            e.put(rule(
                &format!("r{i}"),
                above(3.5),
                Scope {
                    entity_type: "FloodMonitoring".into(),
                    entities: vec![format!("g{i}")],
                    ..Scope::default()
                },
            ));
        }
        assert_eq!(e.len(), 10_000);
        let s = e.observe(&gauge("g42", "03388", 0, 4.0), at(0), &HashSet::new());
        assert_eq!(s.iter().map(|s| s.dedup_key.as_str()).collect::<Vec<_>>(), vec!["r42:g42"]);
    }
}
