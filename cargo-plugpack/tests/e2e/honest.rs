//! Issue 10, "honest defaults": nothing claims what it did not check. Without an advisory
//! database the verdict is `unchecked` (and a trust policy can refuse that), a refusal's
//! hint reproduces the refusal, a dirty working tree is stamped `-dirty`, `package` shows the
//! audit's warnings, the licences annotation is SPDX, and `db update` works from a local copy.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{
    self, fixture_manifest, fixture_target_dir, json_lines, plugpack, repo_root, run, run_fails,
    run_ok,
};

fn test_db() -> PathBuf {
    repo_root().join("tests/data/advisory-db")
}

/// Copies a fixture workspace (without build output) into `dest`.
fn copy_fixture(name: &str, dest: &Path) {
    let src = fixture_manifest(name).parent().unwrap().to_owned();
    copy_tree(&src, dest);
}

fn copy_tree(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let to = dest.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// A `CARGO_HOME` that shares cargo's registry (builds stay offline) but has no advisory
/// database.
fn home_without_db() -> tempfile::TempDir {
    let home = support::tempdir();
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
    home
}

/// `cargo plugpack <subcommand> --manifest-path <manifest> --target-dir <shared> --offline`.
fn on_manifest(subcommand: &str, manifest: &Path, extra: &[&str]) -> Command {
    let mut cmd = plugpack();
    cmd.arg(subcommand)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(fixture_target_dir())
        .arg("--offline")
        .args(extra);
    cmd
}

/// The command between "run `" and "` for details" in a refusal.
fn hinted_command(stderr: &str) -> Vec<String> {
    let start = stderr.find("(run `").expect("a hint") + "(run `".len();
    let end = start + stderr[start..].find("` for details").expect("end of hint");
    let hint = &stderr[start..end];
    assert!(!hint.contains('\''), "test paths need no quoting: {hint}");
    hint.split_whitespace().map(str::to_owned).collect()
}

/// Runs a hinted `cargo plugpack …` command line with the test binary.
fn run_hint(words: &[String], home: Option<&Path>) -> std::process::Output {
    assert_eq!(words[..2], ["cargo", "plugpack"], "{words:?}");
    let mut cmd = plugpack();
    cmd.args(&words[2..]);
    if let Some(home) = home {
        cmd.env("CARGO_HOME", home);
    }
    run(&mut cmd)
}

/// Issue 10: `package --db DIR` refused and hinted `cargo plugpack audit -p NAME`, which
/// without `--db` (or the features) printed `→ ok`. The hint now carries every flag that
/// changes the result, and running it reproduces exit 1 and the same finding.
#[test]
fn refusal_hint_reproduces_the_refusal() {
    let dir = support::tempdir();
    let ws = dir.path().join("ws");
    copy_fixture("audit-plugins", &ws);
    // The vulnerable crate only behind a feature: without `--features risky` the audit is
    // not denied, so a hint that drops the feature would not reproduce the refusal.
    let manifest = ws.join("vuln-dev/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!(
            "{text}\n[dependencies]\nsmallvec = {{ version = \"=1.6.0\", optional = true }}\n\n[features]\nrisky = [\"dep:smallvec\"]\n"
        ),
    )
    .unwrap();
    let db = test_db();
    let out = dir.path().join("out.oci.tar");
    let stderr = run_fails(
        &mut on_manifest(
            "package",
            &ws.join("Cargo.toml"),
            &[
                "-p",
                "vuln-dev",
                "--features",
                "risky",
                "--db",
                db.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        ),
        1,
    );
    assert!(!out.exists());
    let hint = hinted_command(&stderr);
    for flag in [
        "--features",
        "risky",
        "--db",
        "--manifest-path",
        "--offline",
    ] {
        assert!(hint.iter().any(|w| w == flag), "{flag} missing: {hint:?}");
    }
    let o = run_hint(&hint, None);
    assert_eq!(o.status.code(), Some(1), "the hint must reproduce exit 1");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("error[vulnerability] RUSTSEC-2021-0003"),
        "{stdout}"
    );
    assert!(stdout.contains("crate:    smallvec 1.6.0"), "{stdout}");

    // Without a database: the licence refusal's hint adds --allow-no-db, so it reproduces
    // exit 1 (not exit 3 for the missing database) and the same finding.
    let home = home_without_db();
    let mut cmd = on_manifest(
        "package",
        &ws.join("Cargo.toml"),
        &["-p", "lic-gpl", "-o", out.to_str().unwrap()],
    );
    cmd.env("CARGO_HOME", home.path());
    let stderr = run_fails(&mut cmd, 1);
    let hint = hinted_command(&stderr);
    assert!(hint.iter().any(|w| w == "--allow-no-db"), "{hint:?}");
    let o = run_hint(&hint, Some(home.path()));
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("error[license-copyleft]"), "{stdout}");
    assert!(stdout.contains("advisories: NOT checked"), "{stdout}");
}

