//! Interop (issue 14): GitHub's workflow and action schemas (check-jsonschema's vendored
//! copies) accept every workflow, the root `action.yml` and the `init-ci` output, and
//! `zizmor --offline` finds nothing of medium severity or higher in them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, fixture_manifest, plugpack, repo_root, run, tempdir};

/// Every workflow and action file of the repository, the example workflow of
/// docs/release.md, plus two `init-ci` outputs (plain, and pushing to ghcr.io from a
/// workspace below the repository top).
fn files(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let root = repo_root();
    let mut workflows: Vec<PathBuf> = std::fs::read_dir(root.join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    workflows.sort();
    assert!(workflows.len() >= 2, "{workflows:?}");
    // The documented three-runner release workflow (docs/release.md) is held to the same rules.
    workflows.push(root.join("docs/examples/release-three-runners.yml"));
    for (name, extra) in [
        ("plain", vec![]),
        ("ghcr", vec!["--registry", "ghcr.io/acme/plugins"]),
    ] {
        // A repository whose workspace is a subdirectory.
        let repo = dir.join(name);
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        let ws = repo.join("plugins");
        copy_fixture(&fixture_manifest("wasm-plugin"), &ws);
        let out = run(plugpack()
            .arg("init-ci")
            .arg("--manifest-path")
            .arg(ws.join("Cargo.toml"))
            .args(&extra));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wf = repo.join(".github/workflows/plugpack-release.yml");
        let to = dir.join(format!("init-ci-{name}.yml"));
        std::fs::copy(&wf, &to).unwrap();
        workflows.push(to);
    }
    (workflows, vec![root.join("action.yml")])
}

fn copy_fixture(manifest: &Path, dest: &Path) {
    let src = manifest.parent().unwrap();
    std::fs::create_dir_all(dest.join("src")).unwrap();
    for f in ["Cargo.toml", "Cargo.lock"] {
        if src.join(f).exists() {
            std::fs::copy(src.join(f), dest.join(f)).unwrap();
        }
    }
    for e in std::fs::read_dir(src.join("src")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dest.join("src").join(p.file_name().unwrap())).unwrap();
    }
    // Standalone: not a member of the repository's own workspace.
    let manifest = std::fs::read_to_string(dest.join("Cargo.toml")).unwrap();
    if !manifest.contains("[workspace]") {
        std::fs::write(
            dest.join("Cargo.toml"),
            format!("{manifest}\n[workspace]\n"),
        )
        .unwrap();
    }
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
#[ignore = "interop: needs check-jsonschema and zizmor (pip, .ci/requirements.txt); run by .ci/test"]
fn workflows_and_action_pass_github_schemas_and_zizmor() {
    support::require_tool("check-jsonschema");
    support::require_tool("zizmor");
    let dir = tempdir();
    let (workflows, actions) = files(dir.path());
    ok(Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&workflows));
    ok(Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-actions"])
        .args(&actions));
    // The schema check really checks: a workflow without jobs is rejected.
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, "name: x\non: push\n").unwrap();
    let out = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    // zizmor: nothing medium or higher (exit 0 with --min-severity medium), on every file.
    let all: Vec<&PathBuf> = workflows.iter().chain(&actions).collect();
    let text = ok(Command::new("zizmor")
        .args(["--offline", "--min-severity", "medium", "--format", "plain"])
        .args(&all));
    assert!(
        !text.contains("error[") && !text.contains("warning["),
        "{text}"
    );
    // And zizmor really looks: an interpolated input in `run:` is reported.
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "name: bad\non: pull_request_target\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .unwrap();
    let out = Command::new("zizmor")
        .args(["--offline", "--min-severity", "medium", "--format", "plain"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
