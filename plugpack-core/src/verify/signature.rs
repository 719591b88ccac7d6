//! Signature checks: each DSSE envelope against the keys of the policy's allowed roots
//! (revocation, validity windows, statement, subjects, predicate, expiry, age), then the
//! roots' thresholds over the distinct keys whose signatures are valid.

use std::collections::{BTreeMap, BTreeSet};

use super::{Failure, FailureCode, Rule, Signer, TrustRoot, Verifier, VerifyReport};
use crate::oci::{BundleInfo, Layout};
use crate::sign::{
    BundleFacts, CLOCK_SKEW_SECS, Envelope, IN_TOTO_PAYLOAD_TYPE, KeyId, PREDICATE_TYPE,
    STATEMENT_TYPE, Statement, envelopes, parse_time,
};
use crate::types::rfc3339;

/// Keys with a valid signature and the allowed roots they are valid in now.
type ValidSigners = Vec<(KeyId, Vec<String>)>;

impl Verifier {
    /// Checks every envelope of the bundle and the thresholds of the rule's roots; pushes
    /// the signature failures (or, once a threshold is met, notes) and the signers into
    /// `report`, and returns each valid key with its roots and statement, sorted by key.
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
        let mut valid: Vec<(KeyId, Vec<String>, Statement)> = Vec::new();
        let mut signature_failures = Vec::new();
        if found.is_empty() {
            signature_failures.push(Failure::new(
                FailureCode::NoSignature,
                "the bundle carries no DSSE signature (sign it with `cargo plugpack sign`)",
            ));
        }
        for envelope in &found {
            match self.check_envelope(envelope, facts, rule) {
                Ok((signers, statement)) => valid.extend(
                    signers
                        .into_iter()
                        .map(|(id, roots)| (id, roots, statement.clone())),
                ),
                Err(f) => signature_failures.push(f),
            }
        }
        valid.sort_by(|a, b| a.0.cmp(&b.0));
        valid.dedup_by(|a, b| a.0 == b.0);

        // Threshold: some allowed root must be met by distinct valid keys.
        let mut met = false;
        let mut shortfalls = Vec::new();
        for root_name in &rule.roots {
            let Some(root) = self.policy.roots.get(root_name) else {
                continue;
            };
            let count = valid
                .iter()
                .filter(|(_, roots, _)| roots.contains(root_name))
                .count();
            if count >= root.threshold {
                met = true;
            } else {
                shortfalls.push(format!(
                    "root `{root_name}` needs {} distinct signature(s) and has {count}",
                    root.threshold
                ));
            }
        }
        if met {
            report.notes.extend(signature_failures);
        } else {
            report.failures.extend(signature_failures);
            if !valid.is_empty() {
                report.failures.push(Failure::new(
                    FailureCode::ThresholdNotMet,
                    shortfalls.join("; "),
                ));
            }
        }
        report.signers = valid
            .iter()
            .map(|(id, roots, _)| Signer {
                key_id: id.clone(),
                roots: roots.clone(),
            })
            .collect();
        valid
    }

    /// Checks one envelope; on success returns the signer, its valid roots and statement.
    pub(super) fn check_envelope(
        &self,
        found: &crate::sign::FoundEnvelope,
        facts: &BundleFacts,
        rule: &Rule,
    ) -> Result<(ValidSigners, Statement), Failure> {
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
        if signed != expected || !referrer_subjects_ok {
            return Err(Failure::new(
                C::SubjectMismatch,
                format!(
                    "{what} signs manifest(s) {} but this bundle has {} (a signature taken \
                     from another bundle?)",
                    signed.join(", "),
                    expected.join(", ")
                ),
            ));
        }
        let p = &statement.predicate;
        let mut diffs = Vec::new();
        if p.name != facts.name {
            diffs.push(format!("name `{}` ≠ `{}`", p.name, facts.name));
        }
        if p.version != facts.version {
            diffs.push(format!("version `{}` ≠ tag `{}`", p.version, facts.version));
        }
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
        if p.attachments != facts.attachments {
            let signed: BTreeSet<_> = p.attachments.iter().collect();
            let present: BTreeSet<_> = facts.attachments.iter().collect();
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
        if !diffs.is_empty() {
            return Err(Failure::new(
                C::PredicateMismatch,
                format!("{what}: {}", diffs.join("; ")),
            ));
        }
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
        Ok((signers, statement))
    }
}
