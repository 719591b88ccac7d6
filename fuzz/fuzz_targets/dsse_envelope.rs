//! DSSE envelopes and the in-toto statements inside them: parse, decode the payload, check a
//! signature, parse the statement.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use plugpack_core::sign::{Envelope, Statement};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Statement>(data);
    let Ok(envelope) = Envelope::parse(data, "fuzz.dsse.json") else {
        return;
    };
    let key = common::secret_key();
    let _ = envelope.verified_by(key.public());
    let _ = envelope.claimed_key_ids();
    if let Ok(payload) = envelope.payload_bytes("fuzz.dsse.json") {
        let _ = serde_json::from_slice::<Statement>(&payload);
    }
});
