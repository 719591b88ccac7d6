//! Cargo's own configuration, resolved as cargo resolves it, with `cargo-config2`: the
//! `.cargo/config.toml` files from a directory upwards, then `$CARGO_HOME/config.toml`, and the
//! environment over them (`CARGO_BUILD_TARGET`, `CARGO_TARGET_DIR`, `CARGO_BUILD_TARGET_DIR`,
//! `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, `CARGO_TARGET_<TRIPLE>_RUSTFLAGS`, …).
//!
//! plugpack runs cargo in the workspace root, so cargo reads its configuration from there;
//! [`CargoConfig::load`] reads it from the same directory, so the targets, target directory
//! and rustflags plugpack states are the ones cargo used. Precedence of the targets is
//! `--target` > `[package.metadata.plugpack] targets` > cargo's configuration > the host
//! (see [`crate::build::targets_for`]).

use std::path::PathBuf;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use super::Error;
use crate::ctx::Ctx;

/// What plugpack takes from cargo's configuration of one directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CargoConfig {
    /// `build.target` (a string or a list) or `CARGO_BUILD_TARGET`, as cargo would pass them
    /// on its command line (a target-spec path made absolute); empty: cargo builds for the host.
    pub build_targets: Vec<String>,
    /// `CARGO_TARGET_DIR`, else `CARGO_BUILD_TARGET_DIR`, else `build.target-dir` (relative to
    /// the directory holding the `.cargo` directory that set it), absolute.
    pub target_dir: Option<Utf8PathBuf>,
}

impl CargoConfig {
    /// Reads cargo's configuration as a cargo started in `dir` would, with the environment
    /// of `ctx`.
    pub fn load(ctx: &Ctx, dir: &Utf8Path) -> Result<Self, Error> {
        let config = resolve(ctx, dir, None)?;
        let bad = |source: cargo_config2::Error| Error::CargoConfig {
            dir: dir.to_owned(),
            source: Box::new(source),
        };
        let build_targets = config
            .build_target_for_cli(std::iter::empty::<&str>())
            .map_err(bad)?;
        let target_dir = config
            .build
            .target_dir
            .clone()
            .map(|p| super::utf8_path(dir.as_std_path().join(p)))
            .transpose()?;
        Ok(Self {
            build_targets,
            target_dir,
        })
    }
}

/// The rustflags cargo gives the units it builds for `target` when started in `dir`
/// (`CARGO_ENCODED_RUSTFLAGS`, else `RUSTFLAGS`, else `target.<triple>` and matching
/// `target.<cfg>` tables, else `build.rustflags`), in order. `host` is the host triple, so
/// resolving does not ask cargo for it; `[target.<cfg>]` tables make `cargo-config2` ask
/// `ctx.rustc()` for the target's cfg values.
pub fn rustflags(
    ctx: &Ctx,
    dir: &Utf8Path,
    target: &str,
    host: &str,
) -> Result<Vec<String>, Error> {
    let config = resolve(ctx, dir, Some(host))?;
    config
        .rustflags(target)
        .map(|flags| flags.map(|f| f.flags).unwrap_or_default())
        .map_err(|source| Error::CargoConfig {
            dir: dir.to_owned(),
            source: Box::new(source),
        })
}

