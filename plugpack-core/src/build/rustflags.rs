//! The rustflags of plugpack's cargo runs: the flags cargo itself would use (resolved from
//! its configuration and environment, [`crate::project::cargo_config::rustflags`]) followed by
//! `--remap-path-prefix` for every build-machine directory a compiled artifact can name, so
//! that the same sources give the same bytes wherever they are checked out and built.
//!
//! Remapped, longest prefix last (rustc applies the last matching mapping): `$CARGO_HOME`
//! (registry and git sources) → `/cargo`, the toolchain's sysroot (`rust-src`) →
//! `/rustc-sysroot`, the workspace root → `/workspace`, the target directory (build-script
//! output included with `include!`) → `/target`. Paths outside these (a path dependency
//! outside the workspace) are left as they are.
//!
//! Changing rustflags changes cargo's fingerprints. Cargo hashes the flags into the file
//! names of dependencies, so a plain `cargo build` and plugpack's build keep separate copies
//! of every dependency side by side and neither rebuilds the other's; only the plugin crates
//! themselves (a cdylib's file name carries no hash) are recompiled when the two alternate.

use camino::{Utf8Path, Utf8PathBuf};

use super::Error;
use crate::ctx::Ctx;
use crate::project::Project;

/// The `--remap-path-prefix=FROM=TO` flags for `project`, in the order rustc needs.
pub(super) fn path_remaps(project: &Project, ctx: &Ctx) -> Result<Vec<String>, Error> {
    let mut pairs: Vec<(Utf8PathBuf, &str)> = Vec::new();
    if let Some(home) = crate::project::cargo_config::cargo_home(ctx, &project.workspace_root) {
        pairs.push((home, "/cargo"));
    }
    let sysroot = ctx.rustc_stdout(
        &project.workspace_root,
        &["--print".to_owned(), "sysroot".to_owned()],
    )?;
    pairs.push((Utf8PathBuf::from(sysroot), "/rustc-sysroot"));
    pairs.push((project.workspace_root.clone(), "/workspace"));
    pairs.push((project.target_dir.clone(), "/target"));
    Ok(remap_flags(pairs))
}

/// Each prefix as given and, when it differs, with symlinks resolved; shorter prefixes first.
fn remap_flags(pairs: Vec<(Utf8PathBuf, &str)>) -> Vec<String> {
    let mut all: Vec<(Utf8PathBuf, &str)> = Vec::new();
    for (from, to) in pairs {
        if from.as_str().is_empty() {
            continue;
        }
        if let Ok(real) = from.canonicalize_utf8() {
            if real != from {
                all.push((real, to));
            }
        }
        all.push((from, to));
    }
    all.sort_by_key(|(from, _)| from.as_str().len());
    all.dedup();
    all.into_iter()
        .map(|(from, to)| format!("--remap-path-prefix={from}={to}"))
        .collect()
}

/// `rustc --print cfg --target <target>` with the flags cargo passes for it (a `--cfg`, a
/// `-C target-feature` from `[target.<triple>] rustflags` changes the answer); without the
/// flags when rustc refuses them (e.g. `-Z` flags on a stable rustc); `None` when rustc
/// cannot answer at all.
pub(super) fn target_cfg(
    ctx: &Ctx,
    dir: &Utf8Path,
    target: &str,
    flags: &[String],
) -> Option<String> {
    let ask = |flags: &[String]| {
        let mut args: Vec<String> = ["--print", "cfg", "--target", target]
            .map(str::to_owned)
            .to_vec();
        args.extend(flags.iter().cloned());
        ctx.rustc_stdout(dir, &args).ok()
    };
    ask(flags).or_else(|| if flags.is_empty() { None } else { ask(&[]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_prefixes_come_last_so_they_win() {
        let flags = remap_flags(vec![
            ("/nonexistent/ws/target".into(), "/target"),
            ("/nonexistent/ws".into(), "/workspace"),
            ("/nonexistent/home/.cargo".into(), "/cargo"),
        ]);
        assert_eq!(
            flags,
            [
                "--remap-path-prefix=/nonexistent/ws=/workspace",
                "--remap-path-prefix=/nonexistent/ws/target=/target",
                "--remap-path-prefix=/nonexistent/home/.cargo=/cargo",
            ]
        );
    }
}
