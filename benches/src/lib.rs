//! Shared helpers for Warden's benchmarks and load tools.
