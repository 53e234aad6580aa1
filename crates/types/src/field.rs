//! Fields (columns) of a published table and their types.

use serde::{Deserialize, Serialize};

/// The type of a column, as users see it in the schema and the API.
///
/// Each maps to one Arrow type (see [`FieldType::arrow_name`]); the mapping lives in the ingest and query crates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// 64-bit signed integer, written without leading zeros (`007` is a code, so text).
    Integer,
    /// A decimal number that round-trips exactly through a 64-bit float (at most 15 significant digits).
    Decimal,
    /// `true` / `false`.
    Boolean,
    /// A calendar date, ISO 8601 `YYYY-MM-DD`.
    Date,
    /// A time of day, `HH:MM` or `HH:MM:SS[.fff]`.
    Time,
    /// A date and time; local Asia/Taipei time unless the value carries an offset.
    Datetime,
    /// Anything else, kept exactly as published.
    #[default]
    Text,
}

impl FieldType {
    pub const ALL: [FieldType; 7] = [
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Time,
        FieldType::Datetime,
        FieldType::Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Time => "time",
            FieldType::Datetime => "datetime",
            FieldType::Text => "text",
        }
    }

    pub fn parse(value: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// The Arrow type a column of this type is stored as, for documentation.
    pub fn arrow_name(self) -> &'static str {
        match self {
            FieldType::Integer => "Int64",
            FieldType::Decimal => "Float64",
            FieldType::Boolean => "Boolean",
            FieldType::Date => "Date32",
            FieldType::Time => "Time64(Microsecond)",
            FieldType::Datetime => "Timestamp(Microsecond, \"Asia/Taipei\")",
            FieldType::Text => "Utf8",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Decimal)
    }
}

/// One column of a published table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    /// The column name exactly as published (often Chinese, e.g. `行政區`).
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// What the column means, written by the publisher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Other names the column answers to in filters and `_fields`: the machine name of a file with a machine-name
    /// row under or over its Chinese labels (`statistic_yyymm` for `統計年月`), and names the pipeline renamed away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The unit of the values, taken from the header (`金額(千元)` → `千元`) or declared by the publisher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// What the column holds when tapwater recognised it: `longitude` / `latitude` (WGS84), `twd97_x` / `twd97_y`
    /// (TWD97 TM2 metres), `source_file` (the file a row of a merged series came from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// For a column tapwater added (WGS84 coordinates computed from TWD97 ones): the columns it was computed from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived_from: Vec<String>,
}

impl Field {
    /// A field with a name and a type and nothing else.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Field {
        Field { name: name.into(), field_type, ..Field::default() }
    }

    /// Whether `name` is this field's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }
}

/// The schema of a version: its columns in file order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableSchema {
    pub fields: Vec<Field>,
}

impl TableSchema {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The position of the field called `name`, or else of the first field with `name` as an alias.
    pub fn resolve(&self, name: &str) -> Option<usize> {
        self.index_of(name).or_else(|| self.fields.iter().position(|f| f.aliases.iter().any(|a| a == name)))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }
}

/// Statistics of one column of a version, computed when the version is written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ColumnStats {
    pub name: String,
    pub null_count: u64,
    /// Smallest value, rendered as in the API (absent for an all-null column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    /// Number of distinct non-null values, when it was cheap to know exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_type_names_round_trip() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }
}
