//! Signature checks: each DSSE envelope against the keys of the policy's allowed roots
//! (revocation, validity windows, statement, subjects, predicate, expiry, age), then the
//! roots' thresholds over the distinct keys whose signatures are valid.
//!
//! A statement covers either the whole bundle (every manifest and, for a multi-target
//! bundle, the image index) or, in a multi-target bundle, exactly one plugin manifest: what
//! `sign` wrote on the runner that built that target, before `merge` combined the bundles.
//! The threshold is then counted per plugin manifest: a root is met when, for every
//! manifest, enough distinct keys of it made a valid statement covering that manifest. The
//! policy's `index-signature` requirement turns per-target statements off.

use std::collections::{BTreeMap, BTreeSet};

use super::{Failure, FailureCode, Requirement, Rule, Signer, TrustRoot, Verifier, VerifyReport};
use crate::oci::{BundleInfo, Layout};
use crate::sign::{
    BundleFacts, CLOCK_SKEW_SECS, Envelope, IN_TOTO_PAYLOAD_TYPE, KeyId, PREDICATE_TYPE,
    STATEMENT_TYPE, Statement, TargetRef, envelopes, parse_time,
};
use crate::types::{Sha256Digest, rfc3339};

/// Keys with a valid signature and the allowed roots they are valid in now.
type ValidSigners = Vec<(KeyId, Vec<String>)>;

/// A valid envelope: its signers, its statement and what it covers.
type ValidEnvelope = (ValidSigners, Statement, Coverage);

/// What a valid statement covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coverage {
    /// The whole bundle: every manifest and, for a multi-target bundle, the image index.
    Whole,
    /// One plugin manifest of a multi-target bundle (a per-target statement).
    Target(Sha256Digest),
}

impl Coverage {
    fn covers(self, manifest: &Sha256Digest) -> bool {
        match self {
            Coverage::Whole => true,
            Coverage::Target(m) => m == *manifest,
        }
    }
}

