//! Issue 12, items 8–10: time rules of `sign`/`verify`, control characters in human output,
//! unusable `keygen -o` values, key files with two PEM blocks and trust policies whose
//! thresholds cannot be met.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use camino::Utf8PathBuf;
use plugpack_core::sign::{self, SecretKey, SignOptions};

use crate::support::*;

/// The hostile annotation of the issue: set the window title, ring, clear the screen.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
/// How it must appear in human output.
const ESCAPED: &str = "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J";

fn utf8(p: &Path) -> Utf8PathBuf {
    Utf8PathBuf::from_path_buf(p.to_owned()).unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let stem = dir.join(name);
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    (stem.with_extension("key"), stem.with_extension("pub"))
}

/// `package --artifact` of a 13-byte wasm module for the fixture at `manifest`.
fn tiny_bundle(dir: &Path, manifest: &Path) -> PathBuf {
    let module = dir.join("tiny.wasm");
    std::fs::write(
        &module,
        [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', 42],
    )
    .unwrap();
    let out = dir.join("tiny.oci.tar");
    run_ok(
        plugpack()
            .args(["package", "-q", "--locked", "--offline", "--manifest-path"])
            .arg(manifest)
            .arg("--target-dir")
            .arg(fixture_target_dir())
            .arg("-o")
            .arg(&out)
            .arg("--artifact")
            .arg(&module)
            .args(["--target", "wasm32-wasip1"]),
    );
    out
}

/// A copy of the wasm fixture whose plugpack config adds the hostile annotation.
fn hostile_fixture(dir: &Path) -> PathBuf {
    let src = repo_root().join("tests/fixtures/wasm-plugin");
    let dest = dir.join("wasm-plugin");
    std::fs::create_dir_all(dest.join("src")).unwrap();
    for file in ["Cargo.lock", "src/lib.rs"] {
        std::fs::copy(src.join(file), dest.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(src.join("Cargo.toml")).unwrap();
    let manifest = manifest.replace(
        "[package.metadata.plugpack]\n",
        "[package.metadata.plugpack]\nannotations = { \"org.example.note\" = \"\\u001b]0;pwned\\u0007\\u001b[2J\" }\n",
    );
    assert!(manifest.contains("annotations"), "fixture layout changed");
    std::fs::write(dest.join("Cargo.toml"), manifest).unwrap();
    dest.join("Cargo.toml")
}

fn assert_no_control(text: &str, what: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what} passes control characters to the terminal: {text:?}"
    );
}

#[test]
fn hostile_annotations_and_key_ids_are_escaped_in_human_output_issue_12() {
    let dir = tempdir();
    let manifest = hostile_fixture(dir.path());
    let bundle = tiny_bundle(dir.path(), &manifest);

    // JSON keeps the value exactly (serde escapes it).
    let json = run_ok(plugpack().args(["inspect", "--json"]).arg(&bundle));
    assert_eq!(
        json_lines(&json)[0]["manifests"][0]["annotations"]["org.example.note"],
        HOSTILE
    );
    // Human output shows it, escaped.
    let human = run_ok(plugpack().arg("inspect").arg(&bundle));
    assert_no_control(&human, "inspect");
    assert!(
        human.contains(&format!("org.example.note = {ESCAPED}")),
        "{human}"
    );

    // verify: an attached envelope whose key id is hostile is named in a failure.
    let envelope = dir.path().join("evil.dsse.json");
    std::fs::write(
        &envelope,
        serde_json::json!({
            "payloadType": "application/vnd.in-toto+json",
            "payload": "e30=",
            "signatures": [{"keyid": format!("abc{HOSTILE}\nerror: forged line"), "sig": "AAAA"}],
        })
        .to_string(),
    )
    .unwrap();
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(&bundle)
            .arg("--attach")
            .arg(&envelope),
    );
    let (_, public) = keygen(dir.path(), "k");
    let out = run(plugpack()
        .arg("verify")
        .arg(&bundle)
        .arg("--key")
        .arg(&public)
        .arg("--state")
        .arg(dir.path().join("state")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_no_control(&stderr, "verify");
    assert!(
        stderr.contains(&format!("abc{ESCAPED}\\nerror: forged line")),
        "{stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("error: forged")),
        "{stderr}"
    );
}

#[test]
fn hostile_advisory_titles_are_escaped_in_the_human_audit_issue_12() {
    let dir = tempdir();
    let db = dir.path().join("db");
    copy_tree(&repo_root().join("tests/data/advisory-db"), &db);
    let advisory = db.join("crates/smallvec/RUSTSEC-2021-0003.md");
    let text = std::fs::read_to_string(&advisory).unwrap();
    let text = text.replace(
        "# Buffer overflow in SmallVec::insert_many",
        &format!("# Buffer overflow{HOSTILE}"),
    );
    std::fs::write(&advisory, text).unwrap();
    let out = run(&mut on_fixture(
        "audit",
        "audit-plugins",
        &["-p", "vuln-direct", "--db", db.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_no_control(&stdout, "audit");
    assert!(
        stdout.contains(&format!("Buffer overflow{ESCAPED}")),
        "{stdout}"
    );
    // `package` prints the same finding as one warning line on stderr: escaped too.
    let out = run(&mut on_fixture(
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
            dir.path().join("b.oci.tar").to_str().unwrap(),
        ],
    ));
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_no_control(&stderr, "package");
    assert!(
        stderr.contains(&format!("Buffer overflow{ESCAPED}")),
        "{stderr}"
    );
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

#[test]
fn signing_refuses_past_expiry_and_future_source_date_epoch_issue_12() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let bundle = tiny_bundle(dir.path(), &fixture_manifest("wasm-plugin"));
    let before = sha256_file(&bundle);
    let err = run_fails(
        plugpack()
            .arg("sign")
            .arg(&bundle)
            .arg("--key")
            .arg(&key)
            .args(["--expires", "2025-01-01T00:00:00Z"]),
        2,
    );
    assert!(
        err.contains("--expires 2025-01-01T00:00:00Z is not after"),
        "{err}"
    );
    let future = (now() + 86_400).to_string();
    let err = run_fails(
        plugpack()
            .arg("sign")
            .arg(&bundle)
            .arg("--key")
            .arg(&key)
            .env("SOURCE_DATE_EPOCH", &future),
        2,
    );
    assert!(err.contains("SOURCE_DATE_EPOCH"), "{err}");
    assert_eq!(
        sha256_file(&bundle),
        before,
        "a refused sign changed the bundle"
    );

    // A signature from the future made with the library (its clock set a day ahead) is
    // rejected by the real `verify`, with or without a max_age.
    let mut env = std::collections::BTreeMap::new();
    env.insert("SOURCE_DATE_EPOCH".to_owned(), future.clone());
    let ctx = plugpack_core::Ctx::with_env(env, std::sync::Arc::new(plugpack_core::SilentReporter));
    let secret = SecretKey::load(&utf8(&key), false).unwrap();
    sign::sign_bundle_with(
        &utf8(&bundle),
        &secret,
        &SignOptions {
            now: Some(now() + 86_400),
            ..SignOptions::default()
        },
        &ctx,
    )
    .unwrap();
    let public = public.to_str().unwrap();
    for max_age in ["", "max_age = \"30d\"\n"] {
        let policy = dir.path().join("trust.toml");
        std::fs::write(
            &policy,
            format!(
                "[roots.main]\nkeys = [{public:?}]\n\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n{max_age}"
            ),
        )
        .unwrap();
        let out = run(plugpack()
            .args(["verify", "--format", "json"])
            .arg(&bundle)
            .arg("--policy")
            .arg(&policy)
            .arg("--state")
            .arg(dir.path().join("state")));
        let report = json_lines(&String::from_utf8(out.stdout).unwrap())
            .pop()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{report}");
        assert_eq!(
            report["failures"][0]["code"], "signed-in-future",
            "{max_age}: {report}"
        );
    }
}

#[test]
fn keygen_refuses_outputs_that_name_no_file_issue_12() {
    let dir = tempdir();
    let sub = dir.path().join("keys");
    std::fs::create_dir(&sub).unwrap();
    let dot_key = format!("{}/.key", sub.display());
    for (arg, expected) in [("", "empty"), (dot_key.as_str(), "names a directory")] {
        let err = run_fails(
            plugpack()
                .current_dir(dir.path())
                .args(["keygen", "-o", arg]),
            2,
        );
        assert!(
            err.contains("keygen -o") && err.contains(expected),
            "{arg:?}: {err}"
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.extend(
        std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name()),
    );
    assert_eq!(left, ["keys"], "a refused keygen wrote files");
    // A directory (`keys/` or the existing `keys`) is not refused: like every `-o` (issue
    // 10) it receives the default names, never hidden `.key`/`.pub` files.
    run_ok(plugpack().current_dir(dir.path()).args([
        "keygen",
        "-o",
        &format!("{}/", sub.display()),
    ]));
    let mut written: Vec<_> = std::fs::read_dir(&sub)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["signing.key", "signing.pub"]);
}

#[test]
fn key_files_with_two_pem_blocks_say_so_issue_12() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let bundle = tiny_bundle(dir.path(), &fixture_manifest("wasm-plugin"));
    let (a, a_pub) = keygen(dir.path(), "a");
    let (b, b_pub) = keygen(dir.path(), "b");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let both = dir.path().join("both.key");
    std::fs::write(&both, read(&a) + &read(&b)).unwrap();
    std::fs::set_permissions(&both, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A public block pasted above the private one.
    let mixed = dir.path().join("mixed.key");
    std::fs::write(&mixed, read(&a_pub) + &read(&a)).unwrap();
    std::fs::set_permissions(&mixed, std::fs::Permissions::from_mode(0o600)).unwrap();
    for key in [&both, &mixed] {
        let err = run_fails(plugpack().arg("sign").arg(&bundle).arg("--key").arg(key), 5);
        assert!(err.contains("2 PEM blocks"), "{}: {err}", key.display());
    }
    let pubs = dir.path().join("both.pub");
    std::fs::write(&pubs, read(&a_pub) + &read(&b_pub)).unwrap();
    let err = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--key")
            .arg(&pubs)
            .arg("--state")
            .arg(dir.path().join("state")),
        5,
    );
    assert!(err.contains("2 PEM blocks"), "{err}");
}

#[test]
fn a_threshold_that_distinct_keys_cannot_meet_is_a_policy_error_issue_12() {
    let dir = tempdir();
    let bundle = tiny_bundle(dir.path(), &fixture_manifest("wasm-plugin"));
    let (key, public) = keygen(dir.path(), "k");
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(&bundle)
            .arg("--key")
            .arg(&key),
    );
    let copy = dir.path().join("copy-of-k.pub");
    std::fs::copy(&public, &copy).unwrap();
    let policy = dir.path().join("plugpack-trust.toml");
    std::fs::write(
        &policy,
        format!(
            "[roots.main]\nkeys = [{:?}, {:?}]\nthreshold = 2\n\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n",
            public.to_str().unwrap(),
            copy.to_str().unwrap()
        ),
    )
    .unwrap();
    let err = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--policy")
            .arg(&policy)
            .arg("--state")
            .arg(dir.path().join("state")),
        2,
    );
    assert!(err.contains(policy.to_str().unwrap()), "{err}");
    assert!(
        err.contains("`threshold` 2 can never be met") && err.contains("1 distinct key"),
        "{err}"
    );
}
