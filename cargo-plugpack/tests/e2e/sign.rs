//! `keygen`, `sign`, `verify` and `package --key` end to end, plus the host-side API on the
//! bundles the real binary wrote.

use std::path::{Path, PathBuf};

use camino::Utf8PathBuf;
use plugpack_core::oci::{self, Attachment};
use plugpack_core::sign::{Envelope, SecretKey};
use plugpack_core::verify::{FailureCode, TrustPolicy, Verifier};
use serde_json::Value;

use crate::support::*;

fn utf8(p: &Path) -> Utf8PathBuf {
    Utf8PathBuf::from_path_buf(p.to_owned()).unwrap()
}

/// `keygen -o dir/name`; returns (private, public).
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let stem = dir.join(name);
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    (stem.with_extension("key"), stem.with_extension("pub"))
}

/// A valid wasm module of 13 bytes: the header and one custom section `x` holding `byte`
/// (distinct bytes give distinct modules; `package` fingerprints it, so it must parse).
fn tiny_module(byte: u8) -> Vec<u8> {
    vec![0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', byte]
}

/// A tiny wasm bundle of the wasm fixture, from a prebuilt module (no build).
fn tiny_bundle(dir: &Path, name: &str, extra_byte: u8) -> PathBuf {
    let module = dir.join(format!("{name}.wasm"));
    std::fs::write(&module, tiny_module(extra_byte)).unwrap();
    let out = dir.join(format!("{name}.oci.tar"));
    package_prebuilt_wasm(&module, &out);
    out
}

fn sign(bundle: &Path, key: &Path, extra: &[&str]) {
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(bundle)
            .arg("--key")
            .arg(key)
            .args(extra),
    );
}

/// Runs `verify --format json` with the given trust arguments and a state dir; returns the
/// exit code and the report.
fn verify(bundle: &Path, state: &Path, args: &[&str]) -> (i32, Value) {
    let out = run(plugpack()
        .args(["verify", "--format", "json"])
        .arg(bundle)
        .arg("--state")
        .arg(state)
        .args(args));
    let code = out.status.code().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report = json_lines(&stdout).pop().unwrap_or(Value::Null);
    (code, report)
}

fn codes(report: &Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn manifest_digests(bundle: &Path) -> Vec<String> {
    let info = oci::inspect(&oci::read_bundle(&utf8(bundle)).unwrap()).unwrap();
    let mut d: Vec<String> = info
        .manifests
        .iter()
        .map(|m| m.digest.to_string())
        .collect();
    d.push(info.digest.to_string());
    d
}

fn key_policy(pubs: &[&Path]) -> TrustPolicy {
    let paths: Vec<Utf8PathBuf> = pubs.iter().map(|p| utf8(p)).collect();
    TrustPolicy::from_keys(&paths).unwrap()
}

fn write_policy(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("plugpack-trust.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn keygen_writes_a_private_key_only_the_owner_can_read_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let stem = dir.path().join("release");
    let id = run_ok(plugpack().args(["keygen", "-o"]).arg(&stem));
    let key = stem.with_extension("key");
    let public = stem.with_extension("pub");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&public), 0o644);
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    // The printed key id is the TUF/securesystemslib one.
    let loaded = SecretKey::load(&utf8(&key), false).unwrap();
    assert_eq!(id.trim(), loaded.public().key_id().0);
    // Never printed or logged.
    assert!(!id.contains(pem.lines().nth(1).unwrap()));

    let err = run_fails(plugpack().args(["keygen", "-o"]).arg(&stem), 2);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), pem);
    run_ok(
        plugpack()
            .args(["keygen", "-q", "--force", "-o"])
            .arg(&stem),
    );
    assert_ne!(std::fs::read_to_string(&key).unwrap(), pem);

    // A key others can read is refused, unless explicitly allowed.
    let bundle = tiny_bundle(dir.path(), "b", 1);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = run_fails(
        plugpack().arg("sign").arg(&bundle).arg("--key").arg(&key),
        2,
    );
    assert!(err.contains("accessible by others"), "{err}");
    sign(&bundle, &key, &["--insecure-key-permissions"]);
}

