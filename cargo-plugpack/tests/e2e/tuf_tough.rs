//! Interop (issue 16): `tough`, awslabs' Rust TUF client, loads repositories written by
//! `cargo plugpack repo` and reads a plugin target with the exact bytes; it rejects a tampered
//! target and tampered targets metadata.
//!
//! `tough` pulls aws-lc-sys (C) and tokio, so it is not a dev-dependency: a small client crate
//! of its own workspace (`tests/interop/tough-client`) is built once by `.ci/setup.sh` into
//! `~/.cache/plugpack/tough-target`; `PLUGPACK_TOUGH_CLIENT` names another binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{self, plugpack, run_ok};
use crate::tuf::{TARGET, delegated, fixture, published, rotate_targets_then_root};

/// The built `plugpack-tough-client`; a missing one fails the test loudly.
fn tough_client() -> PathBuf {
    let path = std::env::var_os("PLUGPACK_TOUGH_CLIENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/plugpack/tough-target/release/plugpack-tough-client")
        });
    assert!(
        path.is_file(),
        "interop test needs the tough client at {} (PLUGPACK_INTEROP={}); run `bash .ci/setup.sh` \
         (it runs `cargo build --release --locked --manifest-path \
         tests/interop/tough-client/Cargo.toml --target-dir ~/.cache/plugpack/tough-target`) \
         or set PLUGPACK_TOUGH_CLIENT",
        path.display(),
        std::env::var("PLUGPACK_INTEROP").unwrap_or_default()
    );
    path
}

/// Runs the tough client on `repo` (file:// URLs), trusting `root`, reading `target` into `out`.
fn tough(repo: &Path, root: &Path, target: &str, out: &Path) -> Output {
    let base = format!("file://{}/", repo.display());
    Command::new(tough_client())
        .arg(root)
        .arg(&base)
        .arg(format!("{base}targets/"))
        .arg(target)
        .arg(out)
        .output()
        .unwrap()
}

/// Asserts tough loaded the repository and wrote the fixture bundle's exact bytes to `out`.
fn assert_reads_bundle(result: &Output, out: &Path) {
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "tough rejected our repository:\n{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.lines().any(|l| l == TARGET), "{stdout}");
    assert_eq!(
        std::fs::read(out).unwrap(),
        std::fs::read(&fixture().bundle).unwrap()
    );
}

/// Asserts tough refused (exit 1) with an error containing `needle` and wrote nothing.
fn assert_refused(result: &Output, needle: &str, out: &Path) {
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{result:?}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    assert!(!out.exists(), "{}", out.display());
}

#[test]
#[ignore = "interop: needs the tough client built by .ci/setup.sh; run by .ci/test"]
fn tough_loads_our_repository_and_reads_the_exact_target_bytes() {
    let dir = support::tempdir();
    let repo = published(dir.path());
    let root = repo.join("1.root.json");
    let out = dir.path().join("tough1.oci.tar");
    assert_reads_bundle(&tough(&repo, &root, TARGET, &out), &out);

    // After a targets and a root rotation tough walks the root chain (1 -> 2 -> 3) from the same
    // trusted root and checks the new targets key.
    rotate_targets_then_root(&repo);
    assert!(repo.join("3.root.json").is_file());
    let out = dir.path().join("tough2.oci.tar");
    let result = tough(&repo, &root, TARGET, &out);
    assert_reads_bundle(&result, &out);

    // A name the repository does not list is not found.
    let none = dir.path().join("none.oci.tar");
    assert_refused(
        &tough(&repo, &root, "no-such-plugin-1.0.0.oci.tar", &none),
        "is not listed",
        &none,
    );
}

