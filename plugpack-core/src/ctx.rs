//! [`Ctx`]: the one handle every stage gets for the outside world: an immutable snapshot of
//! the environment, the clock (`SOURCE_DATE_EPOCH`), the tools to run and the [`Reporter`]
//! that progress and warnings go through.
//!
//! Stages never read `std::env` or print themselves; that keeps them testable (a test builds
//! a `Ctx` from a fixed map and records what was reported) and keeps output in the CLI's hands.

use std::collections::BTreeMap;
use std::sync::Arc;
#[cfg(feature = "tool")]
use std::sync::Mutex;

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
    /// `done` of `total` bytes of the step started by [`Reporter::begin`] are through (a
    /// blob upload or download); the CLI draws a byte progress bar on a terminal.
    fn progress(&self, _done: u64, _total: u64) {}
}

/// A [`Reporter`] that drops everything (for library users that want silence).
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentReporter;

impl Reporter for SilentReporter {
    fn status(&self, _verb: &str, _message: &str) {}
    fn warn(&self, _message: &str) {}
}

/// A [`Reporter`] that holds status lines and warnings back until [`HeldReporter::release`]
/// passes them on (and everything after them), or [`HeldReporter::discard`] drops them:
/// `package` from a build record's plan runs the stages before it knows the plan is still
/// true, and a stale plan's lines must not reach the user next to the fresh run's.
/// Spinners and byte progress are dropped while held.
#[cfg(feature = "tool")]
pub(crate) struct HeldReporter {
    inner: Arc<dyn Reporter>,
    held: Mutex<Option<Vec<HeldLine>>>,
}

#[cfg(feature = "tool")]
enum HeldLine {
    Status(String, String),
    Warn(String),
}

#[cfg(feature = "tool")]
impl HeldReporter {
    /// Holds what is reported until released.
    pub(crate) fn new(inner: Arc<dyn Reporter>) -> Self {
        Self {
            inner,
            held: Mutex::new(Some(Vec::new())),
        }
    }

    /// Passes on what was held, in order, and everything from now on.
    pub(crate) fn release(&self) {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner()).take();
        for line in held.unwrap_or_default() {
            match line {
                HeldLine::Status(verb, message) => self.inner.status(&verb, &message),
                HeldLine::Warn(message) => self.inner.warn(&message),
            }
        }
    }

    /// Drops what was held; later lines are dropped too.
    pub(crate) fn discard(&self) {
        if let Some(held) = self.held.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            held.clear();
        }
    }

    /// True while lines are held (not yet released).
    fn holding(&self, line: impl FnOnce() -> HeldLine) -> bool {
        match self.held.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(held) => {
                held.push(line());
                true
            }
            None => false,
        }
    }
}

#[cfg(feature = "tool")]
impl Reporter for HeldReporter {
    fn status(&self, verb: &str, message: &str) {
        if !self.holding(|| HeldLine::Status(verb.to_owned(), message.to_owned())) {
            self.inner.status(verb, message);
        }
    }
    fn warn(&self, message: &str) {
        if !self.holding(|| HeldLine::Warn(message.to_owned())) {
            self.inner.warn(message);
        }
    }
    fn begin(&self, label: &str) {
        if self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            self.inner.begin(label);
        }
    }
    fn end(&self) {
        if self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            self.inner.end();
        }
    }
    fn progress(&self, done: u64, total: u64) {
        if self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            self.inner.progress(done, total);
        }
    }
}

/// Everything a stage may learn about its environment.
#[derive(Clone)]
pub struct Ctx {
    env: BTreeMap<String, String>,
    reporter: Arc<dyn Reporter>,
    #[cfg(feature = "tool")]
    rustc_answers: Arc<Mutex<BTreeMap<RustcQuery, RustcAnswer>>>,
}

/// A rustc query whose answer depends only on its inputs: the rustc, the directory it runs
/// in (a rustup toolchain file can select another rustc there) and the arguments.
#[cfg(feature = "tool")]
type RustcQuery = (String, String, Vec<String>);

