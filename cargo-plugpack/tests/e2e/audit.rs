//! `cargo plugpack audit`, `db status` and the audit step of `package` (issue 5).
//!
//! The advisory database is the pinned excerpt in `tests/data/advisory-db/` (real RustSec
//! advisories plus one malformed file); fixtures are in `tests/fixtures/audit-plugins/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{self, on_fixture, plugpack, repo_root, run, run_fails, run_ok};

const FIXTURE: &str = "audit-plugins";

fn test_db() -> PathBuf {
    repo_root().join("tests/data/advisory-db")
}

fn audit_plugin(plugin: &str, extra: &[&str]) -> Command {
    let db = test_db();
    let mut args = vec!["-p", plugin, "--db", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    on_fixture("audit", FIXTURE, &args)
}

fn report(stdout: &str) -> Value {
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one report expected: {stdout}");
    serde_json::from_str(lines[0]).unwrap()
}

fn findings<'a>(r: &'a Value, code: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

fn stdout_of(cmd: &mut Command, code: i32) -> String {
    let out = run(cmd);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Line of `[[package]] name = "smallvec"` in the fixture's Cargo.lock.
fn smallvec_lock_line() -> u64 {
    let lock = std::fs::read_to_string(repo_root().join("tests/fixtures/audit-plugins/Cargo.lock"))
        .unwrap();
    let lines: Vec<&str> = lock.lines().collect();
    let i = lines
        .iter()
        .position(|l| *l == "name = \"smallvec\"")
        .unwrap();
    assert_eq!(lines[i - 1], "[[package]]");
    i as u64
}

#[test]
fn vulnerable_dependency_is_denied_with_path_and_lock_line() {
    let out = stdout_of(&mut audit_plugin("vuln-direct", &["--format", "json"]), 1);
    let r = report(&out);
    assert_eq!(r["schema"], "plugpack-audit/1");
    assert_eq!(r["advisories"], "checked");
    assert_eq!(r["outcome"], "denied");
    let vulns = findings(&r, "vulnerability");
    assert_eq!(vulns.len(), 1, "{r:#}");
    let v = vulns[0];
    assert_eq!(v["id"], "RUSTSEC-2021-0003");
    assert_eq!(v["level"], "deny");
    assert_eq!(v["build_only"], false);
    assert!(
        v["aliases"]
            .as_array()
            .unwrap()
            .contains(&"CVE-2021-25900".into())
    );
    assert_eq!(v["severity"]["rating"], "critical");
    assert_eq!(v["package"]["name"], "smallvec");
    assert_eq!(v["package"]["version"], "1.6.0");
    assert_eq!(v["package"]["lock_line"], smallvec_lock_line());
    assert_eq!(v["path"], serde_json::json!(["vuln-direct", "smallvec"]));
    assert!(v["patched"].as_array().unwrap().contains(&">=1.6.1".into()));
    // The malformed advisory file is a warning naming it; the scan went on.
    let bad = findings(&r, "malformed-advisory");
    assert_eq!(bad.len(), 1);
    assert!(
        bad[0]["message"]
            .as_str()
            .unwrap()
            .contains("crates/broken-crate/RUSTSEC-2099-0001.md")
    );
    assert_eq!(r["database"]["identity"]["kind"], "content-sha256");
    assert_eq!(r["database"]["advisories"], 9);

    // Human output groups it under "denied" with the dependency path.
    let human = stdout_of(&mut audit_plugin("vuln-direct", &[]), 1);
    assert!(
        human.contains("denied:\nerror[vulnerability] RUSTSEC-2021-0003"),
        "{human}"
    );
    assert!(
        human.contains("path:     vuln-direct → smallvec"),
        "{human}"
    );
}

#[test]
fn dev_and_other_platform_dependencies_are_not_reported() {
    for plugin in ["vuln-dev", "vuln-other-os"] {
        let r = report(&stdout_of(
            &mut audit_plugin(plugin, &["--format", "json"]),
            0,
        ));
        // The pinned database's malformed file is a warning: `warned`, not `clean`.
        assert_eq!(r["outcome"], "warned", "{plugin}: {r:#}");
        assert_eq!(r["packages_scanned"], 0, "{plugin}");
        assert!(findings(&r, "vulnerability").is_empty(), "{plugin}");
    }
}

#[test]
fn build_only_dependency_is_a_warning_flagged_build_only() {
    let r = report(&stdout_of(
        &mut audit_plugin("vuln-build", &["--format", "json"]),
        0,
    ));
    let vulns = findings(&r, "vulnerability");
    assert_eq!(vulns.len(), 1, "{r:#}");
    assert_eq!(vulns[0]["level"], "warn");
    assert_eq!(vulns[0]["build_only"], true);
    assert_eq!(r["outcome"], "warned");
    // Build-only crates are not distributed: no licence evaluation for them.
    assert_eq!(r["licenses"]["packages"], serde_json::json!([]));
}

#[test]
fn sarif_validates_and_points_at_cargo_lock_entry() {
    let dir = support::tempdir();
    let out = dir.path().join("audit.sarif");
    run_fails(
        &mut audit_plugin(
            "vuln-direct",
            &["--format", "sarif", "-o", out.to_str().unwrap()],
        ),
        1,
    );
    let sarif: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("tests/data/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator really checks: a wrong level is rejected.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
    let run0 = &sarif["runs"][0];
    let result = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "RUSTSEC-2021-0003")
        .unwrap();
    assert_eq!(result["level"], "error");
    let loc = &result["locations"][0]["physicalLocation"];
    // Relative to the repository top (the fixture's workspace is below it).
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "tests/fixtures/audit-plugins/Cargo.lock"
    );
    assert_eq!(loc["region"]["startLine"], smallvec_lock_line());
    let rule = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "RUSTSEC-2021-0003")
        .unwrap();
    assert_eq!(rule["properties"]["security-severity"], "9.8");
    // The malformed advisory file is a notice about the tool's input, not a result.
    assert!(
        run0["tool"]["driver"]["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "plugpack/malformed-advisory")
    );
    assert!(
        run0["invocations"][0]["toolConfigurationNotifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["descriptor"]["id"] == "plugpack/malformed-advisory")
    );
}

#[test]
fn licence_fixtures() {
    let r = report(&stdout_of(
        &mut audit_plugin("lic-gpl", &["--format", "json"]),
        1,
    ));
    let f = findings(&r, "license-copyleft");
    assert_eq!(f.len(), 1, "{r:#}");
    assert_eq!(f[0]["package"]["name"], "gpl-lib");
    assert_eq!(f[0]["level"], "deny");

    let r = report(&stdout_of(
        &mut audit_plugin("lic-unknown", &["--format", "json"]),
        1,
    ));
    let f = findings(&r, "license-unknown");
    assert_eq!(f.len(), 1, "{r:#}");
    assert_eq!(f[0]["package"]["name"], "unknown-lib");

    let r = report(&stdout_of(
        &mut audit_plugin("lic-ok", &["--format", "json"]),
        0,
    ));
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["code"].as_str().unwrap().starts_with("license-")),
        "{r:#}"
    );
    let decisions = r["licenses"]["packages"].as_array().unwrap();
    let by_name = |n: &str| decisions.iter().find(|d| d["name"] == n).unwrap();
    // `MIT OR Apache-2.0` under allow = ["Apache-2.0", "MIT"]: the preferred branch.
    assert_eq!(by_name("dual-lib")["concluded"], "Apache-2.0");
    assert_eq!(by_name("dual-lib")["verdict"], "allowed");
    // No `license`, only a licence file, clarified with its hash.
    assert_eq!(by_name("clarified-lib")["source"], "clarified");
    assert_eq!(by_name("clarified-lib")["concluded"], "MIT");
    // BSL-1.0 is not in `allow`, but excepted for this one crate.
    assert_eq!(by_name("excepted-lib")["verdict"], "allowed");
}

