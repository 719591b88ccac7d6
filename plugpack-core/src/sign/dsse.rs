//! DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding and the JSON
//! envelope, as specified at <https://github.com/secure-systems-lab/dsse>.

use base64ct::{Base64, Base64Url, Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Serialize};

use super::Error;
use super::keys::{KeyId, PublicKey, SecretKey};

/// Media type of a DSSE envelope (the referrer's `artifactType` and layer media type).
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// `payloadType` of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Envelopes larger than this are refused before parsing.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where `LEN` is the
/// ASCII decimal byte length without leading zeros.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// Key id hint (not trusted; the verifier tries the key with this id).
    #[serde(default)]
    pub keyid: String,
    /// Base64 signature over the PAE.
    pub sig: String,
}

/// A DSSE envelope (field names as the spec gives them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Base64 payload.
    pub payload: String,
    /// Payload type.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// Signs `payload` with one key.
    pub fn sign(payload_type: &str, payload: &[u8], key: &SecretKey) -> Self {
        let sig = key.sign(&pae(payload_type, payload));
        Self {
            payload: Base64::encode_string(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                keyid: key.public().key_id().0.clone(),
                sig: Base64::encode_string(&sig),
            }],
        }
    }

    /// Parses an envelope defensively: size limit, strict JSON, base64 payload.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self, Error> {
        let bad = |problem: String| Error::Envelope {
            origin: origin.to_owned(),
            problem,
        };
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(bad(format!(
                "envelope is {} bytes, more than the {MAX_ENVELOPE_BYTES} allowed",
                bytes.len()
            )));
        }
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not a DSSE envelope ({e})")))?;
        if envelope.signatures.is_empty() {
            return Err(bad("envelope has no signatures".to_owned()));
        }
        envelope.payload_bytes(origin)?;
        Ok(envelope)
    }

    /// The decoded payload (standard or URL-safe base64, as the spec allows).
    pub fn payload_bytes(&self, origin: &str) -> Result<Vec<u8>, Error> {
        decode_b64(&self.payload).ok_or_else(|| Error::Envelope {
            origin: origin.to_owned(),
            problem: "payload is not base64".to_owned(),
        })
    }

    /// Key ids whose signature verifies with `key` over this envelope's PAE.
    pub fn verified_by(&self, key: &PublicKey) -> bool {
        let Some(payload) = decode_b64(&self.payload) else {
            return false;
        };
        let message = pae(&self.payload_type, &payload);
        self.signatures.iter().any(|s| {
            (s.keyid.is_empty() || s.keyid == key.key_id().0)
                && decode_b64(&s.sig).is_some_and(|sig| key.verify(&message, &sig))
        })
    }

    /// The key ids the signatures claim.
    pub fn claimed_key_ids(&self) -> Vec<KeyId> {
        let mut ids: Vec<KeyId> = self
            .signatures
            .iter()
            .map(|s| KeyId(s.keyid.clone()))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

fn decode_b64(text: &str) -> Option<Vec<u8>> {
    Base64::decode_vec(text)
        .or_else(|_| Base64Url::decode_vec(text))
        .or_else(|_| Base64UrlUnpadded::decode_vec(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let key = SecretKey::from_seed(&[3u8; 32]);
        let other = SecretKey::from_seed(&[4u8; 32]);
        let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{}", &key);
        let bytes = serde_json::to_vec(&env).unwrap();
        let back = Envelope::parse(&bytes, "t").unwrap();
        assert!(back.verified_by(key.public()));
        assert!(!back.verified_by(other.public()));
        let mut changed = back.clone();
        changed.payload_type = "application/json".to_owned();
        assert!(!changed.verified_by(key.public()));
    }

    #[test]
    fn rejects_truncated_huge_and_bad_base64() {
        let key = SecretKey::from_seed(&[3u8; 32]);
        let bytes = serde_json::to_vec(&Envelope::sign("t", b"x", &key)).unwrap();
        assert!(Envelope::parse(&bytes[..bytes.len() / 2], "t").is_err());
        let huge = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        assert!(Envelope::parse(&huge, "t").is_err());
        let bad = br#"{"payload":"***","payloadType":"t","signatures":[{"keyid":"","sig":""}]}"#;
        assert!(Envelope::parse(bad, "t").is_err());
    }
}
