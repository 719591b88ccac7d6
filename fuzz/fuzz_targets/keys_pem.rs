//! Key files: public (SPKI) and secret (PKCS#8) PEM.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugpack_core::sign::{PublicKey, SecretKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PublicKey::from_pem(text, "fuzz.pub");
    let _ = SecretKey::from_pem(text, "fuzz.key");
});
