//! `cargo plugpack fetch` as one library call: the TUF workflow, the download, then
//! `verify` on the bundle before it is renamed into place.

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use super::client::plugin_version;
use super::{Client, Code, Error, MAX_ROOT_LENGTH};

/// What `fetch` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Repository: directory, `file://` or `http(s)://` URL.
    pub repo: String,
    /// The bootstrap `root.json`.
    pub trusted_root: Utf8PathBuf,
    /// Where trusted metadata persists.
    pub state: Utf8PathBuf,
    /// Plugin name.
    pub name: String,
    /// Plugin version (newest when absent).
    pub version: Option<String>,
    /// Output bundle path.
    pub output: Utf8PathBuf,
    /// `verify` with this policy before accepting the bundle.
    pub policy: Option<Utf8PathBuf>,
    /// `verify` with these keys before accepting the bundle.
    pub keys: Vec<Utf8PathBuf>,
    /// Pinned clock (tests); the system clock otherwise.
    pub now: Option<i64>,
}

/// What `fetch` did.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    /// The target path in the repository.
    pub target: String,
    /// The plugin version.
    pub version: String,
    /// Where it was written.
    pub output: Utf8PathBuf,
    /// Its length.
    pub length: u64,
    /// Its sha256.
    pub sha256: String,
    /// Whether `verify` ran on it (and passed).
    pub verified: bool,
    /// Trusted root version after the update.
    pub root_version: u64,
}

impl Client {
    /// `cargo plugpack fetch`: refresh, find, download, check hashes, `verify` (with a
    /// policy or keys) and only then rename into place.
    pub fn fetch(options: &FetchOptions, ctx: &crate::Ctx) -> Result<Fetched, Error> {
        let root = crate::types::read_small_file(&options.trusted_root, MAX_ROOT_LENGTH).map_err(
            |source| Error::Read {
                path: options.trusted_root.clone(),
                source,
            },
        )?;
        let mut client =
            Client::new(&options.repo, &root, options.state.clone()).map_err(|e| match e {
                Error::Rejected { .. } => Error::TrustedRoot {
                    path: options.trusted_root.clone(),
                    reason: e.to_string(),
                },
                other => other,
            })?;
        if let Some(now) = options.now {
            client = client.at_time(now);
        }
        client.refresh()?;
        let (path, file) = client.find(&options.name, options.version.as_deref())?;
        let version = plugin_version(&path, &file, &options.name)
            .unwrap_or_default()
            .to_owned();
        let verify = options.policy.is_some() || !options.keys.is_empty();
        let name = options.name.clone();
        let want_version = version.clone();
        let accept = |bundle: &Utf8Path| -> Result<(), Error> {
            if !verify {
                return Ok(());
            }
            let report = match super::verify_bundle(
                bundle,
                &options.keys,
                options.policy.as_deref(),
                ctx,
            )? {
                Ok(report) => report,
                Err(failures) => {
                    return Err(Error::rejected(Code::BundleRejected, &path, failures));
                }
            };
            if report.plugin.as_deref() != Some(name.as_str())
                || report.version.as_deref() != Some(want_version.as_str())
            {
                return Err(Error::rejected(
                    Code::BundleRejected,
                    &path,
                    format!(
                        "the bundle is {:?} {:?}, the repository lists {name} {want_version}",
                        report.plugin, report.version
                    ),
                ));
            }
            Ok(())
        };
        let base = path.rsplit('/').next().unwrap_or(&path);
        let output = crate::types::OutputPath::new(&options.output).file(base);
        client.download_with(&path, &file, &output, &accept)?;
        Ok(Fetched {
            sha256: file.hashes.get("sha256").cloned().unwrap_or_default(),
            length: file.length,
            target: path,
            version,
            output,
            verified: verify,
            root_version: client.root().version,
        })
    }
}