impl Verifier {
    /// Checks every envelope of the bundle and the thresholds of the rule's roots; pushes
    /// the signature failures (or, once a threshold is met, notes) and the signers into
    /// `report`, and returns each valid key with its roots and statement (its lowest
    /// sequence when it made several), sorted by key.
    pub(super) fn check_signatures(
        &self,
        layout: &Layout,
        info: &BundleInfo,
        facts: &BundleFacts,
        rule: &Rule,
        report: &mut VerifyReport,
    ) -> Vec<(KeyId, Vec<String>, Statement)> {
        // SLSA provenance envelopes are checked by `--require-provenance`, not counted here.
        let found: Vec<_> = envelopes(layout, info)
            .into_iter()
            .filter(|e| crate::sign::provenance_of(e).is_none())
            .collect();
        // Every (key, roots, statement, coverage) of a valid envelope.
        let mut all: Vec<(KeyId, Vec<String>, Statement, Coverage)> = Vec::new();
        let mut signature_failures = Vec::new();
        if found.is_empty() {
            signature_failures.push(Failure::new(
                FailureCode::NoSignature,
                "the bundle carries no DSSE signature (sign it with `cargo plugpack sign`)",
            ));
        }
        for envelope in &found {
            match self.check_envelope(envelope, info, facts, rule) {
                Ok((signers, statement, covered)) => all.extend(
                    signers
                        .into_iter()
                        .map(|(id, roots)| (id, roots, statement.clone(), covered)),
                ),
                Err(f) => signature_failures.push(f),
            }
        }

        // Threshold: some allowed root must be met, on every plugin manifest, by distinct
        // valid keys.
        let mut met = false;
        let mut shortfalls = Vec::new();
        for root_name in &rule.roots {
            let Some(root) = self.policy.roots.get(root_name) else {
                continue;
            };
            let short: Vec<String> = facts
                .targets
                .iter()
                .filter_map(|t| {
                    let keys: BTreeSet<&KeyId> = all
                        .iter()
                        .filter(|(_, roots, _, covered)| {
                            roots.contains(root_name) && covered.covers(&t.manifest)
                        })
                        .map(|(id, ..)| id)
                        .collect();
                    (keys.len() < root.threshold).then_some((t, keys.len()))
                })
                .map(|(t, count)| {
                    if facts.targets.len() == 1 {
                        format!(
                            "root `{root_name}` needs {} distinct signature(s) and has {count}",
                            root.threshold
                        )
                    } else {
                        format!(
                            "root `{root_name}` needs {} distinct signature(s) over manifest {} \
                             ({}) and has {count}",
                            root.threshold, t.manifest, t.target
                        )
                    }
                })
                .collect();
            if short.is_empty() {
                met = true;
            } else {
                shortfalls.extend(short);
            }
        }
        // Per-target statements cover the plugin manifests and their attachments; an
        // attachment of anything else (the image index) needs a whole-bundle statement.
        let whole = all.iter().any(|(.., covered)| *covered == Coverage::Whole);
        let uncovered: Vec<String> = if whole {
            Vec::new()
        } else {
            facts
                .attachments
                .iter()
                .filter(|a| {
                    let root = facts.described_manifest(&a.subject);
                    !facts.targets.iter().any(|t| t.manifest == root)
                })
                .map(|a| format!("{} ({}) of {}", a.kind, a.artifact_type, a.subject))
                .collect()
        };
        if met {
            report.notes.extend(signature_failures);
        } else {
            report.failures.extend(signature_failures);
            if !all.is_empty() {
                report.failures.push(Failure::new(
                    FailureCode::ThresholdNotMet,
                    shortfalls.join("; "),
                ));
            }
        }
        if !uncovered.is_empty() && !all.is_empty() {
            report.failures.push(Failure::new(
                FailureCode::PredicateMismatch,
                format!(
                    "attachment(s) {} are not covered by any signature: per-target \
                     signatures cover their own manifest's attachments only (sign the \
                     merged bundle to cover the index)",
                    uncovered.join(", ")
                ),
            ));
        }
        let mut valid: Vec<(KeyId, Vec<String>, Statement)> = all
            .into_iter()
            .map(|(id, roots, statement, _)| (id, roots, statement))
            .collect();
        // Conservative: a key's lowest sequence counts.
        valid.sort_by(|a, b| (&a.0, a.2.predicate.sequence).cmp(&(&b.0, b.2.predicate.sequence)));
        valid.dedup_by(|a, b| a.0 == b.0);
        report.signers = valid
            .iter()
            .map(|(id, roots, _)| Signer {
                key_id: id.clone(),
                roots: roots.clone(),
            })
            .collect();
        valid
    }

