//! Accounts of the management API and admin UI.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{query_err, Result, StorageError, Subject};
use crate::row::{Dialect, RowExt};
use crate::store::{with_pool, Store};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including managing accounts.
    Admin,
    /// Day-to-day operations (extensions, calls), no account management.
    Operator,
    /// Their own extension only.
    User,
}

impl Role {
    /// Name stored in the database (`admin`, `operator`, `user`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::User => "user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "admin" => Role::Admin,
            "operator" => Role::Operator,
            "user" => Role::User,
            other => return Err(format!("unknown role {other:?}")),
        })
    }
}

/// A stored account.
#[derive(Clone, PartialEq)]
pub struct AdminUser {
    /// Database id.
    pub id: i64,
    /// Login name, unique regardless of case.
    pub username: String,
    /// Password hash in PHC string format (hashing is the caller's job).
    pub password_hash: String,
    /// Permissions.
    pub role: Role,
    /// The extension a `user` account manages, if any.
    pub extension: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last modification time.
    pub updated_at: DateTime<Utc>,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Consecutive failed logins.
    pub failed_logins: u32,
    /// Logins are refused until this time, if set.
    pub locked_until: Option<DateTime<Utc>>,
}

impl fmt::Debug for AdminUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("extension", &self.extension)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("disabled", &self.disabled)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish()
    }
}

/// An account to create.
#[derive(Clone, PartialEq)]
pub struct NewAdminUser {
    /// Login name (must not be empty).
    pub username: String,
    /// Password hash.
    pub password_hash: String,
    /// Permissions.
    pub role: Role,
    /// Linked extension (must exist).
    pub extension: Option<String>,
}

impl fmt::Debug for NewAdminUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAdminUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("extension", &self.extension)
            .finish_non_exhaustive()
    }
}

/// A partial change to an account: `None` leaves a field unchanged; for
/// nullable fields `Some(None)` clears the value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserUpdate {
    /// New password hash.
    pub password_hash: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New linked extension, or `Some(None)` to unlink.
    pub extension: Option<Option<String>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New failed-login count.
    pub failed_logins: Option<u32>,
    /// New lock expiry, or `Some(None)` to unlock.
    pub locked_until: Option<Option<DateTime<Utc>>>,
}

const COLUMNS: &str = "id, username, password_hash, role, extension, created_at, updated_at, \
                       disabled, failed_logins, locked_until";

fn from_row(r: &impl RowExt) -> Result<AdminUser> {
    Ok(AdminUser {
        id: r.int("id")?,
        username: r.text("username")?,
        password_hash: r.text("password_hash")?,
        role: r
            .text("role")?
            .parse()
            .map_err(|reason| StorageError::Decode {
                column: "role",
                reason,
            })?,
        extension: r.opt_text("extension")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        disabled: r.flag("disabled")?,
        failed_logins: r.u32("failed_logins")?,
        locked_until: r.opt_ts("locked_until")?,
    })
}

