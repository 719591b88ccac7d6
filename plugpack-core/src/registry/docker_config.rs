//! Credentials from the Docker config file (`$DOCKER_CONFIG/config.json`, else
//! `$HOME/.docker/config.json`), as the docker CLI reads them: `credHelpers[host]`, else
//! `credsStore`, else `auths`. Helpers (`docker-credential-<name> get`, the host on stdin)
//! run as the docker CLI runs them.

use std::io::Write;
use std::process::{Command, Stdio};

use base64ct::{Base64, Encoding};
use camino::Utf8PathBuf;

use super::{Credentials, Error};
use crate::Ctx;

fn config_path(ctx: &Ctx) -> Option<Utf8PathBuf> {
    if let Some(dir) = ctx.var("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(Utf8PathBuf::from(dir).join("config.json"));
    }
    ctx.var("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| Utf8PathBuf::from(home).join(".docker/config.json"))
}

/// `https://host/v1/` → `host`: the form `auths` keys are compared in.
fn normalize(key: &str) -> &str {
    let rest = key.split_once("://").map_or(key, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

fn problem(path: &Utf8PathBuf, problem: impl Into<String>) -> Error {
    Error::Credentials {
        source_name: path.to_string(),
        problem: problem.into(),
    }
}

/// Credentials for `registry` (`host[:port]`) from the Docker config file, or `None` when
/// the file does not exist or has none for it. Docker Hub's `index.docker.io` key is used
/// for `docker.io` and `registry-1.docker.io`.
pub fn docker_config_credentials(ctx: &Ctx, registry: &str) -> Result<Option<Credentials>, Error> {
    let Some(path) = config_path(ctx) else {
        return Ok(None);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(problem(&path, format!("cannot read it ({e})"))),
    };
    let config: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| problem(&path, format!("not JSON ({e})")))?;
    let hub = matches!(
        registry,
        "docker.io" | "registry-1.docker.io" | "index.docker.io"
    );
    let host_matches = |key: &str| {
        let key = normalize(key);
        key == registry || (hub && key == "index.docker.io")
    };
    let helper = config
        .get("credHelpers")
        .and_then(|h| h.as_object())
        .and_then(|h| h.iter().find(|(k, _)| host_matches(k)))
        .and_then(|(_, v)| v.as_str())
        .or_else(|| config.get("credsStore").and_then(|s| s.as_str()))
        .filter(|s| !s.is_empty());
    if let Some(helper) = helper {
        let server = if hub {
            "https://index.docker.io/v1/"
        } else {
            registry
        };
        return run_helper(helper, server);
    }
    let Some((_, entry)) = config
        .get("auths")
        .and_then(|a| a.as_object())
        .and_then(|a| a.iter().find(|(k, _)| host_matches(k)))
    else {
        return Ok(None);
    };
    if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
        let decoded = Base64::decode_vec(auth)
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| problem(&path, format!("`auths.{registry}.auth` is not base64")))?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| {
            problem(
                &path,
                format!("`auths.{registry}.auth` is not user:password"),
            )
        })?;
        return Ok(Some(Credentials::new(user, password)));
    }
    match (
        entry.get("username").and_then(|u| u.as_str()),
        entry.get("password").and_then(|p| p.as_str()),
    ) {
        (Some(u), Some(p)) => Ok(Some(Credentials::new(u, p))),
        _ => Ok(None),
    }
}

/// `docker-credential-<helper> get` with the server on stdin; `{"Username","Secret"}` out.
fn run_helper(helper: &str, server: &str) -> Result<Option<Credentials>, Error> {
    let program = format!("docker-credential-{helper}");
    let fail = |problem: String| Error::Credentials {
        source_name: program.clone(),
        problem,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot run it ({e})")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| fail(format!("cannot write to it ({e})")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("it did not finish ({e})")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The protocol's "not found" answer (on stdout) means: no credentials, go anonymous.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!("`get` failed ({})", out.status)));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    // Never quote the output: it holds the secret.
    let answer: Answer = serde_json::from_slice(&out.stdout)
        .map_err(|_| fail("its answer is not {\"Username\",\"Secret\"} JSON".to_owned()))?;
    if answer.username == "<token>" {
        return Err(fail(
            "it returned an identity token (OAuth2 refresh tokens are not supported)".to_owned(),
        ));
    }
    Ok(Some(Credentials::new(answer.username, answer.secret)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::SilentReporter;

    fn ctx_with(dir: &std::path::Path) -> Ctx {
        let mut env = BTreeMap::new();
        env.insert("DOCKER_CONFIG".to_owned(), dir.display().to_string());
        Ctx::with_env(env, Arc::new(SilentReporter))
    }

    #[test]
    fn reads_auths_in_both_encodings_and_key_forms() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let auth = Base64::encode_string(b"alice:pa:ss");
        let config = format!(
            r#"{{"auths":{{"https://ghcr.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"username":"bob","password":"pw"}}}}}}"#
        );
        std::fs::write(dir.path().join("config.json"), config)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let ctx = ctx_with(dir.path());
        let c = docker_config_credentials(&ctx, "ghcr.io")
            .unwrap_or_else(|e| unreachable!("{e}"))
            .unwrap_or_else(|| unreachable!("no credentials"));
        assert_eq!((c.username(), c.password_for_test()), ("alice", "pa:ss"));
        let c = docker_config_credentials(&ctx, "127.0.0.1:5000")
            .unwrap_or_else(|e| unreachable!("{e}"))
            .unwrap_or_else(|| unreachable!("no credentials"));
        assert_eq!((c.username(), c.password_for_test()), ("bob", "pw"));
        assert!(
            docker_config_credentials(&ctx, "quay.io")
                .unwrap_or_else(|e| unreachable!("{e}"))
                .is_none()
        );
    }

    #[test]
    fn missing_config_is_anonymous_and_bad_json_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let ctx = ctx_with(dir.path());
        assert!(matches!(
            docker_config_credentials(&ctx, "ghcr.io"),
            Ok(None)
        ));
        std::fs::write(dir.path().join("config.json"), "{nope")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(docker_config_credentials(&ctx, "ghcr.io").is_err());
    }
}
