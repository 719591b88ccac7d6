//! `plugpack-tough-client`: loads a TUF repository with `tough` (awslabs' Rust TUF client) and
//! writes one target's bytes, so plugpack's e2e tests can check that repositories written by
//! `cargo plugpack repo` are accepted by an independent TUF implementation.
//!
//! Usage: `plugpack-tough-client ROOT_JSON METADATA_URL TARGETS_URL TARGET_NAME OUT_FILE`
//!
//! Exit status 0: the repository loaded (root chain, timestamp, snapshot, targets verified by
//! `tough`) and the target was read in full and matched its length and hashes; its bytes are in
//! `OUT_FILE` and the names of all listed targets are printed on stdout, one a line.
//! Exit status 1: `tough` rejected the repository or the target (the error is on stderr, and
//! `OUT_FILE` is not written). Exit status 2: usage.

use std::process::ExitCode;

use tough::{IntoVec, RepositoryLoader, TargetName};
use url::Url;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, metadata_url, targets_url, target, out] = args.as_slice() else {
        eprintln!(
            "usage: plugpack-tough-client ROOT_JSON METADATA_URL TARGETS_URL TARGET_NAME OUT_FILE"
        );
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the tokio runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(root, metadata_url, targets_url, target, out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tough: {err}");
            ExitCode::from(1)
        }
    }
}

async fn run(
    root: &str,
    metadata_url: &str,
    targets_url: &str,
    target: &str,
    out: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let root_bytes = std::fs::read(root).map_err(|e| format!("reading {root}: {e}"))?;
    let metadata_url = Url::parse(metadata_url)?;
    let targets_url = Url::parse(targets_url)?;
    let repo = RepositoryLoader::new(&root_bytes, metadata_url, targets_url)
        .load()
        .await
        .map_err(|e| format!("loading the repository: {e}"))?;
    for (name, _) in repo.all_targets() {
        println!("{}", name.raw());
    }
    let name = TargetName::new(target)?;
    let stream = repo
        .read_target(&name)
        .await
        .map_err(|e| format!("reading target {target}: {e}"))?
        .ok_or_else(|| format!("target {target} is not listed in the repository"))?;
    // `into_vec` fails when the length or a hash does not match the targets metadata; only
    // then are the bytes written.
    let bytes = stream
        .into_vec()
        .await
        .map_err(|e| format!("reading target {target}: {e}"))?;
    std::fs::write(out, bytes).map_err(|e| format!("writing {out}: {e}"))?;
    Ok(())
}
