//! TUF repositories (issue 16): `repo init/add/refresh/rotate/revoke` and `fetch`, the
//! bad-input cases (each rejected with its code, nothing at the output path) and, with
//! `PLUGPACK_INTEROP=1`, python-tuf's ngclient on our repositories and our client on one
//! written by python-tuf.

mod bad;
mod roles;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{self, plugpack, run, run_ok};

/// Keys and one signed bundle, made once for every test in this file.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) keys: PathBuf,
    pub(crate) bundle: PathBuf,
}

impl Fixture {
    pub(crate) fn key(&self, name: &str) -> PathBuf {
        self.keys.join(format!("{name}.key"))
    }
    pub(crate) fn public(&self, name: &str) -> PathBuf {
        self.keys.join(format!("{name}.pub"))
    }
    /// `repo init REPO --root-key <root>.key` with the online keys.
    pub(crate) fn init_repo(&self, repo: &Path, root: &str) {
        run_ok(
            plugpack()
                .args(["repo", "init"])
                .arg(repo)
                .arg("--root-key")
                .arg(self.key(root))
                .args(self.online()),
        );
    }
    /// `repo add REPO <the fixture bundle> --key signer.pub` with the online keys.
    pub(crate) fn add_bundle(&self, repo: &Path) {
        run_ok(
            plugpack()
                .args(["repo", "add"])
                .arg(repo)
                .arg(&self.bundle)
                .arg("--key")
                .arg(self.public("signer"))
                .args(self.online()),
        );
    }
    /// `--targets-key … --snapshot-key … --timestamp-key …`
    pub(crate) fn online(&self) -> Vec<String> {
        ["targets", "snapshot", "timestamp"]
            .iter()
            .flat_map(|r| {
                [
                    format!("--{r}-key"),
                    self.key(r).to_string_lossy().into_owned(),
                ]
            })
            .collect()
    }
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = support::tempdir();
        let keys = dir.path().join("keys");
        for name in [
            "root",
            "root2",
            "targets",
            "targets2",
            "snapshot",
            "timestamp",
            "signer",
            "other",
        ] {
            run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(keys.join(name)));
        }
        let bundle = support::package_fixture(
            "wasm-plugin",
            dir.path(),
            &["--key", keys.join("signer.key").to_str().unwrap()],
        );
        Fixture {
            _dir: dir,
            keys,
            bundle,
        }
    })
}

/// A repository with the fixture bundle published: `DIR/repo`.
pub(crate) fn published(dir: &Path) -> PathBuf {
    let fx = fixture();
    let repo = dir.join("repo");
    fx.init_repo(&repo, "root");
    fx.add_bundle(&repo);
    repo
}

pub(crate) const TARGET: &str = "wasm-plugin-1.2.0.oci.tar";

/// `cargo plugpack fetch wasm-plugin` from `repo` with `state`, trusting `repo/1.root.json`.
pub(crate) fn fetch(repo: &str, root: &Path, state: &Path, out: &Path) -> Command {
    let mut cmd = plugpack();
    cmd.args(["fetch", "wasm-plugin", "--repo", repo, "--trusted-root"])
        .arg(root)
        .arg("--state")
        .arg(state)
        .arg("-o")
        .arg(out)
        .arg("--key")
        .arg(fixture().public("signer"));
    cmd
}

/// python-tuf's ngclient (tests/e2e/tuf/pyclient.py): its one-line verdict.
pub(crate) fn python_client(repo: &str, root: &Path, state: &Path, out: &Path) -> String {
    python_client_for(repo, root, state, out, TARGET)
}

