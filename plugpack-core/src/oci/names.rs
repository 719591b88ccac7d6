//! Tar entry names, one definition for every reader: an entry is accepted only when its
//! name is already in canonical form, so the name plugpack compares (duplicates,
//! `index.json`, `blobs/sha256/<hex>`) is byte for byte the name every other tar reader
//! (GNU tar, Python's `tarfile`, Go's `archive/tar`) sees.
//!
//! Canonical: relative, `/`-separated, no empty (`//`), `.` or `..` component, no
//! backslash, no control character (a NUL inside a GNU long name ends the name for some
//! readers and not for others), at most [`MAX_ENTRY_NAME`] bytes, and a trailing `/` only on
//! directories.

use crate::types::Sha256Digest;

/// Longest accepted entry name, in bytes (GNU long names and PAX `path` records included).
pub const MAX_ENTRY_NAME: usize = 1024;

/// What a canonical entry name stands for in an OCI image layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EntryName {
    /// `blobs/` or `blobs/sha256/` (directories only).
    Dir,
    /// `oci-layout`.
    OciLayout,
    /// `index.json`.
    IndexJson,
    /// `blobs/sha256/<hex>`.
    Blob(Sha256Digest),
    /// Anything else: ignored by every OCI reader.
    Other,
}

/// Checks that `name` is canonical (see the module docs) and says what it stands for;
/// `Err` is the problem, for a message naming the entry. `is_dir`: the entry is a
/// directory (which alone may end in `/`).
pub(super) fn classify(name: &str, is_dir: bool) -> Result<EntryName, String> {
    if name.len() > MAX_ENTRY_NAME {
        return Err(format!(
            "has a name of {} bytes (the limit is {MAX_ENTRY_NAME})",
            name.len()
        ));
    }
    if name.starts_with('/') || name.contains('\\') {
        return Err("has an absolute or non-portable path".to_owned());
    }
    if name.chars().any(char::is_control) {
        return Err("has a control character in its name".to_owned());
    }
    let body = match name.strip_suffix('/') {
        Some(body) if is_dir => body,
        Some(_) => return Err("is a file whose name ends in `/`".to_owned()),
        None => name,
    };
    let parts: Vec<&str> = body.split('/').collect();
    if parts.contains(&"..") {
        return Err("escapes the archive with `..`".to_owned());
    }
    if parts.iter().any(|p| p.is_empty() || *p == ".") {
        return Err(
            "is not in canonical form (`./`, `//` or an empty name); other tar readers \
             would name it differently"
                .to_owned(),
        );
    }
    Ok(match parts.as_slice() {
        ["blobs"] | ["blobs", "sha256"] => EntryName::Dir,
        ["oci-layout"] => EntryName::OciLayout,
        ["index.json"] => EntryName::IndexJson,
        ["blobs", "sha256", hex] => {
            let digest: Sha256Digest = format!("sha256:{hex}")
                .parse()
                .map_err(|_| "is not named by a sha256 digest".to_owned())?;
            EntryName::Blob(digest)
        }
        ["blobs", algorithm, _] if *algorithm != "sha256" => {
            return Err(format!("uses unsupported digest algorithm `{algorithm}`"));
        }
        _ => EntryName::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_names_are_accepted() {
        let hex = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert_eq!(classify("index.json", false), Ok(EntryName::IndexJson));
        assert_eq!(classify("oci-layout", false), Ok(EntryName::OciLayout));
        assert_eq!(classify("blobs/", true), Ok(EntryName::Dir));
        assert_eq!(classify("blobs/sha256", true), Ok(EntryName::Dir));
        assert!(matches!(
            classify(&format!("blobs/sha256/{hex}"), false),
            Ok(EntryName::Blob(_))
        ));
        assert_eq!(classify("README", false), Ok(EntryName::Other));
        for (bad, why) in [
            ("./index.json", "canonical"),
            (".//index.json", "canonical"),
            ("index.json/", "ends in `/`"),
            ("blobs//sha256/x", "canonical"),
            ("blobs/./sha256/x", "canonical"),
            ("", "canonical"),
            ("/etc/passwd", "absolute"),
            ("a\\b", "non-portable"),
            ("../x", "`..`"),
            ("index.json\0junk", "control character"),
            ("blobs/sha512/ab", "unsupported digest algorithm"),
            ("blobs/sha256/ABC", "sha256 digest"),
        ] {
            let err = classify(bad, false).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(classify("./", true).is_err());
        assert!(classify(&"a".repeat(MAX_ENTRY_NAME + 1), false).is_err());
    }

    /// One name component, drawn so that the non-canonical spellings are common.
    fn component() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just("index.json".to_owned()),
            Just("oci-layout".to_owned()),
            Just("blobs".to_owned()),
            Just("sha256".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just(String::new()),
            "[a-z0-9]{1,4}",
        ]
    }

    proptest::proptest! {
        /// Whatever the spelling, an accepted name is canonical: the name other tar readers
        /// see after their own normalisation is the name plugpack compared. In particular
        /// only the exact bytes `index.json` are the index (`./index.json`, `.//index.json`,
        /// `index.json/` never are), and no accepted name climbs out with `..`.
        #[test]
        fn accepted_names_are_exactly_their_normal_form(
            parts in proptest::collection::vec(component(), 1..5),
            leading_dot_slash in proptest::bool::ANY,
            trailing_slash in proptest::bool::ANY,
            is_dir in proptest::bool::ANY,
        ) {
            let mut name = parts.join("/");
            if leading_dot_slash {
                name = format!("./{name}");
            }
            if trailing_slash {
                name.push('/');
            }
            let normal = name
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .collect::<Vec<_>>()
                .join("/");
            match classify(&name, is_dir) {
                Ok(kind) => {
                    let body = name.strip_suffix('/').unwrap_or(&name);
                    proptest::prop_assert_eq!(body, normal.as_str());
                    proptest::prop_assert!(!body.split('/').any(|p| p == ".."));
                    // (A directory entry is only read as Dir or Other; the reader refuses
                    // any other directory, e.g. `index.json/`.)
                    if kind == EntryName::IndexJson && !is_dir {
                        proptest::prop_assert_eq!(name.as_str(), "index.json");
                    }
                }
                Err(_) => {
                    // Refused: fine, as long as the canonical spelling of a plain file name
                    // is not refused too.
                    if normal == name && !name.is_empty() && !normal.split('/').any(|p| p == "..") {
                        let again = classify(&normal, false);
                        proptest::prop_assert!(
                            again.is_ok() || normal.starts_with("blobs/"),
                            "canonical {normal:?} refused: {again:?}"
                        );
                    }
                }
            }
        }
    }
}
