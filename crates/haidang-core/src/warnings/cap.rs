//! Public warnings as CAP 1.2 documents (OASIS Common Alerting Protocol) and the Atom feed that
//! lists them. CAP is what national aggregators, broadcasters and phone alert gateways read, so
//! the output follows the schema's element order and value formats exactly: a consumer that
//! validates against the XSD drops a document with one element out of place. Pure: data in, XML
//! text out; storage and publication are elsewhere.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The namespace every CAP 1.2 element is in.
pub const CAP_NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// The namespace of Atom 1.0 (RFC 4287).
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// The feed's author: the centre that publishes the warnings.
pub const FEED_AUTHOR: &str = "Trung tâm Giám sát, điều hành thông minh";

/// Defines a CAP enumeration whose Rust variant names are the CAP 1.2 texts, so `as_str`, `parse`
/// and serde all agree on one spelling and none can drift from the others.
macro_rules! cap_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order the CAP 1.2 specification lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The exact CAP 1.2 text.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant)),+ }
            }

            /// The value for its exact CAP 1.2 text (case-sensitive, as the schema is).
            pub fn parse(text: &str) -> Option<Self> {
                match text { $(stringify!($variant) => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cap_enum! {
    /// CAP `<msgType>`. Ack and Error are for exchanges between alerting authorities, which
    /// this centre does not take part in.
    MsgType { Alert, Update, Cancel }
}
cap_enum! {
    /// CAP `<status>`. System and Draft are never published to the public.
    Status { Actual, Exercise, Test }
}
cap_enum! { Urgency { Immediate, Expected, Future, Past, Unknown } }
cap_enum! { Certainty { Observed, Likely, Possible, Unlikely, Unknown } }
cap_enum! {
    /// Named apart from `alerts::Severity`, the operators' scale, which is not CAP's.
    CapSeverity { Extreme, Severe, Moderate, Minor, Unknown }
}
cap_enum! {
    /// `CBRNE` is spelled as CAP spells it, so the variant name is the wire text.
    #[allow(clippy::upper_case_acronyms)]
    Category { Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other }
}

/// The earlier message an Update or Cancel replaces; CAP matches it by these three together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapArea {
    pub area_desc: String,
    /// Each polygon as GeoJSON-order [longitude, latitude] points, as the rest of the system
    /// keeps them; written as CAP wants: "lat,lon" pairs separated by spaces, closed (first
    /// point repeated last if the input is not closed), at least 4 pairs.
    pub polygons: Vec<Vec<[f64; 2]>>,
    /// (valueName, value), e.g. ("VN-COMMUNE", "03503")
    pub geocodes: Vec<(String, String)>,
}

/// One language's version of the warning: CAP repeats the whole info block per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapInfo {
    pub language: String,
    pub categories: Vec<Category>,
    pub event: String,
    pub urgency: Urgency,
    pub severity: CapSeverity,
    pub certainty: Certainty,
    pub onset: Option<Timestamp>,
    pub expires: Option<Timestamp>,
    pub sender_name: Option<String>,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    pub web: Option<String>,
    pub contact: Option<String>,
    pub areas: Vec<CapArea>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapMessage {
    pub identifier: String,
    pub sender: String,
    pub sent: Timestamp,
    pub status: Status,
    pub msg_type: MsgType,
    /// CAP `<note>`, e.g. why a warning is cancelled.
    pub note: Option<String>,
    /// Required (non-empty) for Update and Cancel: without it a consumer cannot tell which
    /// warning to replace or withdraw.
    pub references: Vec<Reference>,
    pub infos: Vec<CapInfo>,
}

/// What CAP forbids in a message, by the field at fault so a form can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CapError {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> CapError {
    CapError { field: field.into(), message: message.into() }
}

/// A time as CAP writes it: seconds, never a fraction, and an explicit offset (CAP forbids
/// "Z"). Vietnam time so a reader of the raw document sees the local clock.
pub fn cap_time(ts: Timestamp) -> String {
    ts.to_zoned(crate::time::local_tz()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// XML 1.0 cannot carry most control characters even escaped; a parser refuses the document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Refuses text XML cannot hold rather than dropping it silently from a public warning.
fn check_text(field: &str, value: &str) -> Result<(), CapError> {
    match value.chars().find(|c| !xml_char(*c)) {
        Some(c) => Err(refuse(field, format!("contains the control character U+{:04X}", c as u32))),
        None => Ok(()),
    }
}

/// Identifiers and senders are joined with spaces and commas in `<references>`, so CAP forbids
/// both in them (and `<`, `&`); any whitespace is refused, not only the space.
fn check_id(field: &str, value: &str) -> Result<(), CapError> {
    if value.is_empty() {
        return Err(refuse(field, "must not be empty"));
    }
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || matches!(c, ',' | '<' | '&')) {
        return Err(refuse(field, format!("must not contain {c:?} (CAP 1.2: no spaces, commas, < or &)")));
    }
    check_text(field, value)
}

fn check_required(field: &str, value: &str) -> Result<(), CapError> {
    if value.trim().is_empty() {
        return Err(refuse(field, "must not be empty"));
    }
    check_text(field, value)
}

fn check_optional(field: &str, value: Option<&str>) -> Result<(), CapError> {
    value.map_or(Ok(()), |v| check_text(field, v))
}

/// The ring as CAP wants it: the first point repeated last unless the input already is.
fn closed_ring(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut ring = points.to_vec();
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        if first != last {
            ring.push(*first);
        }
    }
    ring
}

fn check_polygon(field: &str, points: &[[f64; 2]]) -> Result<(), CapError> {
    for (p, [lon, lat]) in points.iter().enumerate() {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(refuse(field, format!("point {p} is not a finite number")));
        }
        // The hint matters: a swapped pair is the usual cause, since CAP writes lat,lon.
        if !(-90.0..=90.0).contains(lat) {
            return Err(refuse(
                field,
                format!("point {p}: latitude {lat} is outside -90..90 (points are [lon, lat])"),
            ));
        }
        if !(-180.0..=180.0).contains(lon) {
            return Err(refuse(field, format!("point {p}: longitude {lon} is outside -180..180")));
        }
    }
    let ring = closed_ring(points);
    if ring.len() < 4 {
        return Err(refuse(field, format!("{} points once closed; CAP 1.2 needs at least 4", ring.len())));
    }
    // Four pairs that repeat one or two corners enclose nothing; CAP would accept them but
    // no alert gateway can draw an area from them. Three distinct corners are enough to stop.
    let mut corners: Vec<[u64; 2]> = Vec::with_capacity(3);
    for [lon, lat] in &ring {
        let key = [lon.to_bits(), lat.to_bits()];
        if !corners.contains(&key) {
            corners.push(key);
            if corners.len() == 3 {
                return Ok(());
            }
        }
    }
    Err(refuse(field, "fewer than 3 distinct corners: it encloses no area"))
}

