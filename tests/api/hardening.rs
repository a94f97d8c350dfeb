//! Findings of the attack run (issue #15): each test fails without its fix.

use crate::helpers::*;

#[tokio::test]
async fn admin_429s_carry_the_sensitive_headers_and_a_truthful_retry_after() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.rate_limit.admin_per_minute = 1;
        })
        .await;
    assert_eq!(app.admin_get("/admin/status").await.status(), 200);
    let limited = app.admin_get("/admin/status").await;
    let headers = limited.headers().clone();
    let body = assert_problem(limited, 429, "rate_limited").await;
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .ends_with(&format!("retry in {retry_after} s")),
        "{body} vs Retry-After: {retry_after}"
    );
}