/// `$CARGO_HOME` as cargo finds it: `CARGO_HOME` (relative to `dir` when relative), else
/// `$HOME/.cargo`.
pub fn cargo_home(ctx: &Ctx, dir: &Utf8Path) -> Option<Utf8PathBuf> {
    match ctx.var("CARGO_HOME").filter(|h| !h.is_empty()) {
        Some(home) => Some(dir.join(home)),
        None => ctx
            .var("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| Utf8Path::new(h).join(".cargo")),
    }
}

fn resolve(ctx: &Ctx, dir: &Utf8Path, host: Option<&str>) -> Result<cargo_config2::Config, Error> {
    let mut options = cargo_config2::ResolveOptions::default()
        .env(ctx.vars())
        .rustc(cargo_config2::PathAndArgs::new(ctx.rustc()))
        .cargo(ctx.cargo())
        .cargo_home(cargo_home(ctx, dir).map(PathBuf::from));
    if let Some(host) = host {
        options = options.host_triple(host);
    }
    cargo_config2::Config::load_with_options(dir, options).map_err(|source| Error::CargoConfig {
        dir: dir.to_owned(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    fn ctx(vars: &[(&str, &str)]) -> Ctx {
        let mut env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // rustc and cargo are found on PATH; no CARGO_HOME config of the machine is read.
        #[allow(clippy::disallowed_methods)]
        if let Ok(path) = std::env::var("PATH") {
            env.insert("PATH".to_owned(), path);
        }
        Ctx::with_env(env, Arc::new(crate::SilentReporter))
    }

    fn workspace(config: &str) -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        std::fs::create_dir_all(root.join(".cargo")).unwrap();
        std::fs::write(root.join(".cargo/config.toml"), config).unwrap();
        std::fs::create_dir_all(root.join("home")).unwrap();
        (dir, root)
    }

    #[test]
    fn build_target_as_string_list_and_environment() {
        let (_d, root) = workspace("[build]\ntarget = \"wasm32-unknown-unknown\"\n");
        let home = root.join("home");
        let c = ctx(&[("CARGO_HOME", home.as_str())]);
        assert_eq!(
            CargoConfig::load(&c, &root).unwrap().build_targets,
            ["wasm32-unknown-unknown"]
        );

        let (_d, root) =
            workspace("[build]\ntarget = [\"wasm32-unknown-unknown\", \"wasm32-wasip1\"]\n");
        let c = ctx(&[("CARGO_HOME", home.as_str())]);
        assert_eq!(
            CargoConfig::load(&c, &root).unwrap().build_targets,
            ["wasm32-unknown-unknown", "wasm32-wasip1"]
        );

        // The environment wins over the file, as in cargo.
        let c = ctx(&[
            ("CARGO_HOME", home.as_str()),
            ("CARGO_BUILD_TARGET", "wasm32-wasip1"),
        ]);
        assert_eq!(
            CargoConfig::load(&c, &root).unwrap().build_targets,
            ["wasm32-wasip1"]
        );
    }

    #[test]
    fn target_dir_is_relative_to_the_config_and_env_wins() {
        let (_d, root) = workspace("[build]\ntarget-dir = \"out/cargo\"\n");
        let sub = root.join("crates/a");
        std::fs::create_dir_all(&sub).unwrap();
        let home = root.join("home");
        let c = ctx(&[("CARGO_HOME", home.as_str())]);
        // Read from a subdirectory: still relative to the directory holding `.cargo`.
        assert_eq!(
            CargoConfig::load(&c, &sub).unwrap().target_dir,
            Some(root.join("out/cargo"))
        );
        let c = ctx(&[
            ("CARGO_HOME", home.as_str()),
            ("CARGO_TARGET_DIR", "/elsewhere"),
        ]);
        assert_eq!(
            CargoConfig::load(&c, &root).unwrap().target_dir,
            Some(Utf8PathBuf::from("/elsewhere"))
        );
        let (_d, bare) = workspace("");
        let c = ctx(&[("CARGO_HOME", home.as_str())]);
        assert_eq!(
            CargoConfig::load(&c, &bare).unwrap(),
            CargoConfig::default()
        );
    }

    #[test]
    fn rustflags_follow_cargos_precedence() {
        let (_d, root) = workspace(
            "[build]\nrustflags = [\"--cfg\", \"from_build\"]\n\
             [target.wasm32-unknown-unknown]\nrustflags = [\"--cfg\", \"from_triple\"]\n\
             [target.'cfg(target_os = \"linux\")']\nrustflags = [\"--cfg\", \"from_cfg\"]\n",
        );
        let home = root.join("home");
        let c = ctx(&[("CARGO_HOME", home.as_str())]);
        let host = "x86_64-unknown-linux-gnu";
        assert_eq!(
            rustflags(&c, &root, "wasm32-unknown-unknown", host).unwrap(),
            ["--cfg", "from_triple"]
        );
        assert_eq!(
            rustflags(&c, &root, "x86_64-unknown-linux-gnu", host).unwrap(),
            ["--cfg", "from_cfg"]
        );
        assert_eq!(
            rustflags(&c, &root, "wasm32-wasip1", host).unwrap(),
            ["--cfg", "from_build"]
        );
        let c = ctx(&[
            ("CARGO_HOME", home.as_str()),
            ("RUSTFLAGS", "--cfg from_env"),
        ]);
        assert_eq!(
            rustflags(&c, &root, "wasm32-unknown-unknown", host).unwrap(),
            ["--cfg", "from_env"]
        );
        let c = ctx(&[
            ("CARGO_HOME", home.as_str()),
            ("RUSTFLAGS", "--cfg from_env"),
            ("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1ffrom encoded"),
        ]);
        assert_eq!(
            rustflags(&c, &root, "wasm32-unknown-unknown", host).unwrap(),
            ["--cfg", "from encoded"]
        );
    }
}
