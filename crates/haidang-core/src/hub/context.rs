//! JSON-LD @context for NGSI-LD: short names in payloads ("temperature") stand for IRIs
//! ("https://uri.etsi.org/ngsi-ld/default-context/temperature", or what the caller's context
//! says). The store keeps IRIs, so two agencies using different contexts share one attribute when
//! their contexts agree on the IRI. Answers are compacted back with the caller's context.
//!
//! This covers what NGSI-LD payloads use: term definitions (string or {"@id"}), prefixes and
//! compact IRIs ("sdm:temperature"), @vocab, null to undefine, contexts given by URL, as an object
//! or as a list, and nested remote contexts. The core context is applied last and wins, as the
//! standard requires.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

/// The core context in the binary (data/ngsi-ld).
pub const CORE_CONTEXT_V1_9: &str = include_str!("../../../../data/ngsi-ld/ngsi-ld-core-context-v1.9.jsonld");

/// URLs clients send for the core context; all are answered from the embedded v1.9.
pub const CORE_CONTEXT_URLS: [&str; 5] = [
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
];

/// The core context URL a server names when the caller gave none (the newest it knows).
pub const CORE_URL: &str = CORE_CONTEXT_URLS[4];

/// Nested remote contexts deeper than this are refused (a loop, or abuse).
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// A context URL this server does not hold and may not fetch (LdContextNotAvailable, 503).
    NotAvailable { url: String, reason: String },
    /// The context itself is wrong (BadRequestData, 400).
    Invalid(String),
}

impl std::fmt::Display for ContextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextError::NotAvailable { url, reason } => {
                write!(f, "@context {url} is not available: {reason}")
            }
            ContextError::Invalid(m) => write!(f, "invalid @context: {m}"),
        }
    }
}

/// Finds the document behind a context URL (the core URLs never reach it).
pub trait ContextLoader {
    fn load(&self, url: &str) -> Result<Value, ContextError>;
}

/// A loader that holds nothing: only the core context is known.
pub struct NoRemoteContexts;

impl ContextLoader for NoRemoteContexts {
    fn load(&self, url: &str) -> Result<Value, ContextError> {
        Err(ContextError::NotAvailable { url: url.to_string(), reason: "not held by this server".into() })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActiveContext {
    terms: HashMap<String, String>,
    vocab: Option<String>,
}

pub fn is_core_url(url: &str) -> bool {
    CORE_CONTEXT_URLS.contains(&url)
}

fn core_document() -> &'static Value {
    static CORE: OnceLock<Value> = OnceLock::new();
    CORE.get_or_init(|| serde_json::from_str(CORE_CONTEXT_V1_9).unwrap_or(Value::Null))
}

impl ActiveContext {
    /// The core context alone (what a request without @context uses).
    pub fn core() -> &'static ActiveContext {
        static CORE: OnceLock<ActiveContext> = OnceLock::new();
        CORE.get_or_init(|| {
            let mut ctx = ActiveContext::default();
            if let Some(local) = core_document().get("@context") {
                // The embedded file is known good; a failure leaves an empty context, which the
                // tests would catch at once.
                let _ = ctx.apply(local, &NoRemoteContexts, 0);
            }
            ctx
        })
    }

    /// The caller's context (a URL, an object or a list of them), with the core context last.
    pub fn for_request(
        local: Option<&Value>,
        loader: &dyn ContextLoader,
    ) -> Result<ActiveContext, ContextError> {
        let mut ctx = ActiveContext::default();
        if let Some(local) = local {
            ctx.apply(local, loader, 0)?;
        }
        let core = ActiveContext::core();
        for (k, v) in &core.terms {
            ctx.terms.insert(k.clone(), v.clone());
        }
        if ctx.vocab.is_none() {
            ctx.vocab = core.vocab.clone();
        }
        Ok(ctx)
    }

