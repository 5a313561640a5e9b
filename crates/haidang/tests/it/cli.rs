//! The `haidang` command as an operator runs it, on the same store a server would use.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::{backends, Backend, TempDir, TestStore};

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// The binary pointed at one store: `--data-dir`, and the PostgreSQL URL through the environment
/// (as an operator would set it) when the store is on PostgreSQL.
struct Haidang<'a> {
    store: &'a TestStore,
}

impl Haidang<'_> {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_haidang"));
        cmd.arg("--data-dir").arg(&self.store.dir.0).args(args);
        cmd.env_remove("HAIDANG__STORAGE__DATABASE_URL");
        if let Some(pg) = &self.store.pg {
            cmd.env("HAIDANG__STORAGE__DATABASE_URL", &pg.url);
        }
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let r = self.run(args, stdin);
        assert!(r.ok, "haidang {args:?} failed:\n{}\n{}", r.stdout, r.stderr);
        r.stdout
    }

    fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let r = self.run(args, stdin);
        assert!(!r.ok, "haidang {args:?} should fail:\n{}", r.stdout);
        r.stderr
    }
}

#[test]
fn bad_configuration_stops_with_the_key_named() {
    let store = TestStore { backend: Backend::Sqlite, dir: TempDir::new("cli-cfg"), pg: None };
    let hd = Haidang { store: &store };
    let file = store.dir.0.join("haidang.toml");
    std::fs::write(&file, "[server]\nlistn = \"0.0.0.0:80\"\n").unwrap();
    let err = hd.fails(&["--config", file.to_str().unwrap(), "migrate"], None);
    assert!(err.contains("server.listn") && err.contains("unknown key"), "{err}");

    std::fs::write(&file, "[server\nlisten = 1").unwrap();
    let err = hd.fails(&["--config", file.to_str().unwrap(), "migrate"], None);
    assert!(err.contains("haidang.toml"), "a syntax error names the file: {err}");

    std::fs::write(&file, "[auth]\nlockout_minutes = \"soon\"\n").unwrap();
    let err = hd.fails(&["--config", file.to_str().unwrap(), "migrate"], None);
    assert!(err.contains("auth.lockout_minutes"), "{err}");

    let r = Command::new(env!("CARGO_BIN_EXE_haidang"))
        .args(["--data-dir", store.dir.0.to_str().unwrap(), "migrate"])
        .env("HAIDANG__SERVER__LISTEN", "nowhere")
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("server.listen"));
    // Nothing was created by a configuration that did not load.
    assert!(!store.dir.0.join("haidang.db").exists());

    // The default configuration parses back and carries no secret.
    let text = hd.ok(&["print-default-config"], None);
    let parsed: toml::Table = toml::from_str(&text).unwrap();
    assert!(parsed.contains_key("storage") && parsed.contains_key("auth"));
}

#[tokio::test]
async fn secrets_in_the_database_url_are_never_printed() {
    let Some(url) = crate::harness::service_url("HAIDANG_TEST_POSTGRES_URL") else { return };
    let pg = crate::harness::PgDatabase::create().await;
    // PostgreSQL here trusts loopback, so a made-up password still connects.
    let with_password = pg.url.replacen("postgres://postgres@", "postgres://postgres:hunter2-secret@", 1);
    assert_ne!(with_password, pg.url, "expected a postgres://postgres@ URL, got {url}");
    let dir = TempDir::new("cli-secret");
    let out = Command::new(env!("CARGO_BIN_EXE_haidang"))
        .args(["--data-dir", dir.0.to_str().unwrap(), "migrate"])
        .env("HAIDANG__STORAGE__DATABASE_URL", &with_password)
        .env("HAIDANG__LOG__LEVEL", "debug")
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("hunter2-secret"), "the password leaked: {all}");
}

