//! A minimal W3C WebDriver client over reqwest: starts `chromedriver` on a free port, opens one
//! headless Chromium session with a fresh profile, and cleans all of it up when dropped.
//!
//! Only what the browser test needs: navigation, finding elements, typing, clicking, reading
//! attributes and properties, running scripts, polling for a condition and screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::harness::TempDir;

/// The key under which W3C WebDriver returns and accepts element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long chromedriver may take to answer `/status` as ready.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// How often `wait_for` re-runs its script.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A reference to an element in the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

impl Element {
    /// The element as a script argument (`arguments[i]` is then the DOM node).
    #[allow(dead_code)] // for scripts that act on a found element; no test needs one yet
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

pub struct WebDriver {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>` of chromedriver.
    driver_url: String,
    /// None once the session is deleted (or before it exists).
    session: Option<String>,
    child: Option<Child>,
    /// Holds the Chromium profile (`profile/`) and chromedriver's log; removed last.
    dir: TempDir,
}

/// The chromedriver to use for this Chromium: HAIDANG_TEST_CHROMEDRIVER, else `chromedriver`
/// in the Chromium binary's folder.
pub fn chromedriver_path(chromium: &str) -> PathBuf {
    match std::env::var("HAIDANG_TEST_CHROMEDRIVER") {
        Ok(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(chromium).parent().unwrap_or_else(|| Path::new(".")).join("chromedriver"),
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
    // The listener drops here and frees the port for chromedriver.
}

/// JavaScript truthiness of a script's result.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

impl WebDriver {
    /// Starts chromedriver next to `chromium` (or HAIDANG_TEST_CHROMEDRIVER) and opens a headless
    /// session with a fresh profile whose browser asks for `accept_language` (the Accept-Language
    /// header, e.g. "vi-VN,vi"; headless Chromium otherwise sends "en-US").
    pub async fn start(chromium: &str, accept_language: &str) -> Result<WebDriver> {
        let driver = chromedriver_path(chromium);
        let dir = TempDir::new("webdriver");
        let profile = dir.0.join("profile");
        std::fs::create_dir_all(&profile).with_context(|| format!("creating {}", profile.display()))?;
        let log_path = dir.0.join("chromedriver.log");
        let log =
            std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;

        let port = free_port()?;
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!("starting {} (set HAIDANG_TEST_CHROMEDRIVER to another path?)", driver.display())
            })?;

        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .context("building the HTTP client")?;
        // From here on Drop kills chromedriver and removes the folder, also on errors.
        let mut wd = WebDriver {
            http,
            driver_url: format!("http://127.0.0.1:{port}"),
            session: None,
            child: Some(child),
            dir,
        };
        wd.wait_until_ready(&driver).await?;

        let args = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--no-first-run".to_string(),
            "--disable-quic".to_string(),
            "--disable-sync".to_string(),
            "--window-size=1366,900".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "pageLoad": 30_000, "script": 30_000, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": args,
                        "prefs": { "intl": { "accept_languages": accept_language } },
                    },
                }
            }
        });
        let created = wd
            .request(reqwest::Method::POST, "/session".to_string(), Some(caps))
            .await
            .map_err(|e| anyhow!("creating a Chromium session ({chromium}): {e:#}{}", wd.log_tail()))?;
        let id = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("new session answer has no sessionId: {created}"))?;
        wd.session = Some(id.to_string());
        Ok(wd)
    }

    async fn wait_until_ready(&mut self, driver: &Path) -> Result<()> {
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        let url = format!("{}/status", self.driver_url);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("{} exited at start with {status}{}", driver.display(), self.log_tail());
                }
            }
            let last = match self.http.get(&url).timeout(Duration::from_secs(2)).send().await {
                Ok(res) => {
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    if body["value"]["ready"] == Value::Bool(true) {
                        return Ok(());
                    }
                    format!("not ready: {body}")
                }
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                bail!(
                    "{} did not become ready on {url} within {DRIVER_START_TIMEOUT:?} ({last}){}",
                    driver.display(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The end of chromedriver's log, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.0.join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.trim().is_empty() {
            String::new()
        } else {
            format!("\n--- chromedriver log (end) ---\n{tail}")
        }
    }

    fn session_path(&self, rest: &str) -> Result<String> {
        let id = self.session.as_deref().ok_or_else(|| anyhow!("the WebDriver session is closed"))?;
        Ok(format!("/session/{id}{rest}"))
    }

    /// One WebDriver command; returns the answer's `value`, or an error naming the command, the
    /// HTTP status and WebDriver's error body.
    async fn request(&self, method: reqwest::Method, path: String, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.driver_url);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = &body {
            req = req.json(b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let res = req.send().await.with_context(|| format!("WebDriver {method} {path}: no answer"))?;
        let status = res.status();
        let text =
            res.text().await.with_context(|| format!("WebDriver {method} {path}: reading the body"))?;
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let v = &parsed["value"];
            let detail = match (v["error"].as_str(), v["message"].as_str()) {
                (Some(error), Some(message)) => format!("{error}: {message}"),
                _ => text.clone(),
            };
            bail!("WebDriver {method} {path} failed with HTTP {status}: {detail}");
        }
        if parsed.is_null() {
            bail!("WebDriver {method} {path}: the answer is not JSON: {text}");
        }
        Ok(parsed["value"].clone())
    }

    async fn post(&self, rest: &str, body: Value) -> Result<Value> {
        self.request(reqwest::Method::POST, self.session_path(rest)?, Some(body)).await
    }

    async fn get(&self, rest: &str) -> Result<Value> {
        self.request(reqwest::Method::GET, self.session_path(rest)?, None).await
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).await.with_context(|| format!("opening {url}"))?;
        Ok(())
    }

    /// Resizes the browser window (CSS pixels), e.g. to a phone's 360 × 740.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post("/window/rect", json!({ "width": width, "height": height })).await?;
        Ok(())
    }

    pub async fn current_url(&self) -> Result<String> {
        let v = self.get("/url").await?;
        v.as_str().map(str::to_string).ok_or_else(|| anyhow!("current URL is not a string: {v}"))
    }

    fn element_of(v: &Value) -> Result<Element> {
        v[ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_string()))
            .ok_or_else(|| anyhow!("not an element reference: {v}"))
    }

    /// The first element matching the CSS selector (an error when there is none).
    pub async fn find(&self, css: &str) -> Result<Element> {
        let v = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await
            .with_context(|| format!("finding {css:?}"))?;
        Self::element_of(&v)
    }

    /// Every element matching the CSS selector (possibly none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let v = self
            .post("/elements", json!({ "using": "css selector", "value": css }))
            .await
            .with_context(|| format!("finding all {css:?}"))?;
        v.as_array()
            .ok_or_else(|| anyhow!("find all {css:?}: not a list: {v}"))?
            .iter()
            .map(Self::element_of)
            .collect()
    }

    /// The element that has the focus (the document's body when none has).
    pub async fn active(&self) -> Result<Element> {
        let v = self.get("/element/active").await.context("finding the focused element")?;
        Self::element_of(&v)
    }

    pub async fn send_keys(&self, el: &Element, text: &str) -> Result<()> {
        self.post(&format!("/element/{}/value", el.0), json!({ "text": text })).await?;
        Ok(())
    }

    pub async fn click(&self, el: &Element) -> Result<()> {
        self.post(&format!("/element/{}/click", el.0), json!({})).await?;
        Ok(())
    }

    /// Presses the mouse at `from` and releases it at `to`, both relative to the element's
    /// centre (CSS pixels), moving in between: a drag, as a person makes one.
    pub async fn drag(&self, el: &Element, from: (i64, i64), to: (i64, i64)) -> Result<()> {
        let mut origin = serde_json::Map::new();
        origin.insert(ELEMENT_KEY.to_string(), json!(el.0));
        let origin = Value::Object(origin);
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "duration": 0, "origin": origin, "x": from.0, "y": from.1},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerMove", "duration": 150, "origin": origin, "x": (from.0 + to.0) / 2, "y": (from.1 + to.1) / 2},
                {"type": "pointerMove", "duration": 150, "origin": origin, "x": to.0, "y": to.1},
                {"type": "pointerUp", "button": 0}
            ]
        }]});
        self.post("/actions", actions).await?;
        self.request(reqwest::Method::DELETE, self.session_path("/actions")?, None).await?;
        Ok(())
    }

    /// The element's rendered text.
    pub async fn text(&self, el: &Element) -> Result<String> {
        let v = self.get(&format!("/element/{}/text", el.0)).await?;
        v.as_str().map(str::to_string).ok_or_else(|| anyhow!("element text is not a string: {v}"))
    }

    /// An HTML attribute; None when the element has no such attribute.
    pub async fn attribute(&self, el: &Element, name: &str) -> Result<Option<String>> {
        let v = self.get(&format!("/element/{}/attribute/{name}", el.0)).await?;
        Ok(v.as_str().map(str::to_string))
    }

    /// A DOM property, as JSON.
    pub async fn property(&self, el: &Element, name: &str) -> Result<Value> {
        self.get(&format!("/element/{}/property/{name}", el.0)).await
    }

    /// Runs a script body (use `return ...`) with `arguments`; returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
            .with_context(|| format!("running script {script:?}"))
    }

    /// Re-runs `script` until it returns a truthy value; script errors (e.g. during navigation)
    /// count as not yet.
    pub async fn wait_for(&self, script: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.execute(script, vec![]).await {
                Ok(v) if truthy(&v) => return Ok(v),
                Ok(v) => format!("last result: {v}"),
                Err(e) => format!("last error: {e:#}"),
            };
            if Instant::now() >= deadline {
                bail!("timed out after {timeout:?} waiting for {script:?} ({last})");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Saves a PNG screenshot of the viewport, creating the folders on the way.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let v = self.get("/screenshot").await?;
        let b64 = v.as_str().ok_or_else(|| anyhow!("screenshot is not a string"))?;
        let png = base64::engine::general_purpose::STANDARD.decode(b64).context("decoding the screenshot")?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Ends the session and stops chromedriver; Drop does the same when this is not called.
    pub async fn close(mut self) -> Result<()> {
        let result = match self.session.take() {
            Some(id) => {
                self.request(reqwest::Method::DELETE, format!("/session/{id}"), None).await.map(|_| ())
            }
            None => Ok(()),
        };
        self.stop_driver();
        result
    }

    fn stop_driver(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            // Drop is synchronous and may run inside the test's runtime: delete the session
            // (which quits Chromium) from a short-lived runtime on its own thread.
            let url = format!("{}/session/{id}", self.driver_url);
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(client) = reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
                        let _ = client.delete(&url).send().await;
                    }
                });
            })
            .join();
        }
        self.stop_driver();
        // `dir` (profile and log) is removed when its TempDir drops, after this.
    }
}
