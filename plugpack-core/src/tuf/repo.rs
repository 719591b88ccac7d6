//! Writing a TUF repository: `repo init`, `repo add`, `repo refresh`, `repo rotate`.
//!
//! Layout (consistent snapshots): `N.root.json` for every root version and `root.json`
//! (the newest), `N.targets.json` + `targets.json`, `N.snapshot.json` + `snapshot.json`,
//! `timestamp.json`, and `targets/<sha256>.<name>-<version>.oci.tar`. Writes are atomic per
//! file and ordered so that `timestamp.json`, written last, is the commit point.
//! `.plugpack-repo.json` keeps the expiry periods; `.plugpack-repo.lock` serialises writers.
//! Key changes (rotate, revoke, offline root signing) and delegations are in `admin`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

use super::Error;
use super::metadata::{
    self, Envelope, Key, MetaFile, Role, RoleKeys, Root, SPEC_VERSION, Snapshot, TargetFile,
    Targets, Timestamp, hex,
};
use crate::sign::SecretKey;
use crate::types::{AtomicFile, rfc3339};

/// The file holding the repository's expiry periods (not secret; served harmlessly).
pub const CONFIG_FILE: &str = ".plugpack-repo.json";
/// The lock file serialising writers.
pub const LOCK_FILE: &str = ".plugpack-repo.lock";

/// How long each role's metadata stays valid, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    /// Root (default 365 days).
    pub root: i64,
    /// Targets (default 90 days).
    pub targets: i64,
    /// Snapshot (default 7 days).
    pub snapshot: i64,
    /// Timestamp (default 1 day).
    pub timestamp: i64,
}

impl Default for Expiry {
    fn default() -> Self {
        const DAY: i64 = 86_400;
        Expiry {
            root: 365 * DAY,
            targets: 90 * DAY,
            snapshot: 7 * DAY,
            timestamp: DAY,
        }
    }
}

impl Expiry {
    /// Applies `root=365d,targets=90d,snapshot=7d,timestamp=1d` (any subset) to `self`.
    pub fn parse_over(mut self, text: &str) -> Result<Self, Error> {
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (role, value) = part
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--expires {part}: expected ROLE=DURATION")))?;
            let secs = crate::verify::parse_duration(value)
                .map_err(|e| Error::Usage(format!("--expires {part}: {e}")))?;
            match role.trim() {
                "root" => self.root = secs,
                "targets" => self.targets = secs,
                "snapshot" => self.snapshot = secs,
                "timestamp" => self.timestamp = secs,
                other => {
                    return Err(Error::Usage(format!(
                        "--expires: unknown role `{other}` (root, targets, snapshot, timestamp)"
                    )));
                }
            }
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    expires: Expiry,
}

/// The online keys `add` and `refresh` sign with.
#[derive(Debug, Default)]
pub struct OnlineKeys<'a> {
    /// Targets key (`add`).
    pub targets: Option<&'a SecretKey>,
    /// Snapshot key.
    pub snapshot: Option<&'a SecretKey>,
    /// Timestamp key.
    pub timestamp: Option<&'a SecretKey>,
}

/// A repository opened for writing, under its lock.
#[derive(Debug)]
pub struct Repository {
    dir: Utf8PathBuf,
    /// The newest root.
    pub root: Root,
    /// The top-level targets.
    pub targets: Targets,
    /// The snapshot.
    pub snapshot: Snapshot,
    /// The timestamp.
    pub timestamp: Timestamp,
    pub(super) expiry: Expiry,
    pub(super) now: i64,
    _lock: File,
}

pub(super) fn lock(dir: &Utf8Path) -> Result<File, Error> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    file.lock()
        .map_err(|source| Error::Write { path, source })?;
    Ok(file)
}

pub(super) fn write_file(path: &Utf8Path, bytes: &[u8]) -> Result<(), Error> {
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = AtomicFile::create(path).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.commit().map_err(err)
}

pub(super) fn read_role<R: Role>(dir: &Utf8Path, name: &str) -> Result<R, Error> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    Envelope::parse(&bytes, path.as_str())?.typed(path.as_str())
}

fn key_map(keys: &[&SecretKey]) -> BTreeMap<String, Key> {
    keys.iter()
        .map(|k| (k.public().key_id().0.clone(), Key::from_public(k.public())))
        .collect()
}

