//! `cargo plugpack audit`: advisories and licences of the plugins' real dependency sets.

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::audit::{self, AuditReport, Finding, Level, Outcome, ScanOptions};
use plugpack_core::{Ctx, project};

use crate::cli::{GlobalArgs, MessageFormat, ProjectArgs};
use crate::exit::{CliError, DATABASE, POLICY};
use crate::shell::{Shell, escape};

/// Arguments of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Advisory database directory (default: the policy's `db`, else $CARGO_HOME/advisory-db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<Utf8PathBuf>,
    /// Write the report to FILE instead of stdout (in the selected --format), or into DIR
    /// (existing, or ending in `/`) as audit.txt, audit.json or audit.sarif.
    #[arg(short, long, value_name = "FILE|DIR")]
    pub output: Option<Utf8PathBuf>,
    /// Scan every package of this Cargo.lock instead of building (for comparison with cargo-audit).
    #[arg(long, value_name = "PATH", conflicts_with = "no_build")]
    pub lockfile: Option<Utf8PathBuf>,
    /// Do not run cargo: audit the artifacts of the last `cargo plugpack build` with the
    /// same flags, from its build record (fails if Cargo.lock, a manifest or an artifact
    /// changed since).
    #[arg(long)]
    pub no_build: bool,
    /// Go on when there is no advisory database at the default location: the verdict is then
    /// `unchecked` (exit 0, with a warning) instead of exit 3.
    #[arg(long)]
    pub allow_no_db: bool,
}

