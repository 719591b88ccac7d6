//! Positioned reads of an artifact, so that no reader ever holds the whole file.
//!
//! [`ReadAt`] is implemented by byte slices (for [`super::fingerprint_bytes`]) and by
//! [`FileSource`] (`Seek` + `Read` on a [`File`], portable, no `unsafe` mmap). A [`Section`]
//! is a bounded window of a source (a DWARF section, a wasm custom section). Compressed ELF
//! sections (`SHF_COMPRESSED` zlib/zstd, GNU `.zdebug_*`) are inflated by a streaming decoder
//! into an unnamed temporary file ([`inflate`]), so they are read by range like the others.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Something bytes can be read from at any offset.
pub(crate) trait ReadAt {
    /// Total length in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`; an error when the range is not entirely inside.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

fn out_of_bounds() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of the data",
    )
}

impl ReadAt for &[u8] {
    fn size(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| out_of_bounds())?;
        let end = start.checked_add(buf.len()).ok_or_else(out_of_bounds)?;
        let src = self.get(start..end).ok_or_else(out_of_bounds)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.as_slice().read_exact_at(offset, buf)
    }
}

/// A file read with `Seek` + `Read` (one handle; the seek position is never assumed).
pub(crate) struct FileSource {
    file: RefCell<File>,
    len: u64,
}

impl FileSource {
    /// Wraps an open file; its length is taken once.
    pub(crate) fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileSource {
            file: RefCell::new(file),
            len,
        })
    }
}

impl ReadAt for FileSource {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or_else(out_of_bounds)?;
        if end > self.len {
            return Err(out_of_bounds());
        }
        let mut file = self.file.borrow_mut();
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

/// A window `[start, start + len)` of a source. An empty section reads as nothing.
#[derive(Clone, Copy)]
pub(crate) struct Section<'a> {
    src: Option<&'a dyn ReadAt>,
    start: u64,
    len: u64,
}

impl<'a> Section<'a> {
    /// The empty section (absent from the file).
    pub(crate) fn empty() -> Self {
        Section {
            src: None,
            start: 0,
            len: 0,
        }
    }

    /// `len` bytes of `src` from `start`, clamped to the source (a damaged header cannot
    /// make a section reach past the end of the file).
    pub(crate) fn new(src: &'a dyn ReadAt, start: u64, len: u64) -> Self {
        let total = src.size();
        let start = start.min(total);
        let len = len.min(total - start);
        Section {
            src: Some(src),
            start,
            len,
        }
    }

