//! The trust policy (`plugpack-trust.toml`): trust roots, revoked keys and per-plugin-name
//! policies. Parsing collects every problem before failing.
//!
//! ```toml
//! revoked = ["<key id>"]
//! state = "/var/lib/myhost/plugpack-state"  # keep anti-rollback state here (relative to
//!                                           # this file); `true`: the default location
//!
//! [roots.release]
//! keys = ["keys/release.pub"]        # paths relative to this file, or inline PEM
//! threshold = 1
//! not_before = "2024-01-01T00:00:00Z"
//! not_after = "2030-01-01T00:00:00Z"
//!
//! [[policy]]
//! pattern = "acme-*"                 # `*` and `?`; most specific match wins
//! roots = ["release"]
//! require = ["signature", "sbom"]    # signature, sbom, abi, audit, audit-checked,
//!                                    # index-signature
//! max_age = "90d"                    # s, m, h, d, w
//! level = "enforce"                  # or "audit": report failures, still pass
//! ```

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::Error;
use crate::sign::{KeyId, PublicKey, parse_time};

/// The conventional policy file name.
pub const POLICY_FILE_NAME: &str = "plugpack-trust.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    revoked: Vec<String>,
    #[serde(default)]
    roots: BTreeMap<String, RawRoot>,
    #[serde(default)]
    policy: Vec<RawRule>,
    #[serde(default)]
    state: Option<RawState>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawState {
    Enabled(bool),
    Dir(String),
}

/// The policy's `state` setting: where `verify` keeps anti-rollback state. Without it (and
/// without `--state DIR`), `verify` keeps none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSetting {
    /// `state = true`: the default location ([`super::StateStore::default_location`]).
    DefaultLocation,
    /// `state = "DIR"`: this directory (a relative path is resolved against the policy
    /// file's directory).
    Dir(Utf8PathBuf),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    keys: Vec<String>,
    #[serde(default)]
    threshold: Option<u64>,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    pattern: String,
    roots: Vec<String>,
    #[serde(default)]
    require: Vec<String>,
    #[serde(default)]
    max_age: Option<String>,
    #[serde(default)]
    level: Option<String>,
}

/// Whether failures reject the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Failures reject the bundle.
    Enforce,
    /// Failures are reported but the bundle passes.
    Audit,
}

/// An attachment a policy can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Requirement {
    /// At least one DSSE signature (always implied).
    Signature,
    /// A CycloneDX/SPDX SBOM referrer.
    Sbom,
    /// An ABI fingerprint referrer.
    Abi,
    /// An audit report referrer.
    Audit,
    /// An audit report on every plugin manifest whose advisories were checked against a
    /// database: verdict `clean`, `warned` or `denied` and `advisories: checked` in the
    /// report (`audit-checked`; implies [`Requirement::Audit`]).
    #[serde(rename = "audit-checked")]
    AuditChecked,
    /// A multi-target bundle needs one signature over its image index and every manifest
    /// (`index-signature`); without it, per-target signatures that together cover every
    /// plugin manifest are accepted (what `merge` of separately signed bundles gives).
    #[serde(rename = "index-signature")]
    IndexSignature,
}

/// Verdicts (`dev.plugpack.audit.verdict`) of an audit that checked advisories against a
/// usable database; `unchecked` and `database-unusable` are not among them.
pub const CHECKED_AUDIT_VERDICTS: [&str; 3] = ["clean", "warned", "denied"];

impl Requirement {
    /// The attachment kind (see [`crate::sign::attachment_kind`]).
    pub fn kind(self) -> &'static str {
        match self {
            Requirement::Signature | Requirement::IndexSignature => "signature",
            Requirement::Sbom => "sbom",
            Requirement::Abi => "abi",
            Requirement::Audit | Requirement::AuditChecked => "audit",
        }
    }
}

/// A set of trusted keys with a threshold and a validity window.
#[derive(Debug, Clone)]
pub struct TrustRoot {
    /// Its name in the policy.
    pub name: String,
    /// Its keys, by id.
    pub keys: BTreeMap<KeyId, PublicKey>,
    /// How many distinct keys must sign.
    pub threshold: usize,
    /// Keys are not valid before (seconds since 1970).
    pub not_before: Option<i64>,
    /// Keys are not valid after (seconds since 1970).
    pub not_after: Option<i64>,
}

