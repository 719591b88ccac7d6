//! `cargo plugpack fetch NAME[@VERSION] --repo URL|DIR --trusted-root root.json -o BUNDLE`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::tuf::{Client, FetchOptions};
use plugpack_core::{Ctx, Reporter};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::{Shell, escape};

/// Arguments of `fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Plugin name, optionally with @VERSION (newest otherwise).
    pub plugin: String,
    /// The TUF repository: a directory, file://DIR or http(s)://URL.
    #[arg(long, value_name = "URL|DIR")]
    pub repo: String,
    /// The root.json to trust initially (distributed out of band).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Utf8PathBuf,
    /// Where to write the bundle (only once every check passed); a directory (existing,
    /// or ending in `/`) gets the target's file name.
    #[arg(short, long, value_name = "BUNDLE|DIR/")]
    pub output: Utf8PathBuf,
    /// Where trusted metadata persists (default: the user's cache dir, per repository).
    #[arg(long, value_name = "DIR")]
    pub state: Option<Utf8PathBuf>,
    /// Also `verify` the bundle under this trust policy before accepting it.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<Utf8PathBuf>,
    /// Also `verify` the bundle with these public keys before accepting it.
    #[arg(long, value_name = "PUB", conflicts_with = "policy")]
    pub key: Vec<Utf8PathBuf>,
}

fn default_state(ctx: &Ctx, repo: &str) -> Result<Utf8PathBuf, CliError> {
    let non_empty = |k: &str| ctx.var(k).filter(|v| !v.is_empty());
    let base = if let Some(x) = non_empty("XDG_CACHE_HOME") {
        Utf8PathBuf::from(x)
    } else if let Some(l) = non_empty("LOCALAPPDATA") {
        Utf8PathBuf::from(l)
    } else if let Some(h) = non_empty("HOME") {
        Utf8PathBuf::from(h).join(".cache")
    } else {
        return Err(plugpack_core::Error::Usage(
            "no cache directory (HOME unset): give --state DIR".to_owned(),
        )
        .into());
    };
    let id = plugpack_core::types::Sha256Digest::of_bytes(repo.as_bytes()).hex();
    Ok(base.join("plugpack/tuf").join(&id[..16]))
}

/// Fetches a plugin through the TUF client workflow.
pub fn run(args: &FetchArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let (name, version) = match args.plugin.split_once('@') {
        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
        None => (args.plugin.clone(), None),
    };
    let state = match &args.state {
        Some(dir) => dir.clone(),
        None => default_state(ctx, &args.repo)?,
    };
    let options = FetchOptions {
        repo: args.repo.clone(),
        trusted_root: args.trusted_root.clone(),
        state,
        name,
        version,
        output: args.output.clone(),
        policy: args.policy.clone(),
        keys: args.key.clone(),
        now: None,
    };
    let fetched = Client::fetch(&options, ctx).map_err(plugpack_core::Error::from)?;
    match shell.format() {
        OutputFormat::Json => shell.json("fetched", &fetched)?,
        OutputFormat::Human => {
            let checked = if fetched.verified { ", verified" } else { "" };
            shell.status(
                "Fetched",
                &format!(
                    "{} ({} bytes, sha256 {}{checked}) to {}",
                    escape(&fetched.target),
                    fetched.length,
                    &fetched.sha256,
                    escape(fetched.output.as_str())
                ),
            );
            shell.out(fetched.output.as_str())?;
        }
    }
    Ok(0)
}
