//! The demo's monitoring rules: each river gauge above its alert level (báo động) for two
//! minutes, and above its danger level; a gauge or an air station silent for half an hour.
//! Levels are the stations' own (in metres above sea level), so the simulator's storms raise
//! and clear them.

use anyhow::anyhow;
use haidang_core::accounts::{Role, Subject};
use haidang_core::alerts::{Condition, Rule, Scope, Severity};
use haidang_server::state::AppState;

use crate::demo_stations::{entity_id, Kind, STATIONS};

fn demo_supervisor() -> Subject {
    Subject { username: "demo".into(), role: Role::Supervisor, org_id: String::new(), ..Subject::cli() }
}

/// The rules, built from the stations.
pub fn rules() -> Vec<Rule> {
    let mut out = Vec::new();
    for s in STATIONS.iter().filter(|s| s.kind == Kind::Flood) {
        let (_, alert, danger) = s.levels;
        let scope =
            Scope { entity_type: "FloodMonitoring".into(), entities: vec![entity_id(s)], ..Scope::default() };
        for (suffix, name, line, severity, for_secs) in [
            (
                "bao-dong",
                format!("Mực nước {} vượt mức báo động ({alert} m)", s.name),
                alert,
                Severity::Severe,
                120,
            ),
            (
                "nguy-hiem",
                format!("Mực nước {} vượt mức nguy hiểm ({danger} m)", s.name),
                danger,
                Severity::Extreme,
                0,
            ),
        ] {
            out.push(Rule {
                id: format!("{}-{suffix}", s.code),
                name,
                enabled: true,
                scope: scope.clone(),
                condition: Condition::Threshold {
                    attribute: "currentLevel".into(),
                    above: Some(line),
                    below: None,
                    hysteresis: 0.1,
                    for_secs,
                },
                severity,
                alert_kind: "flood".into(),
                notify: vec!["so-nn-mt".into()],
                auto_resolve: true,
            });
        }
    }
    for (kind, id, name) in [
        ("FloodMonitoring", "tram-thuy-van-mat-tin-hieu", "Trạm thủy văn mất tín hiệu quá 30 phút"),
        (
            "AirQualityObserved",
            "tram-khong-khi-mat-tin-hieu",
            "Trạm quan trắc không khí mất tín hiệu quá 30 phút",
        ),
    ] {
        out.push(Rule {
            id: id.into(),
            name: name.into(),
            enabled: true,
            scope: Scope { entity_type: kind.into(), ..Scope::default() },
            condition: Condition::Missing { minutes: 30 },
            severity: Severity::Moderate,
            alert_kind: "station_silent".into(),
            notify: vec![],
            auto_resolve: true,
        });
    }
    out
}

/// Saves the rules the store does not have yet; answers whether any was new.
pub async fn seed(state: &AppState) -> anyhow::Result<bool> {
    let by = demo_supervisor();
    let have: Vec<String> = state.alerts.rules(&by)?.into_iter().map(|r| r.rule.id).collect();
    let mut added = false;
    for rule in rules().into_iter().filter(|r| !have.contains(&r.id)) {
        let id = rule.id.clone();
        state.alerts.save_rule(&by, rule, None).await.map_err(|e| anyhow!("demo rule {id}: {e}"))?;
        added = true;
    }
    Ok(added)
}
