//! `cargo plugpack sbom`

use camino::Utf8PathBuf;
use clap::{Args, ValueEnum};
use plugpack_core::Ctx;
use plugpack_core::pipeline::{self, SbomDestination, SbomRunOptions};
use plugpack_core::sbom::{SbomFormat, SbomOptions, SpecVersion};

use crate::cli::{GlobalArgs, MessageFormat, OutputFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::Shell;

/// `--spec-version`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpecVersionArg {
    /// CycloneDX 1.6 (default).
    #[value(name = "1.6")]
    V16,
    /// CycloneDX 1.5, for older consumers.
    #[value(name = "1.5")]
    V15,
}

/// `sbom --format` / `package --sbom-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormatArg {
    /// CycloneDX JSON (default).
    #[value(name = "cyclonedx-json", alias = "cyclonedx")]
    CyclonedxJson,
    /// SPDX 2.3 JSON.
    #[value(name = "spdx-json", alias = "spdx")]
    SpdxJson,
}

impl SbomFormatArg {
    /// The core's format.
    pub fn format(self) -> SbomFormat {
        match self {
            SbomFormatArg::CyclonedxJson => SbomFormat::CyclonedxJson,
            SbomFormatArg::SpdxJson => SbomFormat::SpdxJson,
        }
    }
}

/// Arguments of `sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// CycloneDX specification version.
    #[arg(long, value_name = "VERSION", default_value = "1.6")]
    pub spec_version: SpecVersionArg,
    /// Leave out crates compiled only to build the plugin (build scripts, proc-macros).
    #[arg(long)]
    pub no_build_deps: bool,
    /// Output: `-` for stdout or a FILE (one artifact), or an existing DIRECTORY that receives
    /// `<plugin>-<version>-<target>.cdx.json` (`.spdx.json`) per artifact
    /// [default: <target-dir>/plugpack/sbom/]
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<Utf8PathBuf>,
    /// Do not embed the dependency list (cargo-auditable `.dep-v0`) into the artifacts.
    #[arg(long)]
    pub no_embed_deps: bool,
    /// Build no project: rebuild an SBOM from the dependency list embedded in FILE
    /// (written to stdout unless -o is given).
    #[arg(long, value_name = "FILE", conflicts_with = "no_build")]
    pub from_artifact: Option<Utf8PathBuf>,
    /// Do not run cargo: describe the artifacts of the last `cargo plugpack build` with the
    /// same flags, from its build record (fails if Cargo.lock, a manifest or an artifact
    /// changed since).
    #[arg(long, conflicts_with = "no_embed_deps")]
    pub no_build: bool,
}

/// The document format from the global `--format`: `spdx-json`, else CycloneDX (`human`,
/// `json` and `cyclonedx-json` keep the default document; `json` also switches the messages).
pub fn document_format(format: MessageFormat) -> Result<SbomFormat, plugpack_core::Error> {
    match format {
        MessageFormat::SpdxJson => Ok(SbomFormat::SpdxJson),
        MessageFormat::Human
        | MessageFormat::Json
        | MessageFormat::Sarif
        | MessageFormat::CyclonedxJson => Ok(SbomFormat::CyclonedxJson),
        other => Err(other.unsupported("sbom", "cyclonedx-json (default), spdx-json, human, json")),
    }
}

impl SbomArgs {
    /// The run options for document format `format`.
    pub fn run_options(&self, format: SbomFormat) -> SbomRunOptions {
        let mut options = SbomRunOptions::from(self);
        options.format = format;
        options
    }
}

impl From<&SbomArgs> for SbomRunOptions {
    fn from(args: &SbomArgs) -> Self {
        SbomRunOptions {
            sbom: SbomOptions {
                spec_version: match args.spec_version {
                    SpecVersionArg::V16 => SpecVersion::V1_6,
                    SpecVersionArg::V15 => SpecVersion::V1_5,
                },
                build_deps: !args.no_build_deps,
                abi_fingerprint: None,
            },
            format: SbomFormat::CyclonedxJson,
            output: match &args.output {
                None => SbomDestination::Default,
                Some(p) if p.as_str() == "-" => SbomDestination::Stdout,
                Some(p) => SbomDestination::Path(p.clone()),
            },
            no_embed_dependencies: args.no_embed_deps,
            no_build: args.no_build,
        }
    }
}

/// Builds and writes one SBOM per artifact.
pub fn run(args: &SbomArgs, global: &GlobalArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let options = args.run_options(document_format(global.message_format)?);
    let run = match &args.from_artifact {
        Some(file) => pipeline::sbom_from_artifact(file, &options, ctx)?,
        None => pipeline::sbom(
            &args.project.load_options()?,
            &args.project.build_options(global, shell),
            &options,
            ctx,
        )?,
    };
    use plugpack_core::Reporter;
    for doc in &run.sboms {
        for finding in &doc.findings {
            shell.warn(&format!(
                "{} ({}): {}: {}",
                doc.plugin, doc.target, finding.package, finding.message
            ));
        }
    }
    if let Some(bytes) = &run.stdout {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        return Ok(0);
    }
    for doc in &run.sboms {
        match shell.format() {
            OutputFormat::Json => shell.json("sbom-written", doc)?,
            OutputFormat::Human => {
                let path = doc.path.as_ref().map(|p| p.as_str()).unwrap_or("-");
                shell.status(
                    "Wrote",
                    &format!(
                        "SBOM of {} v{} ({}, {} components) → {path}",
                        doc.plugin, doc.version, doc.target, doc.components
                    ),
                );
                shell.out(path)?;
            }
        }
    }
    Ok(0)
}
