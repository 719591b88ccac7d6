//! Stage tests for `audit` on the pinned advisory-db excerpt and a recorded lockfile (no cargo).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::audit::{self, Code, Level, Outcome, ScanOptions};
use plugpack_core::{Ctx, Reporter};

fn repo() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Reporter for Recorder {
    fn status(&self, _verb: &str, _message: &str) {}
    fn warn(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
}

fn ctx(home: &Utf8Path) -> (Ctx, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let env = BTreeMap::from([("CARGO_HOME".to_owned(), home.to_string())]);
    (Ctx::with_env(env, rec.clone()), rec)
}

fn date(s: &str) -> time::Date {
    audit::cfg::parse_date(s).unwrap()
}

#[test]
fn database_loads_file_by_file_with_identity_and_age() {
    let db = audit::db::open(
        &repo().join("tests/data/advisory-db"),
        "test-db",
        date("2024-10-05"),
    )
    .unwrap();
    assert_eq!(db.info.advisories, 9);
    assert_eq!(db.info.malformed.len(), 1);
    assert_eq!(
        db.info.malformed[0].file,
        "crates/broken-crate/RUSTSEC-2099-0001.md"
    );
    assert!(!db.info.malformed[0].error.contains('\n'));
    assert_eq!(db.info.identity.kind, "content-sha256");
    assert_eq!(db.info.identity.value.len(), 64);
    assert_eq!(db.info.updated, "2024-09-25");
    assert_eq!(db.info.age_days, Some(10));
    // The identity is a function of the content only.
    let again = audit::db::open(
        &repo().join("tests/data/advisory-db"),
        "x",
        date("2030-01-01"),
    )
    .unwrap();
    assert_eq!(again.info.identity, db.info.identity);
}

#[test]
fn database_age_and_ignore_expiry_follow_the_audit_date() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(tmp.path()).unwrap();
    std::fs::copy(
        repo().join("tests/data/audit/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    std::fs::write(
        dir.join("plugpack.toml"),
        "[audit]\nignore = [{ id = \"RUSTSEC-2021-0003\", reason = \"r\", until = \"2025-01-01\" }]\n",
    )
    .unwrap();
    let (ctx, _) = ctx(dir);
    let scan = |today: &str| {
        audit::scan_lockfile(
            &dir.join("Cargo.lock"),
            &ScanOptions {
                db: Some(repo().join("tests/data/advisory-db")),
                today: Some(date(today)),
                ..Default::default()
            },
            &ctx,
        )
        .unwrap()
    };
    let has = |r: &audit::AuditReport, code: Code| r.findings.iter().any(|f| f.code == code);

    let fresh = scan("2024-10-01");
    assert!(!has(&fresh, Code::StaleDb));
    assert!(!has(&fresh, Code::IgnoreExpired));
    // The vulnerability is ignored, the unmaintained/unsound/notice ones are warnings: the
    // verdict says so instead of `clean`.
    assert_eq!(fresh.outcome, Outcome::Warned);
    assert!(fresh.summary.warnings > 0);
    assert_eq!(fresh.summary.ignored, 1);

    let later = scan("2025-06-01");
    assert!(has(&later, Code::StaleDb));
    assert!(has(&later, Code::IgnoreExpired));
    assert_eq!(later.outcome, Outcome::Denied);
    let vuln = later
        .findings
        .iter()
        .find(|f| f.code == Code::Vulnerability)
        .unwrap();
    assert_eq!(vuln.level, Level::Deny);
    assert!(vuln.ignored.is_none());
    // Deterministic: the same inputs give the same report.
    assert_eq!(
        serde_json::to_string(&scan("2025-06-01")).unwrap(),
        serde_json::to_string(&later).unwrap()
    );
}

/// Issue 10: no database means "not checked", never "clean".
#[test]
fn missing_default_database_is_an_error_unless_allowed_then_unchecked() {
    let tmp = tempfile::tempdir().unwrap();
    let home = Utf8Path::from_path(tmp.path()).unwrap();
    let (ctx, rec) = ctx(home);
    let lockfile = repo().join("tests/data/audit/Cargo.lock");
    let err = audit::scan_lockfile(&lockfile, &ScanOptions::default(), &ctx).unwrap_err();
    assert!(
        matches!(&err, audit::Error::NoDb { path } if path.starts_with(home)),
        "{err:?}"
    );
    assert!(err.to_string().contains("--allow-no-db"), "{err}");
    assert!(rec.0.lock().unwrap().is_empty());

    let r = audit::scan_lockfile(
        &lockfile,
        &ScanOptions {
            allow_no_db: true,
            ..Default::default()
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(r.advisories, audit::AdvisoryStatus::NotChecked);
    assert!(r.database.is_none());
    let warnings = rec.0.lock().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("advisories were NOT checked: no advisory database at "),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("cargo plugpack db update"));
    assert_eq!(r.outcome, Outcome::Unchecked);
    assert_eq!(serde_json::to_value(r.outcome).unwrap(), "unchecked");
}

/// The verdict vocabulary, worst first: what each one claims is what was checked.
#[test]
fn verdicts_order_and_names() {
    let all = [
        Outcome::DatabaseUnusable,
        Outcome::Denied,
        Outcome::Unchecked,
        Outcome::Warned,
        Outcome::Clean,
    ];
    let names: Vec<&str> = all.iter().map(|o| o.as_str()).collect();
    assert_eq!(
        names,
        [
            "database-unusable",
            "denied",
            "unchecked",
            "warned",
            "clean"
        ]
    );
    for o in all {
        assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
    }
    assert!(all.windows(2).all(|w| w[0] > w[1]));
    assert!(Outcome::Denied.refuses() && Outcome::DatabaseUnusable.refuses());
    assert!(!Outcome::Unchecked.refuses() && !Outcome::Warned.refuses());
}

/// Resolves the CycloneDX schema's relative `$ref`s to the vendored files (offline).
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        let path = repo().join("tests/data/schemas/cyclonedx").join(name);
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }
}

