//! Command-line definitions (clap derive). Only parsing lives here; each subcommand's
//! `Args` converts into the core's options type in `commands/`.

use camino::Utf8PathBuf;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

/// Cargo runs `cargo-plugpack plugpack <args>`; the top level is that one-variant enum.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo::style::CLAP_STYLING)]
pub enum CargoCli {
    /// Build, bundle, scan, sign and verify Rust plugins.
    Plugpack(Cli),
}

/// `cargo plugpack`
#[derive(Debug, Args)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Global output options.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every subcommand accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Use verbose output (-vv very verbose); also shows plugpack's debug log.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Do not print status messages.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Coloring: auto, always, never (default from CARGO_TERM_COLOR, else auto).
    #[arg(long, value_name = "WHEN", global = true)]
    pub color: Option<ColorChoice>,
    /// Output format for results on stdout.
    #[arg(
        long,
        visible_alias = "format",
        value_name = "FMT",
        default_value = "human",
        global = true
    )]
    pub message_format: MessageFormat,
}

/// `--color`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// How a command other than `audit` renders results (`sarif` is answered with JSON lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable text.
    Human,
    /// One JSON object per line on stdout.
    Json,
}

/// `--message-format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// Human-readable text.
    Human,
    /// One JSON object per line on stdout.
    Json,
    /// SARIF 2.1.0 (`audit` only; other commands treat it as `json`).
    Sarif,
    /// CycloneDX JSON document (`sbom` only; the default document format there).
    CyclonedxJson,
    /// SPDX 2.3 JSON document (`sbom` only).
    SpdxJson,
    /// HTML document (`report`, `notices`).
    Html,
    /// Markdown document (`report`, `diff`).
    Markdown,
    /// Plain text document (`notices`).
    Text,
}

impl MessageFormat {
    /// The value as typed on the command line.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }

    /// A usage error: this command does not write `self`.
    pub fn unsupported(self, command: &str, supported: &str) -> plugpack_core::Error {
        plugpack_core::Error::Usage(format!(
            "`{command}` does not write --format {}; use one of: {supported}",
            self.name()
        ))
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the selected cdylib/wasm plugins and list the artifacts.
    Build(commands::build::BuildArgs),
    /// Build, then write a deterministic OCI image-layout bundle per plugin.
    Package(commands::package::PackageArgs),
    /// Build, then write a CycloneDX SBOM of exactly what went into each artifact.
    Sbom(commands::sbom::SbomArgs),
    /// Show a bundle's index, manifests, layers and annotations (validating it).
    Inspect(commands::inspect::InspectArgs),
    /// Validate a bundle and write its plugin artifacts to a directory.
    Extract(commands::extract::ExtractArgs),
    /// Create a new plugin crate.
    New(commands::new::NewArgs),
    /// Compute the ABI fingerprint (plugpack-abi/1 JSON) of the built plugins or a file.
    Fingerprint(commands::fingerprint::FingerprintArgs),
    /// Compare two ABI fingerprints (JSON, artifact or bundle) and give the semver verdict.
    AbiDiff(commands::abi_diff::AbiDiffArgs),
    /// Check the Cargo.toml version bump against the ABI diff from the previous release.
    AbiCheck(commands::abi_check::AbiCheckArgs),
    /// Create an Ed25519 signing key pair (NAME.key, NAME.pub).
    Keygen(commands::keygen::KeygenArgs),
    /// Sign a bundle: attach a DSSE envelope (in-toto statement) as an OCI referrer.
    Sign(commands::sign::SignArgs),
    /// Verify a bundle's signatures against keys or a trust policy (exit 1 when rejected).
    Verify(commands::verify::VerifyArgs),
    /// Check the plugins' shipped dependencies for advisories and licences under the policy.
    Audit(commands::audit::AuditArgs),
    /// Show or update the RustSec advisory database.
    Db(commands::db::DbArgs),
    /// Push a bundle (blobs, manifests, index, referrers) to an OCI registry.
    Push(commands::push::PushArgs),
    /// Pull a plugin and its referrers from an OCI registry into a bundle.
    Pull(commands::pull::PullArgs),
    /// Merge per-target bundles of one plugin version into one image index.
    Merge(commands::merge::MergeArgs),
    /// Write the GitHub release workflow (.github/workflows/plugpack-release.yml) once; --check describes drift.
    InitCi(commands::init_ci::InitCiArgs),
    /// Release job: check the tag, build, check the ABI, audit, SBOM, package, sign with SLSA
    /// provenance, push, and write the release directory with SHA256SUMS.
    Release(commands::release::ReleaseArgs),
    /// Write a TUF repository of signed bundles (init, add, refresh, rotate, revoke).
    Repo(commands::repo::RepoArgs),
    /// Fetch a plugin from a TUF repository (TUF client workflow, then hashes and verify).
    Fetch(commands::fetch::FetchArgs),
    /// Third-party notices (licence texts, NOTICE files, copyright lines) of the plugins' crates.
    Notices(commands::notices::NoticesArgs),
    /// One self-contained compliance report (HTML, Markdown or JSON) from what a bundle carries.
    Report(commands::report::ReportArgs),
    /// What changed between two releases (bundles or SBOMs): crates, licences, advisories, ABI, signers.
    Diff(commands::diff::DiffArgs),
}

/// The cargo flags every project command accepts.
#[derive(Debug, Args, Clone)]
pub struct ProjectArgs {
    #[command(flatten)]
    pub manifest: clap_cargo::Manifest,
    #[command(flatten)]
    pub workspace: clap_cargo::Workspace,
    #[command(flatten)]
    pub features: clap_cargo::Features,
    /// Build for the target triple (repeatable); default: `metadata.plugpack.targets`, else the host.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Vec<String>,
    /// Build with the release profile (`package` does unless given --profile or --debug).
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with the given profile.
    #[arg(long, value_name = "PROFILE-NAME")]
    pub profile: Option<String>,
    /// Directory for all generated artifacts.
    #[arg(long, value_name = "DIRECTORY")]
    pub target_dir: Option<Utf8PathBuf>,
    /// Assert that `Cargo.lock` will remain unchanged.
    #[arg(long)]
    pub locked: bool,
    /// Equivalent to specifying both --locked and --offline.
    #[arg(long)]
    pub frozen: bool,
    /// Run without accessing the network.
    #[arg(long)]
    pub offline: bool,
}
