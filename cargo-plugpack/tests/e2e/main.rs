//! End-to-end tests: the real `cargo-plugpack` binary on real fixture crates.
//!
//! Interop tests (third-party tools) are `#[ignore]`d by default and run by `.ci/test` with
//! `--include-ignored` and `PLUGPACK_INTEROP=1`; they fail, never skip, when a tool is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod abi;
mod abi_alias;
mod audit;
mod build_record;
mod cargo_config;
#[cfg(unix)]
mod crash;
mod exit_codes;
mod honest;
mod host_abi;
mod safety;
mod sbom;
mod sbom_audit_bin;
mod sign;
mod support;

mod bundle;
mod compliance;
mod component;
mod component_host;
mod component_interop;
mod defaults;
mod diff;
mod flow;
mod github;
mod github_interop;
mod interop_oci;
mod package;
mod registry;
mod registry_merge;
mod registry_more;
mod registry_transfer;
mod release;
mod report;
mod reproducible;
mod scaffold;
mod tuf;
mod tuf_tough;
mod workspace;
