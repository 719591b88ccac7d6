//! Signing: Ed25519 keys, DSSE envelopes over in-toto statements, attached to bundles as
//! OCI 1.1 referrers.
//!
//! * **Inputs**: a bundle tarball (`oci::pack` output) and a signing key ([`KeySource`]: a
//!   PKCS#8 PEM file, or `PLUGPACK_SIGNING_KEY` read through [`Ctx`](crate::Ctx)).
//! * **Outputs**: [`SignOutput`] (key id, statement, envelope digest); [`keygen`] →
//!   [`KeygenOutput`].
//! * **Side effects**: rewrites the bundle atomically (same path) with one more referrer per
//!   plugin manifest; optionally writes the envelope detached (`--detached`) and a minisign
//!   signature of the final tarball (`BUNDLE.minisig`); `keygen` writes `NAME.key` (0600)
//!   and `NAME.pub`.
//!
//! Why this shape:
//! * The statement's subjects are the plugin manifest digests (and the image index of a
//!   multi-target bundle); the predicate also pins the tagged `index.json` entry, the
//!   artifact digests and the analysis attachments, so nothing a host relies on is unsigned.
//! * One envelope per key (like cosign), stored once and referenced by one referrer manifest
//!   per plugin manifest. Existing blobs and manifests are copied byte for byte, so signing
//!   never changes a signed digest, and keys can sign in any order with the same result.
//! * Signing is idempotent: a key that already signed the bundle signs nothing new (unless
//!   `force`, which replaces its earlier signature, e.g. to change the expiry).
//! * Key ids follow TUF/securesystemslib, so `securesystemslib`'s `Envelope.verify` accepts
//!   our envelopes with our public key.
//!
//! Feature split: keys, envelopes, statements and [`envelopes`] (what verification needs)
//! compile with the `verify` feature; signing bundles (`bundle.rs`: [`sign_bundle`],
//! attaching envelopes), [`keygen`] and [`minisign`] need `tool`.

#[cfg(feature = "tool")]
mod bundle;
mod dsse;
mod error;
mod keys;
#[cfg(feature = "tool")]
pub mod minisign;
mod provenance;
mod statement;

use std::collections::BTreeMap;

#[cfg(feature = "tool")]
pub use bundle::{
    SignOptions, SignOutput, attach_envelope, attach_envelope_file, sign_bundle, sign_bundle_with,
};
#[cfg(feature = "tool")]
pub(crate) use bundle::{check_times, sign_staged};

pub use dsse::{
    ENVELOPE_MEDIA_TYPE, Envelope, EnvelopeSignature, IN_TOTO_PAYLOAD_TYPE, MAX_ENVELOPE_BYTES, pae,
};
pub use error::Error;
#[cfg(feature = "tool")]
pub use keys::{DEFAULT_KEY_STEM, KeygenOptions, KeygenOutput, keygen};
pub use keys::{KeyId, KeySource, PublicKey, SIGNING_KEY_ENV, SecretKey};
pub use provenance::{
    BUILD_TYPE, BuildDefinition, BuildMetadata, Builder, ExternalParameters, GENERIC_BUILDER_ID,
    PROVENANCE_PREDICATE_TYPE, Provenance, ProvenanceStatement, ResourceDescriptor, RunDetails,
    provenance_of, source_matches,
};
pub use statement::{
    AttachmentRef, BundleFacts, PREDICATE_TYPE, PluginPredicate, STATEMENT_TYPE, Statement,
    Subject, TargetRef, attachment_kind, facts, sequence_of,
};

use crate::oci::{BundleInfo, Layout};
use crate::types::Sha256Digest;

/// A signature found in a bundle.
#[derive(Debug, Clone)]
pub struct FoundEnvelope {
    /// Referrer manifest digests carrying it.
    pub referrers: Vec<Sha256Digest>,
    /// Their subjects.
    pub subjects: Vec<Sha256Digest>,
    /// The envelope blob digest.
    pub digest: Sha256Digest,
    /// The raw bytes, or why they are unusable.
    pub envelope: Result<Envelope, String>,
}

/// Every DSSE envelope attached to the bundle, grouped by envelope blob.
pub fn envelopes(layout: &Layout, info: &BundleInfo) -> Vec<FoundEnvelope> {
    let mut by_blob: BTreeMap<Sha256Digest, FoundEnvelope> = BTreeMap::new();
    for r in &info.referrers {
        if r.artifact_type.as_deref() != Some(ENVELOPE_MEDIA_TYPE) {
            continue;
        }
        for layer in &r.layers {
            let found = by_blob
                .entry(layer.digest)
                .or_insert_with(|| FoundEnvelope {
                    referrers: Vec::new(),
                    subjects: Vec::new(),
                    digest: layer.digest,
                    envelope: match layout.json_blob(&layer.digest) {
                        Some(bytes) => {
                            Envelope::parse(bytes, &format!("envelope {}", layer.digest))
                                .map_err(|e| e.to_string())
                        }
                        None if layer.size as usize > MAX_ENVELOPE_BYTES => Err(format!(
                            "envelope {}: {} bytes, more than the {MAX_ENVELOPE_BYTES} allowed",
                            layer.digest, layer.size
                        )),
                        None => Err(format!("envelope {} is not a JSON document", layer.digest)),
                    },
                });
            found.referrers.push(r.digest);
            found.subjects.push(r.subject);
        }
    }
    by_blob.into_values().collect()
}

/// How far (seconds) a signature's `signed_at` may lie after the verifier's clock: 5
/// minutes, for clocks that are not perfectly in sync. A later `signed_at` is rejected, so a
/// future `SOURCE_DATE_EPOCH` cannot stretch a policy's `max_age`.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// Seconds since 1970 by the system clock.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Parses an RFC 3339 timestamp into seconds since 1970.
pub fn parse_time(value: &str) -> Result<i64, Error> {
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| Error::BadTime {
            value: value.to_owned(),
        })
}
