//! `cargo plugpack db status|update`: the RustSec advisory database.

use camino::Utf8PathBuf;
use clap::{Args, Subcommand};
use plugpack_core::Ctx;
use plugpack_core::audit;

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `db`.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DbAction,
}

/// `db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Show the database's location, identity and age.
    Status(DbPathArgs),
    /// Clone or fetch the database with `git` (the only network access of plugpack).
    Update(DbUpdateArgs),
}

/// `--db PATH`.
#[derive(Debug, Args)]
pub struct DbPathArgs {
    /// Database directory (default: $CARGO_HOME/advisory-db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<Utf8PathBuf>,
}

/// Arguments of `db update`.
#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    #[command(flatten)]
    pub path: DbPathArgs,
    /// Refuse to use the network (then this command fails).
    #[arg(long)]
    pub offline: bool,
}

/// Runs `db status` or `db update`.
pub fn run(args: &DbArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    match &args.action {
        DbAction::Status(a) => {
            let status = audit::db_status(a.db.as_deref(), ctx)?;
            match shell.format() {
                OutputFormat::Human => match &status.info {
                    Some(info) => {
                        shell.out(&format!("database   {}", status.path))?;
                        shell.out(&format!(
                            "identity   {} {}",
                            info.identity.kind, info.identity.value
                        ))?;
                        shell.out(&format!(
                            "updated    {}{}",
                            info.updated,
                            info.age_days
                                .map(|d| format!(" ({d} days ago)"))
                                .unwrap_or_default()
                        ))?;
                        shell.out(&format!("advisories {}", info.advisories))?;
                        for m in &info.malformed {
                            shell.out(&format!("malformed  {}: {}", m.file, m.error))?;
                        }
                    }
                    None => shell.out(&format!(
                        "no advisory database at {} (run `cargo plugpack db update`)",
                        status.path
                    ))?,
                },
                _ => shell.json("advisory-db", &status)?,
            }
            Ok(0)
        }
        DbAction::Update(a) => {
            let id = audit::db_update(a.path.db.as_deref(), a.offline, ctx)?;
            match shell.format() {
                OutputFormat::Human => {
                    use plugpack_core::Reporter;
                    shell.status("Updated", &format!("advisory database at {}", id.value));
                }
                _ => shell.json("advisory-db-updated", &id)?,
            }
            Ok(0)
        }
    }
}
