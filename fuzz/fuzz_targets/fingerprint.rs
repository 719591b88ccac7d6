//! The ABI fingerprint readers on arbitrary artifact bytes: ELF, Mach-O, PE and wasm (the
//! format is chosen by the bytes, as for a file on disk), both from memory and from a file.
#![no_main]

#[path = "common.rs"]
mod common;

use camino::Utf8Path;
use libfuzzer_sys::fuzz_target;
use plugpack_core::fingerprint;

fuzz_target!(|data: &[u8]| {
    let _ = fingerprint::fingerprint_bytes(Utf8Path::new("fuzz.artifact"), data);
    let path = common::file("artifact.so", data);
    let _ = fingerprint::fingerprint_file(&path);
});