/// What applies to plugins whose name matches `pattern`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name pattern (`*`, `?`).
    pub pattern: String,
    /// Names of the roots allowed to sign.
    pub roots: Vec<String>,
    /// Required attachments.
    pub require: BTreeSet<Requirement>,
    /// Maximum signature age in seconds.
    pub max_age: Option<i64>,
    /// Enforce or audit.
    pub level: Level,
}

/// Largest trust policy file read.
pub const MAX_POLICY_FILE: u64 = 1024 * 1024;

/// A validated trust policy.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    /// Where it came from (a file, or `--key`).
    pub origin: String,
    /// Trust roots by name.
    pub roots: BTreeMap<String, TrustRoot>,
    /// Revoked key ids.
    pub revoked: BTreeSet<KeyId>,
    /// Rules.
    pub rules: Vec<Rule>,
    /// Where to keep anti-rollback state (`state`); `None`: keep none unless the caller
    /// names a directory.
    pub state: Option<StateSetting>,
}

impl TrustPolicy {
    /// Reads and validates a policy file; every problem is reported at once.
    pub fn load(path: &Utf8Path) -> Result<Self, Error> {
        let read_err = |source| Error::ReadPolicy {
            path: path.to_owned(),
            source,
        };
        let bytes = crate::types::read_small_file(path, MAX_POLICY_FILE).map_err(read_err)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            read_err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not UTF-8 text",
            ))
        })?;
        let base = path.parent().map(Utf8Path::to_owned).unwrap_or_default();
        Self::parse(&text, path.as_str(), &base)
    }

    /// Parses policy text; key paths are relative to `base`.
    pub fn parse(text: &str, origin: &str, base: &Utf8Path) -> Result<Self, Error> {
        let invalid = |problems: Vec<String>| Error::Policy {
            origin: origin.to_owned(),
            problems,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| invalid(vec![e.to_string()]))?;
        let mut problems = Vec::new();
        let mut revoked = BTreeSet::new();
        for id in raw.revoked {
            let id = id.trim().to_ascii_lowercase();
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                problems.push(format!("revoked: `{id}` is not a 64-hex-digit key id"));
            }
            revoked.insert(KeyId(id));
        }
        let mut roots = BTreeMap::new();
        for (name, root) in raw.roots {
            let mut keys = BTreeMap::new();
            let mut unloadable = false;
            for entry in &root.keys {
                let loaded = if entry.trim_start().starts_with("-----BEGIN") {
                    PublicKey::from_pem(entry, &format!("roots.{name}.keys (inline)"))
                } else {
                    let path = base.join(entry);
                    PublicKey::load(&path)
                };
                match loaded {
                    Ok(key) => {
                        keys.insert(key.key_id().clone(), key);
                    }
                    Err(e) => {
                        unloadable = true;
                        problems.push(format!("roots.{name}: {}", error_chain(&e)));
                    }
                }
            }
            if root.keys.is_empty() {
                problems.push(format!("roots.{name}: `keys` is empty"));
            }
            let threshold = root.threshold.unwrap_or(1);
            if threshold == 0 {
                problems.push(format!("roots.{name}: `threshold` must be at least 1"));
            } else if !root.keys.is_empty() && !unloadable {
                // Only distinct, unrevoked keys can count towards the threshold.
                let usable = keys.keys().filter(|id| !revoked.contains(*id)).count();
                if threshold > usable as u64 {
                    let mut why = Vec::new();
                    if keys.len() < root.keys.len() {
                        why.push(format!(
                            "{} entries name only {} distinct key(s)",
                            root.keys.len(),
                            keys.len()
                        ));
                    }
                    let revoked_here = keys.len() - usable;
                    if revoked_here > 0 {
                        why.push(format!("{revoked_here} of its keys are revoked"));
                    }
                    let why = if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", why.join(", "))
                    };
                    problems.push(format!(
                        "roots.{name}: `threshold` {threshold} can never be met by its \
                         {usable} usable distinct key(s){why}"
                    ));
                }
            }
            let mut time = |field: &str, value: &Option<String>| -> Option<i64> {
                let value = value.as_ref()?;
                match parse_time(value) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        problems.push(format!("roots.{name}.{field}: {e}"));
                        None
                    }
                }
            };
            let not_before = time("not_before", &root.not_before);
            let not_after = time("not_after", &root.not_after);
            if let (Some(a), Some(b)) = (not_before, not_after) {
                if a > b {
                    problems.push(format!("roots.{name}: `not_before` is after `not_after`"));
                }
            }
            roots.insert(
                name.clone(),
                TrustRoot {
                    name,
                    keys,
                    threshold: usize::try_from(threshold).unwrap_or(usize::MAX),
                    not_before,
                    not_after,
                },
            );
        }
        let mut rules = Vec::new();
        let mut patterns = BTreeSet::new();
        if raw.policy.is_empty() {
            problems.push(
                "no [[policy]] entries: every plugin would be rejected (add one with \
                 pattern = \"*\" to cover all plugins)"
                    .to_owned(),
            );
        }
        for (i, rule) in raw.policy.into_iter().enumerate() {
            let at = format!("policy[{i}] (pattern `{}`)", rule.pattern);
            if !patterns.insert(rule.pattern.clone()) {
                problems.push(format!("{at}: the same pattern appears twice"));
            }
            if rule.roots.is_empty() {
                problems.push(format!("{at}: `roots` is empty"));
            }
            for r in &rule.roots {
                if !roots.contains_key(r) {
                    problems.push(format!("{at}: unknown root `{r}`"));
                }
            }
            let mut require = BTreeSet::new();
            require.insert(Requirement::Signature);
            for r in &rule.require {
                match r.as_str() {
                    "signature" => {}
                    "sbom" => {
                        require.insert(Requirement::Sbom);
                    }
                    "abi" => {
                        require.insert(Requirement::Abi);
                    }
                    "audit" => {
                        require.insert(Requirement::Audit);
                    }
                    "audit-checked" => {
                        require.insert(Requirement::Audit);
                        require.insert(Requirement::AuditChecked);
                    }
                    "index-signature" => {
                        require.insert(Requirement::IndexSignature);
                    }
                    other => problems.push(format!(
                        "{at}: unknown requirement `{other}` (signature, sbom, abi, audit, audit-checked, index-signature)"
                    )),
                }
            }
            let max_age = match rule.max_age.as_deref().map(parse_duration) {
                None => None,
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    problems.push(format!("{at}: max_age {e}"));
                    None
                }
            };
            let level = match rule.level.as_deref() {
                None | Some("enforce") => Level::Enforce,
                Some("audit") => Level::Audit,
                Some(other) => {
                    problems.push(format!("{at}: level `{other}` is not enforce or audit"));
                    Level::Enforce
                }
            };
            rules.push(Rule {
                pattern: rule.pattern,
                roots: rule.roots,
                require,
                max_age,
                level,
            });
        }
        let state = match raw.state {
            None | Some(RawState::Enabled(false)) => None,
            Some(RawState::Enabled(true)) => Some(StateSetting::DefaultLocation),
            Some(RawState::Dir(dir)) if dir.trim().is_empty() => {
                problems.push(
                    "state: empty path (give a directory, or `true` for the default location)"
                        .to_owned(),
                );
                None
            }
            Some(RawState::Dir(dir)) => Some(StateSetting::Dir(base.join(dir))),
        };
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(Self {
            origin: origin.to_owned(),
            roots,
            revoked,
            rules,
            state,
        })
    }

    /// A policy trusting exactly these public key files (`--key`): one root, threshold 1,
    /// every plugin name, enforced.
    pub fn from_keys(paths: &[Utf8PathBuf]) -> Result<Self, Error> {
        if paths.is_empty() {
            return Err(Error::NoTrust);
        }
        let mut keys = BTreeMap::new();
        for path in paths {
            let key = PublicKey::load(path)?;
            keys.insert(key.key_id().clone(), key);
        }
        let mut roots = BTreeMap::new();
        roots.insert(
            "command-line".to_owned(),
            TrustRoot {
                name: "command-line".to_owned(),
                keys,
                threshold: 1,
                not_before: None,
                not_after: None,
            },
        );
        let mut require = BTreeSet::new();
        require.insert(Requirement::Signature);
        Ok(Self {
            origin: "--key".to_owned(),
            roots,
            revoked: BTreeSet::new(),
            rules: vec![Rule {
                pattern: "*".to_owned(),
                roots: vec!["command-line".to_owned()],
                require,
                max_age: None,
                level: Level::Enforce,
            }],
            state: None,
        })
    }

    /// The rule for a plugin name: the most specific matching pattern (an exact name beats
    /// any wildcard; then more literal characters; ties go to the lexically first pattern).
    pub fn rule_for(&self, name: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| glob_match(&r.pattern, name))
            .max_by(|a, b| {
                specificity(&a.pattern)
                    .cmp(&specificity(&b.pattern))
                    .then_with(|| b.pattern.cmp(&a.pattern))
            })
    }
}

