//! NGSI-LD entities: parsing a payload (normalized or concise) into the model, with every rule the
//! standard sets on ids, attributes and geometries, and rendering back (normalized or
//! keyValues). Bad input is refused with the path of the offending member, never half-taken.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    Property,
    Relationship,
    GeoProperty,
    LanguageProperty,
}

impl AttrKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttrKind::Property => "Property",
            AttrKind::Relationship => "Relationship",
            AttrKind::GeoProperty => "GeoProperty",
            AttrKind::LanguageProperty => "LanguageProperty",
        }
    }

    fn parse(text: &str) -> Option<AttrKind> {
        match text {
            "Property" => Some(AttrKind::Property),
            "Relationship" => Some(AttrKind::Relationship),
            "GeoProperty" => Some(AttrKind::GeoProperty),
            "LanguageProperty" => Some(AttrKind::LanguageProperty),
            _ => None,
        }
    }

    /// The member that carries the content: value, object or languageMap.
    fn content_member(&self) -> &'static str {
        match self {
            AttrKind::Property | AttrKind::GeoProperty => "value",
            AttrKind::Relationship => "object",
            AttrKind::LanguageProperty => "languageMap",
        }
    }
}

/// One instance of an attribute (an attribute with several `datasetId`s has several).
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub kind: AttrKind,
    /// The value, the related entity's id, or the language map.
    pub content: Value,
    pub dataset_id: Option<String>,
    pub observed_at: Option<Timestamp>,
    pub unit_code: Option<String>,
    /// Attributes of the attribute (e.g. the accuracy of a reading).
    pub sub: BTreeMap<String, Vec<Instance>>,
    /// System attributes, set by the store (a client's values are overwritten on every write).
    pub created_at: Option<Timestamp>,
    pub modified_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub id: String,
    pub types: Vec<String>,
    pub attrs: BTreeMap<String, Vec<Instance>>,
    pub created_at: Option<Timestamp>,
    pub modified_at: Option<Timestamp>,
}

/// A rejected payload: which member (a path such as "temperature.observedAt" or
/// "location.value.coordinates[0]") and why. The API answers it as BadRequestData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for EntityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl EntityError {
    pub fn at(path: &str, message: impl Into<String>) -> EntityError {
        EntityError { path: path.to_string(), message: message.into() }
    }
}

fn err(path: &str, message: impl Into<String>) -> EntityError {
    EntityError::at(path, message)
}

/// Members of an attribute that are not sub-attributes.
const RESERVED: [&str; 11] = [
    "@context",
    "type",
    "value",
    "object",
    "languageMap",
    "datasetId",
    "observedAt",
    "unitCode",
    "createdAt",
    "modifiedAt",
    "instanceId",
];

/// Attributes that hold geometry whatever the payload says (NGSI-LD's predefined GeoProperties).
const GEO_NAMES: [&str; 3] = ["location", "observationSpace", "operationSpace"];

/// A URI as NGSI-LD needs for ids: a scheme, a colon, something after it, no spaces.
pub fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else { return false };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"{}|\\^`".contains(c))
}

/// Attribute and type names: no characters the standard forbids in names.
fn check_name(path: &str, name: &str) -> Result<(), EntityError> {
    // A full IRI is a valid name too (the store keeps expanded names; some vocabularies use '#').
    if name.contains("://") && is_uri(name) {
        return Ok(());
    }
    if name.is_empty()
        || name.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"'=;()&?#".contains(c))
    {
        return Err(err(path, format!("'{name}' is not a valid name")));
    }
    Ok(())
}

/// A fragment (the body of an attribute update or a merge): attributes, and optionally the id
/// (which must then be `id`) and types to add.
pub fn parse_fragment(payload: &Value, id: &str) -> Result<Entity, EntityError> {
    let Value::Object(o) = payload else { return Err(err("", "the body must be a JSON object")) };
    let mut with_head = o.clone();
    match o.get("id").or_else(|| o.get("@id")) {
        Some(Value::String(given)) if given == id => {}
        Some(other) => return Err(err("id", format!("{other} is not the entity {id} of the URL"))),
        None => {
            with_head.insert("id".into(), Value::String(id.to_string()));
        }
    }
    let typeless = !o.contains_key("type") && !o.contains_key("@type");
    if typeless {
        with_head.insert("type".into(), Value::String("_".into()));
    }
    let mut e = parse_entity(&Value::Object(with_head))?;
    if typeless {
        e.types.clear();
    }
    Ok(e)
}

