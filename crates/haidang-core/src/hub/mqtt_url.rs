//! MQTT URLs, `mqtt[s]://[user[:password]@]host[:port][/topic]`, as connectors (a broker) and
//! subscriptions (a broker and a topic) name them; and hiding the password of any URL.

/// The parts of an MQTT URL, user and password percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttUrl {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The path without its leading '/' (a notification's topic); empty when there is none.
    pub topic: String,
    pub has_query: bool,
    pub has_fragment: bool,
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Reads an MQTT URL; the error says what is wrong (and never shows the password).
pub fn parse(text: &str) -> Result<MqttUrl, String> {
    let url = url::Url::parse(text).map_err(|e| format!("'{}' is not a URL: {e}", hide(text)))?;
    let tls = match url.scheme() {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" => true,
        other => return Err(format!("the scheme '{other}' is not mqtt or mqtts")),
    };
    let host =
        url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("'{}' has no host", hide(text)))?;
    Ok(MqttUrl {
        host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
        port: url.port().unwrap_or(if tls { 8883 } else { 1883 }),
        tls,
        username: Some(url.username()).filter(|u| !u.is_empty()).map(decode),
        password: url.password().map(decode),
        topic: url.path().trim_start_matches('/').to_string(),
        has_query: url.query().is_some(),
        has_fragment: url.fragment().is_some(),
    })
}

/// `mqtt://user:secret@host/t` → `mqtt://user:***@host/t`, for logs, errors and the API. A text
/// that does not parse as a URL has whatever sits between "://" and "@" hidden.
pub fn hide(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => text.to_string(),
        Err(_) => match (text.find("://"), text.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://***@{}", &text[..scheme], &text[at + 1..])
            }
            _ => text.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mqtt_url_gives_its_parts_and_never_shows_its_password() {
        let u = parse("mqtts://iot:s%40cret@mqtt.laichau.gov.vn/laichau/canh-bao").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("mqtt.laichau.gov.vn", 8883, true));
        assert_eq!((u.username.as_deref(), u.password.as_deref()), (Some("iot"), Some("s@cret")));
        assert_eq!(u.topic, "laichau/canh-bao");
        assert_eq!(parse("mqtt://127.0.0.1").unwrap().port, 1883);
        assert!(parse("http://h").unwrap_err().contains("scheme"));
        assert!(!hide("mqtt://iot:secret@h:1883/t").contains("secret"));
        assert_eq!(hide("mqtt://iot:se cret@h:bad"), "mqtt://***@h:bad");
        assert!(!parse("mqtt://iot:secret@h:99999").unwrap_err().contains("secret"));
    }
}
