//! The JSON-LD contexts the server holds: the core context (embedded), contexts added through
//! `/jsonldContexts` (hosted), contexts given by configuration, and contexts fetched from hosts the
//! configuration allows (cached). A context URL the server neither holds nor may fetch is
//! LdContextNotAvailable: the hub never reaches out to an arbitrary address.
//!
//! Building an active context is cached by the request's context text, so the usual request (the
//! same Link header every time) costs a hash lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use async_trait::async_trait;
use serde_json::Value;

use super::context::{is_core_url, ActiveContext, ContextError, ContextLoader, CORE_CONTEXT_V1_9};
use super::error::{ErrorType, HubError, HubResult};

/// The path under which hosted contexts are served; a URL ending in it with a held id resolves
/// whatever host name the client used for this server.
pub const HOSTED_PATH: &str = "/ngsi-ld/v1/jsonldContexts/";

const CACHE_LIMIT: usize = 512;
/// Inline contexts longer than this are built for their request but not kept.
const CACHE_TEXT_LIMIT: usize = 64 * 1024;
/// Contexts fetched and kept, at most: an allowed host cannot fill the server with them.
const MAX_CACHED: usize = 256;
/// Fetches per request: a context that nests more remote ones than this is refused.
const MAX_FETCHES: usize = 8;

/// Fetches a context document from the network (the server implements it with an HTTP client).
#[async_trait]
pub trait ContextFetcher: Send + Sync {
    async fn fetch(&self, url: &str) -> Result<Value, String>;
}

/// For tools and tests that must never fetch.
pub struct NoFetch;

#[async_trait]
impl ContextFetcher for NoFetch {
    async fn fetch(&self, url: &str) -> Result<Value, String> {
        Err(format!("{url}: fetching contexts is not configured"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HeldContext {
    pub id: String,
    pub url: String,
    /// "Hosted", "Cached" or "Configured".
    pub kind: &'static str,
    pub document: Arc<Value>,
    pub created_at: jiff::Timestamp,
}

pub struct Contexts {
    by_url: RwLock<HashMap<String, HeldContext>>,
    allowed_hosts: Vec<String>,
    fetcher: Arc<dyn ContextFetcher>,
    built: Mutex<HashMap<String, Arc<ActiveContext>>>,
}

struct Snapshot<'a>(&'a HashMap<String, HeldContext>);

impl ContextLoader for Snapshot<'_> {
    fn load(&self, url: &str) -> Result<Value, ContextError> {
        lookup(self.0, url).map(|h| (*h.document).clone()).ok_or_else(|| ContextError::NotAvailable {
            url: url.to_string(),
            reason: "not held by this server".into(),
        })
    }
}

fn lookup<'a>(held: &'a HashMap<String, HeldContext>, url: &str) -> Option<&'a HeldContext> {
    if let Some(h) = held.get(url) {
        return Some(h);
    }
    let id = url.rsplit_once(HOSTED_PATH).map(|(_, id)| id)?;
    held.values().find(|h| h.kind == "Hosted" && h.id == id)
}

/// The host (and port) of an http(s) URL.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())
}

pub fn core_arc() -> Arc<ActiveContext> {
    static CORE: OnceLock<Arc<ActiveContext>> = OnceLock::new();
    CORE.get_or_init(|| Arc::new(ActiveContext::core().clone())).clone()
}

impl Contexts {
    pub fn new(allowed_hosts: Vec<String>, fetcher: Arc<dyn ContextFetcher>) -> Contexts {
        Contexts { by_url: RwLock::default(), allowed_hosts, fetcher, built: Mutex::default() }
    }

    fn held(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, HeldContext>> {
        self.by_url.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn hold(&self, context: HeldContext) {
        let mut held = self.by_url.write().unwrap_or_else(|p| p.into_inner());
        held.insert(context.url.clone(), context);
        self.built.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn forget(&self, id: &str) -> Option<HeldContext> {
        let mut held = self.by_url.write().unwrap_or_else(|p| p.into_inner());
        let url = held.values().find(|h| h.id == id).map(|h| h.url.clone())?;
        self.built.lock().unwrap_or_else(|p| p.into_inner()).clear();
        held.remove(&url)
    }

    pub fn list(&self) -> Vec<HeldContext> {
        let mut out: Vec<HeldContext> = self.held().values().cloned().collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.url.cmp(&b.url)));
        out
    }

    pub fn get(&self, id: &str) -> Option<HeldContext> {
        self.held().values().find(|h| h.id == id).cloned()
    }

    /// The core context document (answered for its v1.6-v1.9 URLs).
    pub fn core_document() -> &'static str {
        CORE_CONTEXT_V1_9
    }