/// A rustc answer as a build record keeps it (see `Ctx::toolchain_answers`).
#[cfg(feature = "tool")]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RustcAnswerRecord {
    /// The rustc asked (`$RUSTC` or `rustc`).
    pub rustc: String,
    /// The directory it ran in.
    pub dir: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its trimmed stdout.
    pub answer: String,
    /// For `-vV` of the default `rustc`: the toolchain's files that fix the answer
    /// (`<sysroot>/bin/rustc` and `<sysroot>/lib/librustc_driver-*`) with their stamps when it
    /// was given. While the sysroot is the same and none of them changed, the answer is the
    /// same without starting rustc (`Ctx::confirms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchanged_files: Vec<(String, crate::types::FileStamp)>,
}

/// The `rustup` executable behind the `rustc` that `path` (a `PATH` value) finds, when that `rustc` is a
/// rustup proxy (a link to `rustup`, as rustup installs its proxies); `None` otherwise.
#[cfg(all(feature = "tool", unix))]
fn rustup_behind_rustc(path: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // The first executable `rustc`, as `Command::new("rustc")` finds it.
    let rustc = std::env::split_paths(path)
        .map(|dir| dir.join("rustc"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })?;
    if std::fs::symlink_metadata(&rustc)
        .ok()?
        .file_type()
        .is_symlink()
    {
        let target = std::fs::canonicalize(&rustc).ok()?;
        return (target.file_name()? == "rustup").then_some(target);
    }
    // A hard link: the same file as the `rustup` beside it.
    let rustup = rustc.parent()?.join("rustup");
    let (a, b) = (
        std::fs::metadata(&rustc).ok()?,
        std::fs::metadata(&rustup).ok()?,
    );
    (a.dev() == b.dev() && a.ino() == b.ino()).then_some(rustup)
}

