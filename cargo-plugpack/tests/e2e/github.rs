//! GitHub Actions integration of `audit` and `package` (issue 14): with `GITHUB_ACTIONS=true`
//! and the runner's files pointed at temp files, the job summary, annotations and step
//! outputs; SARIF URIs relative to the repository root.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{on_fixture, repo_root, run, tempdir};

/// A title that would forge a command if `%` or `:`/`,` were not escaped.
const TITLE: &str = "Buffer overflow %0A::error::forged,title=x:y";

fn hostile_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("db");
    copy_tree(&repo_root().join("tests/data/advisory-db"), &db);
    let advisory = db.join("crates/smallvec/RUSTSEC-2021-0003.md");
    let text = std::fs::read_to_string(&advisory).unwrap().replace(
        "# Buffer overflow in SmallVec::insert_many",
        &format!("# {TITLE}"),
    );
    std::fs::write(&advisory, text).unwrap();
    db
}

fn copy_tree(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let to = dest.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &to);
        } else {
            std::fs::copy(&path, &to).unwrap();
        }
    }
}

fn in_actions(cmd: &mut Command, dir: &Path) -> Output {
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("GITHUB_OUTPUT", dir.join("output"));
    run(cmd)
}

/// The runner's reading of `$GITHUB_OUTPUT`.
fn outputs(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("output")).unwrap();
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            assert!(
                delim.starts_with("ghadelimiter_") && delim.len() == 45,
                "{delim}"
            );
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            out.insert(name.to_owned(), value.join("\n"));
        } else {
            assert!(line.is_empty(), "stray line {line:?} in {text}");
        }
    }
    out
}

/// Workflow-command lines of a stream (the runner trims leading space before looking).
fn commands(stream: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stream)
        .lines()
        .filter(|l| l.trim_start().starts_with("::"))
        .map(str::to_owned)
        .collect()
}

fn smallvec_line() -> usize {
    let lock = std::fs::read_to_string(repo_root().join("tests/fixtures/audit-plugins/Cargo.lock"))
        .unwrap();
    let lines: Vec<&str> = lock.lines().collect();
    lines
        .iter()
        .position(|l| *l == "name = \"smallvec\"")
        .unwrap()
}

#[test]
fn audit_writes_summary_annotations_outputs_and_repo_relative_sarif() {
    let dir = tempdir();
    let db = hostile_db(dir.path());
    let sarif = dir.path().join("audit.sarif");
    let out = in_actions(
        &mut on_fixture(
            "audit",
            "audit-plugins",
            &[
                "-p",
                "vuln-direct",
                "--db",
                db.to_str().unwrap(),
                "--format",
                "sarif",
                "-o",
                sarif.to_str().unwrap(),
            ],
        ),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    // Annotations on stderr, stdout untouched (the report went to -o).
    assert!(commands(&out.stdout).is_empty());
    let cmds = commands(&out.stderr);
    let lock = "tests/fixtures/audit-plugins/Cargo.lock";
    let expected = format!(
        "::error file={lock},line={},title=RUSTSEC-2021-0003 (smallvec 1.6.0)::vuln-direct: \
         Buffer overflow %250A::error::forged,title=x:y (patched: >=0.6.14, <1.0.0; >=1.6.1) \
         https://github.com/servo/rust-smallvec/issues/252",
        smallvec_line()
    );
    assert!(cmds.contains(&expected), "{cmds:#?}\nexpected {expected}");
    assert!(
        !cmds.iter().any(|c| c.starts_with("::error::forged")),
        "{cmds:#?}"
    );
    assert!(
        cmds.iter().all(|c| c.starts_with("::error ")
            || c.starts_with("::warning ")
            || c.starts_with("::notice ")),
        "{cmds:#?}"
    );
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.starts_with("## plugpack audit\n"), "{summary}");
    assert!(
        summary.contains("| audit of vuln-direct v0.1.0 | denied |"),
        "{summary}"
    );
    assert!(
        summary.contains("| **denied** | vuln-direct | RUSTSEC-2021-0003 | smallvec 1.6.0 | critical (9.8) | Buffer overflow %0A::error::forged,title=x:y | &gt;=0.6.14, &lt;1.0.0; &gt;=1.6.1 |"),
        "{summary}"
    );
    assert_eq!(
        outputs(dir.path()),
        BTreeMap::from([("audit-verdict".to_owned(), "denied".to_owned())])
    );
    // The SARIF's URI is relative to the repository top, not the fixture's workspace.
    let sarif: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], lock, "{r:#}");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(r["partialFingerprints"]["plugpack/v1"].is_string());
    }
}

#[test]
fn package_writes_bundle_outputs() {
    let dir = tempdir();
    let db = hostile_db(dir.path());
    let bundle = dir.path().join("b.oci.tar");
    let out = in_actions(
        &mut on_fixture(
            "package",
            "audit-plugins",
            &[
                "-p",
                "vuln-direct",
                "--profile",
                "dev",
                "--allow-findings",
                "--db",
                db.to_str().unwrap(),
                "-o",
                bundle.to_str().unwrap(),
                "--message-format",
                "json",
            ],
        ),
        dir.path(),
    );
    assert!(out.status.success());
    // stdout stays JSON lines.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let written: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["reason"] == "bundle-written")
        .unwrap();
    let o = outputs(dir.path());
    assert_eq!(o["bundles"], bundle.to_str().unwrap());
    assert_eq!(o["digests"], written["info"]["digest"].as_str().unwrap());
    assert_eq!(o["audit-verdict"], "denied");
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!(
            "| {} | bundle vuln-direct v0.1.0 | {} |",
            bundle.display(),
            written["info"]["digest"].as_str().unwrap()
        )),
        "{summary}"
    );
    assert!(
        commands(&out.stderr)
            .iter()
            .any(|c| c.starts_with("::error file=tests/fixtures/audit-plugins/Cargo.lock,"))
    );
}