/// [`python_client`] for target path `target`.
pub(crate) fn python_client_for(
    repo: &str,
    root: &Path,
    state: &Path,
    out: &Path,
    target: &str,
) -> String {
    support::require_tool("python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/tuf/pyclient.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(repo)
        .arg(root)
        .arg(state)
        .arg(out)
        .arg(target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "pyclient failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.trim().to_owned()
}

#[test]
fn init_add_fetch_round_trips_and_persists_state() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = published(dir.path());
    for f in [
        "1.root.json",
        "root.json",
        "1.targets.json",
        "2.targets.json",
        "targets.json",
        "2.snapshot.json",
        "snapshot.json",
        "timestamp.json",
    ] {
        assert!(repo.join(f).is_file(), "{f}");
    }
    let sha = support::sha256_file(&fx.bundle);
    let hex = sha.strip_prefix("sha256:").unwrap();
    assert!(repo.join(format!("targets/{hex}.{TARGET}")).is_file());
    let targets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("targets.json")).unwrap()).unwrap();
    let entry = &targets["signed"]["targets"][TARGET];
    let custom = &entry["custom"]["plugpack"];
    assert_eq!(custom["name"], "wasm-plugin");
    assert_eq!(custom["version"], "1.2.0");
    assert_eq!(custom["targets"][0], "wasm32-wasip1");
    assert!(
        custom["manifests"][0]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(custom["abi"][0].as_str().unwrap().starts_with("sha256:"));
    assert!(custom["audit"].is_array());
    assert_eq!(custom["signers"].as_array().unwrap().len(), 1);
    assert_eq!(entry["hashes"]["sha256"], hex);
    assert_eq!(targets["signed"]["version"], 2);
    // The file is canonical JSON (what the signatures cover).
    let bytes = std::fs::read(repo.join("targets.json")).unwrap();
    assert!(!bytes.contains(&b'\n') && !bytes.starts_with(b"{ "));

    let state = dir.path().join("state");
    let out = dir.path().join("out/plugin.oci.tar");
    let stdout = run_ok(&mut fetch(
        repo.to_str().unwrap(),
        &repo.join("1.root.json"),
        &state,
        &out,
    ));
    assert!(stdout.contains("plugin.oci.tar"), "{stdout}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&fx.bundle).unwrap()
    );
    for f in [
        "root.json",
        "timestamp.json",
        "snapshot.json",
        "targets.json",
    ] {
        assert!(state.join(f).is_file(), "state {f}");
    }
    // file:// and NAME@VERSION.
    let out2 = dir.path().join("out2.oci.tar");
    let mut cmd = fetch(
        &format!("file://{}", repo.display()),
        &repo.join("1.root.json"),
        &state,
        &out2,
    );
    cmd.args(["--message-format", "json"]);
    let out_json = run_ok(&mut cmd);
    assert!(out_json.contains("\"version\":\"1.2.0\""), "{out_json}");
    assert!(out2.is_file());
    // `-o DIR/` receives the target's file name.
    let into = dir.path().join("into");
    let slash = PathBuf::from(format!("{}/", into.display()));
    run_ok(&mut fetch(
        repo.to_str().unwrap(),
        &repo.join("1.root.json"),
        &state,
        &slash,
    ));
    assert!(into.join(TARGET).is_file());
    // A trusted root that is not one (a PEM key, a tampered root) is an invalid input: exit 5.
    let forged = dir.path().join("forged-root.json");
    let text = std::fs::read_to_string(repo.join("1.root.json")).unwrap();
    std::fs::write(&forged, text.replacen("\"version\":1", "\"version\":7", 1)).unwrap();
    for bad_root in [&fx.public("signer"), &forged] {
        let out = dir.path().join("x.oci.tar");
        let result = run(&mut fetch(repo.to_str().unwrap(), bad_root, &state, &out));
        assert_eq!(result.status.code(), Some(5), "{result:?}");
        assert!(String::from_utf8_lossy(&result.stderr).contains("not a usable trusted root"));
        assert!(!out.exists());
    }
    // An unknown plugin: target-not-found, nothing written.
    let none = dir.path().join("none.oci.tar");
    let mut cmd = plugpack();
    cmd.args([
        "fetch",
        "no-such-plugin@1.0.0",
        "--repo",
        repo.to_str().unwrap(),
    ])
    .arg("--trusted-root")
    .arg(repo.join("1.root.json"))
    .arg("--state")
    .arg(&state)
    .arg("-o")
    .arg(&none);
    bad::assert_rejected(&run(&mut cmd), "target-not-found", &none);
}

#[test]
fn add_refuses_a_bundle_that_fails_verify_and_leaves_the_repository_alone() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = published(dir.path());
    let before = std::fs::read(repo.join("timestamp.json")).unwrap();
    let out = run(plugpack()
        .args(["repo", "add"])
        .arg(&repo)
        .arg(&fx.bundle)
        .arg("--key")
        .arg(fx.public("other"))
        .args(fx.online()));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fails verification"), "{stderr}");
    assert_eq!(std::fs::read(repo.join("timestamp.json")).unwrap(), before);
    // A key that is not the repository's targets key is refused.
    let mut wrong = fx.online();
    wrong[1] = fx.key("other").to_string_lossy().into_owned();
    let out = run(plugpack()
        .args(["repo", "add"])
        .arg(&repo)
        .arg(&fx.bundle)
        .arg("--key")
        .arg(fx.public("signer"))
        .args(&wrong));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a targets key"));
}

