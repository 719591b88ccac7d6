#![allow(dead_code)]
//! Shared harness for the end-to-end tests: runs the real `cargo-plugpack` binary on the
//! fixture crates in `tests/fixtures/` with a shared target directory, a fixed
//! `SOURCE_DATE_EPOCH` and no colour.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixed timestamp every e2e run uses (2024-01-02T03:04:05Z).
pub const EPOCH: &str = "1704164645";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `tests/fixtures/<name>/Cargo.toml`.
pub fn fixture_manifest(name: &str) -> PathBuf {
    repo_root()
        .join("tests/fixtures")
        .join(name)
        .join("Cargo.toml")
}

/// The target dir shared by every e2e build of the fixtures (kept between runs so
/// rebuilds are incremental).
pub fn fixture_target_dir() -> PathBuf {
    repo_root().join("target/e2e-fixtures")
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A `cargo-plugpack` command with the test environment (no colour, fixed epoch).
pub fn plugpack() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-plugpack"));
    cmd.arg("plugpack")
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        // Tests that want GitHub Actions output set it; CI's own must not leak in.
        .env_remove("GITHUB_ACTIONS");
    cmd
}

/// `cargo plugpack <subcommand>` on a fixture, with its manifest, the shared target dir,
/// `--locked --offline` (the fixtures' dependencies are fetched by `.ci/setup.sh`, and are
/// the same versions the workspace itself locks) and the extra arguments.
pub fn on_fixture(subcommand: &str, fixture: &str, extra: &[&str]) -> Command {
    let mut cmd = plugpack();
    cmd.arg(subcommand)
        .arg("--manifest-path")
        .arg(fixture_manifest(fixture))
        .arg("--target-dir")
        .arg(fixture_target_dir())
        .args(["--locked", "--offline"])
        .args(extra);
    cmd
}

/// Runs a command and returns its output, printing stderr on the test's output for
/// debugging.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!("--- {:?}\n{}", cmd, String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs a command that must succeed; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail with `code`; returns stderr.
pub fn run_fails(cmd: &mut Command, code: i32) -> String {
    let out = run(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "unexpected exit status; stderr:\n{stderr}"
    );
    stderr
}

/// Parses JSON-lines stdout.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Lowercase hex sha256 of a file.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    format!("sha256:{:x}", sha2::Sha256::digest(&bytes))
}

/// Writes a valid, otherwise empty wasm module at `path` whose one custom section (named
/// `pad`) makes it about `size` bytes: a large artifact without a build.
pub fn padded_wasm_module(path: &Path, size: usize) {
    let name = b"pad";
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body.resize(size, 0x5a);
    let mut module = b"\0asm\x01\0\0\0\0".to_vec();
    let mut len = body.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            module.push(byte);
            break;
        }
        module.push(byte | 0x80);
    }
    module.extend_from_slice(&body);
    std::fs::write(path, module).unwrap();
}

/// `package -q -o BUNDLE --artifact MODULE --target wasm32-wasip1` on the wasm fixture: a
/// one-target bundle from a prebuilt module, no build.
pub fn package_prebuilt_wasm(module: &Path, bundle: &Path) {
    package_prebuilt_wasm_for(module, bundle, "wasm32-wasip1");
}

/// [`package_prebuilt_wasm`] with the bundle's target named.
pub fn package_prebuilt_wasm_for(module: &Path, bundle: &Path, target: &str) {
    run_ok(&mut on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-q",
            "-o",
            bundle.to_str().unwrap(),
            "--artifact",
            module.to_str().unwrap(),
            "--target",
            target,
        ],
    ));
}

/// Packages a fixture into `dir/<fixture>.oci.tar` and returns the path. `package` builds
/// release by default; unless `extra` chooses a profile (`--release`, `--profile`,
/// `--debug`), this passes `--profile dev` so tests that do not care about the profile share
/// the dev build the other commands' tests make instead of adding a release build.
pub fn package_fixture(fixture: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{fixture}.oci.tar"));
    let mut args: Vec<&str> = vec!["-o", out.to_str().unwrap()];
    if !extra
        .iter()
        .any(|a| ["--release", "-r", "--profile", "--debug"].contains(a))
    {
        args.extend(["--profile", "dev"]);
    }
    args.extend_from_slice(extra);
    run_ok(&mut on_fixture("package", fixture, &args));
    out
}

/// Asserts an external tool is on PATH. Interop tests call this first: with
/// `PLUGPACK_INTEROP=1` (set by `.ci/test`) a missing tool fails the test loudly.
pub fn require_tool(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "interop test needs `{tool}` on PATH (PLUGPACK_INTEROP={}); run `bash .ci/setup.sh`",
        std::env::var("PLUGPACK_INTEROP").unwrap_or_default()
    );
}

/// Every entry name of a tar file, in order.
pub fn tar_entries(path: &Path) -> Vec<(String, tar::Header)> {
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().to_string_lossy().into_owned(),
                e.header().clone(),
            )
        })
        .collect()
}

/// A validator for the vendored official CycloneDX JSON schema of `spec` (`1.5`/`1.6`), with
/// the SPDX and JSF schemas it references registered locally (no network).
pub fn cyclonedx_validator(spec: &str) -> jsonschema::Validator {
    let dir = repo_root().join("tests/data/schemas/cyclonedx");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
    };
    let base = "http://cyclonedx.org/schema";
    let registry = jsonschema::Registry::new()
        .add(
            format!("{base}/spdx.SNAPSHOT.schema.json"),
            read("spdx.SNAPSHOT.schema.json"),
        )
        .unwrap()
        .add(
            format!("{base}/jsf-0.82.SNAPSHOT.schema.json"),
            read("jsf-0.82.SNAPSHOT.schema.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&read(&format!("bom-{spec}.SNAPSHOT.schema.json")))
        .unwrap()
}

/// Every blob of a bundle tarball that parses as JSON and satisfies `pick`.
pub fn json_blobs(
    bundle: &Path,
    pick: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            if pick(&v) {
                out.push(v);
            }
        }
    }
    out
}