pub fn parse_entity(payload: &Value) -> Result<Entity, EntityError> {
    let Value::Object(o) = payload else { return Err(err("", "an entity must be a JSON object")) };
    let id = match o.get("id").or_else(|| o.get("@id")) {
        Some(Value::String(id)) if is_uri(id) => id.clone(),
        Some(Value::String(id)) => return Err(err("id", format!("'{id}' is not a URI"))),
        Some(_) => return Err(err("id", "must be a string")),
        None => return Err(err("id", "is required")),
    };
    let types = match o.get("type").or_else(|| o.get("@type")) {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|t| t.as_str().map(str::to_string).ok_or_else(|| err("type", "every type must be a string")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(err("type", "must be a string or a non-empty list of strings")),
        None => return Err(err("type", "is required")),
    };
    for t in &types {
        check_name("type", t)?;
    }
    let mut attrs = BTreeMap::new();
    for (name, value) in o {
        if matches!(name.as_str(), "id" | "@id" | "type" | "@type" | "@context" | "createdAt" | "modifiedAt")
        {
            continue;
        }
        attrs.insert(name.clone(), parse_attribute(name, name, value)?);
    }
    let created_at = o.get("createdAt").and_then(Value::as_str).and_then(|s| s.parse().ok());
    let modified_at = o.get("modifiedAt").and_then(Value::as_str).and_then(|s| s.parse().ok());
    Ok(Entity { id, types, attrs, created_at, modified_at })
}

/// Parses one attribute in normalized or concise form; `path` names it in errors.
pub fn parse_attribute(path: &str, name: &str, value: &Value) -> Result<Vec<Instance>, EntityError> {
    check_name(path, name)?;
    let instances = match value {
        Value::Array(items) if !items.is_empty() && items.iter().all(looks_like_instance) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_instance(&format!("{path}[{i}]"), name, item))
            .collect::<Result<Vec<_>, _>>()?,
        other => vec![parse_instance(path, name, other)?],
    };
    let mut seen = std::collections::HashSet::new();
    for instance in &instances {
        if !seen.insert(instance.dataset_id.clone()) {
            let which = instance.dataset_id.as_deref().unwrap_or("the default instance");
            return Err(err(path, format!("datasetId {which} appears twice")));
        }
    }
    Ok(instances)
}

/// An object that is an attribute instance in normalized or concise form.
fn looks_like_instance(v: &Value) -> bool {
    let Value::Object(o) = v else { return false };
    o.get("type").and_then(Value::as_str).is_some_and(|t| AttrKind::parse(t).is_some())
        || o.contains_key("value")
        || o.contains_key("object")
        || o.contains_key("languageMap")
}

fn is_geometry(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str).is_some_and(|t| GEOMETRY_TYPES.contains(&t))
        && v.get("coordinates").is_some()
}

const GEOMETRY_TYPES: [&str; 6] =
    ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"];

