//! Chunked blob upload (`PATCH` with `Content-Range`), resumed from the registry's
//! reported `Range` after a failed chunk. A child of `client`: it uses the client's
//! connection, authorization and error helpers.

use std::io::Read;

use super::{Client, RETRIES, Replayable, backoff, header};
use crate::registry::Error;
use crate::types::Sha256Digest;

impl Client {
    /// Uploads a blob in chunks of `chunk` bytes: `POST` an upload session, one `PATCH`
    /// per chunk with `Content-Range: START-END` (one chunk held in memory, so a failed
    /// chunk can be sent again), then `PUT ?digest=` with an empty body. After a failed
    /// chunk (broken connection, 5xx, 416) the session's status (`GET`, its `Range:
    /// 0-LAST`) says how much the registry kept, and the upload resumes from there, up to
    /// three times per chunk. Returns `false` when the registry mounted the blob instead
    /// (`mount_from`).
    pub fn upload_blob_chunked(
        &mut self,
        digest: &Sha256Digest,
        size: u64,
        content: &mut dyn Read,
        mount_from: Option<&str>,
        chunk: u64,
    ) -> Result<bool, Error> {
        let op = format!("upload blob {digest}");
        let Some(mut location) = self.start_upload(digest, mount_from, &op)? else {
            return Ok(false);
        };
        let chunk = usize::try_from(chunk.max(1)).unwrap_or(usize::MAX);
        let mut buf = vec![0u8; chunk.min(usize::try_from(size).unwrap_or(usize::MAX))];
        let mut offset = 0u64;
        while offset < size {
            let want = usize::try_from((size - offset).min(chunk as u64)).unwrap_or(chunk);
            let filled = read_full(content, &mut buf[..want]).map_err(|e| Error::Transport {
                registry: self.registry.clone(),
                operation: op.clone(),
                message: format!("reading the blob: {e}"),
            })?;
            if filled < want {
                return Err(self.unsupported(&op, "the blob ended before its size"));
            }
            location = self.patch_chunk(&location, &buf[..want], offset, &op)?;
            offset += want as u64;
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let path = format!("{location}{sep}digest={digest}");
        let headers = [("Content-Length", "0".to_owned())];
        let resp = self.send("PUT", &path, &headers, Replayable::Bytes(&[]), &op)?;
        self.expect(resp, &[201], &op)?;
        Ok(true)
    }

    /// Sends `bytes` (the blob from `start`) and returns the session's next location,
    /// resuming from the registry's `Range` when a chunk fails.
    fn patch_chunk(
        &mut self,
        location: &str,
        bytes: &[u8],
        start: u64,
        op: &str,
    ) -> Result<String, Error> {
        let end = start + bytes.len() as u64;
        let mut location = location.to_owned();
        let mut sent = start;
        let mut attempt = 0;
        loop {
            let part = &bytes[usize::try_from(sent - start).unwrap_or(0)..];
            let headers = [
                ("Content-Type", "application/octet-stream".to_owned()),
                ("Content-Length", part.len().to_string()),
                ("Content-Range", format!("{sent}-{}", end - 1)),
            ];
            let url = self.url(&location);
            let result = self.call(
                "PATCH",
                &url,
                &headers,
                Replayable::Bytes(part),
                self.authorization.as_deref(),
            );
            let failure = match result {
                Ok(resp) if resp.status().as_u16() == 202 => {
                    let next = header(&resp, "location")
                        .ok_or_else(|| self.unsupported(op, "a chunk answer has no Location"))?;
                    return Ok(next);
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if !(status == 416 || status == 429 || status >= 500) || attempt >= RETRIES {
                        return Err(self.status_error(resp, op));
                    }
                    format!("HTTP {status}")
                }
                Err(e) if attempt < RETRIES => e.to_string(),
                Err(e) => return Err(self.transport_error(op, &e)),
            };
            attempt += 1;
            std::thread::sleep(backoff(attempt, None));
            // How much did the registry keep? (A registry that dropped the session, as
            // distribution 2.8 does after a body cut short, answers 404: push again.)
            let status_op =
                format!("{op}, asking the upload's status after a failed chunk ({failure})");
            let resp = self.send("GET", &location, &[], Replayable::None, &status_op)?;
            let resp = self.expect(resp, &[204], &status_op)?;
            let kept = header(&resp, "range")
                .and_then(|r| {
                    r.split_once('-')
                        .and_then(|(_, last)| last.parse::<u64>().ok())
                })
                .map_or(0, |last| last + 1);
            if let Some(next) = header(&resp, "location") {
                location = next;
            }
            if kept < start || kept > end {
                return Err(self.unsupported(
                    op,
                    &format!(
                        "after a failed chunk ({failure}) the registry holds {kept} bytes, \
                         outside the chunk {start}..{end}"
                    ),
                ));
            }
            if kept == end {
                return Ok(location);
            }
            sent = kept;
        }
    }

    fn unsupported(&self, op: &str, problem: &str) -> Error {
        Error::Unsupported {
            registry: self.registry.clone(),
            what: op.to_owned(),
            problem: problem.to_owned(),
        }
    }
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
