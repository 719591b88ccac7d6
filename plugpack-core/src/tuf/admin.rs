//! Key administration and delegations: `repo rotate`, `repo revoke`, the offline root
//! (`--stage`, `repo sign-root` on the offline machine, `repo publish-root`),
//! `repo delegate` and `repo add --role`.
//!
//! Every root change goes through a staged file, `root.staged.json`: the next root
//! version with the signatures collected so far. Online, `rotate`/`revoke` stage, sign
//! with the given root keys and publish in one go; with an offline root, the staged file
//! travels to the machine holding the root key, `sign-root` adds its signature, and
//! `publish-root` (back online) checks the thresholds of the previous and the new root
//! (TUF 5.3.4), writes `N.root.json` and re-signs the roles whose keys changed.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Map, Value};

use super::Error;
use super::metadata::{
    self, DelegatedRole, Delegations, Envelope, Key, Root, SPEC_VERSION, Signature,
    TOP_LEVEL_ROLES, Targets, hex,
};
use super::repo::{Added, OnlineKeys, Repository, pinned, read_role, write_file};
use crate::sign::{PublicKey, SecretKey};
use crate::types::rfc3339;

/// The staged next root version, in the repository directory.
pub const STAGED_ROOT: &str = "root.staged.json";

fn staged_path(dir: &Utf8Path) -> Utf8PathBuf {
    dir.join(STAGED_ROOT)
}

fn next_root(repo: &Repository) -> Root {
    let mut root = repo.root.clone();
    root.version += 1;
    root.expires = rfc3339(repo.now + repo.expiry.root);
    root
}

/// Drops keys no role uses any more.
fn prune_keys(root: &mut Root) {
    let used: Vec<String> = root.roles.values().flat_map(|r| r.keyids.clone()).collect();
    root.keys.retain(|id, _| used.contains(id));
}

fn stage(dir: &Utf8Path, root: &Root) -> Result<(), Error> {
    write_file(&staged_path(dir), &metadata::sign(root, &[])?)
}

/// Stages the next root with `old` replaced by `new` for top-level role `role`.
pub fn stage_rotation(
    dir: &Utf8Path,
    role: &str,
    old: &PublicKey,
    new: &PublicKey,
    now: i64,
) -> Result<Root, Error> {
    if !TOP_LEVEL_ROLES.contains(&role) {
        return Err(Error::Usage(format!(
            "--role {role}: unknown role (root, targets, snapshot, timestamp)"
        )));
    }
    let repo = Repository::open(dir, now)?;
    let mut root = next_root(&repo);
    let (old_id, new_id) = (old.key_id().0.clone(), new.key_id().0.clone());
    let entry = root.roles.get_mut(role).ok_or_else(|| Error::Repo {
        path: dir.join("root.json"),
        message: format!("root lists no {role} role"),
    })?;
    if !entry.keyids.contains(&old_id) {
        return Err(Error::Repo {
            path: dir.join("root.json"),
            message: format!("key {} is not a {role} key", old.key_id().short()),
        });
    }
    entry.keyids.retain(|k| k != &old_id);
    if !entry.keyids.contains(&new_id) {
        entry.keyids.push(new_id.clone());
        entry.keyids.sort();
    }
    root.keys.insert(new_id, Key::from_public(new));
    prune_keys(&mut root);
    stage(dir, &root)?;
    Ok(root)
}

/// Stages the next root without key `key_id`; returns it and the roles that listed it.
pub fn stage_revocation(
    dir: &Utf8Path,
    key_id: &str,
    now: i64,
) -> Result<(Root, Vec<String>), Error> {
    let repo = Repository::open(dir, now)?;
    let mut root = next_root(&repo);
    let mut affected = Vec::new();
    for (name, role) in &mut root.roles {
        if role.keyids.iter().any(|k| k == key_id) {
            role.keyids.retain(|k| k != key_id);
            if role.keyids.len() < role.threshold as usize {
                return Err(Error::Repo {
                    path: dir.join("root.json"),
                    message: format!(
                        "revoking {key_id} leaves role {name} below its threshold; rotate in a \
                         new key instead (`repo rotate`)"
                    ),
                });
            }
            affected.push(name.clone());
        }
    }
    if affected.is_empty() {
        return Err(Error::Repo {
            path: dir.join("root.json"),
            message: format!("no role lists key {key_id}"),
        });
    }
    root.keys.remove(key_id);
    stage(dir, &root)?;
    Ok((root, affected))
}

