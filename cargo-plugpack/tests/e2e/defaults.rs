//! Defaults users expect (issues 10, 11 and 12): `package` builds release and keeps dev
//! bundles apart, `-o DIR/` means "into this directory" for every command, a key in
//! `$PLUGPACK_SIGNING_KEY` signs, and `verify` keeps anti-rollback state only when asked, under
//! a lock.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// `on_fixture(…)` with `--message-format json`; the lines with `reason`.
fn messages(cmd: &mut Command, reason: &str) -> Vec<Value> {
    json_lines(&run_ok(cmd.args(["--message-format", "json"])))
        .into_iter()
        .filter(|l| l["reason"] == reason)
        .collect()
}

/// Whether the bundle holds a blob with this `sha256:…` digest.
fn has_blob(bundle: &Path, digest: &str) -> bool {
    let want = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    tar_entries(bundle).iter().any(|(name, _)| *name == want)
}

#[test]
fn package_builds_release_by_default_and_dev_bundles_get_their_own_name() {
    // The wasm fixture: its release build is what `packages_wasm_with_cncf_wasm_media_types`
    // builds too, so this adds no release build of its own.
    let release = &messages(
        &mut on_fixture("package", "wasm-plugin", &[]),
        "bundle-written",
    )[0];
    let release_path = PathBuf::from(release["path"].as_str().unwrap());
    assert_eq!(
        release_path,
        fixture_target_dir().join("plugpack/wasm-plugin-1.2.0.oci.tar")
    );
    let release_artifact = &messages(
        &mut on_fixture("build", "wasm-plugin", &["--release"]),
        "plugin-artifact",
    )[0];
    assert!(
        has_blob(&release_path, release_artifact["sha256"].as_str().unwrap()),
        "the default package is not the release build"
    );

    for opt_out in [&["--debug"][..], &["--profile", "dev"]] {
        let dev = &messages(
            &mut on_fixture("package", "wasm-plugin", opt_out),
            "bundle-written",
        )[0];
        assert_eq!(
            PathBuf::from(dev["path"].as_str().unwrap()),
            fixture_target_dir().join("plugpack/wasm-plugin-1.2.0-dev.oci.tar"),
            "{opt_out:?}"
        );
    }
    let dev_path = fixture_target_dir().join("plugpack/wasm-plugin-1.2.0-dev.oci.tar");
    let dev_artifact = &messages(
        &mut on_fixture("build", "wasm-plugin", &[]),
        "plugin-artifact",
    )[0];
    assert!(has_blob(
        &dev_path,
        dev_artifact["sha256"].as_str().unwrap()
    ));
    // Neither overwrote the other: both are there, and the release build is far smaller.
    assert!(has_blob(
        &release_path,
        release_artifact["sha256"].as_str().unwrap()
    ));
    assert!(
        release_artifact["size"].as_u64().unwrap() * 4 < dev_artifact["size"].as_u64().unwrap(),
        "release {} vs dev {}",
        release_artifact["size"],
        dev_artifact["size"]
    );
    // --debug contradicts --release.
    run_fails(
        &mut on_fixture("package", "wasm-plugin", &["--debug", "--release"]),
        2,
    );
}