#[test]
fn signing_key_can_come_from_the_environment() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "ci");
    let bundle = tiny_bundle(dir.path(), "b", 2);
    let err = run_fails(plugpack().arg("sign").arg(&bundle), 2);
    assert!(err.contains("PLUGPACK_SIGNING_KEY"), "{err}");
    let pem = std::fs::read_to_string(&key).unwrap();
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(&bundle)
            .env("PLUGPACK_SIGNING_KEY", pem.replace('\n', "\r\n")),
    );
    let (code, report) = verify(
        &bundle,
        &dir.path().join("state"),
        &["--key", public.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
}

#[test]
fn sign_and_verify_round_trip_for_a_cdylib_bundle() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let bundle = package_fixture("cdylib-plugin", dir.path(), &["-q"]);
    let before = manifest_digests(&bundle);
    let envelope = dir.path().join("sig.dsse.json");
    sign(&bundle, &key, &["--detached", envelope.to_str().unwrap()]);
    assert_eq!(
        manifest_digests(&bundle),
        before,
        "signing changed a signed digest"
    );
    let signed = sha256_file(&bundle);
    // Idempotent.
    sign(&bundle, &key, &[]);
    assert_eq!(sha256_file(&bundle), signed);
    // The detached envelope is the attached one.
    let env: Value = serde_json::from_slice(&std::fs::read(&envelope).unwrap()).unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");

    let state = dir.path().join("state");
    let (code, report) = verify(&bundle, &state, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["verified"], true);
    assert_eq!(report["plugin"], "cdylib-plugin");
    let statement = &report["attestation"];
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://plugpack.dev/attestation/plugin/v1"
    );
    assert_eq!(statement["predicate"]["version"], "0.3.1");
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"]
            .as_str()
            .unwrap(),
        before[0].trim_start_matches("sha256:")
    );
    assert_eq!(report["state_updated"], true);
    let recorded: Value =
        serde_json::from_slice(&std::fs::read(state.join("cdylib-plugin.json")).unwrap()).unwrap();
    assert_eq!(recorded["version"], "0.3.1");

    // Human output, and the extracted-layout form.
    let out = run_ok(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--key")
            .arg(&public)
            .arg("--state")
            .arg(&state),
    );
    assert!(out.contains("verified cdylib-plugin v0.3.1"), "{out}");
    let layout = dir.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    tar::Archive::new(std::fs::File::open(&bundle).unwrap())
        .unpack(&layout)
        .unwrap();
    let (code, report) = verify(&layout, &state, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn package_with_key_signs_a_wasm_bundle_that_verifies() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let bundle = package_fixture(
        "wasm-plugin",
        dir.path(),
        &[
            "-q",
            "--key",
            key.to_str().unwrap(),
            "--expires",
            "2999-01-01T00:00:00Z",
        ],
    );
    let (code, report) = verify(
        &bundle,
        &dir.path().join("state"),
        &["--key", public.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["attestation"]["predicate"]["targets"][0]["kind"],
        "wasm"
    );
    assert_eq!(
        report["attestation"]["predicate"]["expires"],
        "2999-01-01T00:00:00Z"
    );
    // Host API: verify, then extract only what was verified.
    let verifier = Verifier::new(key_policy(&[&public]), None);
    let out = dir.path().join("plugins");
    let report = verifier
        .verify_bundle_into(&utf8(&bundle), &utf8(&out))
        .unwrap();
    assert!(report.verified, "{report:?}");
    let path = report.artifacts[0].path.clone().unwrap();
    assert!(path.as_str().ends_with(".wasm"), "{path}");
    assert_eq!(
        sha256_file(path.as_std_path()),
        report.artifacts[0].digest.to_string()
    );
}

#[test]
fn several_keys_sign_in_any_order_with_the_same_result() {
    let dir = tempdir();
    let (a, _) = keygen(dir.path(), "a");
    let (b, _) = keygen(dir.path(), "b");
    let first = tiny_bundle(dir.path(), "first", 3);
    let second = dir.path().join("second.oci.tar");
    std::fs::copy(&first, &second).unwrap();
    let before = manifest_digests(&first);
    sign(&first, &a, &[]);
    sign(&first, &b, &[]);
    sign(&second, &b, &[]);
    sign(&second, &a, &[]);
    assert_eq!(sha256_file(&first), sha256_file(&second));
    assert_eq!(manifest_digests(&first), before);
    let info = oci::inspect(&oci::read_bundle(&utf8(&first)).unwrap()).unwrap();
    let signatures = info
        .referrers
        .iter()
        .filter(|r| r.artifact_type.as_deref() == Some("application/vnd.dsse.envelope.v1+json"))
        .count();
    assert_eq!(signatures, 2);
}

#[test]
fn multi_target_bundles_sign_the_index_and_every_manifest() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let a = dir.path().join("a.wasm");
    let b = dir.path().join("b.wasm");
    std::fs::write(&a, tiny_module(b'a')).unwrap();
    std::fs::write(&b, tiny_module(b'b')).unwrap();
    let bundle = dir.path().join("multi.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-q",
            "-o",
            bundle.to_str().unwrap(),
            "--artifact",
            a.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
            "--artifact",
            b.to_str().unwrap(),
            "--target",
            "wasm32-unknown-unknown",
        ],
    ));
    sign(&bundle, &key, &[]);
    let (code, report) = verify(
        &bundle,
        &dir.path().join("state"),
        &["--key", public.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["attestation"]["subject"].as_array().unwrap().len(),
        3
    );
}