fn parse_instance(path: &str, name: &str, value: &Value) -> Result<Instance, EntityError> {
    let geo_name = GEO_NAMES.contains(&name);
    let (kind, o): (AttrKind, Map<String, Value>) = match value {
        Value::Null => return Err(err(path, "null is not a value; delete the attribute instead")),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some(t) if AttrKind::parse(t).is_some() => {
                (AttrKind::parse(t).unwrap_or(AttrKind::Property), o.clone())
            }
            // Concise GeoProperty: the geometry itself.
            _ if is_geometry(value) => (AttrKind::GeoProperty, wrap("value", value)),
            _ if o.contains_key("object") => (AttrKind::Relationship, o.clone()),
            _ if o.contains_key("languageMap") => (AttrKind::LanguageProperty, o.clone()),
            _ if o.contains_key("value") => {
                if let Some(t) = o.get("type") {
                    return Err(err(&format!("{path}.type"), format!("{t} is not an attribute type")));
                }
                (if geo_name { AttrKind::GeoProperty } else { AttrKind::Property }, o.clone())
            }
            // Concise Property whose value is a JSON object.
            _ => (AttrKind::Property, wrap("value", value)),
        },
        // Concise Property: the value itself.
        other => (AttrKind::Property, wrap("value", other)),
    };
    if geo_name && kind != AttrKind::GeoProperty {
        return Err(err(path, format!("{name} must be a GeoProperty")));
    }
    let member = kind.content_member();
    let content = match o.get(member) {
        None | Some(Value::Null) => return Err(err(path, format!("a {} needs '{member}'", kind.as_str()))),
        Some(c) => c.clone(),
    };
    let content_path = format!("{path}.{member}");
    match kind {
        AttrKind::Property => {}
        AttrKind::GeoProperty => check_geometry(&content_path, &content)?,
        AttrKind::Relationship => match &content {
            Value::String(s) if is_uri(s) => {}
            Value::Array(items)
                if !items.is_empty() && items.iter().all(|i| i.as_str().is_some_and(is_uri)) => {}
            other => return Err(err(&content_path, format!("{other} is not the URI of an entity"))),
        },
        AttrKind::LanguageProperty => {
            let Value::Object(map) = &content else {
                return Err(err(&content_path, "must be an object of language tag to text"));
            };
            for (tag, text) in map {
                let ok = text.is_string() || text.as_array().is_some_and(|a| a.iter().all(Value::is_string));
                if !ok {
                    return Err(err(&format!("{content_path}.{tag}"), "must be text"));
                }
            }
        }
    }
    let dataset_id = match o.get("datasetId") {
        None => None,
        Some(Value::String(s)) if is_uri(s) => Some(s.clone()),
        Some(other) => return Err(err(&format!("{path}.datasetId"), format!("{other} is not a URI"))),
    };
    let observed_at = match o.get("observedAt") {
        None => None,
        Some(Value::String(s)) => Some(s.parse::<Timestamp>().map_err(|_| {
            err(&format!("{path}.observedAt"), format!("'{s}' is not a date-time with a time zone"))
        })?),
        Some(other) => return Err(err(&format!("{path}.observedAt"), format!("{other} is not a date-time"))),
    };
    let unit_code = match o.get("unitCode") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(other) => return Err(err(&format!("{path}.unitCode"), format!("{other} is not a unit code"))),
    };
    let mut sub = BTreeMap::new();
    for (k, v) in &o {
        if RESERVED.contains(&k.as_str()) {
            continue;
        }
        sub.insert(k.clone(), parse_attribute(&format!("{path}.{k}"), k, v)?);
    }
    let created_at = o.get("createdAt").and_then(Value::as_str).and_then(|s| s.parse().ok());
    let modified_at = o.get("modifiedAt").and_then(Value::as_str).and_then(|s| s.parse().ok());
    Ok(Instance { kind, content, dataset_id, observed_at, unit_code, sub, created_at, modified_at })
}

fn wrap(member: &str, v: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(member.to_string(), v.clone());
    m
}

/// A GeoJSON geometry as NGSI-LD allows it: the six simple types, WGS84 positions, closed rings
/// of at least four positions, lines of at least two.
pub fn check_geometry(path: &str, g: &Value) -> Result<(), EntityError> {
    let Some(kind) = g.get("type").and_then(Value::as_str) else {
        return Err(err(path, "a geometry needs a 'type'"));
    };
    let coords = g.get("coordinates").ok_or_else(|| err(path, "a geometry needs 'coordinates'"))?;
    let cpath = format!("{path}.coordinates");
    match kind {
        "Point" => position(&cpath, coords),
        "MultiPoint" => each(&cpath, coords, 1, position),
        "LineString" => line(&cpath, coords),
        "MultiLineString" => each(&cpath, coords, 1, line),
        "Polygon" => polygon(&cpath, coords),
        "MultiPolygon" => each(&cpath, coords, 1, polygon),
        other => Err(err(&format!("{path}.type"), format!("'{other}' is not a supported geometry type"))),
    }
}

