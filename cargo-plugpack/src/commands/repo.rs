//! `cargo plugpack repo init|add|refresh|rotate|revoke|sign-root|publish-root|delegate`:
//! write a TUF repository of signed bundles.

use camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, Subcommand};
use plugpack_core::sign::{PublicKey, SecretKey};
use plugpack_core::tuf::{self, admin, repo};
use plugpack_core::{Ctx, Reporter};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::{Shell, escape};

/// Arguments of `repo`.
#[derive(Debug, Args)]
pub struct RepoArgs {
    /// The repository operation.
    #[command(subcommand)]
    pub command: RepoCommand,
}

/// `repo` subcommands.
#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Create a TUF repository (root v1, empty targets, snapshot and timestamp).
    Init(InitArgs),
    /// Verify bundles and publish them (new targets, snapshot and timestamp versions).
    Add(AddArgs),
    /// Re-sign the timestamp (and the snapshot when due), e.g. from a cron job.
    Refresh(RefreshArgs),
    /// Replace a role's key in a new root version (signed by old and new root keys).
    Rotate(RotateArgs),
    /// Remove a compromised key from every role in a new root version.
    Revoke(RevokeArgs),
    /// Add a root key's signature to a staged root (on the offline machine).
    SignRoot(SignRootArgs),
    /// Publish a staged root once the old and new root thresholds signed it.
    PublishRoot(PublishRootArgs),
    /// Delegate target paths to a role with its own keys (a plugin team).
    Delegate(DelegateArgs),
}

/// The online keys.
#[derive(Debug, Args, Clone)]
pub struct OnlineKeyArgs {
    /// Targets role private key (PEM from `keygen`).
    #[arg(long, value_name = "KEY")]
    pub targets_key: Option<Utf8PathBuf>,
    /// Snapshot role private key.
    #[arg(long, value_name = "KEY")]
    pub snapshot_key: Option<Utf8PathBuf>,
    /// Timestamp role private key.
    #[arg(long, value_name = "KEY")]
    pub timestamp_key: Option<Utf8PathBuf>,
}

/// Arguments of `repo init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Repository directory (created).
    pub dir: Utf8PathBuf,
    /// Root private key (repeatable).
    #[arg(long, value_name = "KEY", required = true)]
    pub root_key: Vec<Utf8PathBuf>,
    /// Root signatures required (default: all root keys).
    #[arg(long, value_name = "N")]
    pub root_threshold: Option<u32>,
    /// Expiry periods, e.g. root=365d,targets=90d,snapshot=7d,timestamp=1d.
    #[arg(long, value_name = "ROLE=DUR,…")]
    pub expires: Option<String>,
    #[command(flatten)]
    pub online: OnlineKeyArgs,
}

/// Arguments of `repo add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Repository directory.
    pub dir: Utf8PathBuf,
    /// Bundles to publish (each must pass `verify` under --key or --policy).
    #[arg(required = true)]
    pub bundles: Vec<Utf8PathBuf>,
    /// Trust this public key for the verification gate (repeatable).
    #[arg(long, value_name = "PUB")]
    pub key: Vec<Utf8PathBuf>,
    /// Trust policy for the verification gate.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub policy: Option<Utf8PathBuf>,
    /// Publish into this delegated role (signed with --role-key; no --targets-key needed).
    #[arg(long, value_name = "NAME", requires = "role_key")]
    pub role: Option<String>,
    /// The delegated role's private key.
    #[arg(long, value_name = "KEY", requires = "role")]
    pub role_key: Option<Utf8PathBuf>,
    #[command(flatten)]
    pub online: OnlineKeyArgs,
}

/// Arguments of `repo refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Repository directory.
    pub dir: Utf8PathBuf,
    #[command(flatten)]
    pub online: OnlineKeyArgs,
}

