//! cargo-auditable `.dep-v0` data: the zlib-compressed JSON payload, and the section inside
//! an artifact file.
#![no_main]

#[path = "common.rs"]
mod common;

use camino::Utf8Path;
use libfuzzer_sys::fuzz_target;
use plugpack_core::sbom::auditable;

fuzz_target!(|data: &[u8]| {
    let _ = auditable::decode(Utf8Path::new("fuzz.dep-v0"), data);
    let path = common::file("embedded.so", data);
    let _ = auditable::extract(&path);
});
