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
//! | [`project`] | [`project::load`] | `cargo metadata`, package selection, `[*.metadata.plugpack]` config, cargo's own configuration ([`project::CargoConfig`]: targets, target dir, rustflags) |
//! | [`build`] | [`build::build`] | `cargo build` runs, `compiler-artifact` parsing → [`build::BuiltArtifact`] |
//! | [`depset`] | [`depset::compute_exact`] | the exact crates compiled into one artifact (SBOM and audit share it), `Cargo.lock` |
//! | [`sbom`] | [`sbom::generate`] | CycloneDX 1.6/1.5 JSON SBOM per artifact (`*.cdx.json`) |
//! | [`fingerprint`] | [`fingerprint::fingerprint_file`], [`fingerprint::diff`] | `plugpack-abi/1` documents: exports, DWARF layouts, semver verdicts |
//! | [`guard`] | [`guard::check_file`] | host-side ABI check before `dlopen`/instantiation (components: against the host's WIT world) |
//! | [`audit`] | [`audit::run`], [`audit::scan`], [`audit::scan_lockfile`] | RustSec advisories, yanked crates and the audit policy → `AuditReport` (JSON, SARIF, CycloneDX `vulnerabilities[]`); `db update` |
//! | [`licenses`] | [`licenses::check`] | SPDX licence evaluation of the linked crates → `LicenseReport` |
//! | [`oci`] | [`oci::pack`], [`oci::inspect`], [`oci::extract`] | the OCI image-layout tarball (`*.oci.tar`) |
//! | `registry` (feature `registry`) | `registry::push`, `registry::pull` | the OCI distribution client: push/pull bundles with their referrers |
//! | [`sign`] | [`sign::sign_bundle`], [`sign::keygen`] | Ed25519 keys (`*.key`/`*.pub`), DSSE envelopes attached as referrers, `*.minisig` |
//! | [`verify`] | [`verify::Verifier`] | trust policies (`plugpack-trust.toml`), signature checks, anti-rollback state |
//! | [`notices`] | [`notices::collect`], [`notices::render_text`] | third-party notices (`plugpack-notices/1`): licence texts, `NOTICE` files, copyright lines from the crates' sources |
//! | [`report`] | [`report::build`] | the compliance report of a bundle (`plugpack-report/1`: HTML, Markdown, JSON), from its referrers only |
//! | [`diff`] | [`diff::diff`] | what changed between two releases (bundles or SBOM files): crates, licences, advisories, ABI verdict, signers (`plugpack-diff/1`) |
//! | [`scaffold`] | [`scaffold::new`] | new plugin crates from `templates/` |
//! | [`pipeline`] | [`pipeline::package`] | the only place that puts stages in order |
//! | [`release`] | [`release::release`] | `release`: tag and tree checks, `package`, ABI check against the baseline, signing with SLSA provenance, push, the release directory (`plugpack-release.json`, `SHA256SUMS`) |
//! | `tuf` (feature `tuf`) | `tuf::Client`, `tuf::repo` | TUF 1.0 repositories of signed bundles: write (`repo init/add/refresh/rotate/revoke`), fetch with the spec's client workflow |
//! | [`types`] | | digests, canonical JSON, atomic writes |
//! | [`github`] | [`github::publish`] | GitHub Actions: job summary, annotations, step outputs (when `GITHUB_ACTIONS=true`) |
//! | [`scratch`] | [`scratch::RunDir`] | per-run temporary directories (`.plugpack-run-*`), removed by the next run once their owner is gone |
//! | [`digest_cache`] | [`digest_cache::DigestCache`] | digests of cargo's artifacts and their embedded copies remembered across runs by file stamp (`<target-dir>/plugpack/digests`), so an up-to-date `package` does not hash them again |
//!
//! Start reading at [`pipeline`]; each stage's `mod.rs` documents its inputs, outputs and
//! side effects.
//!
//! # Features: tool and host
//!
//! | feature | compiles | extra dependencies |
//! |---|---|---|
//! | `guard` | [`fingerprint`] (reading artifacts, `plugpack-abi/1` documents, [`fingerprint::diff`]) and [`guard`] | `object`, `gimli`, `wasmparser`, `semver` |
//! | `component` | `guard` plus decoding WebAssembly components' WIT worlds and reading host WIT files (`fingerprint::component::describe_wit`, `guard::AbiExpectation::from_wit`) | `wit-parser` |
//! | `verify` | [`verify`], the reading half of [`oci`] ([`oci::read_bundle`], [`oci::inspect`], [`oci::extract`]), the key, envelope and statement half of [`sign`] | `ed25519-dalek`, `base64ct`, `zeroize`, `oci-spec`, `tar`, `toml`, `time`, `semver` |
//! | `registry` | `registry` (push and pull bundles, referrers, registry auth); on in the CLI, off in the lean host build unless asked for | `ureq` (rustls, ring, webpki roots) |
//! | `tuf` | `tuf` (TUF 1.0 repositories: `tuf::repo` writes them, `tuf::Client` fetches with the specification's workflow); on in the CLI; implies `verify` | `ureq` (as `registry`) |
//! | `tool` (default) | both of the above plus everything `cargo plugpack` needs: `project`, `build`, `depset`, `sbom`, `audit`, `licenses`, `scaffold`, `templates`, `pipeline`, `process`, `digest_cache`, bundle packing (`oci::pack`, `oci::rebuild`), signing and key generation (`sign::sign_bundle`, `sign::keygen`, `sign::minisign`), loading fingerprints from bundles and running rustdoc (`fingerprint::load`, `fingerprint::diff_paths`, `fingerprint::api::rustdoc`) | `cargo_metadata`, `cargo-config2`, `minijinja`, `spdx`, `rustsec`, `flate2` (also via `object`), `uuid`, `tracing`, `blake2`, `getrandom` |
//!
//! [`ctx`], [`error`], [`scratch`] and [`types`] are always compiled (`camino`, `serde`, `serde_json`,
//! `sha2`, `tempfile`, `thiserror`). A plugin host that checks a bundle's signature and a
//! plugin's ABI before loading it depends on
//!
//! ```toml
//! plugpack-core = { version = "0.1", default-features = false, features = ["guard", "verify"] }
//! ```
//!
//! and gets the same API paths as the default build, minus the tool-side items. With both
//! host features, [`verify::Verifier::host_abi`] also runs the ABI guard on every verified
//! plugin artifact. CI checks each lean combination (`.ci/run`).