#[test]
fn nothing_outside_github_actions() {
    let dir = tempdir();
    let out = run(on_fixture(
        "audit",
        "audit-plugins",
        &[
            "-p",
            "vuln-direct",
            "--db",
            repo_root().join("tests/data/advisory-db").to_str().unwrap(),
        ],
    )
    .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
    .env("GITHUB_OUTPUT", dir.path().join("output")));
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("summary.md").exists());
    assert!(!dir.path().join("output").exists());
    assert!(commands(&out.stderr).is_empty());
}

#[test]
fn init_ci_writes_once_and_checks_drift_in_words() {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let src = crate::support::fixture_manifest("wasm-plugin");
    let ws = repo.join("plugins");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    let manifest = std::fs::read_to_string(&src).unwrap();
    // Standalone, not a member of the repository's own workspace.
    let manifest = if manifest.contains("[workspace]") {
        manifest
    } else {
        format!("{manifest}\n[workspace]\n")
    };
    std::fs::write(ws.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(src.with_file_name("src/lib.rs"), ws.join("src/lib.rs")).unwrap();
    let init = |extra: &[&str]| {
        let mut cmd = crate::support::plugpack();
        cmd.arg("init-ci")
            .arg("--manifest-path")
            .arg(ws.join("Cargo.toml"))
            .args(extra);
        run(&mut cmd)
    };
    let out = init(&["--registry", "ghcr.io/acme/plugins"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wf = repo.join(".github/workflows/plugpack-release.yml");
    let text = std::fs::read_to_string(&wf).unwrap();
    assert!(text.contains("working-directory: plugins\n"), "{text}");
    assert!(text.contains("PLUGPACK_PUSH: \"ghcr.io/acme/plugins\""));
    // Never overwrites: exit 2, file unchanged.
    std::fs::write(&wf, text.replace("jobs:", "# my comment\njobs:")).unwrap();
    let out = init(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never overwrites"));
    assert!(
        std::fs::read_to_string(&wf)
            .unwrap()
            .contains("# my comment")
    );
    // A comment is no drift; an unpinned action and an expression in `run:` are, in words.
    assert_eq!(init(&["--check"]).status.code(), Some(0));
    let edited = std::fs::read_to_string(&wf)
        .unwrap()
        .replace(
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
            "actions/checkout@v4",
        )
        .replace(
            "run: cargo plugpack db update",
            "run: cargo plugpack db update --url ${{ inputs.db }}",
        );
    std::fs::write(&wf, edited).unwrap();
    let out = init(&["--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("actions/checkout is not pinned by a commit SHA (`@v4`)"),
        "{stderr}"
    );
    assert!(stderr.contains("inside a `run:` script"), "{stderr}");
}

/// The action's shell half (`action/run.sh`) with a stand-in `cargo` that records its
/// arguments: inputs become separate arguments by the documented rule and are never run.
#[cfg(unix)]
#[test]
fn action_script_splits_args_and_never_evaluates_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("cargo");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\" >> \"$LOG\"; done\necho --- >> \"$LOG\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("log");
    let action = |command: &str, args: &str, push: &str| {
        let _ = std::fs::remove_file(&log);
        let out = Command::new("bash")
            .arg(repo_root().join("action/run.sh"))
            .arg("run")
            .current_dir(dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("LOG", &log)
            .env("GITHUB_OUTPUT", dir.path().join("output"))
            .env("RUNNER_TEMP", dir.path())
            .env("PLUGPACK_COMMAND", command)
            .env("PLUGPACK_ARGS", args)
            .env("PLUGPACK_PUSH", push)
            .output()
            .unwrap();
        (
            out.status.code(),
            std::fs::read_to_string(&log).unwrap_or_default(),
        )
    };
    let (code, argv) = action(
        "audit",
        "--release  $(touch pwned) `touch pwned2` *;touch pwned3 \"q r\"",
        "",
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        argv,
        format!(
            "[plugpack]\n[audit]\n[--release]\n[$(touch]\n[pwned)]\n[`touch]\n[pwned2`]\n[*;touch]\n[pwned3]\n[\"q]\n[r\"]\n[--format]\n[sarif]\n[-o]\n[{}/plugpack-audit.sarif]\n---\n",
            dir.path().display()
        )
    );
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!dir.path().join(f).exists(), "{f} was created");
    }
    // One argument per line when the value has a newline; release gets --push.
    let (code, argv) = action("release", "--features\na b\n\n--locked\n", "ghcr.io/a/b");
    assert_eq!(code, Some(0));
    assert_eq!(
        argv,
        "[plugpack]\n[release]\n[--features]\n[a b]\n[--locked]\n[--push]\n[ghcr.io/a/b]\n---\n"
    );
    // A command that is not a subcommand name is refused before anything runs.
    let (code, argv) = action("audit; touch pwned4", "", "");
    assert_eq!(code, Some(2));
    assert_eq!(argv, "");
    assert!(!dir.path().join("pwned4").exists());
    let outputs = std::fs::read_to_string(dir.path().join("output")).unwrap();
    assert!(outputs.contains("exit-code<<ghadelimiter_"), "{outputs}");
}
