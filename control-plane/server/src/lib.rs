//! Warden control plane: SIP transports, registrar, metrics and HTTP
