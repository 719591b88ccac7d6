//! Ed25519 keys: PEM loading with clear errors, key ids, `keygen`.

use std::fmt;
#[cfg(feature = "tool")]
use std::io::Write;

use camino::{Utf8Path, Utf8PathBuf};
use ed25519_dalek::pkcs8::SecretDocument;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, KeypairBytes, PrivateKeyInfoRef};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::Error;
use crate::ctx::Ctx;
#[cfg(feature = "tool")]
use crate::types::AtomicFile;
use crate::types::{Sha256Digest, canonical_json};

/// The environment variable that may hold a PEM signing key (for CI secrets).
pub const SIGNING_KEY_ENV: &str = "PLUGPACK_SIGNING_KEY";

const ED25519_OID: &str = "1.3.101.112";

/// A key id: lowercase hex sha256 of the canonical JSON of the public key, exactly as
/// TUF / securesystemslib compute it
/// (`{"keytype":"ed25519","keyval":{"public":"<hex>"},"scheme":"ed25519"}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyId {
    /// The first 16 hex digits, for messages.
    pub fn short(&self) -> &str {
        self.0.get(..16).unwrap_or(&self.0)
    }
}

/// An Ed25519 public key and its [`KeyId`].
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    fn new(key: VerifyingKey) -> Self {
        let hex = Sha256Digest::from_bytes(key.to_bytes()).hex();
        let doc = serde_json::json!({
            "keytype": "ed25519",
            "scheme": "ed25519",
            "keyval": {"public": hex},
        });
        // canonical_json of a json! value cannot fail; fall back to the raw hex otherwise.
        let id = canonical_json(&doc)
            .map(|bytes| Sha256Digest::of_bytes(&bytes).hex())
            .unwrap_or(hex);
        Self { key, id: KeyId(id) }
    }

    /// Parses an SPKI (`PUBLIC KEY`) PEM document.
    pub fn from_pem(text: &str, origin: &str) -> Result<Self, Error> {
        let (label, doc) = decode_pem(text, origin)?;
        match label.as_str() {
            "PUBLIC KEY" => {}
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
                return Err(Error::WrongKeyKind {
                    origin: origin.to_owned(),
                    found: "private key",
                    expected: "public key (the .pub file)",
                });
            }
            other => return Err(unsupported_label(other, origin)),
        }
        let spki =
            SubjectPublicKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| Error::MalformedKey {
                origin: origin.to_owned(),
                reason: format!("not a SubjectPublicKeyInfo ({e})"),
            })?;
        check_algorithm(spki.algorithm.oid, origin)?;
        let key = VerifyingKey::try_from(spki).map_err(|e| Error::MalformedKey {
            origin: origin.to_owned(),
            reason: format!("bad Ed25519 public key ({e})"),
        })?;
        Ok(Self::new(key))
    }

    /// Reads a public key file.
    pub fn load(path: &Utf8Path) -> Result<Self, Error> {
        let text = read_text(path)?;
        Self::from_pem(&text, path.as_str())
    }

    /// Wraps raw key bytes (e.g. from a minisign public key).
    pub fn from_raw(bytes: &[u8; 32], origin: &str) -> Result<Self, Error> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|e| Error::MalformedKey {
            origin: origin.to_owned(),
            reason: format!("bad Ed25519 public key ({e})"),
        })?;
        Ok(Self::new(key))
    }

    /// The key id.
    pub fn key_id(&self) -> &KeyId {
        &self.id
    }

    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// SPKI PEM.
    pub fn to_pem(&self) -> Result<String, Error> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::MalformedKey {
                origin: self.id.to_string(),
                reason: e.to_string(),
            })
    }

    /// Checks an Ed25519 signature over `message` (strict: rejects malleable signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &sig).is_ok()
    }
}

/// An Ed25519 private key. Its `Debug` is redacted, it is zeroed when dropped (the inner
/// `SigningKey` zeroizes itself) and it is deliberately not `Serialize`.
pub struct SecretKey {
    key: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, public {})", self.public.id)
    }
}

impl SecretKey {
    fn new(key: SigningKey) -> Self {
        let public = PublicKey::new(key.verifying_key());
        Self { key, public }
    }

