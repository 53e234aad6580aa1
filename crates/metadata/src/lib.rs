//! A dataset's metadata in the vocabularies other tools read.
//!
//! From a [`Dataset`] (its title, description, licence, frequency, tags and [`tapwater_types::DatasetMetadata`])
//! and optionally one of its [`Version`]s (schema, row count, original file), this crate writes:
//!
//! - [`datapackage`]: a Frictionless Data Package v1 with one tabular resource, the version's CSV download, and
//!   its Table Schema (types, formats and constraints chosen so `frictionless validate` accepts tapwater's CSV);
//! - [`dcat_dataset_jsonld`], [`dcat_dataset_turtle`], [`dcat_catalog_jsonld`], [`dcat_catalog_turtle`]: DCAT-AP
//!   3.0 in JSON-LD (inline context) and Turtle, both written from one triple model so they are the same graph;
//! - [`schema_org`]: a schema.org `Dataset` for search engines (Google Dataset Search);
//! - [`data_gov_tw`]: the national portal's (data.gov.tw) dataset metadata JSON, for an agency to push there.
//!
//! It also reads: [`import_table_schema`] turns a Frictionless Table Schema into field metadata, and
//! [`validate_metadata`] checks a publisher's [`DatasetMetadata`] before it is stored, with bilingual messages
//! naming the member at fault.
//!
//! What it does not do: any I/O. Every function is pure; it fetches nothing, reads no clock and knows no address of
//! its own: the server passes the public base URL (and site names) in a [`Site`], and every link in the documents
//! is built from it (see [`urls`]). Authorisation (whether a caller may see a dataset at all) is the caller's.

mod data_gov_tw;
mod datapackage;
mod dcat;
mod rdf;
mod schema_org;
mod table_schema;
mod validate;

use std::fmt;

pub use data_gov_tw::data_gov_tw;
pub use datapackage::{datapackage, datapackage_with_path, table_schema};
pub use dcat::{dcat_catalog_jsonld, dcat_catalog_turtle, dcat_dataset_jsonld, dcat_dataset_turtle};
pub use schema_org::schema_org;
pub use table_schema::{ImportedSchema, import_table_schema};
pub use validate::validate_metadata;

use tapwater_types::{Dataset, DatasetMetadata, Field, FieldMetadata, Version};

/// The site the documents describe datasets of: where it is served and what it is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site<'a> {
    /// The public base URL, e.g. `https://data.example.gov.tw` (a trailing slash is ignored).
    pub base_url: &'a str,
    /// The site's name in Chinese (the catalogue's title).
    pub title: &'a str,
    /// The site's name in English.
    pub title_en: &'a str,
    /// Who runs the site (the catalogue's publisher); the title when absent.
    pub publisher_name: Option<&'a str>,
}

impl Site<'_> {
    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

/// Why a document or a metadata value was refused: the member at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    /// A JSON-pointer-like path of the member, e.g. `fields[2].constraints.pattern` or `contact.email`.
    pub param: String,
    pub message: String,
    pub message_zh: String,
}

impl MetadataError {
    pub(crate) fn new(param: impl Into<String>, message: impl Into<String>, message_zh: impl Into<String>) -> Self {
        MetadataError { param: param.into(), message: message.into(), message_zh: message_zh.into() }
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.param, self.message)
    }
}

impl std::error::Error for MetadataError {}

/// The URLs of tapwater the documents link to, all absolute, built from [`Site::base_url`].
pub mod urls {
    use super::Site;

    /// The dataset (its API document): `{base}/api/v1/datasets/{slug}`.
    pub fn dataset(site: &Site, slug: &str) -> String {
        format!("{}/api/v1/datasets/{slug}", site.base())
    }

    /// One version: `{base}/api/v1/datasets/{slug}/versions/{seq}`.
    pub fn version(site: &Site, slug: &str, seq: i64) -> String {
        format!("{}/versions/{seq}", dataset(site, slug))
    }

