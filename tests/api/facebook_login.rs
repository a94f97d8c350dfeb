//! Accounts connected through Facebook Login: the login (one Page, several, none), the token's
//! lifecycle (no server refresh, warnings a week ahead) and the account's own media read from
//! graph.facebook.com.

use serde_json::{Value, json};
use wiremock::Mock;
use wiremock::matchers::{method, path};

use crate::helpers::*;

async fn callback_for(app: &TestApp, slug: &str) -> reqwest::Response {
    let state = app.account_state(slug).await;
    app.callback(&[("code", FB_CODE), ("state", &state)]).await
}

#[tokio::test]
async fn the_reauth_url_is_facebooks_login_dialog_with_a_one_time_state() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(quiet_feed).await;
    app.create_facebook_account("tags").await;

    let response = app.admin_post("/admin/accounts/tags/reauth").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/v25.0/dialog/oauth");
    assert_eq!(query_value(&url, "client_id").as_deref(), Some(FB_APP_ID));
    assert_eq!(query_value(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query_value(&url, "scope").as_deref(),
        Some("instagram_basic,pages_show_list,business_management")
    );
    assert_eq!(
        query_value(&url, "redirect_uri").unwrap(),
        format!("{}/oauth/callback", app.address)
    );
    assert_eq!(query_value(&url, "state").unwrap().len(), 43);

    let account: Value = app
        .admin_get("/admin/accounts/tags")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(account["login"], "facebook");
}

#[tokio::test]
async fn a_login_with_one_linked_page_connects_that_account_and_syncs_from_graph_facebook() {
    let env = TestEnv::new().await;
    mount_facebook_login(
        &env.upstream,
        vec![
            fb_page("101", "Acme without Instagram", None),
            fb_page(
                "102",
                "Acme Tags",
                Some((IG_BUSINESS_ID, IG_BUSINESS_USERNAME)),
            ),
        ],
    )
    .await;
    mount_facebook_media(
        &env.upstream,
        IG_BUSINESS_ID,
        vec![
            image_post(1801, 1, Some("first #coffee")),
            image_post(1800, 2, None),
        ],
        1,
    )
    .await;
    let app = env.spawn_with(quiet_feed).await;
    app.create_facebook_account("tags").await;

    let response = callback_for(&app, "tags").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("@acme.tags"), "{page}");
    assert!(page.contains("cannot be refreshed"), "{page}");

    let record = env.stored_token_of("tags").await.expect("token stored");
    assert_eq!(record.user_id, IG_BUSINESS_ID);
    assert_eq!(record.app_scoped_user_id.as_deref(), Some(FB_USER_ID));
    assert_eq!(record.login, instagram_gateway::instagram::Login::Facebook);
    let days = (record.expires_at - chrono::Utc::now()).num_days();
    assert!((59..=60).contains(&days), "~60 days, got {days}");

    // The first sync reads the account's own media from /{ig-user-id}/media.
    let images = eventually_ok(&app, "/accounts/tags/images").await;
    let ids: Vec<&str> = images["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1801", "1800"]);
    assert_eq!(calls_to(&env.upstream, "/v25.0/me/media").await, 0);
}

#[tokio::test]
async fn a_login_with_several_linked_pages_asks_which_account_once() {
    let env = TestEnv::new().await;
    // Two logins, each of them once.
    let pages = vec![
        fb_page(
            "102",
            "Acme Tags",
            Some((IG_BUSINESS_ID, IG_BUSINESS_USERNAME)),
        ),
        fb_page("103", "Acme Second", Some((IG_OTHER_ID, IG_OTHER_USERNAME))),
    ];
    fb_code_exchange(2).mount(&env.upstream).await;
    fb_long_lived(2).mount(&env.upstream).await;
    fb_pages(pages, 2).mount(&env.upstream).await;
    fb_me(2).mount(&env.upstream).await;
    let app = env.spawn_with(quiet_feed).await;
    app.create_facebook_account("tags").await;

    let response = callback_for(&app, "tags").await;
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("form-action 'self'"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("@acme.tags") && page.contains("@acme.second"),
        "{page}"
    );
    assert!(
        env.stored_token_of("tags").await.is_none(),
        "nothing stored before the choice"
    );
    let choice = page
        .split("name=\"choice\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    let choose = |account: &'static str, choice: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/oauth/choose"))
                .form(&[("choice", choice.as_str()), ("account", account)])
                .send()
                .await
                .unwrap()
        }
    };
    // An account the login did not offer is refused, and burns the choice.
    let refused = choose("17841499999999999", choice.clone()).await;
    assert_problem(refused, 400, "invalid_choice").await;
    let replay = choose(IG_OTHER_ID, choice.clone()).await;
    assert_problem(replay, 400, "invalid_choice").await;
    assert!(env.stored_token_of("tags").await.is_none());

    // A second login, then the pick.
    let page = callback_for(&app, "tags").await.text().await.unwrap();
    let choice = page
        .split("name=\"choice\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let chosen = choose(IG_OTHER_ID, choice.clone()).await;
    assert_eq!(chosen.status(), 200);
    assert!(chosen.text().await.unwrap().contains("@acme.second"));
    let record = env.stored_token_of("tags").await.unwrap();
    assert_eq!(record.user_id, IG_OTHER_ID);
    assert_eq!(record.username.as_deref(), Some(IG_OTHER_USERNAME));
    // Used once.
    assert_problem(choose(IG_OTHER_ID, choice).await, 400, "invalid_choice").await;
}

