//! `merge` of a native (cdylib) and a wasm bundle of one plugin, each signed on its own
//! "runner", then `verify` with the per-target signatures: accepted when together they cover
//! every plugin manifest, refused when one target's signature is missing or untrusted, or
//! when the policy requires `index-signature`; and the merged index in a real registry.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::registry::{Registry, keygen, pull, push, sign, utf8};
use crate::support::*;

/// Serialises this file's fixture builds: two tests building the fixture into the shared
/// target directory at once can see an artifact rewritten while it is read.
static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The cdylib fixture packaged for `target` (the host when `None`), signed with `key` if given.
fn target_bundle(dir: &Path, name: &str, target: Option<&str>, key: Option<&Path>) -> PathBuf {
    let _serial = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let out = dir.join(format!("{name}.oci.tar"));
    let mut args = vec!["-q", "--profile", "dev", "-o", out.to_str().unwrap()];
    if let Some(t) = target {
        args.extend(["--target", t]);
    }
    run_ok(&mut on_fixture("package", "cdylib-plugin", &args));
    if let Some(key) = key {
        sign(&out, key);
    }
    out
}

fn merge(dir: &Path, name: &str, inputs: &[&Path]) -> PathBuf {
    let out = dir.join(format!("{name}.oci.tar"));
    run_ok(
        plugpack()
            .args(["merge", "-q"])
            .args(inputs)
            .arg("-o")
            .arg(&out),
    );
    out
}

