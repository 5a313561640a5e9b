//! Notifications to `mqtt://` endpoints (NGSI-LD's MQTT binding): one connection per broker and
//! account, the notification published on the endpoint's topic as `{"metadata": {..},
//! "body": {..}}`, at QoS 1 by default, and counted as sent once the broker has acknowledged it.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use async_trait::async_trait;
use haidang_core::hub::subscriptions::{MqttTarget, NotificationTransport, Outgoing, Target};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::Broker;

struct Request {
    topic: String,
    qos: QoS,
    payload: Vec<u8>,
    reply: oneshot::Sender<Result<(), String>>,
}

/// A connection closes after this long without a notification to send.
const IDLE: Duration = Duration::from_secs(600);

pub struct MqttNotifier {
    brokers: Mutex<HashMap<String, mpsc::Sender<Request>>>,
    /// Brokers on this machine or its link are allowed (`hub.notification_local_endpoints`).
    allow_local: bool,
}

impl MqttNotifier {
    pub fn new(allow_local: bool) -> MqttNotifier {
        MqttNotifier { brokers: Mutex::new(HashMap::new()), allow_local }
    }

    /// Refuses a broker whose name resolves to this machine or its link, unless allowed.
    async fn check_host(&self, target: &MqttTarget) -> Result<(), String> {
        if self.allow_local {
            return Ok(());
        }
        let found = tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", target.host))?;
        let local = found.into_iter().any(|a| haidang_core::hub::subscriptions::model::is_local_ip(&a.ip()));
        if local {
            return Err(format!("{} resolves to this server's own machine or link", target.host));
        }
        Ok(())
    }

    async fn connection(&self, target: &MqttTarget) -> mpsc::Sender<Request> {
        let key = target.broker_key();
        let mut brokers = self.brokers.lock().await;
        if let Some(tx) = brokers.get(&key).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(256);
        let broker = Broker {
            host: target.host.clone(),
            port: target.port,
            tls: target.tls,
            username: target.username.clone(),
            password: target.password.clone(),
        };
        tokio::spawn(serve(broker, rx));
        brokers.insert(key, tx.clone());
        tx
    }
}

/// The message the MQTT binding sends: the HTTP headers a POST would carry, and the body.
fn message(out: &Outgoing) -> Vec<u8> {
    let mut metadata = Map::new();
    metadata.insert("Content-Type".into(), Value::String(out.content_type.into()));
    if let Some(link) = &out.link {
        metadata.insert("Link".into(), Value::String(link.clone()));
    }
    for (k, v) in &out.endpoint.receiver_info {
        metadata.insert(k.clone(), Value::String(v.clone()));
    }
    let body: Value = serde_json::from_slice(&out.body).unwrap_or(Value::Null);
    serde_json::json!({ "metadata": metadata, "body": body }).to_string().into_bytes()
}

#[async_trait]
impl NotificationTransport for MqttNotifier {
    async fn send(&self, out: &Outgoing) -> Result<(), String> {
        let Target::Mqtt(target) = &out.endpoint.target else {
            return Err("not an MQTT endpoint".into());
        };
        self.check_host(target).await?;
        let qos = if target.qos == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce };
        let (reply, answer) = oneshot::channel();
        let request = Request { topic: target.topic.clone(), qos, payload: message(out), reply };
        self.connection(target)
            .await
            .send(request)
            .await
            .map_err(|_| "the MQTT connection has closed".to_string())?;
        answer.await.map_err(|_| "the MQTT connection closed before the broker took it".to_string())?
    }
}

fn options(broker: &Broker) -> MqttOptions {
    let id = format!("haidang-notify-{}", std::process::id());
    let mut m = MqttOptions::new(format!("{id}-{}", next_id()), broker.host.clone(), broker.port);
    m.set_keep_alive(Duration::from_secs(30));
    m.set_clean_session(true);
    m.set_transport(broker.transport());
    if let Some(user) = &broker.username {
        m.set_credentials(user.clone(), broker.password.clone().unwrap_or_default());
    }
    m
}

fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One broker's connection. Replies wait for the broker: QoS 0 when the message is written,
/// QoS 1 at its PUBACK. When the connection fails every waiting reply fails (the delivery
/// retries them) and the connection ends; the next notification makes a fresh one, so nothing
/// is sent twice behind the delivery's back and a broker nobody writes to is not kept. A
/// connection also ends after `IDLE` without a notification.
async fn serve(broker: Broker, mut requests: mpsc::Receiver<Request>) {
    let (client, mut eventloop) = AsyncClient::new(options(&broker), 256);
    let (events_tx, mut events) = mpsc::channel(256);
    let wire = tokio::spawn(async move {
        loop {
            let e = eventloop.poll().await;
            let failed = e.is_err();
            if events_tx.send(e).await.is_err() || failed {
                return;
            }
        }
    });
    let mut unsent: VecDeque<(QoS, oneshot::Sender<Result<(), String>>)> = VecDeque::new();
    let mut unacked: HashMap<u16, oneshot::Sender<Result<(), String>>> = HashMap::new();
    let mut idle_since = tokio::time::Instant::now();
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(r) = request else { break };
                idle_since = tokio::time::Instant::now();
                match client.try_publish(r.topic, r.qos, false, r.payload) {
                    Ok(()) => unsent.push_back((r.qos, r.reply)),
                    Err(e) => { let _ = r.reply.send(Err(format!("cannot publish: {e}"))); }
                }
            }
            event = events.recv() => match event {
                Some(Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid)))) => {
                    if let Some((qos, reply)) = unsent.pop_front() {
                        if qos == QoS::AtMostOnce {
                            let _ = reply.send(Ok(()));
                        } else {
                            unacked.insert(pkid, reply);
                        }
                    }
                }
                Some(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                    if let Some(reply) = unacked.remove(&ack.pkid) {
                        let _ = reply.send(Ok(()));
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let why = format!("MQTT broker {}: {e}", broker.shown());
                    for (_, reply) in unsent.drain(..) {
                        let _ = reply.send(Err(why.clone()));
                    }
                    for (_, reply) in unacked.drain() {
                        let _ = reply.send(Err(why.clone()));
                    }
                    break;
                }
                None => break,
            },
            _ = tokio::time::sleep_until(idle_since + IDLE), if unsent.is_empty() && unacked.is_empty() => {
                let _ = client.try_disconnect();
                break;
            }
        }
    }
    wire.abort();
}
