//! Registry interop, continued: corruption, a registry killed mid-push, `merge` of per-target
//! bundles and `pull --platform`, against the `docker-registry` of [`crate::registry`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry::{Registry, keygen, pull, push, sign, utf8, verify_code};
use crate::support::*;

#[test]
#[ignore = "interop: needs docker-registry; run by .ci/test"]
fn a_corrupted_blob_in_the_registry_fails_pull_with_nothing_written() {
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = package_fixture("cdylib-plugin", dir.path(), &["-q"]);
    let repo = format!("{}/c/cdylib", registry.addr());
    assert!(push(&bundle, &repo, &[]).status.success());
    let info =
        plugpack_core::oci::inspect(&plugpack_core::oci::read_bundle(&utf8(&bundle)).unwrap())
            .unwrap();
    let layer = info.manifests[0].layers[0].digest.to_string();
    let data = registry.blob_data(&layer);
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();

    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let pulled = out_dir.join("pulled.oci.tar");
    let out = pull(&format!("{repo}:0.3.1"), &pulled, &[]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&layer), "{stderr}");
    assert!(!pulled.exists());
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "staging files left behind"
    );
}

/// A signed one-target wasm bundle of the wasm fixture from a prebuilt module.
fn one_target_bundle(dir: &Path, target: &str, byte: u8, key: &Path) -> PathBuf {
    let module = dir.join(format!("{target}.wasm"));
    std::fs::write(
        &module,
        [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', byte],
    )
    .unwrap();
    let bundle = dir.join(format!("{target}.oci.tar"));
    package_prebuilt_wasm_for(&module, &bundle, target);
    sign(&bundle, key);
    bundle
}

#[test]
#[ignore = "interop: needs docker-registry and skopeo; run by .ci/test"]
fn merged_bundles_keep_per_target_signatures_and_list_both_platforms() {
    require_tool("skopeo");
    let registry = Registry::start();
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let a = one_target_bundle(dir.path(), "wasm32-wasip1", b'a', &key);
    let b = one_target_bundle(dir.path(), "wasm32-unknown-unknown", b'b', &key);
    let merged = dir.path().join("all.oci.tar");
    run_ok(
        plugpack()
            .args(["merge", "-q"])
            .arg(&a)
            .arg(&b)
            .arg("-o")
            .arg(&merged),
    );
    let read = |p: &Path| {
        plugpack_core::oci::inspect(&plugpack_core::oci::read_bundle(&utf8(p)).unwrap()).unwrap()
    };
    let (ia, ib, im) = (read(&a), read(&b), read(&merged));
    assert_eq!(im.media_type, "application/vnd.oci.image.index.v1+json");
    let mut want: Vec<_> = [&ia, &ib].iter().map(|i| i.digest).collect();
    let mut got: Vec<_> = im.manifests.iter().map(|m| m.digest).collect();
    want.sort();
    got.sort();
    assert_eq!(
        got, want,
        "the manifests are the inputs' own, byte for byte"
    );
    assert_eq!(im.referrers.len(), ia.referrers.len() + ib.referrers.len());
    // The per-target signatures are kept as they were (same referrer digests, same subjects)
    // and, together covering every manifest, verify; `sign` can also sign the merged index.
    for r in ia.referrers.iter().chain(&ib.referrers) {
        assert!(
            im.referrers.iter().any(|m| m == r),
            "referrer {} lost",
            r.digest
        );
    }
    assert_eq!(verify_code(&merged, &dir.path().join("s0"), &public), 0);
    sign(&merged, &key);
    assert_eq!(verify_code(&merged, &dir.path().join("s"), &public), 0);

    let repo = format!("{}/m/wasm", registry.addr());
    assert!(push(&merged, &repo, &[]).status.success());
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{repo}:1.2.0"))
        .output()
        .unwrap();
    assert!(raw.status.success());
    let index: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!("{}/{}", m["platform"]["os"], m["platform"]["architecture"]).replace('"', "")
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["unknown/wasm", "wasip1/wasm"]);
    let pulled = dir.path().join("pulled.oci.tar");
    assert!(
        pull(&format!("{repo}:1.2.0"), &pulled, &[])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&merged).unwrap()
    );

    // --platform pulls one target: its manifest becomes the tagged entry, with its referrers.
    let one = dir.path().join("one.oci.tar");
    let out = pull(
        &format!("{repo}:1.2.0"),
        &one,
        &["--platform", "wasip1/wasm"],
    );
    assert!(out.status.success());
    let io = read(&one);
    assert_eq!(io.digest, ia.digest);
    assert_eq!(io.manifests.len(), 1);
    let signed = read(&merged);
    let of_a: Vec<_> = signed
        .referrers
        .iter()
        .filter(|r| r.subject == ia.digest)
        .cloned()
        .collect();
    assert!(!of_a.is_empty());
    assert_eq!(io.referrers, of_a);
    let out = pull(
        &format!("{repo}:1.2.0"),
        &one,
        &["--platform", "linux/amd64"],
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no manifest for platform linux/amd64"));
}

#[test]
fn merge_refuses_two_manifests_for_one_target_and_different_plugins() {
    let dir = tempdir();
    let (key, _) = keygen(dir.path(), "k");
    let a = one_target_bundle(dir.path(), "wasm32-wasip1", b'a', &key);
    let again = dir.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    let a2 = one_target_bundle(&again, "wasm32-wasip1", b'c', &key);
    let out = run(plugpack()
        .arg("merge")
        .arg(&a)
        .arg(&a2)
        .arg("-o")
        .arg(dir.path().join("x.oci.tar")));
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wasm32-wasip1"));
    assert!(!dir.path().join("x.oci.tar").exists());

    let cdylib = package_fixture("cdylib-plugin", dir.path(), &["-q"]);
    let out = run(plugpack()
        .arg("merge")
        .arg(&a)
        .arg(&cdylib)
        .arg("-o")
        .arg(dir.path().join("y.oci.tar")));
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cdylib-plugin") && stderr.contains("wasm-plugin"),
        "{stderr}"
    );
}

