//! `cargo plugpack fingerprint`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::fingerprint::{self, AbiFingerprint};
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
    /// Write the document here (one artifact only) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<Utf8PathBuf>,
}

/// Computes (and writes or prints) ABI fingerprints.
pub fn run(
    args: &FingerprintArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let docs: Vec<AbiFingerprint> = match &args.artifact {
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
            vec![doc]
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
            .map(|f| f.fingerprint)
            .collect()
        }
    };
    if let Some(output) = &args.output {
        let [doc] = docs.as_slice() else {
            return Err(Error::Usage(format!(
                "-o/--output needs exactly one artifact ({} built; use -p and --target)",
                docs.len()
            ))
            .into());
        };
        fingerprint::write(doc, output).map_err(Error::from)?;
        use plugpack_core::Reporter;
        shell.status(
            "Fingerprint",
            &format!("{} ({}) → {output}", doc.fingerprint, doc.detail),
        );
        if shell.format() == OutputFormat::Json {
            shell.json("abi-fingerprint", doc)?;
        }
        return Ok(0);
    }
    for doc in &docs {
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
