//! `cargo plugpack abi-check`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::pipeline::{self, AbiCheckOptions};
use plugpack_core::{Ctx, project};

use crate::cli::{GlobalArgs, OutputFormat, ProjectArgs};
use crate::exit::{self, CliError};
use crate::shell::Shell;

/// Arguments of `abi-check`.
#[derive(Debug, Args)]
pub struct AbiCheckArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The previous release: fingerprint JSON, artifact or bundle (default:
    /// `metadata.plugpack.abi-baseline`).
    #[arg(long, value_name = "FILE|BUNDLE")]
    pub baseline: Option<Utf8PathBuf>,
    /// Also compare the public API from rustdoc JSON (differences are warnings).
    #[arg(long)]
    pub api: bool,
}

/// Builds, diffs against the baseline and checks the version bump.
pub fn run(
    args: &AbiCheckArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let project = project::load(ctx, &args.project.load_options()?)?;
    let options = AbiCheckOptions {
        baseline: args.baseline.clone(),
        api: args.api,
    };
    let checks = pipeline::abi_check(
        &project,
        &args.project.build_options(global, shell),
        &options,
        ctx,
    )?;
    let mut code = 0;
    for check in &checks {
        if !check.version.ok {
            code = exit::ABI_BUMP;
        }
        match shell.format() {
            OutputFormat::Json => shell.json("abi-check", check)?,
            OutputFormat::Human => {
                shell.out(&format!(
                    "{} ({}) against {}",
                    check.plugin, check.target, check.baseline
                ))?;
                super::abi_diff::print_diff(shell, &check.diff)?;
                let v = &check.version;
                shell.out(&format!(
                    "version {} → {} is a {} bump; the ABI requires {}: {}",
                    v.old_version,
                    v.new_version,
                    v.actual,
                    v.required,
                    if v.ok { "ok" } else { "NOT ENOUGH" }
                ))?;
            }
        }
    }
    Ok(code)
}
