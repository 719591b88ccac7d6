//! Human and Markdown renderings of a [`Diff`].

use std::fmt::Write;

use super::Diff;

use crate::report::markdown_escape as md;

fn side(s: &super::SideInfo) -> String {
    match (&s.plugin, &s.version) {
        (Some(p), Some(v)) => format!("{p} {v} ({})", s.file),
        _ => s.file.clone(),
    }
}

/// Lines of the change list (shared by both renderings), escaped with `esc`.
fn lines(d: &Diff, esc: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::new();
    for c in &d.added {
        out.push(format!(
            "added      {} {} ({})",
            esc(&c.name),
            esc(&c.version),
            esc(&c.license)
        ));
    }
    for c in &d.removed {
        out.push(format!(
            "removed    {} {} ({})",
            esc(&c.name),
            esc(&c.version),
            esc(&c.license)
        ));
    }
    for c in &d.upgraded {
        out.push(format!(
            "upgraded   {} {} → {} ({})",
            esc(&c.name),
            esc(&c.from),
            esc(&c.to),
            esc(&c.license)
        ));
    }
    for c in &d.downgraded {
        out.push(format!(
            "downgraded {} {} → {} ({})",
            esc(&c.name),
            esc(&c.from),
            esc(&c.to),
            esc(&c.license)
        ));
    }
    for c in &d.license_changes {
        out.push(format!(
            "licence    {} {}: {} → {}",
            esc(&c.name),
            esc(&c.version),
            esc(&c.from),
            esc(&c.to)
        ));
    }
    for l in &d.new_licenses {
        out.push(format!("new licence {}", esc(l)));
    }
    for a in &d.advisories_appeared {
        out.push(format!(
            "advisory + {} in {} {} ({})",
            esc(&a.id),
            esc(&a.crate_name),
            esc(&a.crate_version),
            esc(&a.status)
        ));
    }
    for a in &d.advisories_resolved {
        out.push(format!(
            "advisory − {} in {} {} (gone)",
            esc(&a.id),
            esc(&a.crate_name),
            esc(&a.crate_version)
        ));
    }
    if let Some(v) = &d.abi_verdict {
        out.push(format!("ABI        {}", esc(v)));
        for c in &d.abi_changes {
            out.push(format!("  {}", esc(c)));
        }
    }
    if let Some(s) = &d.signers {
        if s.changed {
            out.push(format!(
                "signers    {} → {}",
                esc(&s.old.join(", ")),
                esc(&s.new.join(", "))
            ));
        } else {
            let who = if s.new.is_empty() {
                "both unsigned".to_owned()
            } else {
                esc(&s.new.join(", "))
            };
            out.push(format!("signers    unchanged ({who})"));
        }
    }
    out
}

/// Plain text for a terminal (control characters dropped).
pub fn render_human(d: &Diff) -> String {
    let plain = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
    let mut s = format!("{} → {}\n", plain(&side(&d.old)), plain(&side(&d.new)));
    let l = lines(d, &plain);
    if l.is_empty() {
        s.push_str("no changes\n");
    }
    for line in l {
        let _ = writeln!(s, "{line}");
    }
    s
}

/// Markdown for a pull-request comment.
pub fn render_markdown(d: &Diff) -> String {
    let mut s = format!(
        "### Release diff: {} → {}\n\n",
        md(&side(&d.old)),
        md(&side(&d.new))
    );
    let l = lines(d, &md);
    if l.is_empty() {
        s.push_str("No changes.\n");
    }
    for line in l {
        let _ = writeln!(
            s,
            "- {}",
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    if !d.triggered.is_empty() {
        let kinds: Vec<String> = d
            .triggered
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let _ = writeln!(s, "\n**Attention:** {}", kinds.join(", "));
    }
    s
}
