//! A mail server for tests: speaks enough SMTP on 127.0.0.1 to take messages from a real client
//! (the server's mailer), keeps each with its envelope, and can refuse the first few with a
//! temporary error, as a busy relay does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent, headers and body, without the final dot.
    pub data: String,
}

pub struct SmtpSink {
    pub url: String,
    taken: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Takes every message after refusing the first `refuse` with 451.
    pub async fn start(refuse: usize) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let taken = Arc::new(Mutex::new(Vec::new()));
        let refusals = Arc::new(Mutex::new(refuse));
        let kept = taken.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (kept, refusals) = (kept.clone(), refusals.clone());
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                    let mut mail = Mail { from: String::new(), to: vec![], data: String::new() };
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
                            "HELO" | "RSET" | "NOOP" => b"250 OK\r\n",
                            "MAIL" => {
                                mail.from = line[10..].trim().to_string();
                                b"250 OK\r\n"
                            }
                            "RCPT" => {
                                mail.to.push(line[8..].trim().to_string());
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                let _ = write.write_all(b"354 go on\r\n").await;
                                let mut data = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                                    data.push('\n');
                                }
                                let refuse = {
                                    let mut r = refusals.lock().unwrap();
                                    let refuse = *r > 0;
                                    *r = r.saturating_sub(1);
                                    refuse
                                };
                                if refuse {
                                    b"451 try again later\r\n"
                                } else {
                                    mail.data = data;
                                    kept.lock().unwrap().push(mail.clone());
                                    b"250 queued\r\n"
                                }
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"502 not here\r\n",
                        };
                        if write.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SmtpSink { url, taken }
    }

    pub fn taken(&self) -> Vec<Mail> {
        self.taken.lock().unwrap().clone()
    }

    /// Waits until `n` messages were taken, for at most `secs` seconds.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Mail> {
        for _ in 0..secs * 10 {
            if self.taken().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.taken()
    }
}
