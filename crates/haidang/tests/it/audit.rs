//! The audit trail: one record per write with who, organisation, role, when, action, target,
//! source IP and outcome; append-only; tampering, deletion and truncation named by `verify`.

use haidang_core::audit::{ChainProblem, VerifyReport};
use serde_json::{json, Value};

use crate::harness::{backends, problem_code, Backend, TestApp};

/// Switches off the append-only guard, as an attacker with database access would.
async fn disable_guard(app: &TestApp) {
    let statements: &[&str] = match app.store.backend {
        Backend::Sqlite => &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
        Backend::Postgres => &["ALTER TABLE audit_log DISABLE TRIGGER USER"],
    };
    for sql in statements {
        sqlx::query(sql).execute(app.state.store.pool()).await.unwrap();
    }
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(app.state.store.pool()).await.unwrap();
}

async fn verify(app: &TestApp) -> VerifyReport {
    haidang::commands::verify(&app.state).await.unwrap()
}

async fn max_seq(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(app.state.store.pool()).await.unwrap()
}

#[tokio::test]
async fn every_write_is_recorded_with_who_where_and_outcome() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let res = admin
            .post(app.url("/api/v1/orgs"))
            .json(&json!({"code": "dien-luc-than-uyen", "kind": "utility", "name_vi": "Điện lực Than Uyên",
                          "sectors": ["utilities"], "duty_phone": "0213 000 0300"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let auditor = app.signed_in("auditor").await;
        let records: Value = crate::harness::get_json(
            &auditor,
            app.url("/api/v1/audit?action=org.create&target=dien-luc-than-uyen"),
        )
        .await;
        let records = records.as_array().unwrap();
        assert_eq!(records.len(), 1, "exactly one record for one write request: {records:?}");
        let r = &records[0];
        assert_eq!(r["username"], "admin");
        assert_eq!(r["role"], "admin");
        assert!(r["org_id"].as_str().is_some_and(|o| !o.is_empty()));
        assert_eq!(r["source_ip"], "127.0.0.1");
        assert_eq!(r["outcome"], "success");
        assert!(r["at"].as_str().is_some());

        // Failed sign-ins are recorded too, and the auditor can filter for them.
        app.client()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "leader", "password": "not the password"}))
            .send()
            .await
            .unwrap();
        let failures: Value = crate::harness::get_json(
            &auditor,
            app.url("/api/v1/audit?action=auth.login&outcome=failure&username=leader"),
        )
        .await;
        assert_eq!(failures.as_array().unwrap().len(), 1, "{failures}");
        // A bad filter is named.
        let (status, _, body) =
            problem_code(auditor.get(app.url("/api/v1/audit?outcome=maybe")).send().await.unwrap()).await;
        assert_eq!(status, 422);
        assert_eq!(body["field"], "outcome", "{body}");
        assert!(body["detail"].as_str().unwrap().contains("maybe"), "{body}");
        // The console page shows the trail to the auditor, not to an operator.
        let page = auditor.get(app.url("/admin/audit?action=org.create")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("dien-luc-than-uyen"));
        let (status, _, _) =
            problem_code(app.signed_in("operator").await.get(app.url("/api/v1/audit")).send().await.unwrap())
                .await;
        assert_eq!(status, 403);
        assert!(matches!(verify(&app).await, VerifyReport::Intact { .. }));
        // Times are kept to the microsecond on both backends, not rounded to milliseconds.
        let times: Vec<i64> =
            sqlx::query_scalar("SELECT at FROM audit_log").fetch_all(app.state.store.pool()).await.unwrap();
        assert!(times.len() > 10 && times.iter().any(|t| t % 1000 != 0), "{backend:?}: {times:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_log_is_append_only() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let pool = app.state.store.pool();
        assert!(sqlx::query("UPDATE audit_log SET detail = 'x' WHERE seq = 1").execute(pool).await.is_err());
        assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 1").execute(pool).await.is_err());
        app.stop().await;
    }
}

#[tokio::test]
async fn verify_names_the_first_altered_record() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        disable_guard(&app).await;
        exec(&app, "UPDATE audit_log SET detail = 'sửa lén' WHERE seq = 3").await;
        exec(&app, "UPDATE audit_log SET username = 'someone' WHERE seq = 7").await;
        let report = verify(&app).await;
        assert_eq!(report, VerifyReport::Broken(ChainProblem::Altered { seq: 3 }), "{backend:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_record_forged_below_the_first_is_found() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        exec(
            &app,
            "INSERT INTO audit_log (seq, at, username, action, outcome, detail, prev_mac, mac) \
             VALUES (-1, 0, 'admin', 'user.create', 'success', '', 'x', 'y')",
        )
        .await;
        assert_eq!(
            verify(&app).await,
            VerifyReport::Broken(ChainProblem::Unlinked { seq: -1 }),
            "{backend:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn verify_names_a_deleted_record_in_the_middle() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        disable_guard(&app).await;
        exec(&app, "DELETE FROM audit_log WHERE seq = 5").await;
        assert_eq!(
            verify(&app).await,
            VerifyReport::Broken(ChainProblem::Missing { from_seq: 5, to_seq: 5 })
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn verify_detects_the_last_records_deleted_through_the_head_file() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let last = max_seq(&app).await;
        assert!(last > 10);
        disable_guard(&app).await;
        // Deleting the tail leaves a chain that is valid in itself: only the head file tells.
        exec(&app, &format!("DELETE FROM audit_log WHERE seq > {}", last - 2)).await;
        let report = verify(&app).await;
        assert_eq!(
            report,
            VerifyReport::Broken(ChainProblem::Truncated { last_seq: last - 2, head_seq: last }),
            "{backend:?}"
        );
        if let VerifyReport::Broken(p) = report {
            assert!(p.to_string().contains(&format!("records {} to {last} are missing", last - 1)), "{p}");
        }
        // The server goes on and writes new records over the gap: the head file keeps the
        // evidence instead of moving on, so the deletion stays visible.
        for _ in 0..5 {
            app.client()
                .post(app.url("/api/v1/auth/login"))
                .json(&serde_json::json!({"username": "leader", "password": "not the password"}))
                .send()
                .await
                .unwrap();
        }
        assert!(max_seq(&app).await > last, "new records were written");
        let report = verify(&app).await;
        assert_eq!(report, VerifyReport::Broken(ChainProblem::HeadMismatch { seq: last }), "{backend:?}");
        app.stop().await;
    }
}
