use std::collections::BTreeMap;

use super::*;
use crate::audit::{
    AdvisoryStatus, Code, Finding, FindingPackage, Level, Outcome, SCHEMA, Severity, SeverityLevel,
    Summary,
};

const HOSTILE: &str = "evil%0A\r\n::add-mask::x,y:z\n::error::forged\nghadelimiter_\n|</td>";

fn finding(code: Code, level: Level, id: Option<&str>, krate: &str, line: usize) -> Finding {
    let mut f = Finding::simple(code, level, format!("title of {krate}"));
    f.id = id.map(str::to_owned);
    f.package = Some(FindingPackage {
        name: krate.to_owned(),
        version: "1.0.0".to_owned(),
        lock_line: Some(line),
    });
    f
}

fn report(findings: Vec<Finding>) -> AuditReport {
    AuditReport {
        schema: SCHEMA.to_owned(),
        tool: "plugpack test".to_owned(),
        plugin: Some("plug".to_owned()),
        version: Some("0.1.0".to_owned()),
        mode: "artifacts".to_owned(),
        targets: Vec::new(),
        exact: true,
        lockfile: Some("Cargo.lock".to_owned()),
        advisories: AdvisoryStatus::Checked,
        database: None,
        packages_scanned: findings.len(),
        findings,
        yanked: None,
        licenses: None,
        ignores: Vec::new(),
        summary: Summary::default(),
        outcome: Outcome::Denied,
    }
}

fn small() -> ReleaseSummary {
    let mut vuln = finding(
        Code::Vulnerability,
        Level::Deny,
        Some("RUSTSEC-2021-0003"),
        "smallvec",
        42,
    );
    vuln.message = "Buffer overflow in SmallVec::insert_many".to_owned();
    vuln.patched = vec![">= 1.6.1".to_owned()];
    vuln.severity = Some(Severity {
        score: 9.8,
        rating: SeverityLevel::Critical,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned(),
    });
    let lic = finding(Code::LicenseCopyleft, Level::Deny, None, "gpl-lib", 17);
    let stale = Finding::simple(
        Code::StaleDb,
        Level::Warn,
        "the advisory database is 120 days old".to_owned(),
    );
    let audits = vec![report(vec![vuln, lic, stale])];
    ReleaseSummary {
        title: "plugpack package".to_owned(),
        verdicts: audit_verdicts(&audits),
        artifacts: vec![Artifact {
            kind: "bundle plug v0.1.0".to_owned(),
            path: "target/plugpack/plug-0.1.0.oci.tar".to_owned(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        }],
        abi: vec![AbiChange {
            plugin: "plug".to_owned(),
            baseline: "0.0.9".to_owned(),
            verdict: "minor".to_owned(),
            detail: "1 export added".to_owned(),
        }],
        pushed: Vec::new(),
        audits,
    }
}

/// Compares with the committed snapshot; `PLUGPACK_BLESS=1` rewrites it.
fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/github")
        .join(name);
    #[allow(clippy::disallowed_methods)]
    if std::env::var_os("PLUGPACK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (PLUGPACK_BLESS=1 writes it)", path.display()));
    assert_eq!(actual, expected, "snapshot {name} differs");
}

/// Reads a `$GITHUB_OUTPUT` file the way the runner does (`name=value` lines and
/// `name<<DELIM` blocks ending at a line equal to DELIM).
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_owned(), value.to_owned());
        }
    }
    out
}

/// Undoes the runner's escaping of a message.
fn unescape(s: &str) -> String {
    s.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn summary_annotations_and_outputs_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let root = camino::Utf8Path::from_path(dir.path()).unwrap();
    let runner = Runner {
        summary: Some(root.join("summary.md")),
        output: Some(root.join("output")),
    };
    std::fs::write(root.join("summary.md"), "earlier step\n").unwrap();
    let s = small();
    let published = publish(
        &runner,
        &s,
        &[
            ("audit-verdict", "denied".to_owned()),
            ("bundles", "a\nb".to_owned()),
        ],
        "sub/",
    )
    .unwrap();
    let summary = std::fs::read_to_string(root.join("summary.md")).unwrap();
    // Appended, not replaced.
    assert!(summary.starts_with("earlier step\n"));
    snapshot("summary.md", &summary["earlier step\n".len()..]);
    snapshot(
        "annotations.txt",
        &(published.annotations.join("\n") + "\n"),
    );
    let outputs = parse_outputs(&std::fs::read_to_string(root.join("output")).unwrap());
    assert_eq!(outputs["audit-verdict"], "denied");
    assert_eq!(outputs["bundles"], "a\nb");
    assert_eq!(outputs.len(), 2);
    // The database notice has no file; the crate findings point at their lockfile line.
    assert!(published.annotations[0].starts_with("::error file=sub/Cargo.lock,line=42,"));
    assert!(
        published
            .annotations
            .iter()
            .any(|a| a.starts_with("::warning title=plugpack/stale-db::"))
    );
}

