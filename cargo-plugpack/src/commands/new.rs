//! `cargo plugpack new NAME --kind cdylib|wasm|component [--path DIR] [--vcs git|none]`

use camino::Utf8PathBuf;
use clap::{Args, ValueEnum};
use plugpack_core::build::PluginKind;
use plugpack_core::{Reporter, scaffold};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::Shell;

/// `--kind`
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Native shared library with a C ABI.
    Cdylib,
    /// WebAssembly module (wasm32-wasip1 by default).
    Wasm,
    /// WebAssembly component (wasm32-wasip2; its WIT world in wit/, bindings by wit-bindgen).
    Component,
}

/// Arguments of `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Crate name.
    pub name: String,
    /// Plugin kind.
    #[arg(long, value_enum, default_value = "cdylib")]
    pub kind: KindArg,
    /// Directory to create (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub path: Option<Utf8PathBuf>,
    /// Initialise a git repository (skipped inside an existing work tree), or none.
    #[arg(long, value_enum, default_value = "git")]
    pub vcs: VcsArg,
}

/// `--vcs`
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VcsArg {
    /// `git init`, unless already inside a git work tree (like `cargo new`).
    Git,
    /// No version control.
    None,
}

/// Scaffolds a plugin crate.
pub fn run(args: &NewArgs, shell: &Shell) -> Result<u8, CliError> {
    let options = scaffold::NewOptions {
        name: args.name.clone(),
        kind: match args.kind {
            KindArg::Cdylib => PluginKind::Cdylib,
            KindArg::Wasm | KindArg::Component => PluginKind::Wasm,
        },
        component: matches!(args.kind, KindArg::Component),
        path: args
            .path
            .clone()
            .unwrap_or_else(|| Utf8PathBuf::from(&args.name)),
        vcs: match args.vcs {
            VcsArg::Git => scaffold::Vcs::Git,
            VcsArg::None => scaffold::Vcs::None,
        },
    };
    let made = scaffold::new(&options)?;
    match shell.format() {
        OutputFormat::Json => shell.json("plugin-created", &made)?,
        OutputFormat::Human => shell.status(
            "Created",
            &format!(
                "{} plugin `{}` at {}",
                if options.component {
                    "component".to_owned()
                } else {
                    made.kind.to_string()
                },
                args.name,
                made.path
            ),
        ),
    }
    Ok(0)
}
