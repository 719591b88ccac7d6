//! `new`: scaffolds a ready-to-package plugin crate from the embedded templates.
//!
//! Input: [`NewOptions`]. Output: [`NewProject`]. Side effects: creates the directory and,
//! like `cargo new`, runs `git init` in it unless it is already inside a git work tree
//! ([`Vcs::None`] opts out). The files are rendered into a temporary directory beside the
//! destination and moved into place in one rename, so a failure never leaves a half-written
//! crate, and a non-empty destination is refused rather than overwritten.
//!
//! A wasm crate also gets `rust-toolchain.toml` (rustup installs `wasm32-wasip1`) and
//! `.cargo/config.toml` (`build.target`), so a plain `cargo build` in it builds the module.

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::build::PluginKind;
use crate::templates::{self, RenderError};

/// Why scaffolding failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The name is not a usable crate name.
    #[error(
        "`{0}` is not a valid plugin name: use lowercase ASCII letters, digits, `-` and `_`, starting with a letter"
    )]
    BadName(String),
    /// The destination exists and is not an empty directory.
    #[error("destination {0} already exists and is not empty; choose another --path")]
    NotEmpty(Utf8PathBuf),
    /// Writing failed.
    #[error("cannot create {path}")]
    Io {
        /// What was being written.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A template failed to render.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// `git init` could not be run or failed.
    #[error("cannot initialise a git repository in {path} (install git, or pass --vcs none)")]
    Git {
        /// The new crate's directory.
        path: Utf8PathBuf,
        /// The git failure.
        #[source]
        source: crate::process::ProcessError,
    },
}

/// Version control for the new crate (`cargo new --vcs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vcs {
    /// `git init`, unless the destination is already inside a git work tree.
    #[default]
    Git,
    /// No repository.
    None,
}

/// What to scaffold.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// Crate name.
    pub name: String,
    /// cdylib or wasm.
    pub kind: PluginKind,
    /// Destination directory (default: `./NAME`).
    pub path: Utf8PathBuf,
    /// Whether to initialise a git repository.
    pub vcs: Vcs,
    /// With [`PluginKind::Wasm`]: a WebAssembly component (`wasm32-wasip2`, its WIT world in
    /// `wit/world.wit`, bindings from `wit-bindgen`) instead of a core module.
    pub component: bool,
}

/// The scaffolded crate.
#[derive(Debug, Clone, Serialize)]
pub struct NewProject {
    /// Its directory.
    pub path: Utf8PathBuf,
    /// Files written, relative to `path`.
    pub files: Vec<String>,
    /// Its kind.
    pub kind: PluginKind,
    /// Whether `git init` was run (false with [`Vcs::None`] or inside an existing work tree).
    pub git_initialized: bool,
}

/// A crate name as a WIT package name: kebab-case words that start with a letter
/// (`my_plugin2` → `my-plugin2`, `a-2b` → `a2b`).
fn wit_name(name: &str) -> String {
    let mut out = String::new();
    for word in name.split(['-', '_']).filter(|w| !w.is_empty()) {
        if !out.is_empty() && word.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push('-');
        }
        out.push_str(word);
    }
    out
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Creates the plugin crate.
pub fn new(options: &NewOptions) -> Result<NewProject, Error> {
    if !valid_name(&options.name) {
        return Err(Error::BadName(options.name.clone()));
    }
    let dest = &options.path;
    let io = |path: &Utf8Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    if dest.exists() {
        let mut entries = std::fs::read_dir(dest).map_err(|_| Error::NotEmpty(dest.clone()))?;
        if entries.next().is_some() {
            return Err(Error::NotEmpty(dest.clone()));
        }
    }
    let component = options.component && options.kind == PluginKind::Wasm;
    let kind_dir = match options.kind {
        PluginKind::Cdylib => "cdylib",
        PluginKind::Wasm if component => "component",
        PluginKind::Wasm => "wasm",
    };
    let context = minijinja::context! {
        name => options.name.clone(),
        symbol => options.name.replace('-', "_"),
        wit_name => wit_name(&options.name),
    };
    let mut files = vec![
        ("Cargo.toml", format!("{kind_dir}/Cargo.toml")),
        ("src/lib.rs", format!("{kind_dir}/lib.rs")),
        (".gitignore", "gitignore".to_owned()),
    ];
    if options.kind == PluginKind::Wasm {
        files.push((
            "rust-toolchain.toml",
            format!("{kind_dir}/rust-toolchain.toml"),
        ));
        files.push((
            ".cargo/config.toml",
            format!("{kind_dir}/cargo-config.toml"),
        ));
    }
    if component {
        files.push(("wit/world.wit", "component/world.wit".to_owned()));
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".plugpack-new-")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    let mut written = Vec::new();
    for (rel, template) in &files {
        let text = templates::render(template, context.clone())?;
        let path = staging.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dest))?;
        }
        std::fs::write(&path, text).map_err(io(&dest.join(rel)))?;
        written.push((*rel).to_owned());
    }
    let git_initialized = options.vcs == Vcs::Git && !inside_git_work_tree(&parent);
    if git_initialized {
        let mut cmd = std::process::Command::new("git");
        cmd.args(["init", "--quiet"]).current_dir(staging.path());
        crate::process::output(&mut cmd).map_err(|source| Error::Git {
            path: dest.clone(),
            source,
        })?;
    }
    let staged = staging.keep();
    if let Err(source) = std::fs::rename(&staged, dest) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(Error::Io {
            path: dest.clone(),
            source,
        });
    }
    Ok(NewProject {
        path: dest.clone(),
        files: written,
        kind: options.kind,
        git_initialized,
    })
}

