//! `cargo plugpack init-ci [--registry REF] [--check]`: the GitHub release workflow for this
//! project, written once; `--check` describes drift in words (the file is the user's).

use std::path::PathBuf;

use clap::Args;
use plugpack_core::github::init_ci::{self, Options, WORKFLOW_PATH};
use plugpack_core::{Ctx, project};

use crate::exit::{CliError, POLICY};
use crate::shell::{Shell, escape};

/// Arguments of `init-ci`.
#[derive(Debug, Args)]
pub struct InitCiArgs {
    /// Path to the workspace's Cargo.toml (default: cargo's search from the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Push releases to this registry repository (REGISTRY/REPO; ghcr.io uses the job's token).
    #[arg(long, value_name = "REGISTRY/REPO")]
    pub registry: Option<String>,
    /// Do not write: describe how the existing workflow differs from what plugpack would
    /// write (exit 1 when it does).
    #[arg(long)]
    pub check: bool,
}

/// Writes `.github/workflows/plugpack-release.yml` at the repository top (never over an
/// existing file), or checks it.
pub fn run(args: &InitCiArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    use plugpack_core::Reporter;
    let load = project::LoadOptions {
        manifest_path: args
            .manifest_path
            .as_deref()
            .map(crate::commands::utf8)
            .transpose()?,
        ..Default::default()
    };
    let project = project::load(ctx, &load)?;
    let top = init_ci::repository_top(&project.workspace_root);
    let dir = plugpack_core::audit::sarif::uri_prefix_for(&project.workspace_root);
    let options = Options {
        registry: args.registry.clone(),
        dir,
    };
    let err = |e: plugpack_core::github::Error| match e {
        plugpack_core::github::Error::Exists(_) | plugpack_core::github::Error::Usage(_) => {
            CliError::Core(plugpack_core::Error::Usage(e.to_string()))
        }
        other => CliError::Io(std::io::Error::other(other.to_string())),
    };
    if args.check {
        let path = top.join(WORKFLOW_PATH);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::Core(plugpack_core::Error::Usage(format!(
                "cannot read {path}: {e} (run `cargo plugpack init-ci` to write it)"
            )))
        })?;
        let drift = init_ci::check(&text);
        if drift.is_empty() {
            shell.status(
                "Checked",
                &format!(
                    "{} matches what plugpack would write",
                    escape(path.as_str())
                ),
            );
            return Ok(0);
        }
        for d in &drift {
            shell.warn(&format!("{}: {}", escape(path.as_str()), escape(&d.0)));
        }
        shell.out(&format!(
            "{} difference(s) from plugpack's workflow in {}",
            drift.len(),
            escape(path.as_str())
        ))?;
        return Ok(POLICY);
    }
    let path = init_ci::write(&top, &options).map_err(err)?;
    shell.status("Created", &escape(path.as_str()));
    shell.out(&escape(path.as_str()))?;
    Ok(0)
}
