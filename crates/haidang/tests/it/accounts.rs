//! Signing in: passwords, lock-out, first-sign-in password change, TOTP, sessions, roles.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha1::Sha1;

use crate::harness::{backends, problem_code, TestApp};

fn totp_now(secret_b32: &str) -> String {
    let key = haidang_core::accounts::totp::base32_decode(secret_b32).unwrap();
    let step = jiff::Timestamp::now().as_second() / 30;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).unwrap();
    mac.update(&step.to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = (d[19] & 0x0f) as usize;
    let v = u32::from_be_bytes([d[o] & 0x7f, d[o + 1], d[o + 2], d[o + 3]]) % 1_000_000;
    format!("{v:06}")
}

async fn login(app: &TestApp, c: &reqwest::Client, user: &str, password: &str) -> reqwest::Response {
    c.post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_password_does_not_reveal_the_user_and_locks_after_five() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = app.client();
        let (s1, code1, body1) = problem_code(login(&app, &c, "operator", "wrong password!!").await).await;
        let (s2, code2, body2) = problem_code(login(&app, &c, "nobody-here", "wrong password!!").await).await;
        assert_eq!((s1, code1.as_str()), (401, "invalid_credentials"), "{backend:?}");
        assert_eq!((s2, code2.as_str()), (401, "invalid_credentials"));
        assert_eq!(body1["detail"], body2["detail"], "the answer must not reveal whether the user exists");

        for _ in 0..4 {
            login(&app, &c, "operator", "still wrong pass").await;
        }
        let right = app.passwords["operator"].clone();
        let (status, code, body) = problem_code(login(&app, &c, "operator", &right).await).await;
        assert_eq!((status, code.as_str()), (403, "account_locked"), "5 failures lock sign-in: {body}");
        // Unknown usernames lock the same way, so the lock-out reveals nothing either.
        for _ in 0..5 {
            login(&app, &c, "nobody-here", "wrong password!!").await;
        }
        let (status, code, _) = problem_code(login(&app, &c, "nobody-here", "wrong password!!").await).await;
        assert_eq!((status, code.as_str()), (403, "account_locked"));

        // Every attempt is in the audit trail, failed ones too.
        let records = app.state.store.pool().clone();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'failure'",
        )
        .fetch_one(&records)
        .await
        .unwrap();
        assert!(n >= 12, "failed sign-ins are audited, found {n}");
        app.stop().await;
    }
}

#[tokio::test]
async fn session_cookie_is_httponly_strict_and_gives_me() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = app.client();
        let res = login(&app, &c, "leader", &app.passwords["leader"].clone()).await;
        assert_eq!(res.status(), 200);
        let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains("Secure"), "no Secure flag without TLS");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["next"], "home");
        let me: serde_json::Value = crate::harness::get_json(&c, app.url("/api/v1/auth/me")).await;
        assert_eq!(me["username"], "leader");
        assert_eq!(me["role"], "leader");
        // Signing out ends the session.
        let out = c
            .post(app.url("/api/v1/auth/logout"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 204);
        let (status, code, _) = problem_code(c.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (401, "unauthenticated"));
        app.stop().await;
    }
}

#[tokio::test]
async fn idle_session_expires() {
    for backend in backends() {
        let store = crate::harness::TestStore::new(backend).await;
        let mut config = store.config();
        config.auth.idle_timeout_minutes = 1;
        let app = TestApp::spawn_config(store, config, true).await;
        let c = app.signed_in("operator").await;
        assert_eq!(c.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 200);
        // Age the session by moving its last activity back two minutes.
        let two_min_ago = jiff::Timestamp::now().as_microsecond() - 120_000_000;
        sqlx::query("UPDATE sessions SET last_seen_at = $1")
            .bind(two_min_ago)
            .execute(app.state.store.pool())
            .await
            .unwrap();
        let (status, code, _) = problem_code(c.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (401, "unauthenticated"), "an idle session must end");
        app.stop().await;
    }
}