#[tokio::test]
async fn an_operator_manages_accounts_tokens_and_the_audit_trail_from_the_command_line() {
    for backend in backends() {
        let store = TestStore::new(backend).await;
        let hd = Haidang { store: &store };
        hd.ok(&["migrate"], None);
        hd.ok(
            &[
                "org",
                "create",
                "--code",
                "ioc",
                "--name",
                "Trung tâm IOC",
                "--kind",
                "operating_unit",
                "--duty-phone",
                "0213 000 0199",
            ],
            None,
        );
        assert!(hd.ok(&["org", "list"], None).contains("Trung tâm IOC"));
        let create = [
            "user",
            "create",
            "--username",
            "nguyenvana",
            "--org",
            "ioc",
            "--role",
            "operator",
            "--password-stdin",
            "--reason",
            "nhân sự mới",
            "--request-ref",
            "15/TTGS",
        ];
        // Without --password-stdin the password is never taken; a weak one is refused.
        let err = hd.fails(&create[..create.len() - 5], None);
        assert!(err.contains("--password-stdin"), "{err}");
        let err = hd.fails(&create, Some("short\n"));
        assert!(err.contains("12"), "the rule is named: {err}");
        hd.ok(&create, Some("Mật khẩu ban đầu 2026\n"));
        let err = hd.fails(&create, Some("Mật khẩu ban đầu 2026\n"));
        assert!(err.contains("nguyenvana"), "a duplicate username is named: {err}");

        // A token is printed once, on stdout alone; the list never shows it.
        let token = hd
            .ok(&["token", "issue", "--user", "nguyenvana", "--scope", "read", "--expires-in", "30d"], None);
        let token = token.trim().to_string();
        assert!(token.len() >= 32, "{token}");
        let list = hd.ok(&["token", "list"], None);
        assert!(list.contains("nguyenvana") && !list.contains(&token), "{list}");
        let err = hd.fails(
            &["token", "issue", "--user", "nguyenvana", "--scope", "read", "--expires-in", "mãi mãi"],
            None,
        );
        assert!(err.contains("mãi mãi"), "{err}");

        // Lifecycle: a lock needs its reason and written request.
        let r = hd.run(&["user", "lock", "nguyenvana"], None);
        assert!(!r.ok && r.stderr.contains("--reason"), "{}", r.stderr);
        hd.ok(&["user", "lock", "nguyenvana", "--reason", "nghỉ việc", "--request-ref", "20/TTGS"], None);
        let users = hd.ok(&["user", "list"], None);
        let line = users.lines().find(|l| l.starts_with("nguyenvana")).unwrap();
        assert!(line.contains("locked"), "{line}");
        hd.ok(&["user", "unlock", "nguyenvana", "--reason", "đi làm lại", "--request-ref", "21/TTGS"], None);
        hd.ok(
            &[
                "user",
                "set-password",
                "nguyenvana",
                "--password-stdin",
                "--reason",
                "quên mật khẩu",
                "--request-ref",
                "22/TTGS",
            ],
            Some("Mật khẩu mới cấp lại 2026\n"),
        );
        hd.ok(
            &["user", "revoke", "nguyenvana", "--reason", "chuyển công tác", "--request-ref", "23/TTGS"],
            None,
        );

        // Every step above is in an intact chain.
        let verified = hd.ok(&["audit", "verify"], None);
        assert!(verified.contains("intact"), "{verified}");
        let state = haidang::setup::build_state(store.config()).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'user.%' OR action LIKE 'token.%'",
        )
        .fetch_one(state.store.pool())
        .await
        .unwrap();
        assert!(n >= 6, "{n}");
        // Tampering is named.
        match backend {
            Backend::Sqlite => {
                sqlx::query("DROP TRIGGER audit_log_no_update").execute(state.store.pool()).await.unwrap();
            }
            Backend::Postgres => {
                sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER USER")
                    .execute(state.store.pool())
                    .await
                    .unwrap();
            }
        }
        sqlx::query("UPDATE audit_log SET outcome = 'failure' WHERE seq = 2")
            .execute(state.store.pool())
            .await
            .unwrap();
        state.store.close().await;
        let err = hd.fails(&["audit", "verify"], None);
        assert!(err.contains("record 2"), "{err}");
    }
}

