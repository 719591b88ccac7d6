//! `extract` on arbitrary bytes: it may refuse, but it must never write outside its
//! destination, and must not leave a partial file behind when it fails.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use plugpack_core::oci;

fuzz_target!(|data: &[u8]| {
    let path = common::file("extract.oci.tar", data);
    let root = common::dir().join("extract-root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("extract root");
    let dest = root.join("out");
    let result = oci::extract(&path, &dest);
    // Nothing outside `out/` may appear under the root.
    for entry in std::fs::read_dir(&root).expect("read root") {
        let name = entry.expect("entry").file_name();
        assert_eq!(name, "out", "extract wrote {name:?} outside its destination");
    }
    if result.is_err() && dest.exists() {
        for entry in walk(&dest) {
            assert!(
                !entry.ends_with(".tmp") && !entry.contains(".plugpack-tmp"),
                "failed extract left a temporary file: {entry}"
            );
        }
    }
});

fn walk(dir: &camino::Utf8Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = dir.read_dir_utf8() {
        for e in rd.flatten() {
            let p = e.path().to_owned();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            }
            out.push(p.into_string());
        }
    }
    out
}
