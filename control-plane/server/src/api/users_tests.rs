//! Tests of `users.rs` (kept in their own file to keep that one short).
use axum::http::Method;
use serde_json::json;

use super::*;
use crate::api::testkit::TestApp;

#[tokio::test]
async fn crud_and_last_admin_protection() {
    let app = TestApp::new().await;
    let admin = app.token("admin").await;
    let body = json!({"username": "bob", "password": "bob-password-1", "role": "user", "extension": "1002"});
    let (status, _, v) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["role"].as_str(), v["extension"].as_str()),
        (Some("user"), Some("1002"))
    );
    let bob = v["id"].as_i64().unwrap();
    assert_eq!(
        app.send(Method::POST, "/api/v1/users", Some(&admin), Some(body))
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(app.login("bob", "bob-password-1").await.0, StatusCode::OK);

    let bad = [
        (
            json!({"username": "x y", "password": "long-password", "role": "admin"}),
            "username",
        ),
        (
            json!({"username": "carl", "password": "short", "role": "admin"}),
            "password",
        ),
        (
            json!({"username": "carl", "password": "long-password", "role": "root"}),
            "role",
        ),
        (
            json!({"username": "carl", "password": "long-password", "role": "user"}),
            "extension",
        ),
        (
            json!({"username": "carl", "password": "long-password", "role": "user", "extension": "9"}),
            "extension",
        ),
    ];
    for (body, field) in bad {
        let (status, _, v) = app
            .send(Method::POST, "/api/v1/users", Some(&admin), Some(body))
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{v}"
        );
    }

    let (_, v) = app.get("/api/v1/users?role=user", &admin).await;
    assert_eq!(v["total"], 2);
    let (_, v) = app.get("/api/v1/users?search=BO", &admin).await;
    assert_eq!(v["items"][0]["username"], "bob");

    let patch = json!({"role": "operator", "extension": null, "password": "bob-password-2"});
    let (status, _, v) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{bob}"),
            Some(&admin),
            Some(patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["role"].as_str(), v["extension"].as_str()),
        (Some("operator"), None)
    );
    assert_eq!(app.login("bob", "bob-password-2").await.0, StatusCode::OK);

    // The only admin can neither be demoted, disabled, nor delete itself.
    let me = app
        .state
        .store()
        .get_user_by_name("admin")
        .await
        .unwrap()
        .unwrap()
        .id;
    for patch in [json!({"role": "operator"}), json!({"disabled": true})] {
        let (status, _, v) = app
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{me}"),
                Some(&admin),
                Some(patch),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("last_admin"))
        );
    }
    let (status, _, v) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{me}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("cannot_delete_self"))
    );

    let (status, _, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{bob}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/users/{bob}"), &admin).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, v) = app
        .get("/api/v1/audit?actor=admin&action=user.update", &admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["target"], "bob");
    assert_eq!(v["items"][0]["detail"]["password_changed"], true);
    assert_eq!(v["items"][0]["source_ip"], "127.0.0.1");
    let (_, v) = app
        .get("/api/v1/audit?target=bob&actor=admin", &admin)
        .await;
    assert_eq!(v["total"], 3, "create, update, delete: {v}");
}

#[test]
fn user_names_are_checked() {
    assert!(check_username("ops.team-1@site").is_ok());
    assert_eq!(
        check_username("").unwrap_err().field.as_deref(),
        Some("username")
    );
    assert!(check_username("a b").is_err());
    assert!(check_username(&"x".repeat(65)).is_err());
}

#[test]
fn null_and_absent_differ() {
    let u: UpdateUser = serde_json::from_str(r#"{"extension": null}"#).unwrap();
    assert_eq!(u.extension, Some(None));
    let u: UpdateUser = serde_json::from_str(r#"{}"#).unwrap();
    assert_eq!(u.extension, None);
    let u: UpdateUser = serde_json::from_str(r#"{"extension": "1001"}"#).unwrap();
    assert_eq!(u.extension, Some(Some("1001".into())));
}
