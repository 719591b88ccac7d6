//! CycloneDX (1.5/1.6) `vulnerabilities[]` from an audit report, for the SBOM stage to put
//! into the plugin's BOM. Components are referenced by their package URL
//! (`pkg:cargo/<name>@<version>`, see [`bom_ref`]), so the SBOM must use purls as
//! `bom-ref`s. Ignored findings carry a VEX `analysis` (state, justification, the reason as
//! detail).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{AuditReport, Code, Finding, cfg};

/// The `bom-ref` (and purl) of a crates.io crate.
pub fn bom_ref(name: &str, version: &str) -> String {
    format!("pkg:cargo/{name}@{version}")
}

fn method(vector: &str) -> &'static str {
    if vector.starts_with("CVSS:3.1") {
        "CVSSv31"
    } else if vector.starts_with("CVSS:3.0") {
        "CVSSv3"
    } else if vector.starts_with("CVSS:4") {
        "CVSSv4"
    } else {
        "other"
    }
}

fn analysis(f: &Finding) -> Option<Value> {
    let s = f.ignored.as_ref()?;
    let mut a = serde_json::Map::new();
    match s.vex.as_deref() {
        Some(v) if cfg::VEX_JUSTIFICATIONS.contains(&v) => {
            a.insert("state".into(), json!("not_affected"));
            a.insert("justification".into(), json!(v));
        }
        Some(state) => {
            a.insert("state".into(), json!(state));
        }
        None => {
            a.insert("state".into(), json!("not_affected"));
        }
    }
    let mut detail = s.reason.clone();
    if let Some(until) = &s.until {
        detail.push_str(&format!(" (accepted until {until})"));
    }
    a.insert("detail".into(), json!(detail));
    Some(Value::Object(a))
}

/// The `vulnerabilities` array for `report` (vulnerability findings only, one entry per
/// advisory, sorted by id).
pub fn vulnerabilities(report: &AuditReport) -> Vec<Value> {
    let mut by_id: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        if f.code == Code::Vulnerability {
            if let Some(id) = &f.id {
                by_id.entry(id.as_str()).or_default().push(f);
            }
        }
    }
    by_id
        .into_iter()
        .filter_map(|(id, findings)| {
            let first = findings.first()?;
            let mut affects: Vec<Value> = findings
                .iter()
                .filter_map(|f| f.package.as_ref())
                .map(|p| json!({ "ref": bom_ref(&p.name, &p.version) }))
                .collect();
            affects.dedup();
            let mut v = json!({
                "bom-ref": id,
                "id": id,
                "source": { "name": "RustSec", "url": format!("https://rustsec.org/advisories/{id}.html") },
                "description": first.message,
                "affects": affects,
            });
            let refs: Vec<Value> = first
                .aliases
                .iter()
                .map(|a| {
                    let source = if a.starts_with("CVE-") {
                        json!({ "name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{a}") })
                    } else if a.starts_with("GHSA-") {
                        json!({ "name": "GitHub", "url": format!("https://github.com/advisories/{a}") })
                    } else {
                        json!({ "name": "other" })
                    };
                    json!({ "id": a, "source": source })
                })
                .collect();
            if !refs.is_empty() {
                v["references"] = json!(refs);
            }
            if let Some(s) = &first.severity {
                v["ratings"] = json!([{
                    "source": { "name": "RustSec" },
                    "score": s.score,
                    "severity": s.rating.as_str(),
                    "method": method(&s.vector),
                    "vector": s.vector,
                }]);
            }
            if !first.patched.is_empty() {
                v["recommendation"] =
                    json!(format!("upgrade to a patched version ({})", first.patched.join("; ")));
            }
            if let Some(url) = &first.url {
                v["advisories"] = json!([{ "url": url }]);
            }
            if let Some(a) = analysis(first) {
                v["analysis"] = a;
            }
            v["properties"] = json!([
                { "name": "plugpack:build-only", "value": first.build_only.to_string() },
                { "name": "plugpack:level", "value": first.level.as_str() },
            ]);
            Some(v)
        })
        .collect()
}
