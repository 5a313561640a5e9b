//! Which changes a subscription wants, how the registry finds it, and what a notification
//! carries of a change, without a store.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{json, Value};

use super::matcher::{ChangeView, Compiled, Registry, Wanted};
use super::model::{merge_fragment, parse_subscription};
use crate::hub::context::ActiveContext;
use crate::repo::{EntityChange, EntityChangeRecord};

const V: &str = "https://uri.etsi.org/ngsi-ld/default-context/";

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn compiled(doc: Value) -> Compiled {
    let mut doc = doc;
    doc["type"] = json!("Subscription");
    if doc.get("id").is_none() {
        doc["id"] = json!("urn:ngsi-ld:Subscription:t");
    }
    if doc.get("notification").is_none() {
        doc["notification"] = json!({"endpoint": {"uri": "http://127.0.0.1:9/n"}});
    }
    let spec = parse_subscription(&doc, None).unwrap();
    let ctx = Arc::new(ActiveContext::core().clone());
    Compiled::new(spec, "u".into(), "o".into(), t("2026-12-01T00:00:00Z"), ctx, json!("core")).unwrap()
}

fn change(op: &str, id: &str, body: Value, at: &str) -> ChangeView {
    let record = EntityChangeRecord {
        seq: 1,
        change: EntityChange {
            entity_id: id.into(),
            op: op.into(),
            at: t(at),
            actor: None,
            body: body.to_string(),
        },
    };
    ChangeView::of(&record).unwrap()
}

fn level(value: f64) -> Value {
    json!({"id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge"),
           format!("{V}waterLevel"): {"type": "Property", "value": value}})
}

#[test]
fn watched_attributes_and_triggers_decide_which_changes_are_notified() {
    let sub = compiled(json!({"entities": [{"type": "RiverGauge"}], "watchedAttributes": ["waterLevel"]}));
    let at = "2026-12-02T01:00:00Z";
    assert_eq!(sub.wants(&change("create", "urn:ngsi-ld:RiverGauge:1", level(1.0), at)), Some(Wanted::State));
    assert_eq!(sub.wants(&change("update", "urn:ngsi-ld:RiverGauge:1", level(2.0), at)), Some(Wanted::State));
    let status = json!({"id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge"),
                        format!("{V}status"): {"type": "Property", "value": "alert"}});
    assert_eq!(sub.wants(&change("update", "urn:ngsi-ld:RiverGauge:1", status, at)), None, "not watched");
    let deleted = json!({"id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge")});
    assert_eq!(
        sub.wants(&change("delete", "urn:ngsi-ld:RiverGauge:1", deleted.clone(), at)),
        None,
        "not by default"
    );
    // Another type, or a change from before the subscription: not its business.
    let other = json!({"id": "urn:ngsi-ld:Streetlight:1", "type": format!("{V}Streetlight"), format!("{V}waterLevel"): {"type": "Property", "value": 1}});
    assert_eq!(sub.wants(&change("update", "urn:ngsi-ld:Streetlight:1", other, at)), None);
    assert_eq!(
        sub.wants(&change("update", "urn:ngsi-ld:RiverGauge:1", level(2.0), "2026-11-30T00:00:00Z")),
        None
    );

    let deletions = compiled(
        json!({"entities": [{"type": "RiverGauge"}], "notificationTrigger": ["entityDeleted", "attributeDeleted"]}),
    );
    assert_eq!(
        deletions.wants(&change("delete", "urn:ngsi-ld:RiverGauge:1", deleted, at)),
        Some(Wanted::Deleted)
    );
    assert_eq!(deletions.wants(&change("update", "urn:ngsi-ld:RiverGauge:1", level(2.0), at)), None);
    let removed = json!({"id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge"), format!("{V}status"): "urn:ngsi-ld:null"});
    assert_eq!(
        deletions.wants(&change("update", "urn:ngsi-ld:RiverGauge:1", removed, at)),
        Some(Wanted::State)
    );
}

#[test]
fn the_registry_finds_subscriptions_by_entity_and_by_type() {
    let mut r = Registry::default();
    let one = |n: u32| {
        compiled(json!({"id": format!("urn:ngsi-ld:Subscription:{n}"),
                        "entities": [{"type": "RiverGauge", "id": format!("urn:ngsi-ld:RiverGauge:{n}")}]}))
    };
    for n in 0..1000 {
        r.put(one(n));
    }
    r.put(compiled(json!({"id": "urn:ngsi-ld:Subscription:all", "entities": [{"type": "RiverGauge"}]})));
    r.put(compiled(json!({"id": "urn:ngsi-ld:Subscription:any", "watchedAttributes": ["waterLevel"]})));
    let types = vec![format!("{V}RiverGauge")];
    let mut found: Vec<String> =
        r.candidates("urn:ngsi-ld:RiverGauge:7", &types).iter().map(|s| s.id().to_string()).collect();
    found.sort();
    assert_eq!(
        found,
        vec!["urn:ngsi-ld:Subscription:7", "urn:ngsi-ld:Subscription:all", "urn:ngsi-ld:Subscription:any"]
    );
    assert!(r.remove("urn:ngsi-ld:Subscription:7"));
    assert_eq!(r.candidates("urn:ngsi-ld:RiverGauge:7", &types).len(), 2);
    assert_eq!(r.len(), 1001);
}

#[test]
fn q_and_geo_are_checked_on_the_entity_and_it_is_rendered_as_asked() {
    let sub = compiled(json!({
        "entities": [{"type": "RiverGauge"}], "q": "waterLevel>3",
        "geoQ": {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": [103.27, 22.50]},
        "notification": {"attributes": ["waterLevel"], "format": "keyValues", "endpoint": {"uri": "http://h/n"}}
    }));
    let gauge = |v: f64, lon: f64| {
        crate::hub::entity::parse_entity(&json!({
            "id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge"),
            format!("{V}waterLevel"): {"type": "Property", "value": v},
            format!("{V}status"): {"type": "Property", "value": "ok"},
            "https://uri.etsi.org/ngsi-ld/location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 22.50]}}
        }))
        .unwrap()
    };
    assert!(sub.matches(&gauge(4.0, 103.275)));
    assert!(!sub.matches(&gauge(2.0, 103.275)), "q");
    assert!(!sub.matches(&gauge(4.0, 103.60)), "33 km away");
    assert_eq!(
        sub.render_entity(&gauge(4.0, 103.275)),
        json!({"id": "urn:ngsi-ld:RiverGauge:1", "type": "RiverGauge", "waterLevel": 4.0})
    );
}

#[test]
fn a_change_to_a_subscription_is_checked_whole() {
    let stored = json!({"id": "urn:ngsi-ld:Subscription:1", "type": "Subscription", "entities": [{"type": "RiverGauge"}],
                        "throttling": 10, "notification": {"endpoint": {"uri": "http://h/n"}}});
    let merged =
        merge_fragment(&stored, &json!({"throttling": null, "isActive": false, "status": "active"})).unwrap();
    assert!(merged.get("throttling").is_none());
    assert_eq!(merged["isActive"], false);
    assert!(merged.get("status").is_none(), "read-only members are dropped");
    assert!(merge_fragment(&stored, &json!({"id": "urn:ngsi-ld:Subscription:2"})).is_err());
    let broken = merge_fragment(&stored, &json!({"entities": null})).unwrap();
    assert_eq!(parse_subscription(&broken, None).unwrap_err().member, "entities");
}
