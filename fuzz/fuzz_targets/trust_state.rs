//! Anti-rollback state files: whatever is in the file, reading it is an `Ok` or an `Err`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use plugpack_core::verify::StateStore;

fuzz_target!(|data: &[u8]| {
    let dir = common::dir().join("state");
    std::fs::create_dir_all(&dir).expect("state dir");
    std::fs::write(dir.join("plugin.json"), data).expect("state file");
    let _ = StateStore::new(dir).get("plugin");
});
