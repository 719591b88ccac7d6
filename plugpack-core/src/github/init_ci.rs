//! `cargo plugpack init-ci`: the release workflow for a user's project, written once
//! (`.github/workflows/plugpack-release.yml` at the repository top) and never rewritten;
//! [`check`] describes in words how an existing file differs from what plugpack would write
//! today (cargo-dist's byte-for-byte check is what users complain about: the file is theirs).
//!
//! The template (`templates/github/plugpack-release.yml.j2`) triggers on version tags, gives
//! each job only the permissions it uses, pins every action by commit SHA ([`PINS`]) and
//! takes the signing key from a secret.

use camino::{Utf8Path, Utf8PathBuf};

use super::Error;

/// Where the workflow goes, relative to the repository top.
pub const WORKFLOW_PATH: &str = ".github/workflows/plugpack-release.yml";

/// An action pinned by commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// `owner/repo[/path]`.
    pub action: &'static str,
    /// The full commit SHA.
    pub sha: &'static str,
    /// The release tag that commit is.
    pub tag: &'static str,
}

/// The actions the template uses, each pinned to the commit of a release tag (looked up in
/// the actions' repositories; see docs/github.md for how to refresh them).
pub const PINS: &[(&str, Pin)] = &[
    (
        "checkout",
        Pin {
            action: "actions/checkout",
            sha: "3d3c42e5aac5ba805825da76410c181273ba90b1",
            tag: "v7.0.1",
        },
    ),
    (
        "upload_artifact",
        Pin {
            action: "actions/upload-artifact",
            sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
            tag: "v7.0.0",
        },
    ),
    (
        "download_artifact",
        Pin {
            action: "actions/download-artifact",
            sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
            tag: "v8.0.1",
        },
    ),
    (
        "upload_sarif",
        Pin {
            action: "github/codeql-action/upload-sarif",
            sha: "dd903d2e4f5405488e5ef1422510ee31c8b32357",
            tag: "v3.36.2",
        },
    ),
    (
        "attest",
        Pin {
            action: "actions/attest-build-provenance",
            sha: "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
            tag: "v4.1.0",
        },
    ),
];

/// What the workflow is made for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--registry REGISTRY/REPO`: push there (ghcr.io uses the job's token).
    pub registry: Option<String>,
    /// The workspace's directory relative to the repository top (`""` at the top).
    pub dir: String,
}

/// The repository top for a workspace: the nearest ancestor with `.git`, else the workspace.
pub fn repository_top(workspace_root: &Utf8Path) -> Utf8PathBuf {
    let dir = workspace_root
        .canonicalize_utf8()
        .unwrap_or_else(|_| workspace_root.to_owned());
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .map(Utf8Path::to_owned)
        .unwrap_or(dir)
}

fn valid_reference(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 255
        && r.contains('/')
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
}

/// The workflow text.
pub fn render(options: &Options) -> Result<String, Error> {
    if let Some(r) = &options.registry {
        if !valid_reference(r) {
            return Err(Error::Usage(format!(
                "--registry `{r}` is not a REGISTRY/REPO reference (letters, digits, `._-/:@`)"
            )));
        }
    }
    if !options
        .dir
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        return Err(Error::Usage(format!(
            "the workspace directory `{}` needs quoting in YAML; run init-ci from a simpler path",
            options.dir
        )));
    }
    let pins: std::collections::BTreeMap<&str, minijinja::Value> = PINS
        .iter()
        .map(|(name, pin)| {
            let fields: std::collections::BTreeMap<&str, &str> =
                [("sha", pin.sha), ("tag", pin.tag)].into();
            (*name, minijinja::Value::from(fields))
        })
        .collect();
    let dir = options.dir.trim_end_matches('/');
    let context = minijinja::context! {
        plugpack_version => env!("CARGO_PKG_VERSION"),
        registry => options.registry.clone().unwrap_or_default(),
        ghcr => options.registry.as_deref().is_some_and(|r| r.starts_with("ghcr.io/")),
        dir => dir,
        dir_prefix => if dir.is_empty() { String::new() } else { format!("{dir}/") },
        pins => pins,
    };
    crate::templates::render("github/plugpack-release.yml", context)
        .map_err(|e| Error::Template(format!("{e}: {:#}", e.source)))
}