impl Store {
    /// Creates an account; [`StorageError::Conflict`] if the name is taken
    /// (ignoring case).
    pub async fn create_user(&self, user: &NewAdminUser) -> Result<AdminUser> {
        if user.username.trim().is_empty() {
            return Err(StorageError::InvalidInput {
                field: "username",
                reason: "must not be empty".to_owned(),
            });
        }
        let sql = format!(
            "INSERT INTO admin_users (username, password_hash, role, extension, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&user.username)
                .bind(&user.password_hash)
                .bind(user.role.as_str())
                .bind(&user.extension)
                .bind(pool.ts(now))
                .fetch_one(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(Subject { entity: "user", key: &user.username })))?;
            from_row(&row)
        })
    }

    /// The account with this name (ignoring case), if any.
    pub async fn get_user_by_name(&self, username: &str) -> Result<Option<AdminUser>> {
        let sql = format!("SELECT {COLUMNS} FROM admin_users WHERE lower(username) = lower($1)");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(username).fetch_optional(pool).await.map_err(query_err)?;
            row.as_ref().map(from_row).transpose()
        })
    }

    /// The account with this id, if any.
    pub async fn get_user(&self, id: i64) -> Result<Option<AdminUser>> {
        let sql = format!("SELECT {COLUMNS} FROM admin_users WHERE id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await.map_err(query_err)?;
            row.as_ref().map(from_row).transpose()
        })
    }

    /// Every account, ordered by name.
    pub async fn list_users(&self) -> Result<Vec<AdminUser>> {
        let sql = format!("SELECT {COLUMNS} FROM admin_users ORDER BY lower(username), id");
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await.map_err(query_err)?;
            rows.iter().map(from_row).collect()
        })
    }

    /// Applies `update` to account `id`; [`StorageError::NotFound`] if it
    /// does not exist.
    pub async fn update_user(&self, id: i64, update: &UserUpdate) -> Result<AdminUser> {
        let sql = format!(
            "UPDATE admin_users SET password_hash = COALESCE($2, password_hash), \
             role = COALESCE($3, role), \
             extension = CASE WHEN $4 THEN $5 ELSE extension END, \
             disabled = COALESCE($6, disabled), \
             failed_logins = COALESCE($7, failed_logins), \
             locked_until = CASE WHEN $8 THEN $9 ELSE locked_until END, \
             updated_at = $10 \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        let key = id.to_string();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(id)
                .bind(&update.password_hash)
                .bind(update.role.map(Role::as_str))
                .bind(update.extension.is_some())
                .bind(update.extension.clone().flatten())
                .bind(update.disabled)
                .bind(update.failed_logins.map(i64::from))
                .bind(update.locked_until.is_some())
                .bind(pool.opt_ts(update.locked_until.flatten()))
                .bind(pool.ts(now))
                .fetch_optional(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(Subject { entity: "user", key: &key })))?;
            match row {
                Some(row) => from_row(&row),
                None => Err(StorageError::NotFound { entity: "user", key }),
            }
        })
    }

    /// Deletes account `id`; [`StorageError::NotFound`] if it does not
    /// exist.
    pub async fn delete_user(&self, id: i64) -> Result<()> {
        let n = with_pool!(self, pool => sqlx::query("DELETE FROM admin_users WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected());
        if n == 0 {
            return Err(StorageError::NotFound {
                entity: "user",
                key: id.to_string(),
            });
        }
        Ok(())
    }

    /// Number of accounts.
    pub async fn count_users(&self) -> Result<u64> {
        with_pool!(self, pool => sqlx::query("SELECT COUNT(*) AS n FROM admin_users")
            .fetch_one(pool)
            .await
            .map_err(query_err)?
            .u64("n"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::testing::backend_tests;
    use crate::{truncate_ms, NewExtension};

    fn user(name: &str, role: Role) -> NewAdminUser {
        NewAdminUser {
            username: name.into(),
            password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt$hash-of-{name}"),
            role,
            extension: None,
        }
    }

    backend_tests! {
        async fn create_lookup_and_conflict(store) {
            let admin = store.create_user(&user("Admin", Role::Admin)).await.unwrap();
            assert!(admin.id > 0);
            assert_eq!(admin.username, "Admin");
            assert_eq!(admin.role, Role::Admin);
            assert!(!admin.disabled);
            assert_eq!(admin.failed_logins, 0);
            assert_eq!(admin.locked_until, None);

            assert_eq!(store.get_user_by_name("admin").await.unwrap(), Some(admin.clone()));
            assert_eq!(store.get_user_by_name("ADMIN").await.unwrap(), Some(admin.clone()));
            assert_eq!(store.get_user(admin.id).await.unwrap(), Some(admin.clone()));
            assert_eq!(store.get_user_by_name("nobody").await.unwrap(), None);
            assert_eq!(store.get_user(admin.id + 100).await.unwrap(), None);

            let err = store.create_user(&user("aDmIn", Role::User)).await.unwrap_err();
            assert!(matches!(&err, StorageError::Conflict { entity: "user", key } if key == "aDmIn"), "{err:?}");
            let err = store.create_user(&user(" ", Role::User)).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "username", .. }), "{err:?}");
            assert_eq!(store.count_users().await.unwrap(), 1);
        }

        async fn list_is_sorted_by_name(store) {
            for (n, r) in [("carol", Role::User), ("Bob", Role::Operator), ("alice", Role::Admin)] {
                store.create_user(&user(n, r)).await.unwrap();
            }
            let names: Vec<_> = store.list_users().await.unwrap().into_iter().map(|u| (u.username, u.role)).collect();
            assert_eq!(
                names,
                [("alice".to_owned(), Role::Admin), ("Bob".to_owned(), Role::Operator), ("carol".to_owned(), Role::User)]
            );
            assert_eq!(store.count_users().await.unwrap(), 3);
        }

        async fn update_fields_and_lockout(store) {
            store.create_extension(&NewExtension::new("1001", "Alice", "alice-secret")).await.unwrap();
            let mut new = user("alice", Role::User);
            new.extension = Some("1001".into());
            let u = store.create_user(&new).await.unwrap();
            assert_eq!(u.extension.as_deref(), Some("1001"));

            let lock = truncate_ms(Utc::now() + Duration::minutes(15));
            let u2 = store
                .update_user(u.id, &UserUpdate { failed_logins: Some(5), locked_until: Some(Some(lock)), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(u2.failed_logins, 5);
            assert_eq!(u2.locked_until, Some(lock));
            assert_eq!(u2.password_hash, u.password_hash);
            assert_eq!(u2.role, Role::User);
            assert_eq!(u2.extension.as_deref(), Some("1001"));

            let u3 = store
                .update_user(
                    u.id,
                    &UserUpdate {
                        password_hash: Some("$argon2id$new".into()),
                        role: Some(Role::Operator),
                        extension: Some(None),
                        disabled: Some(true),
                        failed_logins: Some(0),
                        locked_until: Some(None),
                    },
                )
                .await
                .unwrap();
            assert_eq!(u3.password_hash, "$argon2id$new");
            assert_eq!(u3.role, Role::Operator);
            assert_eq!(u3.extension, None);
            assert!(u3.disabled);
            assert_eq!(u3.failed_logins, 0);
            assert_eq!(u3.locked_until, None);
            assert_eq!(u3.created_at, u.created_at);
            assert_eq!(store.get_user(u.id).await.unwrap(), Some(u3));

            let err = store.update_user(u.id + 1000, &UserUpdate::default()).await.unwrap_err();
            assert!(matches!(err, StorageError::NotFound { entity: "user", .. }), "{err:?}");
            let err = store
                .update_user(u.id, &UserUpdate { extension: Some(Some("404".into())), ..Default::default() })
                .await
                .unwrap_err();
            assert!(matches!(err, StorageError::Constraint(_)), "{err:?}");
        }

        async fn extension_link_rules(store) {
            let mut new = user("ghost", Role::User);
            new.extension = Some("404".into());
            let err = store.create_user(&new).await.unwrap_err();
            assert!(matches!(err, StorageError::Constraint(_)), "{err:?}");

            store.create_extension(&NewExtension::new("1002", "Bob", "bob-secret")).await.unwrap();
            new.extension = Some("1002".into());
            let u = store.create_user(&new).await.unwrap();
            store.delete_extension("1002").await.unwrap();
            assert_eq!(store.get_user(u.id).await.unwrap().unwrap().extension, None);

            store.delete_user(u.id).await.unwrap();
            assert!(matches!(store.delete_user(u.id).await, Err(StorageError::NotFound { .. })));
            assert_eq!(store.count_users().await.unwrap(), 0);
        }
    }

    #[test]
    fn roles_and_debug() {
        for r in [Role::Admin, Role::Operator, Role::User] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert!("root".parse::<Role>().is_err());
        let dbg = format!("{:?}", user("x", Role::User));
        assert!(!dbg.contains("argon2"), "{dbg}");
    }
}
