//! The account lifecycle (lock, unlock, revoke with reason and written-request reference), API
//! tokens (scoped, expiring, hash only, shown once), delegations and the unused-accounts review.

use serde_json::{json, Value};

use crate::harness::{backends, problem_code, TestApp};

async fn post(c: &reqwest::Client, url: String, body: Value) -> reqwest::Response {
    c.post(url).json(&body).send().await.unwrap()
}

fn bearer(c: &reqwest::Client, url: String, token: &str) -> reqwest::RequestBuilder {
    c.get(url).bearer_auth(token)
}

#[tokio::test]
async fn lock_ends_sessions_and_tokens_at_once_and_needs_reasons() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let operator = app.signed_in("operator").await;
        assert_eq!(operator.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 200);
        let issued: Value = post(
            &admin,
            app.url("/api/v1/tokens"),
            json!({"user": "operator", "label": "trạm đo", "scopes": ["read"], "expires_in": "30d"}),
        )
        .await
        .json()
        .await
        .unwrap();
        let token = issued["secret"].as_str().unwrap().to_string();
        let raw = reqwest::Client::new();
        assert_eq!(bearer(&raw, app.url("/api/v1/orgs"), &token).send().await.unwrap().status(), 200);

        // A lock without its reason or written request is refused, and changes nothing.
        let (status, code, body) = problem_code(
            post(&admin, app.url("/api/v1/users/operator/lock"), json!({"reason": "", "request_ref": ""}))
                .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (422, "validation_failed"), "{body}");
        assert_eq!(operator.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 200);

        let res = post(
            &admin,
            app.url("/api/v1/users/operator/lock"),
            json!({"reason": "nghỉ phép dài hạn", "request_ref": "45/TTGS-HC"}),
        )
        .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        // The live session and the token end at once.
        let (status, _, _) =
            problem_code(operator.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
        assert_eq!(status, 401, "a lock ends live sessions");
        let (status, code, _) =
            problem_code(bearer(&raw, app.url("/api/v1/orgs"), &token).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (401, "token_invalid"), "a lock ends tokens");
        // And the account cannot sign in: 403 account_locked.
        let (status, code, _) = problem_code(
            post(
                &app.client(),
                app.url("/api/v1/auth/login"),
                json!({"username": "operator", "password": app.passwords["operator"]}),
            )
            .await,
        )
        .await;
        assert_eq!((status, code.as_str()), (403, "account_locked"));

        // Unlock: signs in again; the old token stays dead.
        let res = post(
            &admin,
            app.url("/api/v1/users/operator/unlock"),
            json!({"reason": "đã trở lại", "request_ref": "52/TTGS-HC"}),
        )
        .await;
        assert_eq!(res.status(), 200);
        app.signed_in("operator").await;
        assert_eq!(bearer(&raw, app.url("/api/v1/orgs"), &token).send().await.unwrap().status(), 401);

        // Revoke is final.
        let res = post(
            &admin,
            app.url("/api/v1/users/operator/revoke"),
            json!({"reason": "chuyển công tác", "request_ref": "60/TTGS-HC"}),
        )
        .await;
        assert_eq!(res.status(), 200);
        let (status, code, _) = problem_code(
            post(
                &admin,
                app.url("/api/v1/users/operator/unlock"),
                json!({"reason": "nhầm", "request_ref": "61/TTGS-HC"}),
            )
            .await,
        )
        .await;
        assert_eq!(status / 100, 4, "a revoked account cannot be unlocked ({code})");

        // Each step is kept with its reason and reference, and audited.
        let detail: Value = crate::harness::get_json(&admin, app.url("/api/v1/users/operator")).await;
        let events: Vec<(String, String)> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (e["kind"].as_str().unwrap().to_string(), e["request_ref"].as_str().unwrap().to_string())
            })
            .collect();
        for (kind, reference) in [("lock", "45/TTGS-HC"), ("unlock", "52/TTGS-HC"), ("revoke", "60/TTGS-HC")]
        {
            assert!(
                events.contains(&(kind.to_string(), reference.to_string())),
                "{kind} missing in {events:?}"
            );
        }
        let audit: Value = crate::harness::get_json(
            &app.signed_in("auditor").await,
            app.url("/api/v1/audit?action=user.lock"),
        )
        .await;
        let records = audit.as_array().unwrap();
        assert_eq!(records.len(), 1, "{audit}");
        assert_eq!(records[0]["target"], "operator");
        assert_eq!(records[0]["username"], "admin");
        app.stop().await;
    }
}

