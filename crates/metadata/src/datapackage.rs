//! Frictionless Data Package v1 (<https://specs.frictionlessdata.io/data-package/>) of one version, with a Table
//! Schema (<https://specs.frictionlessdata.io/table-schema/>) that describes tapwater's CSV exactly.
//!
//! How tapwater's CSV encoder (`tapwater-query`, `encode/value.rs`) writes each type, and the Table Schema type and
//! format that reads it back:
//!
//! | tapwater type | CSV text | Table Schema |
//! |---|---|---|
//! | integer | digits, `-` sign | `integer`, format `default` |
//! | decimal | shortest round-trip decimal, never exponent notation | `number`, format `default` |
//! | boolean | `true` / `false` | `boolean`, `trueValues ["true"]`, `falseValues ["false"]` |
//! | date | `YYYY-MM-DD` | `date`, format `default` (ISO 8601) |
//! | time | `HH:MM:SS[.ffffff]` | `time`, format `default` (ISO 8601 time) |
//! | datetime | RFC 3339 in Asia/Taipei, `2016-01-01T08:30:00+08:00` | `datetime`, format `default` (ISO 8601) |
//! | text | RFC 4180 quoting | `string`, format `default` |
//! | null (any type) | empty cell | `missingValues [""]` |
//!
//! Fractions of seconds of times and date-times are written only when non-zero; ISO 8601 readers take both. The
//! file is UTF-8 without a byte order mark (the BOM is only added on `?bom=1`, which the package does not link
//! to), a header line of the column names, `\n` line ends.
//!
//! Constraints are written only where Table Schema allows them for the field's type (frictionless refuses the
//! others): `minimum`/`maximum` on integer and number fields, `minLength`/`maxLength`/`pattern` on string fields,
//! `required`/`unique`/`enum` on all. Foreign keys are written only when they refer to this same dataset
//! (`reference.resource` `""`): a Data Package can only refer to its own resources. References to other datasets
//! are kept in the schema's custom `tapwaterForeignKeys` member instead.

use serde_json::{Map, Value, json};
use tapwater_types::{Dataset, Field, FieldType, ForeignKey, Version, license_by_id};

use crate::{Site, field_description, field_metadata, field_unit, keywords, non_empty, rfc3339, urls};

/// The Table Schema type of a tapwater field type.
pub(crate) fn table_schema_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Integer => "integer",
        FieldType::Decimal => "number",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::Time => "time",
        FieldType::Datetime => "datetime",
        FieldType::Text => "string",
    }
}

/// The Data Package of `version`, its resource the version's full CSV download (an absolute URL).
pub fn datapackage(site: &Site, dataset: &Dataset, version: &Version) -> Value {
    let path = urls::download(site, dataset.slug.as_str(), version.seq, "csv");
    datapackage_with_path(site, dataset, version, &path)
}

/// As [`datapackage`], with the resource's `path` given: a relative path to a local copy of the CSV (to validate
/// the package offline) or any other URL of the same bytes.
pub fn datapackage_with_path(site: &Site, dataset: &Dataset, version: &Version, path: &str) -> Value {
    let slug = dataset.slug.as_str();
    let metadata = &dataset.metadata;
    let mut package = Map::new();
    package.insert("profile".into(), json!("tabular-data-package"));
    // A slug is already a valid package name (lowercase a-z, 0-9, `-`, `_`).
    package.insert("name".into(), json!(slug));
    package.insert("id".into(), json!(urls::version(site, slug, version.seq)));
    package.insert("title".into(), json!(dataset.title));
    if !dataset.description.trim().is_empty() {
        package.insert("description".into(), json!(dataset.description));
    }
    package.insert("version".into(), json!(version.seq.to_string()));
    package.insert("created".into(), json!(rfc3339(version.created_at)));
    package.insert("homepage".into(), json!(urls::page(site, slug)));
    package.insert("licenses".into(), json!([license(&dataset.license)]));

    let mut sources = vec![json!({
        "title": format!("原始檔案 Original file: {}", version.original.filename),
        "path": urls::download(site, slug, version.seq, "original"),
    })];
    if let Some(source) = non_empty(metadata.source.as_ref()) {
        sources.push(json!({ "title": source }));
    }
    if let Some(page) = non_empty(metadata.landing_page.as_ref()) {
        sources.push(json!({ "title": "資料提供機關網頁 Publisher's page", "path": page }));
    }
    package.insert("sources".into(), Value::Array(sources));

    let words = keywords(dataset);
    if !words.is_empty() {
        package.insert("keywords".into(), json!(words));
    }
    let mut contributors = Vec::new();
    if let Some(publisher) = &dataset.publisher {
        contributors.push(json!({
            "title": publisher.name,
            "path": urls::publisher(site, publisher.slug.as_str()),
            "role": "publisher",
        }));
    }
    if let Some(contact) = &metadata.contact
        && let Some(name) = non_empty(contact.name.as_ref()).or(non_empty(contact.email.as_ref()))
    {
        let mut person = Map::new();
        person.insert("title".into(), json!(name));
        if let Some(email) = non_empty(contact.email.as_ref()) {
            person.insert("email".into(), json!(email));
        }
        if let Some(publisher) = &dataset.publisher {
            person.insert("organization".into(), json!(publisher.name));
        }
        person.insert("role".into(), json!("maintainer"));
        contributors.push(Value::Object(person));
    }
    if !contributors.is_empty() {
        package.insert("contributors".into(), Value::Array(contributors));
    }

    let mut resource = Map::new();
    resource.insert("name".into(), json!(slug));
    resource.insert("path".into(), json!(path));
    resource.insert("profile".into(), json!("tabular-data-resource"));
    resource.insert("title".into(), json!(dataset.title));
    resource.insert("format".into(), json!("csv"));
    resource.insert("mediatype".into(), json!("text/csv"));
    resource.insert("encoding".into(), json!("utf-8"));
    resource.insert("dialect".into(), json!({ "delimiter": ",", "header": true, "lineTerminator": "\n" }));
    resource.insert("schema".into(), table_schema(dataset, version));
    package.insert("resources".into(), json!([Value::Object(resource)]));
    Value::Object(package)
}

