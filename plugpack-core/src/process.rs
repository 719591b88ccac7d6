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

/// Runs `cmd` and returns its trimmed stdout as UTF-8 (lossy).
pub fn stdout_string(cmd: &mut Command) -> Result<String, ProcessError> {
    let out = output(cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
