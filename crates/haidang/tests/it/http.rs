//! HTTP behaviour every client relies on: problem+json errors, body limits, request ids, health,
//! metrics, the OpenAPI document, and a graceful shutdown that loses nothing acknowledged.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{backends, problem_code, Backend, TestApp, TestStore};

/// Every `/api/v1` route the server has. Adding a route means adding it here, and the test below
/// checks that the OpenAPI document carries exactly these and that each one answers.
const API_ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/totp/enrol"),
    ("post", "/api/v1/auth/totp/confirm"),
    ("get", "/api/v1/orgs"),
    ("post", "/api/v1/orgs"),
    ("get", "/api/v1/orgs/{code}"),
    ("get", "/api/v1/units"),
    ("get", "/api/v1/units/geojson"),
    ("get", "/api/v1/units/lookup"),
    ("post", "/api/v1/units/import"),
    ("get", "/api/v1/units/{code}"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/unused"),
    ("get", "/api/v1/users/{id}"),
    ("post", "/api/v1/users/{id}/lock"),
    ("post", "/api/v1/users/{id}/unlock"),
    ("post", "/api/v1/users/{id}/revoke"),
    ("post", "/api/v1/users/{id}/password"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("post", "/api/v1/tokens/{id}/revoke"),
    ("get", "/api/v1/delegations"),
    ("post", "/api/v1/delegations"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/hub/schemas"),
    ("get", "/api/v1/hub/schemas/{type}"),
    ("put", "/api/v1/hub/schemas/{type}"),
    ("delete", "/api/v1/hub/schemas/{type}"),
    ("get", "/api/v1/hub/connectors"),
    ("get", "/api/v1/hub/dead-letters"),
    ("get", "/api/v1/hub/places"),
    ("get", "/api/v1/datasets"),
    ("post", "/api/v1/datasets"),
    ("get", "/api/v1/datasets/{id}"),
    ("put", "/api/v1/datasets/{id}"),
    ("post", "/api/v1/datasets/{id}/approve"),
    ("post", "/api/v1/datasets/{id}/retire"),
    ("get", "/api/v1/datasets/{id}/grants"),
    ("post", "/api/v1/datasets/{id}/grants"),
    ("post", "/api/v1/grants/{id}/revoke"),
    ("get", "/api/v1/datasets/{id}/maintenance"),
    ("post", "/api/v1/datasets/{id}/maintenance"),
    ("get", "/api/v1/datasets/{id}/quality"),
    ("get", "/api/v1/quality/organisations"),
    ("get", "/api/v1/quality/overdue"),
    ("get", "/api/v1/datasets/{id}/submissions"),
    ("get", "/api/v1/datasets/{id}/form"),
    ("post", "/api/v1/datasets/{id}/form"),
    ("get", "/api/v1/indicators"),
    ("post", "/api/v1/indicators"),
    ("get", "/api/v1/indicators/targets"),
    ("put", "/api/v1/indicators/targets"),
    ("get", "/api/v1/indicators/overview"),
    ("get", "/api/v1/indicators/query"),
    ("get", "/api/v1/indicators/values"),
    ("post", "/api/v1/indicators/values"),
    ("post", "/api/v1/indicators/values/review"),
    ("post", "/api/v1/indicators/history"),
    ("get", "/api/v1/indicators/values/revisions"),
    ("get", "/api/v1/indicators/form"),
    ("post", "/api/v1/indicators/form"),
    ("get", "/api/v1/indicators/export"),
    ("get", "/api/v1/indicators/owed"),
    ("get", "/api/v1/indicators/{code}"),
    ("post", "/api/v1/indicators/{code}/versions"),
    ("post", "/api/v1/indicators/{code}/retire"),
    ("get", "/api/v1/indicators/{code}/evaluation"),
    ("get", "/api/v1/data-requests"),
    ("post", "/api/v1/data-requests"),
    ("get", "/api/v1/data-requests/{id}"),
    ("post", "/api/v1/data-requests/{id}/messages"),
    ("get", "/api/v1/reports"),
    ("post", "/api/v1/reports"),
    ("get", "/api/v1/reports/overdue"),
    ("get", "/api/v1/reports/{id}"),
    ("post", "/api/v1/reports/{id}/steps"),
    ("get", "/api/v1/reports/{id}/contact"),
    ("get", "/api/v1/reports/{id}/duplicates"),
    ("get", "/api/v1/report-categories"),
    ("put", "/api/v1/report-categories"),
    ("get", "/api/v1/report-routes"),
    ("put", "/api/v1/report-routes"),
    ("get", "/api/v1/calendar/{year}"),
    ("put", "/api/v1/calendar/{year}"),
    ("delete", "/api/v1/calendar/{year}"),
    ("get", "/api/v1/public/reports"),
    ("post", "/api/v1/public/reports"),
    ("post", "/api/v1/public/track"),
    ("post", "/api/v1/public/track/steps"),
    ("post", "/api/v1/public/media"),
    ("get", "/api/v1/reports/statistics"),
    ("get", "/api/v1/public/statistics"),
    ("get", "/api/v1/public/media/{id}"),
    ("post", "/api/v1/reports/{id}/media"),
    ("get", "/api/v1/reports/{id}/media/{media}"),
    ("post", "/api/v1/reports/{id}/media/{media}/redact"),
    ("get", "/api/v1/alert-rules"),
    ("post", "/api/v1/alert-rules"),
    ("get", "/api/v1/alert-rules/{id}"),
    ("put", "/api/v1/alert-rules/{id}"),
    ("delete", "/api/v1/alert-rules/{id}"),
    ("get", "/api/v1/alerts"),
    ("get", "/api/v1/alerts/{id}"),
    ("post", "/api/v1/alerts/{id}/steps"),
    ("get", "/api/v1/live"),
    ("get", "/api/v1/playbooks"),
    ("post", "/api/v1/playbooks"),
    ("put", "/api/v1/playbooks/{id}"),
    ("get", "/api/v1/incidents"),
    ("post", "/api/v1/incidents"),
    ("get", "/api/v1/incidents/{id}"),
    ("post", "/api/v1/incidents/{id}/actions"),
    ("get", "/api/v1/incidents/{id}/situation"),
    ("get", "/api/v1/measures/response"),
    ("get", "/api/v1/handovers"),
    ("post", "/api/v1/handovers"),
    ("post", "/api/v1/handovers/{id}/acknowledge"),
    ("get", "/api/v1/tasks"),
    ("post", "/api/v1/tasks/{id}/steps"),
    ("get", "/api/v1/warnings"),
    ("post", "/api/v1/warnings"),
    ("get", "/api/v1/public/warnings"),
    ("get", "/api/v1/warnings/{id}"),
    ("put", "/api/v1/warnings/{id}"),
    ("post", "/api/v1/warnings/{id}/steps"),
];

#[tokio::test]
async fn openapi_lists_every_api_route_and_every_route_answers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1: {}", doc["openapi"]);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let expected: BTreeSet<(String, String)> =
        API_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, expected, "the OpenAPI document and the route list differ");

    // Every path literal under /api/v1 in the server's source is documented, so a route added
    // outside the OpenAPI router (which would be missing from the document) fails here.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../haidang-server/src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for literal in text.split('"').skip(1).step_by(2).filter(|l| l.starts_with("/api/v1/")) {
                    let route = literal.split('?').next().unwrap();
                    let known = expected.iter().any(|(_, p)| p == route)
                        || expected
                            .iter()
                            .any(|(_, p)| route.starts_with(p.as_str()) && route.ends_with('/'));
                    assert!(
                        known || !looks_like_a_route(route),
                        "{} names {route}, which is not documented",
                        path.display()
                    );
                }
            }
        }
    }

    // Each route is live: without a session it answers 401 (or 422 for a bad login), never 404/405.
    let c = reqwest::Client::new();
    for (method, path) in API_ROUTES {
        let url =
            app.url(&path.replace("{id}", "x").replace("{code}", "12").replace("{type}", "Streetlight"));
        let res = match *method {
            "get" => c.get(url).send().await.unwrap(),
            "put" => c.put(url).json(&json!({})).send().await.unwrap(),
            "delete" => c.delete(url).send().await.unwrap(),
            _ => c.post(url).json(&json!({})).send().await.unwrap(),
        };
        let status = res.status().as_u16();
        if (*method, *path) == ("get", "/api/v1/public/media/{id}") {
            // Public, and there is no photo "x": the handler's own 404 names what was not found.
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                (status, body["detail"].as_str().unwrap_or_default().ends_with("media")),
                (404, true),
                "{body}"
            );
            continue;
        }
        if (*method, *path) == ("post", "/api/v1/public/media") {
            // Public: an empty body is no photo.
            assert_eq!(status, 415, "{method} {path}");
            continue;
        }
        assert!(status != 404 && status != 405, "{method} {path} answered {status}");
        // The public side of citizen reports answers without a session.
        if PUBLIC_ROUTES.contains(&(*method, *path)) {
            assert_eq!(status, 200, "{method} {path} is public");
            continue;
        }
        assert!(
            res.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"),
            "{method} {path}: errors are problem+json"
        );
    }
    app.stop().await;
}

