//! CycloneDX SBOMs of exactly what was compiled into each plugin artifact.
//!
//! Input: the [`Project`], the [`BuildOutput`] that produced the artifact, the
//! [`BuiltArtifact`] and [`SbomOptions`]. Output: [`Sbom`] (the document plus findings such as
//! crates without a licence). Side effects: runs `rustc --print cfg --target` once per
//! artifact (to drop other-platform edges) and reads `Cargo.lock`; writing files is the
//! caller's business ([`Sbom::to_json`] gives the bytes).
//!
//! # Which components
//! The crate set is [`depset::compute_exact`], computed per compilation unit of this build
//! (its `compiler-artifact` messages): the units linked into the plugin (`scope: required`)
//! and the host-side units of its build scripts and proc-macros (`scope: excluded`, dropped
//! with [`SbomOptions::build_deps`] off).
//! Dev-dependencies, other-platform and `cfg(any())` dependencies never appear.
//!
//! # Determinism
//! Components are sorted by `bom-ref`, dependencies by `ref`, properties by name then value;
//! `metadata.timestamp` is the project epoch (`SOURCE_DATE_EPOCH`, else the last commit's
//! time). Nothing in the document names a path of the build machine: path crates get their
//! directory *relative to the workspace root* in the `plugpack:crate:local-path` property.
//!
//! `serialNumber` is `urn:uuid:` + a UUIDv5 whose namespace is the UUIDv5 of the URL
//! `https://github.com/plugpack/plugpack/sbom` in the URL namespace, and whose name is the
//! canonical JSON (sorted keys, no whitespace) of the whole document with `serialNumber` set to
//! the empty string. Same content → same serial number; any change → a new one.
//!
//! # Why own serde structs
//! The `cyclonedx-bom` crate stops at spec 1.5; plugpack writes 1.6 by default and 1.5 on
//! request. The differences we care about: 1.6 has `authors` (contacts), 1.5 only `author`
//! (a string). Both versions are validated against the official schemas in the tests.
//!
//! # Properties (namespace `plugpack:`)
//! | name | on | value |
//! |---|---|---|
//! | `plugpack:crate:feature` | crates, plugin | one per feature rustc was given |
//! | `plugpack:crate:kind` | crates, plugin | `lib`, `proc-macro`, `custom-build`, `cdylib` |
//! | `plugpack:crate:local-path` | path crates | directory relative to the workspace root |
//! | `plugpack:dependency-path` | crates | a shortest path from the plugin, `a > b > c` |
//! | `plugpack:license:non-spdx` | crates | `true` when `licenses` holds free text, not SPDX |
//! | `plugpack:license:missing` | crates | `true` when the crate declares no licence |
//! | `plugpack:license:file` | crates | `license-file`, relative to the crate |
//! | `plugpack:wit:interface`, `plugpack:wit:provided-by` | WIT packages a component imports | each imported interface; `host` (see `docs/sbom.md`) |
//! | `plugpack:artifact:*`, `plugpack:target`, `plugpack:plugin:kind`, `plugpack:rustc:version`, `plugpack:cargo:profile`, `plugpack:dependency-set:exact`, `plugpack:dependency-set:inexact-reason` | plugin | the artifact and how it was built |

pub mod auditable;
mod component;
pub mod cyclonedx;
mod error;
mod license;
mod purl;
pub mod spdx;
mod wit;

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8Path;
use serde::{Deserialize, Serialize};

pub use error::Error;
pub use license::Licensing;
pub use purl::cargo_purl;
pub use wit::wit_ref;

use crate::build::{BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::depset::{self, DepPackage, DepSet, Scope};
use crate::project::{LoadOptions, Project};
use component::{artifact_properties, describe, tool_component};
use cyclonedx::{Bom, Component, Dependency, Hash, Lifecycle, Metadata, Property, Tools};

/// Media type of the documents (OCI layer and referrer `artifactType`).
pub const MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

/// CycloneDX specification version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub enum SpecVersion {
    /// 1.5, for older consumers.
    #[serde(rename = "1.5")]
    V1_5,
    /// 1.6 (default).
    #[default]
    #[serde(rename = "1.6")]
    V1_6,
}

