//! The audit: RustSec advisories and licences of the crates that actually ship in a plugin,
//! judged under the policy in `[*.metadata.plugpack.audit]` / `plugpack.toml`.
//!
//! Inputs: a [`Project`] and the [`BuildOutput`] of the plugin's build (the exact crate set
//! per artifact comes from [`depset::compute_exact`], the same set the SBOM uses), or a bare
//! `Cargo.lock` ([`scan_lockfile`], for comparison with cargo-audit). Output: one
//! [`AuditReport`] per plugin (`schema: "plugpack-audit/1"`), rendered by the CLI as text,
//! JSON or SARIF ([`sarif`]). Side effects: reads the advisory database, cargo's local index
//! cache (yanked versions) and licence files; runs `git` read-only to identify the database.
//! [`db::update`] is the only code in plugpack that uses the network (`git clone`/`fetch`).
//!
//! Why:
//! - Only crates compiled into the artifact are checked; dev-dependencies and other-platform
//!   dependencies never appear, and crates compiled only for the build (build scripts,
//!   proc-macros) are reported one level lower (`deny` → `warn`) and flagged `build_only`.
//! - The database is loaded file by file ([`db::open`]): one malformed advisory is a
//!   `malformed-advisory` warning naming the file, not a failed scan.
//! - Findings are values with stable codes ([`Code`]); the policy sets each code's level.
//!   Ignores need a reason, expire on their `until` date (then they stop applying and are
//!   reported) and warn when unused.
//! - A verdict never claims what was not checked: without a database the report says
//!   `advisories: not-checked` and the verdict ([`Outcome`]) is at best `unchecked`, never
//!   `clean`. A missing default database is an error ([`Error::NoDb`]) unless the caller
//!   opts in with [`ScanOptions::allow_no_db`] (`audit --allow-no-db`, and `package`,
//!   which warns loudly); the policy's `require-db = true` refuses even then.

pub mod cfg;
pub mod cyclonedx;
pub mod db;
mod diags;
mod error;
mod report;
pub mod sarif;
mod snapshot;
pub mod yanked;

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};

pub use cfg::{AuditConfig, DepScope, IgnoreEntry, Level, SeverityLevel};
pub use db::{DbIdentity, DbInfo, DbStatus, db_status, db_update};
pub use diags::{Code, Finding, FindingPackage, Severity, Suppression};
pub use error::Error;
pub use report::{
    AdvisoryStatus, AuditReport, IgnoreStatus, Outcome, SCHEMA, Summary, YankedSummary,
};
pub use yanked::YankState;

use crate::build::{BuildOptions, BuildOutput};
use crate::ctx::Ctx;
use crate::depset::{self, DepPackage, Lockfile, Scope};
use crate::licenses::{self, Candidate};
use crate::project::{Plugin, Project};

/// Media type of the report inside a bundle.
pub const MEDIA_TYPE: &str = "application/vnd.plugpack.audit.v1+json";
/// Default `max-db-age` in days.
pub const DEFAULT_MAX_DB_AGE: u32 = 90;

/// What [`scan`] needs beyond the project.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// `--db PATH` (overrides the policy's `db`).
    pub db: Option<Utf8PathBuf>,
    /// The date the audit runs (ignore expiry and database age). Default: today (UTC).
    pub today: Option<time::Date>,
    /// Go on without a database when there is none at the default location: the report
    /// then says `advisories: not-checked` and the verdict is at best `unchecked`. Without
    /// it, a missing default database is [`Error::NoDb`]. `audit --allow-no-db` sets it;
    /// `package` always does (and warns), so a developer can bundle before `db update`.
    /// The policy's `require-db = true` wins over it.
    pub allow_no_db: bool,
    /// Databases already loaded in this run (shared by clones of the options), so auditing
    /// several plugins loads each database once.
    pub cache: DbCache,
}

/// Loaded databases by directory (and the location and date they were opened for).
#[derive(Debug, Clone, Default)]
pub struct DbCache(std::sync::Arc<std::sync::Mutex<BTreeMap<DbKey, DbSlot>>>);

/// What a loaded database depends on: its directory, how reports name it, the audit date.
type DbKey = (Utf8PathBuf, String, time::Date);

