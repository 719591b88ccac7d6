//! Trust policy files (`plugpack-trust.toml`); key paths resolve inside the scratch directory.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use plugpack_core::verify::TrustPolicy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = TrustPolicy::parse(text, "fuzz-trust.toml", common::dir());
});
