//! A private Dovecot IMAP server for one test (HAIDANG_TEST_DOVECOT names its binary): its own
//! configuration, port, account and maildir in a temporary folder, stopped and removed after.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command};
use std::time::Duration;

use futures_util::TryStreamExt;

use crate::harness::{service_url, TempDir};

pub const USER: &str = "phananh";
pub const PASSWORD: &str = "mat-khau";

pub struct Dovecot {
    child: Child,
    pub port: u16,
    _dir: TempDir,
}

impl Dovecot {
    pub async fn start() -> Option<Dovecot> {
        let bin = service_url("HAIDANG_TEST_DOVECOT")?;
        let dir = TempDir::new("imap");
        let root = dir.0.display().to_string();
        std::fs::create_dir_all(dir.0.join("home")).unwrap();
        // Mail is kept as the unprivileged user Dovecot switches to; its login processes run as
        // Dovecot's own users: they all need to reach the folder.
        std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.0.join("home"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::write(dir.0.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        std::fs::set_permissions(dir.0.join("users"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let conf = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {root}/run\nstate_dir = {root}/state\n\
             log_path = {root}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             first_valid_uid = 100\nmail_location = maildir:{root}/home/%u/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {root}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={root}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service stats {{\n  unix_listener stats-reader {{\n    mode = 0666\n  }}\n  \
             unix_listener stats-writer {{\n    mode = 0666\n  }}\n}}\n"
        );
        std::fs::write(dir.0.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(bin).arg("-F").arg("-c").arg(dir.0.join("dovecot.conf")).spawn().unwrap();
        // Owned from here: stopped on drop, also when it never answers.
        let dovecot = Dovecot { child, port, _dir: dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(dovecot);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(dovecot._dir.0.join("dovecot.log")).unwrap_or_default();
        panic!("Dovecot did not start: {log}");
    }

    pub fn url(&self, password: &str) -> String {
        format!("imap://{USER}:{password}@127.0.0.1:{}/INBOX", self.port)
    }

    async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        client.login(USER, PASSWORD).await.map_err(|(e, _)| e).unwrap()
    }

    /// Delivers a message to the inbox, as the mail system would.
    pub async fn deliver(&self, raw: &[u8]) {
        let mut s = self.session().await;
        s.append("INBOX", None, None, raw).await.unwrap();
        s.logout().await.unwrap();
    }

    /// How many messages a folder holds (0 when it does not exist).
    pub async fn count(&self, folder: &str) -> usize {
        let mut s = self.session().await;
        let n = match s.select(folder).await {
            Ok(m) => m.exists as usize,
            Err(_) => 0,
        };
        // The bodies are there too, not only the count.
        if n > 0 {
            let fetched: Vec<_> = s.fetch("1:*", "RFC822.SIZE").await.unwrap().try_collect().await.unwrap();
            assert_eq!(fetched.len(), n);
        }
        s.logout().await.unwrap();
        n
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
