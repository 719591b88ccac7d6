//! Workflow commands (`::error file=…,line=…,title=…::message`) and step outputs
//! (`name<<DELIMITER` blocks for `$GITHUB_OUTPUT`).
//!
//! Every value is untrusted (crate names, advisory titles, paths): escaping follows the
//! runner's own rules (`@actions/core`'s `escapeData`/`escapeProperty`): `%`, `\r` and `\n`
//! are percent-encoded in the message, and additionally `:` and `,` in properties, so a
//! value can neither end the command nor start a new line (a new command). Output blocks use
//! a random delimiter that is checked not to occur in the value.

use crate::audit::{AuditReport, Code, Finding, Level};

/// GitHub shows at most this many annotations of each level per step.
pub const PER_LEVEL_CAP: usize = 10;

/// A workflow-command message, escaped (other control characters, which a log viewer could
/// interpret, become U+FFFD).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// A workflow-command property value, escaped.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AnnotationLevel {
    /// `::error`.
    Error,
    /// `::warning`.
    Warning,
    /// `::notice`.
    Notice,
}

impl AnnotationLevel {
    fn command(self) -> &'static str {
        match self {
            AnnotationLevel::Error => "error",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Notice => "notice",
        }
    }
}

/// One annotation before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Level.
    pub level: AnnotationLevel,
    /// Repository-relative file, if any.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    /// Short title.
    pub title: String,
    /// Message.
    pub message: String,
}

impl Annotation {
    /// The workflow command line (no trailing newline), every part escaped.
    pub fn render(&self) -> String {
        let mut props = Vec::new();
        if let Some(file) = &self.file {
            props.push(format!("file={}", escape_property(file)));
            if let Some(line) = self.line {
                props.push(format!("line={line}"));
            }
        }
        props.push(format!("title={}", escape_property(&self.title)));
        format!(
            "::{} {}::{}",
            self.level.command(),
            props.join(","),
            escape_data(&self.message)
        )
    }
}

fn annotation_for(report: &AuditReport, f: &Finding, lockfile: &str) -> Option<Annotation> {
    if f.ignored.is_some() {
        return None;
    }
    let level = match f.level {
        Level::Deny => AnnotationLevel::Error,
        Level::Warn => AnnotationLevel::Warning,
        Level::Allow => return None,
    };
    let rule =
        f.id.clone()
            .unwrap_or_else(|| format!("plugpack/{}", f.code));
    let title = match &f.package {
        Some(p) => format!("{rule} ({} {})", p.name, p.version),
        None => rule,
    };
    let mut message = f.message.clone();
    if let Some(plugin) = &report.plugin {
        message = format!("{plugin}: {message}");
    }
    if !f.patched.is_empty() {
        message.push_str(&format!(" (patched: {})", f.patched.join("; ")));
    }
    if let Some(url) = &f.url {
        message.push_str(&format!(" {url}"));
    }
    // Notices about the database concern no file.
    let about_file = !matches!(f.code, Code::StaleDb | Code::NoDb | Code::MalformedAdvisory);
    Some(Annotation {
        level,
        file: about_file.then(|| lockfile.to_owned()),
        line: about_file.then(|| f.package.as_ref().and_then(|p| p.lock_line).unwrap_or(1)),
        title,
        message,
    })
}

/// The annotations for the reports' findings (denied → error, warnings → warning; allowed
/// and ignored findings are not annotated), at most [`PER_LEVEL_CAP`] per level, plus one
/// notice counting what was left out. `uri_prefix` is the reports' directory relative to the
/// repository root (see [`crate::audit::sarif::uri_prefix_for`]).
pub fn audit_annotations(reports: &[AuditReport], uri_prefix: &str) -> Vec<Annotation> {
    let mut all = Vec::new();
    for r in reports {
        let lockfile = format!(
            "{uri_prefix}{}",
            r.lockfile.as_deref().unwrap_or("Cargo.lock")
        );
        all.extend(
            r.findings
                .iter()
                .filter_map(|f| annotation_for(r, f, &lockfile)),
        );
    }
    cap(all)
}

/// Keeps the first [`PER_LEVEL_CAP`] annotations of each level and adds a notice with the
/// count of the rest.
pub fn cap(annotations: Vec<Annotation>) -> Vec<Annotation> {
    let mut kept = Vec::new();
    let mut cut = [0usize; 3];
    let mut seen = [0usize; 3];
    for a in annotations {
        let i = a.level as usize;
        seen[i] += 1;
        if seen[i] <= PER_LEVEL_CAP {
            kept.push(a);
        } else {
            cut[i] += 1;
        }
    }
    if cut.iter().any(|&n| n > 0) {
        let [errors, warnings, notices] = cut;
        // The notice itself must fit: when ten notices were already kept, the tenth makes room.
        if seen[2] >= PER_LEVEL_CAP {
            if let Some(pos) = kept
                .iter()
                .rposition(|a| a.level == AnnotationLevel::Notice)
            {
                kept.remove(pos);
            }
        }
        let notices = notices + usize::from(seen[2] >= PER_LEVEL_CAP);
        kept.push(Annotation {
            level: AnnotationLevel::Notice,
            file: None,
            line: None,
            title: "plugpack: more findings".to_owned(),
            message: format!(
                "{errors} more error(s), {warnings} more warning(s) and {notices} more notice(s) \
                 are not annotated (GitHub shows {PER_LEVEL_CAP} of each per step); see the job \
                 summary and the audit report"
            ),
        });
    }
    kept
}

/// A `$GITHUB_OUTPUT` block for one output: `name<<DELIM\nvalue\nDELIM\n`, the delimiter
/// random (`ghadelimiter_` and 32 hex digits) and drawn again in the (astronomically
/// unlikely) case that the value contains it. The name is checked too: it must be an
/// identifier (letters, digits, `-`, `_`), since it is ours, never user data.
pub fn output_block(name: &str, value: &str) -> Result<String, super::Error> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(super::Error::OutputName(name.to_owned()));
    }
    loop {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| super::Error::Random(e.to_string()))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let delimiter = format!("ghadelimiter_{hex}");
        if !value.contains(&delimiter) {
            return Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        }
    }
}
