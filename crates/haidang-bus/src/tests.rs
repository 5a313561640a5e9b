//! Both buses against the same expectations; NATS against the real server when
//! HAIDANG_TEST_NATS_URL names one.

use std::time::Duration;

use haidang_core::events::{DomainEvent, EventBus, EventReceiver};

use crate::{MemoryBus, NatsBus, NatsOptions};

fn event(seq: i64, kind: &str) -> DomainEvent {
    DomainEvent {
        id: format!("audit-{seq}"),
        seq,
        at: jiff::Timestamp::now(),
        kind: kind.into(),
        target: Some(format!("muc-tieu-{seq}")),
        actor: Some("admin".into()),
        org_id: None,
        detail: "tên: Sở Y tế".into(),
    }
}

async fn next(rx: &mut EventReceiver) -> DomainEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("open")
}

/// Two subscribers each get every event published after they subscribed, in order.
async fn fan_out_in_order(bus: &dyn EventBus) {
    bus.publish(&event(1, "org.create")).await.unwrap(); // before anyone listens: not delivered
    let mut a = bus.subscribe().await.unwrap();
    let mut b = bus.subscribe().await.unwrap();
    for seq in 2..=51 {
        bus.publish(&event(seq, if seq % 2 == 0 { "user.lock" } else { "org.create" })).await.unwrap();
    }
    for rx in [&mut a, &mut b] {
        for seq in 2..=51 {
            let e = next(rx).await;
            assert_eq!(e.seq, seq, "{} bus", bus.kind());
            assert_eq!(e.detail, "tên: Sở Y tế");
        }
    }
}

#[tokio::test]
async fn memory_bus_fans_out_in_order() {
    fan_out_in_order(&MemoryBus::new()).await;
}

fn require_services() -> bool {
    std::env::var("HAIDANG_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

async fn nats_bus() -> Option<NatsBus> {
    let Some(url) = std::env::var("HAIDANG_TEST_NATS_URL").ok().filter(|u| !u.is_empty()) else {
        assert!(!require_services(), "HAIDANG_TEST_NATS_URL is not set but HAIDANG_TEST_REQUIRE_SERVICES=1");
        eprintln!("skipping: HAIDANG_TEST_NATS_URL is not set");
        return None;
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let options =
        NatsOptions { url, stream: format!("HDTEST_{tag}"), subject_prefix: format!("hdtest.{tag}") };
    Some(NatsBus::connect(options).await.unwrap())
}

#[tokio::test]
async fn nats_bus_fans_out_in_order() {
    let Some(bus) = nats_bus().await else { return };
    fan_out_in_order(&bus).await;
    bus.delete_stream().await.unwrap();
}

#[tokio::test]
async fn nats_drops_a_republished_event() {
    let Some(bus) = nats_bus().await else { return };
    let mut rx = bus.subscribe().await.unwrap();
    // A relay that crashed after publishing but before moving its cursor publishes again.
    bus.publish(&event(7, "user.lock")).await.unwrap();
    bus.publish(&event(7, "user.lock")).await.unwrap();
    bus.publish(&event(8, "user.unlock")).await.unwrap();
    assert_eq!(next(&mut rx).await.seq, 7);
    assert_eq!(next(&mut rx).await.seq, 8, "the repeat of 7 is dropped by its message id");
    bus.delete_stream().await.unwrap();
}

#[tokio::test]
async fn nats_unreachable_is_a_clear_error() {
    let options =
        NatsOptions { url: "nats://127.0.0.1:1".into(), stream: "X".into(), subject_prefix: "x".into() };
    let err = NatsBus::connect(options).await.err().expect("no server on port 1");
    assert!(err.to_string().contains("nats://127.0.0.1:1"), "{err}");
}

#[tokio::test]
async fn the_password_in_a_nats_url_is_never_shown() {
    let options = NatsOptions {
        url: "nats://ioc:bi-mat-123@127.0.0.1:1".into(),
        stream: "X".into(),
        subject_prefix: "x".into(),
    };
    let err = NatsBus::connect(options).await.err().expect("no server on port 1").to_string();
    assert!(!err.contains("bi-mat-123") && err.contains("127.0.0.1:1"), "{err}");
}
