//! Reading a configuration from YAML (with key paths and positions in every
//! error), environment overrides and printing back to YAML.

use std::path::Path;

use crate::error::{ConfigError, Location};
use crate::locate::locate;
use crate::schema::Config;

/// Environment variable that overrides `database.url`.
pub const ENV_DATABASE_URL: &str = "WARDEN_DATABASE_URL";
/// Environment variable that sets the initial administrator password.
pub const ENV_ADMIN_PASSWORD: &str = "WARDEN_ADMIN_PASSWORD";

impl Config {
    /// Parses and validates a YAML document. Missing keys take their
    /// defaults; an empty document (or only comments, or `null`) gives
    /// [`Config::default`]. Unknown keys, wrong types and rule violations
    /// are errors naming the key path and, when it can be found, the line
    /// and column.
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        // A first, untyped pass separates YAML syntax errors from schema
        // errors and recognises an empty document.
        let value: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| ConfigError::Syntax {
                location: e.location().map(|l| Location {
                    line: l.line(),
                    column: l.column(),
                }),
                message: e.to_string(),
            })?;
        let config = if value.is_null() {
            Config::default()
        } else {
            let de = serde_norway::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(schema_error)?
        };
        config.validate().map_err(|e| with_location(e, text))?;
        Ok(config)
    }

    /// Reads, parses and validates the YAML file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_str(&text)
    }

    /// Applies the environment overrides, reading variables through `env`
    /// (so tests can inject them): `WARDEN_DATABASE_URL` replaces
    /// `database.url` and `WARDEN_ADMIN_PASSWORD` sets
    /// [`Config::admin_password`]. Variables that are unset or empty are
    /// ignored. Call [`Config::validate`] afterwards.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(url) = get(ENV_DATABASE_URL) {
            self.database.url = Some(url);
        }
        if let Some(password) = get(ENV_ADMIN_PASSWORD) {
            self.admin_password = Some(password);
        }
    }

    /// [`Config::apply_env`] with the variables of this process.
    pub fn apply_process_env(&mut self) {
        self.apply_env(|name| std::env::var(name).ok());
    }

    /// The configuration in effect as YAML, with the derived database URL
    /// written out and `media.cores` as `auto` when automatic. Secrets
    /// (extension passwords, a password inside the database URL) are
    /// included; the administrator password never is.
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        let mut effective = self.clone();
        effective.database.url = Some(self.database_url());
        serde_norway::to_string(&effective).map_err(|e| ConfigError::Serialize(e.to_string()))
    }
}

/// Turns a typed-deserialization error into a [`ConfigError`] with the key
/// path from `serde_path_to_error` and the position from the YAML parser.
fn schema_error(err: serde_path_to_error::Error<serde_norway::Error>) -> ConfigError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let location = inner.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let message = bare_message(&inner.to_string(), &path, location);
    if let Some(expected) = unknown_field_expected(&message) {
        return ConfigError::UnknownKey {
            path,
            expected,
            location,
        };
    }
    ConfigError::InvalidValue {
        path,
        message,
        location,
    }
}

/// Strips the ` at line L column C` suffix and the `some.path: ` prefix
/// that the YAML library adds to its messages, since both are reported
/// separately.
fn bare_message(full: &str, path: &str, location: Option<Location>) -> String {
    let mut msg = full;
    if let Some(loc) = location {
        msg = msg.strip_suffix(&format!(" at {loc}")).unwrap_or(msg);
    }
    if let Some((prefix, rest)) = msg.split_once(": ") {
        if !prefix.is_empty() && path.starts_with(prefix) && !prefix.contains(' ') {
            msg = rest;
        }
    }
    msg.to_owned()
}

/// If `message` is serde's "unknown field `x`, expected ..." message,
/// returns the list of expected field names.
fn unknown_field_expected(message: &str) -> Option<Vec<String>> {
    let rest = message.strip_prefix("unknown field `")?;
    let (_, expected) = rest.split_once("`, ")?;
    if expected == "there are no fields" {
        return Some(Vec::new());
    }
    Some(
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
    )
}

/// Adds the position of the offending key to a validation error.
fn with_location(err: ConfigError, text: &str) -> ConfigError {
    match err {
        ConfigError::InvalidValue {
            path,
            message,
            location: None,
        } => {
            let location = locate(text, &path);
            ConfigError::InvalidValue {
                path,
                message,
                location,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_message_strips_path_and_position() {
        let loc = Some(Location { line: 4, column: 7 });
        assert_eq!(
            bare_message(
                "sip.listen[1]: invalid x at line 4 column 7",
                "sip.listen[1]",
                loc
            ),
            "invalid x"
        );
        assert_eq!(
            bare_message(
                "sip: unknown field `lisen`, expected `a` at line 4 column 7",
                "sip.lisen",
                loc
            ),
            "unknown field `lisen`, expected `a`"
        );
        assert_eq!(
            bare_message("invalid type: map", ".", None),
            "invalid type: map"
        );
        assert_eq!(
            bare_message("invalid value: string \"a: b\"", "x", None),
            "invalid value: string \"a: b\""
        );
    }

    #[test]
    fn expected_field_lists() {
        assert_eq!(
            unknown_field_expected("unknown field `x`, expected one of `a`, `b`, `c`"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(
            unknown_field_expected("unknown field `x`, expected `a` or `b`"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            unknown_field_expected("unknown field `x`, expected `a`"),
            Some(vec!["a".into()])
        );
        assert_eq!(
            unknown_field_expected("unknown field `x`, there are no fields"),
            Some(vec![])
        );
        assert_eq!(unknown_field_expected("invalid type"), None);
    }
}