fn role_keys(keys: &[&SecretKey], threshold: u32) -> RoleKeys {
    let mut keyids: Vec<String> = keys.iter().map(|k| k.public().key_id().0.clone()).collect();
    keyids.sort();
    keyids.dedup();
    RoleKeys { keyids, threshold }
}

macro_rules! header {
    ($ty:literal, $version:expr, $expires:expr) => {
        (
            $ty.to_owned(),
            SPEC_VERSION.to_owned(),
            $version,
            rfc3339($expires),
        )
    };
}

/// What `init` was given.
#[derive(Debug)]
pub struct InitOptions<'a> {
    /// The repository directory (created; must not hold a `root.json`).
    pub dir: Utf8PathBuf,
    /// Root keys.
    pub root_keys: Vec<&'a SecretKey>,
    /// Root threshold (default: all root keys).
    pub root_threshold: Option<u32>,
    /// Targets, snapshot and timestamp keys.
    pub online: OnlineKeys<'a>,
    /// Expiry periods.
    pub expiry: Expiry,
    /// The time to count expiry from (seconds since 1970).
    pub now: i64,
}

/// Creates a repository: root v1 and empty targets, snapshot and timestamp v1.
pub fn init(options: &InitOptions<'_>) -> Result<Repository, Error> {
    let dir = &options.dir;
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    let lock = lock(dir)?;
    if dir.join("root.json").exists() {
        return Err(Error::Repo {
            path: dir.clone(),
            message: "already holds a root.json (a repository exists here)".to_owned(),
        });
    }
    let (Some(targets), Some(snapshot), Some(timestamp)) = (
        options.online.targets,
        options.online.snapshot,
        options.online.timestamp,
    ) else {
        return Err(Error::Usage(
            "repo init needs --targets-key, --snapshot-key and --timestamp-key".to_owned(),
        ));
    };
    if options.root_keys.is_empty() {
        return Err(Error::Usage(
            "repo init needs at least one --root-key".to_owned(),
        ));
    }
    let threshold = options
        .root_threshold
        .unwrap_or(options.root_keys.len() as u32);
    let root_role = role_keys(&options.root_keys, threshold);
    if threshold == 0 || threshold as usize > root_role.keyids.len() {
        return Err(Error::Usage(format!(
            "--root-threshold {threshold}: must be between 1 and the {} distinct root keys",
            root_role.keyids.len()
        )));
    }
    let mut all = options.root_keys.clone();
    all.extend([targets, snapshot, timestamp]);
    let roles = BTreeMap::from([
        ("root".to_owned(), root_role),
        ("targets".to_owned(), role_keys(&[targets], 1)),
        ("snapshot".to_owned(), role_keys(&[snapshot], 1)),
        ("timestamp".to_owned(), role_keys(&[timestamp], 1)),
    ]);
    let now = options.now;
    let e = options.expiry;
    let (type_, spec_version, version, expires) = header!("root", 1, now + e.root);
    let root = Root {
        type_,
        spec_version,
        version,
        expires,
        consistent_snapshot: true,
        keys: key_map(&all),
        roles,
        unrecognized: Map::new(),
    };
    let (type_, spec_version, version, expires) = header!("targets", 0, now + e.targets);
    let empty_targets = Targets {
        type_,
        spec_version,
        version,
        expires,
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: Map::new(),
    };
    let (type_, spec_version, version, expires) = header!("snapshot", 0, now + e.snapshot);
    let snap = Snapshot {
        type_,
        spec_version,
        version,
        expires,
        meta: BTreeMap::new(),
        unrecognized: Map::new(),
    };
    let (type_, spec_version, version, expires) = header!("timestamp", 0, now + e.timestamp);
    let ts = Timestamp {
        type_,
        spec_version,
        version,
        expires,
        meta: BTreeMap::new(),
        unrecognized: Map::new(),
    };
    let config = serde_json::to_vec_pretty(&Config { expires: e })
        .map_err(|e| Error::Internal(e.to_string()))?;
    write_file(&dir.join(CONFIG_FILE), &config)?;
    let mut repo = Repository {
        dir: dir.clone(),
        root,
        targets: empty_targets,
        snapshot: snap,
        timestamp: ts,
        expiry: e,
        now,
        _lock: lock,
    };
    repo.write_root(&options.root_keys)?;
    repo.publish_targets(targets)?;
    repo.publish_snapshot(snapshot)?;
    repo.publish_timestamp(timestamp)?;
    Ok(repo)
}

