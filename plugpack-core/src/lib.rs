//! plugpack-core: every decision and side effect behind `cargo plugpack`.
//!
//! Data flows one way: **project → build artifacts → {fingerprint, SBOM, audit} → bundle →
//! signature → verification**. Each stage is a module with a typed input, a typed,
//! serializable output and its own error type; [`pipeline`] composes them. The library never
//! prints and never reads the process environment except through [`Ctx`].
//!
//! # Code map
//!
//! | module | entry point | owns |
//! |---|---|---|
//! | [`ctx`] | [`Ctx`] | environment snapshot, `SOURCE_DATE_EPOCH`, the [`Reporter`] |
//! | [`project`] | [`project::load`] | `cargo metadata`, package selection, `[*.metadata.plugpack]` config |
//! | [`build`] | [`build::build`] | `cargo build` runs, `compiler-artifact` parsing → [`build::BuiltArtifact`] |
//! | [`depset`] | [`depset::compute_exact`] | the exact crates compiled into one artifact (SBOM and audit share it), `Cargo.lock` |
//! | [`sbom`] | [`sbom::generate`] | CycloneDX 1.6/1.5 JSON SBOM per artifact (`*.cdx.json`) |
//! | [`fingerprint`] | [`fingerprint::fingerprint_file`], [`fingerprint::diff`] | `plugpack-abi/1` documents: exports, DWARF layouts, semver verdicts |
//! | [`guard`] | [`guard::check_file`] | host-side ABI check before `dlopen`/instantiation |
//! | [`audit`] | [`audit::run`], [`audit::scan`], [`audit::scan_lockfile`] | RustSec advisories, yanked crates and the audit policy → `AuditReport` (JSON, SARIF, CycloneDX `vulnerabilities[]`); `db update` |
//! | [`licenses`] | [`licenses::check`] | SPDX licence evaluation of the linked crates → `LicenseReport` |
//! | [`oci`] | [`oci::pack`], [`oci::inspect`], [`oci::extract`] | the OCI image-layout tarball (`*.oci.tar`) |
//! | [`sign`] | [`sign::sign_bundle`], [`sign::keygen`] | Ed25519 keys (`*.key`/`*.pub`), DSSE envelopes attached as referrers, `*.minisig` |
//! | [`verify`] | [`verify::Verifier`] | trust policies (`plugpack-trust.toml`), signature checks, anti-rollback state |
//! | [`scaffold`] | [`scaffold::new`] | new plugin crates from `templates/` |
//! | [`pipeline`] | [`pipeline::package`] | the only place that puts stages in order |
//! | [`types`] | | digests, canonical JSON, atomic writes |
//!
//! Start reading at [`pipeline`]; each stage's `mod.rs` documents its inputs, outputs and
//! side effects.

#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod audit;
pub mod build;
pub mod ctx;
pub mod depset;
pub mod error;
pub mod fingerprint;
pub mod guard;
pub mod licenses;
pub mod oci;
pub mod pipeline;
pub mod process;
pub mod project;
pub mod sbom;
pub mod scaffold;
pub mod sign;
pub mod templates;
pub mod types;
#[cfg(feature = "verify")]
pub mod verify;

pub use ctx::{Ctx, Reporter, SilentReporter};
pub use error::{Error, Result};
