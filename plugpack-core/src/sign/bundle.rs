//! Signing a bundle in place: the statement, one DSSE envelope per key, attached as OCI 1.1
//! referrers, optionally written detached and as a minisign signature (tool side, feature
//! `tool`: it rewrites bundles with [`crate::oci::rebuild`]).

use std::collections::BTreeMap;
use std::str::FromStr;

use camino::{Utf8Path, Utf8PathBuf};
use oci_spec::image::{DescriptorBuilder, Digest, MediaType};
use serde::{Deserialize, Serialize};

use super::*;
use crate::ctx::Ctx;
use crate::oci::{self, Attachment, BundleInfo};
use crate::types::{Sha256Digest, canonical_json, rfc3339};

/// Options of `sign`.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// Where the key comes from.
    pub key: KeySource,
    /// Also write the envelope to this file.
    pub detached: Option<Utf8PathBuf>,
    /// Also write a minisign signature of the final tarball to `BUNDLE.minisig`.
    pub minisign: bool,
    /// Anti-rollback sequence number (default: derived from the version).
    pub sequence: Option<u64>,
    /// Expiry (RFC 3339).
    pub expires: Option<String>,
    /// Replace an earlier signature by the same key.
    pub force: bool,
    /// The time to treat as now when checking `expires` and `SOURCE_DATE_EPOCH` (default:
    /// the system clock); for tests and tools that sign on behalf of another clock.
    pub now: Option<i64>,
    /// SLSA provenance to sign as a second in-toto statement, in a second envelope layer of
    /// the same signature referrer (`release`, `sign --provenance`). Its subjects are the
    /// plugin statement's. A bundle the key already signed is signed again (with it).
    pub provenance: Option<Provenance>,
}

/// What `sign` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignOutput {
    /// The bundle.
    pub bundle: Utf8PathBuf,
    /// The signing key's id.
    pub key_id: KeyId,
    /// False when the key had already signed the bundle (nothing was rewritten).
    pub changed: bool,
    /// Digest of the envelope blob.
    pub envelope_digest: Sha256Digest,
    /// The signed statement.
    pub statement: Statement,
    /// The detached envelope, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detached: Option<Utf8PathBuf>,
    /// The minisign signature, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minisig: Option<Utf8PathBuf>,
    /// SHA-256 of the bundle tarball after signing.
    pub file_sha256: Sha256Digest,
    /// The signed SLSA provenance statement, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceStatement>,
}

/// Signs a bundle in place with the key from `options.key`.
pub fn sign_bundle(
    bundle: &Utf8Path,
    options: &SignOptions,
    ctx: &Ctx,
) -> Result<SignOutput, Error> {
    let key = options.key.load(ctx)?;
    sign_bundle_with(bundle, &key, options, ctx)
}

/// Signs a bundle in place with an already loaded key.
///
/// Times: `signed_at` is `SOURCE_DATE_EPOCH` when set (so a signed bundle is reproducible),
/// else the clock. Signing is refused when that lies more than [`CLOCK_SKEW_SECS`] after the
/// clock (verifiers would reject it), and when `expires` is not after both the clock and
/// `signed_at`.
pub fn sign_bundle_with(
    bundle: &Utf8Path,
    key: &SecretKey,
    options: &SignOptions,
    ctx: &Ctx,
) -> Result<SignOutput, Error> {
    sign_staged(bundle, bundle, key, options, ctx)
}

/// The time rules of signing (see [`sign_bundle_with`]): returns `signed_at` and the
/// normalized expiry, or why signing with these options would be refused. `package` calls it
/// before building, so a bad `--expires` fails fast.
pub(crate) fn check_times(
    options: &SignOptions,
    ctx: &Ctx,
) -> Result<(i64, Option<String>), Error> {
    let clock = options.now.unwrap_or_else(now);
    let signed_at = match ctx.source_date_epoch() {
        Ok(Some(epoch)) => epoch,
        _ => clock,
    };
    if signed_at > clock.saturating_add(CLOCK_SKEW_SECS) {
        return Err(Error::FutureSignedAt {
            signed_at: rfc3339(signed_at),
            now: rfc3339(clock),
        });
    }
    let expiry = options
        .expires
        .as_deref()
        .map(|e| parse_time(e).map(rfc3339))
        .transpose()?;
    if let Some(expires) = &expiry {
        let at = parse_time(expires)?;
        if at <= clock.max(signed_at) {
            return Err(Error::ExpiryInPast {
                expires: expires.clone(),
                now: rfc3339(clock.max(signed_at)),
            });
        }
    }
    Ok((signed_at, expiry))
}

