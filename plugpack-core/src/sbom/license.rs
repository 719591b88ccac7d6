//! Licence strings from `Cargo.toml` → CycloneDX `licenses`.
//!
//! Cargo's `license` is meant to be an SPDX expression but crates also write `MIT/Apache-2.0`
//! (old style) or free text. We canonicalize with the `spdx` crate (lax mode turns `/` into
//! `OR` and fixes imprecise names), then require the result to parse strictly. Anything else is
//! kept verbatim as a named licence and flagged, never guessed.

use super::cyclonedx::{LicenseChoice, NamedLicense};

/// How a crate's licence was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Licensing {
    /// A valid SPDX expression (canonical form).
    Spdx(String),
    /// A string that is not an SPDX expression.
    NonSpdx(String),
    /// No `license` field (maybe a `license-file`).
    Missing,
}

impl Licensing {
    /// Classifies the `license` field.
    pub fn of(license: Option<&str>) -> Self {
        let Some(raw) = license.map(str::trim).filter(|l| !l.is_empty()) else {
            return Licensing::Missing;
        };
        let canonical = match spdx::Expression::canonicalize(raw) {
            Ok(Some(c)) => c,
            Ok(None) => raw.to_owned(),
            Err(_) => return Licensing::NonSpdx(raw.to_owned()),
        };
        match spdx::Expression::parse(&canonical) {
            Ok(_) => Licensing::Spdx(canonical),
            Err(_) => Licensing::NonSpdx(raw.to_owned()),
        }
    }

    /// The CycloneDX `licenses` entries.
    pub fn choices(&self) -> Vec<LicenseChoice> {
        match self {
            Licensing::Spdx(expression) => vec![LicenseChoice::Expression {
                expression: expression.clone(),
            }],
            Licensing::NonSpdx(name) => vec![LicenseChoice::License {
                license: NamedLicense { name: name.clone() },
            }],
            Licensing::Missing => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalizes_spdx_and_keeps_free_text() {
        assert_eq!(
            Licensing::of(Some("MIT/Apache-2.0")),
            Licensing::Spdx("MIT OR Apache-2.0".to_owned())
        );
        assert_eq!(
            Licensing::of(Some("MIT OR Apache-2.0")),
            Licensing::Spdx("MIT OR Apache-2.0".to_owned())
        );
        assert_eq!(
            Licensing::of(Some("Fixture Proprietary Licence")),
            Licensing::NonSpdx("Fixture Proprietary Licence".to_owned())
        );
        assert_eq!(Licensing::of(None), Licensing::Missing);
        assert_eq!(Licensing::of(Some("  ")), Licensing::Missing);
    }
}
