//! The release tag: where it comes from (`--tag`, `GITHUB_REF_NAME`, `git describe
//! --exact-match`), its two forms (`vX.Y.Z`, `NAME-vX.Y.Z`) and the check against the
//! selected plugins' versions.

use camino::Utf8Path;
use serde::{Deserialize, Serialize};

use super::Error;
use crate::ctx::Ctx;
use crate::project::Plugin;

/// Where the tag came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagSource {
    /// `--tag`.
    Flag,
    /// `GITHUB_REF_NAME` of a tag push (`GITHUB_REF_TYPE=tag`).
    GithubRefName,
    /// `git describe --tags --exact-match HEAD`.
    GitDescribe,
}

impl TagSource {
    /// How to name the source in messages.
    pub fn describe(self) -> &'static str {
        match self {
            TagSource::Flag => "--tag",
            TagSource::GithubRefName => "$GITHUB_REF_NAME",
            TagSource::GitDescribe => "git describe --exact-match",
        }
    }
}

/// A release tag, checked against the selected plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseTag {
    /// The tag as given.
    pub name: String,
    /// Where it came from.
    pub source: TagSource,
    /// `NAME` of a `NAME-vX.Y.Z` tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// `X.Y.Z`.
    pub version: String,
}

/// The tag to check: `--tag`, else `GITHUB_REF_NAME` when `GITHUB_REF_TYPE` is `tag` (or
/// unset), else the tag `git describe --tags --exact-match HEAD` finds in `workspace`.
pub fn resolve(flag: Option<&str>, ctx: &Ctx, workspace: &Utf8Path) -> Option<(String, TagSource)> {
    if let Some(tag) = flag {
        return Some((tag.to_owned(), TagSource::Flag));
    }
    if let Some(name) = ctx.var("GITHUB_REF_NAME").filter(|n| !n.is_empty())
        && ctx.var("GITHUB_REF_TYPE").is_none_or(|t| t == "tag")
    {
        return Some((name.to_owned(), TagSource::GithubRefName));
    }
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(workspace)
        .args(["describe", "--tags", "--exact-match", "HEAD"])
        .stderr(std::process::Stdio::null());
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let tag = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!tag.is_empty()).then_some((tag, TagSource::GitDescribe))
}

/// Splits `vX.Y.Z` or `NAME-vX.Y.Z` (the version a semantic version).
pub fn parse(tag: &str, source: TagSource) -> Result<ReleaseTag, Error> {
    let bad = || Error::TagFormat {
        tag: tag.to_owned(),
        source_name: source.describe(),
    };
    let (plugin, version) = match tag.strip_prefix('v') {
        Some(v) if semver::Version::parse(v).is_ok() => (None, v),
        _ => {
            let at = tag.rfind("-v").ok_or_else(bad)?;
            let (name, version) = (&tag[..at], &tag[at + 2..]);
            if name.is_empty() {
                return Err(bad());
            }
            (Some(name.to_owned()), version)
        }
    };
    semver::Version::parse(version).map_err(|_| bad())?;
    Ok(ReleaseTag {
        name: tag.to_owned(),
        source,
        plugin,
        version: version.to_owned(),
    })
}

/// Refuses a tag whose version is not every selected plugin's (`vX.Y.Z`), or whose `NAME`
/// is not the one selected plugin (`NAME-vX.Y.Z`, matched against the plugin or package
/// name) or whose version is not that plugin's.
pub fn check(tag: &ReleaseTag, plugins: &[Plugin]) -> Result<(), Error> {
    if let Some(name) = &tag.plugin {
        let Some(plugin) = plugins
            .iter()
            .find(|p| &p.name == name || &p.package_name == name)
        else {
            return Err(Error::TagNamesOtherPlugin {
                tag: tag.name.clone(),
                name: name.clone(),
                selected: plugins.iter().map(|p| p.name.clone()).collect(),
            });
        };
        if plugins.len() > 1 {
            return Err(Error::TagNamesOnePlugin {
                tag: tag.name.clone(),
                name: plugin.package_name.clone(),
            });
        }
        if plugin.version != tag.version {
            return Err(Error::TagMismatch {
                tag: tag.name.clone(),
                plugin: plugin.name.clone(),
                version: plugin.version.clone(),
            });
        }
        return Ok(());
    }
    if let Some(plugin) = plugins.iter().find(|p| p.version != tag.version) {
        return Err(Error::TagMismatch {
            tag: tag.name.clone(),
            plugin: plugin.name.clone(),
            version: plugin.version.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tag_forms_parse_and_others_are_refused() {
        let t = parse("v1.2.3", TagSource::Flag).unwrap();
        assert_eq!((t.plugin, t.version.as_str()), (None, "1.2.3"));
        let t = parse("my-plugin-v0.4.0-rc.1", TagSource::Flag).unwrap();
        assert_eq!(t.plugin.as_deref(), Some("my-plugin"));
        assert_eq!(t.version, "0.4.0-rc.1");
        for bad in ["1.2.3", "v1.2", "release", "-v1.0.0", "name-v1"] {
            assert!(parse(bad, TagSource::Flag).is_err(), "{bad}");
        }
    }
}