/// The sysroot of the rustc that the rustup proxy `rustc` runs in `dir`, from rustup's own
/// `rustup which rustc` (same toolchain resolution as the proxy: `RUSTUP_TOOLCHAIN`,
/// overrides, toolchain files, the default): a few milliseconds, where `rustc --print
/// sysroot` loads the compiler first. `None` when `rustc` is not a rustup proxy or rustup
/// cannot tell.
#[cfg(feature = "tool")]
fn rustup_sysroot(dir: &camino::Utf8Path) -> Option<String> {
    #[cfg(unix)]
    {
        let mut cmd = std::process::Command::new(rustup_behind_rustc(&std::env::var_os("PATH")?)?);
        cmd.args(["which", "rustc"]).current_dir(dir);
        let rustc = crate::process::stdout_string(&mut cmd).ok()?;
        let bin = std::path::Path::new(&rustc).parent()?;
        if bin.file_name()? != "bin" {
            return None;
        }
        bin.parent()?.to_str().map(str::to_owned)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// `<sysroot>/bin/rustc` and every `<sysroot>/lib/librustc_driver-*` with their stamps, or
/// nothing when either is missing (then nothing is vouched for).
#[cfg(feature = "tool")]
fn toolchain_files(sysroot: &str) -> Vec<(String, crate::types::FileStamp)> {
    let stamp = |path: &std::path::Path| {
        std::fs::File::open(path)
            .and_then(|f| crate::types::FileStamp::of(&f))
            .ok()
    };
    let root = std::path::Path::new(sysroot);
    let rustc = root.join("bin").join("rustc");
    let Some(rustc_stamp) = stamp(&rustc) else {
        return Vec::new();
    };
    let mut drivers: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("lib"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("librustc_driver-")
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    drivers.sort();
    let mut files = vec![(rustc.to_string_lossy().into_owned(), rustc_stamp)];
    for driver in drivers {
        match stamp(&driver) {
            Some(s) => files.push((driver.to_string_lossy().into_owned(), s)),
            None => return Vec::new(),
        }
    }
    if files.len() < 2 {
        return Vec::new();
    }
    files
}

/// `-vV` and `--print sysroot`: the questions a build asks before it starts cargo.
#[cfg(feature = "tool")]
fn is_toolchain_question(args: &[String]) -> bool {
    matches!(args, [a] if a == "-vV") || matches!(args, [a, b] if a == "--print" && b == "sysroot")
}

/// `--print cfg --target T FLAGS…`: fixed by the rustc build and toolchain (confirmed by the
/// toolchain questions) and the arguments, except for a target given as a JSON spec file
/// (its content can change) and flags naming the build machine's CPU (`native`), whose answer
/// depends on the machine a shared target directory was last used on.
#[cfg(feature = "tool")]
fn is_derived_question(args: &[String]) -> bool {
    matches!(args, [a, b, ..] if a == "--print" && b == "cfg")
        && !args
            .iter()
            .any(|a| a.ends_with(".json") || a.contains("native"))
}

/// The answer to a [`RustcQuery`] once asked (`None` while asked for the first time, or
/// after a failure, which is not remembered).
#[cfg(feature = "tool")]
type RustcAnswer = Arc<Mutex<Option<String>>>;

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
        Self::with_env(env, reporter)
    }

    /// A context with exactly these variables (tests, embedding hosts).
    pub fn with_env(env: BTreeMap<String, String>, reporter: Arc<dyn Reporter>) -> Self {
        Self {
            env,
            reporter,
            #[cfg(feature = "tool")]
            rustc_answers: Arc::default(),
        }
    }

    #[cfg(feature = "tool")]
    /// The trimmed stdout of `rustc ARGS` run in `dir`, asked once per context (and its
    /// clones): `rustc -vV`, `--print sysroot`, `--print cfg …` do not change within one run,
    /// and each costs a rustup proxy and a rustc start. Failures are not remembered.
    pub(crate) fn rustc_stdout(
        &self,
        dir: &camino::Utf8Path,
        args: &[String],
    ) -> Result<String, crate::process::ProcessError> {
        let key = (self.rustc(), dir.to_string(), args.to_vec());
        // One slot per question: a second thread asking the same while the first runs rustc
        // waits for its answer instead of starting another rustc.
        let slot = self.answer_slot(key.clone());
        let mut answer = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(answer) = answer.as_ref() {
            return Ok(answer.clone());
        }
        tracing::debug!(?args, %dir, "asking rustc");
        let mut cmd = std::process::Command::new(&key.0);
        cmd.args(args).current_dir(dir);
        let fresh = crate::process::stdout_string(&mut cmd)?;
        tracing::debug!(?args, "rustc answered");
        *answer = Some(fresh.clone());
        Ok(fresh)
    }

    /// This context reporting to `reporter` instead (the rustc answers stay shared).
    #[cfg(feature = "tool")]
    pub(crate) fn with_reporter(&self, reporter: Arc<dyn Reporter>) -> Self {
        Self {
            reporter,
            ..self.clone()
        }
    }

    /// The reporter itself, to wrap it.
    #[cfg(feature = "tool")]
    pub(crate) fn reporter_arc(&self) -> Arc<dyn Reporter> {
        Arc::clone(&self.reporter)
    }

    /// The `rustc -vV`, `--print sysroot` and `--print cfg` answers this context has, so a
    /// build record can keep them for [`Ctx::assuming_rustc_answers`] in a later run.
    #[cfg(feature = "tool")]
    pub(crate) fn toolchain_answers(&self) -> Vec<RustcAnswerRecord> {
        let answers = self.rustc_answers.lock().unwrap_or_else(|p| p.into_inner());
        let mut records = answers
            .iter()
            .filter(|((_, _, args), _)| is_toolchain_question(args) || is_derived_question(args))
            .filter_map(|((rustc, dir, args), slot)| {
                let answer = slot.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
                Some(RustcAnswerRecord {
                    rustc: rustc.clone(),
                    dir: dir.clone(),
                    args: args.clone(),
                    answer,
                    unchanged_files: Vec::new(),
                })
            })
            .collect::<Vec<_>>();
        drop(answers);
        // `-vV` of the default rustc: note the toolchain files behind the answer.
        let sysroot_of = |dir: &str| {
            records
                .iter()
                .find(|r| r.dir == dir && r.rustc == "rustc" && r.args == ["--print", "sysroot"])
                .map(|r| r.answer.clone())
        };
        let sysroots: Vec<Option<String>> = records
            .iter()
            .map(|r| {
                (r.rustc == "rustc" && r.args == ["-vV"])
                    .then(|| sysroot_of(&r.dir))
                    .flatten()
            })
            .collect();
        for (record, sysroot) in records.iter_mut().zip(sysroots) {
            if let Some(sysroot) = sysroot {
                record.unchanged_files = toolchain_files(&sysroot);
            }
        }
        records
    }

    /// A copy of this context whose rustc answers start as `assumed` (answers an earlier run
    /// recorded, for the rustc this context would run) instead of asking rustc: a build
    /// started from a build record's plan uses it to start cargo without waiting for two
    /// rustc runs through the rustup proxy. Whoever uses it must check the assumptions
    /// against this context's own answers afterwards ([`Ctx::confirms`]).
    #[cfg(feature = "tool")]
    pub(crate) fn assuming_rustc_answers(&self, assumed: &[RustcAnswerRecord]) -> Self {
        let rustc = self.rustc();
        let seeded: BTreeMap<RustcQuery, RustcAnswer> = assumed
            .iter()
            .filter(|a| {
                a.rustc == rustc && (is_toolchain_question(&a.args) || is_derived_question(&a.args))
            })
            .map(|a| {
                (
                    (a.rustc.clone(), a.dir.clone(), a.args.clone()),
                    Arc::new(Mutex::new(Some(a.answer.clone()))),
                )
            })
            .collect();
        Self {
            env: self.env.clone(),
            reporter: Arc::clone(&self.reporter),
            rustc_answers: Arc::new(Mutex::new(seeded)),
        }
    }

    /// Whether rustc, asked now through this context, gives the `-vV` and `--print sysroot`
    /// answers in `assumed` that [`Ctx::assuming_rustc_answers`] would have used: the same
    /// rustc build (`-vV` names its commit) in the same toolchain directory. The assumed
    /// `--print cfg` answers follow from those (see [`is_derived_question`]) and are not
    /// asked again.
    #[cfg(feature = "tool")]
    pub(crate) fn confirms(&self, assumed: &[RustcAnswerRecord]) -> bool {
        let rustc = self.rustc();
        let mut questions: Vec<&RustcAnswerRecord> = assumed
            .iter()
            .filter(|a| a.rustc == rustc && is_toolchain_question(&a.args))
            .collect();
        // The sysroot first: an unchanged `-vV` can then be vouched for by its files.
        questions.sort_by_key(|a| a.args != ["--print", "sysroot"]);
        questions.into_iter().all(|a| {
            let dir = camino::Utf8Path::new(&a.dir);
            if self.files_vouch_for(a) || self.rustup_vouches_for(a) {
                return true;
            }
            self.rustc_stdout(dir, &a.args)
                .is_ok_and(|now| now == a.answer)
        })
    }

    /// Whether `record` (a `--print sysroot` of the default rustc) still holds by rustup's
    /// word: `rustc` is a rustup proxy and `rustup which rustc` names `<sysroot>/bin/rustc`
    /// for the same sysroot. The answer is then kept as this context's own (and the `-vV`
    /// answer can be vouched for by that sysroot's files, [`Ctx::files_vouch_for`]).
    #[cfg(feature = "tool")]
    fn rustup_vouches_for(&self, record: &RustcAnswerRecord) -> bool {
        if record.rustc != "rustc"
            || self.rustc() != "rustc"
            || record.args != ["--print", "sysroot"]
        {
            return false;
        }
        self.take_answer_if(record, || {
            let named = rustup_sysroot(camino::Utf8Path::new(&record.dir));
            let same = named.as_deref() == Some(&record.answer);
            if same {
                tracing::debug!(sysroot = %record.answer, "rustup names the recorded toolchain");
            }
            same
        })
    }

    /// Whether `record` (a `-vV` of the default rustc) still holds without asking: this
    /// context already has the same sysroot answer for its directory and none of the files
    /// it names changed. The answer is then kept as this context's own.
    #[cfg(feature = "tool")]
    fn files_vouch_for(&self, record: &RustcAnswerRecord) -> bool {
        if record.unchanged_files.is_empty() || record.rustc != "rustc" || self.rustc() != "rustc" {
            return false;
        }
        let sysroot_q = ["--print".to_owned(), "sysroot".to_owned()];
        let known = |args: &[String]| -> Option<String> {
            let key = (self.rustc(), record.dir.clone(), args.to_vec());
            let slot = self
                .rustc_answers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&key)
                .cloned()?;
            slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
        };
        let Some(sysroot) = known(&sysroot_q) else {
            return false;
        };
        self.take_answer_if(record, || {
            toolchain_files(&sysroot) == record.unchanged_files
        })
    }

    /// The answer slot of `record`'s question: when it already holds an answer, whether that
    /// is `record`'s; else, when `holds` says so, `record`'s answer becomes this context's
    /// own. The slot stays locked meanwhile, so a thread asking rustc the same question
    /// waits for the verdict.
    #[cfg(feature = "tool")]
    fn take_answer_if(&self, record: &RustcAnswerRecord, holds: impl FnOnce() -> bool) -> bool {
        let slot = self.answer_slot((self.rustc(), record.dir.clone(), record.args.clone()));
        let mut answer = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(now) = answer.as_ref() {
            return *now == record.answer;
        }
        if !holds() {
            return false;
        }
        *answer = Some(record.answer.clone());
        true
    }

    /// The slot for one rustc question (created empty when new).
    #[cfg(feature = "tool")]
    fn answer_slot(&self, key: RustcQuery) -> RustcAnswer {
        Arc::clone(
            self.rustc_answers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_default(),
        )
    }

    /// Takes over every rustc answer `other` has (after [`Ctx::confirms`] showed that its
    /// assumptions hold for this context), so a build record written with this context
    /// keeps them for the next run.
    #[cfg(feature = "tool")]
    pub(crate) fn adopt_rustc_answers(&self, other: &Ctx) {
        let theirs: Vec<(RustcQuery, String)> = {
            let map = other
                .rustc_answers
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            map.iter()
                .filter_map(|(k, slot)| {
                    let answer = slot.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
                    Some((k.clone(), answer))
                })
                .collect()
        };
        let mut ours = self.rustc_answers.lock().unwrap_or_else(|p| p.into_inner());
        for (key, answer) in theirs {
            let slot = ours.entry(key).or_default();
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(answer);
            }
        }
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

#[cfg(all(test, unix, feature = "tool"))]
mod tests {
    use super::*;

    /// Each rustc query runs once per context and its clones (issue 12: no repeated
    /// `rustc -vV` / `--print cfg` when a run builds twice, e.g. with a debuginfo companion);
    /// another directory or other arguments are asked again. A real rustc answers, behind a
    /// wrapper that logs each start.
    #[test]
    fn rustc_queries_run_once_per_context() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dir = camino::Utf8Path::from_path(dir.path()).unwrap().to_owned();
        let log = dir.join("starts.log");
        let wrapper = dir.join("rustc-wrapper");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\necho \"$*\" >> '{log}'\nexec rustc \"$@\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = BTreeMap::from([("RUSTC".to_owned(), wrapper.to_string())]);
        let ctx = Ctx::with_env(env, Arc::new(SilentReporter));
        let vv = ["-vV".to_owned()];
        let first = ctx.rustc_stdout(&dir, &vv).unwrap();
        assert!(first.starts_with("rustc "), "{first}");
        assert_eq!(ctx.clone().rustc_stdout(&dir, &vv).unwrap(), first);
        let cfg = ["--print", "cfg"].map(str::to_owned);
        let a = ctx.rustc_stdout(&dir, &cfg).unwrap();
        assert_eq!(ctx.rustc_stdout(&dir, &cfg).unwrap(), a);
        let starts = std::fs::read_to_string(&log).unwrap();
        assert_eq!(starts.lines().collect::<Vec<_>>(), ["-vV", "--print cfg"]);
        // A fresh context asks again.
        let fresh = Ctx::with_env(ctx.env.clone(), Arc::new(SilentReporter));
        fresh.rustc_stdout(&dir, &vv).unwrap();
        let starts = std::fs::read_to_string(&log).unwrap();
        assert_eq!(starts.lines().count(), 3);
    }

    /// A context assuming recorded answers does not run rustc for them, and `confirms`
    /// holds only while rustc still gives exactly those answers; an answer recorded for
    /// another rustc is not assumed. Two threads asking one question start rustc once.
    #[test]
    fn assumed_rustc_answers_are_used_then_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dir = camino::Utf8Path::from_path(dir.path()).unwrap().to_owned();
        let log = dir.join("starts.log");
        let sysroot = dir.join("sysroot.txt");
        std::fs::write(&sysroot, "/toolchains/one").unwrap();
        let fake = dir.join("fake-rustc");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{log}'\nsleep 0.2\ncase \"$1\" in\n  -vV) echo 'rustc 9.9.9'; echo 'host: x86_64-unknown-linux-gnu' ;;\n  *) cat '{sysroot}' ;;\nesac\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = BTreeMap::from([("RUSTC".to_owned(), fake.to_string())]);
        let ctx = Ctx::with_env(env, Arc::new(SilentReporter));
        let starts = || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .count()
        };
        let sysroot_q = ["--print", "sysroot"].map(str::to_owned);
        let record = |args: &[String], answer: &str| RustcAnswerRecord {
            rustc: fake.to_string(),
            dir: dir.to_string(),
            args: args.to_vec(),
            answer: answer.to_owned(),
            unchanged_files: Vec::new(),
        };
        let assumed = vec![
            record(&sysroot_q, "/toolchains/one"),
            RustcAnswerRecord {
                rustc: "another-rustc".to_owned(),
                ..record(&["-vV".to_owned()], "rustc 0.0.0")
            },
        ];
        let planning = ctx.assuming_rustc_answers(&assumed);
        assert_eq!(
            planning.rustc_stdout(&dir, &sysroot_q).unwrap(),
            "/toolchains/one"
        );
        assert_eq!(starts(), 0, "an assumed answer ran rustc");
        // The answer recorded for another rustc is not assumed: this one is asked.
        assert!(
            planning
                .rustc_stdout(&dir, &["-vV".to_owned()])
                .unwrap()
                .starts_with("rustc 9.9.9")
        );
        assert_eq!(starts(), 1);
        // Two threads asking the same question of a fresh context: one rustc start.
        std::thread::scope(|s| {
            let a = s.spawn(|| ctx.rustc_stdout(&dir, &sysroot_q).unwrap());
            let b = s.spawn(|| ctx.rustc_stdout(&dir, &sysroot_q).unwrap());
            assert_eq!(a.join().unwrap(), b.join().unwrap());
        });
        assert_eq!(starts(), 2);
        assert!(ctx.confirms(&assumed));
        // The toolchain moved: the fresh context no longer confirms the assumption.
        std::fs::write(&sysroot, "/toolchains/two").unwrap();
        let fresh = Ctx::with_env(ctx.env.clone(), Arc::new(SilentReporter));
        assert!(!fresh.confirms(&assumed));
    }

    /// The variables that pick the real toolchain (`PATH`, `HOME`, `RUSTUP_*`).
    fn toolchain_env() -> BTreeMap<String, String> {
        std::env::vars()
            .filter(|(k, _)| k == "PATH" || k == "HOME" || k.starts_with("RUSTUP"))
            .collect()
    }

    /// Recorded answers of the default rustc in `dir`: `sysroot`, and a `-vV` that is not
    /// rustc's real one (a started rustc would contradict it) with `files` behind it.
    fn vouched_records(
        dir: &camino::Utf8Path,
        sysroot: &str,
        files: Vec<(String, crate::types::FileStamp)>,
    ) -> Vec<RustcAnswerRecord> {
        let record = |args: &[&str], answer: &str, unchanged_files| RustcAnswerRecord {
            rustc: "rustc".to_owned(),
            dir: dir.to_string(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            answer: answer.to_owned(),
            unchanged_files,
        };
        vec![
            record(&["--print", "sysroot"], sysroot, Vec::new()),
            record(&["-vV"], "rustc 0.0.0-vouched", files),
        ]
    }

    /// A `rustc` that is a link (symbolic or hard) to `rustup` is a rustup proxy; another
    /// `rustc`, or one `exec` would skip (not executable), is not taken for one.
    #[test]
    fn a_rustup_proxy_is_known_by_its_link_to_rustup() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let script = |path: &std::path::Path, mode: u32| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        let path_of =
            |dirs: &[&str]| std::env::join_paths(dirs.iter().map(|d| dir.join(d))).unwrap();
        script(&dir.join("sym/rustup"), 0o755);
        std::os::unix::fs::symlink("rustup", dir.join("sym/rustc")).unwrap();
        script(&dir.join("hard/rustup"), 0o755);
        std::fs::hard_link(dir.join("hard/rustup"), dir.join("hard/rustc")).unwrap();
        script(&dir.join("plain/rustup"), 0o755);
        script(&dir.join("plain/rustc"), 0o755);
        script(&dir.join("noexec/rustc"), 0o644);
        let canonical = |p: &str| std::fs::canonicalize(dir.join(p)).unwrap();
        assert_eq!(
            rustup_behind_rustc(&path_of(&["sym"])),
            Some(canonical("sym/rustup"))
        );
        assert_eq!(
            rustup_behind_rustc(&path_of(&["hard"])),
            Some(dir.join("hard/rustup"))
        );
        assert_eq!(rustup_behind_rustc(&path_of(&["plain", "sym"])), None);
        assert_eq!(
            rustup_behind_rustc(&path_of(&["empty", "noexec", "sym"])),
            Some(canonical("sym/rustup"))
        );
    }

    /// On this machine (rustup-managed, as `.ci/run` sets it up) `rustup which rustc` names
    /// the sysroot `rustc --print sysroot` reports, so a recorded sysroot is confirmed by
    /// rustup's word, and the recorded `-vV` then by the toolchain files; a record naming
    /// another sysroot is not confirmed (by rustup, nor then by rustc).
    #[test]
    fn rustup_confirms_the_recorded_toolchain_without_starting_rustc() {
        let dir = tempfile::tempdir().unwrap();
        let dir = camino::Utf8Path::from_path(dir.path()).unwrap().to_owned();
        if rustup_behind_rustc(&std::env::var_os("PATH").unwrap()).is_none() {
            assert!(
                std::env::var_os("PLUGPACK_INTEROP").is_none(),
                "PLUGPACK_INTEROP=1: the rustc on PATH is not a rustup proxy"
            );
            return;
        }
        let env = toolchain_env();
        let ctx = Ctx::with_env(env.clone(), Arc::new(SilentReporter));
        let sysroot_q = ["--print", "sysroot"].map(str::to_owned);
        let sysroot = ctx.rustc_stdout(&dir, &sysroot_q).unwrap();
        assert_eq!(rustup_sysroot(&dir).as_deref(), Some(sysroot.as_str()));
        let assumed = |sysroot: &str| vouched_records(&dir, sysroot, toolchain_files(sysroot));
        let fresh = Ctx::with_env(env.clone(), Arc::new(SilentReporter));
        let recorded = assumed(&sysroot);
        // rustup's word alone (no rustc run) takes the sysroot ...
        assert!(fresh.rustup_vouches_for(&recorded[0]));
        assert_eq!(fresh.rustc_stdout(&dir, &sysroot_q).unwrap(), sysroot);
        // ... and the files then the `-vV` (a started rustc would contradict it).
        assert!(fresh.confirms(&recorded));
        assert_eq!(
            fresh.rustc_stdout(&dir, &["-vV".to_owned()]).unwrap(),
            "rustc 0.0.0-vouched"
        );
        let fresh = Ctx::with_env(env, Arc::new(SilentReporter));
        let elsewhere = assumed(&format!("{sysroot}-elsewhere"));
        assert!(!fresh.rustup_vouches_for(&elsewhere[0]));
        assert!(!fresh.confirms(&elsewhere));
    }

    /// `-vV` of the default rustc is vouched for by its toolchain's files: with the same
    /// sysroot and unchanged `bin/rustc` and `librustc_driver`, the recorded answer holds
    /// without starting rustc (here it is deliberately not rustc's real answer, which a
    /// started rustc would contradict); with any of those files different, rustc is asked.
    #[test]
    fn unchanged_toolchain_files_vouch_for_the_version_answer() {
        let dir = tempfile::tempdir().unwrap();
        let dir = camino::Utf8Path::from_path(dir.path()).unwrap().to_owned();
        let env = toolchain_env();
        let ctx = Ctx::with_env(env.clone(), Arc::new(SilentReporter));
        let sysroot_q = ["--print", "sysroot"].map(str::to_owned);
        let sysroot = ctx.rustc_stdout(&dir, &sysroot_q).unwrap();
        let files = toolchain_files(&sysroot);
        assert!(files.len() >= 2, "no rustc and driver under {sysroot}");
        let assumed = |files| vouched_records(&dir, &sysroot, files);
        let fresh = Ctx::with_env(env.clone(), Arc::new(SilentReporter));
        assert!(fresh.confirms(&assumed(files.clone())));
        assert_eq!(
            fresh.rustc_stdout(&dir, &["-vV".to_owned()]).unwrap(),
            "rustc 0.0.0-vouched",
            "the vouched answer is kept"
        );
        // Another stamp for the driver: rustc is asked, and contradicts the record.
        let other = dir.join("other");
        std::fs::write(&other, b"x").unwrap();
        let mut changed = files;
        changed[1].1 = crate::types::FileStamp::of(&std::fs::File::open(&other).unwrap()).unwrap();
        let fresh = Ctx::with_env(env, Arc::new(SilentReporter));
        assert!(!fresh.confirms(&assumed(changed)));
    }
}