    fn apply(&mut self, local: &Value, loader: &dyn ContextLoader, depth: usize) -> Result<(), ContextError> {
        if depth > MAX_DEPTH {
            return Err(ContextError::Invalid(format!("contexts nested deeper than {MAX_DEPTH}")));
        }
        match local {
            Value::Null => {
                *self = ActiveContext::default();
                Ok(())
            }
            Value::String(url) if is_core_url(url) => Ok(()),
            Value::String(url) => {
                let doc = loader.load(url)?;
                let inner = doc.get("@context").ok_or_else(|| ContextError::NotAvailable {
                    url: url.clone(),
                    reason: "the document has no @context".into(),
                })?;
                self.apply(inner, loader, depth + 1)
            }
            Value::Array(items) => items.iter().try_for_each(|item| self.apply(item, loader, depth)),
            Value::Object(defs) => {
                // Prefixes first, so "sdm:x" can use a prefix defined later in the same object.
                let mut pending: Vec<(&String, &Value)> = defs.iter().collect();
                pending
                    .sort_by_key(|(_, v)| !v.as_str().is_some_and(|s| s.ends_with('/') || s.ends_with('#')));
                for (term, def) in pending {
                    self.define(term, def)?;
                }
                Ok(())
            }
            other => Err(ContextError::Invalid(format!("{other} is not a context"))),
        }
    }