fn license(id: &str) -> Value {
    match license_by_id(id) {
        Some(l) => json!({ "name": l.id, "path": l.url, "title": l.name }),
        None => json!({ "name": id }),
    }
}

/// The Table Schema of `version`'s CSV, with the publisher's declared descriptions, units, URIs, constraints and
/// keys (see the module's notes on what is written where).
pub fn table_schema(dataset: &Dataset, version: &Version) -> Value {
    let metadata = &dataset.metadata;
    let schema = &version.schema;
    let fields: Vec<Value> = schema.fields.iter().map(|field| schema_field(dataset, field)).collect();
    let mut out = Map::new();
    out.insert("fields".into(), Value::Array(fields));
    out.insert("missingValues".into(), json!([""]));

    // Keys name columns as published; a declared alias is resolved to the column name.
    let resolve = |name: &String| schema.resolve(name).map(|i| schema.fields[i].name.clone());
    let primary_key: Option<Vec<String>> = metadata.primary_key.iter().map(resolve).collect();
    if let Some(primary_key) = primary_key.filter(|k| !k.is_empty()) {
        out.insert("primaryKey".into(), json!(primary_key));
    }
    let mut foreign_keys = Vec::new();
    let mut external = Vec::new();
    for fk in &metadata.foreign_keys {
        let Some(fields) = fk.fields.iter().map(resolve).collect::<Option<Vec<String>>>() else {
            continue;
        };
        if fields.is_empty() || fields.len() != fk.reference_fields.len() {
            continue;
        }
        if fk.resource == dataset.slug.as_str() || fk.resource.is_empty() {
            let Some(reference) = fk.reference_fields.iter().map(resolve).collect::<Option<Vec<String>>>() else {
                continue;
            };
            foreign_keys.push(json!({ "fields": fields, "reference": { "resource": "", "fields": reference } }));
        } else {
            external.push(external_foreign_key(fk, fields));
        }
    }
    if !foreign_keys.is_empty() {
        out.insert("foreignKeys".into(), Value::Array(foreign_keys));
    }
    if !external.is_empty() {
        out.insert("tapwaterForeignKeys".into(), Value::Array(external));
    }
    Value::Object(out)
}

fn external_foreign_key(fk: &ForeignKey, fields: Vec<String>) -> Value {
    json!({ "fields": fields, "reference": { "resource": fk.resource, "fields": fk.reference_fields } })
}

fn schema_field(dataset: &Dataset, field: &Field) -> Value {
    let metadata = &dataset.metadata;
    let mut out = Map::new();
    out.insert("name".into(), json!(field.name));
    out.insert("type".into(), json!(table_schema_type(field.field_type)));
    out.insert("format".into(), json!("default"));
    if field.field_type == FieldType::Boolean {
        out.insert("trueValues".into(), json!(["true"]));
        out.insert("falseValues".into(), json!(["false"]));
    }
    if let Some(description) = field_description(metadata, field) {
        out.insert("description".into(), json!(description));
    }
    if let Some(unit) = field_unit(metadata, field) {
        out.insert("unit".into(), json!(unit));
    }
    let declared = field_metadata(metadata, field);
    if let Some(uri) = declared.and_then(|m| non_empty(m.uri.as_ref())) {
        out.insert("rdfType".into(), json!(uri));
    }
    if let Some(declared) = declared {
        let constraints = constraints(field.field_type, &declared.constraints);
        if !constraints.is_empty() {
            out.insert("constraints".into(), Value::Object(constraints));
        }
    }
    Value::Object(out)
}

