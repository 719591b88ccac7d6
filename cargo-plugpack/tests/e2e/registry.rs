//! `push` and `pull` against a real registry: Debian's `docker-registry` (distribution 2.8)
//! started on a free loopback port with its own config and storage, stopped on drop. These
//! are interop tests (`#[ignore]`d, run by `.ci/test` with `PLUGPACK_INTEROP=1`); they fail,
//! never skip, when the registry cannot start.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

pub(crate) const USER: &str = "plugpack-ci";
/// Fixture password: distinctive, so a leak into any output is caught by a plain search.
pub(crate) const PASSWORD: &str = "Fixture-Pa55word-9f3c1e";

/// A running `docker-registry serve`, killed (and its storage removed) on drop.
pub(crate) struct Registry {
    child: Child,
    host: String,
    port: u16,
    dir: tempfile::TempDir,
}

fn spawn_registry(dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("registry.log"))
        .unwrap();
    Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

impl Registry {
    /// Starts an anonymous registry.
    pub fn start() -> Self {
        Self::start_with(None, None)
    }

    /// Starts an anonymous registry listening on `host` (an address of this machine).
    pub fn start_on(host: &str) -> Self {
        Self::start_on_with(host, None, None)
    }

    /// Starts a registry with distribution's `token` auth: `realm` issues the tokens, signed
    /// by the key of the certificate `cert` (PEM).
    pub fn start_with_token(realm: &str, cert: &Path) -> Self {
        Self::start_with(
            None,
            Some(format!(
                "auth:\n  token:\n    realm: {realm}\n    service: plugpack-test\n    issuer: plugpack-test-issuer\n    rootcertbundle: {}\n",
                cert.display()
            )),
        )
    }

    /// Starts a registry with htpasswd auth for `USER`/`PASSWORD`.
    pub fn start_with_htpasswd() -> Self {
        require_tool("htpasswd");
        let out = Command::new("htpasswd")
            .args(["-Bbn", USER, PASSWORD])
            .output()
            .unwrap();
        assert!(out.status.success(), "htpasswd failed");
        Self::start_with(Some(String::from_utf8(out.stdout).unwrap()), None)
    }

    fn start_with(htpasswd: Option<String>, auth_yaml: Option<String>) -> Self {
        Self::start_on_with("127.0.0.1", htpasswd, auth_yaml)
    }

    fn start_on_with(host: &str, htpasswd: Option<String>, auth_yaml: Option<String>) -> Self {
        require_tool("docker-registry");
        let mut last_log = String::new();
        // A free port can be taken between probing and binding; try a few.
        for _ in 0..3 {
            let dir = tempdir();
            let port = TcpListener::bind((host, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let storage = dir.path().join("storage");
            std::fs::create_dir_all(&storage).unwrap();
            let mut config = format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}:{port}\n",
                storage.display()
            );
            if let Some(line) = &htpasswd {
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, line).unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: plugpack-test\n    path: {}\n",
                    path.display()
                ));
            }
            if let Some(yaml) = &auth_yaml {
                config.push_str(yaml);
            }
            std::fs::write(dir.path().join("config.yml"), config).unwrap();
            let child = spawn_registry(dir.path());
            let mut registry = Registry {
                child,
                host: host.to_owned(),
                port,
                dir,
            };
            if registry.wait_ready() {
                return registry;
            }
            last_log = std::fs::read_to_string(registry.dir.path().join("registry.log"))
                .unwrap_or_default();
        }
        panic!("docker-registry did not start on a free {host} port:\n{last_log}");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect((self.host.as_str(), self.port)) {
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok()
                    && (head.ends_with(b"200") || head.ends_with(b"401"))
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Kills the registry (SIGKILL: no chance to clean up).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port, config and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_registry(self.dir.path());
        assert!(self.wait_ready(), "docker-registry did not restart");
    }

    /// The storage's upload sessions of `repo`, and how many bytes they hold.
    pub fn upload_bytes(&self, repo: &str) -> u64 {
        let uploads = self
            .dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(repo)
            .join("_uploads");
        std::fs::read_dir(uploads)
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::metadata(e.ok()?.path().join("data")).ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// `HOST:PORT` (`127.0.0.1:PORT` unless started with [`Registry::start_on`]).
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The registry's log so far (its HTTP access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The registry's blob data file for `digest` (`sha256:…`).
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn utf8(p: &Path) -> camino::Utf8PathBuf {
    camino::Utf8PathBuf::from_path_buf(p.to_owned()).unwrap()
}

pub(crate) fn push(bundle: &Path, reference: &str, extra: &[&str]) -> Output {
    run(plugpack()
        .args(["push", "--insecure"])
        .arg(bundle)
        .arg(reference)
        .args(extra))
}

pub(crate) fn pull(reference: &str, out: &Path, extra: &[&str]) -> Output {
    run(plugpack()
        .args(["pull", "--insecure"])
        .arg(reference)
        .arg("-o")
        .arg(out)
        .args(extra))
}

pub(crate) fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let stem = dir.join(name);
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    (stem.with_extension("key"), stem.with_extension("pub"))
}