/// Byte offsets (within the tar file) of each member's data.
fn member_offsets(bundle: &Path) -> Vec<(String, u64, u64)> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().to_string_lossy().into_owned(),
                e.raw_file_position(),
                e.header().size().unwrap(),
            )
        })
        .filter(|(_, _, size)| *size > 0)
        .collect()
}

fn flipped(bundle: &Path, dest: &Path, offset: u64) {
    let mut bytes = std::fs::read(bundle).unwrap();
    bytes[usize::try_from(offset).unwrap()] ^= 0x01;
    std::fs::write(dest, bytes).unwrap();
}

#[test]
fn flipping_a_byte_in_any_blob_or_in_index_json_is_rejected() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let bundle = tiny_bundle(dir.path(), "t", 4);
    sign(&bundle, &key, &[]);
    let verifier = Verifier::new(key_policy(&[&public]), None);
    assert!(verifier.verify_bundle(&utf8(&bundle)).unwrap().verified);
    let tampered = dir.path().join("tampered.oci.tar");
    let mut cases = 0;
    for (name, offset, size) in member_offsets(&bundle) {
        let positions: Vec<u64> = if name == "index.json" {
            (0..size).collect() // every single byte of index.json
        } else {
            vec![size / 2]
        };
        for p in positions {
            flipped(&bundle, &tampered, offset + p);
            let report = verifier.verify_bundle(&utf8(&tampered)).unwrap();
            assert!(
                !report.verified,
                "flipping byte {p} of {name} went unnoticed: {report:?}"
            );
            if name.starts_with("blobs/") {
                assert!(
                    report.codes().contains(&FailureCode::BundleInvalid),
                    "{name}: {report:?}"
                );
            }
            cases += 1;
        }
    }
    assert!(cases > 300, "only {cases} cases");
    // And through the CLI: one blob, exit 1 with the reason.
    let (name, offset, size) = member_offsets(&bundle)
        .into_iter()
        .find(|(n, _, _)| n.starts_with("blobs/"))
        .unwrap();
    flipped(&bundle, &tampered, offset + size / 2);
    let (code, report) = verify(
        &tampered,
        &dir.path().join("state"),
        &["--key", public.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{name}: {report}");
    assert_eq!(codes(&report), ["bundle-invalid"]);
}

#[test]
fn flipping_a_byte_in_every_blob_of_a_real_cdylib_bundle_is_rejected() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let bundle = package_fixture("cdylib-plugin", dir.path(), &["-q"]);
    sign(&bundle, &key, &[]);
    let verifier = Verifier::new(key_policy(&[&public]), None);
    let tampered = dir.path().join("tampered.oci.tar");
    for (name, offset, size) in member_offsets(&bundle) {
        flipped(&bundle, &tampered, offset + size / 2);
        let report = verifier.verify_bundle(&utf8(&tampered)).unwrap();
        assert!(!report.verified, "{name}: {report:?}");
    }
}

