//! Package URLs for crates (`pkg:cargo/name@version?qualifiers`), per the purl spec's `cargo`
//! type: crates.io is the default repository and gets no qualifier; other registries get
//! `repository_url`, git sources get `vcs_url` (`git+URL@commit`). Path crates have no source
//! to name; their location goes into a property instead (never into the purl).

/// The default registry, in both its git and sparse index spellings.
const CRATES_IO: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// The purl of `name@version` from cargo `source` (`None` for path crates).
pub fn cargo_purl(name: &str, version: &str, source: Option<&str>) -> String {
    let mut purl = format!("pkg:cargo/{}@{}", encode(name), encode(version));
    let qualifiers = qualifiers(source);
    if !qualifiers.is_empty() {
        let q: Vec<String> = qualifiers
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        purl.push('?');
        purl.push_str(&q.join("&"));
    }
    purl
}

/// Whether `source` is crates.io.
pub fn is_default_registry(source: &str) -> bool {
    CRATES_IO.contains(&source)
}

/// Qualifiers for a source, sorted by key.
fn qualifiers(source: Option<&str>) -> Vec<(&'static str, String)> {
    let Some(source) = source else {
        return Vec::new();
    };
    if is_default_registry(source) {
        return Vec::new();
    }
    if let Some(url) = source
        .strip_prefix("registry+")
        .or_else(|| source.strip_prefix("sparse+"))
    {
        return vec![("repository_url", url.to_owned())];
    }
    if let Some(rest) = source.strip_prefix("git+") {
        // `git+URL?rev=…#commit`: keep the URL without query, pin the exact commit.
        let (url_and_query, commit) = match rest.split_once('#') {
            Some((u, c)) => (u, Some(c)),
            None => (rest, None),
        };
        let url = url_and_query.split('?').next().unwrap_or(url_and_query);
        let vcs = match commit {
            Some(c) => format!("git+{url}@{c}"),
            None => format!("git+{url}"),
        };
        return vec![("vcs_url", vcs)];
    }
    // Unknown source kinds: name them as a download location so the purl stays unique.
    vec![("download_url", source.to_owned())]
}

/// Percent-encodes everything but purl's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_has_no_qualifiers_others_do() {
        assert_eq!(
            cargo_purl("itoa", "1.0.19", Some(CRATES_IO[0])),
            "pkg:cargo/itoa@1.0.19"
        );
        assert_eq!(
            cargo_purl("itoa", "1.0.19", Some(CRATES_IO[1])),
            "pkg:cargo/itoa@1.0.19"
        );
        assert_eq!(
            cargo_purl("a", "0.1.0+meta", Some("sparse+https://reg.example/index/")),
            "pkg:cargo/a@0.1.0%2Bmeta?repository_url=https://reg.example/index/"
        );
        assert_eq!(
            cargo_purl(
                "b",
                "1.0.0",
                Some("git+https://example.com/b.git?branch=main#0123abcd")
            ),
            "pkg:cargo/b@1.0.0?vcs_url=git%2Bhttps://example.com/b.git%400123abcd"
        );
        assert_eq!(cargo_purl("local", "0.1.0", None), "pkg:cargo/local@0.1.0");
    }
}