impl Repository {
    /// Opens `dir` for writing (waits for its lock); `now` counts expiry.
    pub fn open(dir: &Utf8Path, now: i64) -> Result<Self, Error> {
        if !dir.join("root.json").is_file() {
            return Err(Error::Repo {
                path: dir.to_owned(),
                message: "no root.json: not a repository (run `repo init` first)".to_owned(),
            });
        }
        let lock = lock(dir)?;
        let config_path = dir.join(CONFIG_FILE);
        let expiry = match std::fs::read(&config_path) {
            Ok(bytes) => {
                serde_json::from_slice::<Config>(&bytes)
                    .map_err(|e| Error::Repo {
                        path: config_path.clone(),
                        message: e.to_string(),
                    })?
                    .expires
            }
            Err(_) => Expiry::default(),
        };
        Ok(Repository {
            dir: dir.to_owned(),
            root: {
                let root: Root = read_role(dir, "root.json")?;
                metadata::check_roles(&root, dir.join("root.json").as_str())?;
                root
            },
            targets: read_role(dir, "targets.json")?,
            snapshot: read_role(dir, "snapshot.json")?,
            timestamp: read_role(dir, "timestamp.json")?,
            expiry,
            now,
            _lock: lock,
        })
    }

    /// The repository directory.
    pub fn dir(&self) -> &Utf8Path {
        &self.dir
    }

    /// Fails unless `key` is listed for top-level role `role`.
    pub(super) fn check_key(&self, role: &str, key: &SecretKey) -> Result<(), Error> {
        let listed = self
            .root
            .roles
            .get(role)
            .is_some_and(|r| r.keyids.contains(&key.public().key_id().0));
        if listed {
            return Ok(());
        }
        Err(Error::Repo {
            path: self.dir.join("root.json"),
            message: format!(
                "key {} is not a {role} key of this repository",
                key.public().key_id().short()
            ),
        })
    }

    /// Signs and writes the current root as `N.root.json` and `root.json`.
    pub fn write_root(&mut self, keys: &[&SecretKey]) -> Result<(), Error> {
        let bytes = metadata::sign(&self.root, keys)?;
        self.write_versioned("root", self.root.version, &bytes)
    }

    /// Writes a role's signed metadata as `VERSION.ROLE.json` (consistent snapshots) and
    /// as `ROLE.json`.
    fn write_versioned(&self, role: &str, version: u64, bytes: &[u8]) -> Result<(), Error> {
        write_file(&self.dir.join(format!("{version}.{role}.json")), bytes)?;
        write_file(&self.dir.join(format!("{role}.json")), bytes)
    }

    /// Bumps, signs and writes the top-level targets.
    pub fn publish_targets(&mut self, key: &SecretKey) -> Result<(), Error> {
        self.check_key("targets", key)?;
        self.targets.version += 1;
        self.targets.expires = rfc3339(self.now + self.expiry.targets);
        let bytes = metadata::sign(&self.targets, &[key])?;
        self.write_versioned("targets", self.targets.version, &bytes)?;
        self.snapshot.meta.insert(
            "targets.json".to_owned(),
            pinned(self.targets.version, &bytes),
        );
        Ok(())
    }

    /// Bumps, signs and writes the snapshot.
    pub fn publish_snapshot(&mut self, key: &SecretKey) -> Result<(), Error> {
        self.check_key("snapshot", key)?;
        self.snapshot.version += 1;
        self.snapshot.expires = rfc3339(self.now + self.expiry.snapshot);
        let bytes = metadata::sign(&self.snapshot, &[key])?;
        self.write_versioned("snapshot", self.snapshot.version, &bytes)?;
        self.timestamp.meta.insert(
            "snapshot.json".to_owned(),
            pinned(self.snapshot.version, &bytes),
        );
        Ok(())
    }

    /// Bumps, signs and writes the timestamp (the commit point).
    pub fn publish_timestamp(&mut self, key: &SecretKey) -> Result<(), Error> {
        self.check_key("timestamp", key)?;
        self.timestamp.version += 1;
        self.timestamp.expires = rfc3339(self.now + self.expiry.timestamp);
        let bytes = metadata::sign(&self.timestamp, &[key])?;
        write_file(&self.dir.join("timestamp.json"), &bytes)
    }

