//! Shared set-up of the fuzz targets: one scratch directory per process and the fixed test key
//! the seed bundles are signed with (so verification reaches past the signature checks).
#![allow(dead_code)]

use std::sync::OnceLock;

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::sign::SecretKey;

/// The test-only key `fuzz/seeds.sh` signs the seed bundles with (committed; never trust it).
pub const SECRET_KEY_PEM: &str = include_str!("../fuzz-test-only.key");

/// That key.
pub fn secret_key() -> SecretKey {
    SecretKey::from_pem(SECRET_KEY_PEM, "fuzz-test-only.key").expect("fuzz key")
}

struct Scratch {
    _dir: tempfile::TempDir,
    path: Utf8PathBuf,
}

fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let dir = tempfile::tempdir().expect("scratch dir");
        let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).expect("utf-8 temp dir");
        let key = secret_key();
        let pem = key.public().to_pem().expect("public key pem");
        std::fs::write(path.join("trusted.pub"), pem).expect("write key");
        Scratch { _dir: dir, path }
    })
}

/// The scratch directory (it lives as long as the process).
pub fn dir() -> &'static Utf8Path {
    &scratch().path
}

/// Writes `bytes` to `name` in the scratch directory and returns its path.
pub fn file(name: &str, bytes: &[u8]) -> Utf8PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, bytes).expect("write scratch file");
    path
}

/// The trusted public key file.
pub fn trusted_key() -> Utf8PathBuf {
    dir().join("trusted.pub")
}