#[tokio::test]
async fn admin_created_accounts_change_password_then_enrol_totp() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        // A supervisor account issued by an administrator.
        let res = admin
            .post(app.url("/api/v1/users"))
            .json(&json!({"username": "giamsat2", "org": "ioc", "role": "supervisor", "password": "Tam-thoi 2026 ca dem",
                          "reason": "bổ sung ca trực", "request_ref": "123/SKHCN-VP"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        // Duplicate username: 409, nothing written.
        let (status, code, _) = problem_code(
            admin
                .post(app.url("/api/v1/users"))
                .json(&json!({"username": "giamsat2", "org": "ioc", "role": "operator", "password": "Another long pass 77",
                              "reason": "bổ sung", "request_ref": "124/SKHCN-VP"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, code.as_str()), (409, "conflict"));
        // Issuing an account needs the written request's reference, like every lifecycle step.
        let (status, _, body) = problem_code(
            admin
                .post(app.url("/api/v1/users"))
                .json(&json!({"username": "khongso", "org": "ioc", "role": "operator", "password": "Another long pass 77",
                              "reason": "bổ sung"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, body["field"].as_str()), (422, Some("request_ref")), "{body}");

        let c = app.client();
        let res = login(&app, &c, "giamsat2", "Tam-thoi 2026 ca dem").await;
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["next"], "change_password");
        // Nothing else works until the password is changed.
        let (status, code, _) = problem_code(c.get(app.url("/api/v1/orgs")).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (403, "password_change_required"));
        // A weak new password is refused with a reason.
        let (status, code, body) = problem_code(
            c.post(app.url("/api/v1/auth/password"))
                .json(&json!({"current_password": "Tam-thoi 2026 ca dem", "new_password": "password1234"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, code.as_str()), (422, "weak_password"), "{body}");
        // The reason is given in the user's language (Vietnamese unless the client asks otherwise).
        assert!(body["detail"].as_str().unwrap().contains("mật khẩu phổ biến"), "{body}");
        let res = c
            .post(app.url("/api/v1/auth/password"))
            .json(&json!({"current_password": "Tam-thoi 2026 ca dem", "new_password": "Đèn biển Lai Châu 2026"}))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["next"], "enrol_totp", "a supervisor must enrol TOTP next");
        let (status, _, _) = problem_code(c.get(app.url("/api/v1/orgs")).send().await.unwrap()).await;
        assert_eq!(status, 403);
        let enrol: serde_json::Value = c
            .post(app.url("/api/v1/auth/totp/enrol"))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = enrol["secret"].as_str().unwrap().to_string();
        assert!(enrol["uri"].as_str().unwrap().starts_with("otpauth://totp/"));
        let (status, code, _) = problem_code(
            c.post(app.url("/api/v1/auth/totp/confirm"))
                .json(&json!({"code": "000000"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, code.as_str()), (401, "totp_invalid"));
        let res = c
            .post(app.url("/api/v1/auth/totp/confirm"))
            .json(&json!({"code": totp_now(&secret)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            c.get(app.url("/api/v1/orgs")).send().await.unwrap().status(),
            200,
            "full session after enrolment"
        );

        // Next sign-in asks for the code.
        let c2 = app.client();
        let (status, code, _) =
            problem_code(login(&app, &c2, "giamsat2", "Đèn biển Lai Châu 2026").await).await;
        assert_eq!((status, code.as_str()), (401, "totp_required"));
        // The code used at enrolment cannot be replayed; wait for the next 30-second step.
        let wait = 30 - (jiff::Timestamp::now().as_second() % 30) + 1;
        tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
        let res = c2
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "giamsat2", "password": "Đèn biển Lai Châu 2026", "totp_code": totp_now(&secret)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        app.stop().await;
    }
}

/// Each demo role against the API, as a user would meet it.
#[tokio::test]
async fn roles_meet_the_permission_matrix_through_the_api() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        // (role, may list users, may create orgs, may read audit, may issue tokens)
        let expected = [
            ("admin", true, true, true, true),
            ("supervisor", true, false, false, true),
            ("operator", false, false, false, false),
            ("leader", true, false, false, false),
            ("officer", false, false, false, false),
            ("auditor", true, false, true, false),
        ];
        for (role, users, orgs, audit, tokens) in expected {
            let c = app.signed_in(role).await;
            let s = c.get(app.url("/api/v1/users")).send().await.unwrap().status();
            assert_eq!(s == 200, users, "{role} GET /users gave {s}");
            let s = c
                .post(app.url("/api/v1/orgs"))
                .json(&json!({"code": format!("test-{role}"), "kind": "other", "name_vi": "Thử"}))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(s == 201, orgs, "{role} POST /orgs gave {s}");
            let s = c.get(app.url("/api/v1/audit")).send().await.unwrap().status();
            assert_eq!(s == 200, audit, "{role} GET /audit gave {s}");
            let s = c
                .post(app.url("/api/v1/tokens"))
                .json(&json!({"user": "officer", "scopes": ["read"], "expires_in": "1d"}))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(s == 201, tokens, "{role} POST /tokens gave {s}");
            // Everyone who signs in sees the console's reference data.
            assert_eq!(c.get(app.url("/api/v1/units?parent=12")).send().await.unwrap().status(), 200);
        }
        app.stop().await;
    }
}

/// Guesses sent all at once lock the account like guesses sent one by one.
#[tokio::test]
async fn parallel_guesses_still_lock_the_account() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let guesses = (0..20).map(|i| {
        let c = app.client();
        let url = app.url("/api/v1/auth/login");
        async move {
            c.post(url)
                .json(&json!({"username": "leader", "password": format!("guess number {i}")}))
                .send()
                .await
        }
    });
    for res in futures_util::future::join_all(guesses).await {
        assert!(res.unwrap().status().is_client_error());
    }
    let right = app.passwords["leader"].clone();
    let (status, code, _) = problem_code(login(&app, &app.client(), "leader", &right).await).await;
    assert_eq!((status, code.as_str()), (403, "account_locked"));
    app.stop().await;
}
