//! Every bad-input case of issue 16 built as a real repository: our `fetch` rejects each
//! with its own code and writes nothing; with `PLUGPACK_INTEROP=1`, python-tuf's client
//! rejects the same repositories.

use std::path::{Path, PathBuf};
use std::process::Output;

use camino::Utf8PathBuf;
use plugpack_core::sign::SecretKey;
use plugpack_core::tuf::metadata::{self, MetaFile, Role as _};
use plugpack_core::tuf::repo::Repository;

use super::{TARGET, fetch, fixture, published, python_client};
use crate::support::{self, run, run_ok};

/// Exit 1, `[code]` on stderr, nothing at `out` and no partial file beside it.
pub(crate) fn assert_rejected(result: &Output, code: &str, out: &Path) {
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{code}: {stderr}");
    assert!(
        stderr.contains(&format!("[{code}]")),
        "want [{code}]: {stderr}"
    );
    assert!(!out.exists(), "{code}: {} exists", out.display());
    if let Some(parent) = out.parent().filter(|p| p.exists()) {
        let leftovers: Vec<_> = std::fs::read_dir(parent)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".plugpack-fetch")
            })
            .collect();
        assert!(leftovers.is_empty(), "{code}: {leftovers:?}");
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn key(name: &str) -> SecretKey {
    let path = Utf8PathBuf::from_path_buf(fixture().key(name)).unwrap();
    SecretKey::load(&path, false).unwrap()
}

fn open(repo: &Path, at: i64) -> Repository {
    Repository::open(camino::Utf8Path::from_path(repo).unwrap(), at).unwrap()
}

const DAY: i64 = 86_400;

