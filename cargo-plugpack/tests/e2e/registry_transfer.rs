//! Blob transfers against the `docker-registry` of [`crate::registry`]: byte progress on a
//! terminal and one summary line otherwise, cross-repository mounts (`--mount-from`), and
//! plain HTTP to a non-loopback address of this machine (`--insecure-any-host`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::registry::{Registry, pull, push};
use crate::support::*;

/// A one-target wasm bundle of the wasm fixture whose module carries a custom section of
/// about `size` bytes (the module is a valid, empty wasm module otherwise).
fn bundle_with_layer(dir: &Path, size: usize) -> PathBuf {
    let wasm = dir.join("big.wasm");
    padded_wasm_module(&wasm, size);
    let bundle = dir.join("big.oci.tar");
    package_prebuilt_wasm(&wasm, &bundle);
    bundle
}

#[test]
#[ignore = "interop: needs docker-registry; run by .ci/test"]
fn without_a_terminal_push_and_pull_print_one_summary_line_each() {
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = bundle_with_layer(dir.path(), 300_000);
    let repo = format!("{}/t/progress", registry.addr());
    let out = push(&bundle, &repo, &[]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].trim_start().starts_with("Pushed "), "{stderr}");
    assert!(!stderr.contains(['\r', '\x1b']), "{stderr:?}");

    let pulled = dir.path().join("pulled.oci.tar");
    let out = pull(&format!("{repo}:1.2.0"), &pulled, &[]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].trim_start().starts_with("Pulled "), "{stderr}");
    assert!(!stderr.contains(['\r', '\x1b']), "{stderr:?}");
}

/// Runs `plugpack ARGS` under `script` (util-linux), so its stderr is a terminal; returns
/// everything written to that terminal.
fn on_a_terminal(args: &[&str]) -> String {
    require_tool("script");
    let base = plugpack();
    let mut line = vec![base.get_program().to_str().unwrap().to_owned()];
    line.extend(base.get_args().map(|a| a.to_str().unwrap().to_owned()));
    line.extend(args.iter().map(|a| (*a).to_owned()));
    let quoted: Vec<String> = line
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &quoted.join(" "), "/dev/null"])
        .env("COLUMNS", "120")
        .env("LINES", "40");
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "interop: needs docker-registry and script(1); run by .ci/test"]
fn on_a_terminal_each_blob_shows_bytes_transferred_of_its_size() {
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = bundle_with_layer(dir.path(), 8 << 20);
    let repo = format!("{}/t/bar", registry.addr());
    let screen = on_a_terminal(&["push", "--insecure", bundle.to_str().unwrap(), &repo]);
    assert!(screen.contains("Uploading sha256:"), "{screen:?}");
    // The byte bar of the 8 MiB layer: `<done>/8.00 MiB`.
    assert!(screen.contains("/8.00 MiB"), "{screen:?}");
    assert!(screen.contains("Pushed "), "{screen:?}");

    let pulled = dir.path().join("pulled.oci.tar");
    let screen = on_a_terminal(&[
        "pull",
        "--insecure",
        &format!("{repo}:1.2.0"),
        "-o",
        pulled.to_str().unwrap(),
    ]);
    assert!(screen.contains("Downloading sha256:"), "{screen:?}");
    assert!(screen.contains("/8.00 MiB"), "{screen:?}");
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}

/// Access-log lines of the registry for `method` and a path starting with `prefix`.
fn requests(registry: &Registry, method: &str, prefix: &str) -> Vec<String> {
    let needle = format!("\"{method} {prefix}");
    registry
        .log()
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "interop: needs docker-registry; run by .ci/test"]
fn mount_from_mounts_blobs_from_another_repository_instead_of_uploading_them() {
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = bundle_with_layer(dir.path(), 100_000);
    let a = format!("{}/t/source", registry.addr());
    let b = format!("{}/t/target", registry.addr());
    assert!(push(&bundle, &a, &[]).status.success());
    let out = push(
        &bundle,
        &b,
        &["--mount-from", "t/source", "--format", "json"],
    );
    assert!(out.status.success(), "{out:?}");
    let report = json_lines(&String::from_utf8(out.stdout).unwrap())
        .into_iter()
        .find(|v| v["reason"] == "pushed")
        .unwrap();
    let blobs = report["blobs_uploaded"].as_u64().unwrap();
    assert!(blobs >= 2, "{report}");
    assert_eq!(report["bytes_uploaded"], 0, "{report}");
    // The registry answered every blob POST with a mount (201) and saw no upload.
    let posts = requests(&registry, "POST", "/v2/t/target/blobs/uploads/");
    assert_eq!(posts.len() as u64, blobs, "{posts:#?}");
    for line in &posts {
        assert!(
            line.contains("mount=sha256") && line.contains("from=t%2Fsource"),
            "{line}"
        );
        assert!(line.contains("\" 201 "), "{line}");
    }
    assert!(
        requests(&registry, "PUT", "/v2/t/target/blobs/uploads/").is_empty(),
        "{}",
        registry.log()
    );
    // And what was mounted is served from the new repository.
    let pulled = dir.path().join("pulled.oci.tar");
    assert!(pull(&format!("{b}:1.2.0"), &pulled, &[]).status.success());
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}

/// A non-loopback IPv4 address of this machine (`hostname -I`).
fn non_loopback_address() -> String {
    let out = Command::new("hostname").arg("-I").output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .expect("`hostname -I` lists no non-loopback IPv4 address")
        .to_owned()
}