/// A temp dir holding the hand-written lockfile and an optional `plugpack.toml`.
fn lockfile_dir(policy: Option<&str>) -> tempfile::TempDir {
    let dir = support::tempdir();
    std::fs::copy(
        repo_root().join("tests/data/audit/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    if let Some(policy) = policy {
        std::fs::write(dir.path().join("plugpack.toml"), policy).unwrap();
    }
    dir
}

fn audit_lockfile(dir: &Path, db: &Path, extra: &[&str]) -> Command {
    let mut cmd = plugpack();
    cmd.arg("audit")
        .arg("--lockfile")
        .arg(dir.join("Cargo.lock"))
        .arg("--db")
        .arg(db)
        .args(extra);
    cmd
}

fn ids(r: &Value) -> Vec<String> {
    let mut ids: Vec<String> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

#[test]
fn lockfile_mode_reports_every_kind() {
    let dir = lockfile_dir(None);
    let r = report(&stdout_of(
        &mut audit_lockfile(dir.path(), &test_db(), &["--format", "json"]),
        1,
    ));
    assert_eq!(r["mode"], "lockfile");
    assert_eq!(
        ids(&r),
        [
            "RUSTSEC-2021-0003",
            "RUSTSEC-2021-0145",
            "RUSTSEC-2022-0058",
            "RUSTSEC-2024-0375"
        ]
    );
    for (code, id) in [
        ("unmaintained", "RUSTSEC-2024-0375"),
        ("unsound", "RUSTSEC-2021-0145"),
        ("notice", "RUSTSEC-2022-0058"),
    ] {
        let f = findings(&r, code);
        assert_eq!(f.len(), 1, "{code}");
        assert_eq!(f[0]["id"], id);
        assert_eq!(f[0]["level"], "warn");
    }
    // smallvec 1.13.2 is patched: only 1.6.0 is reported.
    let v = findings(&r, "vulnerability");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["package"]["version"], "1.6.0");
}

#[test]
fn ignores_need_reasons_expire_and_warn_when_unused() {
    let db = test_db();
    // Active ignore: the vulnerability no longer fails the audit; unused one warns.
    let dir = lockfile_dir(Some(
        "[audit]\nmax-db-age = 100000\nignore = [\n  { id = \"CVE-2021-25900\", reason = \"insert_many is never called\", until = \"2999-12-31\", vex = \"code_not_reachable\" },\n  { id = \"RUSTSEC-2000-0001\", reason = \"old\" },\n]\n",
    ));
    let r = report(&stdout_of(
        &mut audit_lockfile(dir.path(), &db, &["--format", "json"]),
        0,
    ));
    let v = findings(&r, "vulnerability");
    assert_eq!(v[0]["ignored"]["reason"], "insert_many is never called");
    assert_eq!(v[0]["ignored"]["vex"], "code_not_reachable");
    assert_eq!(findings(&r, "ignore-unused").len(), 1);
    assert_eq!(findings(&r, "stale-db").len(), 0);
    assert_eq!(r["ignores"][0]["state"], "applied");
    assert_eq!(r["ignores"][1]["state"], "unused");

    // Expired: it stops applying and is reported.
    let dir = lockfile_dir(Some(
        "[audit]\nignore = [{ id = \"RUSTSEC-2021-0003\", reason = \"temporary\", until = \"2000-01-01\" }]\n",
    ));
    let r = report(&stdout_of(
        &mut audit_lockfile(dir.path(), &db, &["--format", "json"]),
        1,
    ));
    assert!(findings(&r, "vulnerability")[0]["ignored"].is_null());
    let expired = findings(&r, "ignore-expired");
    assert_eq!(expired.len(), 1);
    assert!(
        expired[0]["message"]
            .as_str()
            .unwrap()
            .contains("2000-01-01")
    );

    // No reason: a configuration error naming the file and the key.
    let dir = lockfile_dir(Some("[audit]\nignore = [{ id = \"RUSTSEC-2021-0003\" }]\n"));
    let err = run_fails(&mut audit_lockfile(dir.path(), &db, &[]), 2);
    assert!(err.contains("plugpack.toml"), "{err}");
    assert!(err.contains("reason"), "{err}");
    let dir = lockfile_dir(Some(
        "[audit]\nignore = [{ id = \"RUSTSEC-2021-0003\", reason = \"\" }]\n",
    ));
    let err = run_fails(&mut audit_lockfile(dir.path(), &db, &[]), 2);
    assert!(err.contains("audit.ignore[0].reason"), "{err}");
}

#[test]
fn malformed_policy_names_file_and_key() {
    let dir = lockfile_dir(Some(
        "[audit]\nmax-db-age = 10\nseverity-treshold = \"high\"\n",
    ));
    let err = run_fails(&mut audit_lockfile(dir.path(), &test_db(), &[]), 2);
    assert!(err.contains("plugpack.toml"), "{err}");
    assert!(err.contains("severity-treshold"), "{err}");
    let dir = lockfile_dir(Some("[audit.lints]\nvulnerability = \"fatal\"\n"));
    let err = run_fails(&mut audit_lockfile(dir.path(), &test_db(), &[]), 2);
    assert!(
        err.contains("plugpack.toml") && err.contains("fatal"),
        "{err}"
    );
}

#[test]
fn policy_levels_threshold_and_stale_db_under_deny() {
    let db = test_db();
    // Lints raise or lower kinds; a 9.8 stays denied under any threshold.
    let dir = lockfile_dir(Some(
        "[audit]\nseverity-threshold = \"critical\"\nlints = { unmaintained = \"deny\", notice = \"allow\" }\n",
    ));
    let r = report(&stdout_of(
        &mut audit_lockfile(dir.path(), &db, &["--format", "json"]),
        1,
    ));
    assert_eq!(findings(&r, "unmaintained")[0]["level"], "deny");
    assert_eq!(findings(&r, "notice")[0]["level"], "allow");
    assert_eq!(findings(&r, "vulnerability")[0]["level"], "deny");

    // Below the threshold a vulnerability is at most a warning: aovec's 7.0 (high) is
    // demoted under `critical`, smallvec's 9.8 stays denied; under `high` both are denied.
    for (threshold, aovec_level) in [("critical", "warn"), ("high", "deny")] {
        let dir = lockfile_dir(Some(&format!(
            "[audit]\nseverity-threshold = \"{threshold}\"\n"
        )));
        std::fs::copy(
            repo_root().join("tests/data/audit/high-severity.lock"),
            dir.path().join("Cargo.lock"),
        )
        .unwrap();
        let r = report(&stdout_of(
            &mut audit_lockfile(dir.path(), &db, &["--format", "json"]),
            1,
        ));
        let level = |name: &str| {
            findings(&r, "vulnerability")
                .into_iter()
                .find(|f| f["package"]["name"] == name)
                .unwrap()["level"]
                .clone()
        };
        assert_eq!(level("aovec"), aovec_level, "{threshold}");
        assert_eq!(level("smallvec"), "deny", "{threshold}");
    }

    // A stale database under deny: exit 3.
    let dir = lockfile_dir(Some(
        "[audit]\nmax-db-age = 30\nlints = { stale-db = \"deny\" }\n",
    ));
    run_fails(&mut audit_lockfile(dir.path(), &db, &[]), 3);
}

#[test]
fn bad_databases_exit_3() {
    let dir = lockfile_dir(None);
    // Unreadable path.
    let missing = dir.path().join("no-such-db");
    let err = run_fails(&mut audit_lockfile(dir.path(), &missing, &[]), 3);
    assert!(err.contains("no-such-db"), "{err}");
    // A file, not a directory.
    let err = run_fails(
        &mut audit_lockfile(dir.path(), &dir.path().join("Cargo.lock"), &[]),
        3,
    );
    assert!(err.contains("cannot be read"), "{err}");
    // Empty database.
    let empty = dir.path().join("empty-db");
    std::fs::create_dir_all(empty.join("crates")).unwrap();
    let err = run_fails(&mut audit_lockfile(dir.path(), &empty, &[]), 3);
    assert!(err.contains("holds no advisories"), "{err}");
}

/// Issue 10: no database is "not checked", never "clean": `audit` and `db status` exit 3
/// unless `--allow-no-db`, which gives the verdict `unchecked` with one loud warning.
#[test]
fn missing_default_database_exits_3_unless_allowed_then_unchecked() {
    let home = support::tempdir();
    let dir = lockfile_dir(None);
    let audit = |extra: &[&str]| {
        let mut cmd = plugpack();
        cmd.env("CARGO_HOME", home.path())
            .arg("audit")
            .arg("--lockfile")
            .arg(dir.path().join("Cargo.lock"))
            .args(extra);
        cmd
    };
    let err = run_fails(&mut audit(&[]), 3);
    assert!(err.contains("no advisory database at"), "{err}");
    assert!(err.contains("cargo plugpack db update"), "{err}");
    assert!(err.contains("--allow-no-db"), "{err}");
    let out = run(&mut audit(&["--format", "json"]));
    assert_eq!(out.status.code(), Some(3));
    let error = &support::json_lines(&String::from_utf8_lossy(&out.stdout))[0];
    assert_eq!(error["reason"], "error");
    assert_eq!(error["exit_code"], 3);

    let out = run(&mut audit(&["--allow-no-db"]));
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("advisories were NOT checked: no advisory database at"),
        "{stderr}"
    );
    assert!(warnings[0].contains("cargo plugpack db update"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("advisories: NOT checked"), "{stdout}");
    assert!(
        stdout.contains("→ UNCHECKED (advisories were NOT checked)"),
        "{stdout}"
    );
    assert!(!stdout.contains("→ clean"), "{stdout}");
    let r = report(&stdout_of(
        &mut audit(&["--allow-no-db", "--format", "json"]),
        0,
    ));
    assert_eq!(r["advisories"], "not-checked");
    assert_eq!(r["outcome"], "unchecked");
    let sarif: Value = serde_json::from_str(&stdout_of(
        &mut audit(&["--allow-no-db", "--format", "sarif"]),
        0,
    ))
    .unwrap();
    let props = &sarif["runs"][0]["properties"];
    assert_eq!(props["plugpack-verdict"], "unchecked", "{props:#}");
    assert_eq!(props["plugpack-advisories"], "not-checked");

    // require-db = true wins over --allow-no-db.
    std::fs::write(
        dir.path().join("plugpack.toml"),
        "[audit]\nrequire-db = true\n",
    )
    .unwrap();
    let err = run_fails(&mut audit(&["--allow-no-db"]), 3);
    assert!(err.contains("require-db"), "{err}");

    // `db status` on the same empty home.
    let mut cmd = plugpack();
    cmd.env("CARGO_HOME", home.path()).args(["db", "status"]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no advisory database"),
        "{out:?}"
    );
    let mut cmd = plugpack();
    cmd.env("CARGO_HOME", home.path())
        .args(["db", "status", "--allow-no-db"]);
    let out = run_ok(&mut cmd);
    assert!(out.contains("no advisory database"), "{out}");
}

#[test]
fn db_status_shows_identity_and_malformed_files() {
    let mut cmd = plugpack();
    cmd.args(["db", "status", "--db"]).arg(test_db());
    let out = run_ok(&mut cmd);
    assert!(out.contains("identity   content-sha256 "), "{out}");
    assert!(out.contains("advisories 9"), "{out}");
    assert!(out.contains("RUSTSEC-2099-0001.md"), "{out}");
}

#[test]
fn package_refuses_denied_findings_and_attaches_the_report() {
    let dir = support::tempdir();
    let db = test_db();
    let out = dir.path().join("vuln.oci.tar");
    let err = run_fails(
        &mut on_fixture(
            "package",
            FIXTURE,
            &[
                "--profile",
                "dev",
                "-p",
                "vuln-direct",
                "--db",
                db.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        ),
        1,
    );
    assert!(err.contains("--allow-findings"), "{err}");
    assert!(!out.exists());

    run_ok(&mut on_fixture(
        "package",
        FIXTURE,
        &[
            "--profile",
            "dev",
            "-p",
            "vuln-direct",
            "--db",
            db.to_str().unwrap(),
            "--allow-findings",
            "-o",
            out.to_str().unwrap(),
        ],
    ));
    // The attached report keeps the bundle reproducible.
    let again = dir.path().join("vuln-again.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        FIXTURE,
        &[
            "--profile",
            "dev",
            "-p",
            "vuln-direct",
            "--db",
            db.to_str().unwrap(),
            "--allow-findings",
            "-o",
            again.to_str().unwrap(),
        ],
    ));
    assert_eq!(support::sha256_file(&out), support::sha256_file(&again));
    let reports = attached_reports(&out);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["schema"], "plugpack-audit/1");
    assert_eq!(reports[0]["outcome"], "denied");
    assert!(reports[0]["database"]["age_days"].is_null());

    // The bundle's SBOM carries the audit's vulnerabilities (issue 5), and stays schema-valid.
    let sboms = support::json_blobs(&out, |v| v["bomFormat"] == "CycloneDX");
    assert_eq!(sboms.len(), 1);
    let vulns = sboms[0]["vulnerabilities"]
        .as_array()
        .expect("vulnerabilities[]");
    let smallvec = vulns
        .iter()
        .find(|v| v["id"] == "RUSTSEC-2021-0003")
        .unwrap_or_else(|| panic!("{vulns:#?}"));
    assert_eq!(smallvec["affects"][0]["ref"], "pkg:cargo/smallvec@1.6.0");
    let components: Vec<&str> = sboms[0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert!(
        components.contains(&"pkg:cargo/smallvec@1.6.0"),
        "{components:?}"
    );
    let validator = support::cyclonedx_validator("1.6");
    let errors: Vec<String> = validator
        .iter_errors(&sboms[0])
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // Without a database: one warning line, `advisories: not-checked` and the verdict
    // `unchecked` in the bundle, and the final status line says so.
    let home = support::tempdir();
    let out2 = dir.path().join("clean.oci.tar");
    let mut cmd = on_fixture(
        "package",
        FIXTURE,
        &[
            "--profile",
            "dev",
            "-p",
            "vuln-dev",
            "-o",
            out2.to_str().unwrap(),
        ],
    );
    // Keep cargo's registry (the build needs it offline) but hide any advisory-db.
    let real_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    std::fs::create_dir_all(home.path().join("registry")).unwrap();
    for sub in ["index", "cache", "src"] {
        std::os::unix::fs::symlink(
            real_home.join("registry").join(sub),
            home.path().join("registry").join(sub),
        )
        .unwrap();
    }
    cmd.env("CARGO_HOME", home.path());
    let o = run(&mut cmd);
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("no advisory database"))
            .count(),
        1,
        "{stderr}"
    );
    let reports = attached_reports(&out2);
    assert_eq!(reports[0]["advisories"], "not-checked");
    // Issue 10: never `clean` without a database.
    assert_eq!(reports[0]["outcome"], "unchecked");
    assert!(
        stderr.contains("audit UNCHECKED (advisories were NOT checked)"),
        "{stderr}"
    );
}

