//! A small blocking client for the OCI distribution API on `ureq`.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::Duration;

use base64ct::{Base64, Encoding};
use ureq::http::Response;
use ureq::{Agent, Body, SendBody};

#[path = "chunked.rs"]
mod chunked;

use super::reference::{Reference, host_of};
use super::{Error, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use crate::types::{HashingReader, Sha256Digest};

/// Largest manifest or index accepted (the distribution spec's recommended limit).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
/// Largest token or error document read.
const MAX_SMALL: u64 = 1024 * 1024;
/// How many times a request without a streamed body is retried on 5xx, 429 or a broken
/// connection.
const RETRIES: u32 = 3;

/// Registry credentials. `Debug` never shows the password.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// A user name and password (or token, e.g. `GITHUB_TOKEN` for ghcr.io).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    #[cfg(test)]
    pub(super) fn password_for_test(&self) -> &str {
        &self.password
    }

    fn basic(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!("Basic {}", Base64::encode_string(raw.as_bytes()))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to reach the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// HTTPS (the default).
    #[default]
    Https,
    /// Plain HTTP, allowed only for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`).
    InsecureLoopback,
    /// Plain HTTP to any host (an explicit opt-in: credentials and content travel unprotected).
    InsecureAnyHost,
}

/// Options of [`Client::connect`].
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// HTTPS or plain HTTP to loopback.
    pub transport: Transport,
    /// Credentials; anonymous when `None`.
    pub credentials: Option<Credentials>,
}