/// `verify --format json` with `args` (trust); the exit code and the failure codes.
fn verify(bundle: &Path, args: &[&str]) -> (i32, Vec<String>, Value) {
    let out = run(plugpack()
        .args(["verify", "--format", "json"])
        .arg(bundle)
        .args(args));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report = json_lines(&stdout).pop().unwrap_or(Value::Null);
    let codes = report["failures"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (out.status.code().unwrap(), codes, report)
}

fn wasm_manifest(bundle: &Path) -> String {
    let info =
        plugpack_core::oci::inspect(&plugpack_core::oci::read_bundle(&utf8(bundle)).unwrap())
            .unwrap();
    info.manifests
        .iter()
        .find(|m| m.target.as_deref() == Some("wasm32-wasip1"))
        .unwrap()
        .digest
        .to_string()
}

#[test]
fn per_target_signatures_of_merged_bundles_verify_and_a_missing_or_untrusted_one_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k");
    let (other_key, _) = keygen(d, "other");
    let trust = ["--key", public.to_str().unwrap()];
    let linux = target_bundle(d, "linux", None, Some(&key));
    let wasm = target_bundle(d, "wasm", Some("wasm32-wasip1"), Some(&key));

    // Both targets signed separately by a trusted key: the set covers every manifest.
    let merged = merge(d, "all", &[&linux, &wasm]);
    let (code, codes, report) = verify(&merged, &trust);
    assert_eq!((code, codes.as_slice()), (0, &[][..]), "{report}");
    assert_eq!(report["signers"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["artifacts"].as_array().unwrap().len(), 2, "{report}");

    // The wasm target's signature dropped (merged from an unsigned bundle): refused, naming
    // the uncovered manifest.
    let unsigned = target_bundle(d, "wasm-unsigned", Some("wasm32-wasip1"), None);
    let dropped = merge(d, "dropped", &[&linux, &unsigned]);
    let (code, codes, report) = verify(&dropped, &trust);
    assert_eq!(code, 1, "{report}");
    assert_eq!(codes, ["threshold-not-met"], "{report}");
    let message = report["failures"][0]["message"].as_str().unwrap();
    assert!(message.contains(&wasm_manifest(&dropped)), "{message}");

    // The wasm target signed by a key the policy does not trust: refused.
    let foreign = target_bundle(d, "wasm-foreign", Some("wasm32-wasip1"), None);
    sign(&foreign, &other_key);
    let untrusted = merge(d, "untrusted", &[&linux, &foreign]);
    let (code, codes, report) = verify(&untrusted, &trust);
    assert_eq!(code, 1, "{report}");
    assert_eq!(codes, ["untrusted-signer", "threshold-not-met"], "{report}");

    // An attachment added to the image index (which no per-target statement could cover)
    // is refused: the bundle reader accepts referrers of plugin manifests (and of other
    // referrers) only.
    let extra = d.join("index-attachment.oci.tar");
    {
        let mut rebuilt = plugpack_core::oci::rebuild(&utf8(&merged)).unwrap();
        let index = rebuilt
            .builder
            .index_entries()
            .iter()
            .find(|e| e.media_type().to_string().contains("index"))
            .unwrap()
            .clone();
        let attachment = plugpack_core::oci::Attachment {
            target: String::new(),
            artifact_type: "application/vnd.cyclonedx+json".to_owned(),
            media_type: "application/vnd.cyclonedx+json".to_owned(),
            bytes: br#"{"bomFormat":"CycloneDX"}"#.to_vec(),
            title: "extra.cdx.json".to_owned(),
            subject_annotations: Default::default(),
        };
        rebuilt
            .builder
            .add_referrer(&index, &attachment, "2024-01-02T03:04:05Z")
            .unwrap();
        rebuilt.builder.write(&utf8(&extra), rebuilt.epoch).unwrap();
    }
    let (code, codes, report) = verify(&extra, &trust);
    assert_eq!(code, 1, "{report}");
    assert_eq!(codes, ["bundle-invalid"], "{report}");

    // A policy requiring `index-signature` refuses per-target statements until the merged
    // index itself is signed.
    let policy = d.join("plugpack-trust.toml");
    std::fs::write(
        &policy,
        format!(
            "[roots.release]\nkeys = [\"{}\"]\nthreshold = 1\n\n[[policy]]\npattern = \"*\"\n\
             roots = [\"release\"]\nrequire = [\"index-signature\"]\n",
            public.display()
        ),
    )
    .unwrap();
    let by_policy = ["--policy", policy.to_str().unwrap()];
    let (code, codes, report) = verify(&merged, &by_policy);
    assert_eq!(code, 1, "{report}");
    assert_eq!(codes, ["subject-mismatch", "subject-mismatch"], "{report}");
    assert!(
        report["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("requires index-signature"),
        "{report}"
    );
    let signed = d.join("signed.oci.tar");
    std::fs::copy(&merged, &signed).unwrap();
    sign(&signed, &key);
    let (code, codes, report) = verify(&signed, &by_policy);
    assert_eq!((code, codes.as_slice()), (0, &[][..]), "{report}");
}

#[test]
#[ignore = "interop: needs docker-registry and skopeo; run by .ci/test"]
fn merged_linux_and_wasm_bundles_list_both_platforms_and_verify_after_a_round_trip() {
    require_tool("skopeo");
    let registry = Registry::start();
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k");
    let linux = target_bundle(d, "linux", None, Some(&key));
    let wasm = target_bundle(d, "wasm", Some("wasm32-wasip1"), Some(&key));
    let merged = merge(d, "all", &[&linux, &wasm]);
    let repo = format!("{}/m/cdylib", registry.addr());
    assert!(push(&merged, &repo, &[]).status.success());

    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{repo}:0.3.1"))
        .output()
        .unwrap();
    assert!(raw.status.success(), "{raw:?}");
    let index: Value = serde_json::from_slice(&raw.stdout).unwrap();
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms.len(), 2, "{index}");
    assert!(platforms[0].starts_with("linux/"), "{platforms:?}");
    assert_eq!(platforms[1], "wasip1/wasm");

    // Pulled back by tag, the per-target signatures still verify.
    let pulled = d.join("pulled.oci.tar");
    assert!(
        pull(&format!("{repo}:0.3.1"), &pulled, &[])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&merged).unwrap()
    );
    let (code, codes, report) = verify(&pulled, &["--key", public.to_str().unwrap()]);
    assert_eq!((code, codes.as_slice()), (0, &[][..]), "{report}");
}
