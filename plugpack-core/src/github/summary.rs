//! The Markdown job summary (`$GITHUB_STEP_SUMMARY`): verdicts, artifacts with digests, ABI
//! changes, advisories and licence findings as tables, capped in size.

use std::fmt::Write as _;

use crate::audit::{AuditReport, Code, Finding, Level};

/// GitHub accepts up to 1 MiB of summary per step; plugpack stays well under it.
pub const DEFAULT_CAP: usize = 256 * 1024;

/// A verdict line (`audit` → `denied`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What was judged (`audit of foo v1.0.0`, `ABI`).
    pub subject: String,
    /// The verdict (`clean`, `denied`, `minor`, …).
    pub verdict: String,
}

/// One produced file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// What it is (`bundle foo v1.0.0`, `SBOM`).
    pub kind: String,
    /// Path, as the user should see it.
    pub path: String,
    /// Its digest (`sha256:…`); the index digest for a bundle.
    pub digest: String,
}

/// One ABI comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiChange {
    /// Plugin.
    pub plugin: String,
    /// Compared against (version or file).
    pub baseline: String,
    /// Verdict (`none`, `patch`, `minor`, `major`).
    pub verdict: String,
    /// One line on what changed.
    pub detail: String,
}

/// Everything a summary can show; `package`, `audit` and `release` each fill what they
/// know. The release report maps onto it field by field.
#[derive(Debug, Clone, Default)]
pub struct ReleaseSummary {
    /// Heading (`plugpack package`).
    pub title: String,
    /// Verdicts, in order.
    pub verdicts: Vec<Verdict>,
    /// Files produced.
    pub artifacts: Vec<Artifact>,
    /// ABI comparisons.
    pub abi: Vec<AbiChange>,
    /// Pushed references (`registry/repo@sha256:…`).
    pub pushed: Vec<String>,
    /// Audits whose findings fill the advisory and licence tables.
    pub audits: Vec<AuditReport>,
}

/// A table cell: no line breaks, no `|`, no HTML or Markdown that could change the layout
/// or hide text; long values shortened.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(300));
    for (n, c) in s.chars().enumerate() {
        if n == 200 {
            out.push('…');
            break;
        }
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn state(f: &Finding) -> &'static str {
    match (f.ignored.is_some(), f.level) {
        (true, _) => "ignored",
        (false, Level::Deny) => "**denied**",
        (false, Level::Warn) => "warning",
        (false, Level::Allow) => "allowed",
    }
}

fn is_licence(code: Code) -> bool {
    code.as_str().starts_with("license-")
}