/// Runs the audit and renders the reports; exit 0 when nothing is denied (`clean`, `warned`,
/// or `unchecked` with --allow-no-db), 1 denied, 3 database missing or unusable.
pub fn run(
    args: &AuditArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let options = ScanOptions {
        db: args.db.clone(),
        today: None,
        allow_no_db: args.allow_no_db,
        ..Default::default()
    };
    // The directory the reports' paths are relative to (SARIF URIs start there).
    let (reports, base) = match &args.lockfile {
        Some(lockfile) => {
            let base = match lockfile.parent() {
                Some(p) if !p.as_str().is_empty() => p.to_owned(),
                _ => Utf8PathBuf::from("."),
            };
            (vec![audit::scan_lockfile(lockfile, &options, ctx)?], base)
        }
        None if args.no_build => {
            let (project, build) = plugpack_core::build::record::load(
                ctx,
                &args.project.load_options()?,
                &args.project.build_options(global, shell),
            )
            .map_err(plugpack_core::Error::from)?;
            let mut reports = Vec::new();
            for plugin in &project.plugins {
                reports.push(audit::scan(&project, &build, plugin, &options, ctx)?);
            }
            (reports, project.workspace_root)
        }
        None => {
            let project = project::load(ctx, &args.project.load_options()?)?;
            let reports = audit::run(
                &project,
                &args.project.build_options(global, shell),
                &options,
                ctx,
            )?;
            (reports, project.workspace_root)
        }
    };
    crate::commands::github::audit(&reports, &base, ctx)?;
    let text = match global.message_format {
        MessageFormat::Sarif => {
            let options = audit::sarif::Options {
                uri_prefix: audit::sarif::uri_prefix_for(&base),
            };
            let mut s =
                serde_json::to_string_pretty(&audit::sarif::render_with(&reports, &options))
                    .map_err(std::io::Error::other)?;
            s.push('\n');
            s
        }
        MessageFormat::Json => {
            let mut s = String::new();
            for r in &reports {
                s.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
                s.push('\n');
            }
            s
        }
        MessageFormat::Human => render_human(&reports),
        other => return Err(other.unsupported("audit", "human, json, sarif").into()),
    };
    match &args.output {
        Some(output) => {
            let name = match global.message_format {
                MessageFormat::Human => "audit.txt",
                MessageFormat::Json => "audit.json",
                MessageFormat::Sarif => "audit.sarif",
                _ => "audit.txt",
            };
            let path = plugpack_core::types::OutputPath::new(output).file(name);
            plugpack_core::types::write_atomic(&path, text.as_bytes()).map_err(|e| {
                CliError::Io(std::io::Error::other(format!("cannot write {path}: {e}")))
            })?
        }
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    Ok(exit_code(&reports))
}

/// 3 when any report's database is unusable under the policy, else 1 on denied findings.
pub fn exit_code(reports: &[AuditReport]) -> u8 {
    if reports
        .iter()
        .any(|r| r.outcome == Outcome::DatabaseUnusable)
    {
        DATABASE
    } else if reports.iter().any(|r| r.outcome == Outcome::Denied) {
        POLICY
    } else {
        0
    }
}

fn finding_lines(f: &Finding, out: &mut String) {
    let head = match (f.level, &f.ignored) {
        (_, Some(_)) => "ignored",
        (Level::Deny, None) => "error",
        (Level::Warn, None) => "warning",
        (Level::Allow, None) => "allowed",
    };
    let id =
        f.id.as_ref()
            .map(|id| {
                if f.aliases.is_empty() {
                    format!("{}: ", escape(id))
                } else {
                    format!("{} ({}): ", escape(id), escape(&f.aliases.join(", ")))
                }
            })
            .unwrap_or_default();
    // Advisory titles, crate names, URLs and licences are untrusted: escaped.
    out.push_str(&format!("{head}[{}] {id}{}\n", f.code, escape(&f.message)));
    if let Some(p) = &f.package {
        let line = p
            .lock_line
            .map(|l| format!(" (Cargo.lock:{l})"))
            .unwrap_or_default();
        let build = if f.build_only { ", build-only" } else { "" };
        out.push_str(&format!(
            "    crate:    {} {}{line}{build}\n",
            escape(&p.name),
            escape(&p.version.to_string())
        ));
    }
    if let Some(s) = &f.severity {
        out.push_str(&format!(
            "    severity: {} ({:.1})\n",
            s.rating.as_str(),
            s.score
        ));
    }
    if !f.patched.is_empty() {
        out.push_str(&format!(
            "    patched:  {}\n",
            escape(&f.patched.join("; "))
        ));
    } else if f.code == audit::Code::Vulnerability {
        out.push_str("    patched:  no fixed version\n");
    }
    if f.path.len() > 1 {
        out.push_str(&format!("    path:     {}\n", escape(&f.path.join(" → "))));
    }
    if let Some(url) = &f.url {
        out.push_str(&format!("    see:      {}\n", escape(url)));
    }
    if let Some(s) = &f.ignored {
        out.push_str(&format!("    ignored:  {}\n", escape(&s.reason)));
    }
}

/// The human report: one block per plugin, findings grouped by level.
pub fn render_human(reports: &[AuditReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let subject = match (&r.plugin, &r.version) {
            (Some(p), Some(v)) => format!(
                "{} v{} ({})",
                escape(p),
                escape(v),
                escape(&r.targets.join(", "))
            ),
            _ => format!(
                "lockfile {}",
                escape(r.lockfile.as_deref().unwrap_or("Cargo.lock"))
            ),
        };
        out.push_str(&format!(
            "audit of {subject}: {} crates\n",
            r.packages_scanned
        ));
        match &r.database {
            Some(db) => out.push_str(&format!(
                "advisories: checked against {} ({} {}, updated {}{}, {} advisories)\n",
                escape(db.location.as_deref().unwrap_or("the database")),
                escape(&db.identity.kind.to_string()),
                escape(db.identity.value.get(..12).unwrap_or(&db.identity.value)),
                escape(&db.updated.to_string()),
                db.age_days
                    .map(|d| format!(", {d} days ago"))
                    .unwrap_or_default(),
                db.advisories
            )),
            None => out.push_str(
                "advisories: NOT checked (no advisory database; run `cargo plugpack db update`)\n",
            ),
        }
        if let Some(y) = r.yanked.as_ref().filter(|y| !y.unknown.is_empty()) {
            out.push_str(&format!(
                "yanked: {} crate version(s) not in cargo's local index cache, not checked\n",
                y.unknown.len()
            ));
        }
        if let Some(l) = &r.licenses {
            let concluded: Vec<String> = l
                .packages
                .iter()
                .filter_map(|d| {
                    let c = d.concluded.as_ref()?;
                    (d.expression.as_deref() != Some(c.as_str())).then(|| {
                        let line = format!("{} {} → {c}", d.name, d.version);
                        escape(&line).into_owned()
                    })
                })
                .collect();
            out.push_str(&format!("licences: {} crates evaluated", l.packages.len()));
            if !concluded.is_empty() {
                out.push_str(&format!("; chosen: {}", concluded.join(", ")));
            }
            out.push('\n');
        }
        for (title, pick) in [
            (
                "denied",
                &(|f: &Finding| f.is_denied()) as &dyn Fn(&Finding) -> bool,
            ),
            ("warnings", &|f: &Finding| {
                f.ignored.is_none() && f.level == Level::Warn
            }),
            ("ignored", &|f: &Finding| f.ignored.is_some()),
        ] {
            let group: Vec<&Finding> = r.findings.iter().filter(|f| pick(f)).collect();
            if group.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title}:\n"));
            for f in group {
                finding_lines(f, &mut out);
            }
        }
        out.push_str(&format!(
            "\nresult: {} denied, {} warnings, {} ignored, {} allowed → {}\n",
            r.summary.denied,
            r.summary.warnings,
            r.summary.ignored,
            r.summary.allowed,
            verdict_text(r.outcome)
        ));
    }
    out
}

/// How the human report ends: the verdict, spelled as in the JSON report and the bundle
/// annotation (`dev.plugpack.audit.verdict`).
pub fn verdict_text(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Clean => "clean",
        Outcome::Warned => "warned (nothing denied)",
        Outcome::Unchecked => "UNCHECKED (advisories were NOT checked)",
        Outcome::Denied => "FAILED (denied)",
        Outcome::DatabaseUnusable => "FAILED (advisory database)",
    }
}
