//! The crate's error type. Database driver errors are kept as opaque
//! sources so that callers never depend on the driver.

/// An opaque underlying error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors returned by [`crate::Store`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database URL has an unknown scheme or cannot be parsed.
    #[error("unsupported database URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, with any password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The database could not be opened or reached.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] BoxError),

    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[source] BoxError),

    /// The row to read, change or delete does not exist.
    #[error("{entity} {key:?} not found")]
    NotFound {
        /// Kind of row (`extension`, `user`...).
        entity: &'static str,
        /// Its identifying key.
        key: String,
    },

    /// A row with the same unique key already exists.
    #[error("{entity} {key:?} already exists")]
    Conflict {
        /// Kind of row.
        entity: &'static str,
        /// The duplicated key.
        key: String,
    },

    /// A reference to another row is dangling (for example a binding for an
    /// extension that does not exist) or a column rule was broken.
    #[error("constraint violated: {0}")]
    Constraint(String),

    /// A caller-supplied value cannot be stored (out of range, malformed).
    #[error("invalid value for {field}: {reason}")]
    InvalidInput {
        /// Name of the field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// A stored value cannot be turned back into its Rust type (a corrupt
    /// or hand-edited row).
    #[error("cannot decode column {column}: {reason}")]
    Decode {
        /// Column name.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// Any other database failure (I/O, lost connection, timeout...).
    #[error("database query failed: {0}")]
    Query(#[source] BoxError),
}

/// Crate-wide result type.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// What a failed statement was about, to build precise errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) entity: &'static str,
    pub(crate) key: &'a str,
}

impl StorageError {
    /// Classifies a driver error from a statement about `subject`.
    pub(crate) fn from_sqlx(err: sqlx::Error, subject: Option<Subject<'_>>) -> Self {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(db) = &err {
            match (db.kind(), subject) {
                (ErrorKind::UniqueViolation, Some(s)) => {
                    return StorageError::Conflict {
                        entity: s.entity,
                        key: s.key.to_owned(),
                    }
                }
                (ErrorKind::ForeignKeyViolation, _) => {
                    let what = subject
                        .map_or_else(String::new, |s| format!(" ({} {:?})", s.entity, s.key));
                    return StorageError::Constraint(format!(
                        "a referenced row does not exist{what}: {}",
                        db.message()
                    ));
                }
                (ErrorKind::CheckViolation | ErrorKind::NotNullViolation, _) => {
                    return StorageError::Constraint(db.message().to_owned());
                }
                _ => {}
            }
        }
        StorageError::Query(Box::new(err))
    }
}

/// Shorthand for `map_err` on statements with no particular subject.
pub(crate) fn query_err(err: sqlx::Error) -> StorageError {
    StorageError::from_sqlx(err, None)
}