#[test]
fn concurrent_adds_serialise_on_the_lock() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = published(dir.path());
    let children: Vec<_> = (0..4)
        .map(|_| {
            plugpack()
                .args(["repo", "add", "-q"])
                .arg(&repo)
                .arg(&fx.bundle)
                .arg("--key")
                .arg(fx.public("signer"))
                .args(fx.online())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    // Each add published one version: targets 2 + 4, and the chain is consistent.
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("timestamp.json")).unwrap()).unwrap();
    assert_eq!(ts["signed"]["version"], 6);
    for v in 1..=6 {
        assert!(repo.join(format!("{v}.targets.json")).is_file(), "{v}");
        assert!(repo.join(format!("{v}.snapshot.json")).is_file(), "{v}");
    }
    let out = dir.path().join("p.oci.tar");
    run_ok(&mut fetch(
        repo.to_str().unwrap(),
        &repo.join("1.root.json"),
        &dir.path().join("state"),
        &out,
    ));
}

#[test]
fn rotate_revoke_and_refresh_keep_clients_working() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = published(dir.path());
    let state = dir.path().join("state");
    let root1 = dir.path().join("root1.json");
    std::fs::copy(repo.join("1.root.json"), &root1).unwrap();
    let fetch_ok = |n: &str| {
        let out = dir.path().join(n);
        run_ok(&mut fetch(repo.to_str().unwrap(), &root1, &state, &out));
        assert!(out.is_file());
    };
    fetch_ok("a.oci.tar");
    // Rotate the targets key: root v2, new targets signed by targets2.
    run_ok(
        plugpack()
            .args(["repo", "rotate"])
            .arg(&repo)
            .args(["--role", "targets", "--old-key"])
            .arg(fx.public("targets"))
            .arg("--new-key")
            .arg(fx.key("targets2"))
            .arg("--root-key")
            .arg(fx.key("root"))
            .args(fx.online()),
    );
    assert!(repo.join("2.root.json").is_file());
    fetch_ok("b.oci.tar");
    // Rotate the root key itself: v3 signed by old and new root keys.
    run_ok(
        plugpack()
            .args(["repo", "rotate"])
            .arg(&repo)
            .args(["--role", "root", "--old-key"])
            .arg(fx.key("root"))
            .arg("--new-key")
            .arg(fx.key("root2"))
            .arg("--root-key")
            .arg(fx.key("root"))
            .arg("--root-key")
            .arg(fx.key("root2"))
            .args(fx.online()),
    );
    fetch_ok("c.oci.tar");
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("root.json")).unwrap()).unwrap();
    assert_eq!(root["signed"]["version"], 3);
    // A fresh client bootstrapped with root v1 walks the chain 1 → 2 → 3.
    let fresh = dir.path().join("fresh");
    run_ok(&mut fetch(
        repo.to_str().unwrap(),
        &root1,
        &fresh,
        &dir.path().join("d.oci.tar"),
    ));
    // Refresh: a new timestamp only.
    run_ok(
        plugpack()
            .args(["repo", "refresh"])
            .arg(&repo)
            .arg("--timestamp-key")
            .arg(fx.key("timestamp")),
    );
    fetch_ok("e.oci.tar");
    // Revoking the only snapshot key would leave the role below its threshold.
    let snapshot_id = key_id(&fx.public("snapshot"));
    let out = run(plugpack()
        .args(["repo", "revoke"])
        .arg(&repo)
        .args(["--key-id", &snapshot_id])
        .arg("--root-key")
        .arg(fx.key("root2")));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("below its threshold"));
}

pub(crate) fn key_id(public: &Path) -> String {
    let path = camino::Utf8Path::from_path(public).unwrap();
    plugpack_core::sign::PublicKey::load(path)
        .unwrap()
        .key_id()
        .0
        .clone()
}