/// One database: `None` until loaded (or after a failure, which is not remembered). A
/// second thread asking for the same database while it loads waits for it.
type DbSlot = std::sync::Arc<std::sync::Mutex<Option<std::sync::Arc<db::Database>>>>;

impl DbCache {
    fn open(
        &self,
        path: &Utf8Path,
        location: &str,
        today: time::Date,
    ) -> Result<std::sync::Arc<db::Database>, Error> {
        let slot = std::sync::Arc::clone(
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((path.to_owned(), location.to_owned(), today))
                .or_default(),
        );
        let mut loaded = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = loaded.as_ref() {
            return Ok(std::sync::Arc::clone(db));
        }
        let db = std::sync::Arc::new(db::open(path, location, today)?);
        *loaded = Some(std::sync::Arc::clone(&db));
        Ok(db)
    }
}

/// Starts loading, on a thread of its own, the advisory database an audit with `options`
/// will most likely use (`--db`, else `$CARGO_HOME/advisory-db` when it exists; a policy's
/// `db` is not known before the project is loaded), so it is ready when the audit starts
/// after the build. The audit still resolves its database as always: a different one is
/// loaded then, and a failure here is only reported there.
pub fn preload_database(options: &ScanOptions, ctx: &Ctx) {
    let Ok((path, location, explicit)) =
        resolve_db(&AuditConfig::default(), Utf8Path::new("."), options, ctx)
    else {
        return;
    };
    if !explicit && !path.is_dir() {
        return;
    }
    let cache = options.cache.clone();
    let today = options.today();
    std::thread::spawn(move || {
        // It has time until the build is done: let cargo and rustc have the CPUs first (on
        // Linux a thread has its own nice value, and threads it starts inherit it).
        #[cfg(target_os = "linux")]
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
        let _ = cache.open(&path, &location, today);
    });
}

impl ScanOptions {
    fn today(&self) -> time::Date {
        self.today
            .unwrap_or_else(|| time::OffsetDateTime::now_utc().date())
    }
}

/// `cargo plugpack audit`: builds the selected plugins and audits each.
pub fn run(
    project: &Project,
    build_options: &BuildOptions,
    options: &ScanOptions,
    ctx: &Ctx,
) -> crate::Result<Vec<AuditReport>> {
    let build = crate::build::build(project, build_options, ctx)?;
    scan_all(project, &build, options, ctx)
}

/// `cargo plugpack audit --no-build`: audits the plugins of the last build with the same
/// flags, from its [`crate::build::record`], without running cargo.
pub fn run_recorded(
    load_options: &crate::project::LoadOptions,
    build_options: &BuildOptions,
    options: &ScanOptions,
    ctx: &Ctx,
) -> crate::Result<Vec<AuditReport>> {
    let (project, build) = crate::build::record::load(ctx, load_options, build_options)?;
    scan_all(&project, &build, options, ctx)
}

fn scan_all(
    project: &Project,
    build: &BuildOutput,
    options: &ScanOptions,
    ctx: &Ctx,
) -> crate::Result<Vec<AuditReport>> {
    let mut reports = Vec::new();
    for plugin in &project.plugins {
        reports.push(scan(project, build, plugin, options, ctx)?);
    }
    Ok(reports)
}

/// The policy for `plugin`: its merged `metadata.plugpack.audit` over `plugpack.toml`'s.
pub fn policy_for(project: &Project, plugin: &Plugin) -> Result<AuditConfig, Error> {
    let file = project.workspace_root.join("plugpack.toml");
    let base = read_plugpack_toml(&file)?;
    Ok(plugin.config.audit.clone().unwrap_or_default().layer(&base))
}

fn read_plugpack_toml(file: &Utf8Path) -> Result<AuditConfig, Error> {
    if !file.exists() {
        return Ok(AuditConfig::default());
    }
    let config = crate::project::read_standalone_config(file)?;
    Ok(config.audit.unwrap_or_default())
}

struct Scanned<'a> {
    package: &'a DepPackage,
    targets: BTreeSet<String>,
    build_only: bool,
}