/// [`sign_bundle_with`] on a staged copy: signs `staged` in place but names `published`
/// (where the caller will rename it) in messages and in the output. A minisign signature is
/// written to `STAGED.minisig` and reported as `PUBLISHED.minisig`; the caller moves it.
pub(crate) fn sign_staged(
    staged: &Utf8Path,
    published: &Utf8Path,
    key: &SecretKey,
    options: &SignOptions,
    ctx: &Ctx,
) -> Result<SignOutput, Error> {
    let bundle = staged;
    let (signed_at, requested_expiry) = check_times(options, ctx)?;
    let layout = oci::read_bundle(bundle)?;
    let info = oci::inspect(&layout)?;
    let facts = facts(&layout, &info).map_err(|problem| {
        Error::Oci(oci::Error::Invalid {
            path: bundle.to_owned(),
            problem,
        })
    })?;
    let key_id = key.public().key_id().clone();
    let existing: Vec<FoundEnvelope> = envelopes(&layout, &info)
        .into_iter()
        .filter(|e| {
            e.envelope
                .as_ref()
                .is_ok_and(|env| env.verified_by(key.public()))
        })
        .collect();

    // A signature by this key that still describes the bundle exactly (and matches any
    // requested sequence/expiry) makes signing a no-op; stale ones are replaced.
    let current = existing.iter().find_map(|found| {
        let env = found.envelope.as_ref().ok()?;
        let payload = env.payload_bytes(bundle.as_str()).ok()?;
        let statement: Statement = serde_json::from_slice(&payload).ok()?;
        let p = &statement.predicate;
        let mut subjects = facts.subjects.clone();
        subjects.sort();
        let mut signed = statement.subject.clone();
        signed.sort();
        let matches = signed == subjects
            && p.name == facts.name
            && p.version == facts.version
            && p.entry == facts.entry
            && p.index_annotations == facts.index_annotations
            && p.targets == facts.targets
            && p.attachments == facts.attachments
            && options.sequence.is_none_or(|s| s == p.sequence)
            && (requested_expiry.is_none() || requested_expiry == p.expires);
        matches.then(|| (env.clone(), statement))
    });

    let mut provenance_statement = None;
    let (envelope_bytes, statement, changed) = match current {
        Some((env, statement)) if !options.force && options.provenance.is_none() => {
            let bytes = canonical_json(&env).map_err(|source| Error::Json {
                what: "envelope",
                source,
            })?;
            ctx.reporter().status(
                "Unchanged",
                &format!("{published} is already signed by key {}", key_id.short()),
            );
            (bytes, statement, false)
        }
        _ => {
            let sequence = match options.sequence {
                Some(s) => s,
                None => sequence_of(&facts.version)?,
            };
            let statement = Statement::new(facts, sequence, rfc3339(signed_at), requested_expiry);
            let payload = canonical_json(&statement).map_err(|source| Error::Json {
                what: "statement",
                source,
            })?;
            let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
            let bytes = canonical_json(&envelope).map_err(|source| Error::Json {
                what: "envelope",
                source,
            })?;
            let provenance_bytes = match &options.provenance {
                Some(p) => {
                    let st = ProvenanceStatement::new(statement.subject.clone(), p.clone());
                    let payload = canonical_json(&st).map_err(|source| Error::Json {
                        what: "provenance statement",
                        source,
                    })?;
                    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
                    provenance_statement = Some(st);
                    Some(canonical_json(&envelope).map_err(|source| Error::Json {
                        what: "envelope",
                        source,
                    })?)
                }
                None => None,
            };
            let drop: Vec<Sha256Digest> =
                existing.iter().flat_map(|e| e.referrers.clone()).collect();
            attach(
                bundle,
                &info,
                &bytes,
                provenance_bytes.as_deref(),
                &key_id,
                &statement.predicate.signed_at,
                &drop,
            )?;
            ctx.reporter().status(
                "Signed",
                &format!(
                    "{} v{} with key {} ({published})",
                    statement.predicate.name,
                    statement.predicate.version,
                    key_id.short()
                ),
            );
            (bytes, statement, true)
        }
    };
    let envelope_digest = Sha256Digest::of_bytes(&envelope_bytes);
    if let Some(path) = &options.detached {
        crate::types::write_atomic(path, &envelope_bytes).map_err(|source| Error::WriteOutput {
            path: path.clone(),
            source,
        })?;
    }
    let minisig = if options.minisign {
        let dest = Utf8PathBuf::from(format!("{bundle}.minisig"));
        let comment = format!(
            "plugpack {} {} key {}",
            statement.predicate.name, statement.predicate.version, key_id
        );
        minisign::sign_file(key, bundle, &dest, &comment)?;
        Some(Utf8PathBuf::from(format!("{published}.minisig")))
    } else {
        None
    };
    let (file_sha256, _) = Sha256Digest::of_file(bundle).map_err(|source| {
        Error::Oci(oci::Error::Read {
            path: bundle.to_owned(),
            source,
        })
    })?;
    Ok(SignOutput {
        bundle: published.to_owned(),
        key_id,
        changed,
        envelope_digest,
        statement,
        detached: options.detached.clone(),
        minisig,
        file_sha256,
        provenance: provenance_statement,
    })
}