    /// Checks one envelope; on success returns the signers, their valid roots, the
    /// statement and the plugin manifests it covers (all of them for a whole-bundle
    /// statement, one for a per-target statement of a multi-target bundle).
    fn check_envelope(
        &self,
        found: &crate::sign::FoundEnvelope,
        info: &BundleInfo,
        facts: &BundleFacts,
        rule: &Rule,
    ) -> Result<ValidEnvelope, Failure> {
        use FailureCode as C;
        let envelope: &Envelope = found
            .envelope
            .as_ref()
            .map_err(|p| Failure::new(C::EnvelopeInvalid, p.clone()))?;
        let what = format!("envelope {}", found.digest);
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(Failure::new(
                C::EnvelopeInvalid,
                format!(
                    "{what} has payloadType `{}`, expected `{IN_TOTO_PAYLOAD_TYPE}`",
                    envelope.payload_type
                ),
            ));
        }
        // Keys of the allowed roots.
        let mut allowed: BTreeMap<KeyId, (&crate::sign::PublicKey, Vec<&TrustRoot>)> =
            BTreeMap::new();
        for name in &rule.roots {
            if let Some(root) = self.policy.roots.get(name) {
                for (id, key) in &root.keys {
                    allowed
                        .entry(id.clone())
                        .or_insert((key, Vec::new()))
                        .1
                        .push(root);
                }
            }
        }
        // Every allowed key with a valid signature in this envelope (DSSE allows several).
        let verified: Vec<(KeyId, Vec<&TrustRoot>)> = allowed
            .iter()
            .filter(|(_, (key, _))| envelope.verified_by(key))
            .map(|(id, (_, roots))| (id.clone(), roots.clone()))
            .collect();
        let claimed = envelope.claimed_key_ids();
        if verified.is_empty() {
            if let Some(id) = claimed.iter().find(|id| self.policy.revoked.contains(id)) {
                return Err(Failure::new(
                    C::KeyRevoked,
                    format!("{what} is signed by revoked key {id}"),
                ));
            }
            if let Some(id) = claimed.iter().find(|id| allowed.contains_key(id)) {
                return Err(Failure::new(
                    C::BadSignature,
                    format!(
                        "{what}: the signature of trusted key {id} does not verify (the \
                         envelope was modified)"
                    ),
                ));
            }
            let ids: Vec<String> = claimed.iter().map(|i| i.to_string()).collect();
            let elsewhere: Vec<&str> = self
                .policy
                .roots
                .values()
                .filter(|r| claimed.iter().any(|id| r.keys.contains_key(id)))
                .map(|r| r.name.as_str())
                .collect();
            let message = if elsewhere.is_empty() {
                format!(
                    "{what} is signed by key {} which is not in any trusted root",
                    ids.join(", ")
                )
            } else {
                format!(
                    "{what} is signed by key {} of root(s) {} which policy `{}` does not allow",
                    ids.join(", "),
                    elsewhere.join(", "),
                    rule.pattern
                )
            };
            return Err(Failure::new(C::UntrustedSigner, message));
        }
        let now = self.now();
        let mut signers: ValidSigners = Vec::new();
        let mut problem = None;
        for (key_id, roots) in verified {
            if self.policy.revoked.contains(&key_id) {
                problem.get_or_insert(Failure::new(
                    C::KeyRevoked,
                    format!("{what} is signed by revoked key {key_id}"),
                ));
                continue;
            }
            let in_window: Vec<String> = roots
                .iter()
                .filter(|r| {
                    r.not_before.is_none_or(|t| now >= t) && r.not_after.is_none_or(|t| now <= t)
                })
                .map(|r| r.name.clone())
                .collect();
            if in_window.is_empty() {
                let early = roots.iter().any(|r| r.not_before.is_some_and(|t| now < t));
                let (code, when) = if early {
                    (C::KeyNotYetValid, "is not valid yet")
                } else {
                    (C::KeyExpired, "is no longer valid")
                };
                let windows: Vec<String> = roots
                    .iter()
                    .map(|r| {
                        format!(
                            "root `{}` {}..{}",
                            r.name,
                            r.not_before.map(rfc3339).unwrap_or_default(),
                            r.not_after.map(rfc3339).unwrap_or_default()
                        )
                    })
                    .collect();
                problem.get_or_insert(Failure::new(
                    code,
                    format!("key {key_id} {when} ({})", windows.join(", ")),
                ));
                continue;
            }
            signers.push((key_id, in_window));
        }
        let Some(key_id) = signers.first().map(|(id, _)| id.clone()) else {
            return Err(problem.unwrap_or_else(|| {
                Failure::new(C::UntrustedSigner, format!("{what} has no usable signer"))
            }));
        };
        let payload = envelope
            .payload_bytes(&what)
            .map_err(|e| Failure::new(C::EnvelopeInvalid, e.to_string()))?;
        let text = std::str::from_utf8(&payload).map_err(|_| {
            Failure::new(C::EnvelopeInvalid, format!("{what}: payload is not UTF-8"))
        })?;
        let statement: Statement = serde_json::from_str(text).map_err(|e| {
            Failure::new(
                C::StatementInvalid,
                format!("{what}: payload is not a plugpack in-toto statement ({e})"),
            )
        })?;
        if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE
        {
            return Err(Failure::new(
                C::StatementInvalid,
                format!(
                    "{what}: statement type `{}` / predicate `{}` is not {STATEMENT_TYPE} / {PREDICATE_TYPE}",
                    statement.statement_type, statement.predicate_type
                ),
            ));
        }
        let mut expected: Vec<String> = facts
            .subjects
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|h| format!("sha256:{h}")))
            .collect();
        expected.sort();
        let signed = statement.subject_digests();
        let referrer_subjects_ok = found
            .subjects
            .iter()
            .all(|s| signed.contains(&s.to_string()));
        let p = &statement.predicate;
        let covered = if signed == expected && referrer_subjects_ok {
            whole_bundle_diffs(p, facts)
                .map(|()| Coverage::Whole)
                .map_err(|diffs| {
                    Failure::new(
                        C::PredicateMismatch,
                        format!("{what}: {}", diffs.join("; ")),
                    )
                })?
        } else {
            let target = self
                .per_target(&signed, found, facts, rule)
                .ok_or_else(|| {
                    let hint = if rule.require.contains(&Requirement::IndexSignature)
                        && signed.len() == 1
                        && facts
                            .targets
                            .iter()
                            .any(|t| t.manifest.to_string() == signed[0])
                    {
                        format!(
                            " (policy `{}` requires index-signature: one signature over the \
                             whole bundle; sign the merged bundle)",
                            rule.pattern
                        )
                    } else {
                        " (a signature taken from another bundle?)".to_owned()
                    };
                    Failure::new(
                        C::SubjectMismatch,
                        format!(
                            "{what} signs manifest(s) {} but this bundle has {}{hint}",
                            signed.join(", "),
                            expected.join(", ")
                        ),
                    )
                })?;
            per_target_diffs(p, facts, info, target)
                .map(|()| Coverage::Target(target.manifest))
                .map_err(|diffs| {
                    Failure::new(
                        C::PredicateMismatch,
                        format!("{what} (target {}): {}", target.target, diffs.join("; ")),
                    )
                })?
        };
        if let Some(expires) = &p.expires {
            match parse_time(expires) {
                Ok(t) if now > t => {
                    return Err(Failure::new(
                        C::SignatureExpired,
                        format!("{what} by key {key_id} expired at {expires}"),
                    ));
                }
                Ok(_) => {}
                Err(_) => {
                    return Err(Failure::new(
                        C::StatementInvalid,
                        format!("{what}: expiry `{expires}` is not RFC 3339"),
                    ));
                }
            }
        }
        let signed_at = parse_time(&p.signed_at).map_err(|_| {
            Failure::new(
                C::StatementInvalid,
                format!("{what}: signed_at `{}` is not RFC 3339", p.signed_at),
            )
        })?;
        // A signature from the future would look young for longer than `max_age` allows.
        if signed_at > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err(Failure::new(
                C::SignedInFuture,
                format!(
                    "{what} by key {key_id} claims to be made at {}, after the clock ({}) by \
                     more than the {CLOCK_SKEW_SECS}s allowed for clock skew",
                    p.signed_at,
                    rfc3339(now)
                ),
            ));
        }
        if let Some(max_age) = rule.max_age {
            if now.saturating_sub(signed_at) > max_age {
                return Err(Failure::new(
                    C::SignatureTooOld,
                    format!(
                        "{what} was made at {} which is older than the policy's max_age of {max_age}s",
                        p.signed_at
                    ),
                ));
            }
        }
        Ok((signers, statement, covered))
    }

    /// The plugin manifest a per-target statement covers: the bundle is multi-target, the
    /// policy does not require `index-signature`, and the statement and every referrer of
    /// the envelope name exactly that one manifest.
    fn per_target<'f>(
        &self,
        signed: &[String],
        found: &crate::sign::FoundEnvelope,
        facts: &'f BundleFacts,
        rule: &Rule,
    ) -> Option<&'f TargetRef> {
        let multi = facts.subjects.len() > facts.targets.len();
        if !multi || rule.require.contains(&Requirement::IndexSignature) {
            return None;
        }
        let [one] = signed else { return None };
        let target = facts
            .targets
            .iter()
            .find(|t| t.manifest.to_string() == *one)?;
        found
            .subjects
            .iter()
            .all(|s| *s == target.manifest)
            .then_some(target)
    }
}