/// `repo sign-root`: adds `key`'s signature to a staged root file (a repository directory
/// or the file itself). Needs nothing but the file and the key, so the root key can stay
/// on an offline machine.
pub fn sign_root(staged: &Utf8Path, key: &SecretKey) -> Result<Root, Error> {
    let path = if staged.is_dir() {
        staged_path(staged)
    } else {
        staged.to_owned()
    };
    let bytes = std::fs::read(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let env = Envelope::parse(&bytes, path.as_str())?;
    let root: Root = env.typed(path.as_str())?;
    let id = key.public().key_id().0.clone();
    let mut signatures: Vec<Signature> = env
        .signatures
        .into_iter()
        .filter(|s| s.keyid != id)
        .collect();
    signatures.push(Signature {
        keyid: id,
        sig: hex(&key.sign(&env.canonical)),
    });
    signatures.sort_by(|a, b| a.keyid.cmp(&b.keyid));
    let doc = serde_json::json!({"signed": env.signed, "signatures": signatures});
    let out = super::cjson::encode(&doc).map_err(|e| Error::Internal(e.to_string()))?;
    write_file(&path, &out)?;
    Ok(root)
}

/// `repo publish-root`: publishes the staged root once the previous and the new root's
/// thresholds signed it, then re-signs the roles whose keys changed (their new keys must be
/// in `online`) and the timestamp.
pub fn publish_root(dir: &Utf8Path, online: &OnlineKeys<'_>, now: i64) -> Result<Root, Error> {
    let mut repo = Repository::open(dir, now)?;
    let path = staged_path(dir);
    let bytes = std::fs::read(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let env = Envelope::parse(&bytes, path.as_str())?;
    let new: Root = env.typed(path.as_str())?;
    metadata::check_roles(&new, path.as_str())?;
    let previous = repo.root.clone();
    if new.version != previous.version + 1 {
        return Err(Error::Repo {
            path,
            message: format!(
                "stages root version {}, the repository is at {}",
                new.version, previous.version
            ),
        });
    }
    env.verify(
        &previous.keys,
        &previous.roles["root"],
        "root (previous)",
        path.as_str(),
    )?;
    env.verify(&new.keys, &new.roles["root"], "root (new)", path.as_str())?;
    let changed = |r: &str| previous.roles.get(r) != new.roles.get(r);
    let any = ["targets", "snapshot", "timestamp"]
        .iter()
        .any(|r| changed(r));
    // Every key the re-signing needs, before anything is written.
    let targets_key = match changed("targets") {
        true => Some(need(online.targets, "targets")?),
        false => None,
    };
    let snapshot_key = match changed("targets") || changed("snapshot") {
        true => Some(need(online.snapshot, "snapshot")?),
        false => None,
    };
    let timestamp_key = match any {
        true => Some(need(online.timestamp, "timestamp")?),
        false => online.timestamp,
    };
    for (role, key) in [
        ("targets", targets_key),
        ("snapshot", snapshot_key),
        ("timestamp", timestamp_key),
    ] {
        if let Some(key) = key {
            if !new.roles[role].keyids.contains(&key.public().key_id().0) {
                return Err(Error::Repo {
                    path,
                    message: format!(
                        "--{role}-key {} is not a {role} key of the staged root",
                        key.public().key_id().short()
                    ),
                });
            }
        }
    }
    write_file(&dir.join(format!("{}.root.json", new.version)), &bytes)?;
    write_file(&dir.join("root.json"), &bytes)?;
    let _ = std::fs::remove_file(&path);
    repo.root = new.clone();
    if let Some(k) = targets_key {
        repo.publish_targets(k)?;
    }
    if let Some(k) = snapshot_key {
        repo.publish_snapshot(k)?;
    }
    if let Some(k) = timestamp_key {
        repo.publish_timestamp(k)?;
    }
    Ok(new)
}

fn need<'k>(key: Option<&'k SecretKey>, role: &str) -> Result<&'k SecretKey, Error> {
    key.ok_or_else(|| {
        Error::Usage(format!(
            "the {role} keys changed: give the new --{role}-key to re-sign {role}"
        ))
    })
}