/// `package` shows the audit's warnings (the database's too) and licence findings, one line
/// each, and counts them in the final status line; `-q` hides the lines.
#[test]
fn package_prints_audit_warnings_and_licence_findings() {
    let dir = support::tempdir();
    let db = test_db();
    let out = dir.path().join("b.oci.tar");
    let package = |plugin: &str, extra: &[&str]| {
        let mut args = vec![
            "-p",
            plugin,
            "--db",
            db.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        support::on_fixture("package", "audit-plugins", &args)
    };
    let o = run(&mut package("vuln-build", &[]));
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("audit of vuln-build:"))
        .collect();
    // The build-only vulnerability and the database's warnings (the pinned database has a
    // malformed file and is older than max-db-age), one line each, as `audit` reports them.
    assert_eq!(lines.len(), 3, "{stderr}");
    for expected in [
        "warning[vulnerability] RUSTSEC-2021-0003 Buffer overflow in SmallVec::insert_many (smallvec 1.6.0)",
        "warning[malformed-advisory] skipped crates/broken-crate/RUSTSEC-2099-0001.md",
        // With --db, the hint updates that database, not the default one.
        "warning[stale-db] advisory database last updated 2024-09-25 is older than max-db-age (90 days); run `cargo plugpack db update --db <this database's directory>`",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("warning: audit of vuln-build: {expected}"))),
            "{expected}: {stderr}"
        );
    }
    assert!(
        stderr.contains("; audit warned: 0 denied, 3 warning(s), 0 ignored"),
        "{stderr}"
    );

    // Licence findings too (a denied one, bundled with --allow-findings).
    let o = run(&mut package("lic-gpl", &["--allow-findings"]));
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let licence: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("audit of lic-gpl: denied[license-copyleft]"))
        .collect();
    assert_eq!(licence.len(), 1, "{stderr}");
    assert!(stderr.contains("; audit denied: 1 denied"), "{stderr}");

    // -q: no finding lines.
    let o = run(&mut package("vuln-build", &["-q"]));
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("audit of"), "{stderr}");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
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
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn git_repo(dir: &Path) -> String {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "fixture"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Packages `manifest` and returns (the first manifest's annotations, stderr).
fn package_annotations(manifest: &Path, out: &Path) -> (Value, String) {
    let db = test_db();
    let o = run(&mut on_manifest(
        "package",
        manifest,
        &[
            "--message-format",
            "json",
            "--db",
            db.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    ));
    assert!(o.status.success());
    let stdout = String::from_utf8(o.stdout).unwrap();
    let written = json_lines(&stdout)
        .into_iter()
        .find(|l| l["reason"] == "bundle-written")
        .unwrap();
    (
        written["info"]["manifests"][0]["annotations"].clone(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

/// Issue 10: a dirty working tree stamped HEAD's revision silently. Modified tracked files
/// now give `<commit>-dirty` (as `git describe --dirty`), with a warning; untracked files
/// do not count. The licences annotation is a valid SPDX expression (issue 12).
#[test]
fn dirty_tree_is_stamped_and_licences_are_spdx() {
    let dir = support::tempdir();
    let ws = dir.path().join("plugin");
    copy_fixture("cdylib-plugin", &ws);
    // The old-style licence string, which the annotation must not copy verbatim.
    let manifest = ws.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            "license = \"MIT OR Apache-2.0\"",
            "license = \"MIT/Apache-2.0\"",
        ),
    )
    .unwrap();
    let head = git_repo(&ws);
    let out = dir.path().join("b.oci.tar");
    const REVISION: &str = "org.opencontainers.image.revision";

    let (ann, stderr) = package_annotations(&manifest, &out);
    assert_eq!(ann[REVISION], head.as_str());
    assert!(!stderr.contains("uncommitted"), "{stderr}");
    assert_eq!(
        ann["org.opencontainers.image.licenses"],
        "MIT OR Apache-2.0"
    );

    // Untracked files are in no commit and do not make the tree dirty.
    std::fs::write(ws.join("NOTES.txt"), "scratch\n").unwrap();
    let (ann, _) = package_annotations(&manifest, &out);
    assert_eq!(ann[REVISION], head.as_str());

    // A modified tracked file does.
    let lib = ws.join("src/lib.rs");
    let mut source = std::fs::read_to_string(&lib).unwrap();
    source.push_str("\n// uncommitted change\n");
    std::fs::write(&lib, source).unwrap();
    let (ann, stderr) = package_annotations(&manifest, &out);
    assert_eq!(ann[REVISION], format!("{head}-dirty").as_str());
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("uncommitted changes"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains(&format!("{head}-dirty")), "{stderr}");
    // The signed statement states it too (not only through the manifest digest).
    let key = dir.path().join("k");
    run_ok(support::plugpack().args(["keygen", "-q", "-o"]).arg(&key));
    run_ok(
        support::plugpack()
            .arg("sign")
            .arg(&out)
            .arg("--key")
            .arg(key.with_extension("key")),
    );
    let bundle = camino::Utf8PathBuf::from_path_buf(out.clone()).unwrap();
    let layout = plugpack_core::oci::read_bundle(&bundle).unwrap();
    let info = plugpack_core::oci::inspect(&layout).unwrap();
    let found = plugpack_core::sign::envelopes(&layout, &info);
    assert_eq!(found.len(), 1);
    let envelope = plugpack_core::sign::Envelope::parse(
        layout.json_blob(&found[0].digest).unwrap(),
        "envelope",
    )
    .unwrap();
    let statement: plugpack_core::sign::Statement =
        serde_json::from_slice(&envelope.payload_bytes("envelope").unwrap()).unwrap();
    assert_eq!(
        statement.predicate.targets[0].revision.as_deref(),
        Some(format!("{head}-dirty").as_str())
    );
    run_ok(
        support::plugpack()
            .arg("verify")
            .arg(&out)
            .arg("--key")
            .arg(key.with_extension("pub")),
    );

    // A licence that cannot be made SPDX is left out, with a warning.
    git(&ws, &["checkout", "-q", "--", "."]);
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            "license = \"MIT/Apache-2.0\"",
            "license = \"Fixture Proprietary Licence\"",
        ),
    )
    .unwrap();
    let (ann, stderr) = package_annotations(&manifest, &out);
    assert!(
        ann.get("org.opencontainers.image.licenses").is_none(),
        "{ann:#}"
    );
    assert!(
        stderr.contains("licence `Fixture Proprietary Licence` is not an SPDX expression"),
        "{stderr}"
    );
}

/// Issue 10: a scripted first run can fill the database without network from a local git
/// copy (`db update --url PATH` works even with `--offline`), and `db status` names the
/// commit and its date.
#[test]
fn db_update_from_a_local_git_copy_offline() {
    let dir = support::tempdir();
    let src = dir.path().join("upstream");
    copy_tree(&test_db(), &src);
    let first = git_repo(&src);
    let db = dir.path().join("home/advisory-db");
    let update = |url: &str| {
        let mut cmd = plugpack();
        cmd.args(["db", "update", "--offline", "--url", url, "--db"])
            .arg(&db);
        cmd
    };
    let status = || {
        let mut cmd = plugpack();
        cmd.args(["db", "status", "--db"]).arg(&db);
        run_ok(&mut cmd)
    };
    run_ok(&mut update(src.to_str().unwrap()));
    let s = status();
    assert!(s.contains(&format!("identity   git-commit {first}")), "{s}");
    assert!(s.contains("updated    2024-09-30"), "{s}");
    assert!(s.contains("advisories 9"), "{s}");

    // A new upstream commit arrives with the next update (fetch into the checkout).
    std::fs::remove_dir_all(src.join("crates/broken-crate")).unwrap();
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-q", "-m", "drop the malformed advisory"]);
    let second = git(&src, &["rev-parse", "HEAD"]);
    assert_ne!(first, second);
    let url = format!("file://{}", src.display());
    let mut cmd = update(&url);
    cmd.args(["--message-format", "json"]);
    let out = run_ok(&mut cmd);
    let updated = &json_lines(&out)[0];
    assert_eq!(updated["reason"], "advisory-db-updated");
    assert_eq!(updated["info"]["identity"]["value"], second.as_str());
    assert_eq!(updated["info"]["updated"], "2024-09-30");
    let s = status();
    assert!(
        s.contains(&format!("identity   git-commit {second}")),
        "{s}"
    );
    assert!(!s.contains("malformed"), "{s}");

    // A relative source path means the same directory for a fresh clone and for a fetch
    // into the checkout (git runs there with -C).
    git(&src, &["commit", "-q", "--allow-empty", "-m", "third"]);
    let third = git(&src, &["rev-parse", "HEAD"]);
    let mut cmd = update("upstream");
    cmd.current_dir(dir.path());
    run_ok(&mut cmd);
    assert!(
        status().contains(&format!("identity   git-commit {third}")),
        "{}",
        status()
    );

    // A remote URL under --offline is refused before any network access.
    let err = run_fails(&mut update("https://example.invalid/advisory-db.git"), 2);
    assert!(err.contains("--offline"), "{err}");
}

/// Issue 10: without a database the bundle's verdict is `unchecked` (manifest annotation
/// and signed statement), and a trust policy with `require = ["audit-checked"]` rejects it
/// with `audit-unchecked` while accepting a bundle audited against a database.
#[test]
fn unchecked_bundles_say_so_and_audit_checked_policies_reject_them() {
    let dir = support::tempdir();
    let stem = dir.path().join("release");
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    let key = stem.with_extension("key");
    let home = home_without_db();
    let package = |out: &Path, with_db: bool| {
        let db = test_db();
        let mut args = vec![
            "--message-format",
            "json",
            "--key",
            key.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        if with_db {
            args.extend(["--db", db.to_str().unwrap()]);
        }
        let mut cmd = support::on_fixture("package", "cdylib-plugin", &args);
        cmd.env("CARGO_HOME", home.path());
        let o = run(&mut cmd);
        assert!(o.status.success());
        let stdout = String::from_utf8(o.stdout).unwrap();
        let written = json_lines(&stdout)
            .into_iter()
            .find(|l| l["reason"] == "bundle-written")
            .unwrap();
        (written, String::from_utf8(o.stderr).unwrap())
    };
    let checked = dir.path().join("checked.oci.tar");
    let unchecked = dir.path().join("unchecked.oci.tar");
    let (written, _) = package(&checked, true);
    assert_eq!(
        written["info"]["manifests"][0]["annotations"]["dev.plugpack.audit.verdict"],
        "warned"
    );
    let (written, stderr) = package(&unchecked, false);
    assert_eq!(
        written["info"]["manifests"][0]["annotations"]["dev.plugpack.audit.verdict"],
        "unchecked"
    );
    assert_eq!(written["audit"]["outcome"], "unchecked");
    assert_eq!(written["audit"]["advisories"], "not-checked");
    assert!(
        stderr.contains("warning: advisories were NOT checked: no advisory database at"),
        "{stderr}"
    );

    let policy = dir.path().join("plugpack-trust.toml");
    std::fs::write(
        &policy,
        "[roots.release]\nkeys = [\"release.pub\"]\n\n[[policy]]\npattern = \"*\"\nroots = [\"release\"]\nrequire = [\"audit-checked\"]\n",
    )
    .unwrap();
    let verify = |bundle: &Path, code: i32| {
        let state = support::tempdir();
        let mut cmd = plugpack();
        cmd.args(["verify", "--format", "json"])
            .arg(bundle)
            .arg("--policy")
            .arg(&policy)
            .arg("--state")
            .arg(state.path());
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(code));
        json_lines(&String::from_utf8(o.stdout).unwrap())
            .pop()
            .unwrap()
    };
    let ok = verify(&checked, 0);
    assert_eq!(ok["failures"], serde_json::json!([]), "{ok:#}");
    let rejected = verify(&unchecked, 1);
    let codes: Vec<&str> = rejected["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["audit-unchecked"], "{rejected:#}");
    // The signed statement carries the verdict too.
    let verdicts: Vec<&str> = rejected["attestation"]["predicate"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "audit")
        .map(|a| a["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["unchecked"], "{rejected:#}");
}