#[test]
fn cyclonedx_vulnerabilities_validate_with_vex_analysis() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(tmp.path()).unwrap();
    std::fs::copy(
        repo().join("tests/data/audit/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    std::fs::write(
        dir.join("plugpack.toml"),
        "[audit]\nignore = [{ id = \"RUSTSEC-2021-0003\", reason = \"never called\", until = \"2999-01-01\", vex = \"code_not_reachable\" }]\n",
    )
    .unwrap();
    let (ctx, _) = ctx(dir);
    let report = audit::scan_lockfile(
        &dir.join("Cargo.lock"),
        &ScanOptions {
            db: Some(repo().join("tests/data/advisory-db")),
            today: Some(date("2024-10-01")),
            ..Default::default()
        },
        &ctx,
    )
    .unwrap();
    let vulns = audit::cyclonedx::vulnerabilities(&report);
    assert_eq!(vulns.len(), 1);
    let v = &vulns[0];
    assert_eq!(v["id"], "RUSTSEC-2021-0003");
    assert_eq!(v["affects"][0]["ref"], "pkg:cargo/smallvec@1.6.0");
    assert_eq!(v["ratings"][0]["severity"], "critical");
    assert_eq!(v["ratings"][0]["method"], "CVSSv31");
    assert_eq!(v["analysis"]["state"], "not_affected");
    assert_eq!(v["analysis"]["justification"], "code_not_reachable");

    let components: Vec<serde_json::Value> = [("atty", "0.2.14"), ("smallvec", "1.6.0")]
        .iter()
        .map(|(n, ver)| {
            let r = audit::cyclonedx::bom_ref(n, ver);
            serde_json::json!({ "type": "library", "name": n, "version": ver, "bom-ref": r, "purl": r })
        })
        .collect();
    let bom = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": components,
        "vulnerabilities": vulns,
    });
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/data/schemas/cyclonedx/bom-1.6.SNAPSHOT.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .with_retriever(LocalSchemas)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&bom)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut broken = bom.clone();
    broken["vulnerabilities"][0]["analysis"]["justification"] = "because".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn yanked_state_comes_from_the_local_index_cache_only() {
    let tmp = tempfile::tempdir().unwrap();
    let home = Utf8Path::from_path(tmp.path()).unwrap();
    let cache = home.join("registry/index/index.crates.io-1949cf8c6b5b557f/.cache/me/mc");
    std::fs::create_dir_all(&cache).unwrap();
    let mut bytes = vec![3u8, 2, 0, 0, 0];
    bytes.extend_from_slice(
        b"etag\x002.8.3\x00{\"name\":\"memchr\",\"vers\":\"2.8.3\",\"yanked\":true}\x00",
    );
    std::fs::write(cache.join("memchr"), bytes).unwrap();
    let (ctx, _) = ctx(home);
    let r = audit::scan_lockfile(
        &repo().join("tests/data/audit/Cargo.lock"),
        &ScanOptions {
            db: Some(repo().join("tests/data/advisory-db")),
            today: Some(date("2024-10-01")),
            ..Default::default()
        },
        &ctx,
    )
    .unwrap();
    let yanked: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == Code::Yanked)
        .collect();
    assert_eq!(yanked.len(), 1);
    assert_eq!(yanked[0].package.as_ref().unwrap().name, "memchr");
    assert_eq!(yanked[0].level, Level::Warn);
    let summary = r.yanked.unwrap();
    assert_eq!((summary.known, summary.yanked), (1, 1));
    assert!(summary.unknown.contains(&"smallvec@1.6.0".to_owned()));
    assert!(!summary.unknown.contains(&"memchr@2.8.3".to_owned()));
}

/// Every advisory of `db`, by crate.
fn advisories(db: &audit::db::Database) -> BTreeMap<String, Vec<rustsec::Advisory>> {
    db.crate_names()
        .map(|n| (n.to_owned(), db.advisories_for(n).to_vec()))
        .collect()
}

