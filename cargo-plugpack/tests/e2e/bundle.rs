//! `inspect` and `extract` on good and hostile bundles.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::*;

/// A packaged cdylib fixture bundle in its own temp dir.
fn good_bundle() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let bundle = package_fixture("cdylib-plugin", dir.path(), &[]);
    (dir, bundle)
}

/// Rewrites `src` into `dest` entry by entry, letting `edit` change each entry's bytes.
pub fn rewrite_bundle(src: &Path, dest: &Path, edit: impl Fn(&str, &mut Vec<u8>)) {
    let mut archive = tar::Archive::new(std::fs::File::open(src).unwrap());
    let mut builder = tar::Builder::new(std::fs::File::create(dest).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut header = entry.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        edit(&name, &mut data);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    builder.finish().unwrap();
}

/// The blob path of the plugin layer.
fn layer_entry(bundle: &Path) -> String {
    let out = run_ok(plugpack().args(["inspect", "--json"]).arg(bundle));
    let info = &json_lines(&out)[0];
    let digest = info["manifests"][0]["layers"][0]["digest"]
        .as_str()
        .unwrap();
    format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))
}

#[test]
fn inspect_prints_index_manifest_layers_and_annotations() {
    let (_dir, bundle) = good_bundle();
    let out = run_ok(plugpack().arg("inspect").arg(&bundle));
    assert!(out.contains("tag      0.3.1"), "{out}");
    assert!(
        out.contains("layer  application/vnd.plugpack.cdylib.v1"),
        "{out}"
    );
    assert!(
        out.contains("org.opencontainers.image.version = 0.3.1"),
        "{out}"
    );
}

#[test]
fn extract_writes_verified_artifacts_only_inside_dir() {
    let (dir, bundle) = good_bundle();
    let out_dir = dir.path().join("out");
    run_ok(
        plugpack()
            .arg("extract")
            .arg(&bundle)
            .arg("-o")
            .arg(&out_dir),
    );
    let so = out_dir.join("x86_64-unknown-linux-gnu/libcdylib_plugin.so");
    let expected = layer_entry(&bundle);
    assert_eq!(
        sha256_file(&so),
        format!("sha256:{}", expected.trim_start_matches("blobs/sha256/"))
    );
}

#[test]
fn a_corrupted_blob_is_rejected_by_name_and_nothing_is_extracted() {
    let (dir, bundle) = good_bundle();
    let layer = layer_entry(&bundle);
    let bad = dir.path().join("corrupt.oci.tar");
    rewrite_bundle(&bundle, &bad, |name, data| {
        if name == layer {
            let mid = data.len() / 2;
            data[mid] ^= 0x01;
        }
    });
    let err = run_fails(plugpack().arg("inspect").arg(&bad), 5);
    assert!(
        err.contains(&format!("blob `{layer}` does not match its digest")),
        "{err}"
    );
    let out_dir = dir.path().join("out");
    run_fails(
        plugpack().arg("extract").arg(&bad).arg("-o").arg(&out_dir),
        5,
    );
    assert!(!out_dir.exists() || std::fs::read_dir(&out_dir).unwrap().next().is_none());
}

#[test]
fn a_descriptor_with_the_wrong_size_is_rejected() {
    let (dir, bundle) = good_bundle();
    let bad = dir.path().join("size.oci.tar");
    rewrite_bundle(&bundle, &bad, |name, data| {
        if name == "index.json" {
            let text = String::from_utf8(data.clone()).unwrap();
            let mut index: serde_json::Value = serde_json::from_str(&text).unwrap();
            let size = index["manifests"][0]["size"].as_u64().unwrap();
            index["manifests"][0]["size"] = (size + 1).into();
            *data = serde_json::to_vec(&index).unwrap();
        }
    });
    let err = run_fails(plugpack().arg("inspect").arg(&bad), 5);
    assert!(err.contains("`index.json` entry says blob"), "{err}");
}

#[test]
fn not_a_tar_and_not_a_layout_are_rejected() {
    let dir = tempdir();
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, vec![0x42u8; 2048]).unwrap();
    let err = run_fails(plugpack().arg("inspect").arg(&junk), 5);
    assert!(
        err.contains("junk.tar") && err.contains("not a tar archive"),
        "{err}"
    );

    let empty_layout = dir.path().join("nolayout.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&empty_layout).unwrap());
    append(&mut b, "index.json", tar::EntryType::Regular, b"{}", None);
    b.finish().unwrap();
    let err = run_fails(plugpack().arg("inspect").arg(&empty_layout), 5);
    assert!(err.contains("missing `oci-layout`"), "{err}");

    let missing = dir.path().join("does-not-exist.tar");
    let err = run_fails(plugpack().arg("inspect").arg(&missing), 5);
    assert!(err.contains("does-not-exist.tar"), "{err}");
}