    fn define(&mut self, term: &str, def: &Value) -> Result<(), ContextError> {
        match term {
            "@vocab" => {
                self.vocab = match def {
                    Value::Null => None,
                    Value::String(v) => Some(self.expand_iri(v)),
                    other => return Err(ContextError::Invalid(format!("@vocab {other} is not an IRI"))),
                };
                return Ok(());
            }
            t if t.starts_with('@') => return Ok(()), // @version, @protected, @language, ...
            _ => {}
        }
        let iri = match def {
            Value::Null => {
                self.terms.remove(term);
                return Ok(());
            }
            Value::String(s) => s.clone(),
            Value::Object(o) => match o.get("@id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) => {
                    self.terms.remove(term);
                    return Ok(());
                }
                // {"@type": ...} alone: the term expands by @vocab as usual.
                None => return Ok(()),
                Some(other) => {
                    return Err(ContextError::Invalid(format!("{term}: @id {other} is not an IRI")))
                }
            },
            other => return Err(ContextError::Invalid(format!("{term}: {other} is not a term definition"))),
        };
        if iri.starts_with('@') {
            // "id": "@id", "type": "@type": keyword aliases, not attributes.
            self.terms.insert(term.to_string(), iri);
        } else {
            let expanded = self.expand_iri(&iri);
            self.terms.insert(term.to_string(), expanded);
        }
        Ok(())
    }

    /// A compact IRI ("ngsi-ld:location") with a known prefix becomes the full IRI.
    fn expand_iri(&self, value: &str) -> String {
        if let Some((prefix, suffix)) = value.split_once(':') {
            if !suffix.starts_with("//") {
                if let Some(base) = self.terms.get(prefix).filter(|b| !b.starts_with('@')) {
                    return format!("{base}{suffix}");
                }
            }
        }
        value.to_string()
    }

    /// The IRI a name in a payload stands for.
    pub fn expand(&self, name: &str) -> String {
        if let Some(iri) = self.terms.get(name) {
            return iri.clone();
        }
        if name.contains(':') {
            return self.expand_iri(name);
        }
        match &self.vocab {
            Some(vocab) => format!("{vocab}{name}"),
            None => name.to_string(),
        }
    }

    /// The shortest name this context has for an IRI (the IRI itself when it has none).
    pub fn compact(&self, iri: &str) -> String {
        let mut best: Option<&String> = None;
        for (term, value) in &self.terms {
            if value == iri
                && best.is_none_or(|b| term.len() < b.len() || (term.len() == b.len() && term < b))
            {
                best = Some(term);
            }
        }
        if let Some(term) = best {
            return term.clone();
        }
        if let Some(rest) = self.vocab.as_deref().and_then(|v| iri.strip_prefix(v)) {
            if !rest.is_empty() && !rest.contains(['/', '#', ':']) && !self.terms.contains_key(rest) {
                return rest.to_string();
            }
        }
        iri.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEFAULT: &str = "https://uri.etsi.org/ngsi-ld/default-context/";

    struct Held(HashMap<String, Value>);

    impl ContextLoader for Held {
        fn load(&self, url: &str) -> Result<Value, ContextError> {
            self.0.get(url).cloned().ok_or_else(|| NoRemoteContexts.load(url).unwrap_err())
        }
    }

    #[test]
    fn without_a_context_names_fall_in_the_default_vocabulary() {
        let core = ActiveContext::core();
        assert_eq!(core.expand("temperature"), format!("{DEFAULT}temperature"));
        assert_eq!(core.expand("location"), "https://uri.etsi.org/ngsi-ld/location");
        assert_eq!(core.expand("observedAt"), "https://uri.etsi.org/ngsi-ld/observedAt");
        assert_eq!(core.compact(&format!("{DEFAULT}temperature")), "temperature");
        assert_eq!(core.compact("https://uri.etsi.org/ngsi-ld/location"), "location");
        assert_eq!(core.compact("https://example.org/x"), "https://example.org/x");
    }

    #[test]
    fn a_callers_context_names_its_own_iris_and_compacts_back() {
        let local = json!([
            {"sdm": "https://smartdatamodels.org/", "temperature": "sdm:temperature",
             "tenTram": {"@id": "https://haidang.example/vocab#tenTram", "@type": "@vocab"}},
            "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
        ]);
        let ctx = ActiveContext::for_request(Some(&local), &NoRemoteContexts).unwrap();
        assert_eq!(ctx.expand("temperature"), "https://smartdatamodels.org/temperature");
        assert_eq!(ctx.expand("sdm:dateObserved"), "https://smartdatamodels.org/dateObserved");
        assert_eq!(ctx.expand("tenTram"), "https://haidang.example/vocab#tenTram");
        assert_eq!(ctx.compact("https://smartdatamodels.org/temperature"), "temperature");
        // Someone else's context sees the IRI, or its own name for it.
        assert_eq!(
            ActiveContext::core().compact("https://smartdatamodels.org/temperature"),
            "https://smartdatamodels.org/temperature"
        );
    }

    #[test]
    fn the_core_context_wins_over_a_redefinition() {
        let local = json!({"location": "https://example.org/myLocation"});
        let ctx = ActiveContext::for_request(Some(&local), &NoRemoteContexts).unwrap();
        assert_eq!(ctx.expand("location"), "https://uri.etsi.org/ngsi-ld/location");
    }

    #[test]
    fn remote_contexts_come_from_the_loader_or_are_not_available() {
        let held = Held(HashMap::from([
            (
                "https://haidang.example/ctx.jsonld".to_string(),
                json!({"@context": ["https://haidang.example/inner.jsonld"]}),
            ),
            (
                "https://haidang.example/inner.jsonld".to_string(),
                json!({"@context": {"mucNuoc": "https://haidang.example/v#mucNuoc"}}),
            ),
        ]));
        let ctx =
            ActiveContext::for_request(Some(&json!("https://haidang.example/ctx.jsonld")), &held).unwrap();
        assert_eq!(ctx.expand("mucNuoc"), "https://haidang.example/v#mucNuoc");
        let err = ActiveContext::for_request(Some(&json!("https://elsewhere.example/c.jsonld")), &held)
            .unwrap_err();
        assert!(
            matches!(err, ContextError::NotAvailable { ref url, .. } if url == "https://elsewhere.example/c.jsonld"),
            "{err}"
        );
        let looped = Held(HashMap::from([(
            "https://a.example/c".to_string(),
            json!({"@context": "https://a.example/c"}),
        )]));
        assert!(matches!(
            ActiveContext::for_request(Some(&json!("https://a.example/c")), &looped),
            Err(ContextError::Invalid(_))
        ));
        assert!(matches!(ActiveContext::for_request(Some(&json!(5)), &held), Err(ContextError::Invalid(_))));
    }
}
