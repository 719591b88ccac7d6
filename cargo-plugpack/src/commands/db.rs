//! `cargo plugpack db status|update`: the RustSec advisory database.

use camino::Utf8PathBuf;
use clap::{Args, Subcommand};
use plugpack_core::audit::{self, DbStatus};
use plugpack_core::{Ctx, Reporter};

use crate::cli::OutputFormat;
use crate::exit::{CliError, DATABASE};
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
    /// Show the database's location, identity (git commit or content hash) and last update;
    /// exit 3 when there is none (unless --allow-no-db).
    Status(DbStatusArgs),
    /// Clone or fetch the database with `git` (the only network access of plugpack; none
    /// with a local --url).
    Update(DbUpdateArgs),
}

/// `--db PATH`.
#[derive(Debug, Args)]
pub struct DbPathArgs {
    /// Database directory (default: $CARGO_HOME/advisory-db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<Utf8PathBuf>,
}

/// Arguments of `db status`.
#[derive(Debug, Args)]
pub struct DbStatusArgs {
    #[command(flatten)]
    pub path: DbPathArgs,
    /// Exit 0 when there is no database at the default location (still reported).
    #[arg(long)]
    pub allow_no_db: bool,
}

/// Arguments of `db update`.
#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    #[command(flatten)]
    pub path: DbPathArgs,
    /// Clone or fetch from this git repository instead of upstream: a URL, a local
    /// repository path or a `file://` URL (a local one needs no network, even with --offline).
    #[arg(long, value_name = "PATH_OR_URL")]
    pub url: Option<String>,
    /// Refuse to use the network (then only a local --url works).
    #[arg(long)]
    pub offline: bool,
}

fn show(shell: &Shell, status: &DbStatus) -> Result<(), CliError> {
    let Some(info) = &status.info else {
        shell.out(&format!(
            "no advisory database at {}: advisories cannot be checked (run `cargo plugpack db update`)",
            status.path
        ))?;
        return Ok(());
    };
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
    Ok(())
}

/// Runs `db status` or `db update`.
pub fn run(args: &DbArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    match &args.action {
        DbAction::Status(a) => {
            let status = audit::db_status(a.path.db.as_deref(), ctx)?;
            match shell.format() {
                OutputFormat::Human => show(shell, &status)?,
                _ => shell.json("advisory-db", &status)?,
            }
            if status.info.is_some() {
                Ok(0)
            } else if a.allow_no_db {
                shell.warn(&format!(
                    "no advisory database at {}; audits run now will have the verdict `unchecked`",
                    status.path
                ));
                Ok(0)
            } else {
                Ok(DATABASE)
            }
        }
        DbAction::Update(a) => {
            let status = audit::db_update(a.path.db.as_deref(), a.url.as_deref(), a.offline, ctx)?;
            match shell.format() {
                OutputFormat::Human => {
                    if let Some(info) = &status.info {
                        shell.status(
                            "Updated",
                            &format!(
                                "advisory database at {} ({} {}, updated {})",
                                status.path, info.identity.kind, info.identity.value, info.updated
                            ),
                        );
                    }
                }
                _ => shell.json("advisory-db-updated", &status)?,
            }
            Ok(0)
        }
    }
}