/// What differs between a whole-bundle statement's predicate and the bundle.
fn whole_bundle_diffs(
    p: &crate::sign::PluginPredicate,
    facts: &BundleFacts,
) -> Result<(), Vec<String>> {
    let mut diffs = name_version_diffs(p, facts);
    if p.entry != facts.entry {
        diffs.push("the tagged index.json entry differs".to_owned());
    }
    if p.index_annotations != facts.index_annotations {
        diffs.push("the index.json annotations differ".to_owned());
    }
    let targets_covered = p.targets.len() == facts.targets.len()
        && p.targets
            .iter()
            .zip(&facts.targets)
            .all(|(s, a)| s.covers(a));
    if !targets_covered {
        diffs.push("targets or artifact digests differ".to_owned());
    }
    let present: Vec<_> = facts.attachments.iter().collect();
    attachment_diffs(&p.attachments, &present, &mut diffs);
    if diffs.is_empty() { Ok(()) } else { Err(diffs) }
}

/// What differs between a per-target statement (made on the runner that built one target,
/// before `merge`) and that target in this multi-target bundle. Its tagged entry was the
/// manifest's own descriptor: digest, media type, size, platform and the version tag must
/// match the index's descriptor of the manifest. Its `index.json` annotations described the
/// single-target bundle `merge` replaced and are not compared.
fn per_target_diffs(
    p: &crate::sign::PluginPredicate,
    facts: &BundleFacts,
    info: &BundleInfo,
    target: &TargetRef,
) -> Result<(), Vec<String>> {
    let mut diffs = name_version_diffs(p, facts);
    let entry = &p.entry;
    let field = |k: &str| entry.get(k).and_then(|v| v.as_str());
    let manifest = info.manifests.iter().find(|m| m.digest == target.manifest);
    let signed_platform = entry.get("platform").map(|pl| {
        format!(
            "{}/{}",
            pl.get("os").and_then(|v| v.as_str()).unwrap_or_default(),
            pl.get("architecture")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
        )
    });
    let entry_ok = field("digest") == Some(target.manifest.to_string().as_str())
        && field("mediaType") == Some("application/vnd.oci.image.manifest.v1+json")
        && entry.get("size").and_then(|v| v.as_u64()) == manifest.map(|m| m.size)
        && signed_platform == manifest.and_then(|m| m.platform.clone())
        && entry
            .pointer("/annotations/org.opencontainers.image.ref.name")
            .and_then(|v| v.as_str())
            == Some(facts.version.as_str());
    if !entry_ok {
        diffs.push(
            "the signed index.json entry is not this manifest's descriptor (digest, size, \
             platform or tag differ)"
                .to_owned(),
        );
    }
    if !(p.targets.len() == 1 && p.targets[0].covers(target)) {
        diffs.push("targets or artifact digests differ".to_owned());
    }
    let present: Vec<_> = facts
        .attachments
        .iter()
        .filter(|a| facts.described_manifest(&a.subject) == target.manifest)
        .collect();
    attachment_diffs(&p.attachments, &present, &mut diffs);
    if diffs.is_empty() { Ok(()) } else { Err(diffs) }
}

fn name_version_diffs(p: &crate::sign::PluginPredicate, facts: &BundleFacts) -> Vec<String> {
    let mut diffs = Vec::new();
    if p.name != facts.name {
        diffs.push(format!("name `{}` ≠ `{}`", p.name, facts.name));
    }
    if p.version != facts.version {
        diffs.push(format!("version `{}` ≠ tag `{}`", p.version, facts.version));
    }
    diffs
}

/// Attachments present but not signed, and signed but missing or changed.
fn attachment_diffs(
    signed: &[crate::sign::AttachmentRef],
    present: &[&crate::sign::AttachmentRef],
    diffs: &mut Vec<String>,
) {
    let signed: BTreeSet<_> = signed.iter().collect();
    let present: BTreeSet<_> = present.iter().copied().collect();
    for a in present.difference(&signed) {
        diffs.push(format!(
            "attachment {} ({}) is not covered by the signature",
            a.kind, a.artifact_type
        ));
    }
    for a in signed.difference(&present) {
        diffs.push(format!(
            "signed attachment {} ({}) is missing or changed",
            a.kind, a.artifact_type
        ));
    }
}
