//! Exchange data structures: each entity type may have a JSON Schema (Draft 2020-12, with `format`
//! asserted, not just noted). A write is reduced to its simplified form (the value of each
//! Property, the object of each Relationship) and checked; every violation names its JSON pointer
//! and the rule it broke.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde::Serialize;
use serde_json::{Map, Value};

use super::shipped;

/// How far in the future an `observedAt` may lie (clocks of field devices drift a little).
pub const OBSERVED_AT_TOLERANCE: SignedDuration = SignedDuration::from_mins(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer into the entity as sent, e.g. "/dateObserved" or "/tsp".
    pub pointer: String,
    /// The schema keyword (or our own rule) that failed: "format", "type", "required", ...
    pub rule: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "{at}: {} ({})", self.message, self.rule)
    }
}

/// The shared definitions schemas may `$ref`, by URL. Anything else is refused, never fetched.
#[derive(Clone, Default)]
pub struct SharedDefinitions {
    files: Arc<HashMap<String, Value>>,
}

impl SharedDefinitions {
    /// The Smart Data Models' shared files shipped in the binary.
    pub fn shipped() -> Result<SharedDefinitions, String> {
        let mut files = HashMap::new();
        for (urls, text) in shipped::SHARED {
            let value: Value = serde_json::from_str(text).map_err(|e| format!("shipped schema: {e}"))?;
            for url in *urls {
                files.insert((*url).to_string(), value.clone());
            }
        }
        Ok(SharedDefinitions { files: Arc::new(files) })
    }
}

impl Retrieve for SharedDefinitions {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let url = uri.as_str().split('#').next().unwrap_or_default();
        self.files.get(url).cloned().ok_or_else(|| {
            format!("{url} is not a schema this server holds (remote schemas are never fetched)").into()
        })
    }
}

/// A compiled schema for one entity type.
pub struct TypeSchema {
    validator: Validator,
}

impl TypeSchema {
    /// Compiles `schema`; an error names what is wrong with it (bad JSON Schema, unknown `$ref`).
    pub fn compile(schema: &Value, shared: &SharedDefinitions) -> Result<TypeSchema, String> {
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .with_retriever(shared.clone())
            .build(schema)
            .map_err(|e| e.to_string())?;
        Ok(TypeSchema { validator })
    }

    /// Checks an entity in its simplified (key-values) form; empty when it is valid.
    pub fn check(&self, simplified: &Value) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .validator
            .iter_errors(simplified)
            .map(|e| Violation {
                pointer: e.instance_path().as_str().to_string(),
                rule: e.kind().keyword().to_string(),
                message: e.to_string(),
            })
            .collect();
        out.sort_by(|a, b| a.pointer.cmp(&b.pointer).then_with(|| a.rule.cmp(&b.rule)));
        out.dedup();
        out
    }
}

/// The shipped Smart Data Models, compiled, by entity type.
pub fn shipped_types() -> Result<HashMap<String, TypeSchema>, String> {
    let shared = SharedDefinitions::shipped()?;
    let mut out = HashMap::new();
    for (name, text) in shipped::TYPES {
        let schema: Value = serde_json::from_str(text).map_err(|e| format!("schema of {name}: {e}"))?;
        out.insert(
            (*name).to_string(),
            TypeSchema::compile(&schema, &shared).map_err(|e| format!("{name}: {e}"))?,
        );
    }
    Ok(out)
}

const NGSI_LD_TYPES: [&str; 4] = ["Property", "Relationship", "GeoProperty", "LanguageProperty"];

/// An NGSI-LD attribute (a Property, Relationship, GeoProperty or LanguageProperty, or several
/// instances of one) reduced to what the schemas describe; a value already simple stays as it is.
fn simplify(attribute: &Value) -> Value {
    match attribute {
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("Property") | Some("GeoProperty") => match o.get("value") {
                // A JSON-LD typed literal ({"@type": "DateTime", "@value": "..."}) is its @value.
                Some(Value::Object(v)) if v.contains_key("@value") => {
                    v.get("@value").cloned().unwrap_or(Value::Null)
                }
                Some(v) => v.clone(),
                None => Value::Null,
            },
            Some("Relationship") => o.get("object").cloned().unwrap_or(Value::Null),
            Some("LanguageProperty") => o.get("languageMap").cloned().unwrap_or(Value::Null),
            // Upstream examples (FloodMonitoring) write {"type": "string", "value": ...}: not
            // NGSI-LD, but plainly a value. Reduce it; the NGSI-LD parser judges the form itself.
            Some(_) if o.contains_key("value") => o.get("value").cloned().unwrap_or(Value::Null),
            _ => attribute.clone(),
        },
        // Several instances (datasetId): the schema describes one, so the default instance (no
        // datasetId) or else the first is what is checked.
        Value::Array(items) if !items.is_empty() && items.iter().all(is_ngsi_ld_attribute) => {
            let chosen = items.iter().find(|i| i.get("datasetId").is_none()).unwrap_or(&items[0]);
            simplify(chosen)
        }
        other => other.clone(),
    }
}

