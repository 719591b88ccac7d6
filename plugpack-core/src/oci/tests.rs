//! Hostile bundles against the reader and `extract`, crafted entry by entry (raw tar names,
//! so nothing normalises them on the way in). Each case is a defect of issue 12.

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};

use super::*;
use crate::types::Sha256Digest;

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// One tar entry: name, bytes, type.
type Item = (String, Vec<u8>, tar::EntryType);

fn file(name: &str, data: &[u8]) -> Item {
    (name.to_owned(), data.to_vec(), tar::EntryType::Regular)
}

fn blob(data: &[u8]) -> Item {
    file(
        &format!("blobs/sha256/{}", Sha256Digest::of_bytes(data).hex()),
        data,
    )
}

fn descriptor(media_type: &str, data: &[u8]) -> Value {
    json!({
        "mediaType": media_type,
        "digest": Sha256Digest::of_bytes(data).to_string(),
        "size": data.len(),
    })
}

fn layer(data: &[u8], title: &str) -> Value {
    let mut d = descriptor(CDYLIB_LAYER_MEDIA_TYPE, data);
    d["annotations"] = json!({"org.opencontainers.image.title": title});
    d
}

const CONFIG: &[u8] = br#"{"architecture":"amd64","os":"linux"}"#;

fn manifest(target: &str, layers: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": read::MANIFEST_MEDIA_TYPE,
        "config": descriptor(CDYLIB_CONFIG_MEDIA_TYPE, CONFIG),
        "layers": layers,
        "annotations": {
            TARGET_ANNOTATION: target,
            KIND_ANNOTATION: "cdylib",
            PLUGIN_ANNOTATION: "demo",
        },
    }))
    .unwrap()
}

fn index(manifests: &[&[u8]]) -> Vec<u8> {
    let entries: Vec<Value> = manifests
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut d = descriptor(read::MANIFEST_MEDIA_TYPE, m);
            if i == 0 {
                d["annotations"] = json!({"org.opencontainers.image.ref.name": "0.1.0"});
            }
            d
        })
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": read::INDEX_MEDIA_TYPE,
        "manifests": entries,
    }))
    .unwrap()
}

/// A valid one-target layout with plugin bytes `plugin` titled `libdemo.so`.
fn layout_items(plugin: &[u8]) -> Vec<Item> {
    let m = manifest(TARGET, vec![layer(plugin, "libdemo.so")]);
    vec![
        file("oci-layout", OCI_LAYOUT.as_bytes()),
        file("index.json", &index(&[&m])),
        blob(CONFIG),
        blob(plugin),
        blob(&m),
    ]
}