/// Runs git in `dir` with a fixed author and date; returns trimmed stdout.
fn git(dir: &Utf8Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2024-09-30T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-09-30T12:00:00Z")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A checkout is identified by its commit only while `crates/` is exactly that commit's; the
/// parsed snapshot of a clean commit is what the next load reads, and a change of any kind
/// (deleted, untracked, ignored, staged) is seen and identified by content instead.
#[test]
fn a_checkout_is_its_commit_only_while_its_advisories_are_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Utf8Path::from_path(tmp.path()).unwrap().join("advisory-db");
    let fixture = repo().join("tests/data/advisory-db/crates");
    for dir in std::fs::read_dir(&fixture).unwrap() {
        let dir = dir.unwrap();
        let dest = db.join("crates").join(dir.file_name().to_str().unwrap());
        std::fs::create_dir_all(&dest).unwrap();
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), dest.join(file.file_name().to_str().unwrap())).unwrap();
        }
    }
    git(&db, &["init", "-q"]);
    git(&db, &["add", "-A"]);
    git(&db, &["commit", "-q", "-m", "fixture"]);
    let commit = git(&db, &["rev-parse", "HEAD"]);
    let open = || audit::db::open(&db, "x", date("2024-10-05")).unwrap();

    let first = open();
    assert_eq!(first.info.identity.kind, "git-commit");
    assert_eq!(first.info.identity.value, commit);
    assert_eq!(first.info.updated, "2024-09-30");
    assert_eq!((first.info.advisories, first.info.malformed.len()), (9, 1));
    let snapshot = db.join(".git/plugpack-advisories.json");
    assert!(snapshot.is_file());
    // The next load reads the snapshot and gets the same database, and an audit from it
    // finds what an audit of the files finds.
    let second = open();
    assert_eq!(second.info, first.info);
    assert_eq!(advisories(&second), advisories(&first));
    let lockfile = repo().join("tests/data/audit/Cargo.lock");
    let scan = |db: &Utf8Path| {
        let (ctx, _) = ctx(Utf8Path::from_path(tmp.path()).unwrap());
        let options = ScanOptions {
            db: Some(db.to_owned()),
            today: Some(date("2024-10-05")),
            ..Default::default()
        };
        let mut report =
            serde_json::to_value(audit::scan_lockfile(&lockfile, &options, &ctx).unwrap()).unwrap();
        report["database"] = serde_json::Value::Null;
        report
    };
    let from_snapshot = scan(&db);
    assert!(
        from_snapshot["findings"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{from_snapshot:#}"
    );
    assert_eq!(from_snapshot, scan(&repo().join("tests/data/advisory-db")));
    // (It is what was read: a date edited into it shows.)
    let text = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::write(&snapshot, text.replace("\"2024-09-30\"", "\"2001-01-01\"")).unwrap();
    assert_eq!(open().info.updated, "2001-01-01");

    let content = |db: &audit::db::Database, advisories: usize| {
        assert_eq!(db.info.identity.kind, "content-sha256", "{:?}", db.info);
        assert_eq!(db.info.advisories, advisories);
        assert_eq!(db.info.url, None);
    };
    // Deleted.
    let advisory = db.join("crates/aovec/RUSTSEC-2020-0099.md");
    let advisory_text = std::fs::read_to_string(&advisory).unwrap();
    std::fs::remove_file(&advisory).unwrap();
    content(&open(), 8);
    git(&db, &["checkout", "--", "."]);
    assert_eq!(open().info.identity.value, commit);
    // Untracked, then ignored.
    let extra = db.join("crates/extra/RUSTSEC-2020-0099.md");
    std::fs::create_dir_all(extra.parent().unwrap()).unwrap();
    std::fs::write(&extra, &advisory_text).unwrap();
    content(&open(), 10);
    std::fs::write(db.join(".git/info/exclude"), "extra/\n").unwrap();
    content(&open(), 10);
    std::fs::remove_dir_all(extra.parent().unwrap()).unwrap();
    // Staged.
    std::fs::write(
        &advisory,
        advisory_text.replace("[advisory]", "[advisory]\nwithdrawn = \"2024-01-01\""),
    )
    .unwrap();
    git(&db, &["add", "-A"]);
    content(&open(), 9);
    // Committed: the new commit, and a snapshot of it.
    git(&db, &["commit", "-q", "-m", "withdraw"]);
    let next = git(&db, &["rev-parse", "HEAD"]);
    let third = open();
    assert_eq!(third.info.identity.value, next);
    assert!(std::fs::read_to_string(&snapshot).unwrap().contains(&next));
    let withdrawn =
        |db: &audit::db::Database| db.advisories_for("aovec")[0].metadata.withdrawn.is_some();
    assert!(withdrawn(&third));
    assert!(withdrawn(&open()));

    // Loads at the same time (each may write the snapshot) see the same database, and the
    // snapshot left behind reads back.
    std::fs::remove_file(&snapshot).unwrap();
    let all: Vec<audit::db::Database> = std::thread::scope(|threads| {
        let handles: Vec<_> = (0..4).map(|_| threads.spawn(open)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for db in all.iter().chain([&open()]) {
        assert_eq!(db.info, third.info);
        assert_eq!(advisories(db), advisories(&third));
    }
}
