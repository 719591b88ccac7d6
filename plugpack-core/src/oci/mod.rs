//! OCI image-layout bundles: writing ([`pack()`]), reading and validating ([`read_bundle`],
//! [`inspect`]) and extracting ([`extract`]) the deterministic tarball plugpack ships.
//!
//! Layout (OCI image-layout spec, image-manifest v1.1):
//!
//! ```text
//! oci-layout                      {"imageLayoutVersion":"1.0.0"}
//! index.json                      the version tag → one manifest (one target) or an image
//!                                 index (several targets); referrers listed untagged
//! blobs/sha256/<hex>              configs, manifests, artifacts (stored raw), attachments
//! ```
//!
//! * wasm plugins follow the CNCF wasm OCI artifact convention
//!   (`application/vnd.wasm.config.v0+json` config, one `application/wasm` layer), so wasm
//!   runtimes can pull them; cdylib plugins use one raw `application/vnd.plugpack.cdylib.v1`
//!   layer and a plugpack config. A layer's digest is the artifact's sha256.
//! * Attachments (fingerprint, SBOM, audit report, signatures) are OCI 1.1 referrers: an
//!   artifact manifest whose `subject` is the plugin manifest, with an `artifactType`.
//! * Determinism: canonical JSON (sorted keys, compact), tar entries sorted, ustar headers,
//!   uid/gid 0, fixed modes, one mtime (`SOURCE_DATE_EPOCH` → last commit → 0).
//! * Artifacts are streamed into the tar (never held in memory) and re-hashed while written.
//! * Reading is defensive: only regular files and directories with safe, canonical relative
//!   names (one definition, `names.rs`, so plugpack and other tar readers agree on every
//!   name); every blob is hashed against its name, every descriptor's size is checked, every
//!   blob must be referenced, and memory is bounded by caps on names, tar extension headers,
//!   `index.json` and the referenced JSON documents (the `MAX_*` constants).
//! * Extracting is bounded and never follows a link inside the output directory
//!   ([`extract()`]).

mod attachments;
mod error;
mod extract;
#[cfg(feature = "tool")]
mod merge;
mod names;
#[cfg(feature = "tool")]
mod pack;
mod read;
#[cfg(feature = "tool")]
mod rebuild;

pub use attachments::{AttachmentFile, attachment_files, extension as attachment_extension};
pub use error::Error;
pub use extract::{ExtractedFile, extract, extract_with_attachments};
#[cfg(feature = "tool")]
pub use merge::{MergeReport, merge};
pub use names::MAX_ENTRY_NAME;
#[cfg(feature = "tool")]
pub use pack::{Attachment, LayoutBuilder, PackOptions, ReferrerLayer, pack};
pub use read::{
    BundleInfo, LayerInfo, Layout, MAX_INDEX_JSON, MAX_JSON_BLOB, MAX_JSON_TOTAL, MAX_OCI_LAYOUT,
    MAX_TAR_EXTENSION, ManifestInfo, ReferrerInfo, inspect, read_bundle,
};
#[cfg(feature = "tool")]
pub use rebuild::{RebuiltLayout, rebuild};

/// `oci-layout` file content.
pub const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;
/// Media type of a plugpack cdylib layer (raw shared library bytes).
pub const CDYLIB_LAYER_MEDIA_TYPE: &str = "application/vnd.plugpack.cdylib.v1";
/// Media type of the plugpack config blob of a cdylib manifest.
pub const CDYLIB_CONFIG_MEDIA_TYPE: &str = "application/vnd.plugpack.config.v1+json";
/// CNCF wasm OCI artifact config media type.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// CNCF wasm OCI artifact layer media type.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// OCI empty config media type (used by referrer manifests).
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Annotation holding the target triple of a plugin manifest.
pub const TARGET_ANNOTATION: &str = "dev.plugpack.target";
/// Annotation holding the plugin kind (`cdylib`/`wasm`).
pub const KIND_ANNOTATION: &str = "dev.plugpack.kind";
/// Annotation holding the plugin name.
pub const PLUGIN_ANNOTATION: &str = "dev.plugpack.plugin";
/// Manifest annotation: the source revision (`-dirty` when the tree had uncommitted changes);
/// the signed statement repeats it per target.
pub const REVISION_ANNOTATION: &str = "org.opencontainers.image.revision";

/// The OCI `architecture` and `os` of a Rust target triple (GOARCH/GOOS spelling).
pub fn platform_of(target: &str) -> (String, String) {
    let arch_part = target.split('-').next().unwrap_or(target);
    let arch = match arch_part {
        "x86_64" => "amd64",
        "aarch64" | "arm64" | "arm64e" => "arm64",
        "i386" | "i586" | "i686" => "386",
        a if a.starts_with("armv7")
            || a.starts_with("thumbv7")
            || a == "arm"
            || a.starts_with("armv6") =>
        {
            "arm"
        }
        a if a.starts_with("riscv64") => "riscv64",
        "powerpc64le" => "ppc64le",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "loongarch64" => "loong64",
        "wasm32" | "wasm64" => "wasm",
        other => other,
    }
    .to_owned();
    let os = if arch == "wasm" {
        match target.split('-').nth(1) {
            Some("wasip1" | "wasi") => "wasip1",
            Some("wasip2") => "wasip2",
            Some("wasip3") => "wasip3",
            _ => "unknown",
        }
    } else if target.contains("-linux") {
        if target.contains("android") {
            "android"
        } else {
            "linux"
        }
    } else if target.contains("-apple-darwin") {
        "darwin"
    } else if target.contains("-apple-ios") {
        "ios"
    } else if target.contains("-windows") {
        "windows"
    } else if target.contains("-freebsd") {
        "freebsd"
    } else if target.contains("-netbsd") {
        "netbsd"
    } else if target.contains("-openbsd") {
        "openbsd"
    } else {
        "unknown"
    }
    .to_owned();
    (arch, os)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod platform_tests {
    use super::platform_of;

    #[test]
    fn maps_triples_to_oci_platforms() {
        let cases = [
            ("x86_64-unknown-linux-gnu", "amd64", "linux"),
            ("aarch64-apple-darwin", "arm64", "darwin"),
            ("x86_64-pc-windows-msvc", "amd64", "windows"),
            ("i686-unknown-linux-musl", "386", "linux"),
            ("wasm32-wasip1", "wasm", "wasip1"),
            ("wasm32-unknown-unknown", "wasm", "unknown"),
            ("armv7-unknown-linux-gnueabihf", "arm", "linux"),
        ];
        for (triple, arch, os) in cases {
            assert_eq!(
                platform_of(triple),
                (arch.to_owned(), os.to_owned()),
                "{triple}"
            );
        }
    }
}