/// Attaches an existing (e.g. detached, or signed elsewhere) DSSE envelope file to every plugin
/// manifest of the bundle, like `cosign attach signature`. Nothing is checked here: the
/// verifier decides whether the envelope is any good.
pub fn attach_envelope_file(bundle: &Utf8Path, envelope: &Utf8Path) -> Result<Sha256Digest, Error> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(envelope).map_err(|source| Error::ReadEnvelope {
                path: envelope.to_owned(),
                source,
            })?,
            MAX_ENVELOPE_BYTES as u64 + 1,
        ),
        &mut bytes,
    )
    .map_err(|source| Error::ReadEnvelope {
        path: envelope.to_owned(),
        source,
    })?;
    attach_from(bundle, &bytes, envelope.as_str())
}

/// Like [`attach_envelope_file`], from bytes.
pub fn attach_envelope(bundle: &Utf8Path, envelope: &[u8]) -> Result<Sha256Digest, Error> {
    attach_from(bundle, envelope, "envelope")
}

/// `origin` names the envelope in errors (its file, when it came from one).
fn attach_from(bundle: &Utf8Path, envelope: &[u8], origin: &str) -> Result<Sha256Digest, Error> {
    let parsed = Envelope::parse(envelope, origin)?;
    let layout = oci::read_bundle(bundle)?;
    let info = oci::inspect(&layout)?;
    let key_id = parsed
        .signatures
        .first()
        .map(|s| KeyId(s.keyid.clone()))
        .unwrap_or_else(|| KeyId(String::new()));
    let created = info
        .manifests
        .first()
        .and_then(|m| {
            m.annotations
                .get("org.opencontainers.image.created")
                .cloned()
        })
        .unwrap_or_else(|| rfc3339(0));
    attach(bundle, &info, envelope, None, &key_id, &created, &[])?;
    Ok(Sha256Digest::of_bytes(envelope))
}

fn attach(
    bundle: &Utf8Path,
    info: &BundleInfo,
    envelope: &[u8],
    provenance: Option<&[u8]>,
    key_id: &KeyId,
    created: &str,
    drop: &[Sha256Digest],
) -> Result<(), Error> {
    let mut rebuilt = oci::rebuild(bundle)?;
    let builder = &mut rebuilt.builder;
    let drop: Vec<String> = drop.iter().map(ToString::to_string).collect();
    builder.retain_index_entries(|d| !drop.contains(&d.digest().to_string()));
    let short = key_id.short();
    for m in &info.manifests {
        let digest = Digest::from_str(&m.digest.to_string()).map_err(|source| {
            Error::Oci(oci::Error::Spec {
                what: "digest",
                source,
            })
        })?;
        let subject = DescriptorBuilder::default()
            .media_type(MediaType::ImageManifest)
            .digest(digest)
            .size(m.size)
            .build()
            .map_err(|source| {
                Error::Oci(oci::Error::Spec {
                    what: "descriptor",
                    source,
                })
            })?;
        let attachment = Attachment {
            target: m.target.clone().unwrap_or_default(),
            artifact_type: ENVELOPE_MEDIA_TYPE.to_owned(),
            media_type: ENVELOPE_MEDIA_TYPE.to_owned(),
            bytes: envelope.to_vec(),
            title: format!("signature-{short}.dsse.json"),
            subject_annotations: BTreeMap::new(),
        };
        match provenance {
            None => {
                builder.add_referrer(&subject, &attachment, created)?;
            }
            Some(provenance) => {
                let layers = [
                    oci::ReferrerLayer {
                        media_type: ENVELOPE_MEDIA_TYPE.to_owned(),
                        bytes: attachment.bytes,
                        title: attachment.title,
                    },
                    oci::ReferrerLayer {
                        media_type: ENVELOPE_MEDIA_TYPE.to_owned(),
                        bytes: provenance.to_vec(),
                        title: format!("provenance-{short}.dsse.json"),
                    },
                ];
                builder.add_referrer_layers(&subject, ENVELOPE_MEDIA_TYPE, &layers, created)?;
            }
        }
    }
    builder.prune_unreachable();
    let permissions = std::fs::metadata(bundle).map(|m| m.permissions()).ok();
    builder.write_checked(bundle, rebuilt.epoch)?;
    if let Some(permissions) = permissions {
        // The rewrite must not change who may read the bundle.
        std::fs::set_permissions(bundle, permissions).map_err(|source| {
            Error::Oci(oci::Error::Write {
                path: bundle.to_owned(),
                source,
            })
        })?;
    }
    // Our own validation accepted what we wrote (`write_checked`).
    Ok(())
}