    #[cfg(feature = "tool")]
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self::new(SigningKey::from_bytes(&seed)))
    }

    /// Wraps a 32-byte seed (tests, minisign import).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::new(SigningKey::from_bytes(seed))
    }

    /// Parses a PKCS#8 (`PRIVATE KEY`) PEM document, v1 or v2.
    pub fn from_pem(text: &str, origin: &str) -> Result<Self, Error> {
        let (label, doc) = decode_pem(text, origin)?;
        match label.as_str() {
            "PRIVATE KEY" => {}
            "PUBLIC KEY" => {
                return Err(Error::WrongKeyKind {
                    origin: origin.to_owned(),
                    found: "public key",
                    expected: "private key",
                });
            }
            other => return Err(unsupported_label(other, origin)),
        }
        let info =
            PrivateKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| Error::MalformedKey {
                origin: origin.to_owned(),
                reason: format!("not a PKCS#8 private key ({e})"),
            })?;
        check_algorithm(info.algorithm.oid, origin)?;
        let pair = KeypairBytes::try_from(info).map_err(|e| Error::MalformedKey {
            origin: origin.to_owned(),
            reason: format!("bad Ed25519 private key ({e})"),
        })?;
        let key = SigningKey::try_from(&pair).map_err(|e| Error::MalformedKey {
            origin: origin.to_owned(),
            reason: format!("bad Ed25519 private key ({e})"),
        })?;
        Ok(Self::new(key))
    }

    /// Reads a private key file, refusing one that group or others can access unless
    /// `allow_insecure` (like ssh does).
    pub fn load(path: &Utf8Path, allow_insecure: bool) -> Result<Self, Error> {
        let text = Zeroizing::new(read_text(path)?);
        if text.trim_start().starts_with("-----BEGIN PUBLIC KEY-----") && pem_blocks(&text) == 1 {
            // Say what is wrong before complaining about a public file's permissions.
            return Err(Error::WrongKeyKind {
                origin: path.to_string(),
                found: "public key",
                expected: "private key",
            });
        }
        #[cfg(unix)]
        if !allow_insecure {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path).map_err(|source| Error::ReadKey {
                path: path.to_owned(),
                source,
            })?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::InsecurePermissions {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = allow_insecure;
        Self::from_pem(&text, path.as_str())
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// PKCS#8 v1 PEM (no embedded public key), readable by OpenSSL and python-cryptography.
    pub fn to_pem(&self) -> Result<Zeroizing<String>, Error> {
        let pair = KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        pair.to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::MalformedKey {
                origin: self.public.id.to_string(),
                reason: e.to_string(),
            })
    }

    #[cfg(feature = "tool")]
    /// The 32-byte seed (for minisign's secret key format).
    pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// Signs `message` (pure Ed25519).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// Where the signing key comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeySource {
    /// `PLUGPACK_SIGNING_KEY` (PEM text in the environment).
    #[default]
    Env,
    /// A PEM file.
    File {
        /// The file.
        path: Utf8PathBuf,
        /// Accept a file readable by group/others.
        allow_insecure_permissions: bool,
    },
}

impl KeySource {
    /// Loads the key (the environment only through `ctx`).
    pub fn load(&self, ctx: &Ctx) -> Result<SecretKey, Error> {
        match self {
            KeySource::Env => {
                let text = ctx
                    .var(SIGNING_KEY_ENV)
                    .filter(|t| !t.trim().is_empty())
                    .ok_or(Error::NoKey)?;
                SecretKey::from_pem(text, &format!("${SIGNING_KEY_ENV}"))
            }
            KeySource::File {
                path,
                allow_insecure_permissions,
            } => SecretKey::load(path, *allow_insecure_permissions),
        }
    }
}

/// Largest key file read (a PEM Ed25519 key is a few hundred bytes).
pub const MAX_KEY_FILE: u64 = 64 * 1024;