/// Arguments of `repo rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Repository directory.
    pub dir: Utf8PathBuf,
    /// Role whose key changes: root, targets, snapshot or timestamp.
    #[arg(long)]
    pub role: String,
    /// The key being replaced (public or private PEM).
    #[arg(long, value_name = "KEY")]
    pub old_key: Utf8PathBuf,
    /// The new key: private, or public with --stage.
    #[arg(long, value_name = "KEY")]
    pub new_key: Utf8PathBuf,
    /// Root private keys: the threshold of the old root and of the new one.
    #[arg(long, value_name = "KEY", required_unless_present = "stage")]
    pub root_key: Vec<Utf8PathBuf>,
    /// Only stage the new root (root.staged.json) for `repo sign-root` on the offline
    /// machine and `repo publish-root`.
    #[arg(long, conflicts_with = "root_key")]
    pub stage: bool,
    #[command(flatten)]
    pub online: OnlineKeyArgs,
}

/// Arguments of `repo revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Repository directory.
    pub dir: Utf8PathBuf,
    /// The key id to remove.
    #[arg(long)]
    pub key_id: String,
    /// Root private keys (threshold of the old and the new root).
    #[arg(long, value_name = "KEY", required_unless_present = "stage")]
    pub root_key: Vec<Utf8PathBuf>,
    /// Only stage the new root for `repo sign-root` and `repo publish-root`.
    #[arg(long, conflicts_with = "root_key")]
    pub stage: bool,
    #[command(flatten)]
    pub online: OnlineKeyArgs,
}

/// Arguments of `repo sign-root`.
#[derive(Debug, Args)]
pub struct SignRootArgs {
    /// The staged root: a repository directory (its root.staged.json) or the file.
    pub staged: Utf8PathBuf,
    /// Root private key.
    #[arg(long, value_name = "KEY")]
    pub key: Utf8PathBuf,
}

/// Arguments of `repo publish-root`.
#[derive(Debug, Args)]
pub struct PublishRootArgs {
    /// Repository directory.
    pub dir: Utf8PathBuf,
    #[command(flatten)]
    pub online: OnlineKeyArgs,
}

/// Arguments of `repo delegate`.
#[derive(Debug, Args)]
pub struct DelegateArgs {
    /// Repository directory.
    pub dir: Utf8PathBuf,
    /// Role name (NAME.json).
    #[arg(long)]
    pub name: String,
    /// Target path patterns the role may sign (`*` stays within one path segment).
    #[arg(long, value_name = "PATTERN", required = true)]
    pub paths: Vec<String>,
    /// The role's public key (repeatable).
    #[arg(long, value_name = "PUB", required = true)]
    pub key: Vec<Utf8PathBuf>,
    /// Signatures required.
    #[arg(long, default_value_t = 1)]
    pub threshold: u32,
    /// Do not search later roles for paths this role matches.
    #[arg(long)]
    pub terminating: bool,
    #[command(flatten)]
    pub online: OnlineKeyArgs,
}

fn load(path: &Utf8Path) -> Result<SecretKey, CliError> {
    Ok(SecretKey::load(path, false)?)
}

fn load_all(paths: &[Utf8PathBuf]) -> Result<Vec<SecretKey>, CliError> {
    paths.iter().map(|p| load(p)).collect()
}

/// A public key from a `.pub` file, or the public half of a private key file.
fn public_of(path: &Utf8Path) -> Result<PublicKey, CliError> {
    match PublicKey::load(path) {
        Ok(k) => Ok(k),
        Err(_) => Ok(load(path)?.public().clone()),
    }
}

fn staged(shell: &Shell, root: &tuf::Root, dir: &Utf8Path) -> Result<(), CliError> {
    match shell.format() {
        OutputFormat::Json => shell.json("root-staged", &serde_json::json!({"root_version": root.version, "staged": dir.join(admin::STAGED_ROOT)}))?,
        OutputFormat::Human => shell.status(
            "Staged",
            &format!(
                "root version {} in {}: sign it with `repo sign-root` (old and new root keys), then `repo publish-root`",
                root.version,
                escape(dir.join(admin::STAGED_ROOT).as_str())
            ),
        ),
    }
    Ok(())
}

