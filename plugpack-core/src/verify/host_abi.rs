//! The host ABI check (`guard` feature, [`Verifier::host_abi`](super::Verifier::host_abi)):
//! the verified plugin artifacts, extracted and re-hashed, against the interface the host
//! was built for, with type hashes from the signed ABI attachment for symbols-level builds.

use std::collections::BTreeSet;

use camino::{Utf8Path, Utf8PathBuf};

use super::{AbiStatus, Error, Failure, FailureCode, VerifiedArtifact, VerifyReport};
use crate::oci::{self, BundleInfo, Layout};

/// Extracts the plugin artifacts of `bundle` into a scratch directory (re-hashing them),
/// runs the ABI guard on each and records the outcome; true when the bundle must be
/// rejected for its ABI.
pub(super) fn check_host_abi(
    bundle: &Utf8Path,
    layout: &Layout,
    info: &BundleInfo,
    expectation: &crate::guard::AbiExpectation,
    report: &mut VerifyReport,
) -> Result<bool, Error> {
    use crate::guard::{self, Incompatible, Reason};

    let scratch_err = |source| Error::ReadLayout {
        path: bundle.to_owned(),
        source,
    };
    let scratch = tempfile::tempdir().map_err(scratch_err)?;
    let dir = Utf8Path::from_path(scratch.path()).ok_or_else(|| {
        scratch_err(std::io::Error::other(format!(
            "non-UTF-8 temporary path {}",
            scratch.path().display()
        )))
    })?;
    let files = match oci::extract(bundle, dir) {
        Ok(files) => files,
        Err(oci::Error::Invalid { problem, .. }) => {
            report
                .failures
                .push(Failure::new(FailureCode::BundleInvalid, problem));
            return Ok(true);
        }
        Err(e) => return Err(e.into()),
    };
    let mut outcomes = Vec::new();
    for artifact in &report.artifacts {
        let name = artifact
            .file_name
            .clone()
            .unwrap_or_else(|| artifact.digest.to_string());
        let shown = Utf8PathBuf::from(format!("{}/{name}", artifact.target));
        let unreadable = |error: String| Incompatible {
            path: shown.clone(),
            reasons: vec![Reason::Unreadable { error }],
        };
        let outcome = match files
            .iter()
            .find(|f| f.digest == artifact.digest && f.target == artifact.target)
        {
            None => Err(unreadable(
                "the artifact was not extracted from the bundle".to_owned(),
            )),
            Some(file) => match crate::fingerprint::fingerprint_file(&file.path) {
                Err(e) => Err(unreadable(error_chain(&e))),
                Ok(doc) => match types_from_attachment(layout, info, artifact, &doc) {
                    Ok(Some(attached)) => guard::check(&shown, &attached, expectation),
                    Ok(None) => guard::check(&shown, &doc, expectation),
                    Err(problem) => Err(unreadable(problem)),
                },
            },
        };
        outcomes.push((shown, outcome));
    }
    let wrong_platform = |bad: &Incompatible| {
        bad.reasons
            .iter()
            .any(|r| matches!(r, Reason::WrongTarget { .. }))
    };
    let host_platform_present = outcomes.iter().any(|(_, o)| match o {
        Ok(_) => true,
        Err(bad) => !wrong_platform(bad),
    });
    let mut failed = outcomes.is_empty();
    if failed {
        report.failures.push(Failure::new(
            FailureCode::AbiIncompatible,
            "the bundle has no plugin artifact to check against the host ABI",
        ));
    }
    for (artifact, (shown, outcome)) in report.artifacts.iter_mut().zip(outcomes) {
        artifact.abi = Some(match outcome {
            Ok(ok) => AbiStatus::Compatible {
                fingerprint: ok.fingerprint,
                detail: ok.detail.to_string(),
            },
            Err(bad) => {
                let reasons: Vec<String> = bad.reasons.iter().map(ToString::to_string).collect();
                if host_platform_present && wrong_platform(&bad) {
                    AbiStatus::OtherPlatform { reasons }
                } else {
                    failed = true;
                    report.failures.push(Failure::new(
                        FailureCode::AbiIncompatible,
                        format!(
                            "{shown} does not match the host ABI: {}",
                            reasons.join("; ")
                        ),
                    ));
                    AbiStatus::Incompatible { reasons }
                }
            }
        });
    }
    Ok(failed)
}

/// Release artifacts usually ship without DWARF, so their own bytes give only the symbols
/// level. `package` attaches the types-level document of the same build (from a companion
/// build with full debuginfo, export set checked equal) as a signed referrer. When the
/// artifact itself is symbols-level, use that document for the type hashes, after checking
/// it describes these bytes: same platform, same exports (name and kind), same imports
/// (name and signature), and the fingerprint annotated on the signed manifest.
/// `Ok(None)`: no attachment to use (the artifact's own fingerprint stands).
fn types_from_attachment(
    layout: &Layout,
    info: &BundleInfo,
    artifact: &VerifiedArtifact,
    own: &crate::fingerprint::AbiFingerprint,
) -> Result<Option<crate::fingerprint::AbiFingerprint>, String> {
    use crate::fingerprint::{self, AbiFingerprint, Detail, SymbolKind};

    if own.detail != Detail::Symbols {
        return Ok(None);
    }
    let Some(manifest) = info.manifests.iter().find(|m| {
        m.target.clone().unwrap_or_default() == artifact.target
            && m.layers.iter().any(|l| l.digest == artifact.digest)
    }) else {
        return Ok(None);
    };
    let Some(layer) = info
        .referrers
        .iter()
        .filter(|r| {
            r.subject == manifest.digest
                && r.artifact_type.as_deref() == Some(fingerprint::MEDIA_TYPE)
        })
        .flat_map(|r| &r.layers)
        .next()
    else {
        return Ok(None);
    };
    let origin = Utf8PathBuf::from(format!("ABI attachment {}", layer.digest));
    let bytes = layout
        .json_blob(&layer.digest)
        .ok_or_else(|| format!("{origin} is not a JSON document"))?;
    let attached = AbiFingerprint::from_json(&origin, bytes).map_err(|e| error_chain(&e))?;
    let exports = |d: &AbiFingerprint| -> BTreeSet<(String, SymbolKind)> {
        d.exports.iter().map(|s| (s.name.clone(), s.kind)).collect()
    };
    let imports = |d: &AbiFingerprint| -> BTreeSet<(String, String)> {
        d.imports
            .iter()
            .map(|s| (s.name.clone(), s.signature.clone()))
            .collect()
    };
    let same_platform = attached.format == own.format
        && attached.architecture == own.architecture
        && attached.pointer_width == own.pointer_width;
    if !same_platform || exports(&attached) != exports(own) || imports(&attached) != imports(own) {
        return Err(format!(
            "{origin} does not describe the artifact {} (platform, exports or imports differ)",
            artifact.digest
        ));
    }
    if let Some(annotated) = manifest.annotations.get(fingerprint::ANNOTATION)
        && *annotated != attached.fingerprint.to_string()
    {
        return Err(format!(
            "{origin} has fingerprint {} but the signed manifest says {annotated}",
            attached.fingerprint
        ));
    }
    Ok(Some(attached))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
