//! The crate's error type. Every error about a value names the key path
//! (`sip.listen[1]`) and, when known, the line and column in the YAML text.

use std::fmt;
use std::path::PathBuf;

/// A position in the YAML text, both numbers starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// Line number (1-based).
    pub line: usize,
    /// Column number in characters (1-based).
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

/// Errors from loading, parsing or validating a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The text is not well-formed YAML (bad indentation, unterminated
    /// quote, duplicate key, several documents...). The message comes from
    /// the YAML parser and already mentions the position when known.
    #[error("invalid YAML: {message}")]
    Syntax {
        /// Parser message.
        message: String,
        /// Where the parser stopped, when known.
        location: Option<Location>,
    },

    /// A key the schema does not know (often a typo).
    #[error("unknown key \"{path}\"{} ({})", At(location), Expected(expected))]
    UnknownKey {
        /// Full key path of the unknown key, e.g. `sip.lisen`.
        path: String,
        /// The keys allowed at that place.
        expected: Vec<String>,
        /// Position of the key, when known.
        location: Option<Location>,
    },

    /// A value with the wrong type or format, or one that breaks a rule of
    /// the schema (range, uniqueness, consistency with another key).
    #[error("{path}: {message}{}", At(location))]
    InvalidValue {
        /// Full key path of the value, e.g. `media.rtp_ports` or
        /// `extensions[2].secret`; `.` for the document itself.
        path: String,
        /// What is wrong.
        message: String,
        /// Position of the value (or of the closest enclosing key present
        /// in the text), when known.
        location: Option<Location>,
    },

    /// The configuration could not be turned into YAML.
    #[error("cannot serialise the configuration: {0}")]
    Serialize(String),
}

impl ConfigError {
    /// The key path the error is about, if it is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { path, .. } | ConfigError::InvalidValue { path, .. } => {
                Some(path)
            }
            _ => None,
        }
    }

    /// The position in the YAML text, if known.
    pub fn location(&self) -> Option<Location> {
        match self {
            ConfigError::Syntax { location, .. }
            | ConfigError::UnknownKey { location, .. }
            | ConfigError::InvalidValue { location, .. } => *location,
            _ => None,
        }
    }

    /// A validation error about `path`, without a position yet.
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::InvalidValue {
            path: path.into(),
            message: message.into(),
            location: None,
        }
    }
}

/// Formats ` at line L column C` when a location is known.
struct At<'a>(&'a Option<Location>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(loc) => write!(f, " at {loc}"),
            None => Ok(()),
        }
    }
}

/// Formats the list of allowed keys.
struct Expected<'a>(&'a [String]);

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no keys are allowed here");
        }
        f.write_str("expected one of: ")?;
        f.write_str(&self.0.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_key_and_position() {
        let e = ConfigError::InvalidValue {
            path: "sip.listen[1]".into(),
            message: "invalid listen address \"tcp:nope\" (expected transport:host:port)".into(),
            location: Some(Location { line: 4, column: 5 }),
        };
        assert_eq!(
            e.to_string(),
            "sip.listen[1]: invalid listen address \"tcp:nope\" (expected transport:host:port) at line 4 column 5"
        );
        let e = ConfigError::UnknownKey {
            path: "sip.lisen".into(),
            expected: vec!["listen".into(), "domain".into()],
            location: Some(Location { line: 3, column: 3 }),
        };
        assert_eq!(
            e.to_string(),
            "unknown key \"sip.lisen\" at line 3 column 3 (expected one of: listen, domain)"
        );
        assert_eq!(e.path(), Some("sip.lisen"));
        assert_eq!(e.location(), Some(Location { line: 3, column: 3 }));
    }

    #[test]
    fn position_is_optional() {
        let e = ConfigError::invalid("log.level", "bad level");
        assert_eq!(e.to_string(), "log.level: bad level");
        assert_eq!(e.location(), None);
        let e = ConfigError::UnknownKey {
            path: "x".into(),
            expected: vec![],
            location: None,
        };
        assert_eq!(
            e.to_string(),
            "unknown key \"x\" (no keys are allowed here)"
        );
    }
}