/// Why the bundle does not meet `audit-checked`: one message per plugin manifest without an
/// audit report, and per audit report whose verdict is not one of
/// [`CHECKED_AUDIT_VERDICTS`] or whose content does not say `"advisories": "checked"` (older
/// bundles annotated `clean` without a database are caught by the latter).
pub(super) fn unchecked_audits(
    layout: &crate::oci::Layout,
    facts: &crate::sign::BundleFacts,
) -> Vec<String> {
    let mut problems = Vec::new();
    for target in &facts.targets {
        let audits: Vec<&crate::sign::AttachmentRef> = facts
            .attachments
            .iter()
            .filter(|a| a.kind == "audit" && a.subject == target.manifest)
            .collect();
        if audits.is_empty() {
            problems.push(format!(
                "the plugin manifest for {} has no audit report",
                target.target
            ));
        }
        for audit in audits {
            let verdict = audit.verdict.as_deref().unwrap_or("none");
            if !CHECKED_AUDIT_VERDICTS.contains(&verdict) {
                problems.push(format!(
                    "the audit of {} has the verdict `{verdict}`: its advisories were not checked against a usable database",
                    target.target
                ));
                continue;
            }
            let advisories = audit.content.iter().find_map(|d| {
                let bytes = layout.json_blob(d)?;
                let report: serde_json::Value = serde_json::from_slice(bytes).ok()?;
                report
                    .get("advisories")
                    .and_then(|a| a.as_str())
                    .map(str::to_owned)
            });
            if advisories.as_deref() != Some("checked") {
                problems.push(format!(
                    "the audit report of {} says advisories `{}`, not `checked`",
                    target.target,
                    advisories.as_deref().unwrap_or("unknown")
                ));
            }
        }
    }
    problems
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

fn specificity(pattern: &str) -> (bool, usize) {
    let wild = pattern.contains(['*', '?']);
    (
        !wild,
        pattern.chars().filter(|c| *c != '*' && *c != '?').count(),
    )
}

/// `*` matches any run of characters, `?` exactly one.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// `90d`, `12h`, `30m`, `45s`, `2w` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90d, 12h or 3600"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("`{text}` has an unknown unit (s, m, h, d, w)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("acme-*", "acme-x"));
        assert!(!glob_match("acme-*", "acm-x"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("*-plugin", "cdylib-plugin"));
        assert!(!glob_match("exact", "exactly"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d").unwrap(), 90 * 86_400);
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("d").is_err());
    }

    #[test]
    fn collects_every_problem() {
        let text = r#"
revoked = ["nothex"]
[roots.a]
keys = []
threshold = 0
not_before = "yesterday"
[[policy]]
pattern = "*"
roots = ["a", "missing"]
require = ["sbom", "magic"]
max_age = "3y"
level = "loud"
"#;
        let Err(Error::Policy { problems, .. }) = TrustPolicy::parse(text, "t", Utf8Path::new("."))
        else {
            panic!("accepted a bad policy");
        };
        assert_eq!(problems.len(), 8, "{problems:#?}");
    }

    #[test]
    fn audit_checked_implies_an_audit_attachment() {
        let text = r#"
[roots.a]
keys = ["-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAv1f6WZQWQ0O2blwUkYVPizbiJWEXA8ki3ROCgN4+hH8=\n-----END PUBLIC KEY-----\n"]
[[policy]]
pattern = "*"
roots = ["a"]
require = ["audit-checked"]
"#;
        let policy = TrustPolicy::parse(text, "t", Utf8Path::new(".")).unwrap();
        let require = &policy.rules[0].require;
        assert!(require.contains(&Requirement::AuditChecked));
        assert!(require.contains(&Requirement::Audit));
        assert_eq!(Requirement::AuditChecked.kind(), "audit");
        assert_eq!(
            serde_json::to_value(Requirement::AuditChecked).unwrap(),
            "audit-checked"
        );
        let Err(Error::Policy { problems, .. }) = TrustPolicy::parse(
            &text.replace("audit-checked", "audit-clean"),
            "t",
            Utf8Path::new("."),
        ) else {
            panic!("accepted an unknown requirement");
        };
        assert!(problems[0].contains("audit-checked"), "{problems:?}");
    }

    #[test]
    fn state_setting_is_a_directory_relative_to_the_policy_or_the_default_location() {
        let key = crate::sign::SecretKey::from_seed(&[1; 32]);
        let pem = key.public().to_pem().unwrap();
        let inline = |head: &str| {
            TrustPolicy::parse(
                &format!(
                    "{head}\n[roots.a]\nkeys = [\"\"\"\n{pem}\"\"\"]\n[[policy]]\npattern = \"*\"\nroots = [\"a\"]\n"
                ),
                "t",
                Utf8Path::new("/etc/host"),
            )
        };
        assert_eq!(inline("").unwrap().state, None);
        assert_eq!(inline("state = false").unwrap().state, None);
        assert_eq!(
            inline("state = true").unwrap().state,
            Some(StateSetting::DefaultLocation)
        );
        assert_eq!(
            inline("state = \"trust-state\"").unwrap().state,
            Some(StateSetting::Dir("/etc/host/trust-state".into()))
        );
        assert_eq!(
            inline("state = \"/var/lib/x\"").unwrap().state,
            Some(StateSetting::Dir("/var/lib/x".into()))
        );
        let Err(Error::Policy { problems, .. }) = inline("state = \"\"") else {
            panic!("accepted an empty state path");
        };
        assert!(
            problems.iter().any(|p| p.starts_with("state:")),
            "{problems:?}"
        );
        assert!(inline("state = 3").is_err());
    }

    #[test]
    fn a_threshold_its_distinct_keys_cannot_meet_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let a = crate::sign::SecretKey::from_seed(&[5u8; 32]);
        let b = crate::sign::SecretKey::from_seed(&[6u8; 32]);
        std::fs::write(base.join("a.pub"), a.public().to_pem().unwrap()).unwrap();
        std::fs::write(base.join("copy-of-a.pub"), a.public().to_pem().unwrap()).unwrap();
        std::fs::write(base.join("b.pub"), b.public().to_pem().unwrap()).unwrap();
        let policy = |root: &str| {
            let path = base.join("plugpack-trust.toml");
            std::fs::write(
                &path,
                format!("{root}\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n"),
            )
            .unwrap();
            TrustPolicy::load(&path)
        };
        // The same key twice (two files, one key) cannot meet a threshold of 2.
        let err = policy("[roots.main]\nkeys = [\"a.pub\", \"copy-of-a.pub\"]\nthreshold = 2\n")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("plugpack-trust.toml"), "{text}");
        let Error::Policy { problems, .. } = err else {
            panic!("{err:?}");
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("threshold` 2 can never be met")
                && problems[0].contains("2 entries name only 1 distinct key"),
            "{problems:?}"
        );
        // A revoked key does not count either.
        let revoked = format!(
            "revoked = [{:?}]\n[roots.main]\nkeys = [\"a.pub\", \"b.pub\"]\nthreshold = 2\n",
            b.public().key_id().0
        );
        let Err(Error::Policy { problems, .. }) = policy(&revoked) else {
            panic!("accepted an unmeetable threshold");
        };
        assert!(
            problems[0].contains("1 of its keys are revoked"),
            "{problems:?}"
        );
        // Two distinct keys meet 2.
        policy("[roots.main]\nkeys = [\"a.pub\", \"b.pub\"]\nthreshold = 2\n").unwrap();
    }

    #[test]
    fn policy_and_key_files_are_capped_and_must_be_regular() {
        // Issue 12 (4): no size cap used to mean `--key /dev/zero` grew without bound.
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let big = dir.join("plugpack-trust.toml");
        std::fs::write(&big, "# padding\n".repeat(120 * 1024)).unwrap();
        let err = TrustPolicy::load(&big).unwrap_err();
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(
            matches!(err, Error::ReadPolicy { .. }) && source.contains("1048576-byte limit"),
            "{err}: {source}"
        );
        let err = TrustPolicy::load(dir).unwrap_err();
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("not a regular file"), "{err}: {source}");

        let key = dir.join("big.pub");
        std::fs::write(&key, vec![b'A'; 100 * 1024]).unwrap();
        let err = TrustPolicy::from_keys(&[key]).unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(chain.contains("65536-byte limit"), "{chain}");
        #[cfg(unix)]
        {
            let err = TrustPolicy::from_keys(&["/dev/zero".into()]).unwrap_err();
            let chain = format!("{err}: {:?}", std::error::Error::source(&err));
            assert!(chain.contains("not a regular file"), "{chain}");
        }
    }

    #[test]
    fn empty_policy_is_an_error() {
        assert!(TrustPolicy::parse("", "t", Utf8Path::new(".")).is_err());
        assert!(matches!(TrustPolicy::from_keys(&[]), Err(Error::NoTrust)));
    }
}