/// A number as an integer when the field is one and the value is whole (frictionless reads integer constraints
/// with the integer reader).
fn bound(field_type: FieldType, value: f64) -> Value {
    if field_type == FieldType::Integer && value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

fn constraints(field_type: FieldType, c: &tapwater_types::FieldConstraints) -> Map<String, Value> {
    let mut out = Map::new();
    if c.required {
        out.insert("required".into(), json!(true));
    }
    if c.unique {
        out.insert("unique".into(), json!(true));
    }
    if !c.allowed.is_empty() {
        // Enum values in the field's physical (CSV) form; frictionless reads them with the field's reader.
        let values: Vec<Value> = c.allowed.keys().map(|k| json!(k)).collect();
        out.insert("enum".into(), Value::Array(values));
    }
    if field_type.is_numeric() {
        if let Some(min) = c.minimum {
            out.insert("minimum".into(), bound(field_type, min));
        }
        if let Some(max) = c.maximum {
            out.insert("maximum".into(), bound(field_type, max));
        }
    }
    if field_type == FieldType::Text {
        if let Some(min) = c.min_length {
            out.insert("minLength".into(), json!(min));
        }
        if let Some(max) = c.max_length {
            out.insert("maxLength".into(), json!(max));
        }
        if let Some(pattern) = &c.pattern {
            out.insert("pattern".into(), json!(pattern));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn type_mapping() {
        let expected = [
            (FieldType::Integer, "integer"),
            (FieldType::Decimal, "number"),
            (FieldType::Boolean, "boolean"),
            (FieldType::Date, "date"),
            (FieldType::Time, "time"),
            (FieldType::Datetime, "datetime"),
            (FieldType::Text, "string"),
        ];
        for (t, name) in expected {
            assert_eq!(table_schema_type(t), name);
        }
    }

    #[test]
    fn package_shape() {
        let site = fixtures::site();
        let package = datapackage(&site, &fixtures::dataset(), &fixtures::version());
        assert_eq!(package["name"], "tainan-population");
        assert_eq!(package["id"], "https://data.example.gov.tw/api/v1/datasets/tainan-population/versions/3");
        assert_eq!(package["version"], "3");
        assert_eq!(package["created"], "2024-03-02T01:00:00Z");
        assert_eq!(package["licenses"][0]["name"], "OGDL-Taiwan-1.0");
        assert_eq!(package["licenses"][0]["path"], "https://data.gov.tw/license");
        assert_eq!(package["keywords"], json!(["人口", "戶政", "人口及住宅"]));
        let resource = &package["resources"][0];
        assert_eq!(
            resource["path"],
            "https://data.example.gov.tw/api/v1/datasets/tainan-population/download?format=csv&_version=3"
        );
        assert_eq!(resource["profile"], "tabular-data-resource");
        let fields = resource["schema"]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 9);
        // Declared metadata found through the alias `district`.
        assert_eq!(fields[2]["name"], "行政區");
        assert_eq!(fields[2]["description"], "行政區名稱");
        assert_eq!(fields[2]["rdfType"], "http://schema.org/addressLocality");
        assert_eq!(fields[2]["constraints"]["enum"], json!(["中西區", "東區"]));
        assert_eq!(fields[4]["unit"], "人");
        assert_eq!(fields[4]["constraints"]["minimum"], json!(0));
        assert_eq!(fields[5]["description"], "每百女子所當男子數", "the schema's own description");
        assert_eq!(fields[6]["trueValues"], json!(["true"]));
        assert_eq!(fields[0]["constraints"]["pattern"], "[0-9]{8}");
        let schema = &resource["schema"];
        assert_eq!(schema["primaryKey"], json!(["代碼", "統計年月"]));
        assert_eq!(
            schema["foreignKeys"],
            json!([{"fields": ["上層代碼"], "reference": {"resource": "", "fields": ["代碼"]}}])
        );
        assert_eq!(schema["tapwaterForeignKeys"][0]["reference"]["resource"], "tainan-districts");
        assert_eq!(schema["missingValues"], json!([""]));
    }

    #[test]
    fn constraints_only_where_the_type_allows_them() {
        let c = tapwater_types::FieldConstraints {
            minimum: Some(1.5),
            max_length: Some(3),
            pattern: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(Value::Object(constraints(FieldType::Decimal, &c)), json!({"minimum": 1.5}));
        assert_eq!(Value::Object(constraints(FieldType::Text, &c)), json!({"maxLength": 3, "pattern": "x"}));
        assert!(constraints(FieldType::Date, &c).is_empty());
    }
}
