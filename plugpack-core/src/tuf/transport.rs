//! Where repository files come from: a directory (`DIR`, `file://DIR`) or `http(s)://`.
//! Every read stops at the length the metadata allows (one byte more is read to notice an
//! endless response, then the transfer is dropped).

use std::io::{Read, Write};
use std::time::Duration;

use camino::Utf8PathBuf;

use super::{Code, Error};

/// A repository location.
#[derive(Debug)]
pub(crate) enum Source {
    /// A local directory.
    Dir(Utf8PathBuf),
    /// A base URL (no trailing `/`).
    Http { base: String, agent: ureq::Agent },
}

/// Most same-host redirects followed.
const MAX_REDIRECTS: usize = 5;

impl Source {
    /// `file://DIR`, `http(s)://…` or a directory path.
    pub(crate) fn parse(repo: &str, timeout: Duration) -> Result<Self, Error> {
        if let Some(path) = repo.strip_prefix("file://") {
            return Ok(Source::Dir(Utf8PathBuf::from(path)));
        }
        if repo.starts_with("http://") || repo.starts_with("https://") {
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_connect(Some(Duration::from_secs(30)))
                .timeout_global(Some(timeout))
                .user_agent(concat!("plugpack/", env!("CARGO_PKG_VERSION")))
                .build();
            return Ok(Source::Http {
                base: repo.trim_end_matches('/').to_owned(),
                agent: ureq::Agent::new_with_config(config),
            });
        }
        if repo.contains("://") {
            return Err(Error::Usage(format!(
                "--repo {repo}: unsupported scheme (use a directory, file://, http:// or https://)"
            )));
        }
        Ok(Source::Dir(Utf8PathBuf::from(repo)))
    }

    /// Copies `rel` into `sink`, at most `cap` bytes; `Ok(None)` when it does not exist.
    /// More than `cap` bytes is `too_long` (the read is cut there).
    pub(crate) fn get(
        &self,
        rel: &str,
        cap: u64,
        too_long: Code,
        sink: &mut dyn Write,
    ) -> Result<Option<u64>, Error> {
        match self {
            Source::Dir(dir) => {
                let path = dir.join(rel);
                let file = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(source) => return Err(Error::Read { path, source }),
                };
                let meta = file.metadata().map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                if !meta.is_file() {
                    return Err(Error::Read {
                        path,
                        source: std::io::Error::other("not a regular file"),
                    });
                }
                copy_capped(file, cap, too_long, path.as_str(), sink).map(Some)
            }
            Source::Http { base, agent } => {
                let mut url = format!("{base}/{rel}");
                let host = host_of(&url);
                for _ in 0..=MAX_REDIRECTS {
                    let resp = agent.get(&url).call().map_err(|e| Error::Transport {
                        url: url.clone(),
                        message: e.to_string(),
                    })?;
                    let status = resp.status().as_u16();
                    match status {
                        200 => {
                            let reader = resp.into_body().into_reader();
                            return copy_capped(reader, cap, too_long, &url, sink).map(Some);
                        }
                        403 | 404 => return Ok(None),
                        301 | 302 | 303 | 307 | 308 => {
                            let location = resp
                                .headers()
                                .get("location")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            let next = if location.starts_with('/') {
                                format!("{}{location}", origin_of(&url))
                            } else {
                                location
                            };
                            if host_of(&next) != host {
                                return Err(Error::rejected(
                                    Code::RedirectOtherHost,
                                    &url,
                                    format!("redirected to another host ({next})"),
                                ));
                            }
                            url = next;
                        }
                        other => {
                            return Err(Error::Transport {
                                url,
                                message: format!("HTTP status {other}"),
                            });
                        }
                    }
                }
                Err(Error::Transport {
                    url,
                    message: format!("more than {MAX_REDIRECTS} redirects"),
                })
            }
        }
    }

    /// Reads `rel` into memory (metadata).
    pub(crate) fn get_bytes(
        &self,
        rel: &str,
        cap: u64,
        too_long: Code,
    ) -> Result<Option<Vec<u8>>, Error> {
        let mut bytes = Vec::new();
        Ok(self.get(rel, cap, too_long, &mut bytes)?.map(|_| bytes))
    }
}

fn copy_capped(
    reader: impl Read,
    cap: u64,
    too_long: Code,
    what: &str,
    sink: &mut dyn Write,
) -> Result<u64, Error> {
    let mut limited = reader.take(cap.saturating_add(1));
    let n = std::io::copy(&mut limited, sink).map_err(|e| Error::Transport {
        url: what.to_owned(),
        message: e.to_string(),
    })?;
    if n > cap {
        return Err(Error::rejected(
            too_long,
            what,
            format!("more than the {cap} bytes allowed; the transfer was cut there"),
        ));
    }
    Ok(n)
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{host}")
}

fn host_of(url: &str) -> String {
    origin_of(url).to_ascii_lowercase()
}