impl SpecVersion {
    /// `1.5` / `1.6`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1_5 => "1.5",
            SpecVersion::V1_6 => "1.6",
        }
    }

    fn schema_url(self) -> String {
        format!(
            "http://cyclonedx.org/schema/bom-{}.schema.json",
            self.as_str()
        )
    }
}

impl std::fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which document format `sbom` writes and `package` attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbomFormat {
    /// CycloneDX JSON (`*.cdx.json`, the default).
    #[default]
    CyclonedxJson,
    /// SPDX 2.3 JSON (`*.spdx.json`), converted from the CycloneDX document ([`spdx`]).
    SpdxJson,
}

impl SbomFormat {
    /// The file name of `sbom`'s document in this format.
    pub fn file_name(self, sbom: &Sbom) -> String {
        match self {
            SbomFormat::CyclonedxJson => sbom.file_name(),
            SbomFormat::SpdxJson => spdx::file_name(sbom),
        }
    }

    /// The media type (OCI `artifactType` of the referrer).
    pub fn media_type(self) -> &'static str {
        match self {
            SbomFormat::CyclonedxJson => MEDIA_TYPE,
            SbomFormat::SpdxJson => spdx::MEDIA_TYPE,
        }
    }

    /// The document's bytes and its identifier (CycloneDX `serialNumber`, SPDX
    /// `documentNamespace`).
    pub fn render(self, sbom: &Sbom) -> Result<(Vec<u8>, String), Error> {
        match self {
            SbomFormat::CyclonedxJson => Ok((sbom.to_json()?, sbom.bom.serial_number.clone())),
            SbomFormat::SpdxJson => {
                let doc = spdx::from_sbom(sbom);
                let bytes = doc.to_json().map_err(|source| Error::Serialize {
                    plugin: sbom.plugin.clone(),
                    target: sbom.target.clone(),
                    source,
                })?;
                Ok((bytes, doc.document_namespace))
            }
        }
    }
}

/// How to write the SBOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbomOptions {
    /// Spec version.
    pub spec_version: SpecVersion,
    /// Include build-only crates (build scripts, proc-macros and their dependencies) with
    /// `scope: excluded`; off = `--no-build-deps`.
    pub build_deps: bool,
    /// The artifact's ABI fingerprint (overall digest and detail level), recorded as
    /// `plugpack:abi:fingerprint` / `plugpack:abi:detail` on `metadata.component` when known
    /// (`package` passes the one it attaches to the bundle).
    pub abi_fingerprint: Option<(crate::types::Sha256Digest, crate::fingerprint::Detail)>,
}

impl Default for SbomOptions {
    fn default() -> Self {
        Self {
            spec_version: SpecVersion::V1_6,
            build_deps: true,
            abi_fingerprint: None,
        }
    }
}

/// What a finding is about (stable kebab-case codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// A crate declares no `license`.
    MissingLicense,
    /// A crate's `license` is not an SPDX expression.
    NonSpdxLicense,
    /// A registry crate has no checksum in `Cargo.lock`.
    MissingChecksum,
    /// The dependency set is not exact (prebuilt `--artifact`, or the build's units left a
    /// choice open; the message says why): the list may over-report.
    InexactDependencySet,
}

/// Something a reader of the SBOM should know; not an error.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    /// What kind.
    pub code: FindingCode,
    /// `name@version` it is about.
    pub package: String,
    /// One line for humans.
    pub message: String,
}

/// One generated SBOM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sbom {
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// Target triple of the artifact.
    pub target: String,
    /// The document.
    pub bom: Bom,
    /// Findings, sorted.
    pub findings: Vec<Finding>,
}