fn append(
    b: &mut tar::Builder<std::fs::File>,
    name: &str,
    kind: tar::EntryType,
    data: &[u8],
    link: Option<&str>,
) {
    let mut h = tar::Header::new_gnu();
    // Write the raw name so hostile paths ('..', absolute) survive the tar crate's own checks.
    let raw = &mut h.as_old_mut().name;
    raw[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    if let Some(target) = link {
        h.set_link_name(target).unwrap();
    }
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// A hostile bundle: the good one plus one extra entry.
fn hostile(
    dir: &Path,
    bundle: &Path,
    name: &str,
    kind: tar::EntryType,
    link: Option<&str>,
) -> PathBuf {
    let path = dir.join("hostile.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    append(
        &mut b,
        name,
        kind,
        if kind == tar::EntryType::Regular {
            b"evil"
        } else {
            b""
        },
        link,
    );
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        b.append(&header, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().flush().unwrap();
    path
}

#[test]
fn hostile_entries_are_rejected_by_name_and_nothing_escapes() {
    let (dir, bundle) = good_bundle();
    let cases: &[(&str, tar::EntryType, Option<&str>, &str)] = &[
        (
            "/tmp/plugpack-escape",
            tar::EntryType::Regular,
            None,
            "absolute",
        ),
        (
            "../plugpack-escape",
            tar::EntryType::Regular,
            None,
            "escapes the archive",
        ),
        (
            "blobs/../../plugpack-escape",
            tar::EntryType::Regular,
            None,
            "escapes the archive",
        ),
        (
            "evil-link",
            tar::EntryType::Symlink,
            Some("/etc/passwd"),
            "is a link",
        ),
        (
            "evil-hard",
            tar::EntryType::Link,
            Some("oci-layout"),
            "is a link",
        ),
        ("evil-dev", tar::EntryType::Char, None, "is a device"),
        (
            "blobs/sha512/abcd",
            tar::EntryType::Regular,
            None,
            "unsupported digest algorithm",
        ),
    ];
    for (name, kind, link, expected) in cases {
        let path = hostile(dir.path(), &bundle, name, *kind, *link);
        let err = run_fails(plugpack().arg("inspect").arg(&path), 5);
        assert!(
            err.contains(name) && err.contains(expected),
            "{name}: {err}"
        );
        let out_dir = dir.path().join("out");
        run_fails(
            plugpack().arg("extract").arg(&path).arg("-o").arg(&out_dir),
            5,
        );
        assert!(!out_dir.exists(), "{name}: nothing extracted");
    }
    assert!(
        !dir.path()
            .parent()
            .unwrap()
            .join("plugpack-escape")
            .exists()
    );
    assert!(!Path::new("/tmp/plugpack-escape").exists());
}

#[test]
fn duplicate_entries_are_rejected() {
    let (dir, bundle) = good_bundle();
    let path = hostile(
        dir.path(),
        &bundle,
        "index.json",
        tar::EntryType::Regular,
        None,
    );
    let err = run_fails(plugpack().arg("inspect").arg(&path), 5);
    assert!(err.contains("entry `index.json` appears twice"), "{err}");
}

#[test]
fn a_second_index_json_under_another_spelling_is_refused() {
    // Issue 12 (2): an unsigned `index.json` first, then the real one as `.//index.json` or
    // `index.json/`: other tar readers see the first, plugpack used to use the second.
    let (dir, bundle) = good_bundle();
    for name in [".//index.json", "index.json/", "./index.json"] {
        let path = dir.path().join("twice.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
        append(
            &mut b,
            "index.json",
            tar::EntryType::Regular,
            br#"{"schemaVersion":2,"manifests":[]}"#,
            None,
        );
        let mut archive = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let entry_name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            if entry_name == "index.json" {
                append(&mut b, name, tar::EntryType::Regular, &data, None);
            } else {
                b.append(&entry.header().clone(), data.as_slice()).unwrap();
            }
        }
        b.into_inner().unwrap().flush().unwrap();
        let err = run_fails(plugpack().arg("inspect").arg(&path), 5);
        assert!(err.contains(name), "{name}: {err}");
        assert!(
            err.contains("canonical") || err.contains("ends in `/`"),
            "{name}: {err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn extract_refuses_a_symlink_inside_the_output_directory() {
    // Issue 12 (6): `DIR/<target>` pointing outside used to receive the plugin.
    let (dir, bundle) = good_bundle();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::os::unix::fs::symlink(&outside, out_dir.join("x86_64-unknown-linux-gnu")).unwrap();
    let err = run_fails(
        plugpack()
            .arg("extract")
            .arg(&bundle)
            .arg("-o")
            .arg(&out_dir),
        6,
    );
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
#[ignore = "interop: needs python3; run by .ci/test"]
fn python_tarfile_and_plugpack_agree_on_every_entry_name() {
    // plugpack's own bundles are canonical: Python's tarfile names every member exactly as
    // plugpack does (no normalisation on either side), and both read the same index.json.
    require_tool("python3");
    let (_dir, bundle) = good_bundle();
    let script = r#"
import json, posixpath, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        name = m.name + ("/" if m.isdir() else "")
        assert posixpath.normpath(m.name) == m.name, m.name
        print(name)
    index = json.load(t.extractfile("index.json"))
    print("tagged", index["manifests"][0]["digest"])
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python = String::from_utf8(out.stdout).unwrap();
    let ours: Vec<String> = tar_entries(&bundle).into_iter().map(|(n, _)| n).collect();
    let theirs: Vec<&str> = python
        .lines()
        .filter(|l| !l.starts_with("tagged"))
        .collect();
    assert_eq!(ours, theirs);
    let info = &json_lines(&run_ok(plugpack().args(["inspect", "--json"]).arg(&bundle)))[0];
    assert!(
        python.contains(&format!("tagged {}", info["digest"].as_str().unwrap())),
        "{python}"
    );
}
