//! GitHub Actions output of `audit` and `package` (when `GITHUB_ACTIONS=true`): the core
//! writes the job summary and step outputs; this prints the annotations on stderr (the
//! runner reads workflow commands from both streams; stdout stays the command's result).

use std::io::Write;

use camino::Utf8Path;
use plugpack_core::Ctx;
use plugpack_core::audit::{AuditReport, sarif};
use plugpack_core::github::{self, Artifact, ReleaseSummary, Runner};
use plugpack_core::pipeline::PackageOutput;

use crate::exit::CliError;

fn publish(
    runner: &Runner,
    summary: &ReleaseSummary,
    outputs: &[(&str, String)],
    base: &Utf8Path,
) -> Result<(), CliError> {
    let published = github::publish(runner, summary, outputs, &sarif::uri_prefix_for(base))
        .map_err(|e| CliError::Io(std::io::Error::other(e.to_string())))?;
    let mut err = std::io::stderr().lock();
    for line in &published.annotations {
        writeln!(err, "{line}")?;
    }
    Ok(())
}

/// Paths in a summary as the repository shows them (relative to the checkout's top found
/// from `base`; absolute outside it).
fn repository_paths(base: &Utf8Path) -> impl Fn(&Utf8Path) -> String {
    let top = github::init_ci::repository_top(base);
    move |p: &Utf8Path| {
        p.canonicalize_utf8()
            .ok()
            .and_then(|c| c.strip_prefix(&top).ok().map(|r| r.to_string()))
            .unwrap_or_else(|| p.to_string())
    }
}

/// After `audit`: summary (verdicts, findings), annotations, outputs `audit-verdict`.
pub fn audit(reports: &[AuditReport], base: &Utf8Path, ctx: &Ctx) -> Result<(), CliError> {
    let Some(runner) = Runner::from_ctx(ctx) else {
        return Ok(());
    };
    let summary = ReleaseSummary {
        title: "plugpack audit".to_owned(),
        verdicts: github::audit_verdicts(reports),
        audits: reports.to_vec(),
        ..Default::default()
    };
    let outputs = [(
        "audit-verdict",
        github::worst_audit_verdict(reports).to_owned(),
    )];
    publish(&runner, &summary, &outputs, base)
}

/// After `package`: summary (verdicts, bundles with digests, findings), annotations, outputs
/// `bundles` (paths), `digests` (index or manifest digests), `audit-verdict`, one line per
/// bundle in the same order.
pub fn package(out: &PackageOutput, base: &Utf8Path, ctx: &Ctx) -> Result<(), CliError> {
    let Some(runner) = Runner::from_ctx(ctx) else {
        return Ok(());
    };
    let audits: Vec<AuditReport> = out.bundles.iter().map(|b| b.audit.clone()).collect();
    let shown = repository_paths(base);
    let mut artifacts = Vec::new();
    for b in &out.bundles {
        artifacts.push(Artifact {
            kind: format!("bundle {} v{}", b.plugin, b.version),
            path: shown(&b.path),
            digest: b.info.digest.to_string(),
        });
        if let Some(file_sha256) = &b.file_sha256 {
            artifacts.push(Artifact {
                kind: "bundle file (sha256sum)".to_owned(),
                path: shown(&b.path),
                digest: file_sha256.to_string(),
            });
        }
        if let Some(sig) = &b.signature {
            artifacts.push(Artifact {
                kind: format!("signature (key {})", sig.key_id),
                path: shown(&b.path),
                digest: sig.envelope_digest.to_string(),
            });
        }
    }
    let summary = ReleaseSummary {
        title: "plugpack package".to_owned(),
        verdicts: github::audit_verdicts(&audits),
        artifacts,
        audits: audits.clone(),
        ..Default::default()
    };
    let lines = |f: &dyn Fn(&plugpack_core::pipeline::WrittenBundle) -> String| {
        out.bundles.iter().map(f).collect::<Vec<_>>().join("\n")
    };
    let outputs = [
        ("bundles", lines(&|b| b.path.to_string())),
        ("digests", lines(&|b| b.info.digest.to_string())),
        (
            "audit-verdict",
            github::worst_audit_verdict(&audits).to_owned(),
        ),
    ];
    publish(&runner, &summary, &outputs, base)
}

/// After `release`: summary (verdicts, every file of the release directory with its sha256,
/// the ABI check per plugin, pushed references, findings), annotations, outputs `bundles`,
/// `digests`, `pushed`, `abi-verdict`, `audit-verdict` and `release-manifest`.
pub fn release(
    report: &plugpack_core::release::ReleaseReport,
    base: &Utf8Path,
    ctx: &Ctx,
) -> Result<(), CliError> {
    let Some(runner) = Runner::from_ctx(ctx) else {
        return Ok(());
    };
    let audits: Vec<AuditReport> = report.bundles.iter().map(|b| b.audit.clone()).collect();
    let shown = repository_paths(base);
    let manifest = &report.manifest;
    let artifacts = manifest
        .files
        .iter()
        .map(|f| Artifact {
            kind: f.kind.clone(),
            path: shown(&report.dir.join(&f.name)),
            digest: f.sha256.to_string(),
        })
        .collect();
    let abi = manifest
        .plugins
        .iter()
        .map(|p| github::AbiChange {
            plugin: format!("{} v{}", p.name, p.version),
            baseline: p
                .abi
                .baseline_version
                .clone()
                .or_else(|| p.abi.baseline.clone())
                .unwrap_or_else(|| "none".to_owned()),
            verdict: p
                .abi
                .verdict
                .clone()
                .unwrap_or_else(|| p.abi.status.clone()),
            detail: match p.abi.changes {
                Some(n) => format!("{n} change(s); the version bump covers them"),
                None => "no baseline configured".to_owned(),
            },
        })
        .collect();
    let pushed: Vec<String> = manifest
        .plugins
        .iter()
        .flat_map(|p| p.pushed.iter().map(|r| r.reference.clone()))
        .collect();
    let summary = ReleaseSummary {
        title: if manifest.dry_run {
            "plugpack release (dry run)".to_owned()
        } else {
            "plugpack release".to_owned()
        },
        verdicts: github::audit_verdicts(&audits),
        artifacts,
        abi,
        pushed: pushed.clone(),
        audits: audits.clone(),
    };
    let lines = |items: Vec<String>| items.join("\n");
    let outputs = [
        (
            "bundles",
            lines(report.bundles.iter().map(|b| b.path.to_string()).collect()),
        ),
        (
            "digests",
            lines(
                manifest
                    .plugins
                    .iter()
                    .map(|p| p.digest.to_string())
                    .collect(),
            ),
        ),
        ("pushed", lines(pushed)),
        ("abi-verdict", worst_abi_verdict(manifest)),
        (
            "audit-verdict",
            github::worst_audit_verdict(&audits).to_owned(),
        ),
        (
            "release-manifest",
            report.dir.join("plugpack-release.json").to_string(),
        ),
    ];
    publish(&runner, &summary, &outputs, base)
}

/// The largest ABI verdict over the released plugins (`major` > `minor` > `patch`), or
/// `no-baseline` when none was compared.
fn worst_abi_verdict(manifest: &plugpack_core::release::ReleaseManifest) -> String {
    let rank = |v: &str| match v {
        "major" => 3,
        "minor" => 2,
        "patch" => 1,
        _ => 0,
    };
    manifest
        .plugins
        .iter()
        .filter_map(|p| p.abi.verdict.clone())
        .max_by_key(|v| rank(v))
        .unwrap_or_else(|| "no-baseline".to_owned())
}
