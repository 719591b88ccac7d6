//! `verify --require-provenance`: the bundle must carry an SLSA provenance v1 statement,
//! signed by a key whose plugin signature counted, about exactly this bundle's manifests,
//! of plugpack's build type, and (when asked) built from `--source-uri` by `--builder-id`.
//! Each problem has its own code; nothing here uses the network.

use std::collections::BTreeSet;

use super::{Failure, FailureCode, Verifier, VerifyReport};
use crate::oci::{BundleInfo, Layout};
use crate::sign::{
    BUILD_TYPE, BundleFacts, KeyId, ProvenanceStatement, STATEMENT_TYPE, envelopes, provenance_of,
    source_matches,
};

/// What `verify --require-provenance` demands beyond a trusted, matching statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvenanceRequirement {
    /// `--source-uri`: the source repository (`https://github.com/o/r`; `git+` and an
    /// `@REF` suffix are ignored on both sides, as are a trailing `.git` and `/`).
    pub source_uri: Option<String>,
    /// `--builder-id`: `runDetails.builder.id`, compared exactly.
    pub builder_id: Option<String>,
}

impl Verifier {
    /// Checks the provenance statements against `requirement`, trusting only envelopes
    /// verified by one of `signers` (keys whose plugin signature counted). Pushes failures
    /// into `report` (all problems when no statement passes) and returns the accepted one.
    pub(super) fn check_provenance(
        &self,
        layout: &Layout,
        info: &BundleInfo,
        facts: &BundleFacts,
        signers: &[KeyId],
        requirement: &ProvenanceRequirement,
        report: &mut VerifyReport,
    ) -> Option<ProvenanceStatement> {
        use FailureCode as C;
        let keys: Vec<&crate::sign::PublicKey> = self
            .policy
            .roots
            .values()
            .flat_map(|r| r.keys.iter())
            .filter(|(id, _)| signers.contains(id))
            .map(|(_, key)| key)
            .collect();
        let expected: BTreeSet<String> = facts
            .subjects
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|h| format!("sha256:{h}")))
            .collect();
        let mut problems: Vec<Failure> = Vec::new();
        let mut seen = false;
        for found in envelopes(layout, info) {
            let Some(parsed) = provenance_of(&found) else {
                continue;
            };
            seen = true;
            let what = format!("provenance envelope {}", found.digest);
            let trusted = found
                .envelope
                .as_ref()
                .is_ok_and(|env| keys.iter().any(|k| env.verified_by(k)));
            if !trusted {
                problems.push(Failure::new(
                    C::ProvenanceUntrusted,
                    format!("{what} is not signed by a key whose signature of this bundle counted"),
                ));
                continue;
            }
            let statement = match parsed {
                Ok(s) => s,
                Err(problem) => {
                    problems.push(Failure::new(C::ProvenanceInvalid, problem));
                    continue;
                }
            };
            let build_type = &statement.predicate.build_definition.build_type;
            if statement.statement_type != STATEMENT_TYPE || build_type != BUILD_TYPE {
                problems.push(Failure::new(
                    C::ProvenanceInvalid,
                    format!(
                        "{what}: statement type `{}` / build type `{build_type}` is not {STATEMENT_TYPE} / {BUILD_TYPE}",
                        statement.statement_type
                    ),
                ));
                continue;
            }
            let signed: BTreeSet<String> = statement
                .subject
                .iter()
                .filter_map(|s| s.digest.get("sha256").map(|h| format!("sha256:{h}")))
                .collect();
            if signed != expected {
                problems.push(Failure::new(
                    C::ProvenanceInvalid,
                    format!(
                        "{what} is about {} but this bundle has {} (provenance of another build?)",
                        signed.into_iter().collect::<Vec<_>>().join(", "),
                        expected.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
                continue;
            }
            let mut ok = true;
            if let Some(want) = &requirement.source_uri {
                let recorded = statement.predicate.source().and_then(|d| d.uri.clone());
                if !recorded
                    .as_deref()
                    .is_some_and(|uri| source_matches(uri, want))
                {
                    ok = false;
                    problems.push(Failure::new(
                        C::ProvenanceSourceMismatch,
                        format!(
                            "{what}: built from {}, not {want}",
                            recorded.as_deref().unwrap_or("an unrecorded source")
                        ),
                    ));
                }
            }
            if let Some(want) = &requirement.builder_id {
                let id = &statement.predicate.run_details.builder.id;
                if id != want {
                    ok = false;
                    problems.push(Failure::new(
                        C::ProvenanceBuilderMismatch,
                        format!("{what}: built by builder `{id}`, not `{want}`"),
                    ));
                }
            }
            if ok {
                return Some(statement);
            }
        }
        if !seen {
            problems.push(Failure::new(
                C::ProvenanceMissing,
                "the bundle carries no SLSA provenance statement (sign it with `cargo plugpack \
                 release` or `cargo plugpack sign --provenance`)",
            ));
        }
        report.failures.extend(problems);
        None
    }
}
