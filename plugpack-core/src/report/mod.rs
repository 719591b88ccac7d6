//! The compliance report of one bundle (`plugpack-report/1`): who signed it, what is inside,
//! which licences and obligations come with it, which advisories apply and which were
//! waived and why, built **only from what the bundle carries** (its manifests and
//! referrers: CycloneDX SBOM, audit report, ABI fingerprint, notices, DSSE envelopes). No
//! cargo, no network: a reviewer can run it anywhere.
//!
//! [`build`] reads the bundle into a [`Report`]; [`render_markdown`], [`render_json`] and
//! [`render_html`] turn it into Markdown, JSON or a self-contained HTML page
//! (`templates/report.html.j2`, or a user's template).
//!
//! Determinism: every list is sorted; nothing depends on the clock or the machine (the
//! bundle path is not recorded, only its file name).

mod model;
mod render;

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;

pub use model::*;
pub(crate) use render::md as markdown_escape;
pub use render::{render_html, render_json, render_markdown};

use crate::oci::{self, BundleInfo, Layout};

/// `schema` of the JSON report.
pub const SCHEMA: &str = "plugpack-report/1";

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An attachment of the bundle does not parse.
    #[error("{path}: the {what} attachment does not parse: {reason}")]
    Attachment {
        /// The bundle.
        path: Utf8PathBuf,
        /// Which attachment.
        what: String,
        /// Why.
        reason: String,
    },
    /// A `--template` file cannot be read.
    #[error("cannot read the template {path}")]
    Template {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Rendering the template failed (names the template and the place).
    #[error("cannot render the report template `{name}`: {reason}")]
    Render {
        /// Template name.
        name: String,
        /// minijinja's message.
        reason: String,
    },
    /// Writing failed.
    #[error("cannot write {path}")]
    Write {
        /// Destination.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What `report` is given besides the bundle.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// `--key`/`--policy`: the verification to run (its outcome goes into the verdict card);
    /// `None` shows "not verified".
    pub verify: Option<crate::verify::VerifyOptions>,
    /// `--baseline BUNDLE|JSON`: the ABI to compare against.
    pub baseline: Option<Utf8PathBuf>,
}

/// Builds the report of `bundle`.
pub fn build(
    bundle: &Utf8Path,
    options: &ReportOptions,
    ctx: &crate::ctx::Ctx,
) -> Result<Report, crate::Error> {
    let layout = oci::read_bundle(bundle)?;
    let info = oci::inspect(&layout)?;
    let docs = Attachments::read(&layout, &info, bundle)?;
    let mut report = Report {
        schema: SCHEMA.to_owned(),
        bundle: bundle.file_name().unwrap_or_default().to_owned(),
        plugin: plugin_facts(&info),
        verification: signature_facts(&docs.envelopes),
        audit: docs.audit.as_ref().map(audit_facts),
        reproducibility: reproducibility(&docs.sboms),
        artifacts: artifacts(&info),
        abi_diff: None,
        advisories: docs.audit.as_ref().map(advisories).unwrap_or_default(),
        other_findings: docs.audit.as_ref().map(other_findings).unwrap_or_default(),
        licenses: licenses(&docs),
        crates: crates(&docs.sboms),
        trees: trees(&docs.sboms),
    };
    if let Some(verify) = &options.verify {
        let mut verify = verify.clone();
        verify.bundle = bundle.to_owned();
        let result = crate::verify::verify(&verify, ctx)?;
        report.verification.status = if result.verified {
            "verified".to_owned()
        } else {
            "rejected".to_owned()
        };
        report.verification.policy = result.policy.clone();
        report.verification.verified_signers = result
            .signers
            .iter()
            .map(|s| s.key_id.to_string())
            .collect();
        report.verification.failures = result.failures.iter().map(|f| f.message.clone()).collect();
    }
    if let Some(baseline) = &options.baseline {
        let diff = crate::fingerprint::diff_paths(baseline, bundle)?;
        report.abi_diff = Some(AbiDiffFacts {
            baseline: baseline.file_name().unwrap_or_default().to_owned(),
            verdict: diff.verdict.to_string(),
            changes: diff
                .changes
                .iter()
                .map(|c| format!("{}: {} ({})", c.bump, c.symbol, c.reason))
                .collect(),
        });
    }
    Ok(report)
}

/// The referrer documents a report reads.
struct Attachments {
    /// CycloneDX documents by target.
    sboms: BTreeMap<String, Value>,
    /// The audit report (one per plugin; the same bytes on every target).
    audit: Option<Value>,
    /// The notices document.
    notices: Option<crate::notices::Notices>,
    /// DSSE envelopes.
    envelopes: Vec<Value>,
}

impl Attachments {
    fn read(layout: &Layout, info: &BundleInfo, bundle: &Utf8Path) -> Result<Self, Error> {
        let files = oci::attachment_files(info);
        let mut out = Attachments {
            sboms: BTreeMap::new(),
            audit: None,
            notices: None,
            envelopes: Vec::new(),
        };
        for f in &files {
            let Some(bytes) = layout.json_blob(&f.digest) else {
                continue;
            };
            let parse = |what: &str| -> Result<Value, Error> {
                serde_json::from_slice(bytes).map_err(|e| Error::Attachment {
                    path: bundle.to_owned(),
                    what: format!("{what} ({})", f.name),
                    reason: e.to_string(),
                })
            };
            match f.artifact_type.as_deref() {
                Some(crate::sbom::MEDIA_TYPE) => {
                    let target = f.target.clone().unwrap_or_default();
                    out.sboms.insert(target, parse("CycloneDX")?);
                }
                Some(crate::audit::MEDIA_TYPE) if out.audit.is_none() => {
                    out.audit = Some(parse("audit")?);
                }
                Some(crate::notices::MEDIA_TYPE) if out.notices.is_none() => {
                    out.notices = Some(crate::notices::Notices::from_json(bytes, bundle).map_err(
                        |e| Error::Attachment {
                            path: bundle.to_owned(),
                            what: f.name.clone(),
                            reason: e.to_string(),
                        },
                    )?);
                }
                Some(crate::sign::ENVELOPE_MEDIA_TYPE) => out.envelopes.push(parse("DSSE")?),
                _ => {}
            }
        }
        Ok(out)
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn plugin_facts(info: &BundleInfo) -> PluginFacts {
    let ann = |key: &str| {
        info.manifests
            .iter()
            .find_map(|m| m.annotations.get(key).cloned())
    };
    PluginFacts {
        name: ann(oci::PLUGIN_ANNOTATION).unwrap_or_else(|| "(unnamed)".to_owned()),
        version: ann("org.opencontainers.image.version"),
        tag: info.tag.clone(),
        digest: info.digest.to_string(),
        kind: ann(oci::KIND_ANNOTATION),
        revision: ann(oci::REVISION_ANNOTATION),
        targets: info
            .manifests
            .iter()
            .filter_map(|m| m.target.clone())
            .collect(),
    }
}

fn signature_facts(envelopes: &[Value]) -> VerificationFacts {
    let mut key_ids = BTreeSet::new();
    for e in envelopes {
        for s in e
            .get("signatures")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = str_of(s, "keyid") {
                key_ids.insert(k);
            }
        }
    }
    VerificationFacts {
        status: "not-verified".to_owned(),
        signatures: envelopes.len(),
        key_ids: key_ids.into_iter().collect(),
        policy: None,
        verified_signers: Vec::new(),
        failures: Vec::new(),
    }
}

fn audit_facts(audit: &Value) -> AuditFacts {
    let summary = audit.get("summary").cloned().unwrap_or(Value::Null);
    let count = |k: &str| summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    let db = audit.get("database").cloned().unwrap_or(Value::Null);
    AuditFacts {
        outcome: str_of(audit, "outcome").unwrap_or_else(|| "unknown".to_owned()),
        advisories: str_of(audit, "advisories").unwrap_or_else(|| "unknown".to_owned()),
        database: if db.is_null() {
            None
        } else {
            Some(
                [
                    str_of(&db, "commit").map(|c| format!("commit {c}")),
                    str_of(&db, "last_updated")
                        .or_else(|| str_of(&db, "updated"))
                        .map(|d| format!("updated {d}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            )
        },
        denied: count("denied"),
        warnings: count("warnings"),
        ignored: count("ignored"),
        tool: str_of(audit, "tool"),
    }
}

fn property(component: &Value, name: &str) -> Option<String> {
    component
        .get("properties")
        .and_then(Value::as_array)?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| str_of(p, "value"))
}

fn reproducibility(sboms: &BTreeMap<String, Value>) -> ReproducibilityFacts {
    let first = sboms.values().next();
    let meta = first.and_then(|d| d.get("metadata"));
    let root = meta.and_then(|m| m.get("component"));
    ReproducibilityFacts {
        timestamp: meta.and_then(|m| str_of(m, "timestamp")),
        toolchain: root.and_then(|r| property(r, "plugpack:rustc:version")),
        profile: root.and_then(|r| property(r, "plugpack:cargo:profile")),
        exact_dependency_set: root
            .and_then(|r| property(r, "plugpack:dependency-set:exact"))
            .map(|v| v == "true"),
    }
}

fn artifacts(info: &BundleInfo) -> Vec<ArtifactFacts> {
    let mut out = Vec::new();
    for m in &info.manifests {
        for l in &m.layers {
            if l.media_type != oci::WASM_LAYER_MEDIA_TYPE
                && l.media_type != oci::CDYLIB_LAYER_MEDIA_TYPE
            {
                continue;
            }
            out.push(ArtifactFacts {
                target: m.target.clone().unwrap_or_default(),
                file: l.title.clone().unwrap_or_default(),
                digest: l.digest.to_string(),
                size: l.size,
                abi_fingerprint: m.annotations.get(crate::fingerprint::ANNOTATION).cloned(),
                abi_detail: m
                    .annotations
                    .get(crate::fingerprint::DETAIL_ANNOTATION)
                    .cloned(),
            });
        }
    }
    out.sort_by(|a, b| (&a.target, &a.file).cmp(&(&b.target, &b.file)));
    out
}

fn advisories(audit: &Value) -> Vec<AdvisoryFacts> {
    let mut out: Vec<AdvisoryFacts> = audit
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.get("id").is_some())
        .map(|f| {
            let package = f.get("package").cloned().unwrap_or(Value::Null);
            let severity = f.get("severity").cloned().unwrap_or(Value::Null);
            let ignored = f.get("ignored").filter(|v| !v.is_null());
            let level = str_of(f, "level").unwrap_or_default();
            let status = match (ignored, level.as_str()) {
                (Some(_), _) => "ignored",
                (None, "deny") => "denied",
                (None, "warn") => "warned",
                (None, _) => "allowed",
            };
            let list = |key: &str| -> Vec<String> {
                f.get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            };
            AdvisoryFacts {
                id: str_of(f, "id").unwrap_or_default(),
                aliases: list("aliases"),
                kind: str_of(f, "code").unwrap_or_default(),
                title: str_of(f, "message").unwrap_or_default(),
                crate_name: str_of(&package, "name").unwrap_or_default(),
                crate_version: str_of(&package, "version").unwrap_or_default(),
                path: list("path").join(" > "),
                patched: list("patched"),
                severity: str_of(&severity, "rating"),
                cvss_score: severity.get("score").and_then(Value::as_f64),
                cvss_vector: str_of(&severity, "vector"),
                status: status.to_owned(),
                ignore_reason: ignored.and_then(|i| str_of(i, "reason")),
                ignore_until: ignored.and_then(|i| str_of(i, "until")),
                vex: ignored.and_then(|i| str_of(i, "vex")),
                build_only: f
                    .get("build_only")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                url: str_of(f, "url"),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.id, &a.crate_name).cmp(&(&b.id, &b.crate_name)));
    out
}

fn other_findings(audit: &Value) -> Vec<FindingFacts> {
    let mut out: Vec<FindingFacts> = audit
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.get("id").is_none())
        .map(|f| FindingFacts {
            code: str_of(f, "code").unwrap_or_default(),
            level: str_of(f, "level").unwrap_or_default(),
            message: str_of(f, "message").unwrap_or_default(),
            crate_name: f
                .get("package")
                .and_then(|p| str_of(p, "name"))
                .unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.code, &a.crate_name, &a.message).cmp(&(&b.code, &b.crate_name, &b.message))
    });
    out
}

/// `(name, version)` → (declared licence, build-only on every target).
fn sbom_crates(sboms: &BTreeMap<String, Value>) -> BTreeMap<(String, String), (String, bool)> {
    let mut out: BTreeMap<(String, String), (String, bool)> = BTreeMap::new();
    for doc in sboms.values() {
        for c in doc
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let license = c
                .get("licenses")
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .and_then(|l| {
                    str_of(l, "expression")
                        .or_else(|| l.get("license").and_then(|n| str_of(n, "name")))
                })
                .unwrap_or_else(|| "(none declared)".to_owned());
            let build_only = str_of(c, "scope").as_deref() == Some("excluded");
            let key = (
                str_of(c, "name").unwrap_or_default(),
                str_of(c, "version").unwrap_or_default(),
            );
            out.entry(key)
                .and_modify(|e| e.1 &= build_only)
                .or_insert((license, build_only));
        }
    }
    out
}

fn crates(sboms: &BTreeMap<String, Value>) -> Vec<CrateFacts> {
    sbom_crates(sboms)
        .into_iter()
        .map(|((name, version), (license, build_only))| CrateFacts {
            name,
            version,
            license,
            build_only,
        })
        .collect()
}

fn licenses(docs: &Attachments) -> LicenseFacts {
    let all = sbom_crates(&docs.sboms);
    let audit_licences: BTreeMap<(String, String), &Value> = docs
        .audit
        .as_ref()
        .and_then(|a| a.get("licenses"))
        .and_then(|l| l.get("packages"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            (
                (
                    str_of(p, "name").unwrap_or_default(),
                    str_of(p, "version").unwrap_or_default(),
                ),
                p,
            )
        })
        .collect();
    let notices: BTreeMap<(String, String), &crate::notices::CrateNotice> = docs
        .notices
        .iter()
        .flat_map(|n| n.crates.iter())
        .map(|c| ((c.name.clone(), c.version.clone()), c))
        .collect();
    let mut summary: BTreeMap<String, usize> = BTreeMap::new();
    let mut crates = Vec::new();
    for ((name, version), (declared, build_only)) in &all {
        if *build_only {
            continue;
        }
        let key = (name.clone(), version.clone());
        let audit = audit_licences.get(&key);
        let concluded = audit.and_then(|a| str_of(a, "concluded"));
        *summary
            .entry(concluded.clone().unwrap_or_else(|| declared.clone()))
            .or_default() += 1;
        let notice = notices.get(&key);
        crates.push(CrateLicense {
            name: name.clone(),
            version: version.clone(),
            declared: declared.clone(),
            concluded,
            verdict: audit.and_then(|a| str_of(a, "verdict")),
            why: audit.and_then(|a| str_of(a, "source")),
            notices_collected: docs.notices.is_some(),
            copyrights: notice.map(|n| n.copyrights.clone()).unwrap_or_default(),
            notice_texts: notice
                .map(|n| {
                    n.notice_files
                        .iter()
                        .map(|f| NoticeText {
                            file: f.file.clone(),
                            text: docs
                                .notices
                                .as_ref()
                                .and_then(|d| d.text(&f.text))
                                .unwrap_or_default()
                                .to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            license_text_missing: notice.is_some_and(|n| n.missing_license_text),
        });
    }
    LicenseFacts {
        plugin_license: docs
            .audit
            .as_ref()
            .and_then(|a| a.get("licenses"))
            .and_then(|l| str_of(l, "plugin_license")),
        summary: summary
            .into_iter()
            .map(|(license, crates)| LicenseCount { license, crates })
            .collect(),
        crates,
    }
}

fn trees(sboms: &BTreeMap<String, Value>) -> Vec<TreeFacts> {
    sboms
        .iter()
        .map(|(target, doc)| {
            let mut names: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
            let root = doc.get("metadata").and_then(|m| m.get("component"));
            for c in root.into_iter().chain(
                doc.get("components")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            ) {
                if let Some(r) = str_of(c, "bom-ref") {
                    names.insert(
                        r,
                        (
                            str_of(c, "name").unwrap_or_default(),
                            str_of(c, "version").unwrap_or_default(),
                            str_of(c, "scope").as_deref() == Some("excluded"),
                        ),
                    );
                }
            }
            let edges: BTreeMap<String, Vec<String>> = doc
                .get("dependencies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| {
                    let from = str_of(d, "ref")?;
                    let to = d
                        .get("dependsOn")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    Some((from, to))
                })
                .collect();
            let root_ref = root.and_then(|r| str_of(r, "bom-ref")).unwrap_or_default();
            let mut seen = BTreeSet::new();
            TreeFacts {
                target: target.clone(),
                root: node(&root_ref, &names, &edges, &mut seen, 0),
            }
        })
        .collect()
}

/// One tree node; a crate already shown is not expanded again (`repeated`).
fn node(
    r: &str,
    names: &BTreeMap<String, (String, String, bool)>,
    edges: &BTreeMap<String, Vec<String>>,
    seen: &mut BTreeSet<String>,
    depth: usize,
) -> TreeNode {
    let (name, version, build_only) = names
        .get(r)
        .cloned()
        .unwrap_or_else(|| (r.to_owned(), String::new(), false));
    let repeated = !seen.insert(r.to_owned());
    let children = if repeated || depth > 64 {
        Vec::new()
    } else {
        edges
            .get(r)
            .into_iter()
            .flatten()
            .map(|c| node(c, names, edges, seen, depth + 1))
            .collect()
    };
    TreeNode {
        name,
        version,
        build_only,
        repeated,
        children,
    }
}

/// Writes `bytes` atomically to `path`.
pub fn write(path: &Utf8Path, bytes: &[u8]) -> Result<(), Error> {
    crate::types::write_atomic(path, bytes).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}
