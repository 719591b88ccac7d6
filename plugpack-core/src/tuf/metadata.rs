//! TUF 1.0 metadata: the four top-level roles and delegated targets, signing and threshold
//! verification over OLPC canonical JSON.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cjson::{self, CjsonError};
use super::{Code, Error};
use crate::sign::{PublicKey, SecretKey};

/// The TUF specification version written into metadata (python-tuf 7's).
pub const SPEC_VERSION: &str = "1.0.31";

/// The top-level role names.
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "snapshot", "targets", "timestamp"];

/// A public key as TUF lists it (`ed25519`, hex `keyval.public`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// `ed25519`.
    pub keytype: String,
    /// `ed25519`.
    pub scheme: String,
    /// The key material.
    pub keyval: KeyVal,
    /// Fields this version does not know, kept as they are.
    #[serde(flatten)]
    pub unrecognized: Map<String, Value>,
}

/// `keyval` of a [`Key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    /// Lowercase hex of the 32 raw public key bytes.
    pub public: String,
}

impl Key {
    /// The TUF form of a plugpack public key (its [`crate::sign::KeyId`] is the TUF key id).
    pub fn from_public(key: &PublicKey) -> Self {
        Key {
            keytype: "ed25519".to_owned(),
            scheme: "ed25519".to_owned(),
            keyval: KeyVal {
                public: hex(&key.to_bytes()),
            },
            unrecognized: Map::new(),
        }
    }

    /// The usable Ed25519 key, if this is one.
    pub fn to_public(&self) -> Option<PublicKey> {
        if self.keytype != "ed25519" || self.scheme != "ed25519" {
            return None;
        }
        let bytes: [u8; 32] = unhex(&self.keyval.public)?.try_into().ok()?;
        PublicKey::from_raw(&bytes, "tuf key").ok()
    }
}

/// The keys and threshold of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// Key ids allowed to sign for the role.
    pub keyids: Vec<String>,
    /// How many distinct keys must sign.
    pub threshold: u32,
}

/// Common header of every role's `signed` object.
pub trait Role: Serialize + DeserializeOwned {
    /// `_type` value and role name of the top-level role.
    const TYPE: &'static str;
    /// `version`.
    fn version(&self) -> u64;
    /// `expires` (RFC 3339).
    fn expires(&self) -> &str;
}

macro_rules! role {
    ($name:ident, $ty:literal, { $($(#[$m:meta])* pub $f:ident : $t:ty,)* }) => {
        #[doc = concat!("The `signed` object of `", $ty, ".json`.")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The role type.
            #[serde(rename = "_type")]
            pub type_: String,
            /// TUF specification version.
            pub spec_version: String,
            /// Metadata version (1, 2, …).
            pub version: u64,
            /// Expiry (RFC 3339, `Z`).
            pub expires: String,
            $($(#[$m])* pub $f: $t,)*
            /// Fields this version does not know, kept as they are.
            #[serde(flatten)]
            pub unrecognized: Map<String, Value>,
        }
        impl Role for $name {
            const TYPE: &'static str = $ty;
            fn version(&self) -> u64 { self.version }
            fn expires(&self) -> &str { &self.expires }
        }
    };
}

role!(Root, "root", {
    /// Whether files are published under version/hash prefixes.
    pub consistent_snapshot: bool,
    /// Every key a role uses, by key id.
    pub keys: BTreeMap<String, Key>,
    /// The four top-level roles.
    pub roles: BTreeMap<String, RoleKeys>,
});

role!(Timestamp, "timestamp", {
    /// `snapshot.json` only.
    pub meta: BTreeMap<String, MetaFile>,
});

role!(Snapshot, "snapshot", {
    /// `targets.json` and every delegated role's file.
    pub meta: BTreeMap<String, MetaFile>,
});

role!(Targets, "targets", {
    /// Target files by path.
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegated roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
});

/// A metadata file listed by the timestamp or snapshot role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// Its version.
    pub version: u64,
    /// Its length in bytes, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Its hashes, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
}

/// A target file: length, hashes and optional custom data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetFile {
    /// Exact length in bytes.
    pub length: u64,
    /// `sha256` and/or `sha512`, lowercase hex.
    pub hashes: BTreeMap<String, String>,
    /// Application data (plugpack's is under `plugpack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
}

/// Delegations of a targets role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delegations {
    /// Keys of the delegated roles.
    pub keys: BTreeMap<String, Key>,
    /// The roles, in priority order.
    pub roles: Vec<DelegatedRole>,
}

/// One delegated targets role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// Role name (`NAME.json`).
    pub name: String,
    /// Allowed keys.
    pub keyids: Vec<String>,
    /// Distinct keys that must sign.
    pub threshold: u32,
    /// Stop the search here when the path matches.
    pub terminating: bool,
    /// Path patterns (`*` does not cross `/`) this role may sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Hash-bin prefixes (not written by plugpack; honoured when reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
}

