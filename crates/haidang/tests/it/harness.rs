//! Test servers on SQLite (always) and PostgreSQL (when HAIDANG_TEST_POSTGRES_URL names a
//! server), each in its own data folder and database, removed afterwards.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use haidang_server::config::Config;
use haidang_server::state::AppState;
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn require_services() -> bool {
    std::env::var("HAIDANG_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The service's URL from the environment; None (skip) when unset, a failure when services are
/// required.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(!require_services(), "{var} is not set but HAIDANG_TEST_REQUIRE_SERVICES=1");
            eprintln!("skipping the part that needs {var} (not set)");
            None
        }
    }
}

/// SQLite always; PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    // As the binary does at start: every TLS user (reqwest, sqlx, the server) shares ring.
    haidang_server::install_crypto_provider();
    let mut v = vec![Backend::Sqlite];
    if service_url("HAIDANG_TEST_POSTGRES_URL").is_some() {
        v.push(Backend::Postgres);
    }
    v
}

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("hd-{tag}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PostgreSQL database made for one test and dropped afterwards.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (url.to_string(), String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => base[..scheme_end + i].to_string(),
        None => base,
    };
    format!("{base}/{db}{query}")
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin_url = service_url("HAIDANG_TEST_POSTGRES_URL").expect("postgres url");
        let name = format!("hd_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect to postgres");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
        let _ = conn.close().await;
        let url = with_db(&admin_url, &name);
        PgDatabase { admin_url, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async; a short-lived runtime on its own thread drops the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A store location: a data folder, and a database in it (SQLite) or on the server.
pub struct TestStore {
    pub backend: Backend,
    pub dir: TempDir,
    pub pg: Option<PgDatabase>,
}

impl TestStore {
    pub async fn new(backend: Backend) -> TestStore {
        haidang_server::install_crypto_provider();
        let dir = TempDir::new("store");
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await),
        };
        TestStore { backend, dir, pg }
    }

    pub fn config(&self) -> Config {
        let mut c = Config::default();
        c.storage.data_dir = self.dir.0.display().to_string();
        c.storage.max_connections = 4;
        c.server.listen = "127.0.0.1:0".into();
        c.server.shutdown_grace_secs = 5;
        // Test endpoints are on this machine: a second is long enough to call one hanging.
        c.hub.notification_timeout_secs = 1;
        // The tests' receivers and broker are on this machine.
        c.hub.notification_local_endpoints = true;
        // Three years of indicator figures are loaded only by the tests that read them.
        c.demo.indicators = false;
        // Likewise the demo's citizen reports (categories and routing are always loaded).
        c.demo.reports = 0;
        if let Some(pg) = &self.pg {
            c.storage.database_url = pg.url.clone();
        }
        c
    }

    /// Same audit key, another database: for restoring a backup elsewhere.
    pub fn config_sharing_key_with(&self, other: &TestStore) -> Config {
        let mut c = self.config();
        c.audit.key_file = other.config().audit_key_file().display().to_string();
        c
    }
}

pub struct TestApp {
    pub state: Arc<AppState>,
    pub base: String,
    pub passwords: HashMap<String, String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub store: TestStore,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let store = TestStore::new(backend).await;
        TestApp::spawn_with(store, true).await
    }

    pub async fn spawn_with(store: TestStore, demo: bool) -> TestApp {
        let config = store.config();
        TestApp::spawn_config(store, config, demo).await
    }

    pub async fn spawn_config(store: TestStore, config: Config, demo: bool) -> TestApp {
        haidang_server::install_crypto_provider();
        let (state, passwords) = haidang::serve::prepare(config, demo).await.expect("prepare");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(haidang_server::launch(state.clone(), listener, async move {
            let _ = rx.await;
        }));
        TestApp {
            state,
            base,
            passwords: passwords.into_iter().collect(),
            shutdown: Some(tx),
            server: Some(server),
            store,
        }
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).build().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client signed in as one of the demo accounts.
    pub async fn signed_in(&self, username: &str) -> reqwest::Client {
        let c = self.client();
        let password =
            self.passwords.get(username).unwrap_or_else(|| panic!("no demo password for {username}"));
        let res = c
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "sign-in of {username}: {}", res.text().await.unwrap_or_default());
        c
    }

    /// Tells the server to stop (as SIGTERM does) without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> TestStore {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap().unwrap();
        }
        self.state.store.close().await;
        // Move the store out; the rest of self drops.
        let TestApp { store, .. } = self;
        store
    }
}

/// Reads a problem+json body and returns its code.
pub async fn problem_code(res: reqwest::Response) -> (u16, String, serde_json::Value) {
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    assert!(ct.starts_with("application/problem+json"), "expected problem+json, got {ct}: {body}");
    (status, body["code"].as_str().unwrap_or_default().to_string(), body)
}

/// GET a JSON body (whatever the status; the callers assert on the content).
pub async fn get_json(c: &reqwest::Client, url: String) -> serde_json::Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

/// A request with a JSON content type (as the console and NGSI-LD clients send), the body if
/// any; with a session cookie, that content type is what proves the request comes from our pages.
pub async fn send(
    c: &reqwest::Client,
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut req = c.request(method, app.url(path)).header("content-type", "application/json");
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    req.send().await.unwrap()
}

/// GET: the status and the body (JSON, or the text as a string).
pub async fn get(c: &reqwest::Client, app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let res = send(c, app, reqwest::Method::GET, path, None).await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// A client signed in as a new account a test made, its temporary password changed.
pub async fn sign_in_new(app: &TestApp, username: &str, password: &str) -> reqwest::Client {
    let c = app.client();
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-in of {username}: {}", res.text().await.unwrap_or_default());
    // A new account changes its temporary password first.
    let res = c
        .post(app.url("/api/v1/auth/password"))
        .json(&serde_json::json!({"current_password": password, "new_password": "Đèn biển Lai Châu 2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "password change of {username}: {}", res.text().await.unwrap_or_default());
    c
}