/// Audits one plugin from its build.
pub fn scan(
    project: &Project,
    build: &BuildOutput,
    plugin: &Plugin,
    options: &ScanOptions,
    ctx: &Ctx,
) -> crate::Result<AuditReport> {
    let policy = policy_for(project, plugin)?;
    let mut sets = Vec::new();
    for artifact in build.artifacts.iter().filter(|a| a.plugin == plugin.name) {
        sets.push(depset::compute_exact(project, build, artifact, ctx)?);
    }
    tracing::debug!("dependency sets computed");
    let exact = sets.iter().all(|s| s.exact);
    let targets: Vec<String> = sets.iter().map(|s| s.target.clone()).collect();
    // Merge per crate: shipped in any target wins over build-only.
    let mut merged: BTreeMap<&str, Scanned<'_>> = BTreeMap::new();
    for set in &sets {
        for p in &set.packages {
            if p.is_root {
                continue;
            }
            let entry = merged.entry(p.id.as_str()).or_insert(Scanned {
                package: p,
                targets: BTreeSet::new(),
                build_only: true,
            });
            entry.targets.insert(set.target.clone());
            if p.scope == Scope::Required {
                entry.build_only = false;
                entry.package = p;
            }
        }
    }
    let scanned: Vec<Scanned<'_>> = merged.into_values().collect();
    let mut report = audit_packages(
        &scanned,
        &policy,
        &project.workspace_root,
        options,
        ctx,
        true,
    )?;
    // Licences: only what is linked into the plugin.
    let private: BTreeSet<&str> = project
        .metadata
        .packages
        .iter()
        .filter(|p| p.publish.as_ref().is_some_and(Vec::is_empty))
        .map(|p| p.id.repr.as_str())
        .collect();
    let candidates: Vec<Candidate<'_>> = scanned
        .iter()
        .filter(|s| !s.build_only)
        .map(|s| Candidate {
            package: s.package,
            private: private.contains(s.package.id.as_str()),
        })
        .collect();
    let license_policy = policy.licenses.clone().unwrap_or_default();
    let license_report = licenses::check(plugin.license.as_deref(), &candidates, &license_policy);
    let lock_lines: BTreeMap<(&str, &str), Option<usize>> = scanned
        .iter()
        .map(|s| {
            (
                (s.package.name.as_str(), s.package.version.as_str()),
                s.package.lock_line,
            )
        })
        .collect();
    let paths: BTreeMap<(&str, &str), &Vec<String>> = scanned
        .iter()
        .map(|s| {
            (
                (s.package.name.as_str(), s.package.version.as_str()),
                &s.package.path_from_root,
            )
        })
        .collect();
    for lf in &license_report.findings {
        let mut f = Finding::simple(lf.code, level_of(&policy, lf.code), lf.message.clone());
        if let (Some(name), Some(version)) = (&lf.package, &lf.version) {
            let key = (name.as_str(), version.as_str());
            f.package = Some(FindingPackage {
                name: name.clone(),
                version: version.clone(),
                lock_line: lock_lines.get(&key).copied().flatten(),
            });
            f.path = paths.get(&key).map(|p| (*p).clone()).unwrap_or_default();
        }
        report.findings.push(f);
    }
    report.licenses = Some(license_report);
    report.plugin = Some(plugin.name.clone());
    report.version = Some(plugin.version.clone());
    report.targets = targets;
    report.exact = exact;
    finish(&mut report);
    Ok(report)
}

/// Audits every package of a lockfile (advisories and yanked only: a lockfile has no
/// licence metadata). The policy comes from `plugpack.toml` beside the lockfile, if any.
pub fn scan_lockfile(
    lockfile: &Utf8Path,
    options: &ScanOptions,
    ctx: &Ctx,
) -> Result<AuditReport, Error> {
    let lock = Lockfile::read(lockfile)?;
    let dir = lockfile
        .parent()
        .map(Utf8Path::to_owned)
        .unwrap_or_else(|| Utf8PathBuf::from("."));
    let dir = if dir.as_str().is_empty() {
        Utf8PathBuf::from(".")
    } else {
        dir
    };
    let policy = read_plugpack_toml(&dir.join("plugpack.toml"))?;
    let packages: Vec<DepPackage> = lock
        .packages
        .iter()
        .map(|p| DepPackage {
            id: format!("{}@{}", p.name, p.version),
            name: p.name.clone(),
            version: p.version.clone(),
            source: p.source.clone(),
            local_path: None,
            checksum: p.checksum.clone(),
            lock_line: Some(p.line),
            license: None,
            license_file: None,
            package_dir: None,
            authors: Vec::new(),
            description: None,
            repository: None,
            homepage: None,
            documentation: None,
            scope: Scope::Required,
            features: Vec::new(),
            kinds: Vec::new(),
            path_from_root: vec![p.name.clone()],
            is_root: false,
        })
        .collect();
    let scanned: Vec<Scanned<'_>> = packages
        .iter()
        .map(|p| Scanned {
            package: p,
            targets: BTreeSet::new(),
            build_only: false,
        })
        .collect();
    let mut report = audit_packages(&scanned, &policy, &dir, options, ctx, false)?;
    report.mode = "lockfile".to_owned();
    report.lockfile = lockfile.file_name().map(str::to_owned);
    finish(&mut report);
    Ok(report)
}

