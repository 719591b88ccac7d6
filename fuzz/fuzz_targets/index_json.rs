//! `index.json` and manifest JSON inside an otherwise well-formed bundle: the input is
//! `INDEX \xff MANIFEST`; the tarball holds `oci-layout`, the index (with every `@M@` replaced
//! by the manifest blob's digest, so the fuzzer can reach it) and the manifest blob. This
//! drives the JSON readers deeper than raw tar bytes would.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use plugpack_core::oci;
use plugpack_core::types::Sha256Digest;

fuzz_target!(|data: &[u8]| {
    let (index, manifest) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let digest = Sha256Digest::of_bytes(manifest);
    let Ok(index) = std::str::from_utf8(index) else {
        return;
    };
    let index = index.replace("@M@", &format!("sha256:{}", digest.hex()));
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes)
            .expect("append");
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json", index.as_bytes());
    add(&format!("blobs/sha256/{}", digest.hex()), manifest);
    let bytes = builder.into_inner().expect("tar");
    let path = common::file("index.oci.tar", &bytes);
    if let Ok(layout) = oci::read_bundle(&path) {
        let _ = oci::inspect(&layout);
    }
});