/// Writes the workflow under `top` unless the file exists (never overwrites, even in a
/// race: the temp file is linked into place only if the name is free). Returns its path.
pub fn write(top: &Utf8Path, options: &Options) -> Result<Utf8PathBuf, Error> {
    let path = top.join(WORKFLOW_PATH);
    if path.exists() {
        return Err(Error::Exists(path));
    }
    let text = render(options)?;
    let write_err = |source| Error::Write {
        path: path.clone(),
        var: "init-ci",
        source,
    };
    let parent = path.parent().unwrap_or(top);
    std::fs::create_dir_all(parent).map_err(write_err)?;
    let mut temp = tempfile::NamedTempFile::new_in(parent).map_err(write_err)?;
    std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(write_err)?;
    temp.as_file().sync_all().map_err(write_err)?;
    temp.persist_noclobber(&path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Exists(path.clone())
        } else {
            write_err(e.error)
        }
    })?;
    Ok(path)
}

/// One difference between a workflow and what plugpack expects, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift(pub String);

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How `text` (an existing workflow) differs from what plugpack would write today, in
/// words. Checks properties, not bytes: every action pinned by a full SHA (and the SHAs
/// plugpack pins today), a tag trigger, top-level `permissions`, no expression inside a
/// `run:` script, the signing key from a secret, the cargo-plugpack version installed, and
/// that it still runs `cargo plugpack release`. Reading is line-based: comments and layout
/// are the user's business.
pub fn check(text: &str) -> Vec<Drift> {
    let mut drift = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let code = |l: &str| l.split(" #").next().unwrap_or("").trim_end().to_owned();
    let mut run_indent: Option<usize> = None;
    let mut has_tags = false;
    let mut has_top_permissions = false;
    let mut runs_release = false;
    let mut key_from_secret = false;
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let indent = raw.len() - raw.trim_start().len();
        let line = code(raw);
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(ri) = run_indent {
            if indent > ri {
                if t.contains("${{") {
                    drift.push(Drift(format!(
                        "line {n}: an expression (`${{{{ … }}}}`) inside a `run:` script; pass it through `env:` instead"
                    )));
                }
                if t.contains("cargo plugpack release") {
                    runs_release = true;
                }
                continue;
            }
            run_indent = None;
        }
        let key_part = t.trim_start_matches("- ");
        if let Some(rest) = key_part.strip_prefix("run:") {
            let rest = rest.trim();
            if rest.starts_with('|') || rest.starts_with('>') {
                run_indent = Some(indent);
            } else {
                if rest.contains("${{") {
                    drift.push(Drift(format!(
                        "line {n}: an expression (`${{{{ … }}}}`) inside a `run:` script; pass it through `env:` instead"
                    )));
                }
                if rest.contains("cargo plugpack release") {
                    runs_release = true;
                }
            }
        }
        if key_part.starts_with("tags:") {
            has_tags = true;
        }
        if indent == 0 && t.starts_with("permissions:") {
            has_top_permissions = true;
        }
        if t.starts_with("PLUGPACK_SIGNING_KEY:") && t.contains("secrets.") {
            key_from_secret = true;
        }
        if let Some(v) = t.strip_prefix("PLUGPACK_VERSION:") {
            let v = v.trim().trim_matches('"');
            if v != env!("CARGO_PKG_VERSION") {
                drift.push(Drift(format!(
                    "line {n}: installs cargo-plugpack {v}; this is {}",
                    env!("CARGO_PKG_VERSION")
                )));
            }
        }
        if let Some(uses) = key_part.strip_prefix("uses:") {
            let uses = uses.trim().trim_matches(|c| c == '"' || c == '\'');
            if uses.starts_with("./") || uses.starts_with("docker://") {
                continue;
            }
            let (action, rev) = uses.split_once('@').unwrap_or((uses, ""));
            let is_sha = rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit());
            if !is_sha {
                drift.push(Drift(format!(
                    "line {n}: {action} is not pinned by a commit SHA (`@{rev}`)"
                )));
                continue;
            }
            if let Some((_, pin)) = PINS.iter().find(|(_, p)| p.action == action) {
                if pin.sha != rev {
                    drift.push(Drift(format!(
                        "line {n}: {action} is pinned to {rev}; plugpack's template pins {} ({})",
                        pin.sha, pin.tag
                    )));
                }
            }
        }
    }
    if !has_tags {
        drift.push(Drift(
            "not triggered by tags (`on: push: tags:`)".to_owned(),
        ));
    }
    if !has_top_permissions {
        drift.push(Drift(
            "no top-level `permissions:` (the default token may have write access to everything)"
                .to_owned(),
        ));
    }
    if !key_from_secret {
        drift.push(Drift(
            "PLUGPACK_SIGNING_KEY does not come from a secret (`${{ secrets.… }}`)".to_owned(),
        ));
    }
    if !runs_release {
        drift.push(Drift("does not run `cargo plugpack release`".to_owned()));
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ghcr() -> Options {
        Options {
            registry: Some("ghcr.io/acme/plugins".to_owned()),
            dir: "plugins/".to_owned(),
        }
    }

    #[test]
    fn template_has_what_it_promises() {
        for options in [Options::default(), ghcr()] {
            let text = render(&options).unwrap();
            assert_eq!(check(&text), Vec::<Drift>::new(), "{text}");
            for (_, pin) in PINS {
                assert!(
                    text.contains(&format!("{}@{} # {}", pin.action, pin.sha, pin.tag)),
                    "{} not pinned:\n{text}",
                    pin.action
                );
            }
            // Each permission only in the job that uses it.
            let job = |name: &str| {
                let start = text.find(&format!("\n  {name}:\n")).unwrap();
                let end = text[start + 3..]
                    .find("\n  ")
                    .and_then(|_| {
                        text[start + 3..]
                            .match_indices("\n\n  ")
                            .next()
                            .map(|(i, _)| start + 3 + i)
                    })
                    .unwrap_or(text.len());
                text[start..end].to_owned()
            };
            assert!(job("provenance").contains("id-token: write"));
            assert!(!job("release").contains("id-token"));
            assert!(!job("release").contains("security-events"));
            assert!(job("code-scanning").contains("security-events: write"));
            assert!(!job("code-scanning").contains("id-token"));
            assert!(text.contains("permissions: {}\n"));
        }
        let text = render(&ghcr()).unwrap();
        assert!(text.contains("      packages: write"));
        assert!(text.contains("working-directory: plugins\n"));
        assert!(text.contains("path: plugins/target/plugpack/release/"));
        assert!(text.contains("PLUGPACK_PUSH: \"ghcr.io/acme/plugins\""));
        let plain = render(&Options::default()).unwrap();
        assert!(!plain.contains("packages: write"));
        assert!(!plain.contains("PLUGPACK_PUSH"));
        assert!(!plain.contains("working-directory"));
    }

    #[test]
    fn hostile_registry_is_refused() {
        for bad in [
            "ghcr.io/x\"\n  evil: 1",
            "x/y ${{ github.token }}",
            "noslash",
        ] {
            let err = render(&Options {
                registry: Some(bad.to_owned()),
                dir: String::new(),
            })
            .unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn check_reports_drift_in_words() {
        let text = render(&Options::default()).unwrap();
        let edited = text
            .replace(
                "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
                "actions/checkout@v4",
            )
            .replace(
                "actions/attest-build-provenance@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
                "actions/attest-build-provenance@0000000000000000000000000000000000000000",
            )
            .replace(
                "run: cargo plugpack db update",
                "run: |\n          echo \"${{ github.event.head_commit.message }}\"\n          cargo plugpack db update",
            )
            .replace("permissions: {}\n", "")
            .replace(
                &format!("PLUGPACK_VERSION: \"{}\"", env!("CARGO_PKG_VERSION")),
                "PLUGPACK_VERSION: \"0.0.1\"",
            );
        let drift: Vec<String> = check(&edited).into_iter().map(|d| d.0).collect();
        let has = |s: &str| drift.iter().any(|d| d.contains(s));
        assert!(
            has("actions/checkout is not pinned by a commit SHA (`@v4`)"),
            "{drift:#?}"
        );
        assert!(
            has("actions/attest-build-provenance is pinned to 0000"),
            "{drift:#?}"
        );
        assert!(has("inside a `run:` script"), "{drift:#?}");
        assert!(has("no top-level `permissions:`"), "{drift:#?}");
        assert!(has("installs cargo-plugpack 0.0.1"), "{drift:#?}");
        // Comments, blank lines and added steps are the user's business.
        let commented = text.replace("jobs:\n", "# mine\n\njobs:\n");
        assert_eq!(check(&commented), Vec::<Drift>::new());
    }

    #[test]
    fn write_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let top = Utf8Path::from_path(dir.path()).unwrap();
        let path = write(top, &Options::default()).unwrap();
        assert_eq!(path, top.join(WORKFLOW_PATH));
        std::fs::write(&path, "mine\n").unwrap();
        let err = write(top, &Options::default()).unwrap_err();
        assert!(matches!(err, Error::Exists(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");
        // No temp file left beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