#[test]
#[ignore = "interop: needs the tough client built by .ci/setup.sh; run by .ci/test"]
fn tough_rejects_a_tampered_target_and_tampered_targets_metadata() {
    let dir = support::tempdir();
    let repo = published(dir.path());
    let root = repo.join("1.root.json");
    let sha = support::sha256_file(&fixture().bundle);
    let hex = sha.strip_prefix("sha256:").unwrap();

    // One flipped bit in the target file: its hash no longer matches targets.json.
    let target = repo.join(format!("targets/{hex}.{TARGET}"));
    let original = std::fs::read(&target).unwrap();
    let mut bytes = original.clone();
    bytes[100] ^= 1;
    std::fs::write(&target, &bytes).unwrap();
    let out = dir.path().join("t1.oci.tar");
    assert_refused(&tough(&repo, &root, TARGET, &out), "Hash mismatch", &out);
    // A longer target than the metadata allows.
    let mut longer = original.clone();
    longer.extend_from_slice(b"trailing bytes");
    std::fs::write(&target, &longer).unwrap();
    let out = dir.path().join("t2.oci.tar");
    assert_refused(&tough(&repo, &root, TARGET, &out), "Maximum size", &out);
    std::fs::write(&target, &original).unwrap();
    let out = dir.path().join("t3.oci.tar");
    assert_reads_bundle(&tough(&repo, &root, TARGET, &out), &out);

    // Tampered targets metadata (the version the snapshot names, as consistent snapshots are
    // read): another length for the target. The snapshot pins the file's hash.
    let meta = repo.join("2.targets.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    let needle = format!("\"length\":{}", original.len());
    assert!(text.contains(&needle), "{text}");
    std::fs::write(&meta, text.replacen(&needle, "\"length\":1", 1)).unwrap();
    let out = dir.path().join("t4.oci.tar");
    assert_refused(
        &tough(&repo, &root, TARGET, &out),
        &format!("Hash mismatch for file://{}", meta.display()),
        &out,
    );
    std::fs::write(&meta, text).unwrap();

    // A timestamp (pinned by nothing) whose signature is one hex digit off: tough checks our
    // ed25519 signatures, not only hashes.
    let ts = repo.join("timestamp.json");
    let text = std::fs::read_to_string(&ts).unwrap();
    let at = text.find("\"sig\":\"").unwrap() + 7;
    let digit = if &text[at..=at] == "0" { "1" } else { "0" };
    std::fs::write(&ts, format!("{}{digit}{}", &text[..at], &text[at + 1..])).unwrap();
    let out = dir.path().join("t5.oci.tar");
    assert_refused(
        &tough(&repo, &root, TARGET, &out),
        "Signature threshold of 1 not met for role timestamp",
        &out,
    );
    std::fs::write(&ts, text).unwrap();
    let out = dir.path().join("t6.oci.tar");
    assert_reads_bundle(&tough(&repo, &root, TARGET, &out), &out);
}

#[test]
#[ignore = "interop: needs the tough client built by .ci/setup.sh; run by .ci/test"]
fn tough_verifies_our_delegated_role_but_fetches_its_targets_by_another_path() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = delegated(dir.path());
    let online = fx.online();
    run_ok(
        plugpack()
            .args(["repo", "add"])
            .arg(&repo)
            .arg(&fx.bundle)
            .arg("--key")
            .arg(fx.public("signer"))
            .args(["--role", "team-x", "--role-key"])
            .arg(fx.key("other"))
            .args(&online[2..]),
    );
    let name = format!("team-x/{TARGET}");
    let hex = support::sha256_file(&fx.bundle)["sha256:".len()..].to_owned();
    assert!(
        repo.join(format!("targets/team-x/{hex}.{TARGET}"))
            .is_file()
    );
    let out = dir.path().join("team.oci.tar");
    let result = tough(&repo, &repo.join("1.root.json"), &name, &out);
    // tough loaded and verified the delegated role's metadata: it lists the target.
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.lines().any(|l| l == name), "{result:?}");
    // With consistent snapshots, python-tuf (the reference) and rust-tuf fetch
    // `targets/team-x/<sha256>.<file>` (hash before the base name), where `repo add` puts it;
    // tough 0.24 prefixes the whole target path: `targets/<sha256>.team-x/<file>`. When tough
    // follows the reference this fails and the delegated target reads as the top-level one does.
    assert_refused(&result, &format!("targets/{hex}.team-x/{TARGET}"), &out);
}

/// tough re-serialises metadata with olpc-cjson, which NFC-normalises strings, before it checks
/// signatures; we sign the bytes as written (as securesystemslib does). A delegation pattern
/// `e\u{301}quipe/*` made tough reject the whole repository ("Signature threshold of 1 not met
/// for role targets"); `repo delegate` now refuses non-ASCII patterns (they match no target).
#[test]
fn repo_delegate_refuses_a_non_ascii_path_pattern() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = published(dir.path());
    let before = std::fs::read(repo.join("targets.json")).unwrap();
    let stderr = support::run_fails(
        plugpack()
            .args(["repo", "delegate"])
            .arg(&repo)
            .args(["--name", "team-x", "--paths", "e\u{301}quipe/*", "--key"])
            .arg(fx.public("other"))
            .args(fx.online()),
        2,
    );
    assert!(stderr.contains("a path pattern is ASCII"), "{stderr}");
    assert_eq!(std::fs::read(repo.join("targets.json")).unwrap(), before);
}