#[test]
fn a_signature_moved_from_another_bundle_is_rejected() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let victim = tiny_bundle(dir.path(), "victim", 5);
    let other = tiny_bundle(dir.path(), "other", 6);
    let envelope = dir.path().join("other.dsse.json");
    sign(&other, &key, &["--detached", envelope.to_str().unwrap()]);
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(&victim)
            .arg("--attach")
            .arg(&envelope),
    );
    let (code, report) = verify(
        &victim,
        &dir.path().join("state"),
        &["--key", public.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(codes(&report), ["subject-mismatch"], "{report}");
    // The same key signing the victim now adds a real signature: the moved one does not
    // count as "already signed", and being stale it is replaced.
    sign(&victim, &key, &[]);
    let (code, report) = verify(
        &victim,
        &dir.path().join("state"),
        &["--key", public.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["notes"], serde_json::json!([]), "{report}");
    let info = oci::inspect(&oci::read_bundle(&utf8(&victim)).unwrap()).unwrap();
    let signatures = info
        .referrers
        .iter()
        .filter(|r| r.artifact_type.as_deref() == Some("application/vnd.dsse.envelope.v1+json"))
        .count();
    assert_eq!(signatures, 1, "{info:?}");
}

#[test]
fn wrong_key_and_unsigned_bundles_are_rejected() {
    let dir = tempdir();
    let (key, _) = keygen(dir.path(), "k");
    let (_, other_public) = keygen(dir.path(), "other");
    let bundle = tiny_bundle(dir.path(), "b", 7);
    let state = dir.path().join("state");
    let trust = ["--key", other_public.to_str().unwrap()];
    let (code, report) = verify(&bundle, &state, &trust);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["no-signature"]);
    sign(&bundle, &key, &[]);
    let (code, report) = verify(&bundle, &state, &trust);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["untrusted-signer"]);
    assert!(
        !state.join("wasm-plugin.json").exists(),
        "state written on failure"
    );
    // No trust at all is a usage error, never "trust everything".
    let err = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--state")
            .arg(&state),
        2,
    );
    assert!(err.contains("no trust configured"), "{err}");
    let empty = write_policy(dir.path(), "");
    let err = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--state")
            .arg(&state)
            .arg("--policy")
            .arg(&empty),
        2,
    );
    assert!(err.contains("no [[policy]] entries"), "{err}");
}

