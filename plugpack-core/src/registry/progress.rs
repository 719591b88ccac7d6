//! Byte progress of one blob transfer, reported through [`Reporter::progress`].

use std::io::{self, Read, Write};

use crate::ctx::Reporter;

/// Bytes between two reports (and the last byte): a 256 MiB blob makes 4096 calls.
const STEP: u64 = 64 * 1024;

/// Wraps a reader or writer and reports the bytes that passed through it.
pub(super) struct Progress<'r, T> {
    inner: T,
    reporter: &'r dyn Reporter,
    done: u64,
    reported: u64,
    total: u64,
}

impl<'r, T> Progress<'r, T> {
    /// Reports `0` of `total` at once, then as bytes pass.
    pub(super) fn new(inner: T, total: u64, reporter: &'r dyn Reporter) -> Self {
        reporter.progress(0, total);
        Self {
            inner,
            reporter,
            done: 0,
            reported: 0,
            total,
        }
    }

    /// The wrapped reader or writer.
    pub(super) fn into_inner(self) -> T {
        self.inner
    }

    fn advance(&mut self, n: usize) {
        self.done += n as u64;
        if self.done - self.reported >= STEP || (self.done >= self.total && n > 0) {
            self.reported = self.done;
            self.reporter.progress(self.done, self.total);
        }
    }
}

impl<T: Read> Read for Progress<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.advance(n);
        Ok(n)
    }
}

impl<T: Write> Write for Progress<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.advance(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(u64, u64)>>);

    impl Reporter for Recorder {
        fn status(&self, _verb: &str, _message: &str) {}
        fn warn(&self, _message: &str) {}
        fn progress(&self, done: u64, total: u64) {
            self.0.lock().unwrap().push((done, total));
        }
    }

    #[test]
    fn reports_rising_byte_counts_up_to_the_total() {
        let recorder = Recorder::default();
        let data = vec![7u8; 200_000];
        let mut reader = Progress::new(&data[..], data.len() as u64, &recorder);
        let mut sink = Vec::new();
        io::copy(&mut reader, &mut sink).unwrap();
        let mut writer = Progress::new(Vec::new(), 10, &recorder);
        writer.write_all(&[1; 10]).unwrap();
        assert_eq!(writer.into_inner().len(), 10);
        let seen = recorder.0.into_inner().unwrap();
        let (read, written) = seen.split_at(seen.len() - 2);
        assert_eq!(read.first(), Some(&(0, 200_000)));
        assert_eq!(read.last(), Some(&(200_000, 200_000)));
        assert!(read.windows(2).all(|w| w[0].0 < w[1].0), "{read:?}");
        assert!(read.len() >= 4, "a report at least every 64 KiB: {read:?}");
        assert_eq!(written, [(0, 10), (10, 10)]);
    }
}