/// `repo rotate` with the root keys at hand: stage, sign with `root_keys` (the threshold of
/// the previous and of the new root), publish. `new` signs the rotated role from now on.
pub fn rotate(
    dir: &Utf8Path,
    role: &str,
    old: &PublicKey,
    new: &SecretKey,
    root_keys: &[&SecretKey],
    online: &OnlineKeys<'_>,
    now: i64,
) -> Result<Root, Error> {
    stage_rotation(dir, role, old, new.public(), now)?;
    for key in root_keys {
        sign_root(dir, key)?;
    }
    let mut keys = OnlineKeys {
        targets: online.targets,
        snapshot: online.snapshot,
        timestamp: online.timestamp,
    };
    match role {
        "targets" => keys.targets = Some(new),
        "snapshot" => keys.snapshot = Some(new),
        "timestamp" => keys.timestamp = Some(new),
        _ => {}
    }
    publish_root(dir, &keys, now)
}

/// `repo revoke` with the root keys at hand: removes `key_id` from every top-level role.
pub fn revoke(
    dir: &Utf8Path,
    key_id: &str,
    root_keys: &[&SecretKey],
    online: &OnlineKeys<'_>,
    now: i64,
) -> Result<Vec<String>, Error> {
    let (_, affected) = stage_revocation(dir, key_id, now)?;
    for key in root_keys {
        sign_root(dir, key)?;
    }
    publish_root(dir, online, now)?;
    Ok(affected)
}

/// What `repo delegate` was given.
#[derive(Debug)]
pub struct DelegateOptions<'a> {
    /// The repository.
    pub dir: Utf8PathBuf,
    /// The delegated role's name (`NAME.json`).
    pub name: String,
    /// Path patterns it may sign (`team-x/*`).
    pub paths: Vec<String>,
    /// Its public keys.
    pub keys: Vec<PublicKey>,
    /// Distinct keys that must sign.
    pub threshold: u32,
    /// Stop the search at this role when a path matches.
    pub terminating: bool,
    /// Top-level online keys (targets, snapshot, timestamp).
    pub online: OnlineKeys<'a>,
    /// The time expiry counts from.
    pub now: i64,
}

/// `repo delegate`: adds (or updates) a delegated targets role in the top-level targets.
pub fn delegate(options: &DelegateOptions<'_>) -> Result<DelegatedRole, Error> {
    let name = &options.name;
    let safe = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if !safe || TOP_LEVEL_ROLES.contains(&name.as_str()) {
        return Err(Error::Usage(format!(
            "--name {name:?}: a delegated role name is letters, digits, `-` and `_`, and not a \
             top-level role"
        )));
    }
    if options.paths.is_empty() || options.keys.is_empty() {
        return Err(Error::Usage(
            "repo delegate needs --paths and --key".to_owned(),
        ));
    }
    // Target paths are ASCII (`NAME-VERSION.oci.tar`, `ROLE/…`), so a non-ASCII pattern
    // matches nothing; and clients that NFC-normalise before checking signatures (tough)
    // would verify other bytes than we signed for a non-NFC one and reject the repository.
    if let Some(bad) = options.paths.iter().find(|p| !p.is_ascii()) {
        return Err(Error::Usage(format!(
            "--paths {bad:?}: a path pattern is ASCII, like the target paths it matches"
        )));
    }
    let (Some(tk), Some(sk), Some(tsk)) = (
        options.online.targets,
        options.online.snapshot,
        options.online.timestamp,
    ) else {
        return Err(Error::Usage(
            "repo delegate needs --targets-key, --snapshot-key and --timestamp-key".to_owned(),
        ));
    };
    let mut keyids: Vec<String> = options.keys.iter().map(|k| k.key_id().0.clone()).collect();
    keyids.sort();
    keyids.dedup();
    if options.threshold == 0 || options.threshold as usize > keyids.len() {
        return Err(Error::Usage(format!(
            "--threshold {}: between 1 and the {} distinct keys",
            options.threshold,
            keyids.len()
        )));
    }
    let mut repo = Repository::open(&options.dir, options.now)?;
    repo.check_key("targets", tk)?;
    let role = DelegatedRole {
        name: name.clone(),
        keyids,
        threshold: options.threshold,
        terminating: options.terminating,
        paths: Some(options.paths.clone()),
        path_hash_prefixes: None,
    };
    let delegations = repo.targets.delegations.get_or_insert_with(|| Delegations {
        keys: BTreeMap::new(),
        roles: Vec::new(),
    });
    for key in &options.keys {
        delegations
            .keys
            .insert(key.key_id().0.clone(), Key::from_public(key));
    }
    match delegations.roles.iter_mut().find(|r| &r.name == name) {
        Some(existing) => *existing = role.clone(),
        None => delegations.roles.push(role.clone()),
    }
    let used: Vec<String> = delegations
        .roles
        .iter()
        .flat_map(|r| r.keyids.clone())
        .collect();
    delegations.keys.retain(|id, _| used.contains(id));
    repo.publish_targets(tk)?;
    repo.publish_snapshot(sk)?;
    repo.publish_timestamp(tsk)?;
    Ok(role)
}

