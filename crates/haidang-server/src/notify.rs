//! How notifications leave the server: HTTP POST for http(s) endpoints, and MQTT through the
//! publisher the binary hands in (the connectors crate) for mqtt(s) ones.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::header;
use haidang_core::hub::subscriptions::{NotificationTransport, Outgoing, Target};

pub struct EndpointTransport {
    http: reqwest::Client,
    mqtt: Option<Arc<dyn NotificationTransport>>,
}

/// Resolves endpoint names, leaving out this machine's and its link's addresses unless they are
/// allowed: a name that resolves there (or comes to, after the subscription was made) reaches
/// none of the server's own services.
struct GuardedResolver {
    allow_local: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_local = self.allow_local;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<std::net::SocketAddr> = found
                .into_iter()
                .filter(|a| allow_local || !haidang_core::hub::subscriptions::model::is_local_ip(&a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(format!("{host} resolves only to this server's own machine or link").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

impl EndpointTransport {
    pub fn new(
        timeout: Duration,
        mqtt: Option<Arc<dyn NotificationTransport>>,
        allow_local: bool,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // A receiver that moved must be told so in its subscription, not followed blindly.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_local }))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(EndpointTransport { http, mqtt })
    }
}

/// "connection refused", "operation timed out": the innermost cause, which says what happened.
fn cause(e: &reqwest::Error) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    if e.is_timeout() {
        "the endpoint did not answer in time".into()
    } else {
        format!("cannot reach the endpoint: {inner}")
    }
}

#[async_trait]
impl NotificationTransport for EndpointTransport {
    async fn send(&self, out: &Outgoing) -> Result<(), String> {
        match &out.endpoint.target {
            Target::Http => {
                let mut req = self
                    .http
                    .post(&out.endpoint.uri)
                    .header(header::CONTENT_TYPE, out.content_type)
                    .header("ngsild-notification-id", &out.notification_id)
                    .body(out.body.clone());
                if let Some(link) = &out.link {
                    req = req.header(header::LINK, link);
                }
                for (k, v) in &out.endpoint.receiver_info {
                    req = req.header(k.as_str(), v.as_str());
                }
                let res = req.send().await.map_err(|e| cause(&e))?;
                if res.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("the endpoint answered {}", res.status()))
                }
            }
            Target::Mqtt(_) => match &self.mqtt {
                Some(mqtt) => mqtt.send(out).await,
                None => Err("MQTT notifications are not available in this server".into()),
            },
        }
    }
}
