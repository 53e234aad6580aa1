//! Slugs: the stable, URL-safe names of datasets and publishers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A validated slug: 2–64 characters of lowercase ASCII letters, digits, `-` and `_`, starting with a letter or digit.
///
/// Slugs appear in URLs (`/api/v1/datasets/{slug}`), object-store paths and SQL table names, so they are kept to a
/// character set that needs no escaping in any of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// Why a string is not a valid slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid slug {value:?}: {reason}")]
pub struct InvalidSlug {
    pub value: String,
    pub reason: &'static str,
}

impl Slug {
    pub const MAX_LEN: usize = 64;

    pub fn parse(value: &str) -> Result<Self, InvalidSlug> {
        let fail = |reason| Err(InvalidSlug { value: value.to_string(), reason });
        if value.len() < 2 {
            return fail("a slug has at least 2 characters");
        }
        if value.len() > Self::MAX_LEN {
            return fail("a slug has at most 64 characters");
        }
        let mut chars = value.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return fail("a slug starts with a lowercase letter or a digit");
        }
        if !value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
            return fail("a slug holds only lowercase letters a-z, digits, '-' and '_'");
        }
        Ok(Slug(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = InvalidSlug;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Slug::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_slugs() {
        for ok in ["accidents", "garbage_stops", "kaohsiung-playgrounds-2023", "a1"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_unsafe_slugs() {
        for bad in ["", "a", "Accidents", "-lead", "空氣品質", "a/b", "a b", &"x".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