fn is_ngsi_ld_attribute(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str).is_some_and(|t| NGSI_LD_TYPES.contains(&t))
        && (value.get("value").is_some()
            || value.get("object").is_some()
            || value.get("languageMap").is_some())
}

/// The simplified (key-values) form of an entity in either form. `@context` is dropped: the
/// schemas describe the data, not its JSON-LD framing.
pub fn to_key_values(entity: &Value) -> Value {
    let Value::Object(o) = entity else { return entity.clone() };
    let mut out = Map::new();
    for (k, v) in o {
        match k.as_str() {
            "@context" => {}
            "id" | "type" => {
                out.insert(k.clone(), v.clone());
            }
            _ => {
                out.insert(k.clone(), simplify(v));
            }
        }
    }
    Value::Object(out)
}

/// `observedAt` (on any attribute, any instance) must be a date-time with a zone and not more
/// than [`OBSERVED_AT_TOLERANCE`] ahead of `now`: a reading from the future is a broken clock.
pub fn check_observed_at(entity: &Value, now: Timestamp) -> Vec<Violation> {
    let mut out = Vec::new();
    let Value::Object(o) = entity else { return out };
    for (name, attr) in o {
        let instances: Vec<(String, &Value)> = match attr {
            Value::Array(items) => {
                items.iter().enumerate().map(|(i, v)| (format!("/{name}/{i}"), v)).collect()
            }
            other => vec![(format!("/{name}"), other)],
        };
        for (pointer, instance) in instances {
            let Some(observed) = instance.get("observedAt") else { continue };
            let pointer = format!("{pointer}/observedAt");
            match observed.as_str().map(str::parse::<Timestamp>) {
                Some(Ok(at)) if at > now + OBSERVED_AT_TOLERANCE => out.push(Violation {
                    pointer,
                    rule: "observedAt-not-in-future".into(),
                    message: format!("{at} is more than 5 minutes in the future"),
                }),
                Some(Ok(_)) => {}
                _ => out.push(Violation {
                    pointer,
                    rule: "format".into(),
                    message: format!("{observed} is not a date-time with a time zone"),
                }),
            }
        }
    }
    out
}

