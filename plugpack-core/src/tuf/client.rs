//! The TUF 1.0 client workflow (specification section 5) and the download of a plugin.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use super::metadata::{
    Envelope, Key, MetaFile, Role, RoleKeys, Root, Snapshot, TOP_LEVEL_ROLES, TargetFile, Targets,
    Timestamp, check_roles, hex, parse_expires,
};
use super::transport::Source;
use super::{
    Code, Error, MAX_METADATA_LENGTH, MAX_ROOT_LENGTH, MAX_ROOT_ROTATIONS, MAX_TIMESTAMP_LENGTH,
};

/// The state file naming (by sha256) the bootstrap root the state grew from.
const BOOTSTRAP_MARKER: &str = "bootstrap-root.sha256";

/// Most delegated roles visited in one search (python-tuf's `max_delegations`).
const MAX_DELEGATIONS: usize = 32;

/// A TUF client for one repository: trusted metadata lives in `state`.
///
/// ```no_run
/// use plugpack_core::tuf::Client;
/// let root = std::fs::read("root.json")?;
/// let mut client = Client::new("https://plugins.example.com/repo", &root, "/var/lib/host/tuf".into())?;
/// client.refresh()?;
/// let (path, target) = client.find("my-plugin", Some("1.2.0"))?;
/// client.download(&path, &target, "plugins/my-plugin.oci.tar".into())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Client {
    source: Source,
    state: Utf8PathBuf,
    now: i64,
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: Option<Targets>,
    delegated: BTreeMap<String, Targets>,
    /// Keys earlier roots of the chain had and the current one dropped (error codes only).
    retired: BTreeMap<String, Key>,
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn expired(expires: &str, now: i64, code: Code, file: &str) -> Result<(), Error> {
    match parse_expires(expires) {
        Some(t) if t > now => Ok(()),
        Some(_) => Err(Error::rejected(code, file, format!("expired at {expires}"))),
        None => Err(Error::rejected(
            Code::MetadataInvalid,
            file,
            format!("`expires` {expires:?} is not an RFC 3339 time"),
        )),
    }
}

/// More bytes than a pinned length is a mismatch; more than the default cap, endless data.
fn too_long(meta: &MetaFile) -> Code {
    if meta.length.is_some() {
        Code::MetadataHashMismatch
    } else {
        Code::EndlessData
    }
}

fn check_pinned(meta: &MetaFile, bytes: &[u8], file: &str) -> Result<(), Error> {
    if let Some(length) = meta.length {
        if bytes.len() as u64 != length {
            return Err(Error::rejected(
                Code::MetadataHashMismatch,
                file,
                format!("{} bytes, the listing says {length}", bytes.len()),
            ));
        }
    }
    for (algo, want) in meta.hashes.iter().flatten() {
        let have = match algo.as_str() {
            "sha256" => hex(&Sha256::digest(bytes)),
            "sha512" => hex(&Sha512::digest(bytes)),
            _ => continue,
        };
        if !have.eq_ignore_ascii_case(want) {
            return Err(Error::rejected(
                Code::MetadataHashMismatch,
                file,
                format!("{algo} is {have}, the listing says {want}"),
            ));
        }
    }
    Ok(())
}