#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[cfg(feature = "tool")]
pub mod audit;
#[cfg(feature = "tool")]
pub mod build;
pub mod ctx;
#[cfg(feature = "tool")]
pub mod depset;
#[cfg(feature = "tool")]
pub mod diff;
#[cfg(feature = "tool")]
pub mod digest_cache;
pub mod error;
#[cfg(feature = "guard")]
pub mod fingerprint;
#[cfg(feature = "tool")]
pub mod github;
#[cfg(feature = "guard")]
pub mod guard;
#[cfg(feature = "tool")]
pub mod licenses;
#[cfg(feature = "tool")]
pub mod notices;
#[cfg(feature = "verify")]
pub mod oci;
#[cfg(feature = "tool")]
pub mod pipeline;
#[cfg(feature = "tool")]
pub mod process;
#[cfg(feature = "tool")]
pub mod project;
#[cfg(feature = "registry")]
pub mod registry;
#[cfg(feature = "tool")]
pub mod release;
#[cfg(feature = "tool")]
pub mod report;
#[cfg(feature = "tool")]
pub mod sbom;
#[cfg(feature = "tool")]
pub mod scaffold;
pub mod scratch;
#[cfg(feature = "verify")]
pub mod sign;
#[cfg(feature = "tool")]
pub mod templates;
#[cfg(feature = "tuf")]
pub mod tuf;
pub mod types;
#[cfg(feature = "verify")]
pub mod verify;

pub use ctx::{Ctx, Reporter, SilentReporter};
pub use error::{Error, Result};
