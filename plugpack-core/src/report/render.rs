//! Rendering a [`Report`]: JSON (`plugpack-report/1`), Markdown (pull requests, wikis) and a
//! self-contained HTML page.
//!
//! HTML: minijinja with HTML auto-escaping for every value (a crate named `<script>` stays
//! text); the full report is embedded as `<script type="application/json" id="report-data">`
//! with `<`, `>`, `&`, U+2028 and U+2029 written as `\uXXXX` escapes, so no string can end the
//! script element. The default template (`templates/report.html.j2`) has inline CSS only, no
//! script, font, image or link to fetch, a Content-Security-Policy of `default-src 'none'`,
//! and `<details>` for the collapsible parts (readable with JavaScript off, printable).

use super::{Error, Report};

/// The default HTML template.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../../templates/report.html.j2");

/// Pretty JSON with a trailing newline.
pub fn render_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

/// The report as JSON that is safe inside an HTML `<script>` element.
fn script_json(report: &Report) -> String {
    let json = serde_json::to_string(report).unwrap_or_default();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML page from `template` (`None`: the default template).
pub fn render_html(report: &Report, template: Option<&str>) -> Result<String, Error> {
    let name = if template.is_some() {
        "--template"
    } else {
        "report.html.j2"
    };
    let err = |e: minijinja::Error| Error::Render {
        name: name.to_owned(),
        reason: format!("{e:#}"),
    };
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report", template.unwrap_or(DEFAULT_TEMPLATE))
        .map_err(err)?;
    let tpl = env.get_template("report").map_err(err)?;
    let ctx = minijinja::context! {
        report => minijinja::value::Serde(report),
        data_json => minijinja::Value::from_safe_string(script_json(report)),
    };
    let mut html = tpl.render(ctx).map_err(err)?;
    if !html.ends_with('\n') {
        html.push('\n');
    }
    Ok(html)
}

/// Escapes Markdown and inline HTML in table cells and text (also used by `diff`'s
/// Markdown): no character of a crate name, licence or advisory title can start a link,
/// emphasis, a table cell or an HTML tag; line breaks become spaces, control characters go.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '*' | '_' | '`' | '[' | ']' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(md).unwrap_or_else(|| "—".to_owned())
}