/// Everything one entity must pass: the type's schema on its simplified form, and `observedAt`.
pub fn check_entity(schema: Option<&TypeSchema>, entity: &Value, now: Timestamp) -> Vec<Violation> {
    let mut out = check_observed_at(entity, now);
    if let Some(schema) = schema {
        out.extend(schema.check(&to_key_values(entity)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(path: &str) -> String {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/smart-data-models").join(path);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn example(ty: &str, file: &str) -> Value {
        serde_json::from_str(&data(&format!("{ty}/examples/{file}"))).unwrap()
    }

    fn now() -> Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    /// Upstream defects (see data/smart-data-models/README.md) are checked on their own below.
    const DEFECTIVE: [&str; 1] = ["AirQualityObserved"];

    #[test]
    fn every_valid_example_passes_in_key_values_and_normalized_ngsi_ld_form() {
        let types = shipped_types().unwrap();
        assert_eq!(types.len(), 16);
        let mut checked = 0;
        let mut failures = Vec::new();
        for (name, _) in shipped::TYPES.iter().filter(|(n, _)| !DEFECTIVE.contains(n)) {
            let schema = &types[*name];
            let mut files = vec!["example.json"];
            if *name != "PointOfInterest" {
                files.push("example.jsonld");
            }
            if *name != "KeyPerformanceIndicator" {
                files.push("example-normalized.jsonld");
            }
            for file in files {
                let entity = example(name, file);
                let violations = check_entity(Some(schema), &entity, now());
                if !violations.is_empty() {
                    failures.push(format!("{name}/{file}: {violations:?}"));
                }
                checked += 1;
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert_eq!(checked, 15 * 3 - 2);
    }

    #[test]
    fn upstream_defects_are_named_by_pointer() {
        let types = shipped_types().unwrap();
        let aqo = &types["AirQualityObserved"];
        let v = check_entity(Some(aqo), &example("AirQualityObserved", "example.json"), now());
        let found: Vec<(&str, &str)> = v.iter().map(|v| (v.pointer.as_str(), v.rule.as_str())).collect();
        assert!(found.contains(&("/dateObserved", "format")), "{v:?}");
        assert!(found.contains(&("/tsp", "type")), "{v:?}");
        let v = check_entity(Some(aqo), &example("AirQualityObserved", "example-normalized.jsonld"), now());
        assert!(v.iter().any(|v| v.pointer == "/dateObserved" && v.rule == "format"), "{v:?}");
        // KeyPerformanceIndicator's normalized example gives a date-time where its schema says
        // "date" (the key-values examples give a date).
        let kpi = &types["KeyPerformanceIndicator"];
        let v =
            check_entity(Some(kpi), &example("KeyPerformanceIndicator", "example-normalized.jsonld"), now());
        assert_eq!(
            v.iter().map(|v| (v.pointer.as_str(), v.rule.as_str())).collect::<Vec<_>>(),
            vec![("/dateNextCalculation", "format")]
        );
        // Not JSON at all: the parser names the position.
        let err =
            serde_json::from_str::<Value>(&data("PointOfInterest/examples/example.jsonld")).unwrap_err();
        assert_eq!((err.line(), err.column()), (43, 3));
    }

    #[test]
    fn crafted_violations_are_rejected_with_the_right_pointer() {
        let types = shipped_types().unwrap();
        let weather = &types["WeatherObserved"];
        let base = json!({
            "id": "urn:ngsi-ld:WeatherObserved:lai-chau-tam-duong",
            "type": "WeatherObserved",
            "dateObserved": {"type": "Property", "value": "2026-11-23T09:00:00+07:00"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.47, 22.41]}},
            "precipitation": {"type": "Property", "value": 12.5, "observedAt": "2026-11-23T02:00:00Z"},
            "temperature": {"type": "Property", "value": 18.2}
        });
        assert_eq!(check_entity(Some(weather), &base, now()), vec![]);
        let with = |patch: Value| {
            let mut e = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    e.as_object_mut().unwrap().remove(k);
                } else {
                    e[k] = v.clone();
                }
            }
            check_entity(Some(weather), &e, now())
        };
        let cases = [
            (json!({"temperature": {"type": "Property", "value": "nóng"}}), "/temperature", "type"),
            (json!({"dateObserved": null}), "", "required"),
            (json!({"precipitation": {"type": "Property", "value": -3}}), "/precipitation", "minimum"),
            (
                json!({"dateObserved": {"type": "Property", "value": "2026-11-23T09:00:00"}}),
                "/dateObserved",
                "format",
            ),
            (
                json!({"precipitation": {"type": "Property", "value": 1, "observedAt": "2026-11-23T10:06:00Z"}}),
                "/precipitation/observedAt",
                "observedAt-not-in-future",
            ),
        ];
        for (patch, pointer, rule) in cases {
            let v = with(patch.clone());
            assert!(
                v.iter().any(|v| v.pointer == pointer && v.rule == rule),
                "{patch}: expected {pointer} {rule}, got {v:?}"
            );
        }
        // Four minutes ahead is within a drifting clock's tolerance.
        let v = with(
            json!({"precipitation": {"type": "Property", "value": 1, "observedAt": "2026-11-23T10:04:00Z"}}),
        );
        assert_eq!(v, vec![]);
    }

    #[test]
    fn multi_instance_attributes_and_relationships_reduce_to_their_values() {
        let e = json!({
            "id": "urn:ngsi-ld:Device:1", "type": "Device", "@context": "https://example.org/ctx.jsonld",
            "temperature": [
                {"type": "Property", "value": 20, "datasetId": "urn:ngsi-ld:Dataset:b"},
                {"type": "Property", "value": 21}
            ],
            "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:2"},
            "name": {"type": "LanguageProperty", "languageMap": {"vi": "Trạm đo", "en": "Station"}},
            "plain": 5
        });
        assert_eq!(
            to_key_values(&e),
            json!({"id": "urn:ngsi-ld:Device:1", "type": "Device", "temperature": 21,
                   "refDevice": "urn:ngsi-ld:Device:2", "name": {"vi": "Trạm đo", "en": "Station"}, "plain": 5})
        );
    }

    #[test]
    fn a_schema_naming_a_remote_ref_is_refused_not_fetched() {
        let shared = SharedDefinitions::shipped().unwrap();
        let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema",
                            "allOf": [{"$ref": "https://example.org/elsewhere.json#/definitions/x"}]});
        let err = TypeSchema::compile(&schema, &shared).err().unwrap();
        assert!(err.contains("example.org/elsewhere.json"), "{err}");
    }
}
