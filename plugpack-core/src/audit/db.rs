//! The RustSec advisory database: loading it file by file, its identity and age, and
//! `db status` / `db update` (the only network access of plugpack, through the `git`
//! command-line client; none from a local `--url`).

use std::collections::BTreeMap;
use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{Error, snapshot};
use crate::Ctx;
use crate::process::{self, git_stdout as git};

/// The upstream advisory database.
pub const ADVISORY_DB_URL: &str = "https://github.com/rustsec/advisory-db.git";

/// How the database is identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbIdentity {
    /// `git-commit` (a checkout whose `crates/` is exactly its `HEAD` commit's) or
    /// `content-sha256` (a plain directory, or a checkout with local changes there).
    pub kind: String,
    /// The commit id, or the SHA-256 over every advisory file's path and content.
    pub value: String,
}

/// A file that could not be parsed (skipped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedFile {
    /// Path relative to the database root.
    pub file: String,
    /// The parser's message.
    pub error: String,
}

/// What the report records about the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInfo {
    /// Where it was read from, as configured (`$CARGO_HOME/advisory-db` for the default).
    /// Shown to the user; never in a bundle ([`crate::audit::AuditReport::for_bundle`] drops
    /// it: a path of the build machine would make the bundle depend on where the database is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Identity.
    pub identity: DbIdentity,
    /// Where the database comes from: a checkout's `origin` URL (without credentials; not
    /// recorded when it is a local path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Last update (commit date of a checkout, else the newest advisory's date), `YYYY-MM-DD`.
    pub updated: String,
    /// Days between `updated` and the audit (omitted from bundle attachments, which must
    /// not change from one day to the next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// Advisories loaded.
    pub advisories: usize,
    /// Files skipped because they do not parse.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<MalformedFile>,
}

/// A loaded database.
#[derive(Debug)]
pub struct Database {
    /// Its description.
    pub info: DbInfo,
    /// Advisories by crate name.
    advisories: Advisories,
}

/// A database's advisories: parsed from the files, or from a snapshot (decoded crate by
/// crate when first looked up).
#[derive(Debug)]
enum Advisories {
    Parsed(BTreeMap<String, Vec<rustsec::Advisory>>),
    Snapshot(snapshot::LazyAdvisories),
}

impl Database {
    /// The advisories of the crate `name`, in file order (none when it has none).
    pub fn advisories_for(&self, name: &str) -> &[rustsec::Advisory] {
        match &self.advisories {
            Advisories::Parsed(by_crate) => by_crate.get(name).map_or(&[], Vec::as_slice),
            Advisories::Snapshot(lazy) => lazy.get(name),
        }
    }

    /// Every crate the database has advisories for, by name.
    pub fn crate_names(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match &self.advisories {
            Advisories::Parsed(by_crate) => Box::new(by_crate.keys().map(String::as_str)),
            Advisories::Snapshot(lazy) => Box::new(lazy.names()),
        }
    }
}

