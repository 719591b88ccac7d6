//! Interop (issue 17): a real Rust host embedding wasmtime (component model + wasmtime-wasi)
//! guards the fixture component with plugpack's guard, then instantiates it and calls it; a
//! component built against another world is refused by the guard before wasmtime would fail.
//!
//! wasmtime is far too heavy for a dev-dependency, so the host is a crate of its own workspace
//! (`tests/interop/wasmtime-host`), built once by `.ci/setup.sh` into
//! `~/.cache/plugpack/wasmtime-host-target`; `PLUGPACK_WASMTIME_HOST` names another binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::component::variant;
use crate::support;

/// The built `plugpack-wasmtime-host`; a missing one fails the test loudly.
fn wasmtime_host() -> PathBuf {
    let path = std::env::var_os("PLUGPACK_WASMTIME_HOST")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/plugpack/wasmtime-host-target/release/plugpack-wasmtime-host")
        });
    assert!(
        path.is_file(),
        "interop test needs the wasmtime test host at {} (PLUGPACK_INTEROP={}); run `bash \
         .ci/setup.sh` (it runs `cargo build --release --locked --manifest-path \
         tests/interop/wasmtime-host/Cargo.toml --target-dir \
         ~/.cache/plugpack/wasmtime-host-target`) or set PLUGPACK_WASMTIME_HOST",
        path.display(),
        std::env::var("PLUGPACK_INTEROP").unwrap_or_default()
    );
    path
}

/// Runs the host on `component`, with plugpack's guard first unless `guarded` is false.
fn host(component: &Path, guarded: bool) -> Output {
    let mut cmd = Command::new(wasmtime_host());
    // The host's world from this checkout (the cached binary may come from another one).
    cmd.env(
        "PLUGPACK_HOST_WIT",
        support::repo_root().join("tests/fixtures/component-plugin/wit"),
    );
    if !guarded {
        cmd.arg("--no-guard");
    }
    cmd.arg(component).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "interop: needs the wasmtime test host built by .ci/setup.sh; run by .ci/test"]
fn wasmtime_host_guards_then_instantiates_and_calls_the_component() {
    let host_binary = wasmtime_host();
    assert!(host_binary.is_file());
    let dir = support::tempdir();
    let (_, base) = variant("base", dir.path());
    let (_, import_added) = variant("import-added", dir.path());

    // The component built from the host's own world passes the guard, links and answers.
    let out = host(&base, true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        [
            "guard: accepted (wit)",
            "describe: 3,-4 Color::Green a+b",
            "area circle(2): 12",
            "area rect: 12",
            "logged: debug describe",
        ],
    );

    // Built against a world that also imports `plugpack:host/clock`: the guard refuses it
    // with its reason, and the host instantiates nothing.
    let out = host(&import_added, true);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.starts_with("guard: refused\n"), "{said}");
    assert!(
        said.lines().any(
            |l| l.starts_with("reason: needs import `plugpack:host/clock@1.0.0`")
                && l.ends_with("the host does not provide")
        ),
        "{said}"
    );
    assert!(
        !said.contains("describe:") && !said.contains("wasmtime:"),
        "{said}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is incompatible"),
        "{out:?}"
    );

    // Without the guard, wasmtime itself fails on it: it cannot link the missing import.
    // So the guard refused exactly what wasmtime would have failed on, before it did.
    let out = host(&import_added, false);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(said.starts_with("wasmtime: "), "{said}");
    assert!(said.contains("plugpack:host/clock@1.0.0"), "{said}");
    assert!(
        !said.contains("guard:") && !said.contains("describe:"),
        "{said}"
    );
    // And the accepted one also runs without the guard (the flag changes nothing else).
    let out = host(&base, false);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("describe: 3,-4 Color::Green a+b\n"));
}