impl Sbom {
    /// Adds CycloneDX `vulnerabilities[]` entries (as made by
    /// [`crate::audit::cyclonedx::vulnerabilities`]), keeping only the `affects` refs that name a
    /// component of this document (an audit covers every target of a plugin; an SBOM one) and
    /// dropping entries left with none. The serial number is derived again from the content.
    pub fn add_vulnerabilities(&mut self, vulnerabilities: Vec<serde_json::Value>) {
        let refs: std::collections::BTreeSet<&str> = self
            .bom
            .components
            .iter()
            .filter_map(|c| c.bom_ref.as_deref())
            .collect();
        let mut kept = Vec::new();
        for mut v in vulnerabilities {
            let Some(affects) = v.get_mut("affects").and_then(|a| a.as_array_mut()) else {
                continue;
            };
            affects.retain(|a| {
                a.get("ref")
                    .and_then(|r| r.as_str())
                    .is_some_and(|r| refs.contains(r))
            });
            if !affects.is_empty() {
                kept.push(v);
            }
        }
        self.bom.vulnerabilities = kept;
        self.bom.serial_number = serial_number(&self.bom);
    }

    /// The document as pretty JSON with a trailing newline (the bytes plugpack writes).
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let mut bytes =
            serde_json::to_vec_pretty(&self.bom).map_err(|source| Error::Serialize {
                plugin: self.plugin.clone(),
                target: self.target.clone(),
                source,
            })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// `<plugin>-<version>-<target>.cdx.json`.
    pub fn file_name(&self) -> String {
        format!("{}-{}-{}.cdx.json", self.plugin, self.version, self.target)
    }
}

/// Before loading the project (whose `cargo metadata` would silently create a lockfile):
/// warns when the workspace has no `Cargo.lock` (cargo resolves afresh, so the SBOM describes a
/// resolution nobody committed), or fails under `--locked`/`--frozen` with the fix.
pub fn check_lockfile(ctx: &Ctx, options: &LoadOptions) -> Result<(), Error> {
    let mut cmd = std::process::Command::new(ctx.cargo());
    cmd.args(["locate-project", "--workspace", "--message-format", "plain"]);
    if let Some(path) = &options.manifest_path {
        cmd.arg("--manifest-path").arg(path);
    }
    // If cargo cannot locate the workspace, project loading reports it in cargo's words.
    let Ok(manifest) = crate::process::stdout_string(&mut cmd) else {
        return Ok(());
    };
    let Some(root) = Utf8Path::new(manifest.trim()).parent() else {
        return Ok(());
    };
    if root.join("Cargo.lock").exists() {
        return Ok(());
    }
    if options.network.locked || options.network.frozen {
        return Err(Error::MissingLockfile {
            workspace_root: root.to_owned(),
        });
    }
    ctx.reporter().warn(&format!(
        "no Cargo.lock in {root}: cargo resolves dependency versions now and the SBOM describes \
         that resolution; commit Cargo.lock so builds and SBOMs are reproducible"
    ));
    Ok(())
}

/// Generates the SBOM of `artifact`, produced by `build`.
pub fn generate(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
    options: &SbomOptions,
    ctx: &Ctx,
) -> Result<Sbom, Error> {
    let wrap = |source| Error::DepSet {
        plugin: artifact.plugin.clone(),
        target: artifact.target.clone(),
        source: Box::new(source),
    };
    let set = depset::compute_exact(project, build, artifact, ctx).map_err(wrap)?;
    let mut sbom = from_depset(&set, artifact, project.epoch, options);
    add_component_imports(&mut sbom, &artifact.path)?;
    Ok(sbom)
}