impl Client {
    /// A client that trusts `trusted_root` (the bootstrap `root.json`, which must be signed
    /// by its own root threshold), or the newer root already trusted in `state`.
    pub fn new(repo: &str, trusted_root: &[u8], state: Utf8PathBuf) -> Result<Self, Error> {
        let file = "trusted root.json";
        let env = Envelope::parse(trusted_root, file)?;
        let mut root: Root = env.typed(file)?;
        check_roles(&root, file)?;
        env.verify(&root.keys, &root.roles["root"], "root", file)?;
        // The state's newer root is used only if it grew from this same bootstrap root, so
        // a state directory shared with another repository never replaces the trust given.
        let marker = state.join(BOOTSTRAP_MARKER);
        let bootstrap = hex(&Sha256::digest(trusted_root));
        let same_lineage = std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == bootstrap);
        match Self::load_local_root(&state) {
            Some(local) if same_lineage && local.version >= root.version => root = local,
            _ => {
                for (name, bytes) in [
                    ("root.json", trusted_root),
                    (BOOTSTRAP_MARKER, bootstrap.as_bytes()),
                ] {
                    let path = state.join(name);
                    crate::types::write_atomic(&path, bytes)
                        .map_err(|source| Error::Write { path, source })?;
                }
            }
        }
        Ok(Client {
            source: Source::parse(repo, Duration::from_secs(300))?,
            state,
            now: system_now(),
            root,
            timestamp: None,
            snapshot: None,
            targets: None,
            delegated: BTreeMap::new(),
            retired: BTreeMap::new(),
        })
    }

    /// Pins the clock (seconds since 1970) for expiry checks.
    pub fn at_time(mut self, now: i64) -> Self {
        self.now = now;
        self
    }

    /// Sets the overall time limit of each HTTP transfer (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, Error> {
        if let Source::Http { base, .. } = &self.source {
            self.source = Source::parse(&base.clone(), timeout)?;
        }
        Ok(self)
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    fn load_local_root(state: &Utf8Path) -> Option<Root> {
        let bytes = std::fs::read(state.join("root.json")).ok()?;
        let env = Envelope::parse(&bytes, "root.json").ok()?;
        let root: Root = env.typed("root.json").ok()?;
        check_roles(&root, "root.json").ok()?;
        env.verify(&root.keys, &root.roles["root"], "root", "root.json")
            .ok()?;
        Some(root)
    }

    fn persist(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.state.join(name);
        crate::types::write_atomic(&path, bytes).map_err(|source| Error::Write { path, source })
    }

    /// A persisted file that still verifies under `keys`/`role` (else `None`: keys changed).
    fn load_local<R: Role>(
        &self,
        name: &str,
        keys: &BTreeMap<String, Key>,
        role: &RoleKeys,
    ) -> Option<R> {
        let bytes = std::fs::read(self.state.join(name)).ok()?;
        let env = Envelope::parse(&bytes, name).ok()?;
        env.verify(keys, role, name, name).ok()?;
        env.typed(name).ok()
    }

    /// Updates root, timestamp, snapshot and top-level targets (spec 5.3–5.6).
    pub fn refresh(&mut self) -> Result<(), Error> {
        self.update_root()?;
        self.update_timestamp()?;
        self.update_snapshot()?;
        self.update_targets()?;
        Ok(())
    }

    fn update_root(&mut self) -> Result<(), Error> {
        let first = self.root.version + 1;
        for v in first..first + MAX_ROOT_ROTATIONS {
            let name = format!("{v}.root.json");
            let Some(bytes) = self
                .source
                .get_bytes(&name, MAX_ROOT_LENGTH, Code::EndlessData)?
            else {
                break;
            };
            let env = Envelope::parse(&bytes, &name)?;
            env.verify(&self.root.keys, &self.root.roles["root"], "root", &name)?;
            let new: Root = env.typed(&name)?;
            check_roles(&new, &name)?;
            env.verify(&new.keys, &new.roles["root"], "root", &name)?;
            if new.version < v {
                return Err(Error::rejected(
                    Code::Rollback,
                    &name,
                    format!("holds root version {}, older than {v}", new.version),
                ));
            }
            if new.version != v {
                return Err(Error::rejected(
                    Code::RootVersionSkip,
                    &name,
                    format!("holds root version {}, expected {v}", new.version),
                ));
            }
            self.persist("root.json", &bytes)?;
            for (id, key) in &self.root.keys {
                if !new.keys.contains_key(id) {
                    self.retired.insert(id.clone(), key.clone());
                }
            }
            self.root = new;
        }
        expired(&self.root.expires, self.now, Code::ExpiredRoot, "root.json")
    }

    fn update_timestamp(&mut self) -> Result<(), Error> {
        let name = "timestamp.json";
        let ts_role = self.root.roles["timestamp"].clone();
        let trusted: Option<Timestamp> = self.load_local(name, &self.root.keys, &ts_role);
        let bytes = self
            .source
            .get_bytes(name, MAX_TIMESTAMP_LENGTH, Code::EndlessData)?
            .ok_or_else(|| Error::rejected(Code::MetadataMissing, name, "not in the repository"))?;
        let env = Envelope::parse(&bytes, name)?;
        env.verify_noting_retired(&self.root.keys, &self.retired, &ts_role, "timestamp", name)?;
        let new: Timestamp = env.typed(name)?;
        let snap = new.meta.get("snapshot.json").ok_or_else(|| {
            Error::rejected(Code::MetadataInvalid, name, "lists no snapshot.json")
        })?;
        if let Some(old) = &trusted {
            if new.version < old.version {
                return Err(Error::rejected(
                    Code::Rollback,
                    name,
                    format!(
                        "timestamp version {} is older than the trusted {}",
                        new.version, old.version
                    ),
                ));
            }
            if let Some(old_snap) = old.meta.get("snapshot.json") {
                if snap.version < old_snap.version {
                    return Err(Error::rejected(
                        Code::Rollback,
                        name,
                        format!(
                            "lists snapshot version {}, older than the trusted {}",
                            snap.version, old_snap.version
                        ),
                    ));
                }
            }
        }
        expired(&new.expires, self.now, Code::ExpiredTimestamp, name)?;
        self.persist(name, &bytes)?;
        self.timestamp = Some(new);
        Ok(())
    }

    fn update_snapshot(&mut self) -> Result<(), Error> {
        let meta = self
            .timestamp
            .as_ref()
            .and_then(|t| t.meta.get("snapshot.json"))
            .cloned()
            .ok_or_else(|| Error::Internal("snapshot update before timestamp".to_owned()))?;
        let role = self.root.roles["snapshot"].clone();
        let trusted: Option<Snapshot> = self.load_local("snapshot.json", &self.root.keys, &role);
        let name = format!("{}.snapshot.json", meta.version);
        let cap = meta.length.unwrap_or(MAX_METADATA_LENGTH);
        let bytes = self
            .source
            .get_bytes(&name, cap, too_long(&meta))?
            .ok_or_else(|| {
                Error::rejected(Code::MetadataMissing, &name, "not in the repository")
            })?;
        check_pinned(&meta, &bytes, &name)?;
        let env = Envelope::parse(&bytes, &name)?;
        env.verify_noting_retired(&self.root.keys, &self.retired, &role, "snapshot", &name)?;
        let new: Snapshot = env.typed(&name)?;
        if new.version != meta.version {
            return Err(Error::rejected(
                Code::MixAndMatch,
                &name,
                format!(
                    "snapshot version {}, the timestamp lists {}",
                    new.version, meta.version
                ),
            ));
        }
        if let Some(old) = &trusted {
            if new.version < old.version {
                return Err(Error::rejected(
                    Code::Rollback,
                    &name,
                    format!("snapshot version {} < trusted {}", new.version, old.version),
                ));
            }
            for (file, old_meta) in &old.meta {
                match new.meta.get(file) {
                    None => {
                        return Err(Error::rejected(
                            Code::MixAndMatch,
                            &name,
                            format!("no longer lists {file}"),
                        ));
                    }
                    Some(m) if m.version < old_meta.version => {
                        return Err(Error::rejected(
                            Code::MixAndMatch,
                            &name,
                            format!(
                                "lists {file} version {}, older than the trusted {}",
                                m.version, old_meta.version
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        expired(&new.expires, self.now, Code::ExpiredSnapshot, &name)?;
        self.persist("snapshot.json", &bytes)?;
        self.snapshot = Some(new);
        Ok(())
    }

    /// Loads role `name` (`targets` or a delegated role) as listed in the snapshot, signed
    /// by `role` of `keys`.
    fn load_targets(
        &self,
        name: &str,
        keys: &BTreeMap<String, Key>,
        role: &RoleKeys,
    ) -> Result<Targets, Error> {
        let listed = format!("{name}.json");
        let meta = self
            .snapshot
            .as_ref()
            .and_then(|s| s.meta.get(&listed))
            .cloned()
            .ok_or_else(|| {
                Error::rejected(Code::MetadataMissing, &listed, "not listed in the snapshot")
            })?;
        let file = format!("{}.{listed}", meta.version);
        let cap = meta.length.unwrap_or(MAX_METADATA_LENGTH);
        let bytes = self
            .source
            .get_bytes(&file, cap, too_long(&meta))?
            .ok_or_else(|| {
                Error::rejected(Code::MetadataMissing, &file, "not in the repository")
            })?;
        check_pinned(&meta, &bytes, &file)?;
        let env = Envelope::parse(&bytes, &file)?;
        env.verify_noting_retired(keys, &self.retired, role, name, &file)?;
        let new: Targets = env.typed(&file)?;
        if new.version != meta.version {
            return Err(Error::rejected(
                Code::MixAndMatch,
                &file,
                format!(
                    "{name} version {}, the snapshot lists {}",
                    new.version, meta.version
                ),
            ));
        }
        let trusted: Option<Targets> = self.load_local(&listed, keys, role);
        if let Some(old) = trusted {
            if new.version < old.version {
                return Err(Error::rejected(
                    Code::Rollback,
                    &file,
                    format!("{name} version {} < trusted {}", new.version, old.version),
                ));
            }
        }
        expired(&new.expires, self.now, Code::ExpiredTargets, &file)?;
        self.persist(&listed, &bytes)?;
        Ok(new)
    }

    fn update_targets(&mut self) -> Result<(), Error> {
        let role = self.root.roles["targets"].clone();
        let targets = self.load_targets("targets", &self.root.keys.clone(), &role)?;
        self.targets = Some(targets);
        Ok(())
    }

    /// Every role reachable from the top-level targets, preorder, with the path patterns
    /// of its chain of delegations (delegated roles are loaded and verified on the way).
    fn walk(&mut self) -> Result<Vec<(String, Vec<super::DelegatedRole>)>, Error> {
        let top = self
            .targets
            .clone()
            .ok_or_else(|| Error::Internal("find before refresh".to_owned()))?;
        let mut out = vec![("targets".to_owned(), Vec::new())];
        let mut stack: Vec<(Targets, Vec<super::DelegatedRole>)> = vec![(top, Vec::new())];
        let mut visited = BTreeSet::from(["targets".to_owned()]);
        while let Some((parent, chain)) = stack.pop() {
            let Some(delegations) = &parent.delegations else {
                continue;
            };
            let mut children = Vec::new();
            for role in &delegations.roles {
                if visited.len() >= MAX_DELEGATIONS || !visited.insert(role.name.clone()) {
                    continue;
                }
                if !safe_role_name(&role.name) {
                    return Err(Error::rejected(
                        Code::MetadataInvalid,
                        "targets",
                        format!(
                            "delegated role name {:?} is not a plain file name",
                            role.name
                        ),
                    ));
                }
                if TOP_LEVEL_ROLES.contains(&role.name.as_str()) {
                    return Err(Error::rejected(
                        Code::UnknownRole,
                        &format!("{}.json", role.name),
                        "a delegated role may not take a top-level role's name",
                    ));
                }
                // A delegation whose role never published metadata lists nothing yet.
                let listed = format!("{}.json", role.name);
                if !self
                    .snapshot
                    .as_ref()
                    .is_some_and(|s| s.meta.contains_key(&listed))
                {
                    continue;
                }
                let rk = RoleKeys {
                    keyids: role.keyids.clone(),
                    threshold: role.threshold,
                };
                let targets = self.load_targets(&role.name, &delegations.keys, &rk)?;
                let mut chain = chain.clone();
                chain.push(role.clone());
                out.push((role.name.clone(), chain.clone()));
                self.delegated.insert(role.name.clone(), targets.clone());
                children.push((targets, chain));
            }
            // Preorder: the first child is searched first.
            stack.extend(children.into_iter().rev());
        }
        Ok(out)
    }

    /// Finds plugin `name` (newest version unless `version`) among the targets of every
    /// role, by plugpack's custom data. A delegated role listing it outside its paths is
    /// `outside-delegated-paths`.
    pub fn find(
        &mut self,
        name: &str,
        version: Option<&str>,
    ) -> Result<(String, TargetFile), Error> {
        let mut best: Option<(String, String, TargetFile)> = None;
        for (role, chain) in self.walk()? {
            let targets = if role == "targets" {
                self.targets.as_ref()
            } else {
                self.delegated.get(&role)
            };
            for (path, file) in targets.map(|t| &t.targets).into_iter().flatten() {
                let Some(v) = plugin_version(path, file, name) else {
                    continue;
                };
                if version.is_some_and(|want| want != v) {
                    continue;
                }
                if let Some(bad) = chain.iter().find(|d| !d.matches(path)) {
                    return Err(Error::rejected(
                        Code::OutsideDelegatedPaths,
                        &format!("{role}.json"),
                        format!("lists {path}, outside the paths delegated to {}", bad.name),
                    ));
                }
                let newer = best
                    .as_ref()
                    .is_none_or(|(_, bv, _)| version_cmp(v, bv).is_gt());
                if newer {
                    best = Some((path.clone(), v.to_owned(), file.clone()));
                }
            }
        }
        let wanted = match version {
            Some(v) => format!("{name}@{v}"),
            None => name.to_owned(),
        };
        let (path, _, _) = best.ok_or_else(|| {
            Error::rejected(
                Code::TargetNotFound,
                &wanted,
                "no such plugin in the repository",
            )
        })?;
        // The authoritative entry is the first in the preorder search by path.
        let file = self.resolve(&path)?;
        Ok((path, file))
    }

    /// The entry for `path` by the specification's preorder search.
    fn resolve(&self, path: &str) -> Result<TargetFile, Error> {
        let mut stack = vec!["targets".to_owned()];
        while let Some(role) = stack.pop() {
            let targets = if role == "targets" {
                self.targets.as_ref()
            } else {
                self.delegated.get(&role)
            };
            let Some(targets) = targets else { continue };
            if let Some(file) = targets.targets.get(path) {
                return Ok(file.clone());
            }
            let mut children = Vec::new();
            for d in targets.delegations.iter().flat_map(|d| &d.roles) {
                if d.matches(path) {
                    children.push(d.name.clone());
                    if d.terminating {
                        break;
                    }
                }
            }
            stack.extend(children.into_iter().rev());
        }
        Err(Error::rejected(
            Code::TargetNotFound,
            path,
            "no role lists it",
        ))
    }

    /// Downloads target `path` to `output`: at most its length, every hash checked, written
    /// beside `output` and renamed into place only when `accept` (e.g. `verify`) passes.
    pub fn download_with(
        &self,
        path: &str,
        file: &TargetFile,
        output: &Utf8Path,
        accept: &dyn Fn(&Utf8Path) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let sha = file
            .hashes
            .get("sha256")
            .or_else(|| file.hashes.values().next())
            .ok_or_else(|| Error::rejected(Code::MetadataInvalid, path, "target has no hashes"))?;
        // Paths and hashes come from metadata: no `..`, no absolute paths, hex hashes only.
        let plain = !path.starts_with('/')
            && path
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.contains('\\'));
        if !plain || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::rejected(
                Code::MetadataInvalid,
                path,
                "target path or hash is not a plain relative path / hex digest",
            ));
        }
        let (dir, base) = match path.rsplit_once('/') {
            Some((d, b)) => (format!("{d}/"), b),
            None => (String::new(), path),
        };
        let remote = if self.root.consistent_snapshot {
            format!("targets/{dir}{sha}.{base}")
        } else {
            format!("targets/{path}")
        };
        let parent = match output.parent() {
            Some(p) if !p.as_str().is_empty() => p.to_owned(),
            _ => Utf8PathBuf::from("."),
        };
        let werr = |source| Error::Write {
            path: output.to_owned(),
            source,
        };
        std::fs::create_dir_all(&parent).map_err(werr)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".plugpack-fetch-")
            .tempfile_in(&parent)
            .map_err(werr)?;
        let mut sink = HashSink {
            inner: temp.as_file_mut(),
            sha256: Sha256::new(),
            sha512: Sha512::new(),
        };
        let n = self
            .source
            .get(&remote, file.length, Code::TargetTooLong, &mut sink)?
            .ok_or_else(|| {
                Error::rejected(Code::TargetNotFound, &remote, "not in the repository")
            })?;
        if n != file.length {
            return Err(Error::rejected(
                Code::TargetLengthMismatch,
                &remote,
                format!("{n} bytes, the targets metadata says {}", file.length),
            ));
        }
        let (h256, h512) = (hex(&sink.sha256.finalize()), hex(&sink.sha512.finalize()));
        for (algo, want) in &file.hashes {
            let have = match algo.as_str() {
                "sha256" => &h256,
                "sha512" => &h512,
                _ => continue,
            };
            if !have.eq_ignore_ascii_case(want) {
                return Err(Error::rejected(
                    Code::TargetHashMismatch,
                    &remote,
                    format!("{algo} is {have}, the targets metadata says {want}"),
                ));
            }
        }
        temp.as_file().sync_all().map_err(werr)?;
        let temp_path = Utf8PathBuf::from_path_buf(temp.path().to_owned())
            .map_err(|p| Error::Internal(format!("non-UTF-8 temp path {}", p.display())))?;
        accept(&temp_path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&temp_path, std::fs::Permissions::from_mode(0o644))
                .map_err(werr)?;
        }
        temp.persist(output).map_err(|e| werr(e.error))?;
        Ok(())
    }

    /// [`Client::download_with`] without a further check.
    pub fn download(
        &self,
        path: &str,
        file: &TargetFile,
        output: Utf8PathBuf,
    ) -> Result<(), Error> {
        self.download_with(path, file, &output, &|_| Ok(()))
    }
}

struct HashSink<'a> {
    inner: &'a mut std::fs::File,
    sha256: Sha256,
    sha512: Sha512,
}

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.sha512.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The version of plugin `name` a target entry holds: from plugpack's custom data, or
/// for repositories written by other tools, from a `NAME-VERSION.oci.tar` file name.
pub(super) fn plugin_version<'a>(
    path: &'a str,
    file: &'a TargetFile,
    name: &str,
) -> Option<&'a str> {
    let custom = file.custom.as_ref().and_then(|c| c.get("plugpack"));
    if let Some(custom) = custom {
        let field = |k: &str| custom.get(k).and_then(Value::as_str);
        return (field("name") == Some(name))
            .then(|| field("version"))
            .flatten();
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    base.strip_suffix(".oci.tar")?
        .strip_prefix(name)?
        .strip_prefix('-')
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
}

/// A delegated role name usable as a file name (python-tuf URL-encodes them; we refuse).
fn safe_role_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Semantic-version order, falling back to string order.
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}
