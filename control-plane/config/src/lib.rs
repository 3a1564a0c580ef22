//! Warden configuration: one YAML file whose every key has a default, so
//! Warden also runs with no file at all.
//!
//! [`Config::from_yaml_str`] / [`Config::load`] parse and validate; unknown
//! keys, malformed values and rule violations are [`ConfigError`]s that name
//! the key path and the line and column. [`Config::apply_env`] applies the
//! `WARDEN_DATABASE_URL` / `WARDEN_ADMIN_PASSWORD` overrides and
//! [`Config::to_yaml`] prints the configuration in effect. The file
//! `warden.example.yaml` beside this crate documents every key.

mod error;
mod load;
mod locate;
mod schema;
mod types;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, Location};
pub use load::{ENV_ADMIN_PASSWORD, ENV_DATABASE_URL};
pub use schema::{
    ApiConfig, CallsConfig, Config, DatabaseConfig, DigestAlgorithm, ExtensionConfig,
    KernelForwarding, LogConfig, MediaConfig, RecordCalls, RecordingMode, RegistrarConfig,
    SecurityConfig, SipConfig, MAX_WAKE_INTERVAL_US,
};
pub use types::{ListenSpec, LogFormat, PortRange, Transport};