/// Where `$CARGO_HOME` is (`$CARGO_HOME`, else `$HOME/.cargo`).
pub fn cargo_home(ctx: &crate::Ctx) -> Option<Utf8PathBuf> {
    match ctx.var("CARGO_HOME") {
        Some(h) if !h.is_empty() => Some(Utf8PathBuf::from(h)),
        _ => ctx
            .var("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| Utf8Path::new(h).join(".cargo")),
    }
}

/// Loads every `crates/<name>/RUSTSEC-*.md` under `path`; a file that does not parse is
/// recorded in [`DbInfo::malformed`] instead of failing the load.
///
/// A git checkout whose `crates/` `git status` finds clean is identified by its commit (and
/// dated by it); one with local changes (modified, deleted, staged, untracked or ignored files
/// there) is not that commit, and is identified by its content like a plain directory. The
/// advisories of a clean commit are parsed once and then read from a snapshot in the git
/// directory (see `snapshot`).
pub fn open(path: &Utf8Path, location: &str, today: time::Date) -> Result<Database, Error> {
    let unreadable = |source| Error::DbUnreadable {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_dir() {
        return Err(unreadable(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    // The top of a work tree has `.git` (a directory, or a file in a linked worktree); a
    // directory without it is not a checkout of its own, whatever repository it sits in, and
    // costs no `git` run. Snapshots are kept only in a `.git` directory.
    let dot_git = path.join(".git");
    let (is_checkout, git_dir) = match std::fs::symlink_metadata(&dot_git) {
        Ok(m) => (true, m.is_dir().then_some(dot_git)),
        Err(_) => (false, None),
    };
    std::thread::scope(|scope| {
        // Asking git about the checkout overlaps with reading the snapshot, or, when there is
        // none, with reading every advisory.
        let git = scope.spawn(|| is_checkout.then(|| checkout_state(path, true)).flatten());
        let snapshot = git_dir.as_deref().and_then(|g| snapshot::load(path, g));
        let early = snapshot
            .is_none()
            .then(|| read_advisories(path, unreadable));
        let checkout = git.join().unwrap_or(None);
        let clean = checkout.as_ref().filter(|c| c.clean);
        if let Some(c) = clean {
            if let Some((header, lazy)) = snapshot.filter(|(h, _)| h.commit == c.commit) {
                tracing::debug!(commit = %c.commit, "advisory database read from its snapshot");
                return describe(
                    path,
                    location,
                    today,
                    Some((header.commit, header.date, c.url.clone())),
                    Advisories::Snapshot(lazy),
                    header.malformed,
                    String::new(),
                    None,
                    header.count,
                );
            }
        }
        let (by_crate, malformed, content_sha256, newest, count) = match early {
            Some(read) => read?,
            None => read_advisories(path, unreadable)?,
        };
        // The commit stands for what was read only if the checkout was clean at it before
        // the read and still is after it.
        let commit = clean.and_then(|c| {
            let date = commit_date(path, &c.commit)?;
            let after = checkout_state(path, false)?;
            (after.clean && after.commit == c.commit)
                .then(|| (c.commit.clone(), date, c.url.clone()))
        });
        if checkout.is_some() && commit.is_none() {
            tracing::debug!(
                "advisory database checkout has local changes under crates/: identified by content"
            );
        }
        if let (Some((commit, date, _)), Some(git_dir)) = (&commit, &git_dir) {
            let header = snapshot::Header {
                commit: commit.clone(),
                date: date.clone(),
                malformed: malformed.clone(),
                count,
            };
            snapshot::store(git_dir, &header, &by_crate);
        }
        describe(
            path,
            location,
            today,
            commit,
            Advisories::Parsed(by_crate),
            malformed,
            content_sha256,
            newest,
            count,
        )
    })
}

/// What [`read_advisories`] found: advisories by crate, malformed files, the content digest,
/// the newest advisory date and the number of advisories.
type ReadAdvisories = (
    BTreeMap<String, Vec<rustsec::Advisory>>,
    Vec<MalformedFile>,
    String,
    Option<String>,
    usize,
);

fn read_advisories(
    path: &Utf8Path,
    unreadable: impl Fn(std::io::Error) -> Error + Copy,
) -> Result<ReadAdvisories, Error> {
    let crates_dir = path.join("crates");
    let mut files: Vec<Utf8PathBuf> = Vec::new();
    match std::fs::read_dir(&crates_dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(unreadable)?;
                let Ok(dir) = Utf8PathBuf::from_path_buf(entry.path()) else {
                    continue;
                };
                // The entry's type comes with the listing; only a link is followed (stat).
                let is_dir = match entry.file_type() {
                    Ok(t) if t.is_symlink() => dir.is_dir(),
                    Ok(t) => t.is_dir(),
                    Err(_) => dir.is_dir(),
                };
                if !is_dir {
                    continue;
                }
                for file in std::fs::read_dir(&dir).map_err(unreadable)? {
                    let file = file.map_err(unreadable)?;
                    let Ok(file) = Utf8PathBuf::from_path_buf(file.path()) else {
                        continue;
                    };
                    let is_advisory = file
                        .file_name()
                        .is_some_and(|n| n.starts_with("RUSTSEC-") && n.ends_with(".md"));
                    if is_advisory {
                        files.push(file);
                    }
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(unreadable(e)),
    }
    files.sort();
    // Reading and parsing (TOML front matter, Markdown) is most of the work: two threads
    // each take one half of the sorted list; the results are then taken in file order, so
    // the digest and every list come out exactly as from one thread.
    let read_and_parse = |files: &[Utf8PathBuf]| -> Vec<ParsedFile> {
        files
            .iter()
            .map(|file| {
                let rel = file.strip_prefix(path).unwrap_or(file).as_str().to_owned();
                match std::fs::read_to_string(file) {
                    Ok(text) => {
                        let parsed = text
                            .parse::<rustsec::Advisory>()
                            .map(Box::new)
                            .map_err(|e| {
                                // toml's messages span several lines with a source excerpt;
                                // keep one line.
                                e.to_string()
                                    .split_whitespace()
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            });
                        ParsedFile::Read { rel, text, parsed }
                    }
                    Err(e) => ParsedFile::Unreadable {
                        rel,
                        error: e.to_string(),
                    },
                }
            })
            .collect()
    };
    let (first, second) = files.split_at(files.len() / 2);
    let parsed: Vec<ParsedFile> = std::thread::scope(|threads| {
        let other = threads.spawn(|| read_and_parse(second));
        let mut parsed = read_and_parse(first);
        parsed.extend(
            other
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        );
        parsed
    });
    let mut by_crate: BTreeMap<String, Vec<rustsec::Advisory>> = BTreeMap::new();
    let mut malformed = Vec::new();
    let mut hasher = sha2::Sha256::new();
    let mut newest: Option<String> = None;
    let mut count = 0;
    for file in parsed {
        let (rel, text, parsed) = match file {
            ParsedFile::Read { rel, text, parsed } => (rel, text, parsed),
            ParsedFile::Unreadable { rel, error } => {
                malformed.push(MalformedFile { file: rel, error });
                continue;
            }
        };
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
        match parsed {
            Ok(advisory) => {
                let date = advisory.metadata.date.as_str().to_owned();
                if newest.as_ref().is_none_or(|n| *n < date) {
                    newest = Some(date);
                }
                count += 1;
                by_crate
                    .entry(advisory.metadata.package.as_str().to_owned())
                    .or_default()
                    .push(*advisory);
            }
            Err(error) => malformed.push(MalformedFile { file: rel, error }),
        }
    }
    Ok((
        by_crate,
        malformed,
        format!("{:x}", hasher.finalize()),
        newest,
        count,
    ))
}

/// One advisory file as read by [`read_advisories`].
enum ParsedFile {
    /// Read; parsed, or the one-line parse error.
    Read {
        rel: String,
        text: String,
        parsed: Result<Box<rustsec::Advisory>, String>,
    },
    /// Not readable.
    Unreadable { rel: String, error: String },
}

#[allow(clippy::too_many_arguments)]
fn describe(
    path: &Utf8Path,
    location: &str,
    today: time::Date,
    git: Option<(String, String, Option<String>)>,
    advisories: Advisories,
    malformed: Vec<MalformedFile>,
    content_sha256: String,
    newest: Option<String>,
    count: usize,
) -> Result<Database, Error> {
    if count == 0 {
        return Err(Error::DbEmpty {
            path: path.to_owned(),
        });
    }
    let (identity, updated, url) = match git {
        Some((commit, date, url)) => (
            DbIdentity {
                kind: "git-commit".to_owned(),
                value: commit,
            },
            date,
            url,
        ),
        None => (
            DbIdentity {
                kind: "content-sha256".to_owned(),
                value: content_sha256,
            },
            newest.unwrap_or_default(),
            None,
        ),
    };
    let age_days = crate::audit::cfg::parse_date(&updated).map(|d| (today - d).whole_days().max(0));
    Ok(Database {
        info: DbInfo {
            location: Some(location.to_owned()),
            identity,
            url,
            updated,
            age_days,
            advisories: count,
            malformed,
        },
        advisories,
    })
}

/// What git says about a checkout's advisories.
struct Checkout {
    /// `HEAD`'s commit.
    commit: String,
    /// Whether `crates/` is exactly that commit's: nothing modified, deleted, staged,
    /// untracked or ignored there, as `git status` sees it.
    clean: bool,
    /// The `origin` URL fit to record (asked only `with_url`).
    url: Option<String>,
}

/// `git status` of `crates/` in the checkout at `path` (and its `origin` URL, asked at the
/// same time, `with_url`); `None` when git cannot tell (not a repository, no commit yet, no
/// git).
fn checkout_state(path: &Utf8Path, with_url: bool) -> Option<Checkout> {
    std::thread::scope(|threads| {
        let url = with_url.then(|| {
            threads
                .spawn(|| git(path, &["remote", "get-url", "origin"]).and_then(|u| public_url(&u)))
        });
        let status = git(
            path,
            &[
                "status",
                "--porcelain=v2",
                "--branch",
                "-z",
                "--untracked-files=normal",
                "--ignored=traditional",
                "--",
                "crates",
            ],
        );
        let url = url.and_then(|t| t.join().ok()).flatten();
        let status = status?;
        let mut commit = None;
        let mut clean = true;
        for entry in status.split('\0').filter(|e| !e.is_empty()) {
            match entry.strip_prefix("# branch.oid ") {
                Some(oid) => commit = Some(oid.to_owned()),
                // Any entry but a header is a change (a rename's second path included).
                None => clean &= entry.starts_with("# "),
            }
        }
        // `(initial)`: a repository without a commit.
        let commit =
            commit.filter(|c| c.len() >= 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))?;
        Some(Checkout { commit, clean, url })
    })
}

/// The commit date of `commit`, `YYYY-MM-DD`.
fn commit_date(path: &Utf8Path, commit: &str) -> Option<String> {
    git(path, &["show", "-s", "--format=%cs", commit, "--"])
}

/// A remote URL fit to record: `scheme://host/…` or `user@host:path` with any credentials
/// removed; `None` for a local path (`/srv/advisory-db`, `file://…`), which names the machine.
fn public_url(url: &str) -> Option<String> {
    let url = url.trim();
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" || rest.is_empty() {
            return None;
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit('@').next().unwrap_or(authority);
        return Some(format!("{scheme}://{host}/{path}"));
    }
    // scp-like `git@host:path`.
    match url.split_once(':') {
        Some((host, _)) if !host.is_empty() && !host.contains('/') && url.contains('@') => {
            Some(url.to_owned())
        }
        _ => None,
    }
}

/// Whether `url` names a repository on this machine (a path or a `file://` URL): fetching
/// it needs no network, so `db update --url` with it works under `--offline`.
pub fn is_local_source(url: &str) -> bool {
    url.starts_with("file://") || (!url.contains("://") && Utf8Path::new(url).exists())
}

/// Clones the advisory database into `path` from `url` (default [`ADVISORY_DB_URL`]), or
/// fetches and fast-forwards an existing checkout (from `url` when given, else its
/// `origin`). A local source (a path or `file://` URL, see [`is_local_source`]) is allowed
/// with `offline`; anything else is refused then. Returns the new identity.
pub fn update(path: &Utf8Path, url: Option<&str>, offline: bool) -> Result<DbIdentity, Error> {
    if offline && !url.is_some_and(is_local_source) {
        return Err(Error::Offline);
    }
    let run = |cmd: &mut Command| {
        process::output(cmd).map_err(|source| Error::Git {
            path: path.to_owned(),
            source,
        })
    };
    // `git -C <checkout> fetch` would resolve a relative source path from the checkout.
    let absolute = url
        .filter(|u| !u.contains("://"))
        .and_then(|u| std::fs::canonicalize(u).ok())
        .and_then(|p| p.to_str().map(str::to_owned));
    let url = absolute.as_deref().or(url);
    if path.join(".git").exists() {
        run(Command::new("git").arg("-C").arg(path).args([
            "fetch",
            "--depth",
            "1",
            url.unwrap_or("origin"),
            "HEAD",
        ]))?;
        run(Command::new("git")
            .arg("-C")
            .arg(path)
            .args(["reset", "--hard", "FETCH_HEAD"]))?;
    } else if path.exists() {
        return Err(Error::DbNotGit {
            path: path.to_owned(),
        });
    } else {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        let mut clone = Command::new("git");
        clone.args(["clone", "--quiet"]);
        let url = url.unwrap_or(ADVISORY_DB_URL);
        // `--depth` is ignored (with a warning) for plain local paths; keep it for URLs.
        if url.contains("://") {
            clone.args(["--depth", "1"]);
        }
        run(clone.arg(url).arg(path))?;
    }
    let commit = git(path, &["rev-parse", "--verify", "HEAD"]).ok_or_else(|| Error::DbNotGit {
        path: path.to_owned(),
    })?;
    Ok(DbIdentity {
        kind: "git-commit".to_owned(),
        value: commit,
    })
}

/// What `db status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbStatus {
    /// The directory looked at.
    pub path: Utf8PathBuf,
    /// The database, when one is there.
    pub info: Option<DbInfo>,
}

fn db_path(db: Option<&Utf8Path>, ctx: &Ctx) -> Result<Utf8PathBuf, Error> {
    match db {
        Some(p) => Ok(p.to_owned()),
        None => Ok(cargo_home(ctx)
            .ok_or(Error::NoCargoHome)?
            .join("advisory-db")),
    }
}

/// `db status`: the database's identity and age (`info: None` when the default location
/// has no database; an explicit `--db` that cannot be read is an error).
pub fn db_status(db: Option<&Utf8Path>, ctx: &Ctx) -> Result<DbStatus, Error> {
    let path = db_path(db, ctx)?;
    if db.is_none() && !path.exists() {
        return Ok(DbStatus { path, info: None });
    }
    let database = open(&path, path.as_str(), time::OffsetDateTime::now_utc().date())?;
    Ok(DbStatus {
        path,
        info: Some(database.info),
    })
}

/// `db update`: clones or fetches the database with `git`, from `url` (a URL, a local
/// repository path or a `file://` URL) when given, else from upstream (a fresh clone) or
/// the checkout's `origin`. Returns the new status (identity and date).
pub fn db_update(
    db: Option<&Utf8Path>,
    url: Option<&str>,
    offline: bool,
    ctx: &Ctx,
) -> Result<DbStatus, Error> {
    let path = db_path(db, ctx)?;
    let from = url.map(|u| format!(" from {u}")).unwrap_or_default();
    ctx.reporter()
        .status("Updating", &format!("advisory database at {path}{from}"));
    update(&path, url, offline)?;
    let database = open(&path, path.as_str(), time::OffsetDateTime::now_utc().date())?;
    Ok(DbStatus {
        path,
        info: Some(database.info),
    })
}

#[cfg(test)]
mod tests {
    use super::public_url;

    #[test]
    fn only_remote_urls_without_credentials_are_recorded() {
        assert_eq!(
            public_url("https://github.com/rustsec/advisory-db.git\n").as_deref(),
            Some("https://github.com/rustsec/advisory-db.git")
        );
        assert_eq!(
            public_url("https://user:token@example.com/advisory-db").as_deref(),
            Some("https://example.com/advisory-db")
        );
        assert_eq!(
            public_url("git@github.com:rustsec/advisory-db.git").as_deref(),
            Some("git@github.com:rustsec/advisory-db.git")
        );
        assert_eq!(public_url("/srv/mirrors/advisory-db"), None);
        assert_eq!(public_url("file:///srv/mirrors/advisory-db"), None);
        assert_eq!(public_url("../advisory-db"), None);
    }
}