    /// The whole version in `format` (`csv`, `json`, `parquet`, `original`):
    /// `{base}/api/v1/datasets/{slug}/download?format={format}&_version={seq}`.
    pub fn download(site: &Site, slug: &str, seq: i64, format: &str) -> String {
        format!("{}/download?format={format}&_version={seq}", dataset(site, slug))
    }

    /// The rows API: `{base}/api/v1/datasets/{slug}/rows`.
    pub fn rows(site: &Site, slug: &str) -> String {
        format!("{}/rows", dataset(site, slug))
    }

    /// `{base}/api/v1/datasets/{slug}/datapackage.json`.
    pub fn datapackage(site: &Site, slug: &str) -> String {
        format!("{}/datapackage.json", dataset(site, slug))
    }

    /// `{base}/api/v1/datasets/{slug}/dcat.jsonld`.
    pub fn dcat_jsonld(site: &Site, slug: &str) -> String {
        format!("{}/dcat.jsonld", dataset(site, slug))
    }

    /// `{base}/api/v1/datasets/{slug}/dcat.ttl`.
    pub fn dcat_turtle(site: &Site, slug: &str) -> String {
        format!("{}/dcat.ttl", dataset(site, slug))
    }

    /// The catalogue: `{base}/api/v1/catalog/dcat.jsonld` (also the catalogue's IRI).
    pub fn catalog(site: &Site) -> String {
        format!("{}/api/v1/catalog/dcat.jsonld", site.base())
    }

    /// A publisher: `{base}/api/v1/publishers/{slug}`.
    pub fn publisher(site: &Site, slug: &str) -> String {
        format!("{}/api/v1/publishers/{slug}", site.base())
    }

    /// The dataset's page for people (with the schema.org JSON-LD embedded): `{base}/datasets/{slug}`.
    pub fn page(site: &Site, slug: &str) -> String {
        format!("{}/datasets/{slug}", site.base())
    }

    /// The site's home page: `{base}/`.
    pub fn home(site: &Site) -> String {
        format!("{}/", site.base())
    }
}

/// The declared metadata of a column: matched by the column's name, else by one of its aliases.
pub(crate) fn field_metadata<'m>(metadata: &'m DatasetMetadata, field: &Field) -> Option<&'m FieldMetadata> {
    metadata.field(&field.name).or_else(|| metadata.fields.iter().find(|m| field.answers_to(&m.name)))
}

/// What a column means: the publisher's declared description, else the schema's.
pub(crate) fn field_description(metadata: &DatasetMetadata, field: &Field) -> Option<String> {
    field_metadata(metadata, field)
        .and_then(|m| m.description.clone())
        .or_else(|| field.description.clone())
        .filter(|d| !d.trim().is_empty())
}

/// The unit of a column's values: declared, else from the header.
pub(crate) fn field_unit(metadata: &DatasetMetadata, field: &Field) -> Option<String> {
    field_metadata(metadata, field)
        .and_then(|m| m.unit.clone())
        .or_else(|| field.unit.clone())
        .filter(|u| !u.trim().is_empty())
}

/// Tags then categories, without repeats or blanks.
pub(crate) fn keywords(dataset: &Dataset) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in dataset.tags.iter().chain(&dataset.metadata.categories) {
        let word = word.trim();
        if !word.is_empty() && !out.iter().any(|w| w == word) {
            out.push(word.to_string());
        }
    }
    out
}

/// When the dataset last changed: its metadata or its newest version, whichever is later.
pub(crate) fn modified(dataset: &Dataset, version: Option<&Version>) -> chrono::DateTime<chrono::Utc> {
    match version {
        Some(v) if v.created_at > dataset.updated_at => v.created_at,
        _ => dataset.updated_at,
    }
}

pub(crate) fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A trimmed value, when there is one that is not blank.
pub(crate) fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|s| s.trim()).filter(|s| !s.is_empty())
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tool_validation;
