//! Reading a publisher's Frictionless Table Schema (<https://specs.frictionlessdata.io/table-schema/>) into
//! tapwater's field metadata.
//!
//! Types map to tapwater's: `integer` → integer, `number` → decimal, `boolean` → boolean, `date` → date, `time` →
//! time, `datetime` → datetime, and `string`, `any`, `year`, `yearmonth`, `duration`, `object`, `array`, `geopoint`,
//! `geojson` → text (tapwater keeps such values as published). An absent type is `string`. Any other type name is
//! refused. Members tapwater has no place for (`title`, `format`, `example` …) are ignored; a field's unit is read
//! from a custom `unit` member (tapwater's own packages write it there).
//!
//! `pattern` is checked to be a string only; whether it is a valid regular expression is for the caller (the
//! quality checks compile it).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tapwater_types::{FieldConstraints, FieldMetadata, FieldType, ForeignKey};

use crate::MetadataError;

/// What a Table Schema declares, in tapwater's terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportedSchema {
    /// One per schema field, in order, with `declared_type` set.
    pub fields: Vec<FieldMetadata>,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
    /// The schema's `missingValues` (Table Schema's default `[""]` when absent).
    pub missing_values: Vec<String>,
}

fn err(param: impl Into<String>, message: impl Into<String>, message_zh: impl Into<String>) -> MetadataError {
    MetadataError::new(param, message, message_zh)
}

/// The tapwater type of a Table Schema type name; `None` for a name Table Schema does not define.
pub(crate) fn field_type_of(name: &str) -> Option<FieldType> {
    Some(match name {
        "integer" => FieldType::Integer,
        "number" => FieldType::Decimal,
        "boolean" => FieldType::Boolean,
        "date" => FieldType::Date,
        "time" => FieldType::Time,
        "datetime" => FieldType::Datetime,
        "string" | "any" | "year" | "yearmonth" | "duration" | "object" | "array" | "geopoint" | "geojson" => {
            FieldType::Text
        }
        _ => return None,
    })
}

/// Parses a Table Schema; the error's `param` points at the offending member (`fields[2].constraints.pattern`).
pub fn import_table_schema(schema: &Value) -> Result<ImportedSchema, MetadataError> {
    let Some(schema) = schema.as_object() else {
        return Err(err("", "a Table Schema is a JSON object", "Table Schema 須為 JSON 物件"));
    };
    let Some(fields) = schema.get("fields") else {
        return Err(err("fields", "the schema has no \"fields\"", "Table Schema 缺少 fields"));
    };
    let Some(fields) = fields.as_array() else {
        return Err(err("fields", "\"fields\" must be an array", "fields 須為陣列"));
    };
    let mut out = ImportedSchema::default();
    for (i, field) in fields.iter().enumerate() {
        let param = format!("fields[{i}]");
        let field = import_field(&param, field)?;
        if out.fields.iter().any(|f| f.name == field.name) {
            return Err(err(
                format!("{param}.name"),
                format!("the field name {:?} appears twice", field.name),
                format!("欄位名稱「{}」重複", field.name),
            ));
        }
        out.fields.push(field);
    }
    let names: Vec<&str> = out.fields.iter().map(|f| f.name.as_str()).collect();

    if let Some(pk) = schema.get("primaryKey") {
        out.primary_key = string_or_array(pk, "primaryKey")?;
        for (i, name) in out.primary_key.iter().enumerate() {
            if !names.contains(&name.as_str()) {
                return Err(unknown_field(&format!("primaryKey[{i}]"), name));
            }
        }
    }
    if let Some(fks) = schema.get("foreignKeys") {
        let Some(fks) = fks.as_array() else {
            return Err(err("foreignKeys", "\"foreignKeys\" must be an array", "foreignKeys 須為陣列"));
        };
        for (i, fk) in fks.iter().enumerate() {
            out.foreign_keys.push(import_foreign_key(&format!("foreignKeys[{i}]"), fk, &names)?);
        }
    }
    out.missing_values = match schema.get("missingValues") {
        None => vec![String::new()],
        Some(Value::Array(values)) => values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    err(format!("missingValues[{i}]"), "a missing value must be a string", "缺值標記須為字串")
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(err(
                "missingValues",
                "\"missingValues\" must be an array of strings",
                "missingValues 須為字串陣列",
            ));
        }
    };
    Ok(out)
}