fn level_of(policy: &AuditConfig, code: Code) -> Level {
    policy
        .lints
        .as_ref()
        .and_then(|l| l.get(code.as_str()).copied())
        .unwrap_or_else(|| code.default_level())
}

fn is_crates_io(source: Option<&str>) -> bool {
    source.is_some_and(|s| {
        s == "registry+https://github.com/rust-lang/crates.io-index"
            || s == "sparse+https://index.crates.io/"
    })
}

fn severity_of(advisory: &rustsec::Advisory) -> Option<Severity> {
    let cvss = advisory.metadata.cvss.as_ref()?;
    let score = cvss.score();
    let rating = match score {
        s if s >= 9.0 => SeverityLevel::Critical,
        s if s >= 7.0 => SeverityLevel::High,
        s if s >= 4.0 => SeverityLevel::Medium,
        s if s > 0.0 => SeverityLevel::Low,
        _ => SeverityLevel::None,
    };
    Some(Severity {
        score,
        rating,
        vector: cvss.to_string(),
    })
}

fn kind_of(advisory: &rustsec::Advisory) -> Code {
    use rustsec::advisory::Informational;
    match &advisory.metadata.informational {
        None => Code::Vulnerability,
        Some(Informational::Unmaintained) => Code::Unmaintained,
        Some(Informational::Unsound) => Code::Unsound,
        Some(_) => Code::Notice,
    }
}

/// True when the advisory's `affected.os`/`arch` lists (if any) include `target`.
fn affects_target(advisory: &rustsec::Advisory, target: &str) -> bool {
    let Some(affected) = &advisory.affected else {
        return true;
    };
    if affected.os.is_empty() && affected.arch.is_empty() {
        return true;
    }
    let Some(platform) = rustsec::platforms::Platform::find(target) else {
        return true;
    };
    (affected.os.is_empty() || affected.os.contains(&platform.target_os))
        && (affected.arch.is_empty() || affected.arch.contains(&platform.target_arch))
}

fn resolve_db(
    policy: &AuditConfig,
    base: &Utf8Path,
    options: &ScanOptions,
    ctx: &Ctx,
) -> Result<(Utf8PathBuf, String, bool), Error> {
    if let Some(db) = &options.db {
        return Ok((db.clone(), db.to_string(), true));
    }
    if let Some(db) = &policy.db {
        return Ok((base.join(db), db.clone(), true));
    }
    let home = db::cargo_home(ctx).ok_or(Error::NoCargoHome)?;
    Ok((
        home.join("advisory-db"),
        "$CARGO_HOME/advisory-db".to_owned(),
        false,
    ))
}

/// The advisory database for [`audit_packages`], or `None` (with the `no-db` finding pushed
/// and the warning given) when there is none and the options allow that.
fn open_database(
    policy: &AuditConfig,
    options: &ScanOptions,
    ctx: &Ctx,
    (db_path, location, explicit): (&Utf8Path, &str, bool),
    today: time::Date,
    findings: &mut Vec<Finding>,
) -> Result<Option<std::sync::Arc<db::Database>>, Error> {
    if !explicit && !db_path.exists() {
        if policy.require_db == Some(true) {
            return Err(Error::DbRequired {
                path: db_path.to_owned(),
            });
        }
        if !options.allow_no_db {
            return Err(Error::NoDb {
                path: db_path.to_owned(),
            });
        }
        ctx.reporter().warn(&format!(
            "advisories were NOT checked: no advisory database at {db_path}; run `cargo plugpack db update` (or pass --db PATH)"
        ));
        findings.push(Finding::simple(
            Code::NoDb,
            level_of(policy, Code::NoDb),
            format!("no advisory database at {location}; advisories not checked"),
        ));
        Ok(None)
    } else {
        Ok(Some(options.cache.open(db_path, location, today)?))
    }
}