fn load_opt(path: &Option<Utf8PathBuf>) -> Result<Option<SecretKey>, CliError> {
    path.as_deref().map(load).transpose()
}

struct Loaded {
    targets: Option<SecretKey>,
    snapshot: Option<SecretKey>,
    timestamp: Option<SecretKey>,
}

impl OnlineKeyArgs {
    fn load(&self) -> Result<Loaded, CliError> {
        Ok(Loaded {
            targets: load_opt(&self.targets_key)?,
            snapshot: load_opt(&self.snapshot_key)?,
            timestamp: load_opt(&self.timestamp_key)?,
        })
    }
}

impl Loaded {
    fn keys(&self) -> repo::OnlineKeys<'_> {
        repo::OnlineKeys {
            targets: self.targets.as_ref(),
            snapshot: self.snapshot.as_ref(),
            timestamp: self.timestamp.as_ref(),
        }
    }
}

/// The time expiry counts from: the real clock, never `SOURCE_DATE_EPOCH` (a build pinned
/// to its commit time would publish a timestamp that has already expired).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn tuf_err(e: tuf::Error) -> CliError {
    CliError::Core(plugpack_core::Error::from(e))
}

/// Runs a `repo` subcommand.
pub fn run(args: &RepoArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let now = now();
    match &args.command {
        RepoCommand::Init(a) => {
            let roots: Vec<SecretKey> = a
                .root_key
                .iter()
                .map(|p| load(p))
                .collect::<Result<_, _>>()?;
            let online = a.online.load()?;
            let expiry = match &a.expires {
                Some(text) => repo::Expiry::default().parse_over(text).map_err(tuf_err)?,
                None => repo::Expiry::default(),
            };
            let repo = repo::init(&repo::InitOptions {
                dir: a.dir.clone(),
                root_keys: roots.iter().collect(),
                root_threshold: a.root_threshold,
                online: online.keys(),
                expiry,
                now,
            })
            .map_err(tuf_err)?;
            report(
                shell,
                "repo-initialized",
                &repo.root,
                &format!("TUF repository in {}", escape(a.dir.as_str())),
            )?;
        }
        RepoCommand::Add(a) => {
            let online = a.online.load()?;
            let role_key = load_opt(&a.role_key)?;
            let role = a.role.clone().zip(role_key.as_ref());
            let added = repo::add(
                &repo::AddOptions {
                    dir: a.dir.clone(),
                    bundles: a.bundles.clone(),
                    keys: a.key.clone(),
                    policy: a.policy.clone(),
                    online: online.keys(),
                    role,
                    now,
                },
                ctx,
            )
            .map_err(tuf_err)?;
            for item in &added {
                match shell.format() {
                    OutputFormat::Json => shell.json("repo-target-added", item)?,
                    OutputFormat::Human => {
                        shell.status(
                            "Published",
                            &format!("{} ({} bytes)", escape(&item.path), item.file.length),
                        );
                        shell.out(&item.path)?;
                    }
                }
            }
        }
        RepoCommand::Refresh(a) => {
            let online = a.online.load()?;
            let snapshot = repo::refresh(&a.dir, &online.keys(), now).map_err(tuf_err)?;
            let what = if snapshot {
                "timestamp and snapshot"
            } else {
                "timestamp"
            };
            match shell.format() {
                OutputFormat::Json => {
                    shell.json("repo-refreshed", &serde_json::json!({"snapshot": snapshot}))?
                }
                OutputFormat::Human => shell.status(
                    "Refreshed",
                    &format!("{what} of {}", escape(a.dir.as_str())),
                ),
            }
        }
        RepoCommand::Rotate(a) => {
            let old = public_of(&a.old_key)?;
            let root = if a.stage {
                let new = public_of(&a.new_key)?;
                let root =
                    admin::stage_rotation(&a.dir, &a.role, &old, &new, now).map_err(tuf_err)?;
                staged(shell, &root, &a.dir)?;
                return Ok(0);
            } else {
                let roots = load_all(&a.root_key)?;
                let online = a.online.load()?;
                let new = load(&a.new_key)?;
                admin::rotate(
                    &a.dir,
                    &a.role,
                    &old,
                    &new,
                    &roots.iter().collect::<Vec<_>>(),
                    &online.keys(),
                    now,
                )
                .map_err(tuf_err)?
            };
            report(
                shell,
                "repo-rotated",
                &root,
                &format!("{} key {} replaced", a.role, old.key_id().short()),
            )?;
        }
        RepoCommand::Revoke(a) => {
            if a.stage {
                let (root, _) = admin::stage_revocation(&a.dir, &a.key_id, now).map_err(tuf_err)?;
                staged(shell, &root, &a.dir)?;
                return Ok(0);
            }
            let roots = load_all(&a.root_key)?;
            let online = a.online.load()?;
            let roles = admin::revoke(
                &a.dir,
                &a.key_id,
                &roots.iter().collect::<Vec<_>>(),
                &online.keys(),
                now,
            )
            .map_err(tuf_err)?;
            match shell.format() {
                OutputFormat::Json => shell.json(
                    "repo-revoked",
                    &serde_json::json!({"key_id": a.key_id, "roles": roles}),
                )?,
                OutputFormat::Human => shell.status(
                    "Revoked",
                    &format!("key {} from {}", escape(&a.key_id), roles.join(", ")),
                ),
            }
        }
        RepoCommand::SignRoot(a) => {
            let key = load(&a.key)?;
            let root = admin::sign_root(&a.staged, &key).map_err(tuf_err)?;
            match shell.format() {
                OutputFormat::Json => shell.json("root-signed", &serde_json::json!({"root_version": root.version, "key_id": key.public().key_id()}))?,
                OutputFormat::Human => shell.status("Signed", &format!("staged root version {} with key {}", root.version, key.public().key_id().short())),
            }
        }
        RepoCommand::PublishRoot(a) => {
            let online = a.online.load()?;
            let root = admin::publish_root(&a.dir, &online.keys(), now).map_err(tuf_err)?;
            report(
                shell,
                "root-published",
                &root,
                &format!("root of {}", escape(a.dir.as_str())),
            )?;
        }
        RepoCommand::Delegate(a) => {
            let online = a.online.load()?;
            let keys = a
                .key
                .iter()
                .map(|p| PublicKey::load(p))
                .collect::<Result<Vec<_>, _>>()?;
            let role = admin::delegate(&admin::DelegateOptions {
                dir: a.dir.clone(),
                name: a.name.clone(),
                paths: a.paths.clone(),
                keys,
                threshold: a.threshold,
                terminating: a.terminating,
                online: online.keys(),
                now,
            })
            .map_err(tuf_err)?;
            match shell.format() {
                OutputFormat::Json => shell.json("repo-delegated", &role)?,
                OutputFormat::Human => shell.status(
                    "Delegated",
                    &format!(
                        "{} to role {}",
                        escape(&role.paths.unwrap_or_default().join(", ")),
                        escape(&role.name)
                    ),
                ),
            }
        }
    }
    Ok(0)
}

fn report(shell: &Shell, reason: &str, root: &tuf::Root, human: &str) -> Result<(), CliError> {
    match shell.format() {
        OutputFormat::Json => shell.json(
            reason,
            &serde_json::json!({"root_version": root.version, "expires": root.expires}),
        )?,
        OutputFormat::Human => shell.status(
            "Wrote",
            &format!(
                "{human} (root version {}, expires {})",
                root.version, root.expires
            ),
        ),
    }
    Ok(())
}
