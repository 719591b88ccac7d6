//! Small shared value types and helpers used by more than one stage: SHA-256 digests,
//! streaming hashing, canonical JSON, atomic file writes and the meaning of `-o PATH`
//! ([`OutputPath`]).
//!
//! These live here (rather than in a stage) because every stage that writes or checks
//! bytes needs exactly the same definition of "digest" and "written safely".

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::str::FromStr;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest, written as `sha256:<64 lowercase hex>` (the OCI digest form).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// Digest of an in-memory byte string.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Digest of everything `reader` yields, read in fixed-size chunks (memory stays flat).
    pub fn of_reader(reader: impl Read) -> io::Result<(Self, u64)> {
        let mut hashing = HashingReader::new(reader);
        io::copy(&mut hashing, &mut io::sink())?;
        Ok(hashing.finish())
    }

    /// Digest and size of a file, streamed.
    pub fn of_file(path: &Utf8Path) -> io::Result<(Self, u64)> {
        Self::of_reader(File::open(path)?)
    }

    /// [`Sha256Digest::of_file`], plus the file's [`FileStamp`], taken before and after the
    /// read and required to be equal: the digest is of the content the stamp describes, so
    /// a later equal stamp lets the bundle writer copy the file (in the kernel) without
    /// hashing it again. A file written to while it was read is an error.
    ///
    /// A stamp also moves when another process only replaces the file (cargo re-linking the
    /// same artifact in a concurrent build unlinks the old inode, which changes its status
    /// time): the file is opened and read again, up to three times, before giving up.
    pub fn of_file_stamped(path: &Utf8Path) -> io::Result<(Self, u64, FileStamp)> {
        for _ in 0..3 {
            let file = File::open(path)?;
            let before = FileStamp::of(&file)?;
            let (digest, size) = Self::of_reader(&file)?;
            let after = FileStamp::of(&file)?;
            if before == after && size == before.len {
                return Ok((digest, size, before));
            }
        }
        Err(io::Error::other(
            "the file kept changing while it was being read (written to by another process?)",
        ))
    }

    /// The 64 lowercase hex characters, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a `sha256:<hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a digest of the form sha256:<64 lowercase hex digits>")]
pub struct ParseDigestError(pub String);

impl FromStr for Sha256Digest {
    type Err = ParseDigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseDigestError(s.to_owned());
        let hex = s.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let nibble = |c: u8| HEX.iter().position(|&h| h == c).ok_or_else(bad);
            let hi = nibble(pair[0])?;
            let lo = nibble(pair[1])?;
            out[i] = u8::try_from(hi * 16 + lo).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What the file system says about a file's content without reading it: length,
/// modification and status-change times, inode and device.
///
/// Every write through the file system (`write`, `truncate`, a rename over it, a new inode)
/// changes the status-change time, which no unprivileged process can set back. So when a
/// file's stamp is the same before a digest is computed and after the file was copied, the
/// copy holds the content that was hashed, and it does not need hashing a second time. (A
/// write through a shared memory mapping updates the times when the page is first dirtied,
/// not on every store; a file mapped for writing by another process while plugpack runs can
/// slip through. The copy would then fail `verify`, whose digests are checked again.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    changed: (i64, i64),
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileStamp {
    /// The stamp of an open file.
    pub fn of(file: &File) -> io::Result<Self> {
        let meta = file.metadata()?;
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Ok(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            changed: (meta.ctime(), meta.ctime_nsec()),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
        })
    }

    /// The file length it records.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the file last changed (its status-change time; the modification time where
    /// there is none) strictly before `time`.
    pub fn changed_before(&self, time: std::time::SystemTime) -> bool {
        #[cfg(unix)]
        {
            let Ok(since_epoch) = time.duration_since(std::time::UNIX_EPOCH) else {
                return false;
            };
            let (secs, nanos) = self.changed;
            let Ok(secs) = u64::try_from(secs) else {
                return true;
            };
            std::time::Duration::new(secs, u32::try_from(nanos).unwrap_or(0)) < since_epoch
        }
        #[cfg(not(unix))]
        {
            self.modified.is_some_and(|m| m < time)
        }
    }
}

/// A reader adapter that hashes and counts every byte passing through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The digest and byte count of what was read so far.
    pub fn finish(self) -> (Sha256Digest, u64) {
        (Sha256Digest(self.hasher.finalize().into()), self.len)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Serializes `value` as canonical compact JSON: object keys sorted by their UTF-8 bytes,
/// no insignificant white space. Two equal values always give the same bytes, whatever
/// map type (or serde_json feature set) produced them; digests and signatures rely on it.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = Vec::new();
    write_canonical(&value, &mut out)?;
    Ok(out)
}

fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write_canonical(item, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

/// An output file that only appears at its final path once complete.
///
/// Bytes go to a temporary file in a private run directory ([`crate::scratch::RunDir`]) in
/// the destination's directory; [`AtomicFile::commit`] flushes and renames it into place.
/// Dropping it without committing removes the run directory, so an error never leaves a
/// partial file at the output path, and a killed run leaves one directory that the next
/// write in the same place removes.
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    dest: Utf8PathBuf,
    // Dropped after `temp`: removes the run directory and releases its lock.
    _run: crate::scratch::RunDir,
}

