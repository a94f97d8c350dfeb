//! Processes the fault tests control: a private redis-server, a misbehaving upstream.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server of the test's own, on a free port, that can be killed, frozen and restarted.
pub struct RedisProcess {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    aof: bool,
}

impl RedisProcess {
    pub async fn start(aof: bool) -> Self {
        let dir = std::env::temp_dir().join(format!("igw-redis-{}", crate::helpers::unique("")));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self {
            child: None,
            port: free_port(),
            dir,
            aof,
        };
        redis.spawn().await;
        redis
    }

    async fn spawn(&mut self) {
        let appendonly = if self.aof { "yes" } else { "no" };
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", appendonly, "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "kill {signal}");
        }
    }

    /// SIGKILL: gone at once, nothing flushed beyond what AOF already wrote.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.thaw();
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the fake upstream misbehaves.
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Chaos {
    /// A valid one-page media response.
    Healthy = 0,
    /// Accepts, then answers nothing for 30 s.
    Slow = 1,
    /// Accepts and closes the connection at once.
    Reset = 2,
    /// 200 with a body that is not JSON.
    Garbage = 3,
    /// 200 with a 3 MB body.
    Huge = 4,
}

/// A raw HTTP/1.1 server whose behaviour the test switches at run time.
pub struct ChaosServer {
    pub port: u16,
    mode: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

impl ChaosServer {
    pub async fn start(healthy_body: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(Chaos::Healthy as u8));
        let current = mode.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    continue;
                };
                let mode = current.load(Ordering::SeqCst);
                let healthy = healthy_body.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let _ = socket.read(&mut buf).await;
                    let body = match mode {
                        1 => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        2 => return,
                        3 => "{\"data\": [ not json".to_owned(),
                        4 => format!(
                            "{{\"data\":[],\"pad\":\"{}\"}}",
                            "x".repeat(3 * 1024 * 1024)
                        ),
                        _ => healthy,
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                });
            }
        });
        Self { port, mode, task }
    }

    pub fn set(&self, chaos: Chaos) {
        self.mode.store(chaos as u8, Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ChaosServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