fn each(
    path: &str,
    v: &Value,
    min: usize,
    f: impl Fn(&str, &Value) -> Result<(), EntityError>,
) -> Result<(), EntityError> {
    let items = v.as_array().ok_or_else(|| err(path, "must be a list"))?;
    if items.len() < min {
        return Err(err(path, format!("needs at least {min} item(s)")));
    }
    items.iter().enumerate().try_for_each(|(i, item)| f(&format!("{path}[{i}]"), item))
}

fn position(path: &str, v: &Value) -> Result<(), EntityError> {
    let items = v.as_array().ok_or_else(|| err(path, "a position must be [longitude, latitude]"))?;
    let nums: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
    if nums.len() != items.len() || !(2..=3).contains(&nums.len()) {
        return Err(err(path, "a position must be [longitude, latitude] or [longitude, latitude, altitude]"));
    }
    if !(-180.0..=180.0).contains(&nums[0]) {
        return Err(err(path, format!("longitude {} is outside -180..180", nums[0])));
    }
    if !(-90.0..=90.0).contains(&nums[1]) {
        return Err(err(path, format!("latitude {} is outside -90..90", nums[1])));
    }
    Ok(())
}

fn line(path: &str, v: &Value) -> Result<(), EntityError> {
    each(path, v, 2, position)
}

fn polygon(path: &str, v: &Value) -> Result<(), EntityError> {
    each(path, v, 1, |rpath, ring| {
        let points = ring.as_array().ok_or_else(|| err(rpath, "a ring must be a list of positions"))?;
        if points.len() < 4 {
            return Err(err(rpath, format!("a ring needs at least 4 positions, has {}", points.len())));
        }
        points.iter().enumerate().try_for_each(|(i, p)| position(&format!("{rpath}[{i}]"), p))?;
        if points.first() != points.last() {
            return Err(err(rpath, "a ring must end where it starts (closed)"));
        }
        Ok(())
    })
}

/// How an entity is rendered: which attributes, and with system attributes or not.
#[derive(Debug, Clone, Copy, Default)]
pub struct Render<'a> {
    /// Only these attributes (names as keyed in the entity); None for all.
    pub attrs: Option<&'a [String]>,
    pub sys_attrs: bool,
}

fn put_sys(m: &mut Map<String, Value>, created: Option<Timestamp>, modified: Option<Timestamp>) {
    if let Some(t) = created {
        m.insert("createdAt".into(), Value::String(t.to_string()));
    }
    if let Some(t) = modified {
        m.insert("modifiedAt".into(), Value::String(t.to_string()));
    }
}

impl Instance {
    pub fn to_normalized(&self) -> Value {
        self.render(false)
    }

    fn render(&self, sys: bool) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(self.kind.as_str().into()));
        m.insert(self.kind.content_member().into(), self.content.clone());
        if let Some(d) = &self.dataset_id {
            m.insert("datasetId".into(), Value::String(d.clone()));
        }
        if let Some(t) = self.observed_at {
            m.insert("observedAt".into(), Value::String(t.to_string()));
        }
        if let Some(u) = &self.unit_code {
            m.insert("unitCode".into(), Value::String(u.clone()));
        }
        for (k, v) in &self.sub {
            m.insert(k.clone(), instances_rendered(v, sys));
        }
        if sys {
            put_sys(&mut m, self.created_at, self.modified_at);
        }
        Value::Object(m)
    }

    /// The concise form: the bare value where nothing else is said, else the members without
    /// "type" (which the member name implies).
    fn to_concise(&self) -> Value {
        let plain = self.dataset_id.is_none()
            && self.observed_at.is_none()
            && self.unit_code.is_none()
            && self.sub.is_empty();
        match self.kind {
            AttrKind::Property if plain && !self.content.is_object() => self.content.clone(),
            AttrKind::GeoProperty if plain => self.content.clone(),
            _ => {
                let mut m = match self.render(false) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                m.remove("type");
                for (k, v) in &self.sub {
                    m.insert(k.clone(), instances_concise(v));
                }
                Value::Object(m)
            }
        }
    }

    /// The name the instance has with its names mapped (expanded to IRIs or compacted).
    fn map_names(&self, f: &dyn Fn(&str) -> String) -> Instance {
        let mut out = self.clone();
        out.sub = self.sub.iter().map(|(k, v)| (f(k), v.iter().map(|i| i.map_names(f)).collect())).collect();
        out
    }
}