/// The yanked state of every crates.io package of `scanned` with a valid version (`None` for
/// the others), by index.
fn yank_states(scanned: &[Scanned<'_>], cache_dirs: &[Utf8PathBuf]) -> Vec<Option<YankState>> {
    let mut buffer = Vec::new();
    scanned
        .iter()
        .map(|s| {
            let p = s.package;
            (is_crates_io(p.source.as_deref()) && rustsec::Version::parse(&p.version).is_ok())
                .then(|| yanked::state_with_buffer(cache_dirs, &p.name, &p.version, &mut buffer))
        })
        .collect()
}

fn audit_packages(
    scanned: &[Scanned<'_>],
    policy: &AuditConfig,
    base: &Utf8Path,
    options: &ScanOptions,
    ctx: &Ctx,
    by_target: bool,
) -> Result<AuditReport, Error> {
    let today = options.today();
    let (db_path, location, explicit) = resolve_db(policy, base, options, ctx)?;
    let mut findings = Vec::new();
    let mut yank_summary = None;
    let cache_dirs = db::cargo_home(ctx)
        .map(|h| yanked::cache_dirs(&h))
        .unwrap_or_default();
    // Whether each crates.io package was yanked comes from cargo's index cache, not from the
    // database: look it up on a second thread while the database loads.
    let (database, yanks) = std::thread::scope(|threads| {
        let yanks = threads.spawn(|| yank_states(scanned, &cache_dirs));
        let database = open_database(
            policy,
            options,
            ctx,
            (&db_path, &location, explicit),
            today,
            &mut findings,
        );
        (database, yanks.join())
    });
    let database = database?;
    let yanks = yanks.unwrap_or_default();
    tracing::debug!("advisory database loaded and yanked releases looked up");
    let scope = policy.scope.unwrap_or_default();
    let in_scope = |p: &DepPackage| match scope {
        DepScope::All => true,
        DepScope::Direct => p.path_from_root.len() <= 2,
        DepScope::Transitive => p.path_from_root.len() > 2,
    };
    let adjust = |code: Code, s: &Scanned<'_>, severity: Option<&Severity>| {
        let mut level = level_of(policy, code);
        if code == Code::Vulnerability {
            if let (Some(threshold), Some(sev)) = (policy.severity_threshold, severity) {
                if sev.rating < threshold {
                    level = level.min(Level::Warn);
                }
            }
        }
        if s.build_only {
            level = level.lowered();
        }
        if !in_scope(s.package) {
            level = Level::Allow;
        }
        level
    };

    if let Some(database) = &database {
        for m in &database.info.malformed {
            findings.push(Finding::simple(
                Code::MalformedAdvisory,
                level_of(policy, Code::MalformedAdvisory),
                format!("skipped {}: {}", m.file, m.error),
            ));
        }
        let max_age = policy.max_db_age.unwrap_or(DEFAULT_MAX_DB_AGE);
        if let Some(age) = database.info.age_days {
            if age > i64::from(max_age) {
                findings.push(Finding::simple(
                    Code::StaleDb,
                    level_of(policy, Code::StaleDb),
                    format!(
                        "advisory database last updated {} is older than max-db-age ({max_age} days); run `cargo plugpack db update{}`",
                        database.info.updated,
                        // The update must reach this database, not the default one.
                        if explicit { " --db <this database's directory>" } else { "" }
                    ),
                ));
            }
        }
        let mut ys = YankedSummary::default();
        for (i, s) in scanned.iter().enumerate() {
            let p = s.package;
            if !is_crates_io(p.source.as_deref()) {
                continue;
            }
            let Ok(version) = rustsec::Version::parse(&p.version) else {
                continue;
            };
            for advisory in database.advisories_for(&p.name) {
                if advisory.withdrawn() || !advisory.versions.is_vulnerable(&version) {
                    continue;
                }
                let targets: Vec<String> = if by_target {
                    s.targets
                        .iter()
                        .filter(|t| affects_target(advisory, t))
                        .cloned()
                        .collect()
                } else {
                    Vec::new()
                };
                if by_target && targets.is_empty() {
                    continue;
                }
                let code = kind_of(advisory);
                let severity = severity_of(advisory);
                let level = adjust(code, s, severity.as_ref());
                findings.push(Finding {
                    code,
                    level,
                    id: Some(advisory.metadata.id.as_str().to_owned()),
                    aliases: advisory
                        .metadata
                        .aliases
                        .iter()
                        .map(|a| a.as_str().to_owned())
                        .collect(),
                    message: advisory.metadata.title.clone(),
                    severity,
                    package: Some(FindingPackage {
                        name: p.name.clone(),
                        version: p.version.clone(),
                        lock_line: p.lock_line,
                    }),
                    patched: advisory
                        .versions
                        .patched()
                        .iter()
                        .map(|v| v.to_string())
                        .collect(),
                    path: p.path_from_root.clone(),
                    build_only: s.build_only,
                    targets,
                    url: advisory.metadata.url.as_ref().map(|u| u.to_string()),
                    ignored: None,
                });
            }
            let yank = yanks
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(YankState::Unknown);
            match yank {
                YankState::Unknown => ys.unknown.push(format!("{}@{}", p.name, p.version)),
                YankState::Yanked => {
                    ys.known += 1;
                    ys.yanked += 1;
                }
                YankState::NotYanked => ys.known += 1,
            }
            if yank == YankState::Yanked {
                let mut f = Finding::simple(
                    Code::Yanked,
                    adjust(Code::Yanked, s, None),
                    format!("{} {} was yanked from crates.io", p.name, p.version),
                );
                f.package = Some(FindingPackage {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    lock_line: p.lock_line,
                });
                f.path = p.path_from_root.clone();
                f.build_only = s.build_only;
                f.targets = s.targets.iter().cloned().collect();
                findings.push(f);
            }
        }
        ys.unknown.sort();
        ys.unknown.dedup();
        yank_summary = Some(ys);
    }

    // Ignores.
    let mut ignores = Vec::new();
    for entry in policy.ignore.iter().flatten() {
        let expired = entry
            .until
            .as_deref()
            .and_then(cfg::parse_date)
            .is_some_and(|until| until < today);
        let matches = |f: &Finding| {
            f.id.as_deref() == Some(entry.id.as_str()) || f.aliases.contains(&entry.id)
        };
        let state = if expired {
            findings.push(Finding::simple(
                Code::IgnoreExpired,
                level_of(policy, Code::IgnoreExpired),
                format!(
                    "ignore of {} expired on {} and no longer applies (reason was: {})",
                    entry.id,
                    entry.until.as_deref().unwrap_or_default(),
                    entry.reason
                ),
            ));
            "expired"
        } else {
            let mut used = false;
            for f in findings.iter_mut().filter(|f| matches(f)) {
                used = true;
                f.ignored = Some(Suppression {
                    reason: entry.reason.clone(),
                    until: entry.until.clone(),
                    vex: entry.vex.clone(),
                });
            }
            if used {
                "applied"
            } else {
                if database.is_some() {
                    findings.push(Finding::simple(
                        Code::IgnoreUnused,
                        level_of(policy, Code::IgnoreUnused),
                        format!("ignore of {} matched no finding; remove it", entry.id),
                    ));
                }
                "unused"
            }
        };
        ignores.push(IgnoreStatus {
            entry: entry.clone(),
            state: state.to_owned(),
        });
    }

    Ok(AuditReport {
        schema: SCHEMA.to_owned(),
        tool: format!("plugpack {}", env!("CARGO_PKG_VERSION")),
        plugin: None,
        version: None,
        mode: "artifacts".to_owned(),
        targets: Vec::new(),
        exact: true,
        lockfile: Some("Cargo.lock".to_owned()),
        advisories: if database.is_some() {
            AdvisoryStatus::Checked
        } else {
            AdvisoryStatus::NotChecked
        },
        database: database.map(|d| d.info.clone()),
        packages_scanned: scanned.len(),
        findings,
        yanked: yank_summary,
        licenses: None,
        ignores,
        summary: Summary::default(),
        outcome: Outcome::Clean,
    })
}

fn finish(report: &mut AuditReport) {
    report
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut summary = Summary::default();
    let mut db_denied = false;
    for f in &report.findings {
        if f.ignored.is_some() {
            summary.ignored += 1;
            continue;
        }
        match f.level {
            Level::Deny => {
                summary.denied += 1;
                if matches!(f.code, Code::StaleDb | Code::NoDb) {
                    db_denied = true;
                }
            }
            Level::Warn => summary.warnings += 1,
            Level::Allow => summary.allowed += 1,
        }
    }
    report.summary = summary;
    report.outcome = if db_denied {
        Outcome::DatabaseUnusable
    } else if summary.denied > 0 {
        Outcome::Denied
    } else if report.advisories == AdvisoryStatus::NotChecked {
        Outcome::Unchecked
    } else if summary.warnings > 0 {
        Outcome::Warned
    } else {
        Outcome::Clean
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_specific_advisories_match_only_their_targets() {
        let text = include_str!("../../../tests/data/advisory-db/crates/atty/RUSTSEC-2021-0145.md");
        let advisory: rustsec::Advisory = text.parse().unwrap();
        assert!(affects_target(&advisory, "x86_64-pc-windows-msvc"));
        assert!(!affects_target(&advisory, "x86_64-unknown-linux-gnu"));
        assert!(!affects_target(&advisory, "wasm32-wasip1"));
        assert_eq!(kind_of(&advisory), Code::Unsound);
        let text =
            include_str!("../../../tests/data/advisory-db/crates/smallvec/RUSTSEC-2021-0003.md");
        let advisory: rustsec::Advisory = text.parse().unwrap();
        assert!(affects_target(&advisory, "x86_64-unknown-linux-gnu"));
        let sev = severity_of(&advisory).unwrap();
        assert_eq!(sev.rating, SeverityLevel::Critical);
        assert!((sev.score - 9.8).abs() < 1e-9);
    }

    fn report(advisories: AdvisoryStatus, findings: Vec<Finding>) -> AuditReport {
        AuditReport {
            schema: SCHEMA.to_owned(),
            tool: "plugpack test".to_owned(),
            plugin: None,
            version: None,
            mode: "lockfile".to_owned(),
            targets: Vec::new(),
            exact: true,
            lockfile: None,
            advisories,
            database: None,
            packages_scanned: 0,
            findings,
            yanked: None,
            licenses: None,
            ignores: Vec::new(),
            summary: Summary::default(),
            outcome: Outcome::Clean,
        }
    }

    /// Issue 10: the verdict never claims a check that was not made; denied findings still
    /// dominate, and warnings are not `clean`.
    #[test]
    fn verdict_follows_what_was_checked() {
        let warn = || Finding::simple(Code::LicenseLax, Level::Warn, "lax".to_owned());
        let deny = || Finding::simple(Code::LicenseCopyleft, Level::Deny, "gpl".to_owned());
        let allow = || Finding::simple(Code::Unmaintained, Level::Allow, "old".to_owned());
        let cases = [
            (AdvisoryStatus::Checked, vec![], Outcome::Clean),
            (AdvisoryStatus::Checked, vec![allow()], Outcome::Clean),
            (AdvisoryStatus::Checked, vec![warn()], Outcome::Warned),
            (
                AdvisoryStatus::Checked,
                vec![warn(), deny()],
                Outcome::Denied,
            ),
            (AdvisoryStatus::NotChecked, vec![], Outcome::Unchecked),
            (AdvisoryStatus::NotChecked, vec![warn()], Outcome::Unchecked),
            (AdvisoryStatus::NotChecked, vec![deny()], Outcome::Denied),
            (
                AdvisoryStatus::NotChecked,
                vec![Finding::simple(Code::NoDb, Level::Deny, "no db".to_owned())],
                Outcome::DatabaseUnusable,
            ),
        ];
        for (advisories, findings, expected) in cases {
            let mut r = report(advisories, findings.clone());
            finish(&mut r);
            assert_eq!(r.outcome, expected, "{advisories:?} {findings:?}");
        }
    }

    #[test]
    fn crates_io_sources_only() {
        assert!(is_crates_io(Some(
            "registry+https://github.com/rust-lang/crates.io-index"
        )));
        assert!(is_crates_io(Some("sparse+https://index.crates.io/")));
        assert!(!is_crates_io(None));
        assert!(!is_crates_io(Some("git+https://github.com/x/smallvec")));
    }
}
