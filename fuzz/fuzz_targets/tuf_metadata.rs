//! TUF metadata as `fetch` reads it from a repository: strict canonical-JSON parsing, the
//! typed role, and the signature check against the keys a root lists. Whatever the bytes,
//! each step is an `Ok` or an `Err`, never a panic; a root that parses is checked against its
//! own keys (the first step of the client's root update).
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugpack_core::tuf::metadata::{Envelope, Root, Snapshot, Targets, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::parse(data, "fuzz.json") else {
        return;
    };
    if let Ok(root) = envelope.typed::<Root>("root.json") {
        let _ = plugpack_core::tuf::metadata::check_roles(&root, "root.json");
        if let Some(role) = root.roles.get("root") {
            let _ = envelope.verify(&root.keys, role, "root", "root.json");
        }
    }
    let _ = envelope.typed::<Targets>("targets.json");
    let _ = envelope.typed::<Snapshot>("snapshot.json");
    let _ = envelope.typed::<Timestamp>("timestamp.json");
});