#[test]
fn revoke_removes_a_root_key_in_a_new_root_version() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = dir.path().join("repo");
    run_ok(
        plugpack()
            .args(["repo", "init"])
            .arg(&repo)
            .arg("--root-key")
            .arg(fx.key("root"))
            .arg("--root-key")
            .arg(fx.key("root2"))
            .args(["--root-threshold", "1"])
            .args(fx.online()),
    );
    let root2 = key_id(&fx.public("root2"));
    run_ok(
        plugpack()
            .args(["repo", "revoke"])
            .arg(&repo)
            .args(["--key-id", &root2])
            .arg("--root-key")
            .arg(fx.key("root"))
            .args(fx.online()),
    );
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("2.root.json")).unwrap()).unwrap();
    assert_eq!(root["signed"]["version"], 2);
    assert!(root["signed"]["keys"].get(&root2).is_none());
    let ids = &root["signed"]["roles"]["root"]["keyids"];
    assert_eq!(ids.as_array().unwrap().len(), 1);
    fx.add_bundle(&repo);
    run_ok(&mut fetch(
        repo.to_str().unwrap(),
        &repo.join("1.root.json"),
        &dir.path().join("state"),
        &dir.path().join("p.oci.tar"),
    ));
    // python-tuf follows the revocation too (root 1 → 2) and downloads the added plugin.
    if std::env::var("PLUGPACK_INTEROP").is_ok_and(|v| v == "1") {
        let verdict = python_client(
            repo.to_str().unwrap(),
            &repo.join("1.root.json"),
            &dir.path().join("py"),
            &dir.path().join("dl"),
        );
        assert!(verdict.starts_with("ok 2"), "{verdict}");
    }
}

/// A tiny HTTP server on 127.0.0.1 that serves `dir`, except paths `routes` answers.
pub(crate) fn serve(
    dir: PathBuf,
    routes: fn(&str) -> Option<Vec<u8>>,
    endless: Option<&'static str>,
) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or(0);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                        break;
                    }
                }
                let full = line.split(' ').nth(1).unwrap_or("/").to_owned();
                let path = full.split('?').next().unwrap_or("/").to_owned();
                if endless.is_some_and(|e| path.ends_with(e)) {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                    let chunk = [b' '; 8192];
                    while stream.write_all(&chunk).is_ok() {}
                    return;
                }
                if let Some(raw) = routes(&full) {
                    let _ = stream.write_all(&raw);
                    return;
                }
                match std::fs::read(dir.join(path.trim_start_matches('/'))) {
                    Ok(body) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(&body);
                    }
                    Err(_) => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn fetch_over_http_and_endless_and_redirected_responses() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = published(dir.path());
    let root = repo.join("1.root.json");
    let url = serve(repo.clone(), |_| None, None);
    let out = dir.path().join("http.oci.tar");
    run_ok(&mut fetch(&url, &root, &dir.path().join("s1"), &out));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&fx.bundle).unwrap()
    );

    // A server that never ends timestamp.json: cut at 16 KiB, quickly.
    let endless = serve(repo.clone(), |_| None, Some("/timestamp.json"));
    let out = dir.path().join("endless.oci.tar");
    let started = std::time::Instant::now();
    let result = run(&mut fetch(&endless, &root, &dir.path().join("s2"), &out));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    bad::assert_rejected(&result, "endless-data", &out);

    // …and one that never ends the target: cut at its length.
    let endless = serve(repo.clone(), |_| None, Some(".oci.tar"));
    let result = run(&mut fetch(&endless, &root, &dir.path().join("s3"), &out));
    bad::assert_rejected(&result, "target-too-long", &out);

    // A redirect to another host is refused; one to the same host is followed.
    let other = serve(
        repo.clone(),
        |p| {
            p.ends_with("timestamp.json").then(|| {
                b"HTTP/1.1 302 Found\r\nLocation: http://localhost:9/timestamp.json\r\nContent-Length: 0\r\n\r\n"
                    .to_vec()
            })
        },
        None,
    );
    let result = run(&mut fetch(&other, &root, &dir.path().join("s4"), &out));
    bad::assert_rejected(&result, "redirect-other-host", &out);
    let same = serve(
        repo.clone(),
        |p| {
            (p == "/timestamp.json").then(|| {
                b"HTTP/1.1 302 Found\r\nLocation: /timestamp.json?x=1\r\nContent-Length: 0\r\n\r\n"
                    .to_vec()
            })
        },
        None,
    );
    let result = run(&mut fetch(&same, &root, &dir.path().join("s5"), &out));
    assert!(result.status.success(), "{result:?}");
}

