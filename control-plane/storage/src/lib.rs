//! Warden storage: sqlx on SQLite (embedded) and PostgreSQL
