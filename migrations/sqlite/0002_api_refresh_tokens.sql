-- Refresh tokens of the management API. Only a SHA-256 hash of each token is
-- stored. Tokens rotate: using one revokes it and issues its successor in the
-- same family; presenting a revoked token revokes the whole family (the
-- token was stolen or replayed). Keep in step with
-- ../postgres/0002_api_refresh_tokens.sql.

CREATE TABLE api_refresh_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    -- Hex SHA-256 of the token.
    token_hash  TEXT    NOT NULL UNIQUE,
    -- Every token descending from one login shares its family.
    family      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    -- Address the login or refresh came from.
    source_ip   TEXT
);
CREATE INDEX api_refresh_tokens_family ON api_refresh_tokens (family);
CREATE INDEX api_refresh_tokens_user ON api_refresh_tokens (user_id);
CREATE INDEX api_refresh_tokens_expires_at ON api_refresh_tokens (expires_at);
