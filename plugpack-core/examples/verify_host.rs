//! A minimal plugin host: verify a bundle against a trust policy and anti-rollback state,
//! and only then extract the plugin files it may load.
//!
//! ```text
//! cargo run -p plugpack-core --example verify_host -- plugpack-trust.toml STATE_DIR BUNDLE OUT_DIR
//! ```
//!
//! A real host depends on `plugpack-core` with `default-features = false,
//! features = ["verify"]` and calls exactly this.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use camino::Utf8PathBuf;
use plugpack_core::verify::{StateStore, TrustPolicy, Verifier};

fn main() -> ExitCode {
    let args: Vec<Utf8PathBuf> = std::env::args().skip(1).map(Utf8PathBuf::from).collect();
    let [policy, state, bundle, out] = args.as_slice() else {
        eprintln!("usage: verify_host POLICY STATE_DIR BUNDLE OUT_DIR");
        return ExitCode::from(2);
    };
    let policy = match TrustPolicy::load(policy) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let verifier = Verifier::new(policy, Some(StateStore::new(state.clone())));
    match verifier.verify_bundle_into(bundle, out) {
        Ok(report) if report.verified => {
            for artifact in &report.artifacts {
                if let Some(path) = &artifact.path {
                    println!("load {} ({}, {})", path, artifact.target, artifact.digest);
                }
            }
            ExitCode::SUCCESS
        }
        Ok(report) => {
            for f in &report.failures {
                eprintln!("refusing plugin: [{}] {}", f.code, f.message);
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
