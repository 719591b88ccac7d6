//! OCI registries: [`push`] a bundle to a registry and [`pull`] it back, byte for byte.
//!
//! The client ([`Client`]) speaks the OCI distribution API (`/v2/`) over `ureq` (blocking,
//! rustls): the `/v2/` ping, `Basic` and `Bearer`-token challenge auth, blob `HEAD` and
//! streamed monolithic upload (`POST` then `PUT ?digest=`; a blob is never held in memory)
//! or, with [`PushOptions::chunk_size`], chunked upload (`PATCH` with `Content-Range`,
//! resumed from the registry's `Range` after a failed chunk), cross-repository mounts,
//! manifests `PUT` as the exact bytes of the bundle (so every digest, and with it every
//! signature, survives), `GET` of manifests and blobs with the digest checked while the bytes
//! stream, tag listing, and the referrers API with the `sha256-<hex>` fallback tag.
//!
//! * [`push`]: blobs (HEAD first, skipping what the registry has), then the plugin manifests,
//!   then the image index and its tags, then the referrers (ABI, SBOM, audit, signatures); an
//!   interrupted push never leaves a manifest pointing at a missing blob.
//! * [`pull`]: the tagged manifest or index, its manifests and blobs, then every referrer
//!   (recursively), written as a bundle whose `index.json` and blobs equal the pushed ones.
//!   Every blob is verified while it streams; nothing is left at the output on any failure.
//! * Referrers: when a registry serves `GET /v2/<name>/referrers/<digest>` it is used;
//!   otherwise the fallback tag `sha256-<subject hex>` points at an image index of referrers,
//!   which [`push`] merges with what is already there (as cosign and ORAS do), so a referrer
//!   pushed later never drops one pushed before.
//! * Credentials ([`Credentials`]) are never printed, logged or put in an error message.
//! * Plain HTTP only with [`Transport::InsecureLoopback`], and only for loopback hosts.

mod client;
mod docker_config;
mod error;
mod progress;
mod pull;
mod push;
mod reference;

pub use client::{Client, ClientOptions, Credentials, Transport};
pub use docker_config::docker_config_credentials;
pub use error::Error;
pub use pull::{PullOptions, PullReport, TemporaryBundle, pull, pull_temporary};
pub use push::{PushOptions, PushReport, push};
pub use reference::Reference;

/// Media type of an OCI image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