    /// Whether the snapshot expires within half its period (`refresh` re-signs it then).
    pub fn snapshot_due(&self) -> bool {
        let expires = metadata::parse_expires(&self.snapshot.expires).unwrap_or(0);
        expires - self.now < self.expiry.snapshot / 2
    }

    /// Copies a bundle into `targets/` under its consistent-snapshot name and lists it in
    /// `into` (the top-level targets or a delegated role's), with `custom`. Refuses a path
    /// that is already listed with other content.
    pub fn stage_target(
        &self,
        into: &mut Targets,
        bundle: &Utf8Path,
        path: &str,
        custom: Value,
    ) -> Result<TargetFile, Error> {
        let (sha256, sha512, length) = hash_file(bundle)?;
        let file = TargetFile {
            length,
            hashes: BTreeMap::from([("sha256".to_owned(), sha256), ("sha512".to_owned(), sha512)]),
            custom: Some(custom),
        };
        if let Some(existing) = into.targets.get(path) {
            if existing.hashes != file.hashes {
                return Err(Error::Repo {
                    path: bundle.to_owned(),
                    message: format!(
                        "target {path} is already in the repository with other content \
                         (publish a new version instead)"
                    ),
                });
            }
        }
        let (parent, base) = match path.rsplit_once('/') {
            Some((p, b)) => (format!("{p}/"), b),
            None => (String::new(), path),
        };
        let dest = self
            .dir
            .join("targets")
            .join(format!("{parent}{}.{base}", file.hashes["sha256"]));
        if !dest.is_file() {
            let err = |source| Error::Write {
                path: dest.clone(),
                source,
            };
            let mut out = AtomicFile::create(&dest).map_err(err)?;
            let mut input = File::open(bundle).map_err(|source| Error::Read {
                path: bundle.to_owned(),
                source,
            })?;
            std::io::copy(&mut input, &mut out).map_err(err)?;
            out.commit().map_err(err)?;
        }
        into.targets.insert(path.to_owned(), file.clone());
        Ok(file)
    }
}

/// Version, length and sha256 of a metadata file, as the role above lists it.
pub(super) fn pinned(version: u64, bytes: &[u8]) -> MetaFile {
    MetaFile {
        version,
        length: Some(bytes.len() as u64),
        hashes: Some(BTreeMap::from([(
            "sha256".to_owned(),
            hex(&Sha256::digest(bytes)),
        )])),
    }
}

/// sha256 and sha512 (hex) and the length of a file.
pub(crate) fn hash_file(path: &Utf8Path) -> Result<(String, String, u64), Error> {
    let err = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(err)?;
    let mut a = Sha256::new();
    let mut b = Sha512::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut length = 0u64;
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        a.update(&buf[..n]);
        b.update(&buf[..n]);
        length += n as u64;
    }
    Ok((hex(&a.finalize()), hex(&b.finalize()), length))
}

/// What `repo add` was given.
#[derive(Debug)]
pub struct AddOptions<'a> {
    /// The repository.
    pub dir: Utf8PathBuf,
    /// Bundles to publish.
    pub bundles: Vec<Utf8PathBuf>,
    /// `--key` public keys (trust for the `verify` gate).
    pub keys: Vec<Utf8PathBuf>,
    /// `--policy` (trust for the `verify` gate).
    pub policy: Option<Utf8PathBuf>,
    /// The online keys (all three needed; with `role`, snapshot and timestamp only).
    pub online: OnlineKeys<'a>,
    /// `--role NAME --role-key K`: publish into this delegated targets role instead.
    pub role: Option<(String, &'a SecretKey)>,
    /// The time expiry counts from.
    pub now: i64,
}

/// One published bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    /// The target path (`<name>-<version>.oci.tar`).
    pub path: String,
    /// Its entry.
    pub file: TargetFile,
}