    /// The whole source.
    pub(crate) fn whole(src: &'a dyn ReadAt) -> Self {
        Section::new(src, 0, src.size())
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` from `offset` (relative to the section).
    pub(crate) fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or_else(out_of_bounds)?;
        if end > self.len {
            return Err(out_of_bounds());
        }
        if buf.is_empty() {
            return Ok(());
        }
        match self.src {
            Some(src) => src.read_exact_at(self.start + offset, buf),
            None => Err(out_of_bounds()),
        }
    }

    /// `len` bytes from `offset`; the length is checked against the section before anything
    /// is allocated.
    pub(crate) fn read_vec(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(out_of_bounds());
        }
        let len = usize::try_from(len).map_err(|_| out_of_bounds())?;
        let mut buf = vec![0; len];
        self.read_exact_at(offset, &mut buf)?;
        Ok(buf)
    }

    /// The NUL-terminated string at `offset` (without the NUL); `None` when `offset` is
    /// outside the section or no NUL follows it.
    pub(crate) fn read_cstr(&self, offset: u64) -> io::Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        let mut pos = offset;
        let mut chunk = 128u64;
        while pos < self.len {
            let n = chunk.min(self.len - pos);
            let buf = self.read_vec(pos, n)?;
            if let Some(nul) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..nul]);
                return Ok(Some(out));
            }
            out.extend_from_slice(&buf);
            pos += n;
            chunk = (chunk * 2).min(64 * 1024);
        }
        Ok(None)
    }

    /// Every offset at which one of `names` starts as a complete NUL-terminated string
    /// (string sections are tail-merged, so a name may also end a longer string). Streams
    /// the section in 1 MiB chunks; returns offset → index into `names`.
    pub(crate) fn find_strings(&self, names: &[&[u8]]) -> io::Result<HashMap<u64, usize>> {
        let mut found = HashMap::new();
        // Candidates by length, with a first-byte prefilter per length.
        let mut by_len: HashMap<usize, SameLength<'_>> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() || name.contains(&0) {
                continue;
            }
            let group = by_len.entry(name.len()).or_insert_with(|| SameLength {
                len: name.len(),
                first: Box::new([false; 256]),
                names: HashMap::new(),
            });
            group.first[usize::from(name[0])] = true;
            group.names.entry(*name).or_insert(i);
        }
        if by_len.is_empty() || self.is_empty() {
            return Ok(found);
        }
        let mut lens: Vec<SameLength<'_>> = by_len.into_values().collect();
        lens.sort_by_key(|g| g.len);
        let keep = lens.iter().map(|g| g.len).max().unwrap_or(0);
        const CHUNK: u64 = 1 << 20;
        // `window` holds up to `keep` bytes before `base` followed by the current chunk.
        let mut window: Vec<u8> = Vec::with_capacity(keep + CHUNK as usize);
        let mut base = 0u64; // section offset of window[carry]
        let mut carry = 0usize;
        while base < self.len {
            let n = CHUNK.min(self.len - base);
            let start = window.len();
            window.resize(start + n as usize, 0);
            self.read_exact_at(base, &mut window[start..])?;
            for (i, &b) in window.iter().enumerate().skip(carry) {
                if b != 0 {
                    continue;
                }
                for group in &lens {
                    if group.len > i {
                        break;
                    }
                    let s = i - group.len;
                    if !group.first[usize::from(window[s])] {
                        continue;
                    }
                    if let Some(&idx) = group.names.get(&window[s..i]) {
                        // window[s] is at section offset base + s - carry.
                        if let Some(off) = (base + s as u64).checked_sub(carry as u64) {
                            found.insert(off, idx);
                        }
                    }
                }
            }
            base += n;
            let drop = window.len().saturating_sub(keep);
            window.drain(..drop);
            carry = window.len();
        }
        Ok(found)
    }
}

/// Wanted names of one length, with the set of their first bytes (a cheap prefilter).
struct SameLength<'n> {
    len: usize,
    first: Box<[bool; 256]>,
    names: HashMap<&'n [u8], usize>,
}

/// How a section's bytes are stored.
pub(crate) enum Compression {
    Zlib,
    Zstd,
}

/// Inflates `compressed` (the section's compressed bytes) into an unnamed temporary file
/// (memory when no temporary file can be created), streaming; `None` when the data does
/// not inflate to exactly `size` bytes (treated like an absent section, as `object`'s
/// `uncompressed_data` was).
pub(crate) fn inflate(
    compressed: Section<'_>,
    kind: Compression,
    size: u64,
) -> io::Result<Option<Box<dyn ReadAt>>> {
    let mut sink = match tempfile::tempfile() {
        Ok(file) => Sink::File(io::BufWriter::new(file)),
        Err(_) => Sink::Memory(Vec::new()),
    };
    let mut input = SectionReader {
        section: compressed,
        pos: 0,
    };
    // One byte more than announced, to notice a lying header.
    let limit = size.saturating_add(1);
    let written = match kind {
        Compression::Zlib => io::copy(
            &mut flate2::read::ZlibDecoder::new(&mut input).take(limit),
            &mut sink,
        ),
        Compression::Zstd => {
            // Possibly several frames, one after the other.
            let mut total = 0u64;
            while input.pos < input.section.len() && total <= size {
                let Ok(decoder) = ruzstd::decoding::StreamingDecoder::new(&mut input) else {
                    return Ok(None);
                };
                match io::copy(&mut decoder.take(limit - total), &mut sink) {
                    Ok(n) => total += n,
                    Err(_) => return Ok(None),
                }
            }
            Ok(total)
        }
    };
    if written.ok() != Some(size) {
        return Ok(None);
    }
    Ok(Some(match sink {
        Sink::File(file) => Box::new(FileSource::new(
            file.into_inner().map_err(io::IntoInnerError::into_error)?,
        )?),
        Sink::Memory(bytes) => Box::new(bytes),
    }))
}

enum Sink {
    File(io::BufWriter<File>),
    Memory(Vec<u8>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(f) => f.write(buf),
            Sink::Memory(v) => v.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(f) => f.flush(),
            Sink::Memory(_) => Ok(()),
        }
    }
}

/// `Read` over a section (sequential, positioned reads underneath).
struct SectionReader<'a> {
    section: Section<'a>,
    pos: u64,
}

impl Read for SectionReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.section.len() - self.pos;
        let n = (buf.len() as u64).min(left).min(256 * 1024) as usize;
        if n == 0 {
            return Ok(0);
        }
        self.section.read_exact_at(self.pos, &mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_and_tail_merged_strings_across_chunks() {
        let mut data = b"\0plugin_run\0xplugin_run\0plugin_running\0abc\0".to_vec();
        let far = (1 << 20) - 5;
        data.resize(far, b'z');
        data.extend_from_slice(b"\0plugin_run\0");
        let src: &[u8] = &data;
        let section = Section::whole(&src);
        let found = section
            .find_strings(&[b"plugin_run".as_slice(), b"abc".as_slice()])
            .unwrap_or_default();
        let mut offsets: Vec<(u64, usize)> = found.into_iter().collect();
        offsets.sort();
        assert_eq!(offsets, vec![(1, 0), (13, 0), (39, 1), (far as u64 + 1, 0)]);
        assert_eq!(
            section.read_cstr(13).ok().flatten().as_deref(),
            Some(b"plugin_run".as_slice())
        );
        assert_eq!(section.read_cstr(far as u64 + 100).ok().flatten(), None);
    }
}
