//! Webhook receivers (wiremock), the admin calls of `/admin/webhooks`, and the independent
//! signature check: the `standardwebhooks` package from PyPI, run by `IGW_TEST_PYTHON`.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use instagram_gateway::config::Settings;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::app::{TestApp, eventually_within};

/// Webhook settings for tests: a receiver on this machine, quick polls.
pub fn local_webhooks(s: &mut Settings) {
    s.webhooks.allow_insecure = true;
    s.webhooks.allow_private_networks = true;
    s.webhooks.poll_interval = Duration::from_millis(50);
}

/// A receiver answering `status` to every POST on `/hook`.
pub async fn start_receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

pub fn hook_url(receiver: &MockServer) -> String {
    format!("{}/hook", receiver.uri())
}

/// The POSTs a receiver got.
pub async fn received(receiver: &MockServer) -> Vec<wiremock::Request> {
    receiver.received_requests().await.unwrap_or_default()
}

/// Waits until the receiver got `n` requests (10 s at most).
pub async fn wait_for_requests(receiver: &MockServer, n: usize) -> Vec<wiremock::Request> {
    eventually_within(
        &format!("{n} webhook request(s)"),
        Duration::from_secs(10),
        || async { received(receiver).await.len() >= n },
    )
    .await;
    received(receiver).await
}

/// A received request's JSON body.
pub fn json_body(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

pub fn header<'r>(request: &'r wiremock::Request, name: &str) -> &'r str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

impl TestApp {
    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Registers an endpoint; returns its id and secret.
    pub async fn create_webhook(&self, url: &str, events: &[&str]) -> (String, String) {
        self.create_webhook_with(json!({"url": url, "events": events}))
            .await
    }

    /// Registers the endpoint `body` describes; returns its id and secret.
    pub async fn create_webhook_with(&self, body: Value) -> (String, String) {
        let response = self
            .admin_send(reqwest::Method::POST, "/admin/webhooks", Some(body))
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        (
            body["id"].as_str().unwrap().to_owned(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// `GET /admin/webhooks/{id}` → the endpoint.
    pub async fn webhook(&self, id: &str) -> Value {
        let response = self.admin_get(&format!("/admin/webhooks/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// `GET /admin/webhooks/{id}/deliveries` → the list.
    pub async fn deliveries(&self, id: &str) -> Vec<Value> {
        let response = self
            .admin_get(&format!("/admin/webhooks/{id}/deliveries"))
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["deliveries"].as_array().unwrap().clone()
    }

    /// Waits (10 s at most) until the endpoint's newest delivery satisfies `check`; returns it.
    pub async fn wait_for_delivery(
        &self,
        id: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let newest = self.deliveries(id).await.into_iter().next();
            match newest {
                Some(delivery) if check(&delivery) => return delivery,
                newest if tokio::time::Instant::now() >= deadline => {
                    panic!("timed out waiting for {what}; the newest delivery: {newest:?}")
                }
                _ => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
    }

    /// Asserts the receiver of endpoint `id` got events of the `expected` types, in order, and
    /// nothing else before a test event sent now: whatever was noticed again in between did
    /// not emit again.
    pub async fn assert_only_events(&self, receiver: &MockServer, id: &str, expected: &[&str]) {
        self.send_test_event(id).await;
        let requests = wait_for_requests(receiver, expected.len() + 1).await;
        let kinds: Vec<String> = requests
            .iter()
            .map(|r| json_body(r)["type"].as_str().unwrap().to_owned())
            .collect();
        let mut want = expected.to_vec();
        want.push("webhook.test");
        assert_eq!(kinds, want);
    }

    pub async fn send_test_event(&self, id: &str) -> String {
        let response = self.admin_post(&format!("/admin/webhooks/{id}/test")).await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        body["event_id"].as_str().unwrap().to_owned()
    }
}

/// Verifies a received request with the `standardwebhooks` package (PyPI), as a receiver
/// would: true when it accepts the signature.
pub fn verified_by_standardwebhooks(secret: &str, request: &wiremock::Request) -> bool {
    let python = std::env::var("IGW_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/ci-venv/bin/python").to_owned()
    });
    let headers = json!({
        "webhook-id": header(request, "webhook-id"),
        "webhook-timestamp": header(request, "webhook-timestamp"),
        "webhook-signature": header(request, "webhook-signature"),
    });
    let script = "import sys, json\n\
                  from standardwebhooks.webhooks import Webhook\n\
                  Webhook(sys.argv[1]).verify(sys.stdin.buffer.read(), json.loads(sys.argv[2]))\n";
    let mut child = Command::new(&python)
        .args(["-c", script, secret, &headers.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} (set IGW_TEST_PYTHON to a Python with standardwebhooks installed, or run scripts/test.sh): {e}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&request.body)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "standardwebhooks is not installed for {python}: {stderr}"
    );
    output.status.success()
}

impl super::app::TestEnv {
    /// Registers an endpoint straight in the store, before any app runs (so that it sees the
    /// first sync of a stored token); returns its id.
    pub async fn create_webhook(&self, url: &str, events: &[&str]) -> String {
        let mut settings = self.settings();
        local_webhooks(&mut settings);
        let webhooks = instagram_gateway::webhooks::Webhooks::new(
            self.store(),
            self.cipher(),
            &settings.webhooks,
            instagram_gateway::webhooks::Clock::system(),
        );
        let new = instagram_gateway::webhooks::NewEndpoint {
            url: url.to_owned(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            accounts: None,
            description: None,
        };
        webhooks.create(new).await.unwrap().0.id
    }
}