#[test]
fn expired_signatures_and_keys_outside_their_window_are_rejected() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let bundle = tiny_bundle(dir.path(), "b", 8);
    // `sign` refuses an expiry in the past (issue 12.8): sign with one a moment ahead, then
    // let it pass.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let soon = plugpack_core::types::rfc3339(now + 2);
    sign(&bundle, &key, &["--expires", &soon]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let state = dir.path().join("state");
    let (code, report) = verify(&bundle, &state, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["signature-expired"]);
    // --force replaces the signature (new expiry).
    sign(&bundle, &key, &["--force"]);
    let (code, _) = verify(&bundle, &state, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 0);

    let public = public.to_str().unwrap();
    let policy = |window: &str| {
        write_policy(
            dir.path(),
            &format!(
                "[roots.main]\nkeys = [{public:?}]\n{window}\n\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n"
            ),
        )
    };
    let p = policy("not_after = \"2024-06-01T00:00:00Z\"");
    let (code, report) = verify(&bundle, &state, &["--policy", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["key-expired"]);
    let p = policy("not_before = \"2100-01-01T00:00:00Z\"");
    let (code, report) = verify(&bundle, &state, &["--policy", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["key-not-yet-valid"]);
    let p = policy("not_before = \"2020-01-01T00:00:00Z\"\nnot_after = \"2100-01-01T00:00:00Z\"");
    let (code, report) = verify(&bundle, &state, &["--policy", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    // Signed in 2024 (SOURCE_DATE_EPOCH): too old for a 30-day max_age.
    let p = write_policy(
        dir.path(),
        &format!(
            "[roots.main]\nkeys = [{public:?}]\n\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\nmax_age = \"30d\"\n"
        ),
    );
    let (code, report) = verify(&bundle, &state, &["--policy", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["signature-too-old"]);
}

#[test]
fn revoked_keys_thresholds_patterns_attachments_and_audit_level() {
    let dir = tempdir();
    let (a, a_pub) = keygen(dir.path(), "a");
    let (b, b_pub) = keygen(dir.path(), "b");
    let a_id = SecretKey::load(&utf8(&a), false)
        .unwrap()
        .public()
        .key_id()
        .0
        .clone();
    let bundle = tiny_bundle(dir.path(), "b", 9);
    // `package` attaches every attachment kind; drop the audit referrer and its blobs
    // (before signing; unreferenced blobs are refused) so a policy can require something
    // the bundle lacks.
    let without_audit = dir.path().join("no-audit.oci.tar");
    let mut rebuilt =
        plugpack_core::oci::rebuild(camino::Utf8Path::from_path(&bundle).unwrap()).unwrap();
    let before = rebuilt.builder.index_entries().len();
    rebuilt.builder.retain_index_entries(|d| {
        d.artifact_type()
            .as_ref()
            .is_none_or(|t| t.to_string() != "application/vnd.plugpack.audit.v1+json")
    });
    let after = rebuilt.builder.index_entries().len();
    assert_eq!(after, before - 1, "exactly one audit referrer");
    rebuilt.builder.prune_unreachable();
    rebuilt
        .builder
        .write(
            camino::Utf8Path::from_path(&without_audit).unwrap(),
            rebuilt.epoch,
        )
        .unwrap();
    std::fs::rename(&without_audit, &bundle).unwrap();
    sign(&bundle, &a, &[]);
    let state = dir.path().join("state");
    let (a_pub, b_pub) = (a_pub.to_str().unwrap(), b_pub.to_str().unwrap());
    let check = |text: String| {
        let p = write_policy(dir.path(), &text);
        verify(&bundle, &state, &["--policy", p.to_str().unwrap()])
    };
    let root = format!("[roots.main]\nkeys = [{a_pub:?}, {b_pub:?}]\n");

    let (code, report) = check(format!(
        "revoked = [{a_id:?}]\n{root}\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n"
    ));
    assert_eq!((code, codes(&report)), (1, vec!["key-revoked".to_owned()]));

    let two = format!("{root}threshold = 2\n\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n");
    let (code, report) = check(two.clone());
    assert_eq!(
        (code, codes(&report)),
        (1, vec!["threshold-not-met".to_owned()])
    );
    assert_eq!(report["signers"].as_array().unwrap().len(), 1);

    let (code, report) = check(format!(
        "{root}\n[[policy]]\npattern = \"other-*\"\nroots = [\"main\"]\n"
    ));
    assert_eq!(
        (code, codes(&report)),
        (1, vec!["no-policy-match".to_owned()])
    );

    // Most specific pattern wins: the exact name requires an audit report the bundle lacks.
    let (code, report) = check(format!(
        "{root}\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n\n[[policy]]\npattern = \"wasm-plugin\"\nroots = [\"main\"]\nrequire = [\"audit\"]\n"
    ));
    assert_eq!(
        (code, codes(&report)),
        (1, vec!["missing-attachment".to_owned()])
    );
    assert_eq!(report["policy"], "wasm-plugin");

    // Audit level reports but passes, and does not record state.
    let (code, report) = check(format!(
        "{root}\n[[policy]]\npattern = \"wasm-*\"\nroots = [\"main\"]\nrequire = [\"audit\"]\nlevel = \"audit\"\n"
    ));
    assert_eq!(code, 0, "{report}");
    assert_eq!(codes(&report), ["missing-attachment"]);
    assert_eq!(report["state_updated"], false);

    // The second signature meets the threshold.
    sign(&bundle, &b, &[]);
    let (code, report) = check(two);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signers"].as_array().unwrap().len(), 2);
}

#[test]
fn an_older_version_after_a_newer_one_is_a_rollback() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let newer = tiny_bundle(dir.path(), "newer", 10);
    let older = tiny_bundle(dir.path(), "older", 11);
    sign(&newer, &key, &["--sequence", "2000000000000"]);
    sign(&older, &key, &["--sequence", "1000000000000"]);
    let state = dir.path().join("state");
    let trust = ["--key", public.to_str().unwrap()];
    assert_eq!(verify(&older, &state, &trust).0, 0);
    assert_eq!(verify(&newer, &state, &trust).0, 0);
    let recorded = std::fs::read(state.join("wasm-plugin.json")).unwrap();
    let (code, report) = verify(&older, &state, &trust);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["rollback"]);
    assert_eq!(
        std::fs::read(state.join("wasm-plugin.json")).unwrap(),
        recorded
    );
    let mut args = trust.to_vec();
    args.push("--allow-downgrade");
    let (code, report) = verify(&older, &state, &args);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["notes"][0]["code"], "rollback");
}

/// Attaches raw bytes as a DSSE envelope referrer, bypassing every check (as an attacker
/// or a broken tool would).
fn inject_envelope(bundle: &Path, bytes: Vec<u8>) {
    let bundle = utf8(bundle);
    let info = oci::inspect(&oci::read_bundle(&bundle).unwrap()).unwrap();
    let mut rebuilt = oci::rebuild(&bundle).unwrap();
    let m = &info.manifests[0];
    let subject = oci_spec::image::DescriptorBuilder::default()
        .media_type(oci_spec::image::MediaType::ImageManifest)
        .digest(
            m.digest
                .to_string()
                .parse::<oci_spec::image::Digest>()
                .unwrap(),
        )
        .size(m.size)
        .build()
        .unwrap();
    let attachment = Attachment {
        target: m.target.clone().unwrap(),
        artifact_type: "application/vnd.dsse.envelope.v1+json".to_owned(),
        media_type: "application/vnd.dsse.envelope.v1+json".to_owned(),
        bytes,
        title: "evil.dsse.json".to_owned(),
        subject_annotations: Default::default(),
    };
    rebuilt
        .builder
        .add_referrer(&subject, &attachment, "2024-01-01T00:00:00Z")
        .unwrap();
    rebuilt.builder.write(&bundle, rebuilt.epoch).unwrap();
}

#[test]
fn malformed_envelopes_are_rejected_with_clear_reasons() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let secret = SecretKey::load(&utf8(&key), false).unwrap();
    let good = tiny_bundle(dir.path(), "good", 12);
    let envelope = dir.path().join("good.dsse.json");
    sign(&good, &key, &["--detached", envelope.to_str().unwrap()]);
    let envelope = std::fs::read(&envelope).unwrap();
    let verifier = Verifier::new(key_policy(&[&public]), None);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            envelope[..envelope.len() / 2].to_vec(),
            "not a DSSE envelope",
        ),
        (
            "non-utf8",
            serde_json::to_vec(&Envelope::sign(
                "application/vnd.in-toto+json",
                &[0xff, 0xfe, b'{'],
                &secret,
            ))
            .unwrap(),
            "not UTF-8",
        ),
        (
            "huge",
            {
                let mut v = b"{\"payload\":\"".to_vec();
                v.extend(std::iter::repeat_n(b'A', 2 * 1024 * 1024));
                v.extend_from_slice(b"\",\"payloadType\":\"x\",\"signatures\":[]}");
                v
            },
            "more than the",
        ),
        (
            "not-a-statement",
            serde_json::to_vec(&Envelope::sign(
                "application/vnd.in-toto+json",
                b"{\"hello\":1}",
                &secret,
            ))
            .unwrap(),
            "not a plugpack in-toto statement",
        ),
    ];
    for (name, bytes, expected) in cases {
        let bundle = tiny_bundle(dir.path(), name, 13);
        inject_envelope(&bundle, bytes);
        let report = verifier.verify_bundle(&utf8(&bundle)).unwrap();
        assert!(!report.verified, "{name}: {report:?}");
        assert!(
            report.failures.iter().any(|f| f.message.contains(expected)),
            "{name}: {report:?}"
        );
    }
    // The CLI refuses to attach a truncated envelope.
    let bundle = tiny_bundle(dir.path(), "attach", 14);
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &envelope[..envelope.len() / 2]).unwrap();
    let err = run_fails(
        plugpack()
            .arg("sign")
            .arg(&bundle)
            .arg("--attach")
            .arg(&truncated),
        5,
    );
    assert!(err.contains("not a DSSE envelope"), "{err}");
}

