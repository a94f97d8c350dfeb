//! `/metrics`: what operators alert on, with bounded labels.

use crate::helpers::*;

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_cover_requests_cache_upstream_and_token() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(3, 17_900_000_000_020_000), 100, 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    let first = app.get("/images").await;
    let etag = first.headers()["etag"].clone();
    app.get("/images").await;
    app.http
        .get(app.url("/images"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    app.get("/images?limit=0").await;
    app.get("/nope/17900000000000001?secret=1").await;
    app.http
        .request("FOO".parse().unwrap(), app.url("/images"))
        .send()
        .await
        .unwrap();

    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        value(
            &text,
            r#"igw_http_requests_total{method="GET",route="/images",status="200"}"#
        )
        .unwrap()
            >= 2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"igw_http_requests_total{method="GET",route="/images",status="400"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            r#"igw_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    assert!(
        value(
            &text,
            r#"igw_http_requests_total{method="other",route="unmatched",status="405"}"#
        )
        .is_some()
            || value(
                &text,
                r#"igw_http_requests_total{method="other",route="/images",status="405"}"#
            )
            .is_some(),
        "{text}"
    );
    assert!(
        !text.contains("nope") && !text.contains("secret"),
        "raw paths never become labels"
    );
    assert!(
        text.contains(r#"igw_http_request_duration_seconds_bucket{method="GET",route="/images""#)
    );
    assert_eq!(
        value(&text, r#"igw_feed_responses_total{result="miss"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"igw_feed_responses_total{result="hit"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"igw_feed_responses_total{result="not_modified"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            r#"igw_upstream_requests_total{endpoint="media",outcome="ok"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"igw_feed_snapshot_items{account="default"}"#),
        Some(3.0)
    );
    assert!(
        value(
            &text,
            r#"igw_feed_last_sync_success_timestamp_seconds{account="default"}"#
        )
        .unwrap()
            > 1.7e9
    );
    assert!(
        value(
            &text,
            r#"igw_feed_sync_duration_seconds_count{account="default"}"#
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        value(&text, r#"igw_reauth_required{account="default"}"#),
        Some(0.0)
    );
    let expiry = value(&text, r#"igw_token_expiry_seconds{account="default"}"#).unwrap();
    assert!(
        (57.0 * 86400.0..=58.0 * 86400.0).contains(&expiry),
        "{expiry}"
    );
    assert!(value(&text, "igw_feed_cache_bytes").unwrap() > 0.0);
}

#[tokio::test]
async fn reauth_required_is_1_without_a_usable_token() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(quiet_feed).await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        value(&text, r#"igw_reauth_required{account="default"}"#),
        Some(1.0)
    );
}