/// `repo add`: verifies each bundle (nothing unverified enters), copies it under its
/// consistent-snapshot name, lists it with plugpack's custom data, then publishes new
/// targets, snapshot and timestamp versions.
pub fn add(options: &AddOptions<'_>, ctx: &crate::Ctx) -> Result<Vec<Added>, Error> {
    let (Some(sk), Some(tsk)) = (options.online.snapshot, options.online.timestamp) else {
        return Err(Error::Usage(
            "repo add needs --snapshot-key and --timestamp-key".to_owned(),
        ));
    };
    let tk = match (&options.role, options.online.targets) {
        (None, None) => {
            return Err(Error::Usage(
                "repo add needs --targets-key (or --role NAME --role-key K)".to_owned(),
            ));
        }
        (_, tk) => tk,
    };
    // Verify before taking the lock: it is the slow part.
    let mut checked = Vec::new();
    for bundle in &options.bundles {
        let report =
            match super::verify_bundle(bundle, &options.keys, options.policy.as_deref(), ctx)? {
                Ok(report) => report,
                Err(failures) => {
                    return Err(Error::BundleRefused {
                        bundle: bundle.clone(),
                        failures,
                    });
                }
            };
        let (path, custom) = custom_data(&report, bundle)?;
        checked.push((bundle.clone(), path, custom));
    }
    let mut repo = Repository::open(&options.dir, options.now)?;
    repo.check_key("snapshot", sk)?;
    repo.check_key("timestamp", tsk)?;
    let mut added = Vec::new();
    if let Some((role, key)) = &options.role {
        added = super::admin::add_to_role(&mut repo, role, key, checked)?;
    } else if let Some(tk) = tk {
        repo.check_key("targets", tk)?;
        let mut targets = repo.targets.clone();
        for (bundle, path, custom) in checked {
            let file = repo.stage_target(&mut targets, &bundle, &path, custom)?;
            added.push(Added { path, file });
        }
        repo.targets = targets;
        repo.publish_targets(tk)?;
    }
    repo.publish_snapshot(sk)?;
    repo.publish_timestamp(tsk)?;
    Ok(added)
}

/// The target path and `custom` object of a verified bundle.
fn custom_data(
    report: &crate::verify::VerifyReport,
    bundle: &Utf8Path,
) -> Result<(String, Value), Error> {
    let (Some(name), Some(version), Some(statement)) =
        (&report.plugin, &report.version, &report.attestation)
    else {
        return Err(Error::Repo {
            path: bundle.to_owned(),
            message: "the verified bundle names no plugin or version".to_owned(),
        });
    };
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
            && !s.starts_with('.')
    };
    if !safe(name) || !safe(version) {
        return Err(Error::Repo {
            path: bundle.to_owned(),
            message: format!("plugin name {name:?} or version {version:?} is not a safe file name"),
        });
    }
    let p = &statement.predicate;
    let targets: Vec<&str> = p.targets.iter().map(|t| t.target.as_str()).collect();
    let manifests: Vec<String> = p.targets.iter().map(|t| t.manifest.to_string()).collect();
    let abi: Vec<String> = p
        .attachments
        .iter()
        .filter(|a| a.kind == "abi")
        .flat_map(|a| a.content.iter().map(|d| d.to_string()))
        .collect();
    let audit: Vec<&str> = p
        .attachments
        .iter()
        .filter(|a| a.kind == "audit")
        .filter_map(|a| a.verdict.as_deref())
        .collect();
    let signers: Vec<&str> = report.signers.iter().map(|s| s.key_id.0.as_str()).collect();
    let custom = serde_json::json!({"plugpack": {
        "name": name,
        "version": version,
        "sequence": p.sequence,
        "targets": targets,
        "manifests": manifests,
        "abi": abi,
        "audit": audit,
        "signers": signers,
    }});
    Ok((format!("{name}-{version}.oci.tar"), custom))
}

/// `repo refresh`: a new timestamp, and a new snapshot when it expires within half its
/// period (needs the snapshot key then). Returns whether the snapshot was re-signed.
pub fn refresh(dir: &Utf8Path, online: &OnlineKeys<'_>, now: i64) -> Result<bool, Error> {
    let Some(tsk) = online.timestamp else {
        return Err(Error::Usage(
            "repo refresh needs --timestamp-key".to_owned(),
        ));
    };
    let mut repo = Repository::open(dir, now)?;
    let due = repo.snapshot_due();
    if due || online.snapshot.is_some() {
        let Some(sk) = online.snapshot else {
            return Err(Error::Usage(format!(
                "the snapshot expires at {}, within half its period: give --snapshot-key too",
                repo.snapshot.expires
            )));
        };
        repo.publish_snapshot(sk)?;
    }
    repo.publish_timestamp(tsk)?;
    Ok(due || online.snapshot.is_some())
}