fn unknown_field(param: &str, name: &str) -> MetadataError {
    err(param, format!("{name:?} is not a field of the schema"), format!("「{name}」不是 Table Schema 中的欄位"))
}

fn string_or_array(value: &Value, param: &str) -> Result<Vec<String>, MetadataError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| err(format!("{param}[{i}]"), "a field name must be a string", "欄位名稱須為字串"))
            })
            .collect(),
        _ => Err(err(param, "must be a field name or an array of field names", "須為欄位名稱或欄位名稱陣列")),
    }
}

fn optional_string(object: &Map<String, Value>, key: &str, param: &str) -> Result<Option<String>, MetadataError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.trim().is_empty())),
        Some(_) => Err(err(format!("{param}.{key}"), format!("\"{key}\" must be a string"), format!("{key} 須為字串"))),
    }
}

fn import_field(param: &str, field: &Value) -> Result<FieldMetadata, MetadataError> {
    let Some(field) = field.as_object() else {
        return Err(err(param, "a field must be a JSON object", "欄位須為 JSON 物件"));
    };
    let name = match field.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        Some(Value::String(_)) | None => {
            return Err(err(format!("{param}.name"), "the field has no name", "欄位缺少名稱"));
        }
        Some(_) => return Err(err(format!("{param}.name"), "a field's name must be a string", "欄位名稱須為字串")),
    };
    let type_name = optional_string(field, "type", param)?.unwrap_or_else(|| "string".to_string());
    let Some(field_type) = field_type_of(&type_name) else {
        return Err(err(
            format!("{param}.type"),
            format!("unknown Table Schema type {type_name:?}"),
            format!("未知的 Table Schema 型別「{type_name}」"),
        ));
    };
    let description = optional_string(field, "description", param)?;
    let unit = optional_string(field, "unit", param)?;
    let uri = optional_string(field, "rdfType", param)?;
    let constraints = match field.get("constraints") {
        None | Some(Value::Null) => FieldConstraints::default(),
        Some(Value::Object(c)) => import_constraints(&format!("{param}.constraints"), c)?,
        Some(_) => {
            return Err(err(
                format!("{param}.constraints"),
                "\"constraints\" must be an object",
                "constraints 須為物件",
            ));
        }
    };
    Ok(FieldMetadata { name, description, unit, uri, declared_type: Some(field_type), constraints })
}

fn import_constraints(param: &str, c: &Map<String, Value>) -> Result<FieldConstraints, MetadataError> {
    let at = |key: &str| format!("{param}.{key}");
    let wrong = |key: &str, what: &str, what_zh: &str| {
        err(at(key), format!("\"{key}\" must be {what}"), format!("{key} 須為{what_zh}"))
    };
    let boolean = |key: &str| match c.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(wrong(key, "true or false", "布林值（true 或 false）")),
    };
    let number = |key: &str| match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        // Table Schema allows bounds in the field's lexical form ("10") too.
        Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| wrong(key, "a number", "數值")),
        Some(_) => Err(wrong(key, "a number", "數值")),
    };
    let length = |key: &str| match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| wrong(key, "a non-negative integer", "非負整數")),
        Some(_) => Err(wrong(key, "a non-negative integer", "非負整數")),
    };
    let mut allowed = BTreeMap::new();
    match c.get("enum") {
        None | Some(Value::Null) => {}
        Some(Value::Array(values)) => {
            for (i, value) in values.iter().enumerate() {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(err(
                            format!("{}[{i}]", at("enum")),
                            "an enum value must be a string, a number or a boolean",
                            "enum 的值須為字串、數值或布林值",
                        ));
                    }
                };
                allowed.insert(text, String::new());
            }
        }
        Some(_) => return Err(wrong("enum", "an array", "陣列")),
    }
    let pattern = match c.get("pattern") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(_) => return Err(wrong("pattern", "a string (a regular expression)", "字串（正規表示式）")),
    };
    Ok(FieldConstraints {
        required: boolean("required")?,
        unique: boolean("unique")?,
        allowed,
        minimum: number("minimum")?,
        maximum: number("maximum")?,
        min_length: length("minLength")?,
        max_length: length("maxLength")?,
        pattern,
    })
}