    /// The active context for a request's @context (None: the core context alone). Contexts it
    /// names that are not held are fetched when their host is allowed, and returned in `fetched`
    /// for the caller to keep.
    pub async fn active(&self, local: Option<&Value>) -> HubResult<(Arc<ActiveContext>, Vec<HeldContext>)> {
        let Some(local) = local else { return Ok((core_arc(), Vec::new())) };
        if local.as_str().is_some_and(is_core_url) {
            return Ok((core_arc(), Vec::new()));
        }
        let key = local.to_string();
        if let Some(ctx) = self.built.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok((ctx.clone(), Vec::new()));
        }
        let mut fetched = Vec::new();
        for _ in 0..=MAX_FETCHES {
            let attempt = {
                let held = self.held();
                ActiveContext::for_request(Some(local), &Snapshot(&held))
            };
            match attempt {
                Ok(ctx) => {
                    let ctx = Arc::new(ctx);
                    if key.len() <= CACHE_TEXT_LIMIT {
                        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
                        if built.len() >= CACHE_LIMIT {
                            built.clear();
                        }
                        built.insert(key, ctx.clone());
                    }
                    return Ok((ctx, fetched));
                }
                Err(ContextError::NotAvailable { url, reason }) => {
                    let doc = self.fetch_allowed(&url).await.map_err(|why| {
                        HubError::new(
                            ErrorType::LdContextNotAvailable,
                            format!("@context {url} is not available: {reason}; {why}"),
                        )
                    })?;
                    let held = HeldContext {
                        id: uuid::Uuid::new_v4().simple().to_string(),
                        url: url.clone(),
                        kind: "Cached",
                        document: Arc::new(doc),
                        created_at: crate::time::now(),
                    };
                    self.hold(held.clone());
                    fetched.push(held);
                }
                Err(ContextError::Invalid(m)) => {
                    return Err(HubError::bad_data(format!("invalid @context: {m}")))
                }
            }
        }
        Err(HubError::bad_data(format!("@context nests more than {MAX_FETCHES} remote contexts")))
    }

    async fn fetch_allowed(&self, url: &str) -> Result<Value, String> {
        let host = host_of(url).ok_or_else(|| "only http(s) URLs can be fetched".to_string())?;
        if url.contains(['?', '#']) {
            return Err("a context URL with a query or fragment is not fetched".into());
        }
        let cached = self.held().values().filter(|h| h.kind == "Cached").count();
        if cached >= MAX_CACHED {
            return Err(format!("the server already keeps {MAX_CACHED} fetched contexts"));
        }
        if !self.allowed_hosts.iter().any(|h| h == host) {
            return Err(format!("the host {host} is not in hub.context_hosts"));
        }
        let doc = self.fetcher.fetch(url).await?;
        if doc.get("@context").is_none() {
            return Err("the document has no @context".into());
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Serve(Value);

    #[async_trait]
    impl ContextFetcher for Serve {
        async fn fetch(&self, _url: &str) -> Result<Value, String> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn a_context_is_fetched_only_from_allowed_hosts() {
        let doc = json!({"@context": {"nhietDo": "https://so-tnmt.laichau.gov.vn/ns/temperature"}});
        let allowed = Contexts::new(vec!["127.0.0.1:9".into()], Arc::new(Serve(doc.clone())));
        let (ctx, fetched) = allowed.active(Some(&json!("http://127.0.0.1:9/ctx.jsonld"))).await.unwrap();
        assert_eq!(ctx.expand("nhietDo"), "https://so-tnmt.laichau.gov.vn/ns/temperature");
        assert_eq!(fetched.len(), 1);
        let denied = Contexts::new(vec![], Arc::new(Serve(doc)));
        let e = denied.active(Some(&json!("http://evil.example/ctx.jsonld"))).await.unwrap_err();
        assert_eq!(e.kind, ErrorType::LdContextNotAvailable);
        assert!(e.detail.contains("evil.example"), "{e}");
    }

    #[tokio::test]
    async fn a_hosted_context_resolves_by_its_path_on_any_host_name() {
        let contexts = Contexts::new(vec![], Arc::new(NoFetch));
        contexts.hold(HeldContext {
            id: "abc".into(),
            url: "http://localhost:8080/ngsi-ld/v1/jsonldContexts/abc".into(),
            kind: "Hosted",
            document: Arc::new(json!({"@context": {"mucNuoc": "https://x/waterLevel"}})),
            created_at: crate::time::now(),
        });
        let (ctx, _) = contexts
            .active(Some(&json!("https://ioc.laichau.gov.vn/ngsi-ld/v1/jsonldContexts/abc")))
            .await
            .unwrap();
        assert_eq!(ctx.expand("mucNuoc"), "https://x/waterLevel");
    }
}
