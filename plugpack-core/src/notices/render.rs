//! Rendering a [`Notices`] document: plain text (`THIRD-PARTY-NOTICES.txt`) and HTML
//! (`templates/notices.html.j2`, every string escaped). Both share one view: crates grouped
//! by declared licence, each distinct licence text once with the crates that use it, every
//! `NOTICE` file reproduced, crates without a licence text listed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Error, Notices};

/// The HTML template.
const HTML_TEMPLATE: &str = include_str!("../../../templates/notices.html.j2");

#[derive(Serialize)]
struct View<'a> {
    plugin: &'a str,
    version: &'a str,
    crate_count: usize,
    groups: Vec<Group<'a>>,
    texts: Vec<TextView<'a>>,
    notices: Vec<NoticeView<'a>>,
    missing: Vec<String>,
}

#[derive(Serialize)]
struct Group<'a> {
    license: String,
    crates: Vec<CrateView<'a>>,
}

#[derive(Serialize)]
struct CrateView<'a> {
    name: &'a str,
    version: &'a str,
    copyrights: &'a [String],
    texts: Vec<usize>,
}

#[derive(Serialize)]
struct TextView<'a> {
    number: usize,
    users: Vec<String>,
    text: &'a str,
}

#[derive(Serialize)]
struct NoticeView<'a> {
    name: &'a str,
    version: &'a str,
    file: &'a str,
    text: &'a str,
}

fn view(n: &Notices) -> View<'_> {
    // Texts are numbered in order of first use (groups sorted by licence, crates by name).
    let mut groups: BTreeMap<String, Vec<&super::CrateNotice>> = BTreeMap::new();
    for c in &n.crates {
        let license = c
            .license
            .clone()
            .unwrap_or_else(|| "(no licence declared)".to_owned());
        groups.entry(license).or_default().push(c);
    }
    let mut numbers: BTreeMap<crate::types::Sha256Digest, usize> = BTreeMap::new();
    let mut texts: Vec<TextView<'_>> = Vec::new();
    let mut out_groups = Vec::new();
    for (license, crates) in &groups {
        let mut views = Vec::new();
        for c in crates {
            let mut used = Vec::new();
            for f in &c.license_files {
                let number = *numbers.entry(f.text).or_insert_with(|| {
                    texts.push(TextView {
                        number: texts.len() + 1,
                        users: Vec::new(),
                        text: n.text(&f.text).unwrap_or(""),
                    });
                    texts.len()
                });
                texts[number - 1]
                    .users
                    .push(format!("{} {} ({})", c.name, c.version, f.file));
                used.push(number);
            }
            views.push(CrateView {
                name: &c.name,
                version: &c.version,
                copyrights: &c.copyrights,
                texts: used,
            });
        }
        out_groups.push(Group {
            license: license.clone(),
            crates: views,
        });
    }
    let notices = n
        .crates
        .iter()
        .flat_map(|c| {
            c.notice_files.iter().map(move |f| NoticeView {
                name: &c.name,
                version: &c.version,
                file: &f.file,
                text: n.text(&f.text).unwrap_or(""),
            })
        })
        .collect();
    let missing = n
        .crates
        .iter()
        .filter(|c| c.missing_license_text)
        .map(|c| {
            format!(
                "{} {} ({})",
                c.name,
                c.version,
                c.license.as_deref().unwrap_or("no licence declared")
            )
        })
        .collect();
    View {
        plugin: &n.plugin,
        version: &n.version,
        crate_count: n.crates.len(),
        groups: out_groups,
        texts,
        notices,
        missing,
    }
}