/// Writes the entries with their names copied raw into the header (long ones as GNU
/// long-name entries).
fn write_tar(dir: &Utf8Path, items: &[Item]) -> Utf8PathBuf {
    let path = dir.join("bundle.oci.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    for (name, data, kind) in items {
        let mut h = tar::Header::new_gnu();
        if name.len() > 100 || name.contains('\0') {
            long_name(&mut b, name.as_bytes());
        } else {
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        }
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(*kind);
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    b.finish().unwrap();
    path
}

fn long_name(b: &mut tar::Builder<std::fs::File>, name: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_size(name.len() as u64 + 1);
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_cksum();
    let mut data = name.to_vec();
    data.push(0);
    b.append(&h, data.as_slice()).unwrap();
}

/// A PAX extended header with one record.
fn pax(b: &mut tar::Builder<std::fs::File>, key: &str, value: &str) {
    let body = format!(" {key}={value}\n");
    // The length prefix counts itself.
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    let record = format!("{len}{body}");
    let mut h = tar::Header::new_ustar();
    h.set_path("PaxHeader").unwrap();
    h.set_size(record.len() as u64);
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_cksum();
    b.append(&h, record.as_bytes()).unwrap();
}

fn read_err(items: &[Item]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tar(Utf8Path::from_path(dir.path()).unwrap(), items);
    match read_bundle(&path).and_then(|l| inspect(&l)) {
        Ok(info) => panic!("accepted: {info:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_crafted_layout_is_accepted_and_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(dir.path()).unwrap();
    let path = write_tar(dir, &layout_items(b"\x7fELF plugin"));
    let info = inspect(&read_bundle(&path).unwrap()).unwrap();
    assert_eq!(info.manifests.len(), 1);
    let files = extract(&path, &dir.join("out")).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        std::fs::read(dir.join("out").join(TARGET).join("libdemo.so")).unwrap(),
        b"\x7fELF plugin"
    );
}

#[test]
fn a_second_index_json_under_a_non_canonical_name_is_refused() {
    // Issue 12 (2): the first `index.json` is what GNU tar and Python's tarfile use.
    let other = index(&[]);
    for name in [
        ".//index.json",
        "index.json/",
        "./index.json",
        "index.json\0x",
    ] {
        let mut items = vec![file("index.json", &other)];
        items.extend(
            layout_items(b"plugin")
                .into_iter()
                .filter(|i| i.0 != "index.json"),
        );
        let (_, signed, _) = layout_items(b"plugin").remove(1);
        items.push(file(name, &signed));
        let err = read_err(&items);
        assert!(
            err.contains("canonical") || err.contains("ends in `/`") || err.contains("control"),
            "{name:?}: {err}"
        );
    }
}

#[test]
fn an_unreferenced_blob_is_refused_and_not_loaded() {
    // Issue 12 (4): JSON-looking blobs nothing references used to be held in memory.
    let mut items = layout_items(b"plugin");
    items.push(blob(br#"{"padding":"unreferenced"}"#));
    let err = read_err(&items);
    assert!(err.contains("is not referenced"), "{err}");
}

#[test]
fn long_names_and_pax_headers_are_capped() {
    // Issue 12 (4): a huge GNU long name used to be read into memory whole.
    let mut items = layout_items(b"plugin");
    items.push(file(&"n".repeat(64 * 1024), b"x"));
    let err = read_err(&items);
    assert!(err.contains("GNU long-name or PAX header"), "{err}");
    // Just under the extension cap but over the name cap.
    let mut items = layout_items(b"plugin");
    items.push(file(&"n".repeat(2000), b"x"));
    let err = read_err(&items);
    assert!(err.contains("has a name of 2000 bytes"), "{err}");
}

#[test]
fn pax_size_overrides_and_double_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8Path::from_path(dir.path()).unwrap().join("pax.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    pax(&mut b, "size", "3");
    let mut h = tar::Header::new_ustar();
    h.set_path("README").unwrap();
    h.set_size(3);
    h.set_cksum();
    b.append(&h, b"abc".as_slice()).unwrap();
    b.finish().unwrap();
    let err = read_bundle(&path).unwrap_err().to_string();
    assert!(err.contains("overrides an entry's size"), "{err}");

    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    long_name(&mut b, b"README");
    pax(&mut b, "path", "index.json");
    let mut h = tar::Header::new_gnu();
    h.set_path("x").unwrap();
    h.set_size(0);
    h.set_cksum();
    b.append(&h, [].as_slice()).unwrap();
    b.finish().unwrap();
    let err = read_bundle(&path).unwrap_err().to_string();
    assert!(err.contains("both a GNU long name and a PAX path"), "{err}");
}

#[test]
fn manifests_must_be_schema_2_image_manifests() {
    // Issue 12 (10).
    for (key, value, expected) in [
        ("schemaVersion", json!(1), "schemaVersion 1"),
        ("mediaType", json!(read::INDEX_MEDIA_TYPE), "has mediaType"),
    ] {
        let mut m: Value =
            serde_json::from_slice(&manifest(TARGET, vec![layer(b"p", "a.so")])).unwrap();
        m[key] = value;
        let m = serde_json::to_vec(&m).unwrap();
        let items = vec![
            file("oci-layout", OCI_LAYOUT.as_bytes()),
            file("index.json", &index(&[&m])),
            blob(CONFIG),
            blob(b"p"),
            blob(&m),
        ];
        let err = read_err(&items);
        assert!(err.contains(expected), "{key}: {err}");
    }
}

fn extract_items(items: &[Item]) -> (tempfile::TempDir, Result<Vec<ExtractedFile>, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap();
    let path = write_tar(root, items);
    let out = extract(&path, &root.join("out"));
    (dir, out)
}

#[test]
fn extract_writes_each_distinct_blob_once() {
    // Issue 12 (5): 100 titles of one blob used to be 100 copies.
    let plugin = vec![0x5a; 4096];
    let layers = (0..100)
        .map(|i| layer(&plugin, &format!("lib{i}.so")))
        .collect();
    let m = manifest(TARGET, layers);
    // The same manifest listed 20 times used to rewrite (and fsync) each file 20 times.
    let listed: Vec<&[u8]> = vec![m.as_slice(); 20];
    let items = vec![
        file("oci-layout", OCI_LAYOUT.as_bytes()),
        file("index.json", &index(&listed)),
        blob(CONFIG),
        blob(&plugin),
        blob(&m),
    ];
    let (_dir, out) = extract_items(&items);
    let files = out.unwrap();
    assert_eq!(files.len(), 100, "one entry per output path");
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let inodes: std::collections::BTreeSet<u64> = files
            .iter()
            .map(|f| std::fs::metadata(&f.path).unwrap().ino())
            .collect();
        assert_eq!(inodes.len(), 1, "written once, then hard-linked");
    }
}

#[test]
fn extract_refuses_two_blobs_for_one_path_and_unsafe_names() {
    // Issue 12 (5): both used to report "Extracted" while the file held only the second.
    let a = manifest(TARGET, vec![layer(b"first", "lib.so")]);
    let b = manifest(TARGET, vec![layer(b"second", "lib.so")]);
    let items = vec![
        file("oci-layout", OCI_LAYOUT.as_bytes()),
        file("index.json", &index(&[&a, &b])),
        blob(CONFIG),
        blob(b"first"),
        blob(b"second"),
        blob(&a),
        blob(&b),
    ];
    let (dir, out) = extract_items(&items);
    let err = out.unwrap_err().to_string();
    assert!(err.contains("two different blobs"), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing written");
    // Issue 12 (9): control characters and separators in titles and targets.
    for (target, title) in [
        (TARGET, "lib\nevil.so"),
        (TARGET, "lib\u{1b}[31m.so"),
        (TARGET, "a/b.so"),
        ("x86_64\r", "lib.so"),
        ("..", "lib.so"),
    ] {
        let m = manifest(target, vec![layer(b"p", title)]);
        let items = vec![
            file("oci-layout", OCI_LAYOUT.as_bytes()),
            file("index.json", &index(&[&m])),
            blob(CONFIG),
            blob(b"p"),
            blob(&m),
        ];
        let (_dir, out) = extract_items(&items);
        let err = out.unwrap_err().to_string();
        assert!(err.contains("unsafe"), "{title:?}: {err}");
    }
}

#[test]
fn extract_with_nothing_to_write_fails() {
    // Issue 12 (10): exit non-zero when nothing was extracted.
    let m = manifest(TARGET, vec![]);
    let items = vec![
        file("oci-layout", OCI_LAYOUT.as_bytes()),
        file("index.json", &index(&[&m])),
        blob(CONFIG),
        blob(&m),
    ];
    let (_dir, out) = extract_items(&items);
    let err = out.unwrap_err().to_string();
    assert!(err.contains("nothing to extract"), "{err}");
}

#[cfg(unix)]
#[test]
fn extract_never_follows_a_link_inside_the_output_directory() {
    // Issue 12 (6).
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap();
    let path = write_tar(root, &layout_items(b"plugin bytes"));
    let outside = root.join("outside");
    std::fs::create_dir(&outside).unwrap();
    let out = root.join("out");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&outside, out.join(TARGET)).unwrap();
    let err = extract(&path, &out).unwrap_err();
    assert!(
        format!("{err}: {}", std::error::Error::source(&err).unwrap()).contains("symbolic link"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

    // The file itself as a link to a file outside.
    std::fs::remove_file(out.join(TARGET)).unwrap();
    std::fs::create_dir(out.join(TARGET)).unwrap();
    let victim = outside.join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    std::os::unix::fs::symlink(&victim, out.join(TARGET).join("libdemo.so")).unwrap();
    assert!(extract(&path, &out).is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    let leftovers = std::fs::read_dir(out.join(TARGET)).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
}

#[cfg(unix)]
#[test]
fn a_bundle_that_is_not_a_regular_file_is_refused() {
    let err = read_bundle(Utf8Path::new("/dev/null"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

/// The read-back of a bundle this process just wrote: a blob whose digest and size were
/// checked while it was written is not hashed again; any other blob still is (issue 12
/// "Speed": the artifact is not read a further time to validate the bundle).
#[test]
#[cfg(feature = "tool")]
fn the_written_read_back_skips_only_blobs_checked_while_written() {
    let dir = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(dir.path()).unwrap();
    let plugin = b"\x7fELF plugin".to_vec();
    let digest = Sha256Digest::of_bytes(&plugin);
    let name = format!("blobs/sha256/{}", digest.hex());
    let mut items = layout_items(&plugin);
    // Same size, other content, behind the plugin's digest.
    for item in items.iter_mut().filter(|i| i.0 == name) {
        item.1 = b"\x7fELF plugiN".to_vec();
    }
    let path = write_tar(dir, &items);
    let e = read_bundle(&path).unwrap_err().to_string();
    assert!(e.contains("does not match its digest"), "{e}");
    let size = plugin.len() as u64;
    let written = std::collections::BTreeMap::from([(digest, size)]);
    let info = inspect(&read::read_written_bundle(&path, &written).unwrap()).unwrap();
    assert_eq!(info.manifests.len(), 1);
    // Listed with another size: hashed like any other blob, and refused.
    let other = std::collections::BTreeMap::from([(digest, size + 1)]);
    let e = read::read_written_bundle(&path, &other)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not match its digest"), "{e}");
}

/// `write` returns the size of the tarball on disk; a file blob added with its stamp (copied
/// in the kernel, not re-hashed) gives the same bytes as one added without (re-hashed while
/// streamed), and the blob inside is the file.
#[test]
#[cfg(feature = "tool")]
fn stamped_and_rehashed_file_blobs_write_identical_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(dir.path()).unwrap();
    let source = dir.join("artifact.bin");
    // Not a multiple of 512, so the padding after the kernel copy is exercised.
    let content: Vec<u8> = (0..200_001u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&source, &content).unwrap();
    let (digest, size, stamp) = Sha256Digest::of_file_stamped(&source).unwrap();
    let write = |stamped: bool, name: &str| {
        let mut layout = LayoutBuilder::new();
        layout.add_bytes(b"some blob".to_vec());
        if stamped {
            layout.add_stamped_file(&source, digest, size, stamp);
        } else {
            layout.add_file(&source, digest, size);
        }
        let dest = dir.join(name);
        let written = layout.write(&dest, 1_700_000_000).unwrap();
        assert_eq!(written, std::fs::metadata(&dest).unwrap().len());
        std::fs::read(&dest).unwrap()
    };
    let stamped = write(true, "stamped.oci.tar");
    let rehashed = write(false, "rehashed.oci.tar");
    assert!(stamped == rehashed, "the two write paths differ");
    let mut archive = tar::Archive::new(stamped.as_slice());
    let blob = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some(&format!("blobs/sha256/{}", digest.hex())))
        .map(|mut e| {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            v
        })
        .unwrap();
    assert!(blob == content, "the copied blob is not the file");
}

/// A stamped file written to after it was hashed (same length, other bytes) is refused, not
/// copied under the old digest, and nothing is left at the output path.
#[test]
#[cfg(feature = "tool")]
fn a_stamped_file_changed_after_hashing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(dir.path()).unwrap();
    let source = dir.join("artifact.bin");
    std::fs::write(&source, vec![1u8; 4096]).unwrap();
    let (digest, size, stamp) = Sha256Digest::of_file_stamped(&source).unwrap();
    std::fs::write(&source, vec![2u8; 4096]).unwrap();
    let mut layout = LayoutBuilder::new();
    layout.add_stamped_file(&source, digest, size, stamp);
    let dest = dir.join("b.oci.tar");
    let e = layout.write(&dest, 1_700_000_000).unwrap_err();
    assert!(matches!(e, Error::SourceChanged { .. }), "{e}");
    assert!(!dest.exists());
}

/// A stamped file replaced by the same content (another run renaming its identical output
/// over it: a new inode, so a new stamp) is hashed again and accepted, not refused.
#[test]
#[cfg(feature = "tool")]
fn a_stamped_file_replaced_by_the_same_content_is_rehashed_and_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(dir.path()).unwrap();
    let source = dir.join("artifact.bin");
    std::fs::write(&source, vec![1u8; 4096]).unwrap();
    let (digest, size, stamp) = Sha256Digest::of_file_stamped(&source).unwrap();
    let other = dir.join("other.bin");
    std::fs::write(&other, vec![1u8; 4096]).unwrap();
    std::fs::rename(&other, &source).unwrap();
    assert_ne!(
        crate::types::FileStamp::of(&std::fs::File::open(&source).unwrap()).unwrap(),
        stamp
    );
    let mut layout = LayoutBuilder::new();
    layout.add_stamped_file(&source, digest, size, stamp);
    let dest = dir.join("b.oci.tar");
    layout.write(&dest, 1_700_000_000).unwrap();
    assert!(dest.exists());
}
