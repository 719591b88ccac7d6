//! `cargo plugpack abi-check`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::fingerprint::{self, Bump, VersionCheck};
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
                shell.out(&version_line(&check.version))?;
            }
        }
    }
    Ok(code)
}

/// `version A → B is a minor bump; the ABI requires minor: ok`, or, when the bump is too
/// small, the smallest version that would pass.
fn version_line(v: &VersionCheck) -> String {
    let bump = match v.actual {
        Bump::None => "no bump".to_owned(),
        b => format!("a {b} bump"),
    };
    if v.ok {
        return format!(
            "version {} → {} is {bump}; the ABI requires {}: ok",
            v.old_version, v.new_version, v.required
        );
    }
    let fix = match fingerprint::minimum_version(&v.old_version, v.required) {
        Some(min) => format!("set the version to {min} or later"),
        None => "raise the version".to_owned(),
    };
    let zero = if v.old_version.starts_with("0.") {
        " (0.x: minor acts as major, patch as minor)"
    } else {
        ""
    };
    format!(
        "version {} → {} is {bump}, but the ABI changes need a {} bump{zero}: {fix}",
        v.old_version, v.new_version, v.required
    )
}
