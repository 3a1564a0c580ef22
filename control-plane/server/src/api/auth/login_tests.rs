//! Tests of `login.rs` (kept in their own file to keep that one short).
use axum::http::{header, Method};
use serde_json::Value;

use super::*;
use crate::api::testkit::{TestApp, PASSWORD};

async fn actions(app: &TestApp) -> Vec<String> {
    let page = app
        .state
        .store()
        .list_audit(&Default::default())
        .await
        .unwrap();
    page.items.into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn login_me_and_wrong_credentials() {
    let app = TestApp::new().await;
    let (status, v) = app.login("Admin", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 900);
    assert_eq!(v["user"]["username"], "admin");
    assert_eq!(v["user"]["role"], "admin");
    assert!(v["user"].get("password_hash").is_none());
    let token = v["access_token"].as_str().unwrap();
    let (status, me) = app.get("/api/v1/me", token).await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("admin"))
    );

    let (status, v) = app.login("admin", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "invalid_credentials");
    let (status, v2) = app.login("nobody", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v2, v, "an unknown user looks like a wrong password");

    let (status, _, v) = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"username": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "password");

    let (status, headers, v) = app.send(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    let (status, v) = app.get("/api/v1/me", "not-a-token").await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    let log = actions(&app).await;
    assert!(
        log.contains(&"auth.login".to_owned()) && log.contains(&"auth.login_failed".to_owned()),
        "{log:?}"
    );
}

#[tokio::test]
async fn five_failures_lock_the_account_until_an_admin_unlocks_it() {
    let app = TestApp::new().await;
    let admin = app.token("admin").await;
    for i in 0..MAX_FAILED_LOGINS {
        let (status, _) = app.login("ops", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (status, headers, v) = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"username": "ops", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::LOCKED, "{v}");
    assert_eq!(v["error"]["code"], "account_locked");
    let retry: i64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 800 && retry <= LOCKOUT_SECS, "{retry}");
    let ops = app
        .state
        .store()
        .get_user_by_name("ops")
        .await
        .unwrap()
        .unwrap();
    assert!(ops.locked_until.is_some());

    let (status, v) = app.get(&format!("/api/v1/users/{}", ops.id), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["locked_until"].is_string(), "{v}");
    let (status, _, v) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", ops.id),
            Some(&admin),
            Some(serde_json::json!({"unlock": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["locked_until"], Value::Null);
    assert_eq!(app.login("ops", PASSWORD).await.0, StatusCode::OK);
    assert!(actions(&app)
        .await
        .contains(&"auth.login_refused".to_owned()));
}

#[tokio::test]
async fn logins_are_rate_limited_per_address() {
    let app = TestApp::new().await;
    // A locked account answers without hashing, so the attempts are cheap.
    let ops = app
        .state
        .store()
        .get_user_by_name("ops")
        .await
        .unwrap()
        .unwrap();
    let lock = UserUpdate {
        locked_until: Some(Some(Utc::now() + Duration::minutes(5))),
        ..Default::default()
    };
    app.state.store().update_user(ops.id, &lock).await.unwrap();
    let body = || Some(serde_json::json!({"username": "ops", "password": "x"}));
    for _ in 0..10 {
        let (status, _, _) = app
            .send_from(
                [10, 0, 0, 1],
                Method::POST,
                "/api/v1/auth/login",
                None,
                body(),
            )
            .await;
        assert_eq!(status, StatusCode::LOCKED);
    }
    let (status, headers, v) = app
        .send_from(
            [10, 0, 0, 1],
            Method::POST,
            "/api/v1/auth/login",
            None,
            body(),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["error"]["code"], "rate_limited");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Another address is not affected.
    let (status, _, _) = app
        .send_from(
            [10, 0, 0, 2],
            Method::POST,
            "/api/v1/auth/login",
            None,
            body(),
        )
        .await;
    assert_eq!(status, StatusCode::LOCKED);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_ends_the_session() {
    let app = TestApp::new().await;
    let (_, first) = app.login("admin", PASSWORD).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |t: &str| {
        let body = serde_json::json!({ "refresh_token": t });
        let app = &app;
        async move {
            app.send(Method::POST, "/api/v1/auth/refresh", None, Some(body))
                .await
        }
    };
    let (status, _, second) = refresh(&r1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        app.get("/api/v1/me", second["access_token"].as_str().unwrap())
            .await
            .0,
        StatusCode::OK
    );

    // The used token again: refused, and its successor dies with it.
    let (status, _, v) = refresh(&r1).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_refresh_token"))
    );
    assert_eq!(refresh(&r2).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh("made-up").await.0, StatusCode::UNAUTHORIZED);
    assert!(actions(&app)
        .await
        .contains(&"auth.refresh_reused".to_owned()));

    // Logout ends a session.
    let (_, third) = app.login("admin", PASSWORD).await;
    let r3 = third["refresh_token"].as_str().unwrap();
    let (status, _, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/logout",
            None,
            Some(serde_json::json!({ "refresh_token": r3 })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(refresh(r3).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn own_password_change() {
    let app = TestApp::new().await;
    let (_, session) = app.login("alice", PASSWORD).await;
    let token = session["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        Some(serde_json::json!({"current_password": current, "new_password": new}))
    };
    let (status, _, v) = app
        .send(
            Method::PUT,
            "/api/v1/me/password",
            Some(token),
            change("wrong", "a-new-password"),
        )
        .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("current_password"))
    );
    let (status, _, v) = app
        .send(
            Method::PUT,
            "/api/v1/me/password",
            Some(token),
            change(PASSWORD, "short"),
        )
        .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password"))
    );
    let (status, _, _) = app
        .send(
            Method::PUT,
            "/api/v1/me/password",
            Some(token),
            change(PASSWORD, "a-new-password"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.login("alice", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login("alice", "a-new-password").await.0, StatusCode::OK);
    // The sessions from before the change are over.
    let body = serde_json::json!({ "refresh_token": session["refresh_token"] });
    assert_eq!(
        app.send(Method::POST, "/api/v1/auth/refresh", None, Some(body))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn disabling_an_account_ends_its_access_at_once() {
    let app = TestApp::new().await;
    let admin = app.token("admin").await;
    let ops = app.token("ops").await;
    assert_eq!(app.get("/api/v1/me", &ops).await.0, StatusCode::OK);
    let id = app
        .state
        .store()
        .get_user_by_name("ops")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (status, _, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            Some(serde_json::json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = app.get("/api/v1/me", &ops).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("account_disabled"))
    );
    let (status, v) = app.login("ops", PASSWORD).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_disabled"))
    );
}