#[tokio::test]
async fn tokens_are_scoped_expiring_stored_as_a_hash_and_shown_once() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let raw = reqwest::Client::new();
        let issue = |scopes: Value, expires: &str| {
            post(
                &admin,
                app.url("/api/v1/tokens"),
                json!({"user": "admin", "label": "máy", "scopes": scopes, "expires_in": expires}),
            )
        };
        let read: Value = issue(json!(["read"]), "1d").await.json().await.unwrap();
        let secret = read["secret"].as_str().unwrap().to_string();
        let id = read["token"]["id"].as_str().unwrap().to_string();

        // Only a hash is stored: the secret appears nowhere in the database.
        let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
        assert!(!hashes.is_empty() && hashes.iter().all(|h| h != &secret && !h.contains(&secret)));
        // The list never shows it again.
        let list = admin.get(app.url("/api/v1/tokens")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains(&id) && !list.contains(&secret));

        // A read token reads but does not write.
        assert_eq!(bearer(&raw, app.url("/api/v1/orgs"), &secret).send().await.unwrap().status(), 200);
        let org = json!({"code": "so-test", "kind": "department", "name_vi": "Sở Thử nghiệm", "sectors": ["general"]});
        let res = raw.post(app.url("/api/v1/orgs")).bearer_auth(&secret).json(&org).send().await.unwrap();
        let (status, code, _) = problem_code(res).await;
        assert_eq!((status, code.as_str()), (403, "forbidden"));
        let write: Value = issue(json!("read,write"), "1d").await.json().await.unwrap();
        let res = raw
            .post(app.url("/api/v1/orgs"))
            .bearer_auth(write["secret"].as_str().unwrap())
            .json(&org)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

        // Unknown scope and bad lifetime are refused by name.
        let (status, _, body) = problem_code(issue(json!(["everything"]), "1d").await).await;
        assert_eq!(status, 422);
        assert!(body["detail"].as_str().unwrap().contains("everything"), "{body}");
        let (status, _, body) = problem_code(issue(json!(["read"]), "forever").await).await;
        assert_eq!(status, 422);
        assert!(body["detail"].as_str().unwrap().contains("forever"), "{body}");

        // Expired: 401.
        sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
            .bind(jiff::Timestamp::now().as_microsecond() - 1_000_000)
            .bind(&id)
            .execute(app.state.store.pool())
            .await
            .unwrap();
        let (status, code, _) =
            problem_code(bearer(&raw, app.url("/api/v1/orgs"), &secret).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (401, "token_invalid"));
        // Revoked: 401.
        let w = write["secret"].as_str().unwrap();
        let wid = write["token"]["id"].as_str().unwrap();
        let res = post(&admin, app.url(&format!("/api/v1/tokens/{wid}/revoke")), json!({})).await;
        assert_eq!(res.status(), 204);
        let (status, code, _) =
            problem_code(bearer(&raw, app.url("/api/v1/orgs"), w).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (401, "token_invalid"));
        // A made-up token: 401 too.
        let (status, _, _) =
            problem_code(bearer(&raw, app.url("/api/v1/orgs"), "hd_nonsense").send().await.unwrap()).await;
        assert_eq!(status, 401);
        app.stop().await;
    }
}