fn instances_rendered(instances: &[Instance], sys: bool) -> Value {
    match instances {
        [one] => one.render(sys),
        many => Value::Array(many.iter().map(|i| i.render(sys)).collect()),
    }
}

fn instances_concise(instances: &[Instance]) -> Value {
    match instances {
        [one] => one.to_concise(),
        many => Value::Array(many.iter().map(Instance::to_concise).collect()),
    }
}

impl Entity {
    fn head(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.clone()));
        m.insert(
            "type".into(),
            match self.types.as_slice() {
                [one] => Value::String(one.clone()),
                many => Value::Array(many.iter().cloned().map(Value::String).collect()),
            },
        );
        m
    }

    fn wanted<'a>(
        &'a self,
        render: Render<'a>,
    ) -> impl Iterator<Item = (&'a String, &'a Vec<Instance>)> + 'a {
        self.attrs.iter().filter(move |(k, _)| render.attrs.is_none_or(|only| only.contains(k)))
    }

    /// The normalized form: every attribute with its type and members.
    pub fn to_normalized(&self) -> Value {
        self.render_normalized(Render::default())
    }

    pub fn render_normalized(&self, render: Render) -> Value {
        let mut m = self.head();
        for (k, v) in self.wanted(render) {
            m.insert(k.clone(), instances_rendered(v, render.sys_attrs));
        }
        if render.sys_attrs {
            put_sys(&mut m, self.created_at, self.modified_at);
        }
        Value::Object(m)
    }

    /// The concise form: values without the members their names imply.
    pub fn render_concise(&self, render: Render) -> Value {
        if render.sys_attrs {
            // System attributes need the object form, which is the normalized one without "type".
            let mut v = self.render_normalized(render);
            strip_attr_types(&mut v);
            return v;
        }
        let mut m = self.head();
        for (k, v) in self.wanted(render) {
            m.insert(k.clone(), instances_concise(v));
        }
        Value::Object(m)
    }

    /// The keyValues (simplified) form: the value of each Property, the object of each
    /// Relationship, the language map of each LanguageProperty (the default instance of each).
    pub fn to_key_values(&self) -> Value {
        self.render_key_values(Render::default(), None)
    }

    /// keyValues; with `lang`, a LanguageProperty becomes its text in that language (else the
    /// first one it has).
    pub fn render_key_values(&self, render: Render, lang: Option<&str>) -> Value {
        let mut m = self.head();
        for (k, v) in self.wanted(render) {
            if let Some(i) = v.iter().find(|i| i.dataset_id.is_none()).or_else(|| v.first()) {
                let content = match (i.kind, lang) {
                    (AttrKind::LanguageProperty, Some(tag)) => pick_language(&i.content, tag),
                    _ => i.content.clone(),
                };
                m.insert(k.clone(), content);
            }
        }
        Value::Object(m)
    }

    /// The same entity with its type and attribute names mapped (expanded to IRIs for the
    /// store, compacted for an answer).
    pub fn map_names(&self, f: &dyn Fn(&str) -> String) -> Entity {
        Entity {
            id: self.id.clone(),
            types: self.types.iter().map(|t| f(t)).collect(),
            attrs: self
                .attrs
                .iter()
                .map(|(k, v)| (f(k), v.iter().map(|i| i.map_names(f)).collect()))
                .collect(),
            created_at: self.created_at,
            modified_at: self.modified_at,
        }
    }
}