fn read_text(path: &Utf8Path) -> Result<String, Error> {
    let bytes =
        crate::types::read_small_file(path, MAX_KEY_FILE).map_err(|source| Error::ReadKey {
            path: path.to_owned(),
            source,
        })?;
    String::from_utf8(bytes).map_err(|_| Error::MalformedKey {
        origin: path.to_string(),
        reason: "not UTF-8 text (a DER file? convert it with `openssl pkey -outform PEM`)"
            .to_owned(),
    })
}

fn decode_pem(text: &str, origin: &str) -> Result<(String, SecretDocument), Error> {
    let trimmed = text.trim();
    if !trimmed.starts_with("-----BEGIN ") {
        let reason = if trimmed.starts_with("untrusted comment:") {
            "this is a minisign key; give the PEM key from `cargo plugpack keygen`".to_owned()
        } else if trimmed.starts_with("ssh-") {
            "this is an OpenSSH public key; plugpack reads PEM keys".to_owned()
        } else {
            "no `-----BEGIN …-----` line".to_owned()
        };
        return Err(Error::MalformedKey {
            origin: origin.to_owned(),
            reason,
        });
    }
    let blocks = pem_blocks(trimmed);
    if blocks > 1 {
        return Err(Error::MalformedKey {
            origin: origin.to_owned(),
            reason: format!(
                "it holds {blocks} PEM blocks; a key file must hold exactly one key (split it, \
                 one key per file)"
            ),
        });
    }
    let label = trimmed
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .unwrap_or_default()
        .to_owned();
    if !matches!(label.as_str(), "PRIVATE KEY" | "PUBLIC KEY") {
        return Err(unsupported_label(&label, origin));
    }
    // Normalise line endings (keys pasted into CI secrets often carry CRLF).
    let normalized = Zeroizing::new(format!("{}\n", trimmed.replace("\r\n", "\n")));
    let (_, doc) = SecretDocument::from_pem(&normalized).map_err(|e| Error::MalformedKey {
        origin: origin.to_owned(),
        reason: e.to_string(),
    })?;
    Ok((label, doc))
}

/// How many `-----BEGIN` lines `text` has.
fn pem_blocks(text: &str) -> usize {
    text.lines()
        .filter(|l| l.trim_start().starts_with("-----BEGIN "))
        .count()
}

fn unsupported_label(label: &str, origin: &str) -> Error {
    let found = match label {
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => "RSA",
        "EC PRIVATE KEY" | "EC PARAMETERS" => "ECDSA (EC)",
        "OPENSSH PRIVATE KEY" => "OpenSSH-format",
        "ENCRYPTED PRIVATE KEY" => {
            return Error::MalformedKey {
                origin: origin.to_owned(),
                reason: "encrypted PKCS#8 keys are not supported; decrypt it with \
                         `openssl pkey -in KEY -out PLAIN.key`"
                    .to_owned(),
            };
        }
        "CERTIFICATE" => "X.509 certificate (not a key)",
        _ => {
            return Error::MalformedKey {
                origin: origin.to_owned(),
                reason: format!("unexpected PEM label `{label}` (want PRIVATE KEY or PUBLIC KEY)"),
            };
        }
    };
    Error::UnsupportedKeyType {
        origin: origin.to_owned(),
        found: found.to_owned(),
    }
}

fn check_algorithm(oid: ObjectIdentifier, origin: &str) -> Result<(), Error> {
    let oid = oid.to_string();
    let found = match oid.as_str() {
        ED25519_OID => return Ok(()),
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => "RSA".to_owned(),
        "1.2.840.10045.2.1" => "ECDSA (e.g. P-256)".to_owned(),
        "1.3.101.110" => "X25519 (key agreement, not signing)".to_owned(),
        "1.3.101.113" => "Ed448".to_owned(),
        "1.2.840.10040.4.1" => "DSA".to_owned(),
        other => format!("unknown (algorithm {other})"),
    };
    Err(Error::UnsupportedKeyType {
        origin: origin.to_owned(),
        found,
    })
}

#[cfg(feature = "tool")]
/// The file stem `keygen` uses when its output is a directory (`signing.key`, `signing.pub`).
pub const DEFAULT_KEY_STEM: &str = "signing";

