//! Warden configuration: YAML schema with defaults and validation
