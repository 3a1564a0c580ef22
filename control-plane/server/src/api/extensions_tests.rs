//! Tests of `extensions.rs` (kept in their own file to keep that one short).
use axum::http::Method;
use serde_json::json;

use super::*;
use crate::api::testkit::TestApp;

#[tokio::test]
async fn crud_with_write_only_secrets() {
    let app = TestApp::new().await;
    let admin = app.token("admin").await;
    let body = json!({"number": "1003", "name": "Carol", "secret": "carol-secret-1", "voicemail_pin": "4321"});
    let (status, _, v) = app
        .send(
            Method::POST,
            "/api/v1/extensions",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["number"], "1003");
    assert_eq!(v["has_voicemail_pin"], true);
    assert!(
        v.get("secret").is_none() && v.get("voicemail_pin").is_none(),
        "{v}"
    );
    let stored = app
        .state
        .store()
        .get_extension("1003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.secret, "carol-secret-1");

    let (status, _, v) = app
        .send(Method::POST, "/api/v1/extensions", Some(&admin), Some(body))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    assert_eq!(v["error"]["field"], "number");

    let (status, v) = app.get("/api/v1/extensions?search=car", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (v["total"].as_u64(), v["items"][0]["name"].as_str()),
        (Some(1), Some("Carol"))
    );
    let (_, v) = app.get("/api/v1/extensions?limit=2&offset=1", &admin).await;
    assert_eq!(
        (v["total"].as_u64(), v["items"].as_array().unwrap().len()),
        (Some(3), 2)
    );
    assert_eq!(v["items"][0]["number"], "1002");

    let patch = json!({"name": "Carol B", "voicemail_pin": null, "enabled": false, "secret": "new-secret-99"});
    let (status, _, v) = app
        .send(
            Method::PATCH,
            "/api/v1/extensions/1003",
            Some(&admin),
            Some(patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["name"].as_str(),
            v["has_voicemail_pin"].as_bool(),
            v["enabled"].as_bool()
        ),
        (Some("Carol B"), Some(false), Some(false))
    );
    assert_eq!(
        app.state
            .store()
            .get_extension("1003")
            .await
            .unwrap()
            .unwrap()
            .secret,
        "new-secret-99"
    );
    let (_, v) = app.get("/api/v1/extensions?enabled=false", &admin).await;
    assert_eq!(v["total"], 1);

    let (status, _, _) = app
        .send(
            Method::DELETE,
            "/api/v1/extensions/1003",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, v) = app.get("/api/v1/extensions/1003", &admin).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let audit = app
        .state
        .store()
        .list_audit(&Default::default())
        .await
        .unwrap();
    let acts: Vec<_> = audit
        .items
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    for a in ["extension.create", "extension.update", "extension.delete"] {
        assert!(acts.contains(&(a, "admin")), "{acts:?}");
    }
    assert!(
        !serde_json::to_string(&audit.items.iter().map(|e| &e.detail).collect::<Vec<_>>())
            .unwrap()
            .contains("new-secret-99")
    );
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let app = TestApp::new().await;
    let admin = app.token("admin").await;
    let cases = [
        (
            json!({"number": "10 03", "name": "X", "secret": "long-enough"}),
            "number",
        ),
        (
            json!({"number": "1003", "name": "", "secret": "long-enough"}),
            "name",
        ),
        (
            json!({"number": "1003", "name": "X", "secret": "short"}),
            "secret",
        ),
        (
            json!({"number": "1003", "name": "X", "secret": "long-enough", "voicemail_pin": "12"}),
            "voicemail_pin",
        ),
        (json!({"number": "1003", "name": "X"}), "secret"),
        (
            json!({"number": 1003, "name": "X", "secret": "long-enough"}),
            "number",
        ),
        (
            json!({"number": "1003", "name": "X", "secret": "long-enough", "colour": "red"}),
            "colour",
        ),
        (
            json!({"number": "1003", "name": "X", "secret": "long-enough", "max_concurrent_calls": -1}),
            "max_concurrent_calls",
        ),
    ];
    for (body, field) in cases {
        let (status, _, v) = app
            .send(
                Method::POST,
                "/api/v1/extensions",
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["code"], "validation_failed");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (status, v) = app.get("/api/v1/extensions?limit=0", &admin).await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let (status, v) = app.get("/api/v1/extensions?enabled=maybe", &admin).await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("enabled"))
    );
    assert_eq!(app.state.store().count_extensions().await.unwrap(), 2);
}

#[tokio::test]
async fn users_see_and_change_only_their_own_pin() {
    let app = TestApp::new().await;
    let alice = app.token("alice").await;
    let ops = app.token("ops").await;
    let (_, v) = app.get("/api/v1/extensions", &alice).await;
    assert_eq!(
        (v["total"].as_u64(), v["items"][0]["number"].as_str()),
        (Some(1), Some("1001"))
    );
    assert_eq!(
        app.get("/api/v1/extensions/1002", &alice).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _, v) = app
        .send(
            Method::PATCH,
            "/api/v1/extensions/1001",
            Some(&alice),
            Some(json!({"voicemail_pin": "2468"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["has_voicemail_pin"], true);
    let (status, _, v) = app
        .send(
            Method::PATCH,
            "/api/v1/extensions/1001",
            Some(&alice),
            Some(json!({"secret": "sneaky-change"})),
        )
        .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("secret"))
    );
    let (status, _, _) = app
        .send(
            Method::PATCH,
            "/api/v1/extensions/1002",
            Some(&alice),
            Some(json!({"voicemail_pin": "2468"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .send(
            Method::PATCH,
            "/api/v1/extensions/1001",
            Some(&ops),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators read only");
    assert_eq!(app.get("/api/v1/extensions", &ops).await.1["total"], 2);
}

#[test]
fn rules_are_the_configuration_rules() {
    assert!(check_fields("1001", Some("Alice"), Some("long-enough"), Some("1234")).is_ok());
    assert!(check_fields("1001", None, None, None).is_ok());
    let cases = [
        (check_fields("", None, None, None), "number"),
        (check_fields("10 01", None, None, None), "number"),
        (check_fields("1001", Some(""), None, None), "name"),
        (check_fields("1001", None, Some("short"), None), "secret"),
        (
            check_fields("1001", None, None, Some("12a4")),
            "voicemail_pin",
        ),
    ];
    for (result, field) in cases {
        let e = result.unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{}", e.message);
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!e.message.contains("extensions[0]"), "{}", e.message);
    }
}