/// `repo add --role NAME`: lists verified bundles in delegated role `role`, signed by
/// `key`, at `NAME-VERSION.oci.tar` or `ROLE/NAME-VERSION.oci.tar`, whichever the role's
/// paths cover (refused otherwise: a role never signs outside its paths). The caller
/// publishes snapshot and timestamp.
pub(crate) fn add_to_role(
    repo: &mut Repository,
    role: &str,
    key: &SecretKey,
    checked: Vec<(Utf8PathBuf, String, Value)>,
) -> Result<Vec<Added>, Error> {
    let delegation = repo
        .targets
        .delegations
        .as_ref()
        .and_then(|d| d.roles.iter().find(|r| r.name == role))
        .cloned()
        .ok_or_else(|| Error::Repo {
            path: repo.dir().join("targets.json"),
            message: format!("no delegated role `{role}` (add it with `repo delegate`)"),
        })?;
    if !delegation.keyids.contains(&key.public().key_id().0) {
        return Err(Error::Repo {
            path: repo.dir().join("targets.json"),
            message: format!(
                "key {} is not a key of delegated role {role}",
                key.public().key_id().short()
            ),
        });
    }
    let file = format!("{role}.json");
    let mut targets: Targets = if repo.dir().join(&file).is_file() {
        read_role(repo.dir(), &file)?
    } else {
        Targets {
            type_: "targets".to_owned(),
            spec_version: SPEC_VERSION.to_owned(),
            version: 0,
            expires: String::new(),
            targets: BTreeMap::new(),
            delegations: None,
            unrecognized: Map::new(),
        }
    };
    let mut added = Vec::new();
    for (bundle, base, custom) in checked {
        let candidates = [base.clone(), format!("{role}/{base}")];
        let path = candidates
            .iter()
            .find(|p| delegation.matches(p))
            .cloned()
            .ok_or_else(|| Error::Repo {
                path: bundle.clone(),
                message: format!(
                    "role {role} may sign {:?}; neither {} nor {} matches",
                    delegation.paths.clone().unwrap_or_default(),
                    candidates[0],
                    candidates[1]
                ),
            })?;
        let entry = repo.stage_target(&mut targets, &bundle, &path, custom)?;
        added.push(Added { path, file: entry });
    }
    targets.version += 1;
    targets.expires = rfc3339(repo.now + repo.expiry.targets);
    let bytes = metadata::sign(&targets, &[key])?;
    write_file(
        &repo.dir().join(format!("{}.{file}", targets.version)),
        &bytes,
    )?;
    write_file(&repo.dir().join(&file), &bytes)?;
    repo.snapshot
        .meta
        .insert(file, pinned(targets.version, &bytes));
    Ok(added)
}
