//! One file per subcommand: `Args` → core options → one core call → rendering.

pub mod abi_check;
pub mod abi_diff;
pub mod audit;
pub mod build;
pub mod db;
pub mod diff;
pub mod extract;
pub mod fetch;
pub mod fingerprint;
pub mod github;
pub mod init_ci;
pub mod inspect;
pub mod keygen;
pub mod merge;
pub mod new;
pub mod notices;
pub mod package;
pub mod pull;
pub mod push;
pub mod release;
pub mod repo;
pub mod report;
pub mod sbom;
pub mod sign;
pub mod verify;

use camino::Utf8PathBuf;
use plugpack_core::Ctx;
use plugpack_core::build::{BuildOptions, ProfileSelection};
use plugpack_core::project::{FeatureFlags, LoadOptions, NetworkFlags, PackageSelection};

use crate::cli::{Cli, Command, GlobalArgs, ProjectArgs};
use crate::exit::CliError;
use crate::shell::Shell;

/// Runs the parsed command; returns the exit code on success paths.
pub fn run(cli: &Cli, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    match &cli.command {
        Command::Build(args) => build::run(args, &cli.global, shell, ctx),
        Command::Package(args) => package::run(args, &cli.global, shell, ctx),
        Command::Sbom(args) => sbom::run(args, &cli.global, shell, ctx),
        Command::Inspect(args) => inspect::run(args, shell, ctx),
        Command::Notices(args) => notices::run(args, &cli.global, shell, ctx),
        Command::Report(args) => report::run(args, &cli.global, shell, ctx),
        Command::Diff(args) => diff::run(args, &cli.global, shell, ctx),
        Command::Extract(args) => extract::run(args, shell, ctx),
        Command::New(args) => new::run(args, shell),
        Command::Fingerprint(args) => fingerprint::run(args, &cli.global, shell, ctx),
        Command::AbiDiff(args) => abi_diff::run(args, shell),
        Command::AbiCheck(args) => abi_check::run(args, &cli.global, shell, ctx),
        Command::Keygen(args) => keygen::run(args, shell),
        Command::Sign(args) => sign::run(args, shell, ctx),
        Command::Verify(args) => verify::run(args, shell, ctx),
        Command::Audit(args) => audit::run(args, &cli.global, shell, ctx),
        Command::Db(args) => db::run(args, shell, ctx),
        Command::Push(args) => push::run(args, shell, ctx),
        Command::Merge(args) => merge::run(args, shell),
        Command::Pull(args) => pull::run(args, shell, ctx),
        Command::InitCi(args) => init_ci::run(args, shell, ctx),
        Command::Release(args) => release::run(args, &cli.global, shell, ctx),
        Command::Repo(args) => repo::run(args, shell, ctx),
        Command::Fetch(args) => fetch::run(args, shell, ctx),
    }
}

/// Converts a path given on the command line to UTF-8.
pub fn utf8(path: &std::path::Path) -> Result<Utf8PathBuf, CliError> {
    Ok(plugpack_core::project::utf8_path(path.to_owned())?)
}

impl ProjectArgs {
    /// The core's project-loading options.
    pub fn load_options(&self) -> Result<LoadOptions, CliError> {
        Ok(LoadOptions {
            manifest_path: self
                .manifest
                .manifest_path
                .as_deref()
                .map(utf8)
                .transpose()?,
            selection: PackageSelection {
                packages: self.workspace.package.clone(),
                workspace: self.workspace.workspace || self.workspace.all,
                exclude: self.workspace.exclude.clone(),
            },
            features: FeatureFlags {
                features: self.features.features.clone(),
                all_features: self.features.all_features,
                no_default_features: self.features.no_default_features,
            },
            network: NetworkFlags {
                locked: self.locked,
                frozen: self.frozen,
                offline: self.offline,
            },
            target_dir: self.target_dir.clone(),
        })
    }

    /// The core's build options.
    pub fn build_options(&self, global: &GlobalArgs, shell: &Shell) -> BuildOptions {
        BuildOptions {
            targets: self.target.clone(),
            profile: ProfileSelection {
                release: self.release,
                profile: self.profile.clone(),
            },
            verbose: global.verbose,
            quiet: global.quiet,
            color: Some(shell.cargo_color().to_owned()),
            env: Vec::new(),
        }
    }
}
