//! One exit-code rule for every command (README, "Exit codes"), colour choices that reach the
//! debug log, and the shape of status lines.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// Bytes of the malformed input: text and bytes that are not UTF-8. No message may quote them.
const MARKER: &str = "PLUGPACK-MALFORMED-MARKER";

/// The four bad inputs every file argument is tried with.
#[derive(Debug, Clone, Copy)]
enum Bad {
    Missing,
    Directory,
    Empty,
    Malformed,
}

const BAD: [Bad; 4] = [Bad::Missing, Bad::Directory, Bad::Empty, Bad::Malformed];

/// Creates the bad input `bad` under `dir` and returns its path.
fn bad_input(dir: &Path, bad: Bad) -> PathBuf {
    let path = dir.join(format!("{bad:?}").to_lowercase());
    match bad {
        Bad::Missing => {}
        Bad::Directory => std::fs::create_dir(&path).unwrap(),
        Bad::Empty | Bad::Malformed => {
            let bytes: Vec<u8> = match bad {
                Bad::Empty => Vec::new(),
                _ => format!("{MARKER} \x00\x01\x02 not what was expected\n")
                    .into_bytes()
                    .into_iter()
                    .chain([0xff, 0xfe, b'\n'])
                    .cycle()
                    .take(2048)
                    .collect(),
            };
            std::fs::write(&path, bytes).unwrap();
            // Private-key checks come after the permission check: keep that one satisfied.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    path
}

/// A valid tiny wasm bundle of the wasm fixture from a prebuilt module (no build); the human
/// status line is checked on the way.
fn tiny_bundle(dir: &Path) -> (PathBuf, PathBuf) {
    let module = dir.join("tiny.wasm");
    std::fs::write(&module, [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', 9]).unwrap();
    let bundle = dir.join("tiny.oci.tar");
    let out = run(&mut on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-o",
            bundle.to_str().unwrap(),
            "--artifact",
            module.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
        ],
    ));
    assert!(out.status.success());
    // The digest on the status line says what it is the digest of (the tagged entry, here an
    // image manifest), and it is not the tarball's sha256.
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("Packaged"))
        .unwrap();
    assert!(line.contains(" (manifest sha256:"), "{line}");
    assert!(!line.contains(&sha256_file(&bundle)), "{line}");
    (bundle, module)
}

/// `(label, arguments with "{}" for the bad file, expected exit code per [`BAD`] entry)`.
type Case = (&'static str, Vec<String>, [i32; 4]);

#[test]
fn every_input_file_follows_the_exit_code_table() {
    let dir = tempdir();
    let d = dir.path();
    let (bundle, module) = tiny_bundle(d);
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(d.join("k")));
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (bundle, module) = (s(&bundle), s(&module));
    let (key, public, state, out) = (
        s(&d.join("k.key")),
        s(&d.join("k.pub")),
        s(&d.join("state")),
        s(&d.join("out")),
    );
    let wasm_fixture = s(&fixture_manifest("wasm-plugin"));
    let target_dir = s(&fixture_target_dir());
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let on_wasm_fixture = |command: &str, a: &[&str]| {
        let mut v = args(&[
            command,
            "--manifest-path",
            &wasm_fixture,
            "--target-dir",
            &target_dir,
            "--locked",
            "--offline",
        ]);
        v.extend(args(a));
        v
    };
    let all5 = [5, 5, 5, 5];
    let cases: Vec<Case> = vec![
        ("inspect", args(&["inspect", "{}"]), all5),
        ("extract", args(&["extract", "{}", "-o", &out]), all5),
        // A directory is an extracted layout; one `verify` cannot parse is rejected (1).
        (
            "verify",
            args(&["verify", "{}", "--key", &public, "--state", &state]),
            [5, 1, 1, 1],
        ),
        ("sign", args(&["sign", "{}", "--key", &key]), all5),
        ("abi-diff old", args(&["abi-diff", "{}", &module]), all5),
        ("abi-diff new", args(&["abi-diff", &module, "{}"]), all5),
        (
            "fingerprint",
            args(&["fingerprint", "--artifact", "{}"]),
            all5,
        ),
        ("sbom", args(&["sbom", "--from-artifact", "{}"]), all5),
        ("audit", args(&["audit", "--lockfile", "{}"]), all5),
        (
            "package --artifact",
            on_wasm_fixture(
                "package",
                &["-o", &out, "--target", "wasm32-wasip1", "--artifact", "{}"],
            ),
            all5,
        ),
        (
            "abi-check --baseline",
            on_wasm_fixture("abi-check", &["--baseline", "{}"]),
            all5,
        ),
        (
            "verify --key",
            args(&["verify", &bundle, "--key", "{}", "--state", &state]),
            all5,
        ),
        (
            "verify --host-abi",
            args(&[
                "verify",
                &bundle,
                "--key",
                &public,
                "--state",
                &state,
                "--host-abi",
                "{}",
            ]),
            all5,
        ),
        // The trust policy is configuration.
        (
            "verify --policy",
            args(&["verify", &bundle, "--policy", "{}", "--state", &state]),
            [2, 2, 2, 2],
        ),
        ("sign --key", args(&["sign", &bundle, "--key", "{}"]), all5),
        (
            "sign --attach",
            args(&["sign", &bundle, "--attach", "{}"]),
            all5,
        ),
    ];
    let mut wrong = Vec::new();
    for (label, template, codes) in &cases {
        for (bad, code) in BAD.iter().zip(codes) {
            let case_dir = d.join(format!("{label}-{bad:?}").replace(' ', "_"));
            std::fs::create_dir(&case_dir).unwrap();
            let file = bad_input(&case_dir, *bad);
            let file = file.to_str().unwrap();
            let argv: Vec<String> = template.iter().map(|a| a.replace("{}", file)).collect();
            let output = run(plugpack().args(&argv));
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let mut problems = Vec::new();
            if output.status.code() != Some(*code) {
                problems.push(format!(
                    "exit {:?}, README says {code}",
                    output.status.code()
                ));
            }
            if !all.contains(file) {
                problems.push("the message does not name the file".to_owned());
            }
            if all.contains(MARKER) || all.contains("\u{fffd}") {
                problems.push("the message quotes the file's bytes".to_owned());
            }
            if all.contains("panicked") {
                problems.push("panic".to_owned());
            }
            if *code == 1 && !all.contains("unreadable bundle") {
                problems.push("a rejected unparsable bundle is not called unreadable".to_owned());
            }
            if !problems.is_empty() {
                wrong.push(format!("{label} {bad:?}: {}\n{all}", problems.join("; ")));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn a_corrupted_bundle_is_named_and_never_echoed() {
    let dir = tempdir();
    let (bundle, _) = tiny_bundle(dir.path());
    // A truncated real bundle: `verify` rejects it as unreadable and names the problem.
    let bytes = std::fs::read(&bundle).unwrap();
    let truncated = dir.path().join("truncated.oci.tar");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    run_ok(
        plugpack()
            .args(["keygen", "-q", "-o"])
            .arg(dir.path().join("k")),
    );
    let out = run(plugpack()
        .arg("verify")
        .arg(&truncated)
        .arg("--key")
        .arg(dir.path().join("k.pub"))
        .arg("--state")
        .arg(dir.path().join("state")));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!(
            "rejected {}: unreadable bundle (",
            truncated.display()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("? v?"), "{stdout}");
    // `inspect Cargo.toml`: names the file and the format it expected, quotes nothing of it.
    let manifest = repo_root().join("Cargo.toml");
    let err = run_fails(plugpack().arg("inspect").arg(&manifest), 5);
    assert!(
        err.contains(&format!(
            "invalid bundle {}: not a tar archive; expected an OCI image-layout tarball",
            manifest.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("[workspace]") && !err.contains("members"),
        "{err}"
    );
}

/// `-v` on a (cached) build of the wasm fixture, with `env` applied; returns stderr.
fn verbose_build(extra: &[&str], env: &[(&str, Option<&str>)]) -> String {
    let mut cmd: Command = on_fixture("build", "wasm-plugin", extra);
    cmd.arg("-v");
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let out = run(&mut cmd);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("DEBUG"), "no debug log line: {stderr}");
    stderr
}

#[test]
fn colour_off_means_no_escape_codes_in_the_debug_log_either() {
    // `--color never` wins over the environment; `CARGO_TERM_COLOR=never`; and, with neither,
    // stderr is not a terminal here.
    for (extra, env) in [
        (
            &["--color", "never"][..],
            &[("CARGO_TERM_COLOR", Some("always"))][..],
        ),
        (&[][..], &[("CARGO_TERM_COLOR", Some("never"))][..]),
        (&[][..], &[("CARGO_TERM_COLOR", None)][..]),
    ] {
        let stderr = verbose_build(extra, env);
        assert!(!stderr.contains('\x1b'), "{extra:?} {env:?}: {stderr:?}");
    }
    // The control: colour on does colour the debug line.
    let stderr = verbose_build(&["--color", "always"], &[]);
    let debug = stderr.lines().find(|l| l.contains("DEBUG")).unwrap();
    assert!(debug.contains('\x1b'), "{debug:?}");
}

#[test]
fn status_words_are_right_aligned_like_cargo() {
    let out = run(&mut on_fixture("fingerprint", "wasm-plugin", &[]));
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(" Fingerprint "), "{stderr}");
    for line in stderr.lines() {
        if line.starts_with("warning:") || line.starts_with("error:") || line.is_empty() {
            continue;
        }
        // cargo's layout: the word ends in column 12, then one space (cargo's own
        // `Compiling`/`Finished` lines, which cargo passes through, have it too).
        let word_end = line
            .find(|c: char| c != ' ')
            .map(|start| start + line[start..].find(' ').unwrap_or(line.len() - start));
        assert_eq!(word_end, Some(12), "misaligned status line: {line:?}");
    }
}