#[test]
fn hostile_names_cannot_inject_commands_or_break_outputs() {
    let mut f = finding(Code::Vulnerability, Level::Deny, Some(HOSTILE), HOSTILE, 3);
    f.message = HOSTILE.to_owned();
    f.patched = vec![HOSTILE.to_owned()];
    let mut audits = vec![report(vec![f])];
    audits[0].plugin = Some(HOSTILE.to_owned());
    let lines: Vec<String> = audit_annotations(&audits, "")
        .iter()
        .map(Annotation::render)
        .collect();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
    // Exactly one command: the properties hold no raw `:` or `,` beyond the separators, so
    // the message starts at the first `::` after them.
    let rest = line.strip_prefix("::error ").unwrap();
    let (props, message) = rest.split_once("::").unwrap();
    let props: Vec<&str> = props.split(',').collect();
    assert_eq!(props.len(), 3, "{props:?}");
    assert_eq!(props[0], "file=Cargo.lock");
    assert_eq!(props[1], "line=3");
    let title = unescape(props[2].strip_prefix("title=").unwrap());
    assert_eq!(title, format!("{HOSTILE} ({HOSTILE} 1.0.0)"));
    assert!(unescape(message).starts_with(&format!("{HOSTILE}: {HOSTILE}")));

    // An output value holding newlines, a delimiter-looking line and `name<<X` cannot end
    // the block early or add an output.
    let value = format!("{HOSTILE}\nEOF\nforged<<EOF\nx\nEOF");
    let dir = tempfile::tempdir().unwrap();
    let out = camino::Utf8Path::from_path(dir.path()).unwrap().join("out");
    let runner = Runner {
        summary: None,
        output: Some(out.clone()),
    };
    publish(
        &runner,
        &ReleaseSummary::default(),
        &[("bundles", value.clone()), ("after", "1".to_owned())],
        "",
    )
    .unwrap();
    let outputs = parse_outputs(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert_eq!(outputs["bundles"], value);
    assert_eq!(outputs["after"], "1");
    // Two blocks never share a delimiter.
    let a = output_block("x", "v").unwrap();
    let b = output_block("x", "v").unwrap();
    assert_ne!(a, b);
    assert!(output_block("bad name", "v").is_err());

    // In the summary, a hostile cell stays in its cell.
    let s = ReleaseSummary {
        title: HOSTILE.to_owned(),
        audits,
        ..Default::default()
    };
    let md = summary::render(&s, summary::DEFAULT_CAP);
    for line in md.lines().filter(|l| l.starts_with("| **denied**")) {
        assert_eq!(line.matches(" | ").count() + 2, 8, "{line}");
        assert!(!line.contains('<'), "{line}");
    }
    assert!(
        md.lines().all(|l| !l.trim_start().starts_with("::")),
        "{md}"
    );
}

#[test]
fn hundreds_of_findings_stay_under_the_caps() {
    let mut findings = Vec::new();
    for i in 0..400 {
        let mut f = finding(
            if i % 2 == 0 {
                Code::Vulnerability
            } else {
                Code::LicenseUnknown
            },
            if i % 3 == 0 { Level::Warn } else { Level::Deny },
            (i % 2 == 0).then_some("RUSTSEC-2099-0001"),
            &format!("crate-{i}"),
            i + 1,
        );
        f.message = "x".repeat(150);
        findings.push(f);
    }
    let audits: Vec<AuditReport> = (0..5).map(|_| report(findings.clone())).collect();
    let annotations = audit_annotations(&audits, "");
    let count = |l| annotations.iter().filter(|a| a.level == l).count();
    assert_eq!(count(AnnotationLevel::Error), 10);
    assert_eq!(count(AnnotationLevel::Warning), 10);
    assert_eq!(count(AnnotationLevel::Notice), 1);
    let note = &annotations.last().unwrap().message;
    assert!(
        note.starts_with("1320 more error(s), 660 more warning(s)"),
        "{note}"
    );

    let s = ReleaseSummary {
        title: "t".to_owned(),
        audits,
        ..Default::default()
    };
    let full = summary::render(&s, usize::MAX);
    assert!(full.len() > summary::DEFAULT_CAP, "{}", full.len());
    let md = summary::render(&s, summary::DEFAULT_CAP);
    assert!(md.len() <= summary::DEFAULT_CAP, "{}", md.len());
    assert!(
        md.len() > summary::DEFAULT_CAP - 2048,
        "cut too much: {}",
        md.len()
    );
    let note = md
        .lines()
        .skip_while(|l| !l.starts_with("> [!NOTE]"))
        .nth(1)
        .unwrap();
    assert!(
        note.contains("row(s) of advisories left out") || note.contains("row(s) of licences"),
        "{note}"
    );
    let rows = |t: &str| t.lines().filter(|l| l.starts_with("| ")).count();
    let cut: usize = note
        .split("row(s)")
        .filter_map(|p| p.rsplit(' ').nth(1).and_then(|n| n.parse::<usize>().ok()))
        .sum();
    assert_eq!(rows(&md) + cut, rows(&full), "{note}");
}

#[test]
fn runner_only_under_github_actions() {
    let ctx = |pairs: &[(&str, &str)]| {
        Ctx::with_env(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            std::sync::Arc::new(crate::SilentReporter),
        )
    };
    assert_eq!(
        Runner::from_ctx(&ctx(&[("GITHUB_STEP_SUMMARY", "/x")])),
        None
    );
    assert_eq!(
        Runner::from_ctx(&ctx(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", "/x"),
            ("GITHUB_OUTPUT", "")
        ])),
        Some(Runner {
            summary: Some("/x".into()),
            output: None
        })
    );
}