/// Markdown.
pub fn render_markdown(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let p = &r.plugin;
    let _ = writeln!(
        s,
        "# Compliance report: {} {}\n",
        md(&p.name),
        opt(&p.version)
    );
    let _ = writeln!(s, "## Verdict\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let v = &r.verification;
    let sig = match v.status.as_str() {
        "verified" => format!("verified ({})", md(&v.verified_signers.join(", "))),
        "rejected" => format!("REJECTED: {}", md(&v.failures.join("; "))),
        _ => "not verified (no --key or --policy given)".to_owned(),
    };
    let _ = writeln!(s, "| signature | {sig} |");
    let _ = writeln!(
        s,
        "| signatures carried | {} (key ids: {}) |",
        v.signatures,
        if v.key_ids.is_empty() {
            "none".to_owned()
        } else {
            md(&v.key_ids.join(", "))
        }
    );
    if let Some(policy) = &v.policy {
        let _ = writeln!(s, "| policy | {} |", md(policy));
    }
    match &r.audit {
        Some(a) => {
            let _ = writeln!(
                s,
                "| audit | {} ({} denied, {} warnings, {} ignored; advisories {}) |",
                md(&a.outcome),
                a.denied,
                a.warnings,
                a.ignored,
                md(&a.advisories)
            );
        }
        None => {
            let _ = writeln!(s, "| audit | no audit report in the bundle |");
        }
    }
    let rp = &r.reproducibility;
    let _ = writeln!(s, "| SOURCE_DATE_EPOCH | {} |", opt(&rp.timestamp));
    let _ = writeln!(s, "| toolchain | {} |", opt(&rp.toolchain));
    let _ = writeln!(s, "| profile | {} |", opt(&rp.profile));
    let _ = writeln!(s, "| bundle digest | `{}` |", p.digest);

    let _ = writeln!(s, "\n## Artifacts\n");
    let _ = writeln!(
        s,
        "| target | file | size | sha256 | ABI fingerprint |\n|---|---|---|---|---|"
    );
    for a in &r.artifacts {
        let _ = writeln!(
            s,
            "| {} | {} | {} | `{}` | {} |",
            md(&a.target),
            md(&a.file),
            a.size,
            a.digest,
            opt(&a.abi_fingerprint)
        );
    }
    if let Some(d) = &r.abi_diff {
        let _ = writeln!(
            s,
            "\nABI against {}: **{}**",
            md(&d.baseline),
            md(&d.verdict)
        );
        for c in &d.changes {
            let _ = writeln!(s, "- {}", md(c));
        }
    }

    let _ = writeln!(s, "\n## Advisories\n");
    if r.advisories.is_empty() {
        let _ = writeln!(s, "None.");
    } else {
        let _ = writeln!(
            s,
            "| id | crate | severity | path | fixed in | status |\n|---|---|---|---|---|---|"
        );
        for a in &r.advisories {
            let severity = match (&a.severity, a.cvss_score) {
                (Some(rating), Some(score)) => format!("{} {score:.1}", md(rating)),
                (Some(rating), None) => md(rating),
                _ => "—".to_owned(),
            };
            let mut status = md(&a.status);
            if let Some(reason) = &a.ignore_reason {
                let _ = write!(status, ": {}", md(reason));
            }
            if let Some(until) = &a.ignore_until {
                let _ = write!(status, " (until {})", md(until));
            }
            if let Some(vex) = &a.vex {
                let _ = write!(status, " VEX {}", md(vex));
            }
            let _ = writeln!(
                s,
                "| {} | {} {} | {} | {} | {} | {} |",
                md(&a.id),
                md(&a.crate_name),
                md(&a.crate_version),
                severity,
                md(&a.path),
                md(&a.patched.join(", ")),
                status
            );
        }
    }
    if !r.other_findings.is_empty() {
        let _ = writeln!(s, "\nOther findings:\n");
        for f in &r.other_findings {
            let what = if f.crate_name.is_empty() {
                String::new()
            } else {
                format!(" ({})", md(&f.crate_name))
            };
            let _ = writeln!(
                s,
                "- {} {}{what}: {}",
                md(&f.level),
                md(&f.code),
                md(&f.message)
            );
        }
    }

    let l = &r.licenses;
    let _ = writeln!(s, "\n## Licences\n");
    if let Some(own) = &l.plugin_license {
        let _ = writeln!(s, "Plugin licence: {}\n", md(own));
    }
    let _ = writeln!(s, "| licence | crates |\n|---|---|");
    for c in &l.summary {
        let _ = writeln!(s, "| {} | {} |", md(&c.license), c.crates);
    }
    let _ = writeln!(
        s,
        "\n| crate | declared | concluded | verdict | copyright |\n|---|---|---|---|---|"
    );
    for c in &l.crates {
        let copyright = if !c.notices_collected {
            "not collected".to_owned()
        } else if c.copyrights.is_empty() {
            "—".to_owned()
        } else {
            md(&c.copyrights.join("; "))
        };
        let _ = writeln!(
            s,
            "| {} {} | {} | {} | {} | {} |",
            md(&c.name),
            md(&c.version),
            md(&c.declared),
            opt(&c.concluded),
            opt(&c.verdict),
            copyright
        );
    }

    let _ = writeln!(s, "\n## Crates\n");
    for c in &r.crates {
        let _ = writeln!(
            s,
            "- {} {} ({}){}",
            md(&c.name),
            md(&c.version),
            md(&c.license),
            if c.build_only { " — build-only" } else { "" }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::model::*;
    use super::*;

    /// Cargo refuses crate names with HTML in them, so a hand-made report carries one.
    fn hostile() -> Report {
        let evil = "<script>alert(1)</script>".to_owned();
        Report {
            schema: super::super::SCHEMA.to_owned(),
            bundle: "b.oci.tar".to_owned(),
            plugin: PluginFacts {
                name: evil.clone(),
                version: Some("1.0.0".to_owned()),
                tag: None,
                digest: "sha256:00".to_owned(),
                kind: None,
                revision: None,
                targets: Vec::new(),
            },
            verification: VerificationFacts {
                status: "not-verified".to_owned(),
                signatures: 0,
                key_ids: Vec::new(),
                policy: None,
                verified_signers: Vec::new(),
                failures: Vec::new(),
            },
            audit: None,
            reproducibility: ReproducibilityFacts {
                timestamp: None,
                toolchain: None,
                profile: None,
                exact_dependency_set: None,
            },
            artifacts: Vec::new(),
            abi_diff: None,
            advisories: Vec::new(),
            other_findings: Vec::new(),
            licenses: LicenseFacts {
                plugin_license: None,
                summary: Vec::new(),
                crates: Vec::new(),
            },
            crates: vec![CrateFacts {
                name: evil.clone(),
                version: "1.0.0".to_owned(),
                license: "MIT".to_owned(),
                build_only: false,
            }],
            trees: vec![TreeFacts {
                target: "t".to_owned(),
                root: TreeNode {
                    name: evil,
                    version: "1.0.0".to_owned(),
                    build_only: false,
                    repeated: false,
                    children: Vec::new(),
                },
            }],
        }
    }

    #[test]
    fn a_crate_named_script_stays_text_in_html_markdown_and_the_data_block() {
        let html = render_html(&hostile(), None).unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert_eq!(html.matches("</script>").count(), 1);
        assert!(html.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
        let md = render_markdown(&hostile());
        assert!(!md.contains("<script>"));
    }
}