#[cfg(feature = "tool")]
/// Options of `keygen`.
#[derive(Debug, Clone, Default)]
pub struct KeygenOptions {
    /// Output stem: writes `STEM.key` and `STEM.pub`; a directory (existing, or ending in
    /// `/`) gets [`DEFAULT_KEY_STEM`] inside it.
    pub output: Utf8PathBuf,
    /// Overwrite existing files.
    pub force: bool,
    /// Also write `STEM.minisign.key` / `STEM.minisign.pub` in minisign's formats.
    pub minisign: bool,
}

#[cfg(feature = "tool")]
/// What `keygen` wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeygenOutput {
    /// The key id.
    pub key_id: KeyId,
    /// The private key file (mode 0600).
    pub private_key: Utf8PathBuf,
    /// The public key file.
    pub public_key: Utf8PathBuf,
    /// minisign files, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minisign: Option<super::minisign::MinisignFiles>,
}

#[cfg(feature = "tool")]
/// Creates a key pair: `STEM.key` (PKCS#8 v1 PEM, mode 0600, written atomically) and
/// `STEM.pub` (SPKI PEM). Existing files are never overwritten without `force`.
pub fn keygen(options: &KeygenOptions) -> Result<KeygenOutput, Error> {
    // `-o DIR/` (or an existing directory) means `DIR/signing.key` and `DIR/signing.pub`.
    let output = crate::types::OutputPath::new(&options.output).file(DEFAULT_KEY_STEM);
    let stem = output
        .as_str()
        .strip_suffix(".key")
        .unwrap_or(output.as_str());
    check_stem(&options.output, stem)?;
    let private_path = Utf8PathBuf::from(format!("{stem}.key"));
    let public_path = Utf8PathBuf::from(format!("{stem}.pub"));
    let mut paths = vec![private_path.clone(), public_path.clone()];
    if options.minisign {
        paths.extend(super::minisign::file_names(stem));
    }
    if !options.force {
        if let Some(existing) = paths.iter().find(|p| p.exists()) {
            return Err(Error::KeyExists {
                path: existing.clone(),
            });
        }
    }
    let key = SecretKey::generate()?;
    let pem = key.to_pem()?;
    write_private(&private_path, pem.as_bytes())?;
    let public_pem = key.public().to_pem()?;
    write_public(&public_path, public_pem.as_bytes())?;
    let minisign = if options.minisign {
        Some(super::minisign::write_key_pair(&key, stem)?)
    } else {
        None
    };
    Ok(KeygenOutput {
        key_id: key.public().key_id().clone(),
        private_key: private_path,
        public_key: public_path,
        minisign,
    })
}

