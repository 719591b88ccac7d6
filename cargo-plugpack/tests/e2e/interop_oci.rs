//! Interop: skopeo (containers/image) reads and copies our bundles and rejects corrupted ones.

use crate::bundle::rewrite_bundle;
use crate::support::*;

fn skopeo(args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("skopeo")
        .args(args)
        .output()
        .unwrap();
    eprintln!("skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
#[ignore = "interop: needs skopeo; run by .ci/test"]
fn skopeo_reads_and_copies_cdylib_and_wasm_bundles() {
    require_tool("skopeo");
    for (fixture, tag) in [("cdylib-plugin", "0.3.1"), ("wasm-plugin", "1.2.0")] {
        let dir = tempdir();
        let bundle = package_fixture(fixture, dir.path(), &[]);
        let src = format!("oci-archive:{}:{tag}", bundle.display());
        let raw = skopeo(&["inspect", "--raw", &src]);
        assert!(raw.status.success(), "{fixture}: skopeo inspect failed");
        let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
        let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();

        let out_dir = dir.path().join("copied");
        let copy = skopeo(&["copy", &src, &format!("dir:{}", out_dir.display())]);
        assert!(copy.status.success(), "{fixture}: skopeo copy failed");
        // dir: stores each blob under its hex digest; the layer bytes equal the built artifact.
        let hex = layer_digest.trim_start_matches("sha256:");
        let copied = out_dir.join(hex);
        assert_eq!(sha256_file(&copied), layer_digest);
        let extract_dir = dir.path().join("x");
        run_ok(
            plugpack()
                .arg("extract")
                .arg(&bundle)
                .arg("-o")
                .arg(&extract_dir),
        );
        let target_dir = std::fs::read_dir(&extract_dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let file = std::fs::read_dir(target_dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert_eq!(
            std::fs::read(&copied).unwrap(),
            std::fs::read(file).unwrap()
        );
    }
}

#[test]
#[ignore = "interop: needs skopeo; run by .ci/test"]
fn skopeo_and_plugpack_both_reject_a_corrupted_blob() {
    require_tool("skopeo");
    let dir = tempdir();
    let bundle = package_fixture("cdylib-plugin", dir.path(), &[]);
    let raw = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci-archive:{}:0.3.1", bundle.display()),
    ]);
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let layer = format!(
        "blobs/sha256/{}",
        manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
    );
    let bad = dir.path().join("bad.oci.tar");
    rewrite_bundle(&bundle, &bad, |name, data| {
        if name == layer {
            data[100] ^= 0xff;
        }
    });
    let copy = skopeo(&[
        "copy",
        &format!("oci-archive:{}:0.3.1", bad.display()),
        &format!("dir:{}", dir.path().join("c").display()),
    ]);
    assert!(
        !copy.status.success(),
        "skopeo must reject the corrupted blob"
    );
    let stderr = String::from_utf8_lossy(&copy.stderr);
    assert!(
        stderr.to_lowercase().contains("digest did not match"),
        "{stderr}"
    );
    let err = run_fails(plugpack().arg("inspect").arg(&bad), 5);
    assert!(err.contains(&layer), "{err}");
}

#[test]
#[ignore = "interop: needs umoci; run by .ci/test"]
fn umoci_lists_the_version_tag_of_an_unpacked_layout() {
    require_tool("umoci");
    let dir = tempdir();
    let bundle = package_fixture("wasm-plugin", dir.path(), &[]);
    let layout = dir.path().join("layout");
    tar::Archive::new(std::fs::File::open(&bundle).unwrap())
        .unpack(&layout)
        .unwrap();
    let out = std::process::Command::new("umoci")
        .args(["ls", "--layout"])
        .arg(&layout)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.2.0");
}