/// Read without signing in (citizens, the portal, other systems).
const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/report-categories"),
    ("get", "/api/v1/public/reports"),
    ("get", "/api/v1/public/statistics"),
    ("get", "/api/v1/public/warnings"),
];

/// A literal such as "/api/v1/users/" used to build links is not a route itself.
fn looks_like_a_route(literal: &str) -> bool {
    !literal.ends_with('/') && !literal.contains("{}")
}

#[tokio::test]
async fn errors_are_problem_json_with_a_request_id_and_large_bodies_get_413() {
    for backend in backends() {
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        config.server.body_limit_bytes = 4096;
        let app = TestApp::spawn_config(store, config, true).await;
        let admin = app.signed_in("admin").await;
        let orgs_before =
            admin.get(app.url("/api/v1/orgs")).send().await.unwrap().json::<Value>().await.unwrap();

        let big = json!({"code": "qua-lon", "kind": "department", "name_vi": "x".repeat(8000), "sectors": ["general"]});
        let res = admin.post(app.url("/api/v1/orgs")).json(&big).send().await.unwrap();
        assert!(res.headers().contains_key("x-request-id"));
        let (status, code, _) = problem_code(res).await;
        assert_eq!((status, code.as_str()), (413, "body_too_large"));
        let orgs_after =
            admin.get(app.url("/api/v1/orgs")).send().await.unwrap().json::<Value>().await.unwrap();
        assert_eq!(orgs_before, orgs_after, "nothing written");

        // Malformed JSON and unknown routes: problem+json naming the problem.
        let res = admin
            .post(app.url("/api/v1/orgs"))
            .header("content-type", "application/json")
            .body("{\"code\": ")
            .send()
            .await
            .unwrap();
        let (status, code, _) = problem_code(res).await;
        assert_eq!((status, code.as_str()), (400, "invalid_json"));
        let (status, code, _) =
            problem_code(admin.get(app.url("/api/v1/no-such-thing")).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (404, "not_found"));

        // A client's request id is echoed; otherwise the server makes one, different each time.
        let res = reqwest::Client::new()
            .get(app.url("/healthz"))
            .header("x-request-id", "ca-dem-42")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-request-id"], "ca-dem-42");
        let a = reqwest::get(app.url("/login")).await.unwrap().headers()["x-request-id"].clone();
        let b = reqwest::get(app.url("/login")).await.unwrap().headers()["x-request-id"].clone();
        assert_ne!(a, b);
        app.stop().await;
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), 200);
    app.signed_in("operator").await;
    let metrics = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("haidang_http_requests_total"), "{metrics}");
    assert!(metrics.contains("/api/v1/auth/login"), "requests are counted by route");
    // The database gone: not ready, though still alive.
    app.state.store.close().await;
    assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), 503);
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight_and_keeps_it() {
    for backend in backends() {
        let mut app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let issued: Value = admin
            .post(app.url("/api/v1/tokens"))
            .json(&json!({"user": "admin", "scopes": ["read", "write"], "expires_in": "1h"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = issued["secret"].as_str().unwrap();
        let body = json!({"code": "cuu-ho", "kind": "other", "name_vi": "Đội cứu hộ cứu nạn", "sectors": ["disaster"]}).to_string();
        let body = body.as_bytes();
        let addr = app.base.trim_start_matches("http://").to_string();
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/v1/orgs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&body[..10]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // SIGTERM arrives while the request is half sent.
        app.begin_shutdown();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        conn.write_all(&body[10..]).await.unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "the request in flight finishes: {response}");
        let store = app.stop().await;
        // Acknowledged means kept: open the store again and find it.
        let state = haidang::setup::build_state(store.config()).await.unwrap();
        let orgs = state.orgs.list(&haidang_core::accounts::Subject::cli()).await.unwrap();
        assert!(orgs.iter().any(|o| o.code == "cuu-ho"), "{backend:?}");
        state.store.close().await;
    }
}

#[tokio::test]
async fn tls_with_rustls_and_ring_and_secure_cookies() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let store = TestStore::new(Backend::Sqlite).await;
    let cert_file = store.dir.0.join("cert.pem");
    let key_file = store.dir.0.join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).unwrap();
    let mut config = store.config();
    config.server.tls_cert = cert_file.display().to_string();
    config.server.tls_key = key_file.display().to_string();
    let app = TestApp::spawn_config(store, config, true).await;
    let port = app.base.rsplit(':').next().unwrap().to_string();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let c = reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap();
    let base = format!("https://localhost:{port}");
    assert_eq!(c.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    let res = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "operator", "password": app.passwords["operator"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets nowhere.
    assert!(reqwest::get(format!("http://localhost:{port}/healthz"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true));
    app.stop().await;
}

/// No OpenSSL and no aws-lc anywhere in the build: rustls with ring only.
#[test]
fn the_build_has_no_openssl_and_no_aws_lc() {
    let lock =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"))
            .unwrap();
    for banned in ["openssl-sys", "openssl", "native-tls", "aws-lc-rs", "aws-lc-sys"] {
        assert!(!lock.contains(&format!("name = \"{banned}\"")), "{banned} is in Cargo.lock");
    }
    assert!(lock.contains("name = \"ring\""));
}