#[test]
#[ignore = "interop: needs python3 with tuf (.ci/requirements.txt); run by .ci/test"]
fn python_tuf_reads_our_repository_from_a_directory_and_over_http() {
    let fx = fixture();
    let dir = support::tempdir();
    let repo = published(dir.path());
    let root = repo.join("1.root.json");
    let verdict = python_client(
        repo.to_str().unwrap(),
        &root,
        &dir.path().join("py1"),
        &dir.path().join("dl1"),
    );
    assert!(verdict.starts_with("ok 2"), "{verdict}");
    assert!(verdict.contains("wasm-plugin"), "{verdict}");
    assert_eq!(
        std::fs::read(dir.path().join("dl1").join(TARGET)).unwrap(),
        std::fs::read(&fx.bundle).unwrap()
    );

    // python3 -m http.server on 127.0.0.1, after a root and a targets rotation.
    rotate_targets_then_root(&repo);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "-d",
        ])
        .arg(&repo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut verdict = String::new();
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            verdict = python_client(
                &url,
                &root,
                &dir.path().join("py2"),
                &dir.path().join("dl2"),
            );
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Our client through the same server.
    let ours = run(&mut fetch(
        &url,
        &root,
        &dir.path().join("s"),
        &dir.path().join("o.oci.tar"),
    ));
    server.kill().unwrap();
    let _ = server.wait();
    assert!(verdict.starts_with("ok 2"), "{verdict}");
    assert!(ours.status.success(), "{ours:?}");
}

#[test]
#[ignore = "interop: needs python3 with tuf (.ci/requirements.txt); run by .ci/test"]
fn our_fetch_reads_a_repository_python_tuf_wrote_with_our_keys() {
    support::require_tool("python3");
    let fx = fixture();
    let dir = support::tempdir();
    let repo = dir.path().join("pyrepo");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/tuf/pyrepo.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(&repo)
        .arg(&fx.keys)
        .arg(&fx.bundle)
        .arg(TARGET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // python-tuf computes the same key ids as `keygen` for the same keys.
    for line in stdout.lines() {
        let (role, id) = line.split_once(' ').unwrap();
        assert_eq!(id, key_id(&fx.public(role)), "{role}");
    }
    // Indented (non-canonical) files, signed over the canonical form: accepted.
    let root = std::fs::read(repo.join("1.root.json")).unwrap();
    assert!(root.contains(&b'\n'));
    let out = dir.path().join("out/p.oci.tar");
    run_ok(&mut fetch(
        repo.to_str().unwrap(),
        &repo.join("1.root.json"),
        &dir.path().join("state"),
        &out,
    ));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&fx.bundle).unwrap()
    );
    // Tampering with python-tuf's target is caught the same way.
    let target = std::fs::read_dir(repo.join("targets"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&target, bytes).unwrap();
    let out = dir.path().join("out/q.oci.tar");
    let result = run(&mut fetch(
        repo.to_str().unwrap(),
        &repo.join("1.root.json"),
        &dir.path().join("state2"),
        &out,
    ));
    bad::assert_rejected(&result, "target-hash-mismatch", &out);
}

/// An initialised repository without targets, with team-x delegated `team-x/*` (key
/// `other`).
pub(crate) fn delegated(dir: &Path) -> PathBuf {
    let fx = fixture();
    let repo = dir.join("repo");
    fx.init_repo(&repo, "root");
    run_ok(
        plugpack()
            .args(["repo", "delegate"])
            .arg(&repo)
            .args(["--name", "team-x", "--paths", "team-x/*", "--key"])
            .arg(fx.public("other"))
            .args(fx.online()),
    );
    repo
}

/// Rotates the targets key (`targets` → `targets2`) and then the root key (`root` → `root2`,
/// signed by both): root goes to version 3.
pub(crate) fn rotate_targets_then_root(repo: &Path) {
    let fx = fixture();
    run_ok(
        plugpack()
            .args(["repo", "rotate"])
            .arg(repo)
            .args(["--role", "targets", "--old-key"])
            .arg(fx.public("targets"))
            .arg("--new-key")
            .arg(fx.key("targets2"))
            .arg("--root-key")
            .arg(fx.key("root"))
            .args(fx.online()),
    );
    run_ok(
        plugpack()
            .args(["repo", "rotate"])
            .arg(repo)
            .args(["--role", "root", "--old-key"])
            .arg(fx.key("root"))
            .arg("--new-key")
            .arg(fx.key("root2"))
            .arg("--root-key")
            .arg(fx.key("root"))
            .arg("--root-key")
            .arg(fx.key("root2"))
            .args(fx.online()),
    );
}
