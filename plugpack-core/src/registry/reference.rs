//! `REGISTRY/REPO[:TAG[,TAG…]]` and `REGISTRY/REPO@sha256:…` references.

use std::fmt;

use super::Error;
use crate::types::Sha256Digest;

/// A parsed registry reference: host (with port), repository, and tags or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host, with its port if given (`ghcr.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path (`org/plugin`).
    pub repository: String,
    /// Tags (`:a,b` gives two); empty when none or a digest was given.
    pub tags: Vec<String>,
    /// The digest after `@`, if any.
    pub digest: Option<Sha256Digest>,
}

fn bad(reference: &str, problem: &str) -> Error {
    Error::Reference {
        reference: reference.to_owned(),
        problem: problem.to_owned(),
    }
}

fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                && part.ends_with(|c: char| c.is_ascii_alphanumeric())
        })
}

impl Reference {
    /// Parses `REGISTRY/REPO[:TAG[,TAG…]]` or `REGISTRY/REPO@sha256:HEX`. The registry part
    /// is required (it must contain a `.` or `:` or be `localhost`), so a reference is never
    /// silently sent to a default registry.
    pub fn parse(reference: &str) -> Result<Self, Error> {
        let (registry, rest) = reference
            .split_once('/')
            .ok_or_else(|| bad(reference, "expected REGISTRY/REPOSITORY[:TAG] or @sha256:…"))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(bad(
                reference,
                "the first part must be a registry host (e.g. ghcr.io or 127.0.0.1:5000)",
            ));
        }
        let (name, digest) = match rest.split_once('@') {
            Some((name, digest)) => {
                let digest: Sha256Digest = digest
                    .parse()
                    .map_err(|_| bad(reference, "the digest must be sha256:<64 hex digits>"))?;
                (name, Some(digest))
            }
            None => (rest, None),
        };
        let (repository, tags) = match name.rsplit_once(':') {
            Some((repo, tags)) if !tags.contains('/') => {
                let tags: Vec<String> = tags.split(',').map(str::to_owned).collect();
                if let Some(t) = tags.iter().find(|t| !valid_tag(t)) {
                    return Err(bad(reference, &format!("`{t}` is not a valid tag")));
                }
                (repo, tags)
            }
            _ => (name, Vec::new()),
        };
        if digest.is_some() && !tags.is_empty() {
            return Err(bad(reference, "give tags or a digest, not both"));
        }
        if !valid_repository(repository) {
            return Err(bad(
                reference,
                "the repository must be lowercase path components ([a-z0-9._-], separated by /)",
            ));
        }
        Ok(Self {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tags,
            digest,
        })
    }

    /// The host without its port (for the loopback check).
    pub fn host(&self) -> &str {
        host_of(&self.registry)
    }

    /// `REGISTRY/REPO@sha256:…` for a digest in this repository.
    pub fn with_digest(&self, digest: &Sha256Digest) -> String {
        format!("{}/{}@{digest}", self.registry, self.repository)
    }
}

/// The host part of `host[:port]` (IPv6 in brackets keeps its brackets).
pub(super) fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry
            .split_once(']')
            .map_or(registry, |(h, _)| &registry[..=h.len()]);
    }
    registry.split(':').next().unwrap_or(registry)
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(d) = &self.digest {
            write!(f, "@{d}")
        } else if !self.tags.is_empty() {
            write!(f, ":{}", self.tags.join(","))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_and_digests() {
        let r = Reference::parse("127.0.0.1:5000/org/plug:1.0.0,latest").unwrap_or_else(|e| {
            unreachable!("{e}");
        });
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.host(), "127.0.0.1");
        assert_eq!(r.repository, "org/plug");
        assert_eq!(r.tags, ["1.0.0", "latest"]);
        let hex = "a".repeat(64);
        let r = Reference::parse(&format!("ghcr.io/o/p@sha256:{hex}")).unwrap_or_else(|e| {
            unreachable!("{e}");
        });
        assert_eq!(r.digest.map(|d| d.hex()), Some(hex));
        assert!(r.tags.is_empty());
        let r = Reference::parse("localhost/p").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(r.tags.is_empty() && r.digest.is_none());
        assert_eq!(host_of("[::1]:5000"), "[::1]");
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "plug:1.0",
            "docker/plug:1.0",
            "ghcr.io/Org/plug",
            "ghcr.io/o/p:bad tag",
            "ghcr.io/o/p@sha256:xyz",
            "ghcr.io/",
            "ghcr.io/o//p",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