/// Refuses what CAP 1.2 forbids (and what a consumer could not use), naming the field.
pub fn check(msg: &CapMessage) -> Result<(), CapError> {
    check_id("identifier", &msg.identifier)?;
    check_id("sender", &msg.sender)?;
    check_optional("note", msg.note.as_deref())?;
    if matches!(msg.msg_type, MsgType::Update | MsgType::Cancel) && msg.references.is_empty() {
        return Err(refuse("references", format!("a {} must name the message it replaces", msg.msg_type)));
    }
    for (r, reference) in msg.references.iter().enumerate() {
        check_id(&format!("references[{r}].sender"), &reference.sender)?;
        check_id(&format!("references[{r}].identifier"), &reference.identifier)?;
    }
    for (i, info) in msg.infos.iter().enumerate() {
        let at = |name: &str| format!("infos[{i}].{name}");
        // xs:language: a tag such as "vi-VN"; anything else fails schema validation.
        if info.language.is_empty() || !info.language.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(refuse(at("language"), "must be a language tag such as \"vi-VN\""));
        }
        if info.categories.is_empty() {
            return Err(refuse(at("categories"), "at least one category is required"));
        }
        check_required(&at("event"), &info.event)?;
        for (name, value) in [
            ("sender_name", &info.sender_name),
            ("headline", &info.headline),
            ("description", &info.description),
            ("instruction", &info.instruction),
            ("web", &info.web),
            ("contact", &info.contact),
        ] {
            check_optional(&at(name), value.as_deref())?;
        }
        // Compared at whole seconds, as they are published.
        if let (Some(onset), Some(expires)) = (info.onset, info.expires) {
            if expires.as_second() <= onset.as_second() {
                return Err(refuse(
                    at("expires"),
                    format!("{} is not after onset {}", cap_time(expires), cap_time(onset)),
                ));
            }
        }
        for (j, area) in info.areas.iter().enumerate() {
            let at = |name: &str| format!("infos[{i}].areas[{j}].{name}");
            check_required(&at("area_desc"), &area.area_desc)?;
            for (k, polygon) in area.polygons.iter().enumerate() {
                check_polygon(&at(&format!("polygons[{k}]")), polygon)?;
            }
            for (g, (name, value)) in area.geocodes.iter().enumerate() {
                check_required(&at(&format!("geocodes[{g}].value_name")), name)?;
                check_required(&at(&format!("geocodes[{g}].value")), value)?;
            }
        }
    }
    Ok(())
}