#[test]
#[ignore = "interop: needs docker-registry; run by .ci/test"]
fn a_registry_killed_mid_push_stays_consistent_and_the_next_push_completes() {
    let mut registry = Registry::start();
    let dir = tempdir();
    // A 64 MiB wasm module (one custom section of pseudo-random bytes) so the upload takes
    // a while.
    let art = dir.path().join("big.wasm");
    {
        let payload: u32 = 64 << 20;
        let content = payload + 2; // name length byte + name `x`
        let mut f = std::io::BufWriter::new(std::fs::File::create(&art).unwrap());
        f.write_all(b"\0asm\x01\0\0\0\0").unwrap();
        let mut n = content;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                f.write_all(&[byte]).unwrap();
                break;
            }
            f.write_all(&[byte | 0x80]).unwrap();
        }
        f.write_all(&[1, b'x']).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            for b in chunk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            f.write_all(&chunk).unwrap();
        }
    }
    let bundle = dir.path().join("big.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-q",
            "-o",
            bundle.to_str().unwrap(),
            "--artifact",
            art.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
        ],
    ));
    let repo = format!("{}/big/wasm", registry.addr());
    let mut child = plugpack()
        .args(["push", "--insecure"])
        .arg(&bundle)
        .arg(&repo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while registry.upload_bytes("big/wasm") < 4 << 20 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "push finished before the registry could be killed"
        );
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    registry.kill();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // No manifest went up before its blobs: after a restart the tag does not exist.
    registry.restart();
    let pulled = dir.path().join("pulled.oci.tar");
    let out = pull(&format!("{repo}:1.2.0"), &pulled, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
    assert!(!pulled.exists());

    let out = push(&bundle, &repo, &[]);
    assert!(out.status.success(), "the second push completes");
    let out = pull(&format!("{repo}:1.2.0"), &pulled, &[]);
    assert!(out.status.success());
    assert_eq!(sha256_file(&pulled), sha256_file(&bundle));
}

/// `tests/data/registry/token_server.py`, killed on drop.
struct TokenServer {
    child: std::process::Child,
    port: u16,
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "interop: needs docker-registry, python3 and openssl; run by .ci/test"]
fn bearer_token_registry_works_with_credentials_and_refuses_without() {
    use crate::registry::{PASSWORD, USER};
    use std::io::BufRead;
    require_tool("python3");
    require_tool("openssl");
    let dir = tempdir();
    let key = dir.path().join("token.key");
    let cert = dir.path().join("token.crt");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=plugpack-test-token"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl req failed");
    let mut child = Command::new("python3")
        .arg(repo_root().join("tests/data/registry/token_server.py"))
        .args([&key, &cert])
        .args([USER, PASSWORD])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let tokens = TokenServer {
        port: first.trim().parse().expect("token server port"),
        child,
    };
    let registry =
        Registry::start_with_token(&format!("http://127.0.0.1:{}/token", tokens.port), &cert);
    let bundle = package_fixture("wasm-plugin", dir.path(), &["-q"]);
    let repo = format!("{}/tok/wasm", registry.addr());
    let empty = dir.path().join("no-docker-config");
    std::fs::create_dir_all(&empty).unwrap();

    let out = run(plugpack()
        .args(["push", "--insecure"])
        .arg(&bundle)
        .arg(&repo)
        .env("DOCKER_CONFIG", &empty));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("token from 127.0.0.1") && stderr.contains("HTTP 401"),
        "{stderr}"
    );

    let with_creds = |cmd: &mut Command| {
        cmd.env("PLUGPACK_REGISTRY_USERNAME", USER)
            .env("PLUGPACK_REGISTRY_PASSWORD", PASSWORD)
            .env("DOCKER_CONFIG", &empty);
        run(cmd)
    };
    let out = with_creds(
        plugpack()
            .args(["-vv", "push", "--insecure"])
            .arg(&bundle)
            .arg(&repo),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        assert!(
            !text.contains(PASSWORD) && !text.contains("Bearer "),
            "{text}"
        );
    }
    let pulled = dir.path().join("pulled.oci.tar");
    let out = with_creds(
        plugpack()
            .args(["pull", "--insecure"])
            .arg(format!("{repo}:1.2.0"))
            .arg("-o")
            .arg(&pulled),
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
}

#[test]
#[ignore = "interop: needs docker-registry and the Python `oras` client; run by .ci/test"]
fn the_python_oras_client_pulls_the_wasm_layer_we_pushed() {
    let registry = Registry::start();
    let dir = tempdir();
    let bundle = package_fixture("wasm-plugin", dir.path(), &["-q"]);
    let repo = format!("{}/oras/wasm", registry.addr());
    assert!(push(&bundle, &repo, &[]).status.success());
    let info =
        plugpack_core::oci::inspect(&plugpack_core::oci::read_bundle(&utf8(&bundle)).unwrap())
            .unwrap();
    let layer = &info.manifests[0].layers[0];
    let out_dir = dir.path().join("oras");
    let script = "import sys, oras.client\n\
        c = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\n\
        print('\\n'.join(c.pull(target=sys.argv[2], outdir=sys.argv[3])))\n";
    let out = Command::new("python3")
        .args(["-c", script, &registry.addr(), &format!("{repo}:1.2.0")])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oras pull failed (pip install oras, see .ci/requirements.txt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let title = layer.title.as_deref().unwrap();
    assert_eq!(
        sha256_file(&out_dir.join(title)),
        layer.digest.to_string(),
        "oras wrote {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