impl DelegatedRole {
    /// Whether this role may sign `path` (TUF's pattern rules: `*` matches within one path
    /// segment, `?` one character; or a sha256 prefix of the path).
    pub fn matches(&self, path: &str) -> bool {
        if let Some(patterns) = &self.paths {
            return patterns.iter().any(|p| path_match(p, path));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let digest = crate::types::Sha256Digest::of_bytes(path.as_bytes()).hex();
            return prefixes.iter().any(|p| digest.starts_with(p.as_str()));
        }
        false
    }
}

/// fnmatch-style match segment by segment (python-tuf's `_is_target_in_pathpattern`).
fn path_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let t: Vec<&str> = path.split('/').collect();
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(p, t)| crate::verify::glob_match(p, t))
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The signing key's id.
    pub keyid: String,
    /// Lowercase hex of the Ed25519 signature.
    pub sig: String,
}

/// A metadata file as read: the `signed` value, its canonical bytes and the signatures.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The `signed` object.
    pub signed: Value,
    /// Its canonical bytes (what signatures cover).
    pub canonical: Vec<u8>,
    /// The `signed` object's bytes exactly as in the file.
    pub raw_signed: Vec<u8>,
    /// The signatures.
    pub signatures: Vec<Signature>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    signed: &'a serde_json::value::RawValue,
}

impl Envelope {
    /// Parses a metadata file strictly (`duplicate-key`, `metadata-invalid`).
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, Error> {
        let value = cjson::parse_strict(bytes).map_err(|e| match e {
            CjsonError::DuplicateKey(_) => Error::rejected(Code::DuplicateKey, file, e),
            _ => Error::rejected(Code::MetadataInvalid, file, e),
        })?;
        let Value::Object(mut map) = value else {
            return Err(Error::rejected(
                Code::MetadataInvalid,
                file,
                "not an object",
            ));
        };
        let signed = map
            .remove("signed")
            .ok_or_else(|| Error::rejected(Code::MetadataInvalid, file, "no `signed` object"))?;
        let signatures: Vec<Signature> = serde_json::from_value(
            map.remove("signatures").unwrap_or(Value::Null),
        )
        .map_err(|e| Error::rejected(Code::MetadataInvalid, file, format!("signatures: {e}")))?;
        let canonical =
            cjson::encode(&signed).map_err(|e| Error::rejected(Code::MetadataInvalid, file, e))?;
        let raw: RawEnvelope<'_> = serde_json::from_slice(bytes)
            .map_err(|e| Error::rejected(Code::MetadataInvalid, file, e))?;
        Ok(Envelope {
            signed,
            canonical,
            raw_signed: raw.signed.get().as_bytes().to_vec(),
            signatures,
        })
    }

    /// The typed `signed` object; `_type` must be `R::TYPE` (delegated roles are `targets`).
    pub fn typed<R: Role>(&self, file: &str) -> Result<R, Error> {
        let ty = self.signed.get("_type").and_then(Value::as_str);
        if ty != Some(R::TYPE) {
            return Err(Error::rejected(
                Code::MetadataInvalid,
                file,
                format!("`_type` is {ty:?}, expected {:?}", R::TYPE),
            ));
        }
        let role: R = serde_json::from_value(self.signed.clone())
            .map_err(|e| Error::rejected(Code::MetadataInvalid, file, e))?;
        let spec = self.signed.get("spec_version").and_then(Value::as_str);
        if spec.is_none_or(|s| s.split('.').next() != Some("1")) {
            return Err(Error::rejected(
                Code::MetadataInvalid,
                file,
                format!("unsupported spec_version {spec:?} (this client reads 1.x)"),
            ));
        }
        Ok(role)
    }

