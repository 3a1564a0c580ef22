use axum::http::{Method, StatusCode};
use chrono::Utc;
use serde_json::json;
use warden_storage::NewVoicemailMessage;

use crate::api::testkit::TestApp;

/// Stores a message of box `ext` with a small WAV file in `dir`.
async fn message(app: &TestApp, dir: &std::path::Path, ext: &str, n: u8) -> (i64, String) {
    let path = dir.join(format!("vm-{ext}-{n}.wav"));
    let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    wav.extend_from_slice(&[n; 32]);
    std::fs::write(&path, &wav).unwrap();
    let m = app
        .state
        .store()
        .insert_voicemail_message(&NewVoicemailMessage {
            extension: ext.into(),
            caller: "1003".into(),
            call_id: format!("vm{n}@test"),
            received_at: Utc::now(),
            duration_ms: 2_500,
            file_path: path.display().to_string(),
        })
        .await
        .unwrap();
    (m.id, m.file_path)
}

#[tokio::test]
async fn box_settings_roles_and_validation() {
    let app = TestApp::new().await;
    let admin = app.token("admin").await;
    let ops = app.token("ops").await;
    let alice = app.token("alice").await; // user of 1001
    let url = "/api/v1/extensions/1001/voicemail";

    let (status, v) = app.get(url, &alice).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["enabled"].clone(), v["max_message_secs"].clone()),
        (json!(false), json!(120))
    );
    let (status, _) = app.get("/api/v1/extensions/1002/voicemail", &alice).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/api/v1/extensions/1999/voicemail", &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let body = json!({"enabled": true, "max_message_secs": 60});
    let (status, _, v) = app
        .send(Method::PUT, url, Some(&alice), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["enabled"].clone(), v["max_message_secs"].clone()),
        (json!(true), json!(60))
    );
    let (status, v) = app.get(url, &ops).await;
    assert_eq!(
        (status, v["enabled"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, _, _) = app
        .send(Method::PUT, url, Some(&ops), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .send(
            Method::PUT,
            "/api/v1/extensions/1002/voicemail",
            Some(&alice),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, v) = app
        .send(
            Method::PUT,
            "/api/v1/extensions/1002/voicemail",
            Some(&admin),
            Some(json!({"enabled": true, "max_message_secs": 2})),
        )
        .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("max_message_secs")),
        "{v}"
    );
    let (_, audit) = app
        .get("/api/v1/audit?action=extension.voicemail", &admin)
        .await;
    assert_eq!(audit["total"], 1, "{audit}");
}

#[tokio::test]
async fn messages_list_audio_heard_delete() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let admin = app.token("admin").await;
    let ops = app.token("ops").await;
    let alice = app.token("alice").await;
    let (id, path) = message(&app, dir.path(), "1001", 1).await;
    let (other, other_path) = message(&app, dir.path(), "1002", 2).await;
    let list = "/api/v1/extensions/1001/voicemail/messages";

    let (status, v) = app.get(list, &alice).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        (v[0]["id"].as_i64(), v[0]["heard"].clone()),
        (Some(id), json!(false))
    );
    assert_eq!(v[0]["duration_ms"], 2_500);
    let (status, _) = app
        .get("/api/v1/extensions/1002/voicemail/messages", &alice)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = app
        .get("/api/v1/extensions/1002/voicemail/messages", &ops)
        .await;
    assert_eq!((status, v[0]["id"].as_i64()), (StatusCode::OK, Some(other)));

    // The audio, to its owner; another box's message is not found through this box.
    let audio = format!("{list}/{id}/audio");
    let (status, headers, body) = app.send(Method::GET, &audio, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "audio/wav");
    assert!(
        body.as_str().is_some_and(|b| b.starts_with("RIFF")),
        "{body}"
    );
    let (status, _, _) = app
        .send(
            Method::GET,
            &format!("{list}/{other}/audio"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = app
        .send(
            Method::GET,
            &format!("/api/v1/extensions/1002/voicemail/messages/{other}/audio"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Heard: the owner may, an operator may not.
    let one = format!("{list}/{id}");
    let (status, _, v) = app
        .send(
            Method::PATCH,
            &one,
            Some(&alice),
            Some(json!({"heard": true})),
        )
        .await;
    assert_eq!(
        (status, v["heard"].clone()),
        (StatusCode::OK, json!(true)),
        "{v}"
    );
    let (status, _, _) = app
        .send(
            Method::PATCH,
            &one,
            Some(&ops),
            Some(json!({"heard": false})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Delete removes the row and the file; the other box keeps its own.
    let (status, _, _) = app.send(Method::DELETE, &one, Some(&ops), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app.send(Method::DELETE, &one, Some(&alice), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!std::path::Path::new(&path).exists());
    assert!(std::path::Path::new(&other_path).exists());
    let (status, v) = app.get(list, &admin).await;
    assert_eq!(
        (status, v.as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, _, _) = app.send(Method::DELETE, &one, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, audit) = app
        .get("/api/v1/audit?action=voicemail.delete", &admin)
        .await;
    assert_eq!(audit["total"], 1, "{audit}");
    let (_, audit) = app
        .get("/api/v1/audit?action=voicemail.heard", &admin)
        .await;
    assert_eq!(audit["total"], 1, "{audit}");
}
