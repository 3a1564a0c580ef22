//! The first administrator: created at start when the database has none, with the password of
//! `WARDEN_ADMIN_PASSWORD` or a generated one that is printed once. There is no default
//! password, and an existing administrator is never touched.

use std::io::Write;

use serde_json::json;
use tracing::info;
use warden_storage::{NewAdminUser, NewAuditEntry, Role, StorageError, Store};

use super::password::{generate_password, hash_password, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use crate::error::ControlError;

/// Name of the account created.
pub(crate) const FIRST_ADMIN: &str = "admin";

/// Creates the first administrator when no account has the admin role. A generated password
/// is written to `out` (the console), never to the log.
pub(crate) async fn bootstrap_admin(
    store: &Store,
    env_password: Option<&str>,
    out: &mut (dyn Write + Send),
) -> Result<(), ControlError> {
    if store
        .list_users()
        .await?
        .iter()
        .any(|u| u.role == Role::Admin)
    {
        return Ok(());
    }
    let (password, generated) = match env_password {
        Some(p) => {
            let n = p.chars().count();
            if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
                return Err(ControlError::Config(format!(
                    "WARDEN_ADMIN_PASSWORD must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
                )));
            }
            (p.to_owned(), false)
        }
        None => (generate_password(), true),
    };
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&to_hash))
        .await
        .map_err(|e| ControlError::Config(format!("hashing the first admin password: {e}")))?
        .map_err(|e| ControlError::Config(format!("hashing the first admin password: {e}")))?;
    let user = NewAdminUser {
        username: FIRST_ADMIN.to_owned(),
        password_hash: hash,
        role: Role::Admin,
        extension: None,
    };
    match store.create_user(&user).await {
        Ok(_) => {}
        Err(StorageError::Conflict { .. }) => {
            return Err(ControlError::Config(format!(
                "no administrator exists and the name {FIRST_ADMIN:?} is taken by another account; \
                 give that account the admin role in the database"
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let source = if generated {
        "generated"
    } else {
        "WARDEN_ADMIN_PASSWORD"
    };
    let entry = NewAuditEntry {
        target: Some(FIRST_ADMIN.to_owned()),
        detail: json!({ "password_from": source }),
        ..NewAuditEntry::new("system", "user.bootstrap")
    };
    store.append_audit(&entry).await?;
    info!(
        username = FIRST_ADMIN,
        password_from = source,
        "first administrator created"
    );
    if generated {
        // Shown once, on the console only: it is not in the database (only its hash is).
        let _ = writeln!(
            out,
            "\n==== Warden: first start ====\n\
             Created the administrator account {FIRST_ADMIN:?} with the password:\n\n    {password}\n\n\
             It is shown only this once. Log in and change it (dashboard: Account; API: PUT /api/v1/me/password),\n\
             or set WARDEN_ADMIN_PASSWORD before the first start next time.\n\
             =============================\n"
        );
        let _ = out.flush();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::auth::password::verify_password;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn generated_password_is_printed_once_and_works() {
        let (_dir, store) = store().await;
        let mut out = Vec::new();
        bootstrap_admin(&store, None, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        let password = text
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 20)
            .expect("password line");
        let admin = store.get_user_by_name(FIRST_ADMIN).await.unwrap().unwrap();
        assert_eq!(admin.role, Role::Admin);
        assert!(verify_password(password, &admin.password_hash));
        assert!(!admin.password_hash.contains(password));

        // Second start: nothing printed, nothing changed.
        let mut again = Vec::new();
        bootstrap_admin(&store, Some("another-password"), &mut again)
            .await
            .unwrap();
        assert!(again.is_empty());
        let same = store.get_user_by_name(FIRST_ADMIN).await.unwrap().unwrap();
        assert_eq!(same.password_hash, admin.password_hash);
        let audit = store.list_audit(&Default::default()).await.unwrap();
        assert_eq!(audit.total, 1);
        assert_eq!(audit.items[0].action, "user.bootstrap");
    }

    #[tokio::test]
    async fn env_password_is_used_and_checked() {
        let (_dir, store) = store().await;
        let err = bootstrap_admin(&store, Some("short"), &mut Vec::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("WARDEN_ADMIN_PASSWORD"), "{err}");
        assert_eq!(store.count_users().await.unwrap(), 0);

        let mut out = Vec::new();
        bootstrap_admin(&store, Some("from-the-environment"), &mut out)
            .await
            .unwrap();
        assert!(out.is_empty(), "a given password is not printed");
        let admin = store.get_user_by_name(FIRST_ADMIN).await.unwrap().unwrap();
        assert!(verify_password(
            "from-the-environment",
            &admin.password_hash
        ));
    }
}