/// The text of a language map in `tag` (or its primary language, or "@none", or the first).
pub fn pick_language(map: &Value, tag: &str) -> Value {
    let Value::Object(o) = map else { return map.clone() };
    let primary = tag.split('-').next().unwrap_or(tag);
    o.get(tag)
        .or_else(|| o.get(primary))
        .or_else(|| o.get("@none"))
        .or_else(|| o.values().next())
        .cloned()
        .unwrap_or(Value::Null)
}

fn strip_attr_types(v: &mut Value) {
    if let Value::Object(m) = v {
        for (k, attr) in m.iter_mut() {
            if matches!(k.as_str(), "id" | "type" | "createdAt" | "modifiedAt") {
                continue;
            }
            match attr {
                Value::Object(a) => {
                    a.remove("type");
                }
                Value::Array(items) => items.iter_mut().for_each(|i| {
                    if let Value::Object(a) = i {
                        a.remove("type");
                    }
                }),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rejects(payload: Value, path: &str, needle: &str) {
        let e = parse_entity(&payload).expect_err(&format!("{payload} should be refused"));
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains(needle), "{e}");
    }

    fn station() -> Value {
        json!({
            "id": "urn:ngsi-ld:WeatherObserved:lai-chau-tam-duong",
            "type": "WeatherObserved",
            "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
            "temperature": {"type": "Property", "value": 18.2, "unitCode": "CEL", "observedAt": "2026-11-23T02:00:00Z",
                            "accuracy": {"type": "Property", "value": 0.5}},
            "precipitation": [
                {"type": "Property", "value": 12.5, "datasetId": "urn:ngsi-ld:Dataset:rain-gauge"},
                {"type": "Property", "value": 11.0}
            ],
            "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:tram-01"},
            "name": {"type": "LanguageProperty", "languageMap": {"vi": "Trạm Tam Đường", "en": "Tam Duong station"}},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.47, 22.41]}}
        })
    }

    #[test]
    fn a_normalized_entity_round_trips() {
        let e = parse_entity(&station()).unwrap();
        assert_eq!(e.types, vec!["WeatherObserved"]);
        assert_eq!(e.attrs["precipitation"].len(), 2);
        assert_eq!(e.attrs["temperature"][0].sub["accuracy"][0].content, json!(0.5));
        let mut expected = station();
        expected.as_object_mut().unwrap().remove("@context");
        assert_eq!(e.to_normalized(), expected);
        assert_eq!(parse_entity(&e.to_normalized()).unwrap(), e);
        let kv = e.to_key_values();
        assert_eq!(kv["precipitation"], json!(11.0), "the default instance");
        assert_eq!(kv["refDevice"], json!("urn:ngsi-ld:Device:tram-01"));
        assert_eq!(kv["name"]["vi"], json!("Trạm Tam Đường"));
    }

    #[test]
    fn the_concise_form_infers_attribute_types() {
        let e = parse_entity(&json!({
            "id": "urn:ngsi-ld:Streetlight:1", "type": "Streetlight",
            "status": "ok", "power": {"value": 60, "unitCode": "WTT"}, "address": {"streetAddress": "Đường 19/5"},
            "refPole": {"object": "urn:ngsi-ld:Pole:9"}, "label": {"languageMap": {"vi": "Đèn"}},
            "location": {"type": "Point", "coordinates": [103.45, 22.39]}
        }))
        .unwrap();
        let kind = |n: &str| e.attrs[n][0].kind;
        assert_eq!(kind("status"), AttrKind::Property);
        assert_eq!(kind("address"), AttrKind::Property);
        assert_eq!(e.attrs["address"][0].content, json!({"streetAddress": "Đường 19/5"}));
        assert_eq!(kind("refPole"), AttrKind::Relationship);
        assert_eq!(kind("label"), AttrKind::LanguageProperty);
        assert_eq!(kind("location"), AttrKind::GeoProperty);
        assert_eq!(e.attrs["power"][0].unit_code.as_deref(), Some("WTT"));
    }

    #[test]
    fn bad_ids_types_and_attributes_are_named() {
        rejects(json!({"type": "T"}), "id", "required");
        rejects(json!({"id": "tram 01", "type": "T"}), "id", "not a URI");
        rejects(json!({"id": "tram01", "type": "T"}), "id", "not a URI");
        rejects(json!({"id": "urn:x:1"}), "type", "required");
        rejects(json!({"id": "urn:x:1", "type": []}), "type", "non-empty");
        rejects(json!({"id": "urn:x:1", "type": "T", "bad name": 1}), "bad name", "not a valid name");
        rejects(json!({"id": "urn:x:1", "type": "T", "a": null}), "a", "null");
        rejects(json!({"id": "urn:x:1", "type": "T", "a": {"type": "Property"}}), "a", "needs 'value'");
        rejects(
            json!({"id": "urn:x:1", "type": "T", "a": {"type": "string", "value": 1}}),
            "a.type",
            "not an attribute type",
        );
        rejects(
            json!({"id": "urn:x:1", "type": "T", "r": {"type": "Relationship", "object": "thing"}}),
            "r.object",
            "URI",
        );
        rejects(
            json!({"id": "urn:x:1", "type": "T", "a": {"type": "Property", "value": 1, "observedAt": "2026-11-23T09:00:00"}}),
            "a.observedAt",
            "time zone",
        );
        rejects(
            json!({"id": "urn:x:1", "type": "T", "a": [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}]}),
            "a",
            "appears twice",
        );
        rejects(json!({"id": "urn:x:1", "type": "T", "location": 5}), "location", "GeoProperty");
        rejects(
            json!({"id": "urn:x:1", "type": "T", "name": {"type": "LanguageProperty", "languageMap": {"vi": 5}}}),
            "name.languageMap.vi",
            "text",
        );
    }

    #[test]
    fn invalid_geometries_are_named() {
        let geo =
            |g: Value| json!({"id": "urn:x:1", "type": "T", "location": {"type": "GeoProperty", "value": g}});
        rejects(
            geo(json!({"type": "Point", "coordinates": [103.4, 95.0]})),
            "location.value.coordinates",
            "latitude 95",
        );
        rejects(
            geo(json!({"type": "Point", "coordinates": [190.0, 22.0]})),
            "location.value.coordinates",
            "longitude 190",
        );
        rejects(
            geo(
                json!({"type": "Polygon", "coordinates": [[[103.0, 22.0], [104.0, 22.0], [104.0, 23.0], [103.0, 23.5]]]}),
            ),
            "location.value.coordinates[0]",
            "closed",
        );
        rejects(
            geo(json!({"type": "Polygon", "coordinates": [[[103.0, 22.0], [104.0, 22.0], [103.0, 22.0]]]})),
            "location.value.coordinates[0]",
            "at least 4",
        );
        rejects(
            geo(json!({"type": "LineString", "coordinates": [[103.0, 22.0]]})),
            "location.value.coordinates",
            "at least 2",
        );
        rejects(
            geo(json!({"type": "Circle", "coordinates": [103.0, 22.0]})),
            "location.value.type",
            "not a supported",
        );
        for ok in [
            json!({"type": "MultiPoint", "coordinates": [[103.0, 22.0], [103.1, 22.1]]}),
            json!({"type": "MultiLineString", "coordinates": [[[103.0, 22.0], [103.1, 22.1]]]}),
            json!({"type": "MultiPolygon", "coordinates": [[[[103.0, 22.0], [104.0, 22.0], [104.0, 23.0], [103.0, 22.0]]]]}),
        ] {
            assert!(parse_entity(&geo(ok.clone())).is_ok(), "{ok}");
        }
    }

    #[test]
    fn uris() {
        for ok in ["urn:ngsi-ld:Vehicle:V1", "https://example.org/x", "urn:ngsi-ld:Trạm:Tam-Đường"] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in ["", "V1", ":x", "1x:y", "urn:", "urn:a b", "urn:<x>"] {
            assert!(!is_uri(bad), "{bad}");
        }
    }
}
