//! plugpack's configuration: the `[package.metadata.plugpack]` and
//! `[workspace.metadata.plugpack]` tables of `Cargo.toml`.
//!
//! The tables are read straight from the manifests with `toml` (not from `cargo metadata`'s
//! JSON) so that an error points at the file, line and key the user wrote. Unknown keys are
//! rejected. Precedence is CLI > package > workspace > defaults; [`Config::layer`] merges one
//! level over another.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::Error;

/// One `metadata.plugpack` table as written (every key optional, unknown keys rejected).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Plugin name used in the bundle (defaults to the package name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Targets to build when none is given on the command line (default: the host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
    /// Extra OCI annotations put on every plugin manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Baseline for `abi-check`: a fingerprint JSON or bundle of the previous release,
    /// relative to the package's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi_baseline: Option<Utf8PathBuf>,
    /// Advisory and licence audit policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<crate::audit::AuditConfig>,
}

impl Config {
    /// `self` with every key it leaves unset taken from `lower`.
    pub fn layer(self, lower: &Config) -> Config {
        Config {
            name: self.name.or_else(|| lower.name.clone()),
            targets: self.targets.or_else(|| lower.targets.clone()),
            annotations: self.annotations.or_else(|| lower.annotations.clone()),
            abi_baseline: self.abi_baseline.or_else(|| lower.abi_baseline.clone()),
            audit: match (self.audit, &lower.audit) {
                (Some(mine), Some(theirs)) => Some(mine.layer(theirs)),
                (mine, theirs) => mine.or_else(|| theirs.clone()),
            },
        }
    }
}

#[derive(Deserialize)]
struct PackageManifest {
    package: Option<MetadataHolder>,
}

#[derive(Deserialize)]
struct WorkspaceManifest {
    workspace: Option<MetadataHolder>,
}

#[derive(Deserialize)]
struct MetadataHolder {
    metadata: Option<PlugpackHolder>,
}

#[derive(Deserialize)]
struct PlugpackHolder {
    plugpack: Option<Config>,
}

/// Which table of a manifest to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `[package.metadata.plugpack]`
    Package,
    /// `[workspace.metadata.plugpack]`
    Workspace,
}

/// Reads one table from the manifest at `path` (absent table → default config).
pub fn read(path: &Utf8Path, table: Table) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadManifest {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text, table)
}