/// Escapes for element text and attribute values alike. quick-xml does the five markup
/// characters; carriage returns, tabs and newlines become character references because a
/// parser would otherwise normalise them (CR to LF in text, all three to spaces in
/// attributes) and the text would not read back as written. Characters XML cannot hold at all
/// are dropped (`check` has refused them already for CAP).
fn esc(text: &str) -> String {
    let legal: String = text.chars().filter(|c| xml_char(*c)).collect();
    let mut out = String::with_capacity(legal.len());
    for c in quick_xml::escape::escape(legal.as_str()).chars() {
        match c {
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with 6 decimals (about 10 cm), trailing zeros trimmed.
fn coord(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// An indented XML writer for documents whose shape is fixed by code, not by data.
struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn new() -> Self {
        Xml { out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".to_string(), depth: 0 }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push_str(&"  ".repeat(self.depth));
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push_str(&format!(" {key}=\"{}\"", esc(value)));
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push_str("/>\n");
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.out.push_str(&format!("{}</{name}>\n", "  ".repeat(self.depth)));
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.tag(name, &[]);
        self.out.push_str(&format!(">{}</{name}>\n", esc(text)));
    }

    fn opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }
}

/// The CAP 1.2 document for a message, after `check`. Elements come in the schema's sequence;
/// optional ones the centre has nothing for are left out rather than written empty, since an
/// empty element is not the same as an absent one to a validating consumer.
pub fn render(msg: &CapMessage) -> Result<String, CapError> {
    check(msg)?;
    let mut x = Xml::new();
    x.open("alert", &[("xmlns", CAP_NS)]);
    x.leaf("identifier", &msg.identifier);
    x.leaf("sender", &msg.sender);
    x.leaf("sent", &cap_time(msg.sent));
    x.leaf("status", msg.status.as_str());
    x.leaf("msgType", msg.msg_type.as_str());
    x.leaf("scope", "Public");
    x.opt("note", msg.note.as_deref());
    if !msg.references.is_empty() {
        let triples: Vec<String> = msg
            .references
            .iter()
            .map(|r| format!("{},{},{}", r.sender, r.identifier, cap_time(r.sent)))
            .collect();
        x.leaf("references", &triples.join(" "));
    }
    for info in &msg.infos {
        render_info(&mut x, info);
    }
    x.close("alert");
    Ok(x.out)
}

fn render_info(x: &mut Xml, info: &CapInfo) {
    x.open("info", &[]);
    x.leaf("language", &info.language);
    for category in &info.categories {
        x.leaf("category", category.as_str());
    }
    x.leaf("event", &info.event);
    x.leaf("urgency", info.urgency.as_str());
    x.leaf("severity", info.severity.as_str());
    x.leaf("certainty", info.certainty.as_str());
    x.opt("onset", info.onset.map(cap_time).as_deref());
    x.opt("expires", info.expires.map(cap_time).as_deref());
    x.opt("senderName", info.sender_name.as_deref());
    x.opt("headline", info.headline.as_deref());
    x.opt("description", info.description.as_deref());
    x.opt("instruction", info.instruction.as_deref());
    x.opt("web", info.web.as_deref());
    x.opt("contact", info.contact.as_deref());
    for area in &info.areas {
        x.open("area", &[]);
        x.leaf("areaDesc", &area.area_desc);
        for polygon in &area.polygons {
            let pairs: Vec<String> = closed_ring(polygon)
                .iter()
                .map(|[lon, lat]| format!("{},{}", coord(*lat), coord(*lon)))
                .collect();
            x.leaf("polygon", &pairs.join(" "));
        }
        for (name, value) in &area.geocodes {
            x.open("geocode", &[]);
            x.leaf("valueName", name);
            x.leaf("value", value);
            x.close("geocode");
        }
        x.close("area");
    }
    x.close("info");
}

/// One warning in the feed: the feed points at the CAP document, which is the authority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// A `tag:` URI or `urn:uuid:`, stable across updates of the feed.
    pub id: String,
    pub title: String,
    pub summary: String,
    pub updated: Timestamp,
    /// Where the CAP document is served.
    pub cap_url: String,
    /// The page for people, when there is one.
    pub html_url: Option<String>,
}

/// The Atom 1.0 feed of warnings, as CAP aggregators poll it. The author is given once on the
/// feed, which RFC 4287 lets stand for every entry.
pub fn atom(feed_id: &str, title: &str, self_url: &str, updated: Timestamp, entries: &[FeedEntry]) -> String {
    let mut x = Xml::new();
    x.open("feed", &[("xmlns", ATOM_NS)]);
    x.leaf("id", feed_id);
    x.leaf("title", title);
    x.leaf("updated", &cap_time(updated));
    x.empty("link", &[("rel", "self"), ("type", "application/atom+xml"), ("href", self_url)]);
    x.open("author", &[]);
    x.leaf("name", FEED_AUTHOR);
    x.close("author");
    for entry in entries {
        x.open("entry", &[]);
        x.leaf("id", &entry.id);
        x.leaf("title", &entry.title);
        x.leaf("updated", &cap_time(entry.updated));
        x.leaf("summary", &entry.summary);
        x.empty("link", &[("rel", "alternate"), ("type", "application/cap+xml"), ("href", &entry.cap_url)]);
        if let Some(html) = &entry.html_url {
            x.empty("link", &[("rel", "alternate"), ("type", "text/html"), ("href", html)]);
        }
        x.close("entry");
    }
    x.close("feed");
    x.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::escape::resolve_predefined_entity;
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::name::ResolveResult;
    use quick_xml::{NsReader, XmlVersion};

    /// An element as a real XML parser read it: resolved namespace, local name, attributes and
    /// text with references resolved.
    #[derive(Debug, Default)]
    struct Node {
        ns: String,
        name: String,
        attrs: Vec<(String, String)>,
        text: String,
        children: Vec<Node>,
    }

    impl Node {
        fn all(&self, name: &str) -> Vec<&Node> {
            self.children.iter().filter(|c| c.name == name).collect()
        }
        fn one(&self, name: &str) -> &Node {
            let found = self.all(name);
            assert_eq!(found.len(), 1, "<{}> must hold exactly one <{name}>", self.name);
            found[0]
        }
        fn text_of(&self, name: &str) -> &str {
            &self.one(name).text
        }
        fn attr(&self, key: &str) -> Option<&str> {
            self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        }
        fn names(&self) -> Vec<&str> {
            self.children.iter().map(|c| c.name.as_str()).collect()
        }
        fn all_in(&self, ns: &str) -> bool {
            self.ns == ns && self.children.iter().all(|c| c.all_in(ns))
        }
    }

    fn element(ns: String, start: &BytesStart) -> Node {
        let attrs = start
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (a.key.0.to_string(), a.normalized_value(XmlVersion::Implicit1_0).unwrap().into())
            })
            .collect();
        Node { ns, name: start.local_name().as_ref().to_string(), attrs, ..Node::default() }
    }

    fn parse(xml: &str) -> Node {
        let mut reader = NsReader::from_str(xml);
        let mut stack: Vec<Node> = Vec::new();
        let mut root = None;
        let attach = |stack: &mut Vec<Node>, root: &mut Option<Node>, node: Node| match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => *root = Some(node),
        };
        loop {
            let (ns, event) = reader.read_resolved_event().unwrap();
            let ns = match ns {
                ResolveResult::Bound(ns) => ns.0.to_string(),
                _ => String::new(),
            };
            match event {
                Event::Start(e) => stack.push(element(ns, &e)),
                Event::Empty(e) => attach(&mut stack, &mut root, element(ns, &e)),
                Event::End(_) => {
                    let node = stack.pop().unwrap();
                    attach(&mut stack, &mut root, node);
                }
                Event::Text(t) => match stack.last_mut() {
                    Some(top) => top.text.push_str(&t.xml10_content()),
                    None => assert!(t.trim().is_empty(), "text outside the root"),
                },
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => resolve_predefined_entity(&r).unwrap().to_string(),
                    };
                    stack.last_mut().unwrap().text.push_str(&resolved);
                }
                Event::CData(_) | Event::DocType(_) => panic!("not expected here: {event:?}"),
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(stack.is_empty(), "unclosed elements");
        root.unwrap()
    }

    /// Checks the children follow the schema's sequence; only `repeatable` ones may repeat.
    fn assert_sequence(node: &Node, sequence: &str, repeatable: &[&str]) {
        let mut last: Option<usize> = None;
        for name in node.names() {
            let at = sequence.split(' ').position(|s| s == name);
            let at = at.unwrap_or_else(|| panic!("<{name}> is not allowed in <{}>", node.name));
            if let Some(last) = last {
                assert!(
                    at > last || (at == last && repeatable.contains(&name)),
                    "<{name}> out of order in <{}>: {:?}",
                    node.name,
                    node.names()
                );
            }
            last = Some(at);
        }
    }

    // The xs:sequence of each element in the CAP 1.2 schema, optional elements included.
    const ALERT_SEQ: &str = "identifier sender sent status msgType source scope restriction \
        addresses code note references incidents info";
    const INFO_SEQ: &str = "language category event responseType urgency severity certainty \
        audience eventCode effective onset expires senderName headline description instruction web \
        contact parameter resource area";
    const AREA_SEQ: &str = "areaDesc polygon circle geocode altitude ceiling";
    const HEADLINE_VI: &str = "Cảnh báo lũ quét và sạt lở đất tại xã Pa Tần";

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn info(language: &str, headline: &str) -> CapInfo {
        CapInfo {
            language: language.into(),
            categories: vec![Category::Met, Category::Geo],
            event: "Lũ quét".into(),
            urgency: Urgency::Immediate,
            severity: CapSeverity::Severe,
            certainty: Certainty::Likely,
            onset: Some(ts("2026-07-14T01:00:00.250Z")),
            expires: Some(ts("2026-07-15T01:00:00Z")),
            sender_name: Some("Trung tâm Giám sát, điều hành thông minh tỉnh Lai Châu".into()),
            headline: Some(headline.into()),
            description: Some("Mưa lớn kéo dài, nguy cơ lũ quét trên các suối.".into()),
            instruction: Some("Di chuyển đến nơi cao, tránh xa bờ suối.".into()),
            web: Some("https://haidang.example.vn/canh-bao/2026-0142".into()),
            contact: Some("0213 3876 114".into()),
            areas: vec![CapArea {
                area_desc: "Xã Pa Tần và xã Nậm Ban, huyện Sìn Hồ".into(),
                // GeoJSON order [lon, lat], not closed.
                polygons: vec![vec![[103.4, 22.3], [103.6, 22.3], [103.6, 22.5], [103.4, 22.5]]],
                geocodes: vec![("VN-COMMUNE".into(), "03503".into()), ("VN-COMMUNE".into(), "03508".into())],
            }],
        }
    }

    fn alert() -> CapMessage {
        CapMessage {
            identifier: "VN-LCI-2026-0142".into(),
            sender: "canhbao@laichau.gov.vn".into(),
            sent: ts("2026-07-14T00:30:15.123456Z"),
            status: Status::Actual,
            msg_type: MsgType::Alert,
            note: None,
            references: vec![],
            infos: vec![
                info("vi-VN", HEADLINE_VI),
                info("en-US", "Flash flood and landslide warning for Pa Tan commune"),
            ],
        }
    }

    /// `allowed`: the CAP 1.2 enumeration, space-separated.
    fn assert_one_of(value: &str, allowed: &str) {
        assert!(allowed.split(' ').any(|a| a == value), "{value} is not one of {allowed}");
    }

    fn assert_cap_time(text: &str) {
        let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$").unwrap();
        assert!(re.is_match(text), "{text}");
        assert!(text.ends_with("+07:00"), "{text}");
    }

    #[test]
    fn full_alert_is_valid_cap_1_2() {
        let doc = parse(&render(&alert()).unwrap());
        assert_eq!(doc.name, "alert");
        assert!(doc.all_in(CAP_NS), "every element is in the CAP 1.2 namespace");
        for name in ["identifier", "sender", "sent", "status", "msgType", "scope"] {
            doc.one(name);
        }
        assert_sequence(&doc, ALERT_SEQ, &["info"]);
        assert_one_of(doc.text_of("status"), "Actual Exercise System Test Draft");
        assert_one_of(doc.text_of("msgType"), "Alert Update Cancel Ack Error");
        assert_one_of(doc.text_of("scope"), "Public Restricted Private");
        assert_eq!(doc.text_of("identifier"), "VN-LCI-2026-0142");
        assert_eq!(doc.text_of("sent"), "2026-07-14T07:30:15+07:00", "local time, no fraction");
        assert_cap_time(doc.text_of("sent"));
        assert!(doc.all("references").is_empty() && doc.all("note").is_empty());

        let infos = doc.all("info");
        let languages: Vec<&str> = infos.iter().map(|i| i.text_of("language")).collect();
        assert_eq!(languages, ["vi-VN", "en-US"]);
        for info in &infos {
            assert_sequence(info, INFO_SEQ, &["category", "area"]);
            for name in ["event", "urgency", "severity", "certainty", "onset", "expires"] {
                info.one(name);
            }
            let categories: Vec<&str> = info.all("category").iter().map(|c| &*c.text).collect();
            assert_eq!(categories, ["Met", "Geo"]);
            let allowed = "Geo Met Safety Security Rescue Fire Health Env Transport Infra CBRNE Other";
            assert!(categories.iter().all(|c| allowed.split(' ').any(|a| a == *c)));
            assert_one_of(info.text_of("urgency"), "Immediate Expected Future Past Unknown");
            assert_one_of(info.text_of("severity"), "Extreme Severe Moderate Minor Unknown");
            assert_one_of(info.text_of("certainty"), "Observed Likely Possible Unlikely Unknown");
            assert_cap_time(info.text_of("onset"));
            assert_cap_time(info.text_of("expires"));
            assert_eq!(info.text_of("onset"), "2026-07-14T08:00:00+07:00");

            let area = info.one("area");
            assert_sequence(area, AREA_SEQ, &["polygon", "geocode"]);
            assert_eq!(area.text_of("areaDesc"), "Xã Pa Tần và xã Nậm Ban, huyện Sìn Hồ");
            let pairs: Vec<(f64, f64)> = area
                .text_of("polygon")
                .split(' ')
                .map(|pair| {
                    let (lat, lon) = pair.split_once(',').unwrap();
                    (lat.parse().unwrap(), lon.parse().unwrap())
                })
                .collect();
            assert_eq!(pairs.len(), 5, "4 corners and the first again");
            assert_eq!(pairs.first(), pairs.last());
            for (lat, lon) in &pairs {
                assert!((22.0..23.0).contains(lat), "latitude first: {lat}");
                assert!((103.0..104.0).contains(lon), "longitude second: {lon}");
            }
            let codes: Vec<(&str, &str)> =
                area.all("geocode").iter().map(|g| (g.text_of("valueName"), g.text_of("value"))).collect();
            assert_eq!(codes, [("VN-COMMUNE", "03503"), ("VN-COMMUNE", "03508")]);
        }
        assert_eq!(infos[0].text_of("headline"), HEADLINE_VI);
        assert_eq!(infos[0].text_of("senderName"), "Trung tâm Giám sát, điều hành thông minh tỉnh Lai Châu");
    }

    #[test]
    fn update_and_cancel_reference_the_original() {
        let original = alert();
        let original_sent = parse(&render(&original).unwrap()).text_of("sent").to_string();
        let reference = Reference {
            sender: original.sender.clone(),
            identifier: original.identifier.clone(),
            sent: original.sent,
        };
        let update = CapMessage {
            identifier: "VN-LCI-2026-0143".into(),
            sent: ts("2026-07-14T03:00:00Z"),
            msg_type: MsgType::Update,
            references: vec![reference.clone()],
            ..alert()
        };
        let cancel = CapMessage {
            identifier: "VN-LCI-2026-0144".into(),
            sent: ts("2026-07-14T09:00:00Z"),
            msg_type: MsgType::Cancel,
            note: Some("Mưa đã ngớt, mực nước suối đã rút.".into()),
            references: vec![reference],
            infos: vec![],
            ..alert()
        };
        for (message, kind) in [(&update, "Update"), (&cancel, "Cancel")] {
            let doc = parse(&render(message).unwrap());
            assert_sequence(&doc, ALERT_SEQ, &["info"]);
            assert_eq!(doc.text_of("msgType"), kind);
            let triples: Vec<Vec<&str>> =
                doc.text_of("references").split(' ').map(|t| t.split(',').collect()).collect();
            assert_eq!(
                triples,
                [vec![original.sender.as_str(), original.identifier.as_str(), &original_sent]]
            );
            assert_cap_time(triples[0][2]);
        }
        assert_eq!(parse(&render(&cancel).unwrap()).text_of("note"), "Mưa đã ngớt, mực nước suối đã rút.");

        let orphan = CapMessage { references: vec![], ..update };
        assert_eq!(check(&orphan).unwrap_err().field, "references");
        assert_eq!(render(&orphan).unwrap_err().field, "references");
    }

    #[test]
    fn check_refuses_what_cap_forbids() {
        let field = |msg: CapMessage| check(&msg).unwrap_err().field;
        let with_polygon = |points: Vec<[f64; 2]>| {
            let mut msg = alert();
            msg.infos[0].areas[0].polygons = vec![points];
            msg
        };
        let polygon = "infos[0].areas[0].polygons[0]";
        // Three points, closed: a line, 3 pairs.
        assert_eq!(field(with_polygon(vec![[103.4, 22.3], [103.6, 22.3], [103.4, 22.3]])), polygon);
        assert_eq!(field(with_polygon(vec![[103.4, 22.3], [103.6, 22.3]])), polygon);
        // Four pairs but only two distinct corners.
        let degenerate = vec![[103.4, 22.3], [103.6, 22.3], [103.4, 22.3], [103.6, 22.3]];
        assert_eq!(field(with_polygon(degenerate)), polygon);
        // Latitude out of range (a swapped [lat, lon] pair) and non-finite numbers.
        assert_eq!(field(with_polygon(vec![[22.3, 103.4], [22.3, 103.6], [22.5, 103.6]])), polygon);
        assert_eq!(field(with_polygon(vec![[103.4, f64::NAN], [103.6, 22.3], [103.6, 22.5]])), polygon);
        let err = check(&with_polygon(vec![[103.4, 91.0], [103.6, 22.3], [103.6, 22.5]]));
        assert!(err.unwrap_err().to_string().starts_with("infos[0].areas[0].polygons[0]: "));
        // A triangle of 3 distinct corners is closed to 4 pairs and accepted.
        assert!(check(&with_polygon(vec![[103.4, 22.3], [103.6, 22.3], [103.5, 22.5]])).is_ok());

        assert_eq!(field(CapMessage { identifier: "VN LCI 1".into(), ..alert() }), "identifier");
        assert_eq!(field(CapMessage { identifier: String::new(), ..alert() }), "identifier");
        assert_eq!(field(CapMessage { sender: "a,b".into(), ..alert() }), "sender");
        assert_eq!(field(CapMessage { sender: "a&b".into(), ..alert() }), "sender");

        let mut late = alert();
        late.infos[1].expires = Some(ts("2026-07-13T00:00:00Z"));
        assert_eq!(field(late), "infos[1].expires");
        let mut uncategorised = alert();
        uncategorised.infos[0].categories.clear();
        assert_eq!(field(uncategorised), "infos[0].categories");
        let mut control = alert();
        control.infos[0].headline = Some("Lũ\u{7}".into());
        assert_eq!(field(control), "infos[0].headline");
    }

    #[test]
    fn markup_characters_are_escaped_and_read_back() {
        let tricky = "Mực nước < 2m & \"báo động 3\" > 'ngưỡng'\r\n\tXã <Pa Tần> &amp;";
        let mut msg = alert();
        msg.note = Some(tricky.into());
        msg.infos[0].headline = Some(tricky.into());
        msg.infos[0].areas[0].area_desc = tricky.into();
        msg.infos[0].areas[0].geocodes = vec![("VN-<&>".into(), "a\"b'c".into())];
        let doc = parse(&render(&msg).unwrap());
        assert_eq!(doc.text_of("note"), tricky);
        let info = &doc.all("info")[0];
        assert_eq!(info.text_of("headline"), tricky);
        assert_eq!(info.one("area").text_of("areaDesc"), tricky);
        let geocode = info.one("area").one("geocode");
        assert_eq!((geocode.text_of("valueName"), geocode.text_of("value")), ("VN-<&>", "a\"b'c"));

        let entry = FeedEntry {
            summary: tricky.into(),
            cap_url: "https://h.example.vn/cap?id=1&lang=vi\"'<>".into(),
            ..entry(1, tricky)
        };
        let feed = parse(&atom(
            "urn:uuid:1",
            tricky,
            "https://h.example.vn/f?a=1&b=2",
            entry.updated,
            std::slice::from_ref(&entry),
        ));
        assert_eq!(feed.text_of("title"), tricky);
        assert_eq!(feed.one("link").attr("href"), Some("https://h.example.vn/f?a=1&b=2"));
        let got = feed.one("entry");
        assert_eq!((got.text_of("title"), got.text_of("summary")), (tricky, tricky));
        assert_eq!(got.one("link").attr("href"), Some(entry.cap_url.as_str()));
    }

    fn entry(n: u32, title: &str) -> FeedEntry {
        FeedEntry {
            id: format!("tag:haidang.example.vn,2026:canh-bao/{n}"),
            title: title.into(),
            summary: format!("{title}: tóm tắt"),
            updated: ts("2026-07-14T00:30:15Z"),
            cap_url: format!("https://haidang.example.vn/cap/{n}.xml"),
            html_url: None,
        }
    }

    #[test]
    fn atom_feed_lists_each_warning() {
        let mut entries = vec![entry(142, HEADLINE_VI), entry(143, "Cảnh báo rét hại")];
        entries[0].html_url = Some("https://haidang.example.vn/canh-bao/142".into());
        let updated = ts("2026-07-14T02:00:00Z");
        let xml = atom("urn:uuid:feed", "Cảnh báo công khai", "https://h.example.vn/atom", updated, &entries);
        let feed = parse(&xml);
        assert_eq!(feed.name, "feed");
        assert!(feed.all_in(ATOM_NS), "every element is in the Atom namespace");
        assert_eq!(feed.text_of("id"), "urn:uuid:feed");
        assert_eq!(feed.text_of("updated"), "2026-07-14T09:00:00+07:00");
        assert_eq!(feed.one("author").text_of("name"), FEED_AUTHOR);
        assert_eq!(feed.one("link").attr("rel"), Some("self"));
        let got = feed.all("entry");
        assert_eq!(got.len(), entries.len());
        for (node, entry) in got.iter().zip(&entries) {
            assert_eq!(node.text_of("id"), entry.id);
            assert_eq!(node.text_of("title"), entry.title);
            assert_eq!(node.text_of("updated"), cap_time(entry.updated));
            let when: Timestamp = node.text_of("updated").parse().unwrap();
            assert_eq!(when, entry.updated, "RFC 3339, same instant");
            let links = node.all("link");
            let cap = links.iter().find(|l| l.attr("type") == Some("application/cap+xml"));
            assert_eq!(cap.and_then(|l| l.attr("href")), Some(entry.cap_url.as_str()));
            assert_eq!(cap.and_then(|l| l.attr("rel")), Some("alternate"));
            let html = links.iter().find(|l| l.attr("type") == Some("text/html"));
            assert_eq!(html.and_then(|l| l.attr("href")), entry.html_url.as_deref());
        }
    }

    #[test]
    fn enumerations_use_the_cap_texts() {
        assert_eq!(Category::CBRNE.as_str(), "CBRNE");
        assert_eq!(Urgency::parse("Immediate"), Some(Urgency::Immediate));
        assert_eq!(Status::parse("Draft"), None);
        assert_eq!(Category::parse("met"), None, "case-sensitive like the schema");
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for s in CapSeverity::ALL {
            assert_eq!(serde_json::from_value::<CapSeverity>(s.as_str().into()).unwrap(), *s);
        }
        assert_eq!(Certainty::ALL.len() + MsgType::ALL.len(), 8);
        assert_eq!(coord(22.300000000001), "22.3");
        assert_eq!(coord(-0.0000001), "0");
        assert_eq!(coord(103.0), "103");
    }
}