/// For a WebAssembly component: the WIT packages it imports, as components (see
/// [`wit`]). A core module or native library is left as it is.
fn add_component_imports(sbom: &mut Sbom, path: &Utf8Path) -> Result<(), Error> {
    use std::io::Read as _;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    if !crate::fingerprint::component::is_component(&head[..n]) {
        return Ok(());
    }
    let doc =
        crate::fingerprint::fingerprint_file(path).map_err(|source| Error::ComponentWorld {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
    if let Some(world) = &doc.wit {
        wit::add_imported_packages(sbom, world);
    }
    Ok(())
}

/// Builds the document from a computed set (pure; no I/O).
pub fn from_depset(
    set: &DepSet,
    artifact: &BuiltArtifact,
    epoch: i64,
    options: &SbomOptions,
) -> Sbom {
    let mut findings = BTreeSet::new();
    if !set.exact {
        let message = if set.inexact_reasons.is_empty() {
            "the dependency set is not exact".to_owned()
        } else {
            set.inexact_reasons.join("; ")
        };
        findings.insert(Finding {
            code: FindingCode::InexactDependencySet,
            package: format!("{}@{}", artifact.package, artifact.version),
            message,
        });
    }
    let included: Vec<&DepPackage> = set
        .packages
        .iter()
        .filter(|p| p.is_root || options.build_deps || p.scope == Scope::Required)
        .collect();
    // bom-ref = purl; a second crate with the same purl (a path crate shadowing a registry
    // crate of the same name and version) gets a `#n` suffix so refs stay unique.
    let mut refs: BTreeMap<&str, String> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for p in &included {
        let purl = cargo_purl(&p.name, &p.version, p.source.as_deref());
        let mut bom_ref = purl.clone();
        let mut n = 2;
        while used.contains(&bom_ref) {
            bom_ref = format!("{purl}#{n}");
            n += 1;
        }
        used.insert(bom_ref.clone());
        refs.insert(p.id.as_str(), bom_ref);
    }

    let mut root_component = None;
    let mut components = Vec::new();
    for p in &included {
        let bom_ref = refs.get(p.id.as_str()).cloned().unwrap_or_default();
        let mut component = describe(p, bom_ref, options.spec_version, &mut findings);
        if p.is_root {
            component.scope = None;
            component.properties.retain(|prop| {
                !matches!(
                    prop.name.as_str(),
                    "plugpack:dependency-path" | "plugpack:crate:local-path"
                )
            });
            component.hashes = vec![Hash {
                alg: "SHA-256".to_owned(),
                content: artifact.sha256.hex(),
            }];
            component
                .properties
                .extend(artifact_properties(set, artifact, options));
            component.properties.sort();
            root_component = Some(component);
        } else {
            components.push(component);
        }
    }
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    let root_component = root_component.unwrap_or_else(|| Component {
        kind: "library".to_owned(),
        bom_ref: Some(cargo_purl(&artifact.package, &artifact.version, None)),
        name: artifact.package.clone(),
        version: Some(artifact.version.clone()),
        ..Component::default()
    });

    let mut dependencies: Vec<Dependency> = included
        .iter()
        .filter_map(|p| {
            let reference = refs.get(p.id.as_str())?.clone();
            let mut depends_on: Vec<String> = set
                .edges
                .get(&p.id)
                .into_iter()
                .flatten()
                .filter_map(|dep| refs.get(dep.as_str()).cloned())
                .collect();
            depends_on.sort();
            depends_on.dedup();
            Some(Dependency {
                reference,
                depends_on,
            })
        })
        .collect();
    dependencies.sort();

    let mut bom = Bom {
        schema: options.spec_version.schema_url(),
        bom_format: "CycloneDX".to_owned(),
        spec_version: options.spec_version.as_str().to_owned(),
        serial_number: String::new(),
        version: 1,
        metadata: Metadata {
            timestamp: crate::types::rfc3339(epoch),
            lifecycles: vec![Lifecycle {
                phase: "build".to_owned(),
            }],
            tools: Tools {
                components: vec![tool_component()],
            },
            component: root_component,
            properties: Vec::new(),
        },
        components,
        dependencies,
        vulnerabilities: Vec::new(),
    };
    bom.serial_number = serial_number(&bom);
    Sbom {
        plugin: artifact.plugin.clone(),
        version: artifact.version.clone(),
        target: artifact.target.clone(),
        bom,
        findings: findings.into_iter().collect(),
    }
}

/// The content-derived serial number (see the module doc): `urn:uuid:<UUIDv5>`.
pub fn serial_number(bom: &Bom) -> String {
    let namespace = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        b"https://github.com/plugpack/plugpack/sbom",
    );
    let mut unsealed = bom.clone();
    unsealed.serial_number = String::new();
    // Serializing plain structs of strings cannot fail; fall back to Debug just in case.
    let bytes = crate::types::canonical_json(&unsealed)
        .unwrap_or_else(|_| format!("{unsealed:?}").into_bytes());
    format!("urn:uuid:{}", uuid::Uuid::new_v5(&namespace, &bytes))
}

/// Embeds each built artifact's dependency list (cargo-auditable format, see [`auditable`])
/// into a copy of it under `<target-dir>/plugpack/embedded/`, and points `build`'s artifacts at
/// the copies, so later stages hash and ship the final files.
///
/// Skipped with a warning where it cannot work (no build information for prebuilt
/// `--artifact` files, formats other than ELF and wasm, `objcopy` missing); the original file
/// is then used unchanged.
pub fn embed_dependency_lists(
    project: &Project,
    build: &mut BuildOutput,
    ctx: &Ctx,
) -> Result<(), Error> {
    let dir = project.target_dir.join("plugpack").join("embedded");
    let mut embedded = Vec::new();
    for artifact in &build.artifacts {
        if !build.units.iter().any(|u| u.target == artifact.target) {
            ctx.reporter().warn(&format!(
                "no build information for {} ({}): dependency list not embedded",
                artifact.plugin, artifact.target
            ));
            embedded.push(artifact.clone());
            continue;
        }
        let set = depset::compute_exact(project, build, artifact, ctx).map_err(|source| {
            Error::DepSet {
                plugin: artifact.plugin.clone(),
                target: artifact.target.clone(),
                source: Box::new(source),
            }
        })?;
        match auditable::embed(artifact, &set, &dir, ctx) {
            Ok(done) => embedded.push(done),
            Err(
                e @ (auditable::EmbedError::UnsupportedFormat { .. }
                | auditable::EmbedError::Objcopy { .. }),
            ) => {
                let cause = std::error::Error::source(&e)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                ctx.reporter().warn(&format!("{e}{cause}"));
                embedded.push(artifact.clone());
            }
            Err(e) => {
                return Err(Error::Embed {
                    plugin: artifact.plugin.clone(),
                    target: artifact.target.clone(),
                    source: Box::new(e),
                });
            }
        }
    }
    build.artifacts = embedded;
    Ok(())
}

/// Rebuilds a (less rich) SBOM from the dependency list embedded in a plugin file (`--from-artifact`):
/// names, versions, source kinds, scopes and the graph come from the `.dep-v0` section, the
/// hash and size from the file; licences, checksums, features and authors are not in the
/// embedded list and so are absent. The timestamp is `SOURCE_DATE_EPOCH`, else 0.
pub fn from_artifact(path: &Utf8Path, options: &SbomOptions, ctx: &Ctx) -> Result<Sbom, Error> {
    let embed_err = |e: auditable::EmbedError| Error::ReadEmbedded {
        path: path.to_owned(),
        source: Box::new(e),
    };
    let info = auditable::extract(path).map_err(embed_err)?;
    let invalid = |reason: &str| {
        embed_err(auditable::EmbedError::Invalid {
            path: path.to_owned(),
            reason: reason.to_owned(),
        })
    };
    let n = info.packages.len();
    if info
        .packages
        .iter()
        .any(|p| p.dependencies.iter().any(|&d| d >= n))
    {
        return Err(invalid("a dependency index is out of range"));
    }
    let roots: Vec<usize> = (0..n).filter(|&i| info.packages[i].root).collect();
    let &[root] = roots.as_slice() else {
        return Err(invalid("there must be exactly one root package"));
    };
    let (sha256, size) = crate::types::Sha256Digest::of_file(path).map_err(|source| {
        embed_err(auditable::EmbedError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })
    })?;
    let file_name = path.file_name().unwrap_or_default().to_owned();
    let is_wasm = file_name.ends_with(".wasm");
    let root_pkg = &info.packages[root];
    let id = |i: usize| format!("embedded#{i}");
    let source = |kind: &str| match kind {
        "crates.io" => Some("registry+https://github.com/rust-lang/crates.io-index".to_owned()),
        "local" => None,
        other => Some(format!("{other}+unknown")),
    };
    let packages = info
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| DepPackage {
            id: id(i),
            name: p.name.clone(),
            version: p.version.clone(),
            // Only crates.io is identifiable; other kinds keep a plain purl.
            source: source(&p.source).filter(|s| purl::is_default_registry(s)),
            local_path: None,
            checksum: None,
            lock_line: None,
            // Not recorded in the embedded list; `Some("")` would be wrong, so mark unknown.
            license: None,
            license_file: None,
            package_dir: None,
            authors: Vec::new(),
            description: None,
            repository: None,
            homepage: None,
            documentation: None,
            scope: if p.kind.as_deref() == Some("build") {
                Scope::BuildOnly
            } else {
                Scope::Required
            },
            features: Vec::new(),
            kinds: Vec::new(),
            path_from_root: Vec::new(),
            is_root: i == root,
        })
        .collect();
    let edges = info
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| (id(i), p.dependencies.iter().map(|&d| id(d)).collect()))
        .collect();
    let set = DepSet {
        plugin: root_pkg.name.clone(),
        target: "unknown".to_owned(),
        root: id(root),
        exact: true,
        inexact_reasons: Vec::new(),
        packages,
        edges,
    };
    let artifact = BuiltArtifact {
        plugin: root_pkg.name.clone(),
        package: root_pkg.name.clone(),
        version: root_pkg.version.clone(),
        kind: if is_wasm {
            crate::build::PluginKind::Wasm
        } else {
            crate::build::PluginKind::Cdylib
        },
        target: "unknown".to_owned(),
        path: path.to_owned(),
        file_name,
        sha256,
        size,
        profile: "unknown".to_owned(),
        rustc_version: None,
        stamp: None,
    };
    let epoch = ctx.source_date_epoch().ok().flatten().unwrap_or(0);
    let mut sbom = from_depset(&set, &artifact, epoch, options);
    // Licences are unknown here, not missing: drop those findings and flags.
    sbom.findings.clear();
    for c in &mut sbom.bom.components {
        c.properties
            .retain(|p| p.name != "plugpack:license:missing");
    }
    let meta = &mut sbom.bom.metadata.component;
    meta.properties.retain(|p| {
        !matches!(
            p.name.as_str(),
            "plugpack:license:missing"
                | "plugpack:target"
                | "plugpack:cargo:profile"
                | "plugpack:dependency-set:exact"
        )
    });
    meta.properties.push(Property::new(
        "plugpack:dependency-set:source",
        "embedded .dep-v0",
    ));
    meta.properties.sort();
    sbom.bom.serial_number = serial_number(&sbom.bom);
    Ok(sbom)
}

/// Where `write` puts the documents.
pub fn default_dir(project: &Project) -> camino::Utf8PathBuf {
    project.target_dir.join("plugpack").join("sbom")
}

/// Writes `bytes` atomically to `path`, creating parent directories.
pub fn write(path: &Utf8Path, bytes: &[u8]) -> Result<(), Error> {
    let wrap = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    // Creates missing parent directories and names a parent that is not a directory.
    crate::types::write_atomic(path, bytes).map_err(wrap)
}
