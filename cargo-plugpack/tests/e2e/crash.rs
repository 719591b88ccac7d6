//! Issue 12.7: `package --key` killed at any point (`kill -9`) never leaves an unsigned or
//! partial bundle at its output path, and the next run removes what the killed one left;
//! two runs at once to the same output both end with a valid signed bundle.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    out_dir: PathBuf,
    output: PathBuf,
    module: PathBuf,
    key: PathBuf,
    public: PathBuf,
}

fn setup(module_size: usize) -> Setup {
    let dir = tempdir();
    let root = dir.path().to_owned();
    let out_dir = root.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let module = root.join("plugin.wasm");
    // Large enough that writing, hashing and re-reading the bundle takes a while, so kills
    // land inside the write and signing steps.
    padded_wasm_module(&module, module_size);
    let stem = root.join("release");
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    Setup {
        output: out_dir.join("plugin.oci.tar"),
        key: stem.with_extension("key"),
        public: stem.with_extension("pub"),
        _dir: dir,
        root,
        out_dir,
        module,
    }
}

/// `package --artifact MODULE --key KEY -o OUTPUT` with its own `SOURCE_DATE_EPOCH`, so
/// every run writes a different bundle.
fn package_cmd(s: &Setup, epoch: u64) -> Command {
    let mut cmd = on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-q",
            "-o",
            s.output.to_str().unwrap(),
            "--artifact",
            s.module.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
            "--key",
            s.key.to_str().unwrap(),
        ],
    );
    cmd.env("SOURCE_DATE_EPOCH", epoch.to_string());
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The output holds a complete bundle that `verify --key` accepts.
fn assert_signed(s: &Setup, when: &str) {
    assert!(s.output.exists(), "{when}: the bundle vanished");
    let state = tempfile::tempdir_in(&s.root).unwrap();
    let out = run(plugpack()
        .args(["verify", "-q"])
        .arg(&s.output)
        .arg("--key")
        .arg(&s.public)
        .arg("--state")
        .arg(state.path()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{when}: the bundle at the output path is not a valid signed bundle:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn kill(child: &mut Child) {
    // `Child::kill` is SIGKILL on unix: no destructor, no cleanup runs.
    let _ = child.kill();
    let _ = child.wait();
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn package_with_key_killed_at_any_point_never_leaves_an_unsigned_bundle_issue_12() {
    let s = setup(4 << 20);
    let start = Instant::now();
    run_ok(&mut package_cmd(&s, 1_704_164_645));
    let full = start.elapsed();
    assert_signed(&s, "first run");
    let mut epoch = 1_704_164_700;

    // Kill the moment anything new appears at the output path: with a bundle published
    // before it is signed, this is exactly the unsigned window.
    for round in 0..2 {
        let before = std::fs::metadata(&s.output).unwrap();
        epoch += 1;
        let mut child = spawn(package_cmd(&s, epoch));
        let deadline = Instant::now() + full * 10 + Duration::from_secs(30);
        loop {
            let changed = std::fs::metadata(&s.output)
                .map(|m| m.ino() != before.ino() || m.mtime_nsec() != before.mtime_nsec())
                .unwrap_or(true);
            if changed || child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        kill(&mut child);
        assert_signed(&s, &format!("killed as the output changed (round {round})"));
    }

    // Kill at points spread over a whole run (build, audit, pack, sign, publish).
    let points = 6;
    for i in 0..points {
        epoch += 1;
        let delay = full.mul_f64((i as f64 + 0.5) / points as f64);
        let mut child = spawn(package_cmd(&s, epoch));
        std::thread::sleep(delay);
        kill(&mut child);
        assert_signed(&s, &format!("killed after {delay:?} of a {full:?} run"));
    }

    // The next complete run cleans up after the killed ones: nothing but the bundle is left.
    epoch += 1;
    run_ok(&mut package_cmd(&s, epoch));
    assert_signed(&s, "after a complete run");
    assert_eq!(entries(&s.out_dir), ["plugin.oci.tar"]);
}

#[test]
fn two_package_runs_to_the_same_output_end_with_one_valid_signed_bundle_issue_12() {
    let s = setup(1 << 20);
    for round in 0..2 {
        let a = spawn(package_cmd(&s, 1_704_164_645 + round));
        let b = spawn(package_cmd(&s, 1_704_164_745 + round));
        let outcomes: Vec<_> = [a, b]
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for out in &outcomes {
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Either run may lose the race, but only with a clear error.
            assert!(
                out.status.success() || stderr.contains("error:"),
                "a concurrent run failed without saying why ({}): {stderr}",
                out.status
            );
        }
        assert!(
            outcomes.iter().any(|o| o.status.success()),
            "neither concurrent run succeeded"
        );
        assert_signed(&s, &format!("two concurrent runs (round {round})"));
        assert_eq!(entries(&s.out_dir), ["plugin.oci.tar"]);
    }
}

#[test]
fn package_with_minisign_publishes_the_signature_beside_the_bundle_and_reports_final_paths() {
    let s = setup(1 << 10);
    let mut cmd = package_cmd(&s, 1_704_164_645);
    cmd.args(["--minisign", "--message-format", "json"]);
    let stdout = run_ok(&mut cmd);
    let written = json_lines(&stdout)
        .into_iter()
        .find(|v| v["reason"] == "bundle-written")
        .unwrap();
    let output = s.output.to_str().unwrap();
    let minisig = format!("{output}.minisig");
    assert_eq!(written["path"], output);
    assert_eq!(written["signature"]["bundle"], output, "{written}");
    assert_eq!(
        written["signature"]["minisig"],
        minisig.as_str(),
        "{written}"
    );
    assert_eq!(
        written["signature"]["file_sha256"],
        sha256_file(&s.output),
        "{written}"
    );
    assert!(
        std::fs::read_to_string(&minisig)
            .unwrap()
            .starts_with("untrusted comment:")
    );
    assert_signed(&s, "package --minisign");
    assert_eq!(
        entries(&s.out_dir),
        ["plugin.oci.tar", "plugin.oci.tar.minisig"]
    );
}

#[test]
fn a_refused_package_run_leaves_the_previous_bundle_and_no_temporaries() {
    let s = setup(1 << 10);
    run_ok(&mut package_cmd(&s, 1_704_164_645));
    let before = sha256_file(&s.output);
    let mut cmd = package_cmd(&s, 1_704_164_646);
    cmd.args(["--expires", "2020-01-01T00:00:00Z"]);
    let err = run_fails(&mut cmd, 2);
    assert!(
        err.contains("--expires 2020-01-01T00:00:00Z is not after"),
        "{err}"
    );
    assert_eq!(sha256_file(&s.output), before);
    assert_eq!(entries(&s.out_dir), ["plugin.oci.tar"]);
}
