//! Running external programs (cargo, rustc, git). One helper so that every failure names
//! the full command line, and stdout capture is done the same way everywhere.

use std::process::{Command, ExitStatus, Output};

/// A command that could not be run or did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The program could not be started at all (missing from PATH, not executable).
    #[error("could not run `{command}`")]
    Spawn {
        /// The full command line.
        command: String,
        /// Why the OS refused.
        #[source]
        source: std::io::Error,
    },
    /// The program ran and exited unsuccessfully.
    #[error("`{command}` failed ({status}){}", stderr_suffix(.stderr))]
    Failed {
        /// The full command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr, when captured.
        stderr: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(": {trimmed}")
    }
}

/// Renders a command line for messages.
pub fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        if a.contains(' ') {
            format!("'{a}'")
        } else {
            a.into_owned()
        }
    }));
    parts.join(" ")
}

/// Runs `cmd` to completion, capturing stdout and stderr; non-zero exit is an error.
pub fn output(cmd: &mut Command) -> Result<Output, ProcessError> {
    let command = describe(cmd);
    let out = cmd.output().map_err(|source| ProcessError::Spawn {
        command: command.clone(),
        source,
    })?;
    if !out.status.success() {
        return Err(ProcessError::Failed {
            command,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(out)
}

/// Runs `git -C dir ARGS` for a read-only question and returns its trimmed stdout; `None`
/// when git is missing, fails, or prints nothing. `GIT_OPTIONAL_LOCKS=0`: a `git status`
/// asked by plugpack never rewrites the repository's index, so it cannot get in the way of
/// the user's own git commands (or a `db update`) running at the same time.
pub fn git_stdout(dir: &camino::Utf8Path, args: &[&str]) -> Option<String> {
    stdout_string(&mut git_command(dir, args))
        .ok()
        .filter(|s| !s.is_empty())
}

/// `git -C dir ARGS` with `GIT_OPTIONAL_LOCKS=0` (see [`git_stdout`]).
pub fn git_command(dir: &camino::Utf8Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0");
    cmd
}

/// Runs `cmd` and returns its trimmed stdout as UTF-8 (lossy).
pub fn stdout_string(cmd: &mut Command) -> Result<String, ProcessError> {
    let out = output(cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