#[test]
fn bad_keys_get_clear_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let bundle = tiny_bundle(dir.path(), "b", 15);
    let keys = repo_root().join("tests/data/keys");
    let copy = |name: &str| {
        let dest = dir.path().join(name);
        std::fs::copy(keys.join(name), &dest).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        dest
    };
    let garbage = dir.path().join("garbage.key");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cases = [
        (copy("test-only-rsa.key"), "holds a RSA key"),
        (copy("test-only-p256.key"), "holds a ECDSA (e.g. P-256) key"),
        (copy("test-only-p256-sec1.key"), "holds a ECDSA (EC) key"),
        (garbage, "is not a valid PEM key"),
    ];
    for (key, expected) in cases {
        let err = run_fails(
            plugpack().arg("sign").arg(&bundle).arg("--key").arg(&key),
            5,
        );
        assert!(err.contains(expected), "{}: {err}", key.display());
        assert!(!err.contains("panicked"), "{err}");
    }
    // A public key where a private one is needed, and the reverse.
    let (private, public) = keygen(dir.path(), "k");
    let err = run_fails(
        plugpack()
            .arg("sign")
            .arg(&bundle)
            .arg("--key")
            .arg(&public),
        2,
    );
    assert!(err.contains("is a public key"), "{err}");
    let err = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--key")
            .arg(&private)
            .arg("--state")
            .arg(dir.path()),
        2,
    );
    assert!(err.contains("is a private key"), "{err}");
    let err = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--key")
            .arg(keys.join("test-only-p256.pub"))
            .arg("--state")
            .arg(dir.path()),
        5,
    );
    assert!(err.contains("ECDSA"), "{err}");
}

