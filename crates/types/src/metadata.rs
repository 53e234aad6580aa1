//! The descriptive metadata of a dataset beyond its title: what a user needs to understand and trust the data, and
//! what a Taiwanese agency must fill in for the national portal (data.gov.tw).
//!
//! The fields map onto data.gov.tw's dataset form (主要欄位說明, 更新頻率, 編碼格式, 資料量, 收費方式 …), onto
//! DCAT-AP 3 and onto a Frictionless Table Schema; `tapwater-metadata` writes those forms. The title, description,
//! licence, frequency and tags of a dataset stay on [`crate::Dataset`] itself (they are searched and listed); this
//! struct holds the rest, stored as one document per dataset and replaced as a whole.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::FieldType;

/// Everything a publisher declares about a dataset besides its title, description, licence, frequency and tags.
/// Every member is optional: an empty document is valid, and the quality report says what is missing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetMetadata {
    /// English title (the dataset's `title` is the Chinese one shown first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    /// English description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_en: Option<String>,
    /// Who answers questions about the data (data.gov.tw 聯絡人).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// The agency's OID in the government's organisation register (機關 OID, e.g. `2.16.886.101.20003.20065`),
    /// which data.gov.tw identifies publishers by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher_oid: Option<String>,
    /// The dataset's id on data.gov.tw, once it has one (e.g. `6247`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    /// Service categories (data.gov.tw 服務分類, e.g. `生育保健`, `交通及通訊`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// The period the data covers (資料時間範圍).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporal: Option<TemporalCoverage>,
    /// The area the data covers, in words (e.g. `臺南市`, `全國`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial: Option<String>,
    /// The area as a WGS84 bounding box: `[west, south, east, north]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial_bbox: Option<[f64; 4]>,
    /// Where the data comes from: the system, survey or register it is extracted from (資料來源).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The agency's own page about the dataset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    /// The file format the publisher declares (檔案格式: `CSV`, `JSON`, `XLS` …); compared with the real one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The text encoding the publisher declares (編碼格式: `UTF-8`, `Big5`); compared with the real one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// How the data is charged for (收費方式). Absent means free, as open data must be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<Fee>,
    /// The law or rule the data is collected under (法令依據), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Language of the data, BCP 47 (default `zh-TW`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// A standard or schema the data conforms to (a URL), e.g. a published Table Schema or a national data standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conforms_to: Option<String>,
    /// Related resources (URLs): other datasets this one links to, the code lists it uses …
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// The main fields (主要欄位說明): per column its description, unit, URI and constraints, in column order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMetadata>,
    /// Columns whose values identify a row (also declared by a pipeline's `primary_key` or a Table Schema).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Columns whose values refer to another dataset (a Table Schema `foreignKeys` entry).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
}

/// A contact point for a dataset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The period a dataset covers; either end may be open.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TemporalCoverage {
    #[schema(value_type = Option<String>, format = Date)]
    pub start: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub end: Option<NaiveDate>,
}

/// How a dataset is charged for (收費方式).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Fee {
    /// `free` (免費) or `paid` (付費).
    pub kind: FeeKind,
    /// What is charged and the legal basis for it (收費法令依據), when paid.
    pub description: Option<String>,
}

/// Free or paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeeKind {
    #[default]
    Free,
    Paid,
}

/// What a publisher declares about one column: the machine form of a line of 主要欄位說明, and the constraints a
/// Table Schema can state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FieldMetadata {
    /// The column name as published (or one of its aliases).
    pub name: String,
    /// What the column means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The unit of its values (`人`, `千元`, `%`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A URI saying what the column is (a vocabulary property, e.g. `http://schema.org/addressLocality`): the
    /// fourth star of the five-star scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The type the publisher declares; the next publish forces it (through the pipeline).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub declared_type: Option<FieldType>,
    /// Constraints on its values, checked on every version.
    #[serde(skip_serializing_if = "FieldConstraints::is_empty")]
    pub constraints: FieldConstraints,
}

/// Constraints on a column's values, as in a Frictionless Table Schema.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FieldConstraints {
    /// Every row has a value.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// No two rows share a value.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// The only values allowed (a code list); with labels when they are known.
    #[serde(rename = "enum", skip_serializing_if = "BTreeMap::is_empty")]
    pub allowed: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// A regular expression every value matches entirely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl FieldConstraints {
    pub fn is_empty(&self) -> bool {
        *self == FieldConstraints::default()
    }
}

/// Columns of this dataset that refer to another resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ForeignKey {
    pub fields: Vec<String>,
    /// The dataset referred to: a tapwater slug or a URL.
    pub resource: String,
    /// Its columns, in the same order.
    pub reference_fields: Vec<String>,
}

impl DatasetMetadata {
    /// The declared metadata of column `name`, matched by name.
    pub fn field(&self, name: &str) -> Option<&FieldMetadata> {
        self.fields.iter().find(|f| f.name == name)
    }
}
