//! `cargo plugpack fingerprint`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::fingerprint::{self, AbiFingerprint};
use plugpack_core::types::OutputPath;
use plugpack_core::{Ctx, Error, pipeline, project};

use crate::cli::{GlobalArgs, OutputFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `fingerprint`.
#[derive(Debug, Args)]
pub struct FingerprintArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Fingerprint this file (cdylib or wasm) instead of building.
    #[arg(long, value_name = "PATH")]
    pub artifact: Option<Utf8PathBuf>,
    /// Also hash the public API from rustdoc JSON (RUSTC_BOOTSTRAP=1; not with --artifact).
    #[arg(long, conflicts_with = "artifact")]
    pub api: bool,
    /// Write the document to FILE (one artifact only) instead of stdout, or into DIR
    /// (existing, or ending in `/`) as `<plugin>-<version>-<target>.abi.json` per artifact
    /// (`<file>.abi.json` with --artifact).
    #[arg(short, long, value_name = "FILE|DIR")]
    pub output: Option<Utf8PathBuf>,
}

/// Computes (and writes or prints) ABI fingerprints.
pub fn run(
    args: &FingerprintArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    // Each document with its default file name for `-o DIR/`.
    let docs: Vec<(String, AbiFingerprint)> = match &args.artifact {
        Some(path) => {
            let mut doc = fingerprint::fingerprint_file(path).map_err(Error::from)?;
            doc.target = args.project.target.first().cloned();
            if let Some(target) = &doc.target {
                // A label the file's bytes contradict is refused, not written.
                plugpack_core::build::artifact_matches_target(path, target).map_err(|e| {
                    Error::Build(plugpack_core::build::Error::BadArtifact {
                        path: path.clone(),
                        reason: e.to_string(),
                    })
                })?;
            }
            let name = format!("{}.abi.json", path.file_name().unwrap_or("artifact"));
            vec![(name, doc)]
        }
        None => {
            let project = project::load(ctx, &args.project.load_options()?)?;
            let options = pipeline::FingerprintOptions { api: args.api };
            pipeline::fingerprint(
                &project,
                &args.project.build_options(global, shell),
                &options,
                ctx,
            )?
            .into_iter()
            .map(|f| (f.file_name(), f.fingerprint))
            .collect()
        }
    };
    if let Some(output) = &args.output {
        let output = OutputPath::new(output);
        if !output.is_dir() && docs.len() != 1 {
            return Err(Error::Usage(format!(
                "-o/--output FILE needs exactly one artifact ({} built; use -p and --target, \
                 or give a directory: -o DIR/)",
                docs.len()
            ))
            .into());
        }
        for (name, doc) in &docs {
            let path = output.file(name);
            fingerprint::write(doc, &path).map_err(Error::from)?;
            use plugpack_core::Reporter;
            shell.status(
                "Fingerprint",
                &format!("{} ({}) → {path}", doc.fingerprint, doc.detail),
            );
            if shell.format() == OutputFormat::Json {
                shell.json("abi-fingerprint", doc)?;
            }
        }
        return Ok(0);
    }
    for (_, doc) in &docs {
        match shell.format() {
            OutputFormat::Json => shell.json("abi-fingerprint", doc)?,
            OutputFormat::Human => {
                let bytes = doc.to_json().map_err(Error::from)?;
                shell.out(String::from_utf8_lossy(&bytes).trim_end())?;
            }
        }
    }
    Ok(0)
}