/// A connection to one repository of one registry.
pub struct Client {
    agent: Agent,
    base: String,
    registry: String,
    repository: String,
    credentials: Option<Credentials>,
    /// The `Authorization` value that last worked (Basic or Bearer); never shown.
    authorization: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("repository", &self.repository)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A request body that can be sent again after an auth challenge or a retry.
#[derive(Clone, Copy)]
enum Replayable<'a> {
    None,
    Bytes(&'a [u8]),
}

impl Client {
    /// Pings `/v2/` of `reference`'s registry and returns a client for its repository.
    /// Plain HTTP is refused unless `options.transport` allows it and the host is loopback.
    pub fn connect(reference: &Reference, options: ClientOptions) -> Result<Self, Error> {
        let scheme = match options.transport {
            Transport::Https => "https",
            Transport::InsecureLoopback => {
                if !is_loopback(host_of(&reference.registry)) {
                    return Err(Error::Insecure(format!(
                        "--insecure (plain HTTP) is only allowed for loopback hosts, not `{}` (--insecure-any-host allows it)",
                        reference.registry
                    )));
                }
                "http"
            }
            Transport::InsecureAnyHost => "http",
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .https_only(scheme == "https")
            .timeout_connect(Some(Duration::from_secs(30)))
            .user_agent(concat!("plugpack/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut client = Self {
            agent: Agent::new_with_config(config),
            base: format!("{scheme}://{}", reference.registry),
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            credentials: options.credentials,
            authorization: None,
        };
        let resp = client.send("GET", "/v2/", &[], Replayable::None, "ping /v2/")?;
        client.expect(resp, &[200], "ping /v2/")?;
        Ok(client)
    }

    /// The registry host (with port).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn transport_error(&self, operation: &str, e: &ureq::Error) -> Error {
        Error::Transport {
            registry: self.registry.clone(),
            operation: operation.to_owned(),
            message: e.to_string(),
        }
    }

    fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Replayable<'_>,
        authorization: Option<&str>,
    ) -> Result<Response<Body>, ureq::Error> {
        let mut builder = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, v.as_str());
        }
        if let Some(a) = authorization {
            builder = builder.header("Authorization", a);
        }
        match body {
            Replayable::None => {
                let request = builder.body(()).map_err(ureq::Error::from)?;
                self.agent.run(request)
            }
            Replayable::Bytes(bytes) => {
                let request = builder.body(bytes).map_err(ureq::Error::from)?;
                self.agent.run(request)
            }
        }
    }

    /// Sends a request with a replayable body: answers an auth challenge once and retries
    /// 5xx/429/broken connections with backoff (honouring `Retry-After`).
    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Replayable<'_>,
        operation: &str,
    ) -> Result<Response<Body>, Error> {
        let url = self.url(path);
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            let result = self.call(method, &url, headers, body, self.authorization.as_deref());
            let resp = match result {
                Ok(resp) => resp,
                Err(e) if attempt < RETRIES && is_transient(&e) => {
                    attempt += 1;
                    std::thread::sleep(backoff(attempt, None));
                    continue;
                }
                Err(e) => return Err(self.transport_error(operation, &e)),
            };
            let status = resp.status().as_u16();
            if status == 401 && !challenged {
                if let Some(challenge) = header(&resp, "www-authenticate") {
                    challenged = true;
                    self.authorize(&challenge, operation)?;
                    continue;
                }
            }
            if (status == 429 || status >= 500) && attempt < RETRIES {
                attempt += 1;
                let after = header(&resp, "retry-after").and_then(|v| v.trim().parse().ok());
                std::thread::sleep(backoff(attempt, after));
                continue;
            }
            return Ok(resp);
        }
    }

    /// Answers a `WWW-Authenticate` challenge: Basic with the credentials, or the Bearer
    /// token flow (credentials, if any, sent to the token realm with Basic).
    fn authorize(&mut self, challenge: &str, operation: &str) -> Result<(), Error> {
        let (scheme, params) = challenge.trim().split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            self.authorization = self.credentials.as_ref().map(Credentials::basic);
            return Ok(());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::Unsupported {
                registry: self.registry.clone(),
                what: operation.to_owned(),
                problem: format!("unsupported authentication scheme `{scheme}`"),
            });
        }
        let params = parse_challenge(params);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let realm = get("realm").ok_or_else(|| Error::Unsupported {
            registry: self.registry.clone(),
            what: operation.to_owned(),
            problem: "Bearer challenge without a realm".to_owned(),
        })?;
        let mut url = realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for key in ["service", "scope"] {
            if let Some(v) = get(key) {
                url.push(sep);
                url.push_str(key);
                url.push('=');
                url.push_str(&percent_encode(&v));
                sep = '&';
            }
        }
        let basic = self.credentials.as_ref().map(Credentials::basic);
        let token_op = format!("{operation} (token from {})", host_of_url(&realm));
        let mut resp = self
            .call("GET", &url, &[], Replayable::None, basic.as_deref())
            .map_err(|e| self.transport_error(&token_op, &e))?;
        if resp.status().as_u16() != 200 {
            return Err(self.status_error(resp, &token_op));
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_SMALL)
            .read_to_vec()
            .map_err(|e| self.transport_error(&token_op, &e))?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&bytes).map_err(|e| Error::Unsupported {
            registry: self.registry.clone(),
            what: token_op.clone(),
            problem: format!("the token response is not JSON ({e})"),
        })?;
        let token = token
            .token
            .or(token.access_token)
            .ok_or_else(|| Error::Unsupported {
                registry: self.registry.clone(),
                what: token_op,
                problem: "the token response holds no token".to_owned(),
            })?;
        self.authorization = Some(format!("Bearer {token}"));
        Ok(())
    }

    fn status_error(&self, mut resp: Response<Body>, operation: &str) -> Error {
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_SMALL)
            .read_to_vec()
            .unwrap_or_default();
        Error::Status {
            registry: self.registry.clone(),
            operation: operation.to_owned(),
            status,
            detail: error_detail(&bytes),
        }
    }

    fn expect(
        &self,
        resp: Response<Body>,
        ok: &[u16],
        operation: &str,
    ) -> Result<Response<Body>, Error> {
        if ok.contains(&resp.status().as_u16()) {
            Ok(resp)
        } else {
            Err(self.status_error(resp, operation))
        }
    }

    /// True when the repository has the blob (`HEAD /v2/<name>/blobs/<digest>`).
    pub fn has_blob(&mut self, digest: &Sha256Digest) -> Result<bool, Error> {
        let path = format!("/v2/{}/blobs/{digest}", self.repository);
        let op = format!("check blob {digest}");
        let resp = self.send("HEAD", &path, &[], Replayable::None, &op)?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.status_error(resp, &op)),
        }
    }

    /// Uploads a blob: `POST` an upload session (mounting from `mount_from` when given),
    /// then one streamed `PUT ?digest=`. `content` is read once and never held in memory.
    /// Returns `false` when the registry mounted it instead.
    pub fn upload_blob(
        &mut self,
        digest: &Sha256Digest,
        size: u64,
        content: &mut dyn Read,
        mount_from: Option<&str>,
    ) -> Result<bool, Error> {
        let op = format!("upload blob {digest}");
        let Some(location) = self.start_upload(digest, mount_from, &op)? else {
            return Ok(false);
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = self.url(&format!("{location}{sep}digest={digest}"));
        let mut builder = ureq::http::Request::builder()
            .method("PUT")
            .uri(&url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", size.to_string());
        if let Some(a) = &self.authorization {
            builder = builder.header("Authorization", a.as_str());
        }
        let request = builder
            .body(SendBody::from_reader(content))
            .map_err(|e| self.transport_error(&op, &ureq::Error::from(e)))?;
        let resp = self
            .agent
            .run(request)
            .map_err(|e| self.transport_error(&op, &e))?;
        self.expect(resp, &[201], &op)?;
        Ok(true)
    }

    /// `POST`s an upload session (mounting from `mount_from` when given); its `Location`,
    /// or `None` when the registry mounted the blob.
    fn start_upload(
        &mut self,
        digest: &Sha256Digest,
        mount_from: Option<&str>,
        op: &str,
    ) -> Result<Option<String>, Error> {
        let mut path = format!("/v2/{}/blobs/uploads/", self.repository);
        if let Some(from) = mount_from {
            path.push_str(&format!("?mount={digest}&from={}", percent_encode(from)));
        }
        let headers = [("Content-Length", "0".to_owned())];
        let resp = self.send("POST", &path, &headers, Replayable::None, op)?;
        let resp = self.expect(resp, &[201, 202], op)?;
        if resp.status().as_u16() == 201 {
            return Ok(None);
        }
        header(&resp, "location")
            .map(Some)
            .ok_or_else(|| Error::Unsupported {
                registry: self.registry.clone(),
                what: op.to_owned(),
                problem: "the upload session has no Location".to_owned(),
            })
    }

    /// Streams blob `digest` into `out`, checking its size and digest while it streams.
    pub fn get_blob(
        &mut self,
        digest: &Sha256Digest,
        size: u64,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let path = format!("/v2/{}/blobs/{digest}", self.repository);
        let op = format!("download blob {digest}");
        let resp = self.send("GET", &path, &[], Replayable::None, &op)?;
        let resp = self.expect(resp, &[200], &op)?;
        let mut hashing = HashingReader::new(resp.into_body().into_reader().take(size + 1));
        io::copy(&mut hashing, out).map_err(|e| Error::Transport {
            registry: self.registry.clone(),
            operation: op.clone(),
            message: e.to_string(),
        })?;
        let (actual, len) = hashing.finish();
        if len != size || actual != *digest {
            return Err(Error::Corrupt {
                registry: self.registry.clone(),
                what: "blob".to_owned(),
                digest: digest.to_string(),
                problem: format!("served {len} bytes with digest {actual}, expected {size} bytes"),
            });
        }
        Ok(())
    }

    /// True when the repository has the manifest (`HEAD /v2/<name>/manifests/<digest>`).
    pub fn has_manifest(&mut self, digest: &Sha256Digest) -> Result<bool, Error> {
        let path = format!("/v2/{}/manifests/{digest}", self.repository);
        let op = format!("check manifest {digest}");
        let headers = [("Accept", accept())];
        let resp = self.send("HEAD", &path, &headers, Replayable::None, &op)?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.status_error(resp, &op)),
        }
    }

    /// `PUT`s `bytes` unchanged as a manifest under `reference` (a digest or a tag).
    pub fn put_manifest(
        &mut self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let path = format!("/v2/{}/manifests/{reference}", self.repository);
        let op = format!("push manifest {reference}");
        let headers = [("Content-Type", media_type.to_owned())];
        let resp = self.send("PUT", &path, &headers, Replayable::Bytes(bytes), &op)?;
        self.expect(resp, &[200, 201], &op)?;
        Ok(())
    }

    /// Fetches the manifest or index at `reference` (tag or digest): its media type, bytes
    /// and digest; `None` when the registry has none (404). When `reference` is a digest the
    /// bytes are checked against it.
    pub fn get_manifest(
        &mut self,
        reference: &str,
    ) -> Result<Option<(String, Vec<u8>, Sha256Digest)>, Error> {
        let path = format!("/v2/{}/manifests/{reference}", self.repository);
        let op = format!("fetch manifest {reference}");
        let headers = [("Accept", accept())];
        let mut resp = self.send("GET", &path, &headers, Replayable::None, &op)?;
        match resp.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            _ => return Err(self.status_error(resp, &op)),
        }
        let media_type = header(&resp, "content-type").unwrap_or_default();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|e| self.transport_error(&op, &e))?;
        let digest = Sha256Digest::of_bytes(&bytes);
        if let Ok(expected) = reference.parse::<Sha256Digest>() {
            if expected != digest {
                return Err(Error::Corrupt {
                    registry: self.registry.clone(),
                    what: "manifest".to_owned(),
                    digest: expected.to_string(),
                    problem: format!("served content has digest {digest}"),
                });
            }
        }
        Ok(Some((media_type, bytes, digest)))
    }

    /// The repository's tags (`GET /v2/<name>/tags/list`, first page).
    pub fn list_tags(&mut self) -> Result<Vec<String>, Error> {
        let path = format!("/v2/{}/tags/list", self.repository);
        let op = "list tags";
        let mut resp = self.send("GET", &path, &[], Replayable::None, op)?;
        if resp.status().as_u16() == 404 {
            return Ok(Vec::new());
        }
        if resp.status().as_u16() != 200 {
            return Err(self.status_error(resp, op));
        }
        #[derive(serde::Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|e| self.transport_error(op, &e))?;
        let tags: Tags = serde_json::from_slice(&bytes).map_err(|e| Error::Unsupported {
            registry: self.registry.clone(),
            what: op.to_owned(),
            problem: format!("not a tag list ({e})"),
        })?;
        Ok(tags.tags.unwrap_or_default())
    }

    /// The referrers API (`GET /v2/<name>/referrers/<digest>`): the image index bytes, or
    /// `None` when the registry does not serve the API (then the fallback tag is used).
    pub fn referrers_api(&mut self, subject: &Sha256Digest) -> Result<Option<Vec<u8>>, Error> {
        let path = format!("/v2/{}/referrers/{subject}", self.repository);
        let op = format!("list referrers of {subject}");
        let headers = [("Accept", INDEX_MEDIA_TYPE.to_owned())];
        let mut resp = self.send("GET", &path, &headers, Replayable::None, &op)?;
        let is_index =
            header(&resp, "content-type").is_some_and(|t| t.starts_with(INDEX_MEDIA_TYPE));
        match resp.status().as_u16() {
            200 if is_index => {}
            200 | 400 | 404 | 405 => return Ok(None),
            _ => return Err(self.status_error(resp, &op)),
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|e| self.transport_error(&op, &e))?;
        Ok(Some(bytes))
    }
}