    /// Checks that at least `role.threshold` distinct keys of `role.keyids` signed the
    /// canonical bytes. Distinguishes a signature by a key the role no longer lists
    /// (`revoked-key`) and one over non-canonical bytes (`non-canonical`) from a plain
    /// shortfall (`threshold-not-met`).
    pub fn verify(
        &self,
        keys: &BTreeMap<String, Key>,
        role: &RoleKeys,
        role_name: &str,
        file: &str,
    ) -> Result<(), Error> {
        self.verify_noting_retired(keys, &BTreeMap::new(), role, role_name, file)
    }

    /// [`Envelope::verify`], also naming a signature by a key of an earlier root that the
    /// current root dropped (`revoked-key`). `retired` only chooses the error code: the
    /// threshold counts keys of `keys` listed for the role, nothing else.
    pub fn verify_noting_retired(
        &self,
        keys: &BTreeMap<String, Key>,
        retired: &BTreeMap<String, Key>,
        role: &RoleKeys,
        role_name: &str,
        file: &str,
    ) -> Result<(), Error> {
        if role.threshold == 0 {
            return Err(Error::rejected(
                Code::MetadataInvalid,
                file,
                format!("role {role_name} has threshold 0"),
            ));
        }
        let valid_with =
            |keys: &BTreeMap<String, Key>, bytes: &[u8], allowed: &dyn Fn(&str) -> bool| {
                let mut seen = Vec::new();
                for s in &self.signatures {
                    if !allowed(&s.keyid) || seen.contains(&s.keyid) {
                        continue;
                    }
                    let ok = keys
                        .get(&s.keyid)
                        .and_then(Key::to_public)
                        .zip(unhex(&s.sig))
                        .is_some_and(|(k, sig)| k.verify(bytes, &sig));
                    if ok {
                        seen.push(s.keyid.clone());
                    }
                }
                seen.len()
            };
        let valid_over =
            |bytes: &[u8], allowed: &dyn Fn(&str) -> bool| valid_with(keys, bytes, allowed);
        let in_role = |id: &str| role.keyids.iter().any(|k| k == id);
        let good = valid_over(&self.canonical, &in_role);
        if good >= role.threshold as usize {
            return Ok(());
        }
        if self.raw_signed != self.canonical && valid_over(&self.raw_signed, &in_role) > good {
            return Err(Error::rejected(
                Code::NonCanonical,
                file,
                format!(
                    "the {role_name} signatures cover the file's non-canonical bytes, not the \
                     canonical JSON of `signed`"
                ),
            ));
        }
        let outside = valid_over(&self.canonical, &|id| !in_role(id))
            + valid_with(retired, &self.canonical, &|id| {
                !in_role(id) && !keys.contains_key(id)
            });
        if outside > 0 {
            return Err(Error::rejected(
                Code::RevokedKey,
                file,
                format!(
                    "signed by {outside} key(s) not (or no longer) listed for role {role_name}; \
                     {good} of {} required valid signature(s)",
                    role.threshold
                ),
            ));
        }
        Err(Error::rejected(
            Code::ThresholdNotMet,
            file,
            format!(
                "{good} valid signature(s) for role {role_name}, {} required",
                role.threshold
            ),
        ))
    }
}

/// Every top-level role present and no other: indexing `roles` by a top-level name is then
/// safe (`unknown-role`, `metadata-invalid`).
pub fn check_roles(root: &Root, file: &str) -> Result<(), Error> {
    for name in root.roles.keys() {
        if !TOP_LEVEL_ROLES.contains(&name.as_str()) {
            return Err(Error::rejected(
                Code::UnknownRole,
                file,
                format!("root lists unknown role `{name}`"),
            ));
        }
    }
    for name in TOP_LEVEL_ROLES {
        if !root.roles.contains_key(name) {
            return Err(Error::rejected(
                Code::MetadataInvalid,
                file,
                format!("root lists no `{name}` role"),
            ));
        }
    }
    Ok(())
}

