//! `plugpack-abi/1` documents (baselines and bundle attachments are untrusted): parse, then
//! diff the document against itself, which must be a `none` change.
#![no_main]

use camino::Utf8Path;
use libfuzzer_sys::fuzz_target;
use plugpack_core::fingerprint::{self, AbiFingerprint};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = AbiFingerprint::from_json(Utf8Path::new("fuzz.abi.json"), data) {
        let diff = fingerprint::diff(&doc, &doc);
        assert!(
            diff.changes.is_empty(),
            "a document differs from itself: {:?}",
            diff.changes
        );
    }
});