/// One bad repository: where it is, the state a client trusted before, the code.
struct Case {
    name: &'static str,
    repo: PathBuf,
    state: PathBuf,
    code: &'static str,
    /// What python-tuf's client does with it (`None`: rejects).
    python_accepts: bool,
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn target_file(repo: &Path) -> PathBuf {
    let hex = support::sha256_file(&fixture().bundle);
    repo.join(format!(
        "targets/{}.{TARGET}",
        hex.strip_prefix("sha256:").unwrap()
    ))
}

fn write_timestamp_signed_by(repo: &Path, signer: &SecretKey) {
    let mut r = open(repo, now());
    r.timestamp.version += 1;
    let bytes = metadata::sign(&r.timestamp, &[signer]).unwrap();
    std::fs::write(repo.join("timestamp.json"), bytes).unwrap();
}

fn build_cases(base: &Path) -> Vec<Case> {
    let good = published(&base.join("good"));
    let mut cases = Vec::new();
    let mut case = |name: &'static str,
                    code: &'static str,
                    python_accepts: bool,
                    with_state: bool,
                    spoil: &dyn Fn(&Path, &Path)| {
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let repo = dir.join("repo");
        copy_dir(&good, &repo);
        let state = dir.join("state");
        let root = repo.join("1.root.json");
        if with_state {
            let out = dir.join("first.oci.tar");
            run_ok(&mut fetch(repo.to_str().unwrap(), &root, &state, &out));
        }
        spoil(&repo, &state);
        cases.push(Case {
            name,
            repo,
            state,
            code,
            python_accepts,
        });
    };
    case(
        "tampered-target",
        "target-hash-mismatch",
        false,
        false,
        &|repo, _| {
            let path = target_file(repo);
            let mut bytes = std::fs::read(&path).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x55;
            std::fs::write(&path, bytes).unwrap();
        },
    );
    case(
        "longer-target",
        "target-too-long",
        false,
        false,
        &|repo, _| {
            let path = target_file(repo);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend_from_slice(&[0u8; 4096]);
            std::fs::write(&path, bytes).unwrap();
        },
    );
    case(
        "expired-timestamp",
        "expired-timestamp",
        false,
        false,
        &|repo, _| {
            open(repo, now() - 3 * DAY)
                .publish_timestamp(&key("timestamp"))
                .unwrap();
        },
    );
    case(
        "expired-snapshot",
        "expired-snapshot",
        false,
        false,
        &|repo, _| {
            open(repo, now() - 30 * DAY)
                .publish_snapshot(&key("snapshot"))
                .unwrap();
            // `publish_snapshot` updated the timestamp's listing only in memory: re-open and
            // point a fresh timestamp at the expired snapshot.
            let mut r = open(repo, now());
            let snap: serde_json::Value =
                serde_json::from_slice(&std::fs::read(repo.join("snapshot.json")).unwrap())
                    .unwrap();
            let v = snap["signed"]["version"].as_u64().unwrap();
            r.timestamp.meta.insert(
                "snapshot.json".into(),
                MetaFile {
                    version: v,
                    length: None,
                    hashes: None,
                },
            );
            r.publish_timestamp(&key("timestamp")).unwrap();
        },
    );
    case(
        "expired-targets",
        "expired-targets",
        false,
        false,
        &|repo, _| {
            let mut r = open(repo, now() - 200 * DAY);
            r.publish_targets(&key("targets")).unwrap();
            let listing = r.snapshot.meta["targets.json"].clone();
            drop(r);
            let mut r = open(repo, now());
            r.snapshot.meta.insert("targets.json".into(), listing);
            r.publish_snapshot(&key("snapshot")).unwrap();
            r.publish_timestamp(&key("timestamp")).unwrap();
        },
    );
    case("expired-root", "expired-root", false, false, &|repo, _| {
        let mut r = open(repo, now());
        r.root.version += 1;
        r.root.expires = plugpack_core::types::rfc3339(now() - DAY);
        r.write_root(&[&key("root")]).unwrap();
    });
    case("mix-and-match", "mix-and-match", false, true, &|repo, _| {
        let mut r = open(repo, now());
        r.snapshot.meta.insert(
            "targets.json".into(),
            MetaFile {
                version: 1,
                length: None,
                hashes: None,
            },
        );
        r.publish_snapshot(&key("snapshot")).unwrap();
        r.publish_timestamp(&key("timestamp")).unwrap();
    });
    case(
        "rollback-timestamp",
        "rollback",
        false,
        true,
        &|repo, state| {
            // The client trusts timestamp v3; the server goes back to v2.
            let old = std::fs::read(repo.join("timestamp.json")).unwrap();
            open(repo, now())
                .publish_timestamp(&key("timestamp"))
                .unwrap();
            let out = state.parent().unwrap().join("second.oci.tar");
            run_ok(&mut fetch(
                repo.to_str().unwrap(),
                &repo.join("1.root.json"),
                state,
                &out,
            ));
            std::fs::write(repo.join("timestamp.json"), old).unwrap();
        },
    );
    case("rollback-snapshot", "rollback", false, true, &|repo, _| {
        let mut r = open(repo, now());
        r.timestamp.meta.insert(
            "snapshot.json".into(),
            MetaFile {
                version: 1,
                length: None,
                hashes: None,
            },
        );
        r.publish_timestamp(&key("timestamp")).unwrap();
    });
    case("rollback-root", "rollback", false, false, &|repo, _| {
        std::fs::copy(repo.join("1.root.json"), repo.join("2.root.json")).unwrap();
    });
    case(
        "root-skips-a-version",
        "root-version-skip",
        false,
        false,
        &|repo, _| {
            let mut r = open(repo, now());
            r.root.version += 2;
            r.write_root(&[&key("root")]).unwrap();
            std::fs::rename(repo.join("3.root.json"), repo.join("2.root.json")).unwrap();
        },
    );
    case(
        "below-threshold",
        "threshold-not-met",
        false,
        false,
        &|repo, _| {
            write_timestamp_signed_by(repo, &key("other"));
        },
    );
    case(
        "key-not-for-role",
        "revoked-key",
        false,
        false,
        &|repo, _| {
            write_timestamp_signed_by(repo, &key("snapshot"));
        },
    );
    // A delegated role named to escape the state directory (and the repository URL).
    // python-tuf URL-encodes role names and finds the target at the top level first.
    case(
        "role-name-traversal",
        "metadata-invalid",
        true,
        false,
        &|repo, _| {
            let mut r = open(repo, now());
            let targets_id = r.root.roles["targets"].keyids[0].clone();
            r.targets.delegations = Some(plugpack_core::tuf::Delegations {
                keys: std::collections::BTreeMap::from([(
                    targets_id.clone(),
                    r.root.keys[&targets_id].clone(),
                )]),
                roles: vec![plugpack_core::tuf::DelegatedRole {
                    name: "../../escape".into(),
                    keyids: vec![targets_id],
                    threshold: 1,
                    terminating: false,
                    paths: Some(vec!["*".into()]),
                    path_hash_prefixes: None,
                }],
            });
            r.publish_targets(&key("targets")).unwrap();
            r.publish_snapshot(&key("snapshot")).unwrap();
            r.publish_timestamp(&key("timestamp")).unwrap();
        },
    );
    // The timestamp key was rotated out (root v2); its old key still signs a timestamp.
    case(
        "revoked-timestamp-key",
        "revoked-key",
        false,
        false,
        &|repo, _| {
            let (old, new, root) = (key("timestamp"), key("targets2"), key("root"));
            let (targets, snapshot) = (key("targets"), key("snapshot"));
            plugpack_core::tuf::admin::rotate(
                camino::Utf8Path::from_path(repo).unwrap(),
                "timestamp",
                old.public(),
                &new,
                &[&root],
                &plugpack_core::tuf::repo::OnlineKeys {
                    targets: Some(&targets),
                    snapshot: Some(&snapshot),
                    timestamp: None,
                },
                now(),
            )
            .unwrap();
            write_timestamp_signed_by(repo, &old);
        },
    );
    case(
        "non-canonical",
        "non-canonical",
        false,
        false,
        &|repo, _| {
            let r = open(repo, now());
            let mut signed = serde_json::to_value(&r.timestamp).unwrap();
            signed["version"] = (r.timestamp.version() + 1).into();
            let pretty = serde_json::to_string_pretty(&signed).unwrap();
            let k = key("timestamp");
            let sig = metadata::hex(&k.sign(pretty.as_bytes()));
            let file = format!(
                "{{\"signatures\":[{{\"keyid\":\"{}\",\"sig\":\"{sig}\"}}],\"signed\":{pretty}}}",
                k.public().key_id()
            );
            drop(r);
            std::fs::write(repo.join("timestamp.json"), file).unwrap();
        },
    );
    // python's json module keeps the last of duplicate keys, and the signature covers the
    // canonical form of that reading: python-tuf accepts this file, we do not.
    case(
        "duplicate-keys",
        "duplicate-key",
        true,
        false,
        &|repo, _| {
            let text = std::fs::read_to_string(repo.join("timestamp.json")).unwrap();
            let spoiled = text.replacen(
                "\"_type\":\"timestamp\"",
                "\"_type\":\"root\",\"_type\":\"timestamp\"",
                1,
            );
            assert_ne!(text, spoiled);
            std::fs::write(repo.join("timestamp.json"), spoiled).unwrap();
        },
    );
    case("unknown-role", "unknown-role", false, false, &|repo, _| {
        let mut r = open(repo, now());
        r.root.version += 1;
        let targets = r.root.roles["targets"].clone();
        r.root.roles.insert("mirror".into(), targets);
        r.write_root(&[&key("root")]).unwrap();
    });
    case(
        "snapshot-not-as-pinned",
        "metadata-hash-mismatch",
        false,
        false,
        &|repo, _| {
            let path = repo.join("2.snapshot.json");
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.push(b' ');
            std::fs::write(&path, bytes).unwrap();
        },
    );
    cases
}

#[test]
fn every_bad_repository_is_rejected_with_its_code_and_nothing_written() {
    let base = support::tempdir();
    let cases = build_cases(base.path());
    for case in &cases {
        let out = base.path().join(case.name).join("out/plugin.oci.tar");
        let result = run(&mut fetch(
            case.repo.to_str().unwrap(),
            &case.repo.join("1.root.json"),
            &case.state,
            &out,
        ));
        assert_rejected(&result, case.code, &out);
        eprintln!("{}: rejected [{}]", case.name, case.code);
    }
}

#[test]
#[ignore = "interop: needs python3 with tuf (.ci/requirements.txt); run by .ci/test"]
fn python_tuf_rejects_the_same_bad_repositories() {
    let base = support::tempdir();
    let cases = build_cases(base.path());
    for case in &cases {
        // python-tuf keeps the same file names in its metadata directory.
        let state = base.path().join(case.name).join("py-state");
        if case.state.exists() {
            copy_dir(&case.state, &state);
        }
        let verdict = python_client(
            case.repo.to_str().unwrap(),
            &case.repo.join("1.root.json"),
            &state,
            &base.path().join(case.name).join("py-out"),
        );
        eprintln!("{}: python-tuf says {verdict}", case.name);
        if case.python_accepts {
            assert!(verdict.starts_with("ok "), "{}: {verdict}", case.name);
        } else {
            assert!(verdict.starts_with("rejected "), "{}: {verdict}", case.name);
        }
    }
}