/// Plain text.
pub fn render_text(n: &Notices) -> String {
    use std::fmt::Write;
    let v = view(n);
    let rule = "=".repeat(78);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "THIRD-PARTY NOTICES\n\n{} {} includes {} third-party crate(s), listed below by licence.",
        v.plugin, v.version, v.crate_count
    );
    for g in &v.groups {
        let _ = writeln!(
            s,
            "\n{rule}\n{} ({} crate(s))\n{rule}",
            g.license,
            g.crates.len()
        );
        for c in &g.crates {
            let texts: Vec<String> = c.texts.iter().map(|t| format!("#{t}")).collect();
            let texts = if texts.is_empty() {
                "licence text not found".to_owned()
            } else {
                format!("licence text {}", texts.join(", "))
            };
            let _ = writeln!(s, "- {} {} ({texts})", c.name, c.version);
            for line in c.copyrights {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    if !v.notices.is_empty() {
        let _ = writeln!(s, "\n{rule}\nNOTICE files\n{rule}");
        for notice in &v.notices {
            let _ = writeln!(
                s,
                "\n--- {} {}: {} ---\n{}",
                notice.name,
                notice.version,
                notice.file,
                notice.text.trim_end()
            );
        }
    }
    if !v.missing.is_empty() {
        let _ = writeln!(
            s,
            "\n{rule}\nCrates whose licence text was not found in their sources\n{rule}"
        );
        for m in &v.missing {
            let _ = writeln!(s, "- {m}");
        }
    }
    let _ = writeln!(s, "\n{rule}\nLicence texts\n{rule}");
    for t in &v.texts {
        let _ = writeln!(
            s,
            "\n--- #{} used by: {} ---\n{}",
            t.number,
            t.users.join(", "),
            t.text.trim_end()
        );
    }
    s
}

/// HTML (self-contained, every string escaped).
pub fn render_html(n: &Notices) -> Result<String, Error> {
    let err = |source| {
        Error::Render(Box::new(crate::templates::RenderError {
            name: "notices.html.j2".to_owned(),
            source,
        }))
    };
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("notices.html", HTML_TEMPLATE)
        .map_err(err)?;
    let template = env.get_template("notices.html").map_err(err)?;
    template
        .render(minijinja::value::Serde(view(n)))
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::super::{CrateNotice, FileRef, SCHEMA, Text};
    use super::*;
    use crate::types::Sha256Digest;

    fn sample() -> Notices {
        let mit = "MIT text <b>".to_owned();
        let d = Sha256Digest::of_bytes(mit.as_bytes());
        let c = |name: &str, license: &str, files: Vec<FileRef>| CrateNotice {
            name: name.to_owned(),
            version: "1.0.0".to_owned(),
            license: Some(license.to_owned()),
            missing_license_text: files.is_empty(),
            license_files: files,
            notice_files: Vec::new(),
            copyrights: vec!["Copyright 2020 <Someone>".to_owned()],
        };
        Notices {
            schema: SCHEMA.to_owned(),
            plugin: "p".to_owned(),
            version: "0.1.0".to_owned(),
            crates: vec![
                c(
                    "a",
                    "MIT",
                    vec![FileRef {
                        file: "LICENSE".to_owned(),
                        text: d,
                    }],
                ),
                c(
                    "b",
                    "MIT",
                    vec![FileRef {
                        file: "LICENSE-MIT".to_owned(),
                        text: d,
                    }],
                ),
                c("<script>x", "Apache-2.0", Vec::new()),
            ],
            texts: vec![Text {
                digest: d,
                text: mit,
            }],
        }
    }

    #[test]
    fn a_shared_text_is_printed_once_with_its_users() {
        let text = render_text(&sample());
        assert_eq!(text.matches("MIT text <b>").count(), 1);
        assert!(text.contains("#1 used by: a 1.0.0 (LICENSE), b 1.0.0 (LICENSE-MIT)"));
        assert!(text.contains("- <script>x 1.0.0 (Apache-2.0)"));
    }

    #[test]
    fn html_escapes_every_string() {
        let html = render_html(&sample()).unwrap();
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;x"));
        assert!(html.contains("MIT text &lt;b&gt;"));
    }
}