/// Builds the summary; rows are dropped from the end of the finding tables (then the other
/// tables) until the text fits in `cap` bytes, and a note says how many rows were cut.
pub fn render(s: &ReleaseSummary, cap: usize) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "## {}\n", cell(&s.title));
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    if !s.verdicts.is_empty() {
        sections.push((
            "| check | verdict |\n|---|---|\n".to_owned(),
            s.verdicts
                .iter()
                .map(|v| format!("| {} | {} |\n", cell(&v.subject), cell(&v.verdict)))
                .collect(),
        ));
    }
    if !s.artifacts.is_empty() {
        sections.push((
            "### Artifacts\n\n| file | kind | digest |\n|---|---|---|\n".to_owned(),
            s.artifacts
                .iter()
                .map(|a| {
                    format!(
                        "| {} | {} | {} |\n",
                        cell(&a.path),
                        cell(&a.kind),
                        cell(&a.digest)
                    )
                })
                .collect(),
        ));
    }
    if !s.abi.is_empty() {
        sections.push((
            "### ABI\n\n| plugin | baseline | verdict | change |\n|---|---|---|---|\n".to_owned(),
            s.abi
                .iter()
                .map(|a| {
                    format!(
                        "| {} | {} | {} | {} |\n",
                        cell(&a.plugin),
                        cell(&a.baseline),
                        cell(&a.verdict),
                        cell(&a.detail)
                    )
                })
                .collect(),
        ));
    }
    if !s.pushed.is_empty() {
        sections.push((
            "### Pushed\n\n| reference |\n|---|\n".to_owned(),
            s.pushed
                .iter()
                .map(|r| format!("| {} |\n", cell(r)))
                .collect(),
        ));
    }
    let mut advisories = Vec::new();
    let mut licences = Vec::new();
    let mut other = Vec::new();
    for r in &s.audits {
        let plugin = r.plugin.as_deref().unwrap_or("lockfile");
        for f in &r.findings {
            let krate = f
                .package
                .as_ref()
                .map(|p| format!("{} {}", p.name, p.version))
                .unwrap_or_default();
            if f.id.is_some() {
                let severity = f
                    .severity
                    .as_ref()
                    .map(|s| format!("{} ({:.1})", s.rating.as_str(), s.score))
                    .unwrap_or_default();
                advisories.push(format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    state(f),
                    cell(plugin),
                    cell(f.id.as_deref().unwrap_or_default()),
                    cell(&krate),
                    cell(&severity),
                    cell(&f.message),
                    cell(&f.patched.join("; "))
                ));
            } else if is_licence(f.code) {
                licences.push(format!(
                    "| {} | {} | {} | {} | {} |\n",
                    state(f),
                    cell(plugin),
                    f.code,
                    cell(&krate),
                    cell(&f.message)
                ));
            } else {
                other.push(format!(
                    "| {} | {} | {} | {} | {} |\n",
                    state(f),
                    cell(plugin),
                    f.code,
                    cell(&krate),
                    cell(&f.message)
                ));
            }
        }
    }
    if !advisories.is_empty() {
        sections.push((
            "### Advisories\n\n| state | plugin | advisory | crate | severity | title | patched |\n|---|---|---|---|---|---|---|\n".to_owned(),
            advisories,
        ));
    }
    if !licences.is_empty() {
        sections.push((
            "### Licences\n\n| state | plugin | finding | crate | detail |\n|---|---|---|---|---|\n"
                .to_owned(),
            licences,
        ));
    }
    if !other.is_empty() {
        sections.push((
            "### Other findings\n\n| state | plugin | finding | crate | detail |\n|---|---|---|---|---|\n"
                .to_owned(),
            other,
        ));
    }
    fit(head, sections, cap)
}

/// Drops rows from the last table backwards until the whole fits, then notes the cut.
fn fit(head: String, mut sections: Vec<(String, Vec<String>)>, cap: usize) -> String {
    const NOTE_ROOM: usize = 400;
    let size = |sections: &[(String, Vec<String>)]| -> usize {
        head.len()
            + sections
                .iter()
                .map(|(h, rows)| h.len() + 1 + rows.iter().map(String::len).sum::<usize>())
                .sum::<usize>()
    };
    let mut cut: Vec<(String, usize)> = Vec::new();
    let budget = cap.saturating_sub(NOTE_ROOM);
    let mut total = size(&sections);
    for (header, rows) in sections.iter_mut().rev() {
        let mut n = 0;
        while total > budget {
            let Some(row) = rows.pop() else { break };
            total -= row.len();
            n += 1;
        }
        if n > 0 {
            let name = header
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches('#')
                .trim()
                .to_owned();
            cut.push((
                if name.starts_with('|') {
                    "verdicts".to_owned()
                } else {
                    name
                },
                n,
            ));
        }
    }
    let mut out = head;
    for (header, rows) in &sections {
        if rows.is_empty() {
            continue;
        }
        out.push_str(header);
        for row in rows {
            out.push_str(row);
        }
        out.push('\n');
    }
    if !cut.is_empty() {
        let parts: Vec<String> = cut
            .iter()
            .rev()
            .map(|(name, n)| format!("{n} row(s) of {}", name.to_lowercase()))
            .collect();
        let _ = writeln!(
            out,
            "> [!NOTE]\n> The summary was cut to stay under {} KiB: {} left out. The JSON and SARIF reports have everything.\n",
            cap / 1024,
            parts.join(", ")
        );
    }
    out
}
