//! [`Ctx`]: the one handle every stage gets for the outside world: an immutable snapshot of
//! the environment, the clock (`SOURCE_DATE_EPOCH`), the tools to run and the [`Reporter`]
//! that progress and warnings go through.
//!
//! Stages never read `std::env` or print themselves; that keeps them testable (a test builds
//! a `Ctx` from a fixed map and records what was reported) and keeps output in the CLI's hands.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Receives progress and warnings from the library. The CLI renders them in cargo's style;
/// tests record them.
pub trait Reporter: Send + Sync {
    /// A status line such as `Packaging foo v0.1.0`: `verb` is one word, right-aligned by the CLI.
    fn status(&self, verb: &str, message: &str);
    /// Something the user should know about but that does not stop the work.
    fn warn(&self, message: &str);
    /// A long step starts (the CLI shows a spinner on a terminal); ended by [`Reporter::end`].
    fn begin(&self, _label: &str) {}
    /// The step started by [`Reporter::begin`] ended.
    fn end(&self) {}
}

/// A [`Reporter`] that drops everything (for library users that want silence).
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentReporter;

impl Reporter for SilentReporter {
    fn status(&self, _verb: &str, _message: &str) {}
    fn warn(&self, _message: &str) {}
}

/// Everything a stage may learn about its environment.
#[derive(Clone)]
pub struct Ctx {
    env: BTreeMap<String, String>,
    reporter: Arc<dyn Reporter>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("env_vars", &self.env.len())
            .finish()
    }
}

/// Why `SOURCE_DATE_EPOCH` could not be used.
#[derive(Debug, thiserror::Error)]
#[error("SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 (got `{0}`)")]
pub struct BadSourceDateEpoch(pub String);

impl Ctx {
    /// Snapshots the process environment (the only place the library reads it).
    #[allow(clippy::disallowed_methods)]
    pub fn from_process_env(reporter: Arc<dyn Reporter>) -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self { env, reporter }
    }

    /// A context with exactly these variables (tests, embedding hosts).
    pub fn with_env(env: BTreeMap<String, String>, reporter: Arc<dyn Reporter>) -> Self {
        Self { env, reporter }
    }

    /// The value of an environment variable in the snapshot.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }

    /// Every variable of the snapshot (for resolvers that read many, such as cargo's
    /// configuration).
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The cargo to run: `$CARGO` (set by cargo for subcommands) or `cargo` on `PATH`.
    pub fn cargo(&self) -> String {
        self.var("CARGO").unwrap_or("cargo").to_owned()
    }

    /// The rustc to ask about versions and targets: `$RUSTC` or `rustc`.
    pub fn rustc(&self) -> String {
        self.var("RUSTC").unwrap_or("rustc").to_owned()
    }

    /// `SOURCE_DATE_EPOCH`, when set.
    pub fn source_date_epoch(&self) -> Result<Option<i64>, BadSourceDateEpoch> {
        match self.var("SOURCE_DATE_EPOCH") {
            None => Ok(None),
            Some(raw) if raw.trim().is_empty() => Ok(None),
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .map(Some)
                .ok_or_else(|| BadSourceDateEpoch(raw.to_owned())),
        }
    }

    /// Where progress and warnings go.
    pub fn reporter(&self) -> &dyn Reporter {
        self.reporter.as_ref()
    }
}
