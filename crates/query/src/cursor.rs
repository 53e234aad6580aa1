//! Keyset-paging cursors: the opaque `next_cursor` / `_cursor` tokens.
//!
//! A token is base64url (no padding) of a small JSON object:
//! `{"v": version_seq, "q": "<fingerprint>", "k": [last row's sort-key values], "r": last row id}`.
//! Resuming returns the rows strictly after `(k, r)` in the query's order (ties on every sort key are broken by row
//! id, so that order is total): the engine finds that position by binary search, so page 10,000 costs what page 1
//! costs, and rows never shift between pages (versions are immutable).
//!
//! The fingerprint `q` is FNV-1a 64 over a canonical rendering of the filters and the sort, *and* of `v`, `k` and
//! `r`: a token used with other filters or another sort, or edited by hand, does not verify and is
//! `invalid_cursor`. This is a consistency check, not a secret: a cursor only ever positions a read of data the
//! caller may read anyway.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tapwater_types::{FieldType, TableSchema};

use crate::QueryError;
use crate::params::{Filter, SortKey, Value};

/// A verified cursor: resume after the row `after_row`, whose sort-key values were `after_key` (one per sort key,
/// `None` for null).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub version: i64,
    pub after_key: Vec<Option<Value>>,
    pub after_row: u32,
}

#[derive(Serialize, Deserialize)]
struct Token {
    v: i64,
    q: String,
    k: Vec<Json>,
    r: u32,
}

const PARAM: &str = "_cursor";

fn invalid() -> QueryError {
    QueryError::InvalidCursor { param: PARAM.to_string() }
}

fn read_token(token: &str) -> Result<Token, QueryError> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim().as_bytes()).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// The version a cursor belongs to (read before the schema is known; verified later by [`decode`]).
pub fn cursor_version(token: &str) -> Result<i64, QueryError> {
    let token = read_token(token)?;
    if token.v < 1 {
        return Err(invalid());
    }
    Ok(token.v)
}

/// Makes the token for "after `row`, whose sort-key values are `key`".
pub fn encode(
    version: i64,
    schema: &TableSchema,
    filters: &[Filter],
    sort: &[SortKey],
    key: &[Option<Value>],
    row: u32,
) -> String {
    let token = Token {
        v: version,
        q: fingerprint(version, schema, filters, sort, key, row),
        k: key.iter().map(|v| v.as_ref().map_or(Json::Null, value_to_json)).collect(),
        r: row,
    };
    // Serializing plain data to JSON cannot fail; an empty token would simply not verify.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Reads and verifies a token for a query with these filters and this sort.
pub fn decode(token: &str, schema: &TableSchema, filters: &[Filter], sort: &[SortKey]) -> Result<Cursor, QueryError> {
    let token = read_token(token)?;
    if token.k.len() != sort.len() || token.v < 1 {
        return Err(invalid());
    }
    let mut key = Vec::with_capacity(sort.len());
    for (json, sort_key) in token.k.iter().zip(sort) {
        let field_type = schema.fields.get(sort_key.column).ok_or_else(invalid)?.field_type;
        key.push(json_to_value(json, field_type)?);
    }
    if fingerprint(token.v, schema, filters, sort, &key, token.r) != token.q {
        return Err(invalid());
    }
    Ok(Cursor { version: token.v, after_key: key, after_row: token.r })
}

fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Int(i) | Value::Time(i) | Value::Timestamp(i) => Json::from(*i),
        Value::Date(d) => Json::from(*d),
        // Non-finite floats have no JSON number; they are carried by their bits.
        Value::Float(f) if f.is_finite() => Json::from(*f),
        Value::Float(f) => Json::String(format!("{:016x}", f.to_bits())),
        Value::Bool(b) => Json::Bool(*b),
        Value::Text(s) => Json::String(s.clone()),
    }
}

