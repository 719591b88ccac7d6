use camino::Utf8PathBuf;

use crate::process::ProcessError;

/// Why an audit could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database path cannot be read.
    #[error("advisory database {path} cannot be read")]
    DbUnreadable {
        /// The directory.
        path: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database directory holds no usable advisory.
    #[error("advisory database {path} holds no advisories (expected crates/<name>/RUSTSEC-*.md)")]
    DbEmpty {
        /// The directory.
        path: Utf8PathBuf,
    },
    /// No database, and the policy sets `require-db = true`.
    #[error(
        "no advisory database at {path} and the policy sets require-db = true; run `cargo plugpack db update` or pass --db PATH"
    )]
    DbRequired {
        /// Where it was looked for.
        path: Utf8PathBuf,
    },
    /// No database at the default location, and the caller did not allow that
    /// ([`super::ScanOptions::allow_no_db`]).
    #[error(
        "advisories cannot be checked: no advisory database at {path}; run `cargo plugpack db update`, pass --db PATH, or pass --allow-no-db to go on with the verdict `unchecked`"
    )]
    NoDb {
        /// Where it was looked for.
        path: Utf8PathBuf,
    },
    /// `db update` cannot work on this directory.
    #[error(
        "{path} exists but is not a git checkout of the advisory database; remove it or pass --db PATH"
    )]
    DbNotGit {
        /// The directory.
        path: Utf8PathBuf,
    },
    /// `db update` with `--offline`.
    #[error("cannot update the advisory database with --offline")]
    Offline,
    /// `git` failed while updating.
    #[error("updating the advisory database at {path} failed")]
    Git {
        /// The directory.
        path: Utf8PathBuf,
        /// The git failure.
        #[source]
        source: ProcessError,
    },
    /// Neither `$CARGO_HOME` nor `$HOME` is set.
    #[error(
        "cannot find the default advisory database: neither CARGO_HOME nor HOME is set; pass --db PATH"
    )]
    NoCargoHome,
    /// The `--lockfile` could not be read.
    #[error(transparent)]
    Lockfile(#[from] crate::depset::Error),
    /// `plugpack.toml` or a policy value is invalid.
    #[error(transparent)]
    Policy(#[from] crate::project::Error),
    /// Writing a report failed.
    #[error("cannot write audit report {path}")]
    Write {
        /// The file.
        path: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `package` refused to bundle a plugin with denied findings (no `--allow-findings`).
    #[error(
        "refusing to package {plugin}: the audit has {denied} denied finding(s) (run `{rerun}` for details, or pass --allow-findings)"
    )]
    Findings {
        /// Plugin name.
        plugin: String,
        /// The `cargo plugpack audit` command line that reproduces this audit (the same
        /// database, manifest, features, targets, profile and cargo flags).
        rerun: String,
        /// Number of denied findings.
        denied: usize,
        /// The audit's outcome.
        outcome: super::Outcome,
    },
    /// Serializing a report failed (a bug).
    #[error("cannot serialize the audit report")]
    Serialize(#[source] serde_json::Error),
}