#[test]
fn every_output_flag_takes_a_directory() {
    // Issue 10: `-o out/` (created) and `-o out` (an existing directory) write the default
    // file name into the directory, for package, sbom, fingerprint, audit and keygen.
    let dir = tempdir();
    let root = dir.path();
    let db = repo_root().join("tests/data/advisory-db");
    let dev = ["--profile", "dev"];
    let slash = |name: &str| format!("{}/{name}/", root.display());

    let bundle = &messages(
        &mut on_fixture(
            "package",
            "cdylib-plugin",
            &[&dev[..], &["-o", slash("pkg").as_str()]].concat(),
        ),
        "bundle-written",
    )[0];
    assert_eq!(
        PathBuf::from(bundle["path"].as_str().unwrap()),
        root.join("pkg/cdylib-plugin-0.3.1-dev.oci.tar")
    );
    let existing = root.join("pkg");
    let again = &messages(
        &mut on_fixture(
            "package",
            "cdylib-plugin",
            &[&dev[..], &["-o", existing.to_str().unwrap()]].concat(),
        ),
        "bundle-written",
    )[0];
    assert_eq!(again["path"], bundle["path"]);

    let sbom = &messages(
        &mut on_fixture("sbom", "cdylib-plugin", &["-o", &slash("sboms")]),
        "sbom-written",
    )[0];
    let sbom_path = root.join("sboms/cdylib-plugin-0.3.1-x86_64-unknown-linux-gnu.cdx.json");
    assert_eq!(PathBuf::from(sbom["path"].as_str().unwrap()), sbom_path);
    let doc: Value = serde_json::from_slice(&std::fs::read(&sbom_path).unwrap()).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");

    let fp = root.join("abi");
    std::fs::create_dir(&fp).unwrap();
    run_ok(&mut on_fixture(
        "fingerprint",
        "cdylib-plugin",
        &["-q", "-o", fp.to_str().unwrap()],
    ));
    let fp_path = fp.join("cdylib-plugin-0.3.1-x86_64-unknown-linux-gnu.abi.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(&fp_path).unwrap()).unwrap();
    assert!(doc["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    // --artifact: named after the file.
    let artifact = sbom["artifact"].as_str().unwrap();
    run_ok(plugpack().args([
        "fingerprint",
        "-q",
        "--artifact",
        artifact,
        "-o",
        &slash("abi2"),
    ]));
    let name = Path::new(artifact).file_name().unwrap().to_str().unwrap();
    assert!(root.join(format!("abi2/{name}.abi.json")).is_file());

    run_ok(&mut on_fixture(
        "audit",
        "cdylib-plugin",
        &[
            "--db",
            db.to_str().unwrap(),
            "--format",
            "sarif",
            "-o",
            &slash("reports"),
        ],
    ));
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(root.join("reports/audit.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");

    let id = run_ok(plugpack().args(["keygen", "-q", "-o", &slash("keys")]));
    assert!(!id.trim().is_empty());
    assert!(root.join("keys/signing.key").is_file());
    assert!(root.join("keys/signing.pub").is_file());
    assert!(!root.join("keys/.key").exists());

    // A trailing `/` on an existing file: the error names it, exit 6, nothing written.
    let file = root.join("plain");
    std::fs::write(&file, b"x").unwrap();
    let err = run_fails(
        &mut on_fixture(
            "sbom",
            "cdylib-plugin",
            &["-o", &format!("{}/", file.display())],
        ),
        6,
    );
    assert!(err.contains("plain exists and is not a directory"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// A tiny wasm module packaged as the wasm fixture from a prebuilt file (no cargo build).
fn tiny_bundle(dir: &Path, name: &str, env: &[(&str, &str)], extra: &[&str]) -> (PathBuf, String) {
    let module = dir.join(format!("{name}.wasm"));
    std::fs::write(&module, [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', 7]).unwrap();
    let out = dir.join(format!("{name}.oci.tar"));
    let mut cmd = on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-o",
            out.to_str().unwrap(),
            "--artifact",
            module.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
        ],
    );
    cmd.args(extra).env_remove("PLUGPACK_SIGNING_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = run(&mut cmd);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (out, stderr)
}

/// `verify --format json BUNDLE ARGS…` with HOME and XDG_DATA_HOME in `home`; (code, report).
fn verify_in(home: &Path, bundle: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = run(plugpack()
        .args(["verify", "--format", "json"])
        .arg(bundle)
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("PLUGPACK_STATE_DIR"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        json_lines(&stdout).pop().unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn keygen(dir: &Path) -> (PathBuf, PathBuf) {
    let stem = dir.join("ci");
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    (stem.with_extension("key"), stem.with_extension("pub"))
}

#[test]
fn a_key_in_the_environment_signs_the_package_and_says_so() {
    // Issue 11: docs/sign.md and `package -h` promise that the PEM in $PLUGPACK_SIGNING_KEY
    // replaces --key; `package` used to write an unsigned bundle without a word.
    let dir = tempdir();
    let home = tempdir();
    let (key, public) = keygen(dir.path());
    let pem = std::fs::read_to_string(&key).unwrap();
    let public = public.to_str().unwrap();

    let (signed, stderr) =
        tiny_bundle(dir.path(), "signed", &[("PLUGPACK_SIGNING_KEY", &pem)], &[]);
    assert!(
        stderr.contains("Signing") && stderr.contains("$PLUGPACK_SIGNING_KEY"),
        "{stderr}"
    );
    let (code, report, _) = verify_in(home.path(), &signed, &["--key", public]);
    assert_eq!(code, 0, "{report}");

    let (unsigned, stderr) = tiny_bundle(
        dir.path(),
        "unsigned",
        &[("PLUGPACK_SIGNING_KEY", &pem)],
        &["--no-sign"],
    );
    assert!(!stderr.contains("PLUGPACK_SIGNING_KEY"), "{stderr}");
    let (code, report, _) = verify_in(home.path(), &unsigned, &["--key", public]);
    assert_eq!(code, 1);
    assert_eq!(report["failures"][0]["code"], "no-signature");

    // An empty variable is no key: unsigned, and nothing announced.
    let (_, stderr) = tiny_bundle(dir.path(), "empty", &[("PLUGPACK_SIGNING_KEY", " ")], &[]);
    assert!(!stderr.contains("Signing"), "{stderr}");
    // --sign insists on a key: without one it fails instead of writing an unsigned bundle.
    let module = dir.path().join("empty.wasm");
    let refused = dir.path().join("refused.oci.tar");
    let err = run_fails(
        on_fixture(
            "package",
            "wasm-plugin",
            &[
                "--sign",
                "--artifact",
                module.to_str().unwrap(),
                "--target",
                "wasm32-wasip1",
                "-o",
                refused.to_str().unwrap(),
            ],
        )
        .env_remove("PLUGPACK_SIGNING_KEY"),
        2,
    );
    assert!(err.contains("PLUGPACK_SIGNING_KEY"), "{err}");
    assert!(!refused.exists());
    // --no-sign contradicts --key.
    run_fails(
        &mut on_fixture(
            "package",
            "wasm-plugin",
            &["--no-sign", "--key", key.to_str().unwrap()],
        ),
        2,
    );
}

/// Two signed tiny bundles: sequence 1 and sequence 2, same plugin.
fn two_sequences(dir: &Path, key: &Path) -> (PathBuf, PathBuf) {
    let (older, _) = tiny_bundle(dir, "older", &[], &["-q"]);
    let (newer, _) = tiny_bundle(dir, "newer", &[], &["-q"]);
    for (bundle, seq) in [(&older, "1"), (&newer, "2")] {
        run_ok(
            plugpack()
                .args(["sign", "-q"])
                .arg(bundle)
                .arg("--key")
                .arg(key)
                .args(["--sequence", seq]),
        );
    }
    (older, newer)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn verify_keeps_anti_rollback_state_only_when_asked() {
    // Issue 10: `verify --key` silently wrote ~/.local/share/plugpack/trust-state, and a
    // later check of an older release failed with [rollback].
    let dir = tempdir();
    let home = tempdir();
    let (key, public) = keygen(dir.path());
    let (older, newer) = two_sequences(dir.path(), &key);
    let public = public.to_str().unwrap();

    for bundle in [&newer, &older] {
        let (code, report, _) = verify_in(home.path(), bundle, &["--key", public]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["state_updated"], false);
        assert!(report.get("state_file").is_none(), "{report}");
    }
    assert_eq!(files_under(home.path()), Vec::<PathBuf>::new());

    // --state DIR keeps it; the rollback names the file and --allow-downgrade.
    let state = dir.path().join("state");
    let state_arg = ["--key", public, "--state", state.to_str().unwrap()];
    let (code, report, _) = verify_in(home.path(), &newer, &state_arg);
    assert_eq!(code, 0, "{report}");
    let file = state.join("wasm-plugin.json");
    assert_eq!(report["state_file"], file.to_str().unwrap());
    let (code, report, _) = verify_in(home.path(), &older, &state_arg);
    assert_eq!(code, 1);
    let message = report["failures"][0]["message"].as_str().unwrap();
    assert_eq!(report["failures"][0]["code"], "rollback");
    assert!(
        message.contains(file.to_str().unwrap()) && message.contains("--allow-downgrade"),
        "{message}"
    );
    let out = run(plugpack().arg("verify").arg(&older).args(state_arg));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[rollback]") && stderr.contains("--allow-downgrade"),
        "{stderr}"
    );

    // The policy's `state` setting, relative to the policy file.
    let policy = dir.path().join("plugpack-trust.toml");
    std::fs::write(
        &policy,
        format!(
            "state = \"policy-state\"\n[roots.ci]\nkeys = [\"{public}\"]\n[[policy]]\npattern = \"*\"\nroots = [\"ci\"]\n"
        ),
    )
    .unwrap();
    let (code, report, _) = verify_in(home.path(), &newer, &["--policy", policy.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert!(dir.path().join("policy-state/wasm-plugin.json").is_file());
    let (code, _, _) = verify_in(home.path(), &older, &["--policy", policy.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(files_under(home.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_state_file_of_an_unknown_schema_is_refused_not_overwritten() {
    // Issue 12, defect 10.
    let dir = tempdir();
    let (key, public) = keygen(dir.path());
    let (_, newer) = two_sequences(dir.path(), &key);
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let text = r#"{"schema_version":7,"name":"wasm-plugin","version":"9.9.9"}"#;
    std::fs::write(state.join("wasm-plugin.json"), text).unwrap();
    let err = run_fails(
        plugpack()
            .arg("verify")
            .arg(&newer)
            .arg("--key")
            .arg(&public)
            .arg("--state")
            .arg(&state),
        2,
    );
    assert!(err.contains("schema_version 7"), "{err}");
    assert_eq!(
        std::fs::read_to_string(state.join("wasm-plugin.json")).unwrap(),
        text
    );
}

#[test]
fn parallel_verify_processes_only_move_the_state_forward_and_survive_kill_9() {
    // Issue 12, defect 1, with real processes (the library test runs 200 rounds of threads).
    let dir = tempdir();
    let (key, public) = keygen(dir.path());
    let (older, newer) = two_sequences(dir.path(), &key);
    let verify = |bundle: &Path, state: &Path| {
        let mut cmd = plugpack();
        cmd.args(["verify", "-q"])
            .arg(bundle)
            .arg("--key")
            .arg(&public)
            .arg("--state")
            .arg(state)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    for round in 0..12 {
        let state = dir.path().join(format!("state-{round}"));
        let mut a = verify(&older, &state).spawn().unwrap();
        let mut b = verify(&newer, &state).spawn().unwrap();
        a.wait().unwrap();
        assert!(b.wait().unwrap().success(), "round {round}");
        let record: Value =
            serde_json::from_slice(&std::fs::read(state.join("wasm-plugin.json")).unwrap())
                .unwrap();
        assert_eq!(
            record["sequence"], 2,
            "round {round}: the state moved backwards"
        );
        assert!(
            !verify(&older, &state).status().unwrap().success(),
            "round {round}: the older bundle replays"
        );
    }
    // A verifier killed at any point leaves a readable state (or none) and no lock behind.
    let state = dir.path().join("state-killed");
    for delay_ms in [0u64, 2, 5, 10, 20, 40] {
        let mut child = verify(&newer, &state).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        if let Ok(bytes) = std::fs::read(state.join("wasm-plugin.json")) {
            let record: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(record["sequence"], 2);
        }
        let started = std::time::Instant::now();
        assert!(verify(&newer, &state).status().unwrap().success());
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