/// Reads a standalone `plugpack.toml` (the same keys as `metadata.plugpack`, at top level).
pub fn read_standalone(path: &Utf8Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadManifest {
        path: path.to_owned(),
        source,
    })?;
    let config: Config = toml::from_str(&text).map_err(|source| Error::InvalidConfig {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    validate(path, &config)?;
    Ok(config)
}

/// Parses one table from manifest text; `path` only names the file in errors.
pub fn parse(path: &Utf8Path, text: &str, table: Table) -> Result<Config, Error> {
    let bad = |source: toml::de::Error| Error::InvalidConfig {
        path: Utf8PathBuf::from(path),
        source: Box::new(source),
    };
    let holder = match table {
        Table::Package => {
            toml::from_str::<PackageManifest>(text)
                .map_err(bad)?
                .package
        }
        Table::Workspace => {
            toml::from_str::<WorkspaceManifest>(text)
                .map_err(bad)?
                .workspace
        }
    };
    let config = holder
        .and_then(|h| h.metadata)
        .and_then(|m| m.plugpack)
        .unwrap_or_default();
    validate(path, &config)?;
    Ok(config)
}

fn validate(path: &Utf8Path, config: &Config) -> Result<(), Error> {
    let invalid = |key: &str, message: String| Error::InvalidConfigValue {
        path: path.to_owned(),
        key: key.to_owned(),
        message,
    };
    if let Some(name) = &config.name {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !ok {
            return Err(invalid(
                "name",
                format!(
                    "`{name}` must be non-empty lowercase ASCII letters, digits, `-`, `_` or `.`"
                ),
            ));
        }
    }
    if let Some(targets) = &config.targets {
        if let Some(bad) = targets
            .iter()
            .find(|t| t.trim().is_empty() || t.contains(char::is_whitespace))
        {
            return Err(invalid(
                "targets",
                format!("`{bad}` is not a target triple"),
            ));
        }
    }
    if let Some(annotations) = &config.annotations {
        if let Some(key) = annotations.keys().find(|k| k.is_empty()) {
            return Err(invalid(
                "annotations",
                format!("empty annotation key `{key}`"),
            ));
        }
    }
    if let Some(audit) = &config.audit {
        crate::audit::cfg::validate(audit).map_err(|(key, message)| invalid(&key, message))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text =
            "[package]\nname = \"p\"\n\n[package.metadata.plugpack]\nname = \"p\"\ntargest = []\n";
        let err = parse(Utf8Path::new("/x/Cargo.toml"), text, Table::Package).unwrap_err();
        let rendered = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(rendered.contains("/x/Cargo.toml"), "{rendered}");
        assert!(rendered.contains("line 6"), "{rendered}");
        assert!(rendered.contains("targest"), "{rendered}");
    }

    #[test]
    fn package_overrides_workspace() {
        let ws = parse(
            Utf8Path::new("Cargo.toml"),
            "[workspace.metadata.plugpack]\ntargets = [\"wasm32-wasip1\"]\nname = \"ws\"\n",
            Table::Workspace,
        )
        .unwrap();
        let pkg = parse(
            Utf8Path::new("p/Cargo.toml"),
            "[package.metadata.plugpack]\nname = \"pkg\"\n",
            Table::Package,
        )
        .unwrap();
        let merged = pkg.layer(&ws);
        assert_eq!(merged.name.as_deref(), Some("pkg"));
        assert_eq!(merged.targets, Some(vec!["wasm32-wasip1".to_owned()]));
    }

    #[test]
    fn audit_policy_errors_name_file_and_key() {
        let path = Utf8Path::new("/x/Cargo.toml");
        let err = parse(
            path,
            "[package.metadata.plugpack.audit]\nmax-db-age = 30\nsevrity-threshold = \"high\"\n",
            Table::Package,
        )
        .unwrap_err();
        let rendered = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(rendered.contains("/x/Cargo.toml"), "{rendered}");
        assert!(rendered.contains("sevrity-threshold"), "{rendered}");
        let err = parse(
            path,
            "[package.metadata.plugpack.audit]\nignore = [{ id = \"RUSTSEC-2021-0003\" }]\n",
            Table::Package,
        )
        .unwrap_err();
        let rendered = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(rendered.contains("reason"), "{rendered}");
        let err = parse(
            path,
            "[package.metadata.plugpack.audit]\nignore = [{ id = \"X\", reason = \" \" }]\n",
            Table::Package,
        )
        .unwrap_err();
        assert!(err.to_string().contains("audit.ignore[0].reason"), "{err}");
        let err = parse(
            path,
            "[package.metadata.plugpack.audit.lints]\nvulnerabilty = \"warn\"\n",
            Table::Package,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("audit.lints.vulnerabilty"),
            "{err}"
        );
        let err = parse(
            path,
            "[package.metadata.plugpack.audit.licenses]\nallow = [\"MIT\"]\nalow = []\n",
            Table::Package,
        )
        .unwrap_err();
        let rendered = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(rendered.contains("alow"), "{rendered}");
    }

    #[test]
    fn audit_tables_layer_key_by_key() {
        let ws = parse(
            Utf8Path::new("Cargo.toml"),
            "[workspace.metadata.plugpack.audit]\nmax-db-age = 10\nlints = { unmaintained = \"deny\" }\n",
            Table::Workspace,
        )
        .unwrap();
        let pkg = parse(
            Utf8Path::new("p/Cargo.toml"),
            "[package.metadata.plugpack.audit]\nrequire-db = true\nlints = { yanked = \"deny\" }\n",
            Table::Package,
        )
        .unwrap();
        let audit = pkg.layer(&ws).audit.unwrap();
        assert_eq!(audit.max_db_age, Some(10));
        assert_eq!(audit.require_db, Some(true));
        assert_eq!(audit.lints.unwrap().len(), 2);
    }

    #[test]
    fn rejects_bad_values() {
        let err = parse(
            Utf8Path::new("Cargo.toml"),
            "[package.metadata.plugpack]\nname = \"Bad Name\"\n",
            Table::Package,
        )
        .unwrap_err();
        assert!(err.to_string().contains("`name`"), "{err}");
    }
}
