//! Backup and restore: a running server's archive restores into SQLite and PostgreSQL alike, every
//! table byte-identical, and the audit chain still verifies.

use haidang_core::audit::VerifyReport;
use haidang_server::config::Config;
use haidang_store::backup::{backup, canonical_dump, restore, BackupError};
use serde_json::json;

use crate::harness::{backends, Backend, TestApp, TestStore};

async fn archive_of(store: &haidang_store::Store) -> Vec<u8> {
    let mut out = Vec::new();
    backup(store, &mut out).await.unwrap();
    out
}

/// Restores `archive` into a fresh store of `backend` that shares the source's audit key, checks
/// the dump and the chain, and returns the new store's archive (for the next hop).
async fn restore_into(backend: Backend, source: &TestStore, archive: &[u8], expected_dump: &str) -> Vec<u8> {
    let target = TestStore::new(backend).await;
    let config: Config = target.config_sharing_key_with(source);
    let store = haidang::setup::open_store(&config).await.unwrap();
    let summary = restore(&store, archive).await.unwrap();
    assert!(summary.rows > 100, "the demo has more than 100 rows, restored {}", summary.rows);
    store.reset_head_file().await.unwrap();
    let dump = canonical_dump(&store).await.unwrap();
    assert!(dump == expected_dump, "the canonical dump differs after restoring into {backend:?}");
    // A second restore into the now full store is refused and changes nothing.
    let err = restore(&store, archive).await.unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    assert!(canonical_dump(&store).await.unwrap() == expected_dump);
    store.close().await;

    let state = haidang::setup::build_state(config).await.unwrap();
    let report = haidang::commands::verify(&state).await.unwrap();
    assert!(
        matches!(report, VerifyReport::Intact { records } if records > 10),
        "{report:?} after restore into {backend:?}"
    );
    let out = archive_of(&state.store).await;
    state.store.close().await;
    out
}

async fn wait_for_relay(app: &TestApp) {
    let pool = app.state.store.pool();
    for _ in 0..100 {
        let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(pool).await.unwrap();
        let cursor: Option<i64> = sqlx::query_scalar("SELECT seq FROM event_cursors WHERE name = 'bus'")
            .fetch_optional(pool)
            .await
            .unwrap();
        let changes: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM entity_changes").fetch_one(pool).await.unwrap();
        let entity_cursor: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM event_cursors WHERE name = 'entities'")
                .fetch_optional(pool)
                .await
                .unwrap();
        if cursor == Some(last) && entity_cursor == changes {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the event relay did not catch up");
}

#[tokio::test]
async fn backup_restores_across_backends_byte_identical_with_the_chain_intact() {
    let has_pg = backends().contains(&Backend::Postgres);
    for first in backends() {
        let app = TestApp::spawn(first).await;
        // Some data of every kind, with Vietnamese text, taken while the server runs.
        let admin = app.signed_in("admin").await;
        let res = admin
            .post(app.url("/api/v1/tokens"))
            .json(&json!({"user": "officer", "label": "trạm quan trắc Mường Tè", "scopes": ["read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        // The event relay moves its cursor after each change; let it settle so the dump taken
        // next describes the same moment as the archive.
        wait_for_relay(&app).await;
        let archive = archive_of(&app.state.store).await;
        let dump = canonical_dump(&app.state.store).await.unwrap();
        assert!(dump.contains("trạm quan trắc Mường Tè"));
        assert!(dump.contains("Trạm khí tượng Sìn Hồ"), "the demo's entities are in the archive");
        // The other backend when there is one (SQLite → PostgreSQL → SQLite, PostgreSQL → SQLite →
        // PostgreSQL), otherwise SQLite → SQLite.
        let other = match (first, has_pg) {
            (Backend::Sqlite, true) => Backend::Postgres,
            _ => Backend::Sqlite,
        };
        let source = app.stop().await;
        let second = restore_into(other, &source, &archive, &dump).await;
        restore_into(first, &source, &second, &dump).await;
    }
}

#[tokio::test]
async fn a_damaged_archive_is_refused_and_nothing_is_written() {
    for backend in backends() {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let archive = archive_of(&app.state.store).await;
        let source = app.stop().await;
        let target = TestStore::new(backend).await;
        let store = haidang::setup::open_store(&target.config_sharing_key_with(&source)).await.unwrap();
        let empty = canonical_dump(&store).await.unwrap();

        // Cut short: the rows load but the end line is missing.
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&archive[..]), &mut raw).unwrap();
        let text = String::from_utf8(raw).unwrap();
        let cut: String = text.lines().take(text.lines().count() / 2).map(|l| format!("{l}\n")).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, cut.as_bytes()).unwrap();
        let truncated = gz.finish().unwrap();
        let err = restore(&store, &truncated[..]).await.unwrap_err();
        assert!(err.to_string().contains("not valid"), "{err}");
        assert_eq!(canonical_dump(&store).await.unwrap(), empty, "a failed restore writes nothing");

        // Not gzip at all.
        let err = restore(&store, &b"hello"[..]).await.unwrap_err();
        assert!(matches!(err, BackupError::Io(_) | BackupError::Invalid(_)), "{err}");
        assert_eq!(canonical_dump(&store).await.unwrap(), empty);
        store.close().await;
    }
}
