//! Every committed change reaches the event bus, in-process and through NATS JetStream, including
//! changes made while the server was down (the audit trail is the outbox).

use std::time::Duration;

use haidang_core::events::{DomainEvent, EventReceiver};
use serde_json::json;

use crate::harness::{service_url, Backend, TestApp, TestStore};

/// The next event about `target`, skipping others (the demo's own changes, for one).
async fn event_for(rx: &mut EventReceiver, target: &str) -> DomainEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no event about {target} within 15 s"))
            .expect("bus open");
        if e.target.as_deref() == Some(target) {
            return e;
        }
    }
}

async fn create_org(app: &TestApp, code: &str) {
    let res = app
        .signed_in("admin")
        .await
        .post(app.url("/api/v1/orgs"))
        .json(
            &json!({"code": code, "kind": "other", "name_vi": "Đội phản ứng nhanh", "sectors": ["disaster"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn changes_are_published_in_process() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut rx = app.state.bus.subscribe().await.unwrap();
    create_org(&app, "phan-ung-nhanh").await;
    let e = event_for(&mut rx, "phan-ung-nhanh").await;
    assert_eq!((e.kind.as_str(), e.actor.as_deref()), ("org.create", Some("admin")));
    // A lock is a change too; a sign-in is not.
    let admin = app.signed_in("admin").await;
    let res = admin
        .post(app.url("/api/v1/users/officer/lock"))
        .json(&json!({"reason": "kiểm tra", "request_ref": "9/TTGS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let e = event_for(&mut rx, "officer").await;
    assert_eq!(e.kind, "user.lock");
    app.stop().await;
}

#[tokio::test]
async fn changes_reach_nats_jetstream_even_when_made_while_the_server_was_down() {
    let Some(url) = service_url("HAIDANG_TEST_NATS_URL") else { return };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let store = TestStore::new(Backend::Sqlite).await;
    let mut config = store.config();
    config.bus.kind = "nats".into();
    config.bus.nats_url = url.clone();
    config.bus.stream = format!("HDTEST_{tag}");
    config.bus.subject_prefix = format!("hdtest.{tag}");
    // A consumer of its own, as another replica would have.
    let watcher = haidang_bus::NatsBus::connect(haidang_bus::NatsOptions {
        url,
        stream: config.bus.stream.clone(),
        subject_prefix: config.bus.subject_prefix.clone(),
    })
    .await
    .unwrap();
    let mut rx = haidang_core::events::EventBus::subscribe(&watcher).await.unwrap();

    let app = TestApp::spawn_config(store, config.clone(), true).await;
    assert_eq!(app.state.bus.kind(), "nats");
    // The demo's readings, written through the data hub, reach JetStream one event per entity.
    let e = event_for(&mut rx, "urn:ngsi-ld:WeatherObserved:lai-chau-tam-duong").await;
    assert_eq!((e.kind.as_str(), e.actor.as_deref()), ("entity.create", Some("demo-so-nn-mt")));
    assert!(e.detail.contains("Trạm khí tượng Tam Đường"), "{}", e.detail);
    create_org(&app, "doi-cuu-nan").await;
    let e = event_for(&mut rx, "doi-cuu-nan").await;
    assert_eq!(e.kind, "org.create");
    let passwords = app.passwords.clone();
    let store = app.stop().await;

    // While the server is down an operator adds an organisation from the command line.
    let state = haidang::setup::build_state(config.clone()).await.unwrap();
    let cli = haidang_core::accounts::Subject::cli();
    state
        .orgs
        .create(
            &cli,
            haidang_core::orgs::NewOrganisation {
                code: "kho-vat-tu".into(),
                kind: "other".into(),
                name_vi: "Kho vật tư phòng chống thiên tai".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    state.store.close().await;
    // The next start publishes it, once.
    let mut app = TestApp::spawn_config(store, config, false).await;
    app.passwords = passwords;
    let e = event_for(&mut rx, "kho-vat-tu").await;
    assert_eq!((e.kind.as_str(), e.actor.as_deref()), ("org.create", Some("cli")));
    create_org(&app, "sau-khi-khoi-dong").await;
    // Nothing is published twice on the way to the next change.
    loop {
        let next = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.unwrap().unwrap();
        assert_ne!(next.target.as_deref(), Some("kho-vat-tu"), "published twice");
        if next.target.as_deref() == Some("sau-khi-khoi-dong") {
            assert!(next.seq > e.seq);
            break;
        }
    }
    app.stop().await;
    watcher.delete_stream().await.unwrap();
}
