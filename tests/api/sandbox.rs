//! The built-in sandbox: `cargo run` connects its account at start-up, and the operator's
//! re-authorization round trip works against it. (Instagram itself is faked with wiremock in
//! every other test; this checks the sandbox, not the service's handling of Instagram.)

use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn sandbox_connects_at_startup_and_reauth_round_trips() {
    let env = TestEnv::new().await;
    let app = env.spawn_sandbox().await;
    let mut connected = false;
    for _ in 0..100 {
        if app.status().await["token"]["state"] == "valid" {
            connected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(connected, "sandbox account connected at start-up");
    let first = app.status().await["token"]["obtained_at"].clone();

    // The operator's browser: open the authorize URL, follow the redirect to the callback.
    let authorize = app.reauth().await;
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/sandbox/oauth/authorize", app.address))
    );
    let redirect = app.http.get(authorize).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/oauth/callback?code=", app.address)),
        "{location}"
    );
    let callback = app
        .http
        .get(location.trim_end_matches("#_"))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 200);
    assert!(callback.text().await.unwrap().contains("@sandbox.gallery"));
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid");
    assert_ne!(
        status["token"]["obtained_at"], first,
        "a new token was stored"
    );
}