impl AtomicFile {
    /// Starts writing `dest`; creates missing parent directories. A parent that exists but
    /// is not a directory is named in the error.
    pub fn create(dest: &Utf8Path) -> io::Result<Self> {
        let parent = match dest.parent() {
            Some(p) if !p.as_str().is_empty() => p.to_owned(),
            _ => Utf8PathBuf::from("."),
        };
        if let Err(e) = std::fs::create_dir_all(&parent) {
            return Err(not_a_directory(&parent).unwrap_or(e));
        }
        let run = crate::scratch::RunDir::create_in(&parent)?;
        let temp = tempfile::Builder::new()
            .prefix("partial-")
            .tempfile_in(run.path())?;
        Ok(Self {
            temp,
            dest: dest.to_owned(),
            _run: run,
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Renames over the destination without waiting for the data to reach the disk: for
    /// large outputs that are rebuilt from their inputs (bundles). Readers still see the old
    /// file or the complete new one, never a mix, and a killed process leaves nothing at
    /// `dest`; only a power loss right after the rename can lose the new content, which the
    /// next run rewrites. Waiting for a 1 GiB bundle to reach the disk costs more than
    /// hashing it (`fsync` runs at the disk's speed), so `package` does not. Mode as
    /// [`AtomicFile::commit`].
    pub fn commit_without_fsync(mut self) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(self.temp.path(), std::fs::Permissions::from_mode(0o644))?;
        }
        self.temp.as_file_mut().flush()?;
        self.temp.persist(&self.dest).map_err(|e| e.error)?;
        Ok(())
    }

    /// Flushes to disk and renames over the destination. On unix the file gets mode 0o644,
    /// as a file written by cargo would under the usual umask (the temporary file it starts
    /// as is private to its owner); secrets use [`AtomicFile::commit_with_mode`].
    pub fn commit(self) -> io::Result<()> {
        #[cfg(unix)]
        let done = self.commit_with_mode(0o644);
        #[cfg(not(unix))]
        let done = self.persist();
        done
    }

    /// Like [`AtomicFile::commit`] but sets unix permission bits first (e.g. 0o600 for keys).
    #[cfg(unix)]
    pub fn commit_with_mode(self, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.temp.path(), std::fs::Permissions::from_mode(mode))?;
        self.persist()
    }

    fn persist(mut self) -> io::Result<()> {
        self.temp.as_file_mut().flush()?;
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.dest).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// When `dir` or one of its ancestors exists as something other than a directory, an error
/// naming it (instead of the OS's bare "File exists" / "Not a directory").
fn not_a_directory(dir: &Utf8Path) -> Option<io::Error> {
    dir.ancestors()
        .filter(|a| !a.as_str().is_empty())
        .find(|a| a.exists() && !a.is_dir())
        .map(|a| {
            io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{a} exists and is not a directory"),
            )
        })
}

/// What `-o PATH` names, the same for every command that writes files: an existing
/// directory, or a path ending in `/`, is a directory that receives the command's default
/// file name(s) (created when missing); anything else is the file itself.
///
/// Why: `-o out/` and `-o out` on an existing directory are how people say "put it there";
/// treating them as file names only produced "Is a directory" / "Not a directory".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputPath {
    /// Write exactly this file.
    File(Utf8PathBuf),
    /// Write the default file name(s) into this directory.
    Dir(Utf8PathBuf),
}

impl OutputPath {
    /// Classifies `-o PATH`.
    pub fn new(path: &Utf8Path) -> Self {
        let text = path.as_str();
        let trailing = text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR);
        if trailing || path.is_dir() {
            let trimmed = text.trim_end_matches(['/', std::path::MAIN_SEPARATOR]);
            // `-o /` stays the root directory.
            let dir = if trimmed.is_empty() { text } else { trimmed };
            Self::Dir(Utf8PathBuf::from(dir))
        } else {
            Self::File(path.to_owned())
        }
    }

    /// Whether this names a directory.
    pub fn is_dir(&self) -> bool {
        matches!(self, Self::Dir(_))
    }

    /// The file to write: the path itself, or `DIR/default_name`.
    pub fn file(&self, default_name: &str) -> Utf8PathBuf {
        match self {
            Self::File(path) => path.clone(),
            Self::Dir(dir) => dir.join(default_name),
        }
    }
}

/// Writes a cache file that only saves work (a digest or fingerprint entry): creates `dir`,
/// then replaces `dest` in it with a rename, without `fsync` (a torn entry after a power loss
/// fails to parse and is ignored). Failures are ignored too.
pub fn write_cache_entry(dir: &Utf8Path, dest: &Utf8Path, bytes: &[u8]) {
    let write = || -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut file = AtomicFile::create(dest)?;
        file.write_all(bytes)?;
        file.commit_without_fsync()
    };
    let _ = write();
}