/// Whether `dir` is inside a git work tree (`git rev-parse --is-inside-work-tree`). When git
/// cannot be run this is `false`, and `git init` then reports the missing git.
fn inside_git_work_tree(dir: &Utf8Path) -> bool {
    let mut cmd = std::process::Command::new("git");
    cmd.args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(dir);
    crate::process::output(&mut cmd)
        .map(|out| out.stdout.starts_with(b"true"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_become_wit_package_names() {
        assert_eq!(wit_name("my-plugin"), "my-plugin");
        assert_eq!(wit_name("my_plugin2"), "my-plugin2");
        assert_eq!(wit_name("a-2b"), "a2b");
        assert_eq!(wit_name("a__b"), "a-b");
    }

    fn tmp() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        (dir, path)
    }

    #[test]
    fn writes_crate_and_refuses_non_empty_destination() {
        let (_guard, root) = tmp();
        let dest = root.join("my-plugin");
        let made = new(&NewOptions {
            name: "my-plugin".into(),
            kind: PluginKind::Wasm,
            path: dest.clone(),
            vcs: Vcs::None,
            component: false,
        })
        .unwrap();
        assert_eq!(made.files.len(), 5);
        assert!(!made.git_initialized && !dest.join(".git").exists());
        let toolchain = std::fs::read_to_string(dest.join("rust-toolchain.toml")).unwrap();
        assert!(
            toolchain.contains("targets = [\"wasm32-wasip1\"]"),
            "{toolchain}"
        );
        let cargo_config = std::fs::read_to_string(dest.join(".cargo/config.toml")).unwrap();
        assert!(
            cargo_config.contains("target = \"wasm32-wasip1\""),
            "{cargo_config}"
        );
        let manifest = std::fs::read_to_string(dest.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("crate-type = [\"cdylib\", \"rlib\"]"));
        assert!(manifest.contains("panic = \"abort\""));
        let config = crate::project::parse_config(
            &dest.join("Cargo.toml"),
            &manifest,
            crate::project::Table::Package,
        )
        .unwrap();
        assert_eq!(config.targets, Some(vec!["wasm32-wasip1".to_owned()]));
        let lib = std::fs::read_to_string(dest.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub extern \"C\" fn my_plugin_add"));

        let again = new(&NewOptions {
            name: "my-plugin".into(),
            kind: PluginKind::Cdylib,
            path: dest.clone(),
            vcs: Vcs::None,
            component: false,
        });
        assert!(matches!(again, Err(Error::NotEmpty(_))));
        // The first scaffold is untouched and no staging directory is left.
        assert_eq!(
            std::fs::read_to_string(dest.join("Cargo.toml")).unwrap(),
            manifest
        );
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
    }

    #[test]
    fn runs_git_init_unless_inside_a_work_tree() {
        let (_guard, root) = tmp();
        let options = |path: Utf8PathBuf, vcs| NewOptions {
            name: "git-plugin".into(),
            kind: PluginKind::Cdylib,
            path,
            vcs,
            component: false,
        };
        let outer = root.join("outer");
        let made = new(&options(outer.clone(), Vcs::Git)).unwrap();
        assert!(made.git_initialized);
        assert!(outer.join(".git").is_dir());
        // Inside the new repository, like `cargo new`, no nested repository.
        let inner = outer.join("plugins/inner");
        let made = new(&options(inner.clone(), Vcs::Git)).unwrap();
        assert!(!made.git_initialized);
        assert!(!inner.join(".git").exists());
        // Opted out.
        let none = root.join("none");
        assert!(
            !new(&options(none.clone(), Vcs::None))
                .unwrap()
                .git_initialized
        );
        assert!(!none.join(".git").exists());
    }

    #[test]
    fn rejects_bad_names() {
        let (_guard, root) = tmp();
        for bad in ["", "Upper", "9lives", "has space", "../escape"] {
            let r = new(&NewOptions {
                name: bad.into(),
                kind: PluginKind::Cdylib,
                path: root.join("x"),
                vcs: Vcs::None,
                component: false,
            });
            assert!(matches!(r, Err(Error::BadName(_))), "{bad}");
        }
    }
}