#[test]
#[ignore = "interop: needs docker-registry and a non-loopback address; run by .ci/test"]
fn plain_http_to_a_non_loopback_registry_needs_insecure_any_host() {
    let host = non_loopback_address();
    let registry = Registry::start_on(&host);
    let dir = tempdir();
    let bundle = bundle_with_layer(dir.path(), 1000);
    let repo = format!("{}/t/lab", registry.addr());
    let before = registry.log();
    let out = push(&bundle, &repo, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only allowed for loopback"), "{stderr}");
    assert_eq!(
        registry.log(),
        before,
        "a request reached the registry before the refusal"
    );

    let out = push(&bundle, &repo, &["--insecure-any-host"]);
    assert!(out.status.success(), "{out:?}");
    let pulled = dir.path().join("pulled.oci.tar");
    let out = pull(&format!("{repo}:1.2.0"), &pulled, &["--insecure-any-host"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}

#[test]
#[ignore = "interop: needs docker-registry; run by .ci/test"]
fn chunk_size_uploads_large_blobs_in_patch_chunks() {
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = bundle_with_layer(dir.path(), 300_000);
    let repo = format!("{}/t/chunked", registry.addr());
    let out = push(&bundle, &repo, &["--chunk-size", "65536"]);
    assert!(out.status.success(), "{out:?}");
    // The ~300 kB layer in five 64 KiB chunks; every other blob is smaller than a chunk.
    let patches = requests(&registry, "PATCH", "/v2/t/chunked/blobs/uploads/");
    assert_eq!(patches.len(), 5, "{patches:#?}");
    assert!(
        patches.iter().all(|l| l.contains("\" 202 ")),
        "{patches:#?}"
    );
    let pulled = dir.path().join("pulled.oci.tar");
    assert!(
        pull(&format!("{repo}:1.2.0"), &pulled, &[])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}

/// `tests/data/registry/flaky_proxy.py` in front of `upstream`, breaking the `nth`
/// request with `method`; killed on drop.
struct FlakyProxy {
    child: std::process::Child,
    port: u16,
}

impl FlakyProxy {
    fn start(dir: &Path, upstream: u16, method: &str, nth: u32, half: bool) -> Self {
        require_tool("python3");
        let port_file = dir.join("proxy.port");
        let child = Command::new("python3")
            .arg(repo_root().join("tests/data/registry/flaky_proxy.py"))
            .arg(&port_file)
            .arg(upstream.to_string())
            .arg(method)
            .arg(nth.to_string())
            .args(half.then_some("half"))
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !port_file.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the proxy did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let port = std::fs::read_to_string(&port_file)
            .unwrap()
            .parse()
            .unwrap();
        Self { child, port }
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "interop: needs docker-registry and python3; run by .ci/test"]
fn a_failed_chunk_is_resumed_from_the_range_the_registry_reports() {
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = bundle_with_layer(dir.path(), 300_000);
    let port: u16 = registry.addr().rsplit(':').next().unwrap().parse().unwrap();
    // The third chunk's connection is cut before it reaches the registry.
    let proxy = FlakyProxy::start(dir.path(), port, "PATCH", 3, false);
    let repo = format!("127.0.0.1:{}/t/resume", proxy.port);
    let out = push(&bundle, &repo, &["--chunk-size", "65536"]);
    assert!(out.status.success(), "{out:?}");
    // Five chunks reached the registry; between the second and the third, the client asked
    // the session's status (its `Range`) before sending the third again.
    let log = registry.log();
    let uploads: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" /v2/t/resume/blobs/uploads/") && l.contains("HTTP/1.1\""))
        .collect();
    let methods: Vec<&str> = uploads
        .iter()
        .filter_map(|l| l.split('"').nth(1)?.split(' ').next())
        .collect();
    let patches = methods.iter().filter(|m| **m == "PATCH").count();
    assert_eq!(patches, 5, "{uploads:#?}");
    let status = methods
        .iter()
        .position(|m| *m == "GET")
        .expect("no status GET");
    assert_eq!(
        methods[..status].iter().filter(|m| **m == "PATCH").count(),
        2,
        "{uploads:#?}"
    );
    let pulled = dir.path().join("pulled.oci.tar");
    assert!(
        pull(&format!("{}/t/resume:1.2.0", registry.addr()), &pulled, &[])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}

#[test]
#[ignore = "interop: needs docker-registry and python3; run by .ci/test"]
fn a_chunk_cut_mid_body_fails_the_push_cleanly_and_the_next_push_completes() {
    // distribution 2.8 answers a PATCH whose body was cut short with 500 and drops the
    // session (its status is then 404 BLOB_UPLOAD_INVALID): nothing to resume from.
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = bundle_with_layer(dir.path(), 300_000);
    let port: u16 = registry.addr().rsplit(':').next().unwrap().parse().unwrap();
    let proxy = FlakyProxy::start(dir.path(), port, "PATCH", 3, true);
    let repo = format!("127.0.0.1:{}/t/cut", proxy.port);
    let out = push(&bundle, &repo, &["--chunk-size", "65536"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("upload blob sha256:") && stderr.contains("HTTP 404"),
        "{stderr}"
    );
    // No manifest went up before its blobs: the tag does not exist.
    let direct = format!("{}/t/cut", registry.addr());
    let never = dir.path().join("never.oci.tar");
    assert_eq!(
        pull(&format!("{direct}:1.2.0"), &never, &[]).status.code(),
        Some(2)
    );
    assert!(!never.exists());
    // Run again (here without the proxy): it completes, byte for byte.
    assert!(
        push(&bundle, &direct, &["--chunk-size", "65536"])
            .status
            .success()
    );
    let pulled = dir.path().join("pulled.oci.tar");
    assert!(
        pull(&format!("{direct}:1.2.0"), &pulled, &[])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}