fn accept() -> String {
    format!("{MANIFEST_MEDIA_TYPE}, {INDEX_MEDIA_TYPE}")
}

fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn is_transient(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        ),
        ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => true,
        _ => false,
    }
}

fn backoff(attempt: u32, retry_after: Option<u64>) -> Duration {
    match retry_after {
        Some(secs) => Duration::from_secs(secs.min(60)),
        None => Duration::from_millis(200 * (1u64 << attempt.min(6))),
    }
}

/// `key="value", key2=value2` parameters of a `WWW-Authenticate` header.
fn parse_challenge(params: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = params.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        out.push((key, value.to_owned()));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn host_of_url(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// The registry's `{"errors":[{"code","message"}]}` as one line (no request data).
fn error_detail(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    serde_json::from_slice::<Errors>(bytes)
        .map(|e| {
            e.errors
                .iter()
                .map(|x| {
                    format!(
                        "{}: {}",
                        x.code.as_deref().unwrap_or("ERROR"),
                        x.message.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let p = parse_challenge(
            r#"realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            p,
            [
                ("realm".to_owned(), "https://auth.example/token".to_owned()),
                ("service".to_owned(), "registry.example".to_owned()),
                ("scope".to_owned(), "repository:a/b:pull,push".to_owned()),
            ]
        );
        assert_eq!(
            percent_encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = Credentials::new("user", "s3cret-pass");
        let shown = format!("{c:?}");
        assert!(
            shown.contains("user") && !shown.contains("s3cret-pass"),
            "{shown}"
        );
    }

    #[test]
    fn loopback_only_for_plain_http() {
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("[::1]"));
        assert!(!is_loopback("10.0.0.1") && !is_loopback("ghcr.io"));
        let r = Reference::parse("ghcr.io/o/p:1").unwrap_or_else(|e| unreachable!("{e}"));
        let err = Client::connect(
            &r,
            ClientOptions {
                transport: Transport::InsecureLoopback,
                credentials: None,
            },
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("only allowed for loopback"), "{err}");
    }
}
