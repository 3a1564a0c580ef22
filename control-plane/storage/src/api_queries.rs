//! Queries of the management API: rotating refresh tokens (stored as
//! hashes) and the few lookups the API needs beyond the other modules.

use chrono::{DateTime, Utc};

use crate::error::{query_err, Result, StorageError, Subject};
use crate::row::{Dialect, RowExt};
use crate::store::{with_pool, Store};
use crate::users::Role;

/// A refresh token to store. The caller hashes the token; the token itself
/// is never stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRefreshToken {
    /// The account the token logs in.
    pub user_id: i64,
    /// Hash of the token (hex SHA-256), unique.
    pub token_hash: String,
    /// Family shared by every token rotated from one login.
    pub family: String,
    /// When the token was issued.
    pub created_at: DateTime<Utc>,
    /// When the token stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// Address the login or refresh came from.
    pub source_ip: Option<String>,
}

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// Database id.
    pub id: i64,
    /// The account the token logs in.
    pub user_id: i64,
    /// Hash of the token.
    pub token_hash: String,
    /// Family shared by every token rotated from one login.
    pub family: String,
    /// When the token was issued.
    pub created_at: DateTime<Utc>,
    /// When the token stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was used (rotated) or revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Address the login or refresh came from.
    pub source_ip: Option<String>,
}

const COLUMNS: &str =
    "id, user_id, token_hash, family, created_at, expires_at, revoked_at, source_ip";

