//! A notification receiver for tests: a small HTTP server on 127.0.0.1 that keeps what it
//! takes, and can be told to refuse (answer an error) or to hang (never answer).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Takes each notification after this many milliseconds.
    Slow(u64),
    Refuse(u16),
    Hang,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
    /// When it was taken.
    pub at: std::time::Instant,
}

struct Shared {
    mode: Mutex<Mode>,
    accepted: Mutex<Vec<Received>>,
    attempts: AtomicUsize,
    hanging: AtomicUsize,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

async fn take(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.attempts.fetch_add(1, Ordering::SeqCst);
    let mode = *shared.mode.lock().unwrap();
    if let Mode::Slow(ms) = mode {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match mode {
        Mode::Accept | Mode::Slow(_) => {
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            shared.accepted.lock().unwrap().push(Received { headers, body, at: std::time::Instant::now() });
            StatusCode::OK
        }
        Mode::Refuse(code) => StatusCode::from_u16(code).unwrap(),
        Mode::Hang => {
            shared.hanging.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            accepted: Mutex::new(Vec::new()),
            attempts: AtomicUsize::new(0),
            hanging: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/notify", post(take)).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, shared, server }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.shared.accepted.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    /// Requests taken and never answered.
    pub fn hanging(&self) -> usize {
        self.shared.hanging.load(Ordering::SeqCst)
    }

    /// Waits (up to `secs`) until at least `n` notifications were accepted.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        wait_until(secs, || self.accepted().len() >= n).await;
        self.accepted()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Polls `done` every 50 ms for up to `secs` seconds; answers whether it came true.
pub async fn wait_until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// Every entity carried by these notifications, in the order they came.
pub fn entities(received: &[Received]) -> Vec<Value> {
    received.iter().flat_map(|r| r.body["data"].as_array().cloned().unwrap_or_default()).collect()
}
