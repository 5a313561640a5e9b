//! MQTT: a connector that takes readings from a broker (MQTT 5, QoS 1, a persistent session,
//! each message acknowledged only after its reading is committed), and the publisher that
//! sends notifications to `mqtt://` endpoints (MQTT 3.1.1).

pub mod ingest;
pub mod notify;

use std::time::Duration;

pub use ingest::{run_ingest, IngestOptions};
pub use notify::MqttNotifier;

/// A broker: `mqtt[s]://[user[:password]@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Broker {
    pub fn parse(text: &str) -> Result<Broker, String> {
        let u = haidang_core::hub::mqtt_url::parse(text)?;
        Ok(Broker { host: u.host, port: u.port, tls: u.tls, username: u.username, password: u.password })
    }

    /// The URL with its password hidden, for logs and the console.
    pub fn hide(text: &str) -> String {
        haidang_core::hub::mqtt_url::hide(text)
    }

    pub fn shown(&self) -> String {
        let user = self.username.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
        format!("{}://{user}{}:{}", if self.tls { "mqtts" } else { "mqtt" }, self.host, self.port)
    }

    fn transport(&self) -> rumqttc::Transport {
        if self.tls {
            rumqttc::Transport::tls_with_default_config()
        } else {
            rumqttc::Transport::Tcp
        }
    }
}

/// Waits after a failed connection: 1 s, doubling up to 30 s.
pub(crate) fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_url_gives_its_parts_and_hides_its_password() {
        let b = Broker::parse("mqtts://iot:s%40cret@mqtt.laichau.gov.vn").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.tls), ("mqtt.laichau.gov.vn", 8883, true));
        assert_eq!((b.username.as_deref(), b.password.as_deref()), (Some("iot"), Some("s@cret")));
        assert_eq!(b.shown(), "mqtts://iot@mqtt.laichau.gov.vn:8883");
        assert!(!Broker::hide("mqtt://iot:secret@h:1883").contains("secret"));
        assert_eq!(Broker::parse("mqtt://127.0.0.1").unwrap().port, 1883);
        assert!(Broker::parse("http://h").is_err());
        assert!(Broker::parse("nonsense").is_err());
    }
}