#[tokio::test]
async fn a_login_without_linked_pages_explains_how_to_link_one_and_stores_nothing() {
    let env = TestEnv::new().await;
    mount_facebook_login(&env.upstream, vec![fb_page("101", "Acme Page", None)]).await;
    let app = env.spawn_with(quiet_feed).await;
    app.create_facebook_account("tags").await;

    let response = callback_for(&app, "tags").await;
    assert_eq!(response.status(), 409);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Linked accounts"), "{page}");
    assert!(env.stored_token_of("tags").await.is_none());
}

#[tokio::test]
async fn a_facebook_token_is_never_refreshed_and_warns_a_week_before_it_expires() {
    let env = TestEnv::new().await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .respond_with(refreshed())
        .expect(0)
        .mount(&env.upstream)
        .await;
    let app = env.spawn_with(quiet_feed).await;
    app.create_facebook_account("tags").await;
    env.store_facebook_token("tags", 5).await;

    let account: Value = app
        .admin_get("/admin/accounts/tags")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(account["token"]["state"], "valid");
    assert_eq!(account["token"]["expires_soon"], true);
    assert_eq!(account["token"]["login"], "facebook");
    assert_eq!(account["token"]["reauth_required"], false);

    let refresh = app.admin_post("/admin/accounts/tags/token/refresh").await;
    assert_problem(refresh, 409, "token_not_refreshable").await;

    // Past its expiry: re-authorization required.
    env.store_facebook_token("tags", -1).await;
    let account: Value = app
        .admin_get("/admin/accounts/tags")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(account["token"]["state"], "expired");
    assert_eq!(account["token"]["reauth_required"], true);
}

#[tokio::test]
async fn a_facebook_account_needs_the_facebook_app_configured() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(|s| s.facebook.app = None).await;
    let response = app
        .admin_send(
            reqwest::Method::POST,
            "/admin/accounts",
            Some(json!({"slug": "tags", "login": "facebook"})),
        )
        .await;
    assert_problem(response, 409, "facebook_not_configured").await;
    let response = app
        .admin_send(
            reqwest::Method::POST,
            "/admin/accounts",
            Some(json!({"slug": "tags", "login": "myspace"})),
        )
        .await;
    assert_eq!(response.status(), 400);
}

/// `path` once it answers 200 (the first sync runs in the background).
async fn eventually_ok(app: &TestApp, path: &str) -> Value {
    for _ in 0..100 {
        let response = app.get(path).await;
        if response.status() == 200 {
            return response.json().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never answered 200");
}

#[tokio::test]
async fn metas_deauthorize_callback_of_the_facebook_app_forgets_that_users_account() {
    let env = TestEnv::new().await;
    mount_facebook_login(
        &env.upstream,
        vec![fb_page(
            "102",
            "Acme Tags",
            Some((IG_BUSINESS_ID, IG_BUSINESS_USERNAME)),
        )],
    )
    .await;
    let app = env.spawn_with(quiet_feed).await;
    app.create_facebook_account("tags").await;
    assert_eq!(callback_for(&app, "tags").await.status(), 200);
    assert!(env.stored_token_of("tags").await.is_some());

    let signed = |user_id: &str, secret: &str| {
        let issued_at = chrono::Utc::now().timestamp() + 1;
        instagram_gateway::auth::signed_request::sign(
            &format!(
                r#"{{"user_id":"{user_id}","algorithm":"HMAC-SHA256","issued_at":{issued_at}}}"#
            ),
            secret.as_bytes(),
        )
    };
    // Signed with neither app's secret: refused, nothing deleted.
    let forged = app
        .post_signed_request("/oauth/deauthorize", &signed(FB_USER_ID, "wrong-secret"))
        .await;
    assert_problem(forged, 400, "invalid_signed_request").await;
    assert!(env.stored_token_of("tags").await.is_some());

    // The Facebook app's callback names the Facebook user.
    let response = app
        .post_signed_request("/oauth/deauthorize", &signed(FB_USER_ID, FB_APP_SECRET))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        env.stored_token_of("tags").await.is_none(),
        "token forgotten"
    );
}
