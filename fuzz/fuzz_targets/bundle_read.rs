//! The bundle reader and the whole verifier on arbitrary bytes given as a `.oci.tar`:
//! `read_bundle` → `inspect`, then `Verifier::verify_bundle` under a one-key policy. Nothing
//! may panic, hang or allocate without bound; every failure must be an `Err`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use plugpack_core::oci;
use plugpack_core::verify::{TrustPolicy, Verifier};

fuzz_target!(|data: &[u8]| {
    let path = common::file("bundle.oci.tar", data);
    if let Ok(layout) = oci::read_bundle(&path) {
        let _ = oci::inspect(&layout);
    }
    if let Ok(policy) = TrustPolicy::from_keys(&[common::trusted_key()]) {
        let _ = Verifier::new(policy, None)
            .at_time(1_704_164_645)
            .verify_bundle(&path);
    }
});