/// Every blob of a bundle that parses as a plugpack audit report.
fn attached_reports(bundle: &Path) -> Vec<Value> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    let mut reports = Vec::new();
    let mut saw_media_type = false;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            if v["schema"] == "plugpack-audit/1" {
                reports.push(v);
            } else if v
                .to_string()
                .contains("application/vnd.plugpack.audit.v1+json")
            {
                saw_media_type = true;
            }
        }
    }
    assert!(saw_media_type, "no manifest names the audit media type");
    reports
}

/// Copies the pinned database without its malformed file (cargo-audit's strict loader
/// rejects the whole database for it; that difference is the point of plugpack's loader).
fn strict_db_copy(dest: &Path) {
    let src = test_db();
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).unwrap();
        if rel.to_str().unwrap().contains("broken-crate") {
            continue;
        }
        let to = dest.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn cargo_audit_ids(db: &Path, lockfile: &Path) -> Vec<String> {
    let out = Command::new("cargo-audit")
        .args([
            "audit",
            "--no-fetch",
            "--stale",
            "--no-yanked",
            "--json",
            "--db",
        ])
        .arg(db)
        .arg("--file")
        .arg(lockfile)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "cargo-audit output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut ids: Vec<String> = json["vulnerabilities"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["advisory"]["id"].as_str().unwrap().to_owned())
        .collect();
    if let Some(warnings) = json["warnings"].as_object() {
        for list in warnings.values() {
            for w in list.as_array().unwrap() {
                if let Some(id) = w["advisory"]["id"].as_str() {
                    ids.push(id.to_owned());
                }
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

#[test]
#[ignore = "interop: needs cargo-audit; run by .ci/test"]
fn lockfile_mode_matches_cargo_audit_advisory_ids() {
    support::require_tool("cargo-audit");
    let dir = support::tempdir();
    let db = dir.path().join("advisory-db");
    strict_db_copy(&db);
    for lockfile in [
        repo_root().join("tests/data/audit/Cargo.lock"),
        repo_root().join("tests/data/audit/high-severity.lock"),
        repo_root().join("tests/fixtures/audit-plugins/Cargo.lock"),
        repo_root().join("Cargo.lock"),
    ] {
        let mut cmd = plugpack();
        cmd.args(["audit", "--format", "json", "--lockfile"])
            .arg(&lockfile)
            .arg("--db")
            .arg(&db);
        let out = run(&mut cmd);
        let mut ours = ids(&report(&String::from_utf8(out.stdout).unwrap()));
        ours.dedup();
        let theirs = cargo_audit_ids(&db, &lockfile);
        assert_eq!(ours, theirs, "{}", lockfile.display());
    }
}

#[test]
fn metadata_failure_exits_4() {
    let dir = support::tempdir();
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \n").unwrap();
    let mut cmd = plugpack();
    cmd.arg("audit")
        .arg("--manifest-path")
        .arg(dir.path().join("Cargo.toml"))
        .arg("--db")
        .arg(test_db());
    run_fails(&mut cmd, 4);
}

#[test]
fn scope_direct_records_transitive_findings_as_allowed() {
    let r = report(&stdout_of(
        &mut audit_plugin("vuln-transitive", &["--format", "json"]),
        0,
    ));
    let v = findings(&r, "vulnerability");
    assert_eq!(v.len(), 1, "{r:#}");
    assert_eq!(v[0]["level"], "allow");
    assert_eq!(
        v[0]["path"],
        serde_json::json!(["vuln-transitive", "uses-smallvec", "smallvec"])
    );
    assert_eq!(r["summary"]["allowed"], 1);
    assert_eq!(r["outcome"], "warned");
}

#[test]
fn db_update_refuses_offline_and_non_git_directories_without_network() {
    let mut cmd = plugpack();
    cmd.args(["db", "update", "--offline", "--db"])
        .arg(test_db());
    let err = run_fails(&mut cmd, 2);
    assert!(err.contains("--offline"), "{err}");
    let mut cmd = plugpack();
    cmd.args(["db", "update", "--db"]).arg(test_db());
    let err = run_fails(&mut cmd, 3);
    assert!(err.contains("not a git checkout"), "{err}");
}
