//! GitHub Actions integration: the job summary, workflow-command annotations and step
//! outputs that `audit`, `package` (and `release`) produce when `GITHUB_ACTIONS=true`.
//!
//! Inputs: the stage reports, mapped onto a [`ReleaseSummary`], and the runner's files from
//! [`Ctx`] (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`). Outputs: Markdown appended to the
//! summary file, `name<<DELIMITER` blocks appended to the output file, and annotation lines
//! ([`Annotation::render`]) that the CLI prints (the library never prints).
//!
//! Why: both files are the runner's and shared by the whole step, so they are appended to,
//! not replaced (the one place plugpack does not write through a temp file). Every value
//! is untrusted (crate names, advisory titles): annotations are escaped per the runner's
//! rules, output blocks use a random delimiter, the summary escapes table cells. Sizes stay
//! within GitHub's limits: the summary under [`summary::DEFAULT_CAP`] (GitHub's limit is 1 MiB
//! per step) with a note of what was cut, at most [`commands::PER_LEVEL_CAP`] annotations
//! per level with a notice counting the rest.

pub mod commands;
pub mod init_ci;
pub mod summary;

use std::io::Write;

use camino::{Utf8Path, Utf8PathBuf};

pub use commands::{Annotation, AnnotationLevel, audit_annotations, output_block};
pub use summary::{AbiChange, Artifact, ReleaseSummary, Verdict};

use crate::Ctx;
use crate::audit::AuditReport;

/// What went wrong writing GitHub's files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The summary, output or workflow file could not be written.
    #[error("cannot write {path} ({var}): {source}")]
    Write {
        /// The file.
        path: Utf8PathBuf,
        /// The variable that named it.
        var: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// An output name that is not an identifier (a bug: names are plugpack's own).
    #[error("step output name `{0}` is not an identifier")]
    OutputName(String),
    /// No randomness for the output delimiter.
    #[error("no random numbers for the GITHUB_OUTPUT delimiter: {0}")]
    Random(String),
    /// `init-ci` found the workflow already there (it never overwrites).
    #[error(
        "{0} exists; init-ci never overwrites it (`cargo plugpack init-ci --check` describes how it differs)"
    )]
    Exists(Utf8PathBuf),
    /// `init-ci` options that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// The workflow template failed to render (a bug).
    #[error("cannot render the workflow template: {0}")]
    Template(String),
}

/// The runner's files, when running in GitHub Actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runner {
    /// `$GITHUB_STEP_SUMMARY`.
    pub summary: Option<Utf8PathBuf>,
    /// `$GITHUB_OUTPUT`.
    pub output: Option<Utf8PathBuf>,
}

impl Runner {
    /// `Some` when `GITHUB_ACTIONS=true`; empty file variables count as unset.
    pub fn from_ctx(ctx: &Ctx) -> Option<Runner> {
        if ctx.var("GITHUB_ACTIONS") != Some("true") {
            return None;
        }
        let file = |var| {
            ctx.var(var)
                .filter(|v| !v.is_empty())
                .map(Utf8PathBuf::from)
        };
        Some(Runner {
            summary: file("GITHUB_STEP_SUMMARY"),
            output: file("GITHUB_OUTPUT"),
        })
    }
}

fn append(path: &Utf8Path, var: &'static str, text: &str) -> Result<(), Error> {
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(text.as_bytes())?;
        f.flush()
    };
    write().map_err(|source| Error::Write {
        path: path.to_owned(),
        var,
        source,
    })
}

/// What [`publish`] leaves for the caller to print.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Annotation lines (workflow commands) to print, one per line, in order.
    pub annotations: Vec<String>,
}

/// Appends the summary (unless `summary_enabled` is false or there is no summary file) and
/// the outputs, and returns the annotation lines for the audits' findings.
pub fn publish(
    runner: &Runner,
    report: &ReleaseSummary,
    outputs: &[(&str, String)],
    uri_prefix: &str,
) -> Result<Published, Error> {
    if let Some(path) = &runner.summary {
        append(
            path,
            "GITHUB_STEP_SUMMARY",
            &summary::render(report, summary::DEFAULT_CAP),
        )?;
    }
    if let Some(path) = &runner.output {
        let mut text = String::new();
        for (name, value) in outputs {
            text.push_str(&output_block(name, value)?);
        }
        append(path, "GITHUB_OUTPUT", &text)?;
    }
    Ok(Published {
        annotations: audit_annotations(&report.audits, uri_prefix)
            .iter()
            .map(Annotation::render)
            .collect(),
    })
}

/// The verdict rows for audits (`audit of foo v1.0.0` → `denied`).
pub fn audit_verdicts(reports: &[AuditReport]) -> Vec<Verdict> {
    reports
        .iter()
        .map(|r| Verdict {
            subject: match (&r.plugin, &r.version) {
                (Some(p), Some(v)) => format!("audit of {p} v{v}"),
                _ => format!("audit of {}", r.lockfile.as_deref().unwrap_or("Cargo.lock")),
            },
            verdict: r.outcome.as_str().to_owned(),
        })
        .collect()
}

/// The worst verdict of the audits (`clean` when there are none), the `audit-verdict`
/// output.
pub fn worst_audit_verdict(reports: &[AuditReport]) -> &'static str {
    reports
        .iter()
        .map(|r| r.outcome)
        .max()
        .map_or("clean", |o| o.as_str())
}

#[cfg(test)]
mod tests;
