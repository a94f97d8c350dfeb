//! The committed `openapi/openapi.json` is the code's spec. Regenerate with
//! `UPDATE_OPENAPI=1 cargo test --test api openapi`.

use std::path::Path;

use crate::helpers::TestEnv;

#[test]
fn committed_openapi_matches_the_code() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let generated = instagram_gateway::api::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale; regenerate it with: UPDATE_OPENAPI=1 cargo test --test api openapi"
    );
}

#[test]
fn every_operation_documents_problems_and_admin_needs_the_bearer() {
    let api = serde_json::to_value(instagram_gateway::api::openapi()).unwrap();
    assert!(api["components"]["securitySchemes"]["admin_bearer"].is_object());
    assert!(api["components"]["schemas"]["Problem"].is_object());
    for (path, item) in api["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            if path.starts_with("/admin") {
                assert!(
                    op["security"][0]["admin_bearer"].is_array(),
                    "{verb} {path} lacks the bearer"
                );
                assert!(op["responses"]["401"].is_object(), "{id} lacks 401");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{id} {status} is not a problem"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_spec_and_docs_are_served() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let spec: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(
        spec,
        serde_json::to_value(instagram_gateway::api::openapi()).unwrap()
    );
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}