#[tokio::test]
async fn delegation_lets_an_officer_act_for_another_for_its_period_and_is_recorded() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let res = post(
            &admin,
            app.url("/api/v1/users"),
            json!({"username": "canbo2", "org": "so-y-te", "role": "officer", "password": "Mật khẩu tạm 2026!",
                   "reason": "cán bộ mới", "request_ref": "12/SYT-VP"}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let now = jiff::Timestamp::now();
        let body = |start: jiff::Timestamp, end: jiff::Timestamp| {
            json!({"principal": "canbo2", "acting": "officer", "starts_at": start.to_string(), "ends_at": end.to_string(),
                   "reason": "quyền trưởng phòng", "request_ref": "77/SYT-TCCB"})
        };
        // The end before the start is refused.
        let (status, _, _) = problem_code(
            post(
                &admin,
                app.url("/api/v1/delegations"),
                body(now, now - jiff::SignedDuration::from_hours(1)),
            )
            .await,
        )
        .await;
        assert_eq!(status, 422);
        let res = post(
            &admin,
            app.url("/api/v1/delegations"),
            body(now - jiff::SignedDuration::from_hours(1), now + jiff::SignedDuration::from_hours(48)),
        )
        .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let list: Value = crate::harness::get_json(&admin, app.url("/api/v1/delegations")).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["request_ref"], "77/SYT-TCCB");
        // The acting officer now also acts for the principal's organisation.
        let me: Value =
            crate::harness::get_json(&app.signed_in("officer").await, app.url("/api/v1/auth/me")).await;
        assert_eq!(me["acting_for"], json!([list[0]["principal_id"]]), "{me}");
        app.stop().await;
    }
}

#[tokio::test]
async fn accounts_unused_for_90_days_are_listed_for_review() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let never_used: Value = crate::harness::get_json(&admin, app.url("/api/v1/users/unused")).await;
        assert!(never_used.as_array().unwrap().is_empty(), "new accounts are not yet unused: {never_used}");
        // The leader signed in 100 days ago, and the account is older than that.
        let long_ago = jiff::Timestamp::now().as_microsecond() - 100 * 86_400 * 1_000_000;
        sqlx::query("UPDATE users SET last_login_at = $1, created_at = $1 WHERE username = 'leader'")
            .bind(long_ago)
            .execute(app.state.store.pool())
            .await
            .unwrap();
        let unused: Value = crate::harness::get_json(&admin, app.url("/api/v1/users/unused")).await;
        let names: Vec<&str> =
            unused.as_array().unwrap().iter().map(|u| u["user"]["username"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["leader"]);
        // Only those who may see accounts see the list.
        let (status, _, _) = problem_code(
            app.signed_in("operator").await.get(app.url("/api/v1/users/unused")).send().await.unwrap(),
        )
        .await;
        assert_eq!(status, 403);
        app.stop().await;
    }
}

/// What a supervisor may not do to gain an administrator's or auditor's rights.
#[tokio::test]
async fn a_supervisor_cannot_reach_privileged_rights_through_tokens_or_delegations() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let sup = app.signed_in("supervisor").await;
        let (status, _, _) = problem_code(
            post(
                &sup,
                app.url("/api/v1/tokens"),
                json!({"user": "admin", "scopes": ["read", "write"], "expires_in": "1d"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 403, "a token for the administrator");
        let me = crate::harness::get_json(&sup, app.url("/api/v1/auth/me")).await;
        let now = jiff::Timestamp::now();
        let (status, _, _) = problem_code(
            post(
                &sup,
                app.url("/api/v1/delegations"),
                json!({"principal": "auditor", "acting": me["id"], "starts_at": now.to_string(),
                       "ends_at": (now + jiff::SignedDuration::from_hours(2)).to_string(),
                       "reason": "thử", "request_ref": "1/X"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 403, "the auditor's rights to oneself");
        // Tokens for ordinary accounts remain the supervisor's to issue.
        let res = post(&sup, app.url("/api/v1/tokens"), json!({"user": "officer", "scopes": ["read"]})).await;
        assert_eq!(res.status(), 201);
        app.stop().await;
    }
}
