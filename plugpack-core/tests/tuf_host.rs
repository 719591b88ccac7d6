//! The `tuf` feature on its own (`--no-default-features --features tuf`): a host writes a
//! repository with the library API and fetches from it with `tuf::Client`, none of the
//! CLI's or the tool side's modules compiled. The bundle is opaque to the TUF layer here;
//! the e2e tests cover `verify` on top.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use camino::Utf8PathBuf;
use plugpack_core::sign::SecretKey;
use plugpack_core::tuf::repo::{self, Expiry, InitOptions, OnlineKeys, Repository};
use plugpack_core::tuf::{Client, Code};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_host_fetches_with_the_library_client_and_the_clock_decides_freshness() {
    let dir = tempfile::tempdir().unwrap();
    let base = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
    let online = OnlineKeys {
        targets: Some(&keys[1]),
        snapshot: Some(&keys[2]),
        timestamp: Some(&keys[3]),
    };
    let repo_dir = base.join("repo");
    repo::init(&InitOptions {
        dir: repo_dir.clone(),
        root_keys: vec![&keys[0]],
        root_threshold: None,
        online,
        expiry: Expiry::default(),
        now: now(),
    })
    .unwrap();
    // Publish an opaque target named like a bundle, no plugpack custom data.
    let payload = base.join("demo.bin");
    std::fs::write(&payload, b"plugin bytes").unwrap();
    let mut r = Repository::open(&repo_dir, now()).unwrap();
    let mut targets = r.targets.clone();
    r.stage_target(
        &mut targets,
        &payload,
        "demo-1.0.0.oci.tar",
        serde_json::json!({}),
    )
    .unwrap();
    r.targets = targets;
    r.publish_targets(&keys[1]).unwrap();
    r.publish_snapshot(&keys[2]).unwrap();
    r.publish_timestamp(&keys[3]).unwrap();
    drop(r);

    let root = std::fs::read(repo_dir.join("1.root.json")).unwrap();
    let mut client = Client::new(repo_dir.as_str(), &root, base.join("state")).unwrap();
    client.refresh().unwrap();
    let (path, file) = client.find("demo", None).unwrap();
    assert_eq!(path, "demo-1.0.0.oci.tar");
    let out = base.join("out/demo.oci.tar");
    client.download(&path, &file, out.clone()).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"plugin bytes");

    // Two days on, the one-day timestamp has expired (a frozen mirror).
    let mut later = Client::new(repo_dir.as_str(), &root, base.join("state2"))
        .unwrap()
        .at_time(now() + 2 * 86_400);
    let err = later.refresh().unwrap_err();
    assert_eq!(err.code(), Some(Code::ExpiredTimestamp), "{err}");

    // A damaged state root (no roles at all) is ignored, not trusted and not a crash.
    let damaged = base.join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    std::fs::write(
        damaged.join("root.json"),
        r#"{"signatures":[],"signed":{"_type":"root","consistent_snapshot":true,"expires":"2030-01-01T00:00:00Z","keys":{},"roles":{},"spec_version":"1.0.31","version":5}}"#,
    )
    .unwrap();
    let mut client = Client::new(repo_dir.as_str(), &root, damaged).unwrap();
    client.refresh().unwrap();
    assert_eq!(client.root().version, 1);

    // A bootstrap root not signed by its own root key is refused up front.
    let forged = String::from_utf8(root)
        .unwrap()
        .replacen("\"version\":1", "\"version\":9", 1);
    let err = Client::new(repo_dir.as_str(), forged.as_bytes(), base.join("s3")).unwrap_err();
    assert_eq!(err.code(), Some(Code::ThresholdNotMet), "{err}");

    // `refresh`: the timestamp alone while the snapshot is fresh; five days on (the
    // snapshot expires after seven), the snapshot is due and needs its key.
    let ts_only = OnlineKeys {
        timestamp: Some(&keys[3]),
        ..OnlineKeys::default()
    };
    assert!(!repo::refresh(&repo_dir, &ts_only, now()).unwrap());
    let later_now = now() + 5 * 86_400;
    let err = repo::refresh(&repo_dir, &ts_only, later_now).unwrap_err();
    assert!(err.to_string().contains("--snapshot-key"), "{err}");
    let both = OnlineKeys {
        snapshot: Some(&keys[2]),
        timestamp: Some(&keys[3]),
        ..OnlineKeys::default()
    };
    assert!(repo::refresh(&repo_dir, &both, later_now).unwrap());
    let r = Repository::open(&repo_dir, later_now).unwrap();
    assert_eq!(r.snapshot.version, 3);
    assert_eq!(r.timestamp.version, 4);
    drop(r);
    // A client five days on accepts the refreshed repository.
    let mut client = Client::new(
        repo_dir.as_str(),
        &std::fs::read(repo_dir.join("1.root.json")).unwrap(),
        base.join("s4"),
    )
    .unwrap()
    .at_time(later_now + 60);
    client.refresh().unwrap();
}

#[test]
fn a_slow_server_is_cut_by_the_transfer_time_limit() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                // One byte a second: far below any useful rate, never reaching the cap.
                while stream.write_all(b" ").is_ok() {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let base = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
    let repo_dir = base.join("repo");
    repo::init(&InitOptions {
        dir: repo_dir.clone(),
        root_keys: vec![&keys[0]],
        root_threshold: None,
        online: OnlineKeys {
            targets: Some(&keys[1]),
            snapshot: Some(&keys[2]),
            timestamp: Some(&keys[3]),
        },
        expiry: Expiry::default(),
        now: now(),
    })
    .unwrap();
    let root = std::fs::read(repo_dir.join("1.root.json")).unwrap();
    let mut client = Client::new(&url, &root, base.join("state"))
        .unwrap()
        .timeout(std::time::Duration::from_secs(3))
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.refresh().unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, plugpack_core::tuf::Error::Transport { .. }),
        "{err}"
    );
}