#[tokio::test]
async fn units_import_names_the_bad_feature_and_imports_nothing() {
    for backend in backends() {
        let store = TestStore::new(backend).await;
        let hd = Haidang { store: &store };
        let file = store.dir.0.join("units.geojson");
        let square =
            r#"{"type":"Polygon","coordinates":[[[103.3,22.4],[103.4,22.4],[103.4,22.5],[103.3,22.4]]]}"#;
        std::fs::write(
            &file,
            format!(
                r#"{{"type":"FeatureCollection","features":[
                {{"type":"Feature","properties":{{"code":"03388"}},"geometry":{square}}},
                {{"type":"Feature","properties":{{"code":"03390"}},"geometry":null}}]}}"#
            ),
        )
        .unwrap();
        let err = hd.fails(&["units", "import", file.to_str().unwrap()], None);
        assert!(err.contains("feature 2 (code 03390)") && err.contains("no geometry"), "{err}");
        let state = haidang::setup::build_state(store.config()).await.unwrap();
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM units").fetch_one(state.store.pool()).await.unwrap();
        assert_eq!(n, 0, "nothing imported");
        state.store.close().await;

        std::fs::write(
            &file,
            format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"code":"03388"}},"geometry":{square}}}]}}"#),
        )
        .unwrap();
        let out = hd.ok(&["units", "import", file.to_str().unwrap()], None);
        assert!(out.contains("imported 1 units (1 parent provinces"), "{out}");
    }
}

#[tokio::test]
async fn backup_and_restore_from_the_command_line() {
    let source = TestStore::new(Backend::Sqlite).await;
    let hd = Haidang { store: &source };
    hd.ok(&["org", "create", "--code", "ioc", "--name", "Trung tâm IOC", "--kind", "operating_unit"], None);
    let archive = source.dir.0.join("backup.jsonl.gz");
    hd.ok(&["backup", "--out", archive.to_str().unwrap()], None);
    for backend in backends() {
        let target = TestStore::new(backend).await;
        std::fs::copy(source.config().audit_key_file(), target.config().audit_key_file()).unwrap();
        let hd2 = Haidang { store: &target };
        let out = hd2.ok(&["restore", archive.to_str().unwrap()], None);
        assert!(out.contains("restored"), "{out}");
        assert!(hd2.ok(&["org", "list"], None).contains("Trung tâm IOC"));
        assert!(hd2.ok(&["audit", "verify"], None).contains("intact"));
        let err = hd2.fails(&["restore", archive.to_str().unwrap()], None);
        assert!(err.contains("not empty"), "{err}");
    }
}

/// Reads the child's stdout until the server says it is listening; returns what it printed.
fn wait_until_listening(child: &mut std::process::Child) -> (String, String) {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let mut printed = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(url) = line.strip_prefix("Hải Đăng is listening on ") {
            return (printed, url.trim().to_string());
        }
    }
    panic!("the server stopped before listening:\n{printed}");
}

fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn serve_demo_prints_passwords_once_logs_json_with_request_ids_and_stops_on_sigterm() {
    let dir = TempDir::new("cli-serve");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_haidang"))
            .args(["--data-dir", dir.0.to_str().unwrap(), "serve", "--demo", "--listen", "127.0.0.1:0"])
            .env_remove("HAIDANG__STORAGE__DATABASE_URL")
            .env("HAIDANG__LOG__FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = start();
    let (printed, url) = wait_until_listening(&mut child);
    for role in ["admin", "supervisor", "operator", "leader", "officer", "auditor"] {
        assert!(printed.lines().any(|l| l.trim_start().starts_with(role)), "{role} missing from:\n{printed}");
    }
    let res = reqwest::Client::new()
        .get(format!("{url}/readyz"))
        .header("x-request-id", "yeu-cau-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "SIGTERM is a clean stop");
    let logs = String::from_utf8_lossy(&out.stderr);
    let line = logs
        .lines()
        .find(|l| l.contains("yeu-cau-7f3a"))
        .unwrap_or_else(|| panic!("no log line with the request id:\n{logs}"));
    let parsed: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(parsed["span"]["request_id"], "yeu-cau-7f3a", "{parsed}");

    // The second start finds the accounts and prints no password.
    let mut child = start();
    let (printed, _) = wait_until_listening(&mut child);
    assert!(!printed.contains("admin "), "passwords are shown only at the first start:\n{printed}");
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
}
