//! `cargo plugpack build`

use clap::Args;
use plugpack_core::{Ctx, build, pipeline};

use crate::cli::{GlobalArgs, OutputFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Do not embed the dependency list (cargo-auditable `.dep-v0`) into the artifacts.
    #[arg(long)]
    pub no_embed_deps: bool,
}

/// Builds and lists the plugin artifacts.
pub fn run(
    args: &BuildArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let (_, output) = pipeline::load_and_build(
        &args.project.load_options()?,
        &args.project.build_options(global, shell),
        !args.no_embed_deps,
        ctx,
    )?;
    for artifact in &output.artifacts {
        print_artifact(shell, artifact)?;
    }
    Ok(0)
}

/// Prints one artifact line (human) or a `plugin-artifact` message (JSON).
pub fn print_artifact(shell: &Shell, artifact: &build::BuiltArtifact) -> Result<(), CliError> {
    match shell.format() {
        OutputFormat::Json => shell.json("plugin-artifact", artifact)?,
        OutputFormat::Human => shell.out(&format!(
            "{:<6} {:<28} {}  {}  {} bytes",
            artifact.kind, artifact.target, artifact.path, artifact.sha256, artifact.size
        ))?,
    }
    Ok(())
}