fn json_to_value(json: &Json, field_type: FieldType) -> Result<Option<Value>, QueryError> {
    if json.is_null() {
        return Ok(None);
    }
    let value = match field_type {
        FieldType::Integer => json.as_i64().map(Value::Int),
        FieldType::Decimal => match json {
            Json::String(bits) => u64::from_str_radix(bits, 16).ok().map(|b| Value::Float(f64::from_bits(b))),
            _ => json.as_f64().map(Value::Float),
        },
        FieldType::Boolean => json.as_bool().map(Value::Bool),
        FieldType::Date => json.as_i64().and_then(|d| i32::try_from(d).ok()).map(Value::Date),
        FieldType::Time => json.as_i64().map(Value::Time),
        FieldType::Datetime => json.as_i64().map(Value::Timestamp),
        FieldType::Text => json.as_str().map(|s| Value::Text(s.to_string())),
    };
    value.map(Some).ok_or_else(invalid)
}

/// FNV-1a 64 over the canonical rendering of (filters, sort, version, key, row), as 16 hex digits.
fn fingerprint(
    version: i64,
    schema: &TableSchema,
    filters: &[Filter],
    sort: &[SortKey],
    key: &[Option<Value>],
    row: u32,
) -> String {
    // Filters AND together, so their order does not matter: sort their renderings.
    let mut rendered: Vec<String> = filters
        .iter()
        .map(|f| {
            let values: Vec<String> = f.values.iter().map(Value::canonical).collect();
            format!("{}|{}|{}|{}", f.column, f.op.as_str(), u8::from(f.negate_null), values.join("\u{1f}"))
        })
        .collect();
    rendered.sort();
    let mut canonical = format!("tapwater-cursor-1\u{1e}{version}\u{1e}");
    // The column types are part of the meaning of the key values.
    for k in sort {
        let type_name = schema.fields.get(k.column).map_or("?", |f| f.field_type.as_str());
        canonical.push_str(&format!("{}{}:{type_name},", if k.descending { '-' } else { '+' }, k.column));
    }
    canonical.push('\u{1e}');
    canonical.push_str(&rendered.join("\u{1d}"));
    canonical.push('\u{1e}');
    for v in key {
        canonical.push_str(&v.as_ref().map_or_else(|| "null".to_string(), Value::canonical));
        canonical.push('\u{1f}');
    }
    canonical.push_str(&format!("\u{1e}{row}"));
    format!("{:016x}", fnv1a64(canonical.as_bytes()))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwater_types::Field;

    fn schema() -> TableSchema {
        TableSchema { fields: vec![Field::new("a", FieldType::Decimal), Field::new("b", FieldType::Text)] }
    }

    #[test]
    fn round_trip_with_nulls_and_odd_floats() {
        let s = schema();
        let sort = [SortKey { column: 0, descending: true }, SortKey { column: 1, descending: false }];
        for a in [Some(Value::Float(0.1)), Some(Value::Float(f64::INFINITY)), Some(Value::Float(-0.0)), None] {
            let key = vec![a, Some(Value::Text("臺北市,大安區".into()))];
            let token = encode(3, &s, &[], &sort, &key, 99);
            assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
            let c = decode(&token, &s, &[], &sort).unwrap();
            assert_eq!(c.after_row, 99);
            assert_eq!(c.version, 3);
            match (&c.after_key[0], &key[0]) {
                (Some(Value::Float(x)), Some(Value::Float(y))) => assert_eq!(x.to_bits(), y.to_bits()),
                (x, y) => assert_eq!(x, y),
            }
            assert_eq!(cursor_version(&token).unwrap(), 3);
        }
    }

    #[test]
    fn edited_tokens_do_not_verify() {
        let s = schema();
        let sort = [SortKey { column: 1, descending: false }];
        let token = encode(3, &s, &[], &sort, &[Some(Value::Text("x".into()))], 5);
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&token).unwrap()).unwrap();
        let edited = URL_SAFE_NO_PAD.encode(json.replace("\"r\":5", "\"r\":6"));
        assert_eq!(decode(&edited, &s, &[], &sort).unwrap_err(), invalid());
        assert_eq!(decode("!!", &s, &[], &sort).unwrap_err(), invalid());
        assert_eq!(decode(&token, &s, &[], &[]).unwrap_err(), invalid());
    }
}
