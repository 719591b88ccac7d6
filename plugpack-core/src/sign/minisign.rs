//! minisign-compatible key files and detached signatures, so users without plugpack can
//! check a bundle with `minisign -V -p NAME.minisign.pub -m BUNDLE`.
//!
//! Formats (from minisign's documentation): a public key is `"Ed" ‖ key_id(8) ‖ pk(32)`; an
//! unencrypted secret key is `"Ed" ‖ [0,0] ‖ "B2" ‖ salt(32) ‖ ops(8) ‖ mem(8) ‖ key_id(8) ‖
//! seed‖pk (64) ‖ BLAKE2b-256("Ed" ‖ key_id ‖ seed‖pk)`; a signature is `"ED" ‖ key_id ‖
//! Ed25519(BLAKE2b-512(file))` plus a global signature over `signature ‖ trusted comment`.
//! Every binary part is base64 under an `untrusted comment:` line.

use std::io::Read;

use base64ct::{Base64, Encoding};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::Error;
use super::keys::{PublicKey, SecretKey, write_private, write_public};
use crate::types::Sha256Digest;

/// The minisign files `keygen --minisign` wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MinisignFiles {
    /// `NAME.minisign.key` (unencrypted, mode 0600).
    pub secret_key: Utf8PathBuf,
    /// `NAME.minisign.pub`.
    pub public_key: Utf8PathBuf,
}

/// `[STEM.minisign.key, STEM.minisign.pub]`.
pub(crate) fn file_names(stem: &str) -> [Utf8PathBuf; 2] {
    [
        Utf8PathBuf::from(format!("{stem}.minisign.key")),
        Utf8PathBuf::from(format!("{stem}.minisign.pub")),
    ]
}

/// The 8-byte minisign key number: the first 8 bytes of the sha256 of the public key.
fn key_number(public: &PublicKey) -> [u8; 8] {
    let digest = Sha256Digest::of_bytes(&public.to_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest.as_bytes()[..8]);
    out
}

fn key_number_hex(n: &[u8; 8]) -> String {
    // minisign prints the little-endian u64 in upper-case hex.
    format!("{:016X}", u64::from_le_bytes(*n))
}

/// The minisign public key file text.
pub fn public_key_text(public: &PublicKey) -> String {
    let n = key_number(public);
    let mut bin = Vec::with_capacity(42);
    bin.extend_from_slice(b"Ed");
    bin.extend_from_slice(&n);
    bin.extend_from_slice(&public.to_bytes());
    format!(
        "untrusted comment: minisign public key {}\n{}\n",
        key_number_hex(&n),
        Base64::encode_string(&bin)
    )
}

/// Writes `STEM.minisign.key` (unencrypted, 0600) and `STEM.minisign.pub`.
pub(crate) fn write_key_pair(key: &SecretKey, stem: &str) -> Result<MinisignFiles, Error> {
    let [secret_path, public_path] = file_names(stem);
    let n = key_number(key.public());
    let mut keypair = Zeroizing::new([0u8; 64]);
    keypair[..32].copy_from_slice(key.seed().as_slice());
    keypair[32..].copy_from_slice(&key.public().to_bytes());
    let mut checksum_input = Zeroizing::new(Vec::with_capacity(74));
    checksum_input.extend_from_slice(b"Ed");
    checksum_input.extend_from_slice(&n);
    checksum_input.extend_from_slice(keypair.as_slice());
    let checksum = Blake2b::<U32>::digest(checksum_input.as_slice());
    let mut bin = Zeroizing::new(Vec::with_capacity(158));
    bin.extend_from_slice(b"Ed");
    bin.extend_from_slice(&[0, 0]);
    bin.extend_from_slice(b"B2");
    bin.extend_from_slice(&[0u8; 32]);
    bin.extend_from_slice(&0u64.to_le_bytes());
    bin.extend_from_slice(&0u64.to_le_bytes());
    bin.extend_from_slice(&n);
    bin.extend_from_slice(keypair.as_slice());
    bin.extend_from_slice(&checksum);
    let text = Zeroizing::new(format!(
        "untrusted comment: minisign secret key (unencrypted)\n{}\n",
        Base64::encode_string(bin.as_slice())
    ));
    write_private(&secret_path, text.as_bytes())?;
    write_public(&public_path, public_key_text(key.public()).as_bytes())?;
    Ok(MinisignFiles {
        secret_key: secret_path,
        public_key: public_path,
    })
}

/// Writes `dest`: a minisign signature of the file `message` (pre-hashed `ED` algorithm).
pub fn sign_file(
    key: &SecretKey,
    message: &Utf8Path,
    dest: &Utf8Path,
    trusted_comment: &str,
) -> Result<(), Error> {
    let read_err = |source| Error::WriteOutput {
        path: message.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(message).map_err(read_err)?;
    let mut hasher = Blake2b512::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let hash = hasher.finalize();
    let signature = key.sign(&hash);
    let n = key_number(key.public());
    let mut sig_bin = Vec::with_capacity(74);
    sig_bin.extend_from_slice(b"ED");
    sig_bin.extend_from_slice(&n);
    sig_bin.extend_from_slice(&signature);
    let comment = trusted_comment.replace(['\n', '\r'], " ");
    let mut global_input = signature.to_vec();
    global_input.extend_from_slice(comment.as_bytes());
    let global = key.sign(&global_input);
    let text = format!(
        "untrusted comment: signature from plugpack key {}\n{}\ntrusted comment: {comment}\n{}\n",
        key_number_hex(&n),
        Base64::encode_string(&sig_bin),
        Base64::encode_string(&global)
    );
    crate::types::write_atomic(dest, text.as_bytes()).map_err(|source| Error::WriteOutput {
        path: dest.to_owned(),
        source,
    })
}