fn from_row(r: &impl RowExt) -> Result<RefreshToken> {
    Ok(RefreshToken {
        id: r.int("id")?,
        user_id: r.int("user_id")?,
        token_hash: r.text("token_hash")?,
        family: r.text("family")?,
        created_at: r.ts("created_at")?,
        expires_at: r.ts("expires_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
        source_ip: r.opt_text("source_ip")?,
    })
}

impl Store {
    /// Stores a refresh token; [`StorageError::Constraint`] when the user
    /// does not exist, [`StorageError::Conflict`] when the hash is taken.
    pub async fn insert_refresh_token(&self, token: &NewRefreshToken) -> Result<RefreshToken> {
        let sql = format!(
            "INSERT INTO api_refresh_tokens (user_id, token_hash, family, created_at, expires_at, source_ip) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        );
        let subject = Subject {
            entity: "refresh token",
            key: &token.family,
        };
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(token.user_id)
                .bind(&token.token_hash)
                .bind(&token.family)
                .bind(pool.ts(token.created_at))
                .bind(pool.ts(token.expires_at))
                .bind(&token.source_ip)
                .fetch_one(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(subject)))?;
            from_row(&row)
        })
    }

    /// The refresh token with this hash, revoked or not, if any.
    pub async fn get_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        let sql = format!("SELECT {COLUMNS} FROM api_refresh_tokens WHERE token_hash = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(token_hash).fetch_optional(pool).await.map_err(query_err)?;
            row.as_ref().map(from_row).transpose()
        })
    }

    /// Marks token `id` as used at `at`, only if it was not already: returns
    /// `false` when another request used or revoked it first (so one token
    /// rotates at most once, even under concurrent refreshes).
    pub async fn revoke_refresh_token(&self, id: i64, at: DateTime<Utc>) -> Result<bool> {
        let n = with_pool!(self, pool => sqlx::query(
            "UPDATE api_refresh_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(pool.ts(at))
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected());
        Ok(n == 1)
    }

    /// Revokes every live token of a family (logout, or a replayed token);
    /// returns how many were live.
    pub async fn revoke_refresh_family(&self, family: &str, at: DateTime<Utc>) -> Result<u64> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE api_refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL")
            .bind(family)
            .bind(pool.ts(at))
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected()))
    }

    /// Revokes every live token of a user (password change, account
    /// disabled); returns how many were live.
    pub async fn revoke_user_refresh_tokens(&self, user_id: i64, at: DateTime<Utc>) -> Result<u64> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE api_refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .bind(pool.ts(at))
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected()))
    }

    /// Deletes tokens that expired before `before`; returns how many.
    pub async fn purge_refresh_tokens(&self, before: DateTime<Utc>) -> Result<u64> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM api_refresh_tokens WHERE expires_at < $1")
            .bind(pool.ts(before))
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected()))
    }

    /// Number of accounts with `role` that are not disabled.
    pub async fn count_active_users_with_role(&self, role: Role) -> Result<u64> {
        with_pool!(self, pool => sqlx::query(
            "SELECT COUNT(*) AS n FROM admin_users WHERE role = $1 AND disabled = $2")
            .bind(role.as_str())
            .bind(false)
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
    use crate::{truncate_ms, NewAdminUser, UserUpdate};

    fn user(name: &str, role: Role) -> NewAdminUser {
        NewAdminUser {
            username: name.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role,
            extension: None,
        }
    }

    fn token(user_id: i64, hash: &str, family: &str, now: DateTime<Utc>) -> NewRefreshToken {
        NewRefreshToken {
            user_id,
            token_hash: hash.into(),
            family: family.into(),
            created_at: now,
            expires_at: now + Duration::days(7),
            source_ip: Some("192.0.2.1".into()),
        }
    }

    backend_tests! {
        async fn refresh_tokens_rotate_once(store) {
            let u = store.create_user(&user("admin", Role::Admin)).await.unwrap();
            let now = truncate_ms(Utc::now());
            let t = store.insert_refresh_token(&token(u.id, "h1", "f1", now)).await.unwrap();
            assert_eq!(t.user_id, u.id);
            assert_eq!(t.revoked_at, None);
            assert_eq!(t.expires_at, now + Duration::days(7));
            assert_eq!(store.get_refresh_token("h1").await.unwrap(), Some(t.clone()));
            assert_eq!(store.get_refresh_token("nope").await.unwrap(), None);

            assert!(store.revoke_refresh_token(t.id, now).await.unwrap());
            assert!(!store.revoke_refresh_token(t.id, now).await.unwrap(), "a token rotates only once");
            assert_eq!(store.get_refresh_token("h1").await.unwrap().unwrap().revoked_at, Some(now));

            let err = store.insert_refresh_token(&token(u.id, "h1", "f2", now)).await.unwrap_err();
            assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
            let err = store.insert_refresh_token(&token(u.id + 99, "h9", "f9", now)).await.unwrap_err();
            assert!(matches!(err, StorageError::Constraint(_)), "{err:?}");
        }

        async fn families_users_and_purge(store) {
            let a = store.create_user(&user("a", Role::Admin)).await.unwrap();
            let b = store.create_user(&user("b", Role::User)).await.unwrap();
            let now = truncate_ms(Utc::now());
            for (u, h, f) in [(a.id, "a1", "fa"), (a.id, "a2", "fa"), (a.id, "a3", "fb"), (b.id, "b1", "fc")] {
                store.insert_refresh_token(&token(u, h, f, now)).await.unwrap();
            }
            assert_eq!(store.revoke_refresh_family("fa", now).await.unwrap(), 2);
            assert_eq!(store.revoke_refresh_family("fa", now).await.unwrap(), 0);
            assert!(store.get_refresh_token("a3").await.unwrap().unwrap().revoked_at.is_none());
            assert_eq!(store.revoke_user_refresh_tokens(a.id, now).await.unwrap(), 1);
            assert!(store.get_refresh_token("b1").await.unwrap().unwrap().revoked_at.is_none());

            let mut old = token(b.id, "old", "fd", now - Duration::days(30));
            old.expires_at = now - Duration::days(1);
            store.insert_refresh_token(&old).await.unwrap();
            assert_eq!(store.purge_refresh_tokens(now).await.unwrap(), 1);
            assert_eq!(store.get_refresh_token("old").await.unwrap(), None);

            // Deleting the user deletes its tokens.
            store.delete_user(b.id).await.unwrap();
            assert_eq!(store.get_refresh_token("b1").await.unwrap(), None);
        }

        async fn active_admins_are_counted(store) {
            assert_eq!(store.count_active_users_with_role(Role::Admin).await.unwrap(), 0);
            let a = store.create_user(&user("root", Role::Admin)).await.unwrap();
            store.create_user(&user("ops", Role::Operator)).await.unwrap();
            store.create_user(&user("other", Role::Admin)).await.unwrap();
            assert_eq!(store.count_active_users_with_role(Role::Admin).await.unwrap(), 2);
            assert_eq!(store.count_active_users_with_role(Role::Operator).await.unwrap(), 1);
            store.update_user(a.id, &UserUpdate { disabled: Some(true), ..Default::default() }).await.unwrap();
            assert_eq!(store.count_active_users_with_role(Role::Admin).await.unwrap(), 1);
        }
    }
}
