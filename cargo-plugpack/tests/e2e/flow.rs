//! The whole release story on one real plugin, through the CLI only: keygen → package (build,
//! fingerprint, SBOM, audit, bundle, sign) → verify under a policy that requires every
//! attachment → extract → the extracted file is the fingerprinted, SBOM-described artifact.

use serde_json::Value;

use crate::support::*;

#[test]
fn package_sign_verify_extract_on_the_cdylib_fixture() {
    let dir = tempdir();
    let stem = dir.path().join("release");
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    let db = repo_root().join("tests/data/advisory-db");
    let bundle = dir.path().join("cdylib-plugin.oci.tar");
    let out = run_ok(&mut on_fixture(
        "package",
        "cdylib-plugin",
        &[
            "--profile",
            "dev",
            "--message-format",
            "json",
            "--db",
            db.to_str().unwrap(),
            "--key",
            stem.with_extension("key").to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
        ],
    ));
    let written = json_lines(&out)
        .into_iter()
        .find(|l| l["reason"] == "bundle-written")
        .unwrap();
    let manifest = &written["info"]["manifests"][0];
    let ann = &manifest["annotations"];
    // The pinned database has a malformed file (a warning): `warned`, not `clean`.
    assert_eq!(ann["dev.plugpack.audit.verdict"], "warned");
    assert!(
        ann["dev.plugpack.abi.fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let kinds: Vec<&str> = written["info"]["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["artifact_type"].as_str().unwrap())
        .collect();
    for kind in [
        "application/vnd.cyclonedx+json",
        "application/vnd.plugpack.abi.v1+json",
        "application/vnd.plugpack.audit.v1+json",
        "application/vnd.dsse.envelope.v1+json",
    ] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            1,
            "{kind}: {kinds:?}"
        );
    }

    // A policy requiring every attachment accepts it, and the signed statement names them all.
    let policy = dir.path().join("plugpack-trust.toml");
    std::fs::write(
        &policy,
        "[roots.release]\nkeys = [\"release.pub\"]\n\n[[policy]]\npattern = \"cdylib-*\"\nroots = [\"release\"]\nrequire = [\"signature\", \"sbom\", \"abi\", \"audit\"]\n",
    )
    .unwrap();
    let state = dir.path().join("state");
    let out = run_ok(
        plugpack()
            .args(["verify", "--format", "json"])
            .arg(&bundle)
            .arg("--policy")
            .arg(&policy)
            .arg("--state")
            .arg(&state),
    );
    let report: Value = json_lines(&out).pop().unwrap();
    assert_eq!(report["failures"], serde_json::json!([]), "{report:#}");
    assert!(state.join("cdylib-plugin.json").exists());

    // The extracted file is the artifact the SBOM and the fingerprint describe.
    let files = dir.path().join("files");
    run_ok(plugpack().arg("extract").arg(&bundle).arg("-o").arg(&files));
    let so = files.join("x86_64-unknown-linux-gnu/libcdylib_plugin.so");
    let digest = sha256_file(&so);
    assert_eq!(manifest["layers"][0]["digest"], digest.as_str());
    let sbom = &json_blobs(&bundle, |v| v["bomFormat"] == "CycloneDX")[0];
    assert_eq!(
        format!(
            "sha256:{}",
            sbom["metadata"]["component"]["hashes"][0]["content"]
                .as_str()
                .unwrap()
        ),
        digest
    );
    let names: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["itoa", "memchr"],
        "exactly the compiled dependencies"
    );
    let fingerprint = run_ok(
        plugpack()
            .args(["fingerprint", "--message-format", "json", "--artifact"])
            .arg(&so),
    );
    let doc = &json_lines(&fingerprint)[0];
    assert_eq!(doc["schema"], "plugpack-abi/1");
    assert_eq!(
        doc["fingerprint"], ann["dev.plugpack.abi.fingerprint"],
        "{doc:#}"
    );

    // Anti-rollback: the same bundle again is fine; verification is repeatable.
    run_ok(
        plugpack()
            .args(["verify", "-q"])
            .arg(&bundle)
            .arg("--policy")
            .arg(&policy)
            .arg("--state")
            .arg(&state),
    );
}