fn import_foreign_key(param: &str, fk: &Value, names: &[&str]) -> Result<ForeignKey, MetadataError> {
    let Some(fk) = fk.as_object() else {
        return Err(err(param, "a foreign key must be an object", "外鍵須為物件"));
    };
    let Some(fields) = fk.get("fields") else {
        return Err(err(format!("{param}.fields"), "the foreign key has no \"fields\"", "外鍵缺少 fields"));
    };
    let fields = string_or_array(fields, &format!("{param}.fields"))?;
    for (i, name) in fields.iter().enumerate() {
        if !names.contains(&name.as_str()) {
            return Err(unknown_field(&format!("{param}.fields[{i}]"), name));
        }
    }
    let Some(reference) = fk.get("reference").and_then(Value::as_object) else {
        return Err(err(
            format!("{param}.reference"),
            "the foreign key has no \"reference\" object",
            "外鍵缺少 reference 物件",
        ));
    };
    let resource = match reference.get("resource") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(err(
                format!("{param}.reference.resource"),
                "\"resource\" must be a string",
                "resource 須為字串",
            ));
        }
    };
    let Some(reference_fields) = reference.get("fields") else {
        return Err(err(
            format!("{param}.reference.fields"),
            "the reference has no \"fields\"",
            "reference 缺少 fields",
        ));
    };
    let reference_fields = string_or_array(reference_fields, &format!("{param}.reference.fields"))?;
    if reference_fields.len() != fields.len() {
        return Err(err(
            format!("{param}.reference.fields"),
            "the reference names as many fields as the key",
            "reference 的欄位數須與外鍵欄位數相同",
        ));
    }
    Ok(ForeignKey { fields, resource, reference_fields })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn param_of(schema: Value) -> String {
        import_table_schema(&schema).expect_err("should fail").param
    }

    #[test]
    fn imports_fields_keys_and_constraints() {
        let schema = json!({
            "fields": [
                {"name": "代碼", "type": "string", "description": "行政區代碼",
                 "constraints": {"required": true, "unique": true, "pattern": "[0-9]{8}", "minLength": 8}},
                {"name": "人口數", "type": "integer", "unit": "人", "rdfType": "http://example.org/pop",
                 "constraints": {"minimum": 0, "maximum": "1000000", "enum": [1, 2]}},
                {"name": "比例", "type": "number"},
                {"name": "年", "type": "year"},
                {"name": "月", "type": "yearmonth"},
                {"name": "任意"},
                {"name": "是", "type": "boolean"},
                {"name": "日", "type": "date"},
                {"name": "時", "type": "time"},
                {"name": "刻", "type": "datetime"},
                {"name": "上層", "type": "any"}
            ],
            "primaryKey": "代碼",
            "foreignKeys": [{"fields": "上層", "reference": {"resource": "", "fields": "代碼"}}],
            "missingValues": ["", "NA"]
        });
        let imported = import_table_schema(&schema).unwrap();
        let types: Vec<FieldType> = imported.fields.iter().map(|f| f.declared_type.unwrap()).collect();
        use FieldType::*;
        assert_eq!(types, [Text, Integer, Decimal, Text, Text, Text, Boolean, Date, Time, Datetime, Text]);
        let code = &imported.fields[0];
        assert_eq!(code.description.as_deref(), Some("行政區代碼"));
        assert!(code.constraints.required && code.constraints.unique);
        assert_eq!(code.constraints.pattern.as_deref(), Some("[0-9]{8}"));
        assert_eq!(code.constraints.min_length, Some(8));
        let people = &imported.fields[1];
        assert_eq!(people.unit.as_deref(), Some("人"));
        assert_eq!(people.uri.as_deref(), Some("http://example.org/pop"));
        assert_eq!(people.constraints.minimum, Some(0.0));
        assert_eq!(people.constraints.maximum, Some(1_000_000.0));
        assert_eq!(people.constraints.allowed.keys().collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(imported.primary_key, ["代碼"]);
        assert_eq!(
            imported.foreign_keys,
            [ForeignKey {
                fields: vec!["上層".into()],
                resource: String::new(),
                reference_fields: vec!["代碼".into()]
            }]
        );
        assert_eq!(imported.missing_values, ["", "NA"]);
        assert_eq!(import_table_schema(&json!({"fields": []})).unwrap().missing_values, [""]);
    }

    #[test]
    fn errors_name_the_member() {
        assert_eq!(param_of(json!([])), "");
        assert_eq!(param_of(json!({})), "fields");
        assert_eq!(param_of(json!({"fields": {}})), "fields");
        assert_eq!(param_of(json!({"fields": [{"name": "a"}, {"type": "string"}]})), "fields[1].name");
        assert_eq!(param_of(json!({"fields": [{"name": "a"}, {"name": "a"}]})), "fields[1].name");
        assert_eq!(param_of(json!({"fields": [{"name": "a", "type": "decimal"}]})), "fields[0].type");
        assert_eq!(
            param_of(json!({"fields": [{"name": "a"}, {"name": "b"}, {"name": "c", "constraints": {"pattern": 3}}]})),
            "fields[2].constraints.pattern"
        );
        assert_eq!(
            param_of(json!({"fields": [{"name": "a", "constraints": {"required": "yes"}}]})),
            "fields[0].constraints.required"
        );
        assert_eq!(
            param_of(json!({"fields": [{"name": "a", "constraints": {"maxLength": -1}}]})),
            "fields[0].constraints.maxLength"
        );
        assert_eq!(
            param_of(json!({"fields": [{"name": "a", "constraints": {"enum": "x"}}]})),
            "fields[0].constraints.enum"
        );
        assert_eq!(param_of(json!({"fields": [{"name": "a", "constraints": []}]})), "fields[0].constraints");
        assert_eq!(param_of(json!({"fields": [{"name": "a"}], "primaryKey": ["a", "b"]})), "primaryKey[1]");
        assert_eq!(
            param_of(
                json!({"fields": [{"name": "a"}], "foreignKeys": [{"fields": "z", "reference": {"fields": "a"}}]})
            ),
            "foreignKeys[0].fields[0]"
        );
        assert_eq!(param_of(json!({"fields": [], "missingValues": ["", 0]})), "missingValues[1]");
        let error = import_table_schema(&json!({"fields": [{"name": "x", "type": "decimal"}]})).unwrap_err();
        assert!(error.message.contains("decimal") && error.message_zh.contains("decimal"), "{error:?}");
        assert_eq!(error.to_string(), "fields[0].type: unknown Table Schema type \"decimal\"");
    }

    #[test]
    fn round_trips_a_written_schema() {
        let schema = crate::table_schema(&crate::fixtures::dataset(), &crate::fixtures::version());
        let imported = import_table_schema(&schema).unwrap();
        assert_eq!(imported.fields.len(), 9);
        assert_eq!(imported.fields[4].unit.as_deref(), Some("人"));
        assert_eq!(imported.primary_key, ["代碼", "統計年月"]);
        assert_eq!(imported.foreign_keys.len(), 1);
    }
}