/// This plugpack's version and executable (size and modification time): entries written by
/// any other build of the reader are not used (by the fingerprint and advisory caches).
#[cfg(feature = "tool")]
pub(crate) fn reader_identity() -> String {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{}:{modified}", m.len())
        })
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("{} {exe}", env!("CARGO_PKG_VERSION"))
}

/// Writes `bytes` to `dest` atomically (see [`AtomicFile`]).
pub fn write_atomic(dest: &Utf8Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(dest)?;
    file.write_all(bytes)?;
    file.commit()
}

/// Reads a small input file (a key, a trust policy, a host ABI document, a state record)
/// that may come from anywhere: at most `cap` bytes, and only a regular file (a symlink to
/// one is fine). FIFOs, devices and directories are refused before anything is read, and
/// the file is opened non-blocking so a FIFO swapped in meanwhile cannot hang the caller.
/// Errors are [`io::ErrorKind::InvalidData`] or [`io::ErrorKind::InvalidInput`] with the
/// limit in the message, or the I/O error; callers add the path.
pub fn read_small_file(path: &Utf8Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a directory, FIFO, socket or device)",
        ));
    }
    if meta.len() > cap {
        return Err(too_large(cap));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(cap));
    }
    Ok(bytes)
}

fn too_large(cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than the {cap}-byte limit for this kind of file"),
    )
}

/// Formats seconds since 1970 as RFC 3339 UTC (`2024-01-02T03:04:05Z`); out-of-range values
/// clamp to the epoch so a timestamp never makes output fail.
#[cfg(feature = "verify")]
pub fn rfc3339(epoch: i64) -> String {
    let when = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    when.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_round_trips_and_rejects_bad_forms() {
        let d = Sha256Digest::of_bytes(b"{}");
        assert_eq!(
            d.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(d.to_string().parse::<Sha256Digest>().unwrap(), d);
        for bad in [
            "sha256:abc",
            "md5:00",
            "sha256:44136FA355B3678A1146AD16F7E8649E94FB4FC21FE77E8310C060F61CAAFF8A",
        ] {
            assert!(bad.parse::<Sha256Digest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut inner = std::collections::HashMap::new();
        inner.insert("z", 1);
        inner.insert("a", 2);
        let value = serde_json::json!({"b": inner, "a": [{"y": true, "x": null}]});
        let bytes = canonical_json(&value).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"a":[{"x":null,"y":true}],"b":{"a":2,"z":1}}"#
        );
    }

    #[test]
    fn output_path_is_a_directory_when_it_exists_as_one_or_ends_with_a_slash() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let existing = root.join("out");
        std::fs::create_dir(&existing).unwrap();
        assert_eq!(
            OutputPath::new(&existing).file("a.json"),
            existing.join("a.json")
        );
        let new_dir = Utf8PathBuf::from(format!("{root}/new/"));
        let out = OutputPath::new(&new_dir);
        assert!(out.is_dir());
        assert_eq!(out.file("a.json"), root.join("new/a.json"));
        // Created on write.
        write_atomic(&out.file("a.json"), b"x").unwrap();
        assert_eq!(std::fs::read(root.join("new/a.json")).unwrap(), b"x");
        let file = root.join("file.json");
        assert_eq!(OutputPath::new(&file), OutputPath::File(file.clone()));
        assert_eq!(OutputPath::new(&file).file("ignored"), file);
        assert_eq!(
            OutputPath::new(Utf8Path::new("/")),
            OutputPath::Dir("/".into())
        );
        // `file.json/` where file.json is a file: the error names it.
        std::fs::write(&file, b"").unwrap();
        let under = OutputPath::new(Utf8Path::new(&format!("{file}/"))).file("a.json");
        let err = write_atomic(&under, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotADirectory);
        assert!(
            err.to_string()
                .contains("file.json exists and is not a directory"),
            "{err}"
        );
    }

    #[test]
    fn small_files_are_capped_and_must_be_regular() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().join("key.pub")).unwrap();
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_small_file(&path, 10).unwrap(), b"0123456789");
        let err = read_small_file(&path, 9).unwrap_err();
        assert!(err.to_string().contains("9-byte limit"), "{err}");
        let dir_path = Utf8Path::from_path(dir.path()).unwrap();
        let err = read_small_file(dir_path, 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        #[cfg(unix)]
        {
            // A device: never read (std::fs::read would grow until memory runs out).
            let err = read_small_file(Utf8Path::new("/dev/zero"), 10).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
            // A FIFO with no writer: refused at once instead of blocking.
            let fifo = dir_path.join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                let err = read_small_file(&fifo, 10).unwrap_err();
                assert!(err.to_string().contains("not a regular file"), "{err}");
            }
        }
    }

    #[test]
    fn atomic_file_leaves_nothing_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let dest = Utf8PathBuf::from_path_buf(dir.path().join("out.bin")).unwrap();
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomic(&dest, b"whole").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
    }
}