/// Signs `role` with `keys` and returns the file bytes (canonical JSON of the envelope).
pub fn sign<R: Role>(role: &R, keys: &[&SecretKey]) -> Result<Vec<u8>, Error> {
    let signed = serde_json::to_value(role).map_err(|e| Error::Internal(e.to_string()))?;
    let canonical = cjson::encode(&signed).map_err(|e| Error::Internal(e.to_string()))?;
    let mut signatures: Vec<Signature> = keys
        .iter()
        .map(|k| Signature {
            keyid: k.public().key_id().0.clone(),
            sig: hex(&k.sign(&canonical)),
        })
        .collect();
    signatures.sort_by(|a, b| a.keyid.cmp(&b.keyid));
    signatures.dedup_by(|a, b| a.keyid == b.keyid);
    let doc = serde_json::json!({"signed": signed, "signatures": signatures});
    cjson::encode(&doc).map_err(|e| Error::Internal(e.to_string()))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes hex (either case); `None` when malformed.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parses a TUF `expires` value to seconds since 1970.
pub fn parse_expires(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(key: &SecretKey) -> Root {
        let id = key.public().key_id().0.clone();
        let keys = BTreeMap::from([(id.clone(), Key::from_public(key.public()))]);
        let roles = TOP_LEVEL_ROLES
            .iter()
            .map(|r| {
                let rk = RoleKeys {
                    keyids: vec![id.clone()],
                    threshold: 1,
                };
                ((*r).to_owned(), rk)
            })
            .collect();
        Root {
            type_: "root".into(),
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: "2030-01-01T00:00:00Z".into(),
            consistent_snapshot: true,
            keys,
            roles,
            unrecognized: Map::new(),
        }
    }

    #[test]
    fn signs_and_verifies_and_names_each_failure() {
        let key = SecretKey::from_seed(&[5u8; 32]);
        let other = SecretKey::from_seed(&[6u8; 32]);
        let root = root_with(&key);
        let bytes = sign(&root, &[&key]).unwrap();
        let env = Envelope::parse(&bytes, "root.json").unwrap();
        let typed: Root = env.typed("root.json").unwrap();
        assert_eq!(typed, root);
        let role = &root.roles["root"];
        env.verify(&root.keys, role, "root", "root.json").unwrap();

        // Threshold 2 with one key.
        let two = RoleKeys {
            threshold: 2,
            ..role.clone()
        };
        let err = env.verify(&root.keys, &two, "root", "f").unwrap_err();
        assert_eq!(err.code(), Some(Code::ThresholdNotMet));

        // Signed by a key listed in `keys` but not for the role.
        let mut keys = root.keys.clone();
        let other_id = other.public().key_id().0.clone();
        keys.insert(other_id.clone(), Key::from_public(other.public()));
        let by_other = Envelope::parse(&sign(&root, &[&other]).unwrap(), "f").unwrap();
        let err = by_other.verify(&keys, role, "root", "f").unwrap_err();
        assert_eq!(err.code(), Some(Code::RevokedKey));

        // Signature over pretty-printed (non-canonical) bytes.
        let pretty = serde_json::to_vec_pretty(&serde_json::to_value(&root).unwrap()).unwrap();
        let sig = hex(&key.sign(&pretty));
        let file = format!(
            r#"{{"signatures":[{{"keyid":"{}","sig":"{sig}"}}],"signed":{}}}"#,
            key.public().key_id(),
            String::from_utf8(pretty).unwrap()
        );
        let env = Envelope::parse(file.as_bytes(), "f").unwrap();
        let err = env.verify(&root.keys, role, "root", "f").unwrap_err();
        assert_eq!(err.code(), Some(Code::NonCanonical));

        // Duplicate keys.
        let dup = br#"{"signatures":[],"signed":{"_type":"root","_type":"root"}}"#;
        let err = Envelope::parse(dup, "f").unwrap_err();
        assert_eq!(err.code(), Some(Code::DuplicateKey));
    }

    #[test]
    fn delegated_paths_match_per_segment() {
        let role = DelegatedRole {
            name: "team-x".into(),
            keyids: vec![],
            threshold: 1,
            terminating: false,
            paths: Some(vec!["team-x/*".into()]),
            path_hash_prefixes: None,
        };
        assert!(role.matches("team-x/a-1.0.0.oci.tar"));
        assert!(!role.matches("team-x/sub/a.oci.tar"));
        assert!(!role.matches("a-1.0.0.oci.tar"));
    }
}