// ---- interop with third-party tools (run by .ci/test with PLUGPACK_INTEROP=1) ----

#[test]
#[ignore = "interop: needs python3 with securesystemslib; run by .ci/test"]
fn securesystemslib_verifies_our_envelope_with_our_key_id() {
    require_tool("python3");
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let bundle = tiny_bundle(dir.path(), "b", 16);
    let envelope = dir.path().join("env.json");
    sign(&bundle, &key, &["--detached", envelope.to_str().unwrap()]);
    let key_id = SecretKey::load(&utf8(&key), false)
        .unwrap()
        .public()
        .key_id()
        .0
        .clone();
    let script = r#"
import json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
pub = load_pem_public_key(open(sys.argv[1], "rb").read())
key = SSlibKey.from_crypto(pub)
assert key.keyid == sys.argv[3], (key.keyid, sys.argv[3])
env = Envelope.from_dict(json.load(open(sys.argv[2])))
verified = env.verify([key], 1)
assert key.keyid in verified, verified
print("ok", key.keyid)
"#;
    let out = run_ok(
        std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&public)
            .arg(&envelope)
            .arg(&key_id),
    );
    assert_eq!(out.trim(), format!("ok {key_id}"));
}

#[test]
#[ignore = "interop: needs openssl; run by .ci/test"]
fn openssl_reads_our_keys_and_its_keys_sign_with_plugpack() {
    require_tool("openssl");
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    run_ok(
        std::process::Command::new("openssl")
            .args(["pkey", "-noout", "-in"])
            .arg(&key),
    );
    let text = run_ok(
        std::process::Command::new("openssl")
            .args(["pkey", "-pubin", "-noout", "-text", "-in"])
            .arg(&public),
    );
    assert!(text.contains("ED25519"), "{text}");

    let theirs = dir.path().join("openssl.pem");
    let theirs_pub = dir.path().join("openssl.pub");
    run_ok(
        std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&theirs),
    );
    run_ok(
        std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&theirs)
            .arg("-out")
            .arg(&theirs_pub),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bundle = tiny_bundle(dir.path(), "b", 17);
    sign(&bundle, &theirs, &[]);
    let (code, report) = verify(
        &bundle,
        &dir.path().join("state"),
        &["--key", theirs_pub.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
}

#[test]
#[ignore = "interop: needs minisign; run by .ci/test"]
fn minisign_verifies_the_detached_bundle_signature() {
    require_tool("minisign");
    let dir = tempdir();
    let stem = dir.path().join("k");
    run_ok(
        plugpack()
            .args(["keygen", "-q", "--minisign", "-o"])
            .arg(&stem),
    );
    let bundle = tiny_bundle(dir.path(), "b", 18);
    sign(&bundle, &stem.with_extension("key"), &["--minisign"]);
    let minisig = PathBuf::from(format!("{}.minisig", bundle.display()));
    assert!(minisig.exists());
    let public = dir.path().join("k.minisign.pub");
    let out = run_ok(
        std::process::Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(&public)
            .arg("-m")
            .arg(&bundle),
    );
    assert!(
        out.contains("Signature and comment signature verified"),
        "{out}"
    );
    // A modified bundle fails.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    let out = run(std::process::Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(&public)
        .arg("-m")
        .arg(&bundle));
    assert!(!out.status.success());
    // minisign can sign with our secret key too (unencrypted key, -W not needed to read).
    let other = dir.path().join("other.bin");
    std::fs::write(&other, b"hello").unwrap();
    run_ok(
        std::process::Command::new("minisign")
            .arg("-S")
            .arg("-s")
            .arg(dir.path().join("k.minisign.key"))
            .arg("-m")
            .arg(&other),
    );
    run_ok(
        std::process::Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(&public)
            .arg("-m")
            .arg(&other),
    );
}