pub(crate) fn sign(bundle: &Path, key: &Path) {
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(bundle)
            .arg("--key")
            .arg(key),
    );
}

pub(crate) fn verify_code(bundle: &Path, state: &Path, public: &Path) -> i32 {
    run(plugpack()
        .arg("verify")
        .arg(bundle)
        .arg("--state")
        .arg(state)
        .arg("--key")
        .arg(public))
    .status
    .code()
    .unwrap()
}

fn stdout_line(out: &Output) -> String {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

/// A signed two-target wasm bundle from prebuilt modules (no build).
fn multi_bundle(dir: &Path, key: &Path) -> PathBuf {
    let a = dir.join("a.wasm");
    let b = dir.join("b.wasm");
    std::fs::write(&a, [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', b'a']).unwrap();
    std::fs::write(&b, [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', b'b']).unwrap();
    let bundle = dir.join("multi.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-q",
            "-o",
            bundle.to_str().unwrap(),
            "--artifact",
            a.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
            "--artifact",
            b.to_str().unwrap(),
            "--target",
            "wasm32-unknown-unknown",
        ],
    ));
    sign(&bundle, key);
    bundle
}

#[test]
#[ignore = "interop: needs docker-registry and skopeo; run by .ci/test"]
fn push_pull_round_trip_is_byte_identical_and_verifies() {
    require_tool("skopeo");
    let registry = Registry::start();
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let mut bundles = Vec::new();
    for (fixture, tag) in [("wasm-plugin", "1.2.0"), ("cdylib-plugin", "0.3.1")] {
        let sub = dir.path().join(fixture);
        std::fs::create_dir_all(&sub).unwrap();
        let bundle = package_fixture(fixture, &sub, &["-q"]);
        sign(&bundle, &key);
        bundles.push((fixture.to_owned(), tag.to_owned(), bundle));
    }
    let multi_dir = dir.path().join("multi");
    std::fs::create_dir_all(&multi_dir).unwrap();
    bundles.push((
        "multi".to_owned(),
        "1.2.0".to_owned(),
        multi_bundle(&multi_dir, &key),
    ));

    for (name, tag, bundle) in &bundles {
        let repo = format!("{}/plugins/{name}", registry.addr());
        let before = sha256_file(bundle);
        let info =
            plugpack_core::oci::inspect(&plugpack_core::oci::read_bundle(&utf8(bundle)).unwrap())
                .unwrap();
        let out = push(bundle, &format!("{repo}:latest"), &[]);
        assert!(out.status.success(), "{name}: push failed");
        assert_eq!(stdout_line(&out), format!("{repo}@{}", info.digest));
        assert_eq!(
            sha256_file(bundle),
            before,
            "{name}: push changed the bundle"
        );

        // A third-party client sees our manifest under the tag, byte for byte.
        let raw = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{repo}:{tag}"))
            .output()
            .unwrap();
        assert!(raw.status.success(), "{name}: skopeo inspect failed");
        let served = plugpack_core::types::Sha256Digest::of_bytes(&raw.stdout);
        assert_eq!(served, info.digest, "{name}: skopeo sees another manifest");

        // skopeo copies what we pushed to a layout with the same layer bytes; and what skopeo
        // pushes from our bundle (manifest only, no referrers) our pull reads.
        if name != "multi" {
            let copy_dir = dir.path().join(format!("skopeo-{name}"));
            let copy = Command::new("skopeo")
                .args(["copy", "-q", "--src-tls-verify=false"])
                .arg(format!("docker://{repo}:{tag}"))
                .arg(format!("oci:{}:{tag}", copy_dir.display()))
                .output()
                .unwrap();
            assert!(
                copy.status.success(),
                "{name}: skopeo copy from the registry"
            );
            let layer = &info.manifests[0].layers[0].digest;
            assert_eq!(
                sha256_file(&copy_dir.join("blobs/sha256").join(layer.hex())),
                layer.to_string()
            );
            let reverse = format!("{}/skopeo/{name}:{tag}", registry.addr());
            let copy = Command::new("skopeo")
                .args(["copy", "-q", "--dest-tls-verify=false"])
                .arg(format!("oci-archive:{}:{tag}", bundle.display()))
                .arg(format!("docker://{reverse}"))
                .output()
                .unwrap();
            assert!(copy.status.success(), "{name}: skopeo copy to the registry");
            let from_skopeo = dir.path().join(format!("{name}-from-skopeo.oci.tar"));
            let out = pull(&reverse, &from_skopeo, &[]);
            assert!(out.status.success(), "{name}: pull of a skopeo push");
            let got = plugpack_core::oci::inspect(
                &plugpack_core::oci::read_bundle(&utf8(&from_skopeo)).unwrap(),
            )
            .unwrap();
            assert_eq!(got.digest, info.digest);
            assert_eq!(got.manifests[0].layers, info.manifests[0].layers);
            assert!(got.referrers.is_empty());
        }

        // Pull by tag and by digest: the same bytes as the bundle that was pushed.
        for reference in [format!("{repo}:{tag}"), format!("{repo}@{}", info.digest)] {
            let pulled = dir.path().join(format!("{name}-pulled.oci.tar"));
            let out = pull(&reference, &pulled, &[]);
            assert!(out.status.success(), "{name}: pull {reference} failed");
            assert_eq!(stdout_line(&out), format!("{repo}@{}", info.digest));
            assert_eq!(
                std::fs::read(&pulled).unwrap(),
                std::fs::read(bundle).unwrap(),
                "{name}: pulled bundle differs from the pushed one"
            );
            let state = dir.path().join(format!("state-{name}"));
            assert_eq!(verify_code(&pulled, &state, &public), 0, "{name}: verify");
            std::fs::remove_file(&pulled).unwrap();
        }

        // verify, inspect and extract take the reference itself.
        let by_digest = format!("{repo}@{}", info.digest);
        let state = dir.path().join(format!("state-ref-{name}"));
        let out = run(plugpack()
            .args(["verify", "--insecure", &by_digest, "--key"])
            .arg(&public)
            .arg("--state")
            .arg(&state));
        assert_eq!(out.status.code(), Some(0), "{name}: verify by reference");
        let out = run(plugpack().args(["inspect", "--json", "--insecure", &by_digest]));
        assert!(out.status.success());
        let shown = json_lines(&String::from_utf8(out.stdout).unwrap())
            .pop()
            .unwrap();
        assert_eq!(shown["digest"], info.digest.to_string());
        assert_eq!(
            shown["referrers"].as_array().unwrap().len(),
            info.referrers.len()
        );
        let x = dir.path().join(format!("x-{name}"));
        let out = run(plugpack()
            .args(["extract", "--insecure", &by_digest, "-o"])
            .arg(&x));
        assert!(out.status.success());
        assert_eq!(std::fs::read_dir(&x).unwrap().count(), info.manifests.len());
    }
}

#[test]
#[ignore = "interop: needs docker-registry; run by .ci/test"]
fn pushing_twice_uploads_nothing_and_later_referrers_keep_earlier_ones() {
    let registry = Registry::start();
    let dir = tempdir();
    let (key_a, pub_a) = keygen(dir.path(), "a");
    let (key_b, pub_b) = keygen(dir.path(), "b");
    let bundle = package_fixture("wasm-plugin", dir.path(), &["-q"]);
    let signed_b = dir.path().join("b.oci.tar");
    std::fs::copy(&bundle, &signed_b).unwrap();
    sign(&bundle, &key_a);
    sign(&signed_b, &key_b);
    let repo = format!("{}/p/wasm", registry.addr());

    let push_json = |b: &Path| {
        let out = push(b, &repo, &["--format", "json"]);
        assert!(out.status.success());
        json_lines(&String::from_utf8(out.stdout).unwrap())
            .pop()
            .unwrap()
    };
    let first = push_json(&bundle);
    assert!(first["blobs_uploaded"].as_u64().unwrap() > 0);
    let again = push_json(&bundle);
    assert_eq!(again["blobs_uploaded"], 0, "{again}");
    assert_eq!(again["bytes_uploaded"], 0, "{again}");
    assert_eq!(again["manifests_pushed"], 0, "{again}");
    assert_eq!(again["digest"], first["digest"]);

    // The same plugin signed by another key, pushed later: only its signature is new.
    let later = push_json(&signed_b);
    assert_eq!(later["digest"], first["digest"]);
    assert_eq!(later["blobs_uploaded"], 1, "only the new envelope: {later}");
    assert_eq!(
        later["manifests_pushed"], 1,
        "only the new referrer: {later}"
    );
    assert_eq!(later["referrers_api"], false);

    // The fallback tag lists both signatures, so the pulled bundle verifies with both keys.
    let pulled = dir.path().join("pulled.oci.tar");
    let out = pull(&format!("{repo}:1.2.0"), &pulled, &[]);
    assert!(out.status.success());
    let info =
        plugpack_core::oci::inspect(&plugpack_core::oci::read_bundle(&utf8(&pulled)).unwrap())
            .unwrap();
    let one =
        plugpack_core::oci::inspect(&plugpack_core::oci::read_bundle(&utf8(&bundle)).unwrap())
            .unwrap();
    assert_eq!(info.referrers.len(), one.referrers.len() + 1);
    assert_eq!(verify_code(&pulled, &dir.path().join("s1"), &pub_a), 0);
    assert_eq!(verify_code(&pulled, &dir.path().join("s2"), &pub_b), 0);
}

#[test]
#[ignore = "interop: needs docker-registry and htpasswd; run by .ci/test"]
fn htpasswd_registry_needs_credentials_and_never_shows_the_password() {
    let registry = Registry::start_with_htpasswd();
    let dir = tempdir();
    let bundle = package_fixture("wasm-plugin", dir.path(), &["-q"]);
    let repo = format!("{}/secure/wasm", registry.addr());

    let empty_config = dir.path().join("no-docker-config");
    std::fs::create_dir_all(&empty_config).unwrap();
    let out = run(plugpack()
        .args(["push", "--insecure"])
        .arg(&bundle)
        .arg(&repo)
        .env("DOCKER_CONFIG", &empty_config));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("Unauthorized"),
        "{stderr}"
    );

    let basic = {
        use base64ct::Encoding as _;
        base64ct::Base64::encode_string(format!("{USER}:{PASSWORD}").as_bytes())
    };
    let check_no_leak = |out: &Output| {
        for text in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(text);
            assert!(!text.contains(PASSWORD), "password leaked: {text}");
            assert!(!text.contains(&basic), "credentials leaked: {text}");
        }
    };
    // --password-stdin, with -vv.
    let mut cmd = plugpack();
    cmd.args([
        "-vv",
        "push",
        "--insecure",
        "--username",
        USER,
        "--password-stdin",
    ])
    .arg(&bundle)
    .arg(&repo)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_no_leak(&out);

    // The environment variables, for pull; a wrong password is a clear 401 too.
    let pulled = dir.path().join("pulled.oci.tar");
    let out = run(plugpack()
        .args(["-vv", "pull", "--insecure"])
        .arg(format!("{repo}:1.2.0"))
        .arg("-o")
        .arg(&pulled)
        .env("PLUGPACK_REGISTRY_USERNAME", USER)
        .env("PLUGPACK_REGISTRY_PASSWORD", PASSWORD));
    assert!(out.status.success());
    check_no_leak(&out);
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
    // The Docker config file: `auths`, then a credential helper run as docker runs it.
    let config_dir = dir.path().join("docker-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{basic}"}}}}}}"#,
            registry.addr()
        ),
    )
    .unwrap();
    let from_auths = dir.path().join("from-auths.oci.tar");
    let out = run(plugpack()
        .args(["-vv", "pull", "--insecure"])
        .arg(format!("{repo}:1.2.0"))
        .arg("-o")
        .arg(&from_auths)
        .env("DOCKER_CONFIG", &config_dir));
    assert!(out.status.success());
    check_no_leak(&out);
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-plugpacktest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n[ \"$host\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$host\"\n",
            registry.addr()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        config_dir.join("config.json"),
        format!(
            r#"{{"credHelpers":{{"{}":"plugpacktest"}}}}"#,
            registry.addr()
        ),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = run(plugpack()
        .args(["-vv", "push", "--insecure"])
        .arg(&bundle)
        .arg(format!("{repo}:helper"))
        .env("DOCKER_CONFIG", &config_dir)
        .env("PATH", &path));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_no_leak(&out);

    let out = run(plugpack()
        .args(["pull", "--insecure"])
        .arg(format!("{repo}:1.2.0"))
        .arg("-o")
        .arg(dir.path().join("never.oci.tar"))
        .env("PLUGPACK_REGISTRY_USERNAME", USER)
        .env("PLUGPACK_REGISTRY_PASSWORD", "wrong-password"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 401"));
    assert!(!dir.path().join("never.oci.tar").exists());
}

#[test]
fn plain_http_is_refused_for_remote_hosts() {
    let dir = tempdir();
    let out = run(plugpack()
        .args(["pull", "--insecure", "example.com/p/q:1", "-o"])
        .arg(dir.path().join("x.oci.tar")));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only allowed for loopback"));
}