#[cfg(feature = "tool")]
/// Refuses a `keygen -o` value that names no file: empty, a directory (`dir/`, `.`, an
/// existing directory), or a bare `.key`, which would write hidden `.key`/`.pub` files.
fn check_stem(output: &Utf8Path, stem: &str) -> Result<(), Error> {
    let bad = |reason: &str| {
        Err(Error::BadKeyPath {
            path: output.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if output.as_str().trim().is_empty() {
        return bad(
            "empty; give a file stem such as `keys/release` (writes release.key and release.pub)",
        );
    }
    if stem.ends_with('/') || stem.ends_with(std::path::MAIN_SEPARATOR) {
        return bad(
            "names a directory; add a file stem, e.g. `dir/release` (writes release.key and release.pub)",
        );
    }
    let name = Utf8Path::new(stem).file_name().unwrap_or_default();
    if name.is_empty() || stem.ends_with("/.") || stem == "." || stem.ends_with("..") {
        return bad(
            "names no file; give a file stem such as `release` (writes release.key and release.pub)",
        );
    }
    if Utf8Path::new(stem).is_dir() {
        return bad("is an existing directory; give a file stem inside it, e.g. `DIR/release`");
    }
    Ok(())
}

#[cfg(feature = "tool")]
/// Writes a public file atomically, world-readable (0644).
pub(crate) fn write_public(path: &Utf8Path, bytes: &[u8]) -> Result<(), Error> {
    let err = |source| Error::WriteKey {
        path: path.to_owned(),
        source,
    };
    let mut file = AtomicFile::create(path).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    #[cfg(unix)]
    return file.commit_with_mode(0o644).map_err(err);
    #[cfg(not(unix))]
    file.commit().map_err(err)
}

#[cfg(feature = "tool")]
/// Writes secret bytes atomically with mode 0600 (set before any byte is written).
pub(crate) fn write_private(path: &Utf8Path, bytes: &[u8]) -> Result<(), Error> {
    let err = |source| Error::WriteKey {
        path: path.to_owned(),
        source,
    };
    let mut file = AtomicFile::create(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The temporary file is created 0600 by tempfile already; make sure.
        file.file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
    }
    file.write_all(bytes).map_err(err)?;
    #[cfg(unix)]
    return file.commit_with_mode(0o600).map_err(err);
    #[cfg(not(unix))]
    file.commit().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_matches_securesystemslib_definition() {
        let key = SecretKey::from_seed(&[7u8; 32]);
        let hex = Sha256Digest::from_bytes(key.public().to_bytes()).hex();
        let doc =
            format!(r#"{{"keytype":"ed25519","keyval":{{"public":"{hex}"}},"scheme":"ed25519"}}"#);
        assert_eq!(
            key.public().key_id().0,
            Sha256Digest::of_bytes(doc.as_bytes()).hex()
        );
    }

    #[test]
    fn pem_round_trips_and_is_pkcs8_v1() {
        let key = SecretKey::from_seed(&[1u8; 32]);
        let pem = key.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // v1 Ed25519 PKCS#8 is exactly 48 bytes of DER = 64 base64 characters.
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(body.len(), 64, "{}", pem.as_str());
        let back = SecretKey::from_pem(&pem, "test").unwrap();
        assert_eq!(back.public(), key.public());
        let public = PublicKey::from_pem(&key.public().to_pem().unwrap(), "test").unwrap();
        assert_eq!(&public, key.public());
        let sig = key.sign(b"msg");
        assert!(public.verify(b"msg", &sig));
        assert!(!public.verify(b"msh", &sig));
    }

    #[test]
    fn two_pem_blocks_are_named_as_such() {
        let a = SecretKey::from_seed(&[3u8; 32]);
        let b = SecretKey::from_seed(&[4u8; 32]);
        let two_private = format!(
            "{}{}",
            a.to_pem().unwrap().as_str(),
            b.to_pem().unwrap().as_str()
        );
        let public_and_private = format!(
            "{}{}",
            a.public().to_pem().unwrap(),
            a.to_pem().unwrap().as_str()
        );
        let two_public = format!(
            "{}\n{}",
            a.public().to_pem().unwrap(),
            b.public().to_pem().unwrap()
        );
        for text in [&two_private, &public_and_private] {
            let err = SecretKey::from_pem(text, "k.key").unwrap_err();
            assert!(err.to_string().contains("2 PEM blocks"), "{err}");
        }
        for text in [&two_public, &public_and_private] {
            let err = PublicKey::from_pem(text, "k.pub").unwrap_err();
            assert!(err.to_string().contains("2 PEM blocks"), "{err}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let key = SecretKey::from_seed(&[9u8; 32]);
        let debug = format!("{key:?}");
        assert!(debug.contains("redacted"));
        let seed_hex = Sha256Digest::from_bytes([9u8; 32]).hex();
        assert!(!debug.contains(&seed_hex[..8]));
    }

    #[test]
    fn rejects_garbage_and_swapped_kinds() {
        let key = SecretKey::from_seed(&[2u8; 32]);
        let public_pem = key.public().to_pem().unwrap();
        assert!(matches!(
            SecretKey::from_pem(&public_pem, "x"),
            Err(Error::WrongKeyKind { .. })
        ));
        assert!(matches!(
            PublicKey::from_pem(&key.to_pem().unwrap(), "x"),
            Err(Error::WrongKeyKind { .. })
        ));
        for bad in [
            "",
            "hello",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(
                matches!(
                    SecretKey::from_pem(bad, "x"),
                    Err(Error::MalformedKey { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            SecretKey::from_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n",
                "x"
            ),
            Err(Error::UnsupportedKeyType { .. })
        ));
    }
}
