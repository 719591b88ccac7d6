//! A minimal plugin host's ABI gate: check plugin files against the interface the host was
//! built for, before `dlopen` (which already runs constructors) or wasm instantiation.
//!
//! ```text
//! cargo run -p plugpack-core --example guard_host -- plugin-abi.json PLUGIN_FILE…
//! ```
//!
//! `plugin-abi.json` is the `plugpack-abi/1` document the host's build produced
//! (`cargo plugpack fingerprint -o plugin-abi.json`). A real host depends on
//! `plugpack-core` with `default-features = false, features = ["guard"]` and calls exactly
//! this; CI builds this example with only that feature.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use camino::Utf8PathBuf;
use plugpack_core::guard::{AbiExpectation, check_file};

fn main() -> ExitCode {
    let args: Vec<Utf8PathBuf> = std::env::args().skip(1).map(Utf8PathBuf::from).collect();
    let Some((expectation, plugins)) = args.split_first().filter(|(_, p)| !p.is_empty()) else {
        eprintln!("usage: guard_host EXPECTED_ABI_JSON PLUGIN_FILE…");
        return ExitCode::from(2);
    };
    let expected = match std::fs::read(expectation)
        .map_err(|e| e.to_string())
        .and_then(|bytes| AbiExpectation::from_json(&bytes).map_err(|e| e.to_string()))
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {expectation}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut refused = false;
    for plugin in plugins {
        match check_file(plugin, &expected) {
            Ok(ok) => println!("{plugin}: compatible ({}, {})", ok.detail, ok.fingerprint),
            Err(bad) => {
                refused = true;
                eprintln!("refusing {bad}");
            }
        }
    }
    if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
