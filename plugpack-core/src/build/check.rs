//! The target an artifact is labelled with, checked against the artifact itself: its file
//! format (wasm magic, ELF, Mach-O, PE) and its machine. A label the bytes contradict is an
//! error, never a label (a `.wasm` shipped as `linux/amd64` was issue 11's first finding).

use camino::Utf8Path;
use object::{Architecture, BinaryFormat, Object};

use super::Error;

/// The file format and machine a target triple produces, as far as plugpack can tell from
/// the triple alone (`None` where it cannot, e.g. a target-spec `.json` or an unusual
/// architecture: then that part is not checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// `true` for `wasm32-*`/`wasm64-*`.
    pub wasm: bool,
    /// ELF, Mach-O or PE for native targets.
    pub format: Option<BinaryFormat>,
    /// The machine.
    pub architecture: Option<Architecture>,
}

/// What `target` should produce.
pub fn expected(target: &str) -> Expected {
    let arch = target.split('-').next().unwrap_or_default();
    if arch.starts_with("wasm32") || arch.starts_with("wasm64") {
        return Expected {
            wasm: true,
            format: None,
            architecture: None,
        };
    }
    let format = if target.ends_with(".json") {
        None
    } else if target.contains("-apple-") {
        Some(BinaryFormat::MachO)
    } else if target.contains("-windows") || target.contains("-uefi") {
        Some(BinaryFormat::Pe)
    } else {
        Some(BinaryFormat::Elf)
    };
    let architecture = match arch {
        "x86_64" | "x86_64h" => Some(Architecture::X86_64),
        "i386" | "i586" | "i686" => Some(Architecture::I386),
        "aarch64" | "arm64" | "arm64e" => Some(Architecture::Aarch64),
        a if a.starts_with("arm") || a.starts_with("thumb") => Some(Architecture::Arm),
        a if a.starts_with("riscv64") => Some(Architecture::Riscv64),
        a if a.starts_with("riscv32") => Some(Architecture::Riscv32),
        "powerpc64" | "powerpc64le" => Some(Architecture::PowerPc64),
        "powerpc" => Some(Architecture::PowerPc),
        "s390x" => Some(Architecture::S390x),
        "loongarch64" => Some(Architecture::LoongArch64),
        _ => None,
    };
    Expected {
        wasm: false,
        format,
        architecture,
    }
}

/// Fails with [`Error::TargetMismatch`] when the file at `path` was not built for `target`
/// (wasm for a native target or the reverse, another object format, another machine).
pub fn artifact_matches_target(path: &Utf8Path, target: &str) -> Result<(), Error> {
    let read_err = |source| Error::ReadArtifact {
        path: path.to_owned(),
        source,
    };
    // Only the headers are read (through a cache over the file): the artifact may be large,
    // and is never held in memory.
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut magic = [0u8; 4];
    let n = std::io::Read::read(&mut &file, &mut magic).map_err(read_err)?;
    let bytes = object::ReadCache::new(file);
    let mismatch = |found: String| Error::TargetMismatch {
        path: path.to_owned(),
        target: target.to_owned(),
        found,
    };
    let want = expected(target);
    let is_wasm = &magic[..n] == b"\0asm";
    if want.wasm || is_wasm {
        return if want.wasm == is_wasm {
            Ok(())
        } else if is_wasm {
            Err(mismatch("a WebAssembly module".to_owned()))
        } else {
            Err(mismatch("not a WebAssembly module".to_owned()))
        };
    }
    let file = match object::File::parse(&bytes) {
        Ok(file) => file,
        Err(e) => return Err(mismatch(format!("no object file ({e})"))),
    };
    let (format, architecture) = (file.format(), file.architecture());
    let format_ok = want.format.is_none_or(|f| f == format);
    let arch_ok = want.architecture.is_none_or(|a| a == architecture);
    if format_ok && arch_ok {
        Ok(())
    } else {
        Err(mismatch(format!("{format:?} for {architecture:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_map_to_format_and_machine() {
        let linux = expected("x86_64-unknown-linux-gnu");
        assert_eq!(linux.format, Some(BinaryFormat::Elf));
        assert_eq!(linux.architecture, Some(Architecture::X86_64));
        let mac = expected("aarch64-apple-darwin");
        assert_eq!(mac.format, Some(BinaryFormat::MachO));
        assert_eq!(mac.architecture, Some(Architecture::Aarch64));
        assert_eq!(
            expected("x86_64-pc-windows-msvc").format,
            Some(BinaryFormat::Pe)
        );
        assert!(expected("wasm32-unknown-unknown").wasm);
        assert!(expected("wasm32-wasip1").wasm);
        let spec = expected("my-target.json");
        assert_eq!((spec.format, spec.architecture), (None, None));
    }

    #[test]
    fn wasm_bytes_under_a_native_label_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(dir.path()).unwrap().join("m.wasm");
        // The smallest valid module: magic and version.
        std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
        assert!(artifact_matches_target(&path, "wasm32-unknown-unknown").is_ok());
        let err = artifact_matches_target(&path, "x86_64-unknown-linux-gnu").unwrap_err();
        assert!(
            matches!(&err, Error::TargetMismatch { found, .. } if found == "a WebAssembly module"),
            "{err}"
        );
    }

    /// Only the headers are read: a 64 GiB artifact (an ELF followed by a sparse hole, no
    /// disk used) is checked without being read into memory (issue 12: memory stays flat).
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn a_huge_artifact_is_checked_from_its_headers() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(dir.path()).unwrap().join("libhuge.so");
        std::fs::copy(std::env::current_exe().unwrap(), &path).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(file.metadata().unwrap().len() + (64 << 30))
            .unwrap();
        if let Err(e) = artifact_matches_target(&path, "x86_64-unknown-linux-gnu") {
            panic!("{e}");
        }
    }

    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn a_native_library_checks_its_machine() {
        // The test binary itself is an ELF file for the host.
        let exe = std::env::current_exe().unwrap();
        let exe = Utf8Path::from_path(&exe).unwrap();
        assert!(artifact_matches_target(exe, "x86_64-unknown-linux-gnu").is_ok());
        for other in [
            "aarch64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "wasm32-unknown-unknown",
        ] {
            assert!(
                matches!(
                    artifact_matches_target(exe, other),
                    Err(Error::TargetMismatch { .. })
                ),
                "{other}"
            );
        }
    }
}
