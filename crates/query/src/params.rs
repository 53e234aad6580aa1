//! The REST query grammar: the query string of `/rows` and `/aggregate`, parsed once, against the version's schema,
//! into a typed [`RowQuery`] or [`AggregateQuery`].
//!
//! The input is the request's query pairs, already percent-decoded (Chinese column names arrive as text). Parsing
//! checks everything it can without touching data: column names, operators, operator/type fit, filter values (read
//! with exactly the parsers ingestion used, so `2020-01-01`, `3` or `true` mean what they meant when the file was
//! published), limits and cursors. Errors name the offending parameter.
//!
//! # Filters
//!
//! | form | meaning |
//! | --- | --- |
//! | `col=value` | `col` equals `value` |
//! | `col__eq=value` | the same |
//! | `col__ne=value` | not equal (a null cell never matches, as in SQL) |
//! | `col__gt=`, `col__gte=`, `col__lt=`, `col__lte=` | `>`, `>=`, `<`, `<=` |
//! | `col__in=a,b,c` | equals one of the comma-separated values |
//! | `col__in=["臺北市,大安區","x"]` | the same, values as a JSON array (for values that contain commas) |
//! | `col__contains=text` | text column contains `text` (case-sensitive) |
//! | `col__startswith=text` | text column starts with `text` (case-sensitive) |
//! | `col__isnull=true` / `=1` | the cell is empty (null); `false` / `0`: the cell is not empty |
//! | `_filters=[["col","op","value"],…]` | any of the above as JSON; always works (see below) |
//!
//! - Every filter must hold (AND); a key may repeat (`year__gte=2018&year__lte=2020`).
//! - A key is resolved like this: if the whole key is a column name (and not a reserved parameter) it is an
//!   equality filter on that column. Otherwise it is split at its **last** `__`: a known operator after a column name
//!   is that filter; an unknown operator after a column name is `unknown_operator`; anything else is
//!   `unknown_column`. So a column named `a__b` is filtered with `a__b=1` or `a__b__gte=1`.
//! - Values are read as the column's type: `date` columns take `2020-01-01`, `integer` columns `3` (but not `3.5`),
//!   `decimal` columns any number, `boolean` columns `true`/`false`, `time` columns `08:30`, `datetime` columns
//!   `2020-01-01T08:30:00` (Asia/Taipei unless an offset is given). A value that does not read is
//!   `invalid_filter_value`.
//! - Comparisons follow SQL: a null cell matches no comparison (`ne` included); use `isnull`. Text compares by
//!   UTF-8 bytes (code points); decimals by IEEE-754 total order (so `-0.0 < 0.0`).
//! - `contains` and `startswith` apply to text columns only (`operator_not_applicable` otherwise).
//! - Column names that start with `_` work directly, except the reserved names below. A column named like a
//!   reserved parameter, or a value the plain form cannot carry, is filtered with the JSON form:
//!   `_filters=[["_sort","eq","x"],["區","in",["臺北市,大安區","x"]],["note","isnull",true]]`. Each filter is
//!   `[column, operator, value]`; values may be JSON strings, numbers or booleans; `in` takes a JSON array (a
//!   single scalar is a one-value list, never split at commas); `isnull` may omit its value (= `true`).
//!   `_filters` may repeat.
//!
//! # Rows (`RowQuery`)
//!
//! - `_sort=col,-col2`: order by `col` ascending, then `col2` descending. Nulls come last in both directions. Rows
//!   that tie on every key keep file order, so paging is deterministic. Without `_sort`, rows come in file order.
//! - `_fields=a,b`: only these columns, in this order.
//! - `_limit=N`: page size, 0 to 10,000 (default 100). `_limit=0` returns only the total.
//! - `_offset=N`: skip N rows. Fine for the first pages; for deep paging follow `next_cursor` instead.
//! - `_cursor=…`: the opaque `next_cursor` of the previous page (keyset paging: each page costs the same however
//!   deep it is). It is bound to the version and to the filters and sort it was issued for; using it with other
//!   filters or sort, or altering it, is `invalid_cursor`. It cannot be combined with `_offset`. `_limit` and
//!   `_fields` may change between pages.
//! - List parameters (`_sort`, `_fields`, and `_group`, `_sum`, `_avg`, `_min`, `_max` below) also take a JSON
//!   array of strings when their value starts with `[`, for column names that contain commas:
//!   `_fields=["人數,男","人數,女"]`. In the array form of `_sort`, a leading `-` still means descending, and a leading
//!   `+` means ascending explicitly: `_sort=["+-x","-y"]` sorts by the column `-x` ascending, then `y` descending.
//!   List parameters may repeat; their lists are concatenated.
//! - `_format`, `_version`, `_bom` and `_shape` are read by the server, and ignored here.
//! - Aggregate parameters (`_group`, `_count`, `_sum` …) are `invalid_parameter` on rows; so is a scalar parameter
//!   given twice.
//!
//! # Aggregates (`AggregateQuery`)
//!
//! - `_group=col1,col2`: one output row per distinct combination (nulls form a group); none: one row for all.
//! - Measures, in the order given: `_count=1` (or `true`; `0`/`false` leaves it out), `_sum=col`, `_avg=col`,
//!   `_min=col`, `_max=col`; comma lists allowed (`_sum=injuries,deaths`). No measure at all means `_count=1`.
//!   `_sum`/`_avg` need numeric columns (`operator_not_applicable` otherwise); `_min`/`_max` work on every type.
//! - Output columns: the group columns by name, then `count`, `sum_<col>`, `avg_<col>`, `min_<col>`, `max_<col>`.
//!   `count` is an integer; `sum` of an integer column is an integer (a sum beyond ±9.2·10¹⁸ is
//!   `invalid_parameter` on `_sum`, never a wrapped or rounded number), of a decimal column a decimal; `avg` is a
//!   decimal; `min`/`max` keep the column's type. Sums, averages, minima and maxima skip nulls and are null when a
//!   group has no value.
//! - `_sort` names output columns (`_sort=-count,district`); by default groups are ordered by the group columns
//!   ascending (nulls last), which also breaks ties of `_sort`.
//! - `_limit` 0 to 10,000 (default 1,000), `_offset` as for rows; filters exactly as for rows. `_fields` and
//!   `_cursor` are `invalid_parameter` here.

use serde_json::Value as Json;
use tapwater_types::{FieldType, TableSchema};

use crate::QueryError;
use crate::cursor::{self, Cursor};

/// Page size when `_limit` is not given (rows).
pub const DEFAULT_LIMIT: usize = 100;
/// Number of groups returned when `_limit` is not given (aggregates).
pub const DEFAULT_AGGREGATE_LIMIT: usize = 1_000;
/// The largest `_limit` accepted (rows and aggregates).
pub const MAX_LIMIT: usize = 10_000;

/// Parameters the grammar reserves; everything else starting with '_' is treated as a column name.
pub const RESERVED: &[&str] = &[
    "_sort", "_fields", "_limit", "_offset", "_cursor", "_format", "_version", "_filters", "_group", "_count", "_sum",
    "_avg", "_min", "_max", "_bom", "_shape",
];

/// Reserved parameters read by the server, not by this parser.
const SERVER_PARAMS: &[&str] = &["_format", "_version", "_bom", "_shape"];

/// Reads only `_version` and the version carried by `_cursor`, before the schema is known (the app needs the
/// version to load the schema).
///
/// `_version=N` must be an integer ≥ 1; when both are given they must agree.
pub fn requested_version(pairs: &[(String, String)]) -> Result<Option<i64>, QueryError> {
    let mut version = None;
    let mut from_cursor = None;
    for (key, value) in pairs {
        match key.as_str() {
            "_version" => {
                if version.is_some() {
                    return Err(given_twice("_version"));
                }
                let n = value.trim().parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    QueryError::invalid_parameter(
                        "_version",
                        format!("{value:?} is not a version number (an integer ≥ 1)"),
                        format!("「{value}」不是版本號（須為 ≥ 1 的整數）"),
                    )
                })?;
                version = Some(n);
            }
            "_cursor" => {
                if from_cursor.is_some() {
                    return Err(given_twice("_cursor"));
                }
                from_cursor = Some(cursor::cursor_version(value)?);
            }
            _ => {}
        }
    }
    match (version, from_cursor) {
        (Some(v), Some(c)) if v != c => Err(QueryError::invalid_parameter(
            "_version",
            format!("_version={v} but the cursor belongs to version {c}"),
            format!("_version={v}，但游標屬於第 {c} 版"),
        )),
        (v, c) => Ok(v.or(c)),
    }
}

/// A query for rows: which rows (filters, cursor), in which order, which columns, how many.
#[derive(Debug, Clone, PartialEq)]
pub struct RowQuery {
    pub filters: Vec<Filter>,
    pub sort: Vec<SortKey>,
    /// Projection (column indexes in output order); `None` = every column in schema order.
    pub fields: Option<Vec<usize>>,
    pub limit: usize,
    pub offset: usize,
    /// The verified position to resume after (from `_cursor`).
    pub cursor: Option<Cursor>,
}

/// A query for aggregates: group columns, measures, filters, order of the groups and paging over them.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateQuery {
    pub group: Vec<usize>,
    pub measures: Vec<Measure>,
    pub filters: Vec<Filter>,
    /// Output column name and descending flag.
    pub sort: Vec<(String, bool)>,
    pub limit: usize,
    pub offset: usize,
}

/// One aggregate output column (the `usize` is the input column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Count,
    Sum(usize),
    Avg(usize),
    Min(usize),
    Max(usize),
}

impl Measure {
    /// The output column name: `count`, `sum_<col>`, `avg_<col>`, `min_<col>`, `max_<col>`.
    pub fn output_name(&self, schema: &TableSchema) -> String {
        let name = |c: &usize| schema.fields.get(*c).map(|f| f.name.as_str()).unwrap_or("?");
        match self {
            Measure::Count => "count".to_string(),
            Measure::Sum(c) => format!("sum_{}", name(c)),
            Measure::Avg(c) => format!("avg_{}", name(c)),
            Measure::Min(c) => format!("min_{}", name(c)),
            Measure::Max(c) => format!("max_{}", name(c)),
        }
    }
}

/// One row filter. Filters AND together.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The parameter it came from (`year__gte`, or `_filters`), for error messages.
    pub param: String,
    pub column: usize,
    pub op: FilterOp,
    /// One value, or several for `In`; empty for `IsNull`.
    pub values: Vec<Value>,
    /// For `IsNull`: true means "is not null" (`isnull=false`).
    pub negate_null: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Contains,
    StartsWith,
    IsNull,
}

impl FilterOp {
    /// Every operator with its name in the grammar.
    pub const ALL: [(FilterOp, &'static str); 10] = [
        (FilterOp::Eq, "eq"),
        (FilterOp::Ne, "ne"),
        (FilterOp::Gt, "gt"),
        (FilterOp::Gte, "gte"),
        (FilterOp::Lt, "lt"),
        (FilterOp::Lte, "lte"),
        (FilterOp::In, "in"),
        (FilterOp::Contains, "contains"),
        (FilterOp::StartsWith, "startswith"),
        (FilterOp::IsNull, "isnull"),
    ];

    pub fn parse(name: &str) -> Option<FilterOp> {
        FilterOp::ALL.iter().find(|(_, n)| *n == name).map(|(op, _)| *op)
    }

    pub fn as_str(self) -> &'static str {
        FilterOp::ALL.iter().find(|(op, _)| *op == self).map(|(_, n)| *n).unwrap_or("eq")
    }
}

/// A typed filter value (or sort key value in a cursor), matching the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since the Unix epoch (UTC).
    Timestamp(i64),
    Text(String),
}

impl Value {
    /// Reads `text` as a value of `field_type`, with the parsers ingestion uses.
    pub fn parse(text: &str, field_type: FieldType) -> Option<Value> {
        match field_type {
            FieldType::Integer => tapwater_ingest::parse_integer(text).map(Value::Int),
            FieldType::Decimal => tapwater_ingest::parse_decimal(text).map(Value::Float),
            FieldType::Boolean => tapwater_ingest::parse_boolean(text).map(Value::Bool),
            FieldType::Date => tapwater_ingest::parse_date(text).map(Value::Date),
            FieldType::Time => tapwater_ingest::parse_time(text).map(Value::Time),
            FieldType::Datetime => tapwater_ingest::parse_datetime(text).map(Value::Timestamp),
            FieldType::Text => Some(Value::Text(text.to_string())),
        }
    }

    /// An exact, unambiguous rendering used in fingerprints (floats by their bits).
    pub(crate) fn canonical(&self) -> String {
        match self {
            Value::Int(i) => format!("i{i}"),
            Value::Float(f) => format!("f{:016x}", f.to_bits()),
            Value::Bool(b) => format!("b{}", u8::from(*b)),
            Value::Date(d) => format!("d{d}"),
            Value::Time(t) => format!("t{t}"),
            Value::Timestamp(t) => format!("s{t}"),
            Value::Text(s) => format!("x{}:{s}", s.len()),
        }
    }
}

/// One sort key of a row query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    pub column: usize,
    pub descending: bool,
}

impl RowQuery {
    /// Parses the query pairs of a `/rows` request against the version's schema.
    pub fn parse(pairs: &[(String, String)], schema: &TableSchema) -> Result<RowQuery, QueryError> {
        let mut query = RowQuery {
            filters: Vec::new(),
            sort: Vec::new(),
            fields: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
            cursor: None,
        };
        let mut once = Once::default();
        let mut offset_given = false;
        let mut cursor_token: Option<&str> = None;
        for (key, value) in pairs {
            match key.as_str() {
                "_sort" => {
                    for item in list_items(key, value)? {
                        let (name, descending) = parse_sort_item(&item.text, item.json)
                            .ok_or_else(|| unknown_sort_column(key, &item.text))?;
                        let column = column_index(schema, key, &name)?;
                        if !query.sort.iter().any(|k| k.column == column) {
                            query.sort.push(SortKey { column, descending });
                        }
                    }
                }
                "_fields" => {
                    let fields = query.fields.get_or_insert_with(Vec::new);
                    for item in list_items(key, value)? {
                        let column = column_index(schema, key, &item.text)?;
                        if !fields.contains(&column) {
                            fields.push(column);
                        }
                    }
                }
                "_limit" => {
                    once.check(key)?;
                    query.limit = parse_count(key, value, Some(MAX_LIMIT))?;
                }
                "_offset" => {
                    once.check(key)?;
                    query.offset = parse_count(key, value, None)?;
                    offset_given = true;
                }
                "_cursor" => {
                    once.check(key)?;
                    cursor_token = Some(value);
                }
                "_filters" => query.filters.extend(parse_json_filters(value, schema)?),
                "_group" | "_count" | "_sum" | "_avg" | "_min" | "_max" => {
                    return Err(QueryError::invalid_parameter(
                        key,
                        "aggregate parameters are only accepted by the aggregate endpoint",
                        "彙總參數只能用於彙總（aggregate）端點",
                    ));
                }
                k if SERVER_PARAMS.contains(&k) => {}
                _ => query.filters.push(parse_plain_filter(key, value, schema)?),
            }
        }
        if let Some(token) = cursor_token {
            if offset_given {
                return Err(QueryError::invalid_parameter(
                    "_cursor",
                    "_cursor cannot be combined with _offset",
                    "_cursor 不能與 _offset 同時使用",
                ));
            }
            query.cursor = Some(cursor::decode(token, schema, &query.filters, &query.sort)?);
        }
        Ok(query)
    }
}

impl AggregateQuery {
    /// Parses the query pairs of an `/aggregate` request against the version's schema.
    pub fn parse(pairs: &[(String, String)], schema: &TableSchema) -> Result<AggregateQuery, QueryError> {
        let mut query = AggregateQuery {
            group: Vec::new(),
            measures: Vec::new(),
            filters: Vec::new(),
            sort: Vec::new(),
            limit: DEFAULT_AGGREGATE_LIMIT,
            offset: 0,
        };
        let mut once = Once::default();
        let mut sort_items: Vec<ListItem> = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "_group" => {
                    for item in list_items(key, value)? {
                        let column = column_index(schema, key, &item.text)?;
                        if !query.group.contains(&column) {
                            query.group.push(column);
                        }
                    }
                }
                "_count" => {
                    once.check(key)?;
                    match value.trim() {
                        "1" | "true" => push_measure(&mut query.measures, Measure::Count),
                        "0" | "false" => {}
                        _ => {
                            return Err(QueryError::invalid_parameter(
                                key,
                                format!("{value:?} is not 1/true or 0/false"),
                                format!("「{value}」不是 1/true 或 0/false"),
                            ));
                        }
                    }
                }
                "_sum" | "_avg" | "_min" | "_max" => {
                    for item in list_items(key, value)? {
                        let column = column_index(schema, key, &item.text)?;
                        let field_type = schema.fields[column].field_type;
                        let measure = match key.as_str() {
                            "_sum" => Measure::Sum(column),
                            "_avg" => Measure::Avg(column),
                            "_min" => Measure::Min(column),
                            _ => Measure::Max(column),
                        };
                        if matches!(measure, Measure::Sum(_) | Measure::Avg(_)) && !field_type.is_numeric() {
                            return Err(QueryError::OperatorNotApplicable {
                                param: key.clone(),
                                op: key.trim_start_matches('_').to_string(),
                                field_type,
                            });
                        }
                        push_measure(&mut query.measures, measure);
                    }
                }
                "_sort" => sort_items.extend(list_items(key, value)?),
                "_limit" => {
                    once.check(key)?;
                    query.limit = parse_count(key, value, Some(MAX_LIMIT))?;
                }
                "_offset" => {
                    once.check(key)?;
                    query.offset = parse_count(key, value, None)?;
                }
                "_filters" => query.filters.extend(parse_json_filters(value, schema)?),
                "_fields" | "_cursor" => {
                    return Err(QueryError::invalid_parameter(
                        key,
                        "not accepted by the aggregate endpoint",
                        "彙總（aggregate）端點不接受此參數",
                    ));
                }
                k if SERVER_PARAMS.contains(&k) => {}
                _ => query.filters.push(parse_plain_filter(key, value, schema)?),
            }
        }
        if query.measures.is_empty() {
            query.measures.push(Measure::Count);
        }
        let outputs = query.output_names(schema);
        for item in sort_items {
            let (name, descending) =
                parse_sort_item(&item.text, item.json).ok_or_else(|| unknown_sort_column("_sort", &item.text))?;
            if !outputs.contains(&name) {
                return Err(unknown_sort_column("_sort", &name));
            }
            if !query.sort.iter().any(|(n, _)| *n == name) {
                query.sort.push((name, descending));
            }
        }
        Ok(query)
    }

    /// The names of the output columns: group columns, then measures.
    pub fn output_names(&self, schema: &TableSchema) -> Vec<String> {
        self.group
            .iter()
            .map(|c| schema.fields[*c].name.clone())
            .chain(self.measures.iter().map(|m| m.output_name(schema)))
            .collect()
    }
}

fn push_measure(measures: &mut Vec<Measure>, measure: Measure) {
    if !measures.contains(&measure) {
        measures.push(measure);
    }
}

/// Remembers scalar parameters already seen, to reject a repeat.
#[derive(Default)]
struct Once(Vec<String>);

impl Once {
    fn check(&mut self, key: &str) -> Result<(), QueryError> {
        if self.0.iter().any(|k| k == key) {
            return Err(given_twice(key));
        }
        self.0.push(key.to_string());
        Ok(())
    }
}

fn given_twice(key: &str) -> QueryError {
    QueryError::invalid_parameter(key, "given more than once", "重複指定")
}

fn unknown_sort_column(param: &str, item: &str) -> QueryError {
    let name = item.strip_prefix('-').unwrap_or(item);
    QueryError::UnknownColumn { param: param.to_string(), column: name.to_string() }
}

fn column_index(schema: &TableSchema, param: &str, name: &str) -> Result<usize, QueryError> {
    schema.resolve(name).ok_or_else(|| QueryError::UnknownColumn { param: param.to_string(), column: name.to_string() })
}

/// `_limit` / `_offset`: a non-negative integer, at most `max`.
fn parse_count(param: &str, value: &str, max: Option<usize>) -> Result<usize, QueryError> {
    let n = value.trim().parse::<usize>().map_err(|_| {
        QueryError::invalid_parameter(
            param,
            format!("{value:?} is not a non-negative integer"),
            format!("「{value}」不是非負整數"),
        )
    })?;
    match max {
        Some(max) if n > max => Err(QueryError::invalid_parameter(
            param,
            format!("{n} is more than the maximum {max}"),
            format!("{n} 超過上限 {max}"),
        )),
        _ => Ok(n),
    }
}

/// One item of a list parameter; `json` when it came from the JSON array form.
struct ListItem {
    text: String,
    json: bool,
}

/// Splits a list parameter: `a,b` or, when it starts with `[`, a JSON array of strings.
fn list_items(param: &str, value: &str) -> Result<Vec<ListItem>, QueryError> {
    let items: Vec<ListItem> = if value.trim_start().starts_with('[') {
        let parsed: Vec<String> = serde_json::from_str(value).map_err(|_| {
            QueryError::invalid_parameter(param, "not a JSON array of strings", "不是由字串組成的 JSON 陣列")
        })?;
        parsed.into_iter().map(|text| ListItem { text, json: true }).collect()
    } else {
        value.split(',').map(|s| ListItem { text: s.to_string(), json: false }).collect()
    };
    if items.is_empty() || items.iter().any(|i| i.text.is_empty()) {
        return Err(QueryError::invalid_parameter(param, "empty column name", "欄位名稱是空的"));
    }
    Ok(items)
}

/// A sort item: `-name` descending; in the JSON form also `+name` ascending.
fn parse_sort_item(text: &str, json: bool) -> Option<(String, bool)> {
    let (name, descending) = if let Some(rest) = text.strip_prefix('-') {
        (rest, true)
    } else if let Some(rest) = text.strip_prefix('+').filter(|_| json) {
        (rest, false)
    } else {
        (text, false)
    };
    (!name.is_empty()).then(|| (name.to_string(), descending))
}

/// A plain filter parameter: `col=value` or `col__op=value`.
fn parse_plain_filter(key: &str, value: &str, schema: &TableSchema) -> Result<Filter, QueryError> {
    if let Some(column) = schema.resolve(key) {
        return build_filter(key, column, FilterOp::Eq, RawValue::Text(value), schema);
    }
    if let Some((prefix, op_name)) = key.rsplit_once("__") {
        let op = FilterOp::parse(op_name);
        match (schema.resolve(prefix), op) {
            (Some(column), Some(op)) => return build_filter(key, column, op, RawValue::Text(value), schema),
            (Some(_), None) => {
                return Err(QueryError::UnknownOperator { param: key.to_string(), op: op_name.to_string() });
            }
            (None, Some(_)) => {
                return Err(QueryError::UnknownColumn { param: key.to_string(), column: prefix.to_string() });
            }
            (None, None) => {}
        }
    }
    Err(QueryError::UnknownColumn { param: key.to_string(), column: key.to_string() })
}

/// `_filters=[["col","op",value],…]`.
fn parse_json_filters(value: &str, schema: &TableSchema) -> Result<Vec<Filter>, QueryError> {
    const PARAM: &str = "_filters";
    let bad = || {
        QueryError::invalid_parameter(
            PARAM,
            r#"expected a JSON array of [column, operator, value] arrays, e.g. [["year","gte",2018]]"#,
            r#"應為由 [欄位, 運算子, 值] 組成的 JSON 陣列，例如 [["year","gte",2018]]"#,
        )
    };
    let parsed: Json = serde_json::from_str(value).map_err(|_| bad())?;
    let list = parsed.as_array().ok_or_else(bad)?;
    let mut filters = Vec::with_capacity(list.len());
    for entry in list {
        let parts = entry.as_array().ok_or_else(bad)?;
        let (name, op_name) = match (parts.first(), parts.get(1)) {
            (Some(Json::String(n)), Some(Json::String(o))) => (n.as_str(), o.as_str()),
            _ => return Err(bad()),
        };
        let column = column_index(schema, PARAM, name)?;
        let op = FilterOp::parse(op_name)
            .ok_or_else(|| QueryError::UnknownOperator { param: PARAM.to_string(), op: op_name.to_string() })?;
        let raw = match (parts.get(2), parts.len()) {
            (Some(v), 3) => RawValue::Json(v),
            (None, 2) if op == FilterOp::IsNull => RawValue::Json(&Json::Bool(true)),
            _ => return Err(bad()),
        };
        filters.push(build_filter(PARAM, column, op, raw, schema)?);
    }
    Ok(filters)
}

/// A filter value as it arrived: URL text (`in` lists are split here) or JSON (from `_filters`).
enum RawValue<'a> {
    Text(&'a str),
    Json(&'a Json),
}

fn build_filter(
    param: &str,
    column: usize,
    op: FilterOp,
    raw: RawValue<'_>,
    schema: &TableSchema,
) -> Result<Filter, QueryError> {
    let field_type = schema.fields[column].field_type;
    let invalid = |value: &str, expected: FieldType| QueryError::InvalidFilterValue {
        param: param.to_string(),
        value: value.to_string(),
        expected,
    };
    let mut filter = Filter { param: param.to_string(), column, op, values: Vec::new(), negate_null: false };
    match op {
        FilterOp::IsNull => {
            let text = match raw {
                RawValue::Text(t) => t.to_string(),
                RawValue::Json(j) => json_scalar_text(j).ok_or_else(|| invalid(&j.to_string(), FieldType::Boolean))?,
            };
            filter.negate_null = match text.trim() {
                "true" | "1" => false,
                "false" | "0" => true,
                _ => return Err(invalid(&text, FieldType::Boolean)),
            };
        }
        FilterOp::In => {
            let texts: Vec<String> = match raw {
                RawValue::Text(t) if t.trim_start().starts_with('[') => {
                    let parsed: Json = serde_json::from_str(t).map_err(|_| invalid(t, field_type))?;
                    json_list_texts(&parsed).ok_or_else(|| invalid(t, field_type))?
                }
                RawValue::Text(t) => t.split(',').map(str::to_string).collect(),
                RawValue::Json(j) => json_list_texts(j).ok_or_else(|| invalid(&j.to_string(), field_type))?,
            };
            for text in texts {
                filter.values.push(Value::parse(&text, field_type).ok_or_else(|| invalid(&text, field_type))?);
            }
        }
        _ => {
            if matches!(op, FilterOp::Contains | FilterOp::StartsWith) && field_type != FieldType::Text {
                return Err(QueryError::OperatorNotApplicable {
                    param: param.to_string(),
                    op: op.as_str().to_string(),
                    field_type,
                });
            }
            let text = match raw {
                RawValue::Text(t) => t.to_string(),
                RawValue::Json(j) => json_scalar_text(j).ok_or_else(|| invalid(&j.to_string(), field_type))?,
            };
            filter.values.push(Value::parse(&text, field_type).ok_or_else(|| invalid(&text, field_type))?);
        }
    }
    Ok(filter)
}

/// A JSON string, number or boolean as the text a URL would carry.
fn json_scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An `in` list in JSON: an array of scalars, or one scalar.
fn json_list_texts(value: &Json) -> Option<Vec<String>> {
    match value {
        Json::Array(items) => items.iter().map(json_scalar_text).collect(),
        other => json_scalar_text(other).map(|t| vec![t]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwater_types::Field;

    fn schema() -> TableSchema {
        let field = |name: &str, field_type| Field::new(name, field_type);
        TableSchema {
            fields: vec![
                field("id", FieldType::Integer),
                field("行政區", FieldType::Text),
                field("lon", FieldType::Decimal),
                field("day", FieldType::Date),
                field("ok", FieldType::Boolean),
                field("_note", FieldType::Text),
                field("_sort", FieldType::Text),
                field("a__b", FieldType::Integer),
                field("-x", FieldType::Integer),
                field("人數,男", FieldType::Integer),
                Field { aliases: vec!["site_id".into(), "區域別代碼".into()], ..field("代碼", FieldType::Text) },
            ],
        }
    }

    #[test]
    fn aliases_work_in_filters_fields_and_sort() {
        let q = rows(&[("site_id", "A01"), ("site_id__ne", "B"), ("_fields", "id,site_id"), ("_sort", "-site_id")])
            .unwrap();
        let code = schema().index_of("代碼").unwrap();
        assert_eq!(q.filters[0].column, code);
        assert_eq!(q.filters[1].column, code);
        assert_eq!(q.fields, Some(vec![0, code]));
        assert_eq!(q.sort[0].column, code);
        // The published name still comes first: an alias never shadows a real column.
        let q = rows(&[("區域別代碼", "x")]).unwrap();
        assert_eq!(q.filters[0].column, code);
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn rows(list: &[(&str, &str)]) -> Result<RowQuery, QueryError> {
        RowQuery::parse(&pairs(list), &schema())
    }

    fn aggregates(list: &[(&str, &str)]) -> Result<AggregateQuery, QueryError> {
        AggregateQuery::parse(&pairs(list), &schema())
    }

    #[test]
    fn defaults() {
        let q = rows(&[]).unwrap();
        assert_eq!(q.limit, DEFAULT_LIMIT);
        assert_eq!(q.offset, 0);
        assert!(q.filters.is_empty() && q.sort.is_empty() && q.fields.is_none() && q.cursor.is_none());
        let a = aggregates(&[]).unwrap();
        assert_eq!(a.limit, DEFAULT_AGGREGATE_LIMIT);
        assert_eq!(a.measures, vec![Measure::Count]);
    }

    #[test]
    fn plain_equality_and_operators() {
        let q = rows(&[("行政區", "苓雅區"), ("id__gte", "3"), ("id__lte", "9"), ("lon__gt", "120")]).unwrap();
        assert_eq!(q.filters.len(), 4);
        assert_eq!(q.filters[0].op, FilterOp::Eq);
        assert_eq!(q.filters[0].values, vec![Value::Text("苓雅區".into())]);
        assert_eq!(q.filters[1].op, FilterOp::Gte);
        assert_eq!(q.filters[1].values, vec![Value::Int(3)]);
        assert_eq!(q.filters[1].param, "id__gte");
        // A decimal column accepts an integer.
        assert_eq!(q.filters[3].values, vec![Value::Float(120.0)]);
    }

    #[test]
    fn every_operator_name_parses() {
        for (op, name) in FilterOp::ALL {
            let value = match op {
                FilterOp::IsNull => "true",
                _ => "x",
            };
            let key = format!("行政區__{name}");
            let q = rows(&[(&key, value)]).unwrap();
            assert_eq!(q.filters[0].op, op);
        }
    }

    #[test]
    fn column_with_double_underscore_splits_at_last() {
        let q = rows(&[("a__b", "1"), ("a__b__gte", "2")]).unwrap();
        assert_eq!(q.filters[0].column, 7);
        assert_eq!(q.filters[0].op, FilterOp::Eq);
        assert_eq!(q.filters[1].column, 7);
        assert_eq!(q.filters[1].op, FilterOp::Gte);
    }

    #[test]
    fn unknown_column_and_operator() {
        assert_eq!(
            rows(&[("nope", "1")]).unwrap_err(),
            QueryError::UnknownColumn { param: "nope".into(), column: "nope".into() }
        );
        assert_eq!(
            rows(&[("nope__gte", "1")]).unwrap_err(),
            QueryError::UnknownColumn { param: "nope__gte".into(), column: "nope".into() }
        );
        assert_eq!(
            rows(&[("id__like", "1")]).unwrap_err(),
            QueryError::UnknownOperator { param: "id__like".into(), op: "like".into() }
        );
        assert_eq!(
            rows(&[("_size", "1")]).unwrap_err(),
            QueryError::UnknownColumn { param: "_size".into(), column: "_size".into() }
        );
    }

    #[test]
    fn underscore_columns_work_unless_reserved() {
        let q = rows(&[("_note", "x")]).unwrap();
        assert_eq!(q.filters[0].column, 5);
        // `_sort` is the sort parameter, so the column `_sort` needs the JSON form.
        assert!(rows(&[("_sort", "x")]).is_err());
        let q = rows(&[("_filters", r#"[["_sort","eq","x"]]"#)]).unwrap();
        assert_eq!(q.filters[0].column, 6);
        assert_eq!(q.filters[0].param, "_filters");
    }

    #[test]
    fn in_lists_plain_and_json() {
        let q = rows(&[("行政區__in", "a,b,c")]).unwrap();
        assert_eq!(q.filters[0].values.len(), 3);
        let q = rows(&[("行政區__in", r#"["臺北市,大安區","x"]"#)]).unwrap();
        assert_eq!(q.filters[0].values, vec![Value::Text("臺北市,大安區".into()), Value::Text("x".into())]);
        let q = rows(&[("id__in", "[1,2,\"3\"]")]).unwrap();
        assert_eq!(q.filters[0].values, vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
        let q = rows(&[("_filters", r#"[["行政區","in",["a,b"]],["id","in",7]]"#)]).unwrap();
        assert_eq!(q.filters[0].values, vec![Value::Text("a,b".into())]);
        assert_eq!(q.filters[1].values, vec![Value::Int(7)]);
        assert!(matches!(rows(&[("id__in", "1,x")]), Err(QueryError::InvalidFilterValue { .. })));
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            rows(&[("id", "3.5")]).unwrap_err(),
            QueryError::InvalidFilterValue { param: "id".into(), value: "3.5".into(), expected: FieldType::Integer }
        );
        let q = rows(&[("day__gte", "2020-01-01")]).unwrap();
        assert_eq!(q.filters[0].values, vec![Value::Date(18262)]);
        assert!(matches!(rows(&[("day", "yesterday")]), Err(QueryError::InvalidFilterValue { .. })));
        let q = rows(&[("ok", "true")]).unwrap();
        assert_eq!(q.filters[0].values, vec![Value::Bool(true)]);
    }

    #[test]
    fn contains_only_on_text() {
        assert!(rows(&[("行政區__contains", "區")]).is_ok());
        assert_eq!(
            rows(&[("id__contains", "1")]).unwrap_err(),
            QueryError::OperatorNotApplicable {
                param: "id__contains".into(),
                op: "contains".into(),
                field_type: FieldType::Integer
            }
        );
    }

    #[test]
    fn isnull_values() {
        let q = rows(&[("id__isnull", "true"), ("lon__isnull", "0")]).unwrap();
        assert!(!q.filters[0].negate_null && q.filters[0].values.is_empty());
        assert!(q.filters[1].negate_null);
        assert_eq!(
            rows(&[("id__isnull", "yes")]).unwrap_err(),
            QueryError::InvalidFilterValue {
                param: "id__isnull".into(),
                value: "yes".into(),
                expected: FieldType::Boolean
            }
        );
        let q = rows(&[("_filters", r#"[["id","isnull"],["lon","isnull",false]]"#)]).unwrap();
        assert!(!q.filters[0].negate_null);
        assert!(q.filters[1].negate_null);
    }

    #[test]
    fn sort_and_fields() {
        let q = rows(&[("_sort", "行政區,-id"), ("_fields", "id,行政區")]).unwrap();
        assert_eq!(q.sort, vec![SortKey { column: 1, descending: false }, SortKey { column: 0, descending: true }]);
        assert_eq!(q.fields, Some(vec![0, 1]));
        let q = rows(&[("_sort", r#"["+-x","-人數,男"]"#), ("_fields", r#"["人數,男"]"#)]).unwrap();
        assert_eq!(q.sort, vec![SortKey { column: 8, descending: false }, SortKey { column: 9, descending: true }]);
        assert_eq!(q.fields, Some(vec![9]));
        assert_eq!(
            rows(&[("_fields", "id,nope")]).unwrap_err(),
            QueryError::UnknownColumn { param: "_fields".into(), column: "nope".into() }
        );
        assert_eq!(
            rows(&[("_sort", "-nope")]).unwrap_err(),
            QueryError::UnknownColumn { param: "_sort".into(), column: "nope".into() }
        );
        assert!(matches!(rows(&[("_fields", "")]), Err(QueryError::InvalidParameter { .. })));
    }

    #[test]
    fn limits_and_offsets() {
        assert_eq!(rows(&[("_limit", "0")]).unwrap().limit, 0);
        assert_eq!(rows(&[("_limit", "10000")]).unwrap().limit, 10_000);
        for bad in ["10001", "-1", "abc", ""] {
            let err = rows(&[("_limit", bad)]).unwrap_err();
            assert_eq!(err.code(), "invalid_parameter");
            assert_eq!(err.param(), Some("_limit"));
        }
        assert_eq!(rows(&[("_offset", "20")]).unwrap().offset, 20);
        assert_eq!(rows(&[("_offset", "-2")]).unwrap_err().param(), Some("_offset"));
        assert_eq!(rows(&[("_limit", "1"), ("_limit", "2")]).unwrap_err().param(), Some("_limit"));
        // Server parameters are ignored.
        assert!(rows(&[("_format", "csv"), ("_version", "2"), ("_bom", "1"), ("_shape", "objects")]).is_ok());
    }

    #[test]
    fn aggregate_parameters_are_rejected_on_rows_and_back() {
        assert_eq!(rows(&[("_group", "id")]).unwrap_err().param(), Some("_group"));
        assert_eq!(aggregates(&[("_fields", "id")]).unwrap_err().param(), Some("_fields"));
        assert_eq!(aggregates(&[("_cursor", "abc")]).unwrap_err().param(), Some("_cursor"));
    }

    #[test]
    fn aggregate_measures_in_order() {
        let a = aggregates(&[("_group", "行政區"), ("_sum", "id,lon"), ("_count", "1"), ("_max", "day")]).unwrap();
        assert_eq!(a.group, vec![1]);
        assert_eq!(a.measures, vec![Measure::Sum(0), Measure::Sum(2), Measure::Count, Measure::Max(3)]);
        assert_eq!(a.output_names(&schema()), vec!["行政區", "sum_id", "sum_lon", "count", "max_day"]);
        let a = aggregates(&[("_min", "行政區")]).unwrap();
        assert_eq!(a.measures, vec![Measure::Min(1)]);
        assert_eq!(
            aggregates(&[("_sum", "行政區")]).unwrap_err(),
            QueryError::OperatorNotApplicable { param: "_sum".into(), op: "sum".into(), field_type: FieldType::Text }
        );
        assert_eq!(aggregates(&[("_count", "2")]).unwrap_err().param(), Some("_count"));
    }

    #[test]
    fn aggregate_sort_names_output_columns() {
        let a = aggregates(&[("_group", "行政區"), ("_sum", "id"), ("_count", "true"), ("_sort", "-count,行政區")])
            .unwrap();
        assert_eq!(a.sort, vec![("count".to_string(), true), ("行政區".to_string(), false)]);
        assert_eq!(
            aggregates(&[("_group", "行政區"), ("_sort", "-sum_id")]).unwrap_err(),
            QueryError::UnknownColumn { param: "_sort".into(), column: "sum_id".into() }
        );
        assert_eq!(aggregates(&[("_limit", "10001")]).unwrap_err().param(), Some("_limit"));
    }

    #[test]
    fn bad_json_filters() {
        for bad in ["[", r#"{"a":1}"#, r#"[["id"]]"#, r#"[["id","eq",1,2]]"#, r#"[["id","eq",null]]"#] {
            let err = rows(&[("_filters", bad)]).unwrap_err();
            assert_eq!(err.param(), Some("_filters"), "{bad}");
        }
        assert_eq!(
            rows(&[("_filters", r#"[["id","like",1]]"#)]).unwrap_err(),
            QueryError::UnknownOperator { param: "_filters".into(), op: "like".into() }
        );
        assert_eq!(
            rows(&[("_filters", r#"[["nope","eq",1]]"#)]).unwrap_err(),
            QueryError::UnknownColumn { param: "_filters".into(), column: "nope".into() }
        );
    }

    #[test]
    fn requested_version_reads_version_and_cursor() {
        assert_eq!(requested_version(&pairs(&[])).unwrap(), None);
        assert_eq!(requested_version(&pairs(&[("_version", "3")])).unwrap(), Some(3));
        assert_eq!(requested_version(&pairs(&[("_version", "0")])).unwrap_err().param(), Some("_version"));
        assert_eq!(requested_version(&pairs(&[("_version", "x")])).unwrap_err().param(), Some("_version"));
        let token = cursor::encode(7, &schema(), &[], &[], &[], 41);
        assert_eq!(requested_version(&pairs(&[("_cursor", &token)])).unwrap(), Some(7));
        assert_eq!(requested_version(&pairs(&[("_cursor", &token), ("_version", "7")])).unwrap(), Some(7));
        assert_eq!(
            requested_version(&pairs(&[("_cursor", &token), ("_version", "6")])).unwrap_err().param(),
            Some("_version")
        );
        assert_eq!(
            requested_version(&pairs(&[("_cursor", "garbage")])).unwrap_err(),
            QueryError::InvalidCursor { param: "_cursor".into() }
        );
    }

    #[test]
    fn cursor_is_bound_to_filters_and_sort() {
        let s = schema();
        let q = rows(&[("id__gte", "3"), ("_sort", "-lon")]).unwrap();
        let token = cursor::encode(2, &s, &q.filters, &q.sort, &[Some(Value::Float(120.5))], 10);
        let resumed = rows(&[("id__gte", "3"), ("_sort", "-lon"), ("_cursor", &token)]).unwrap();
        let c = resumed.cursor.unwrap();
        assert_eq!((c.version, c.after_row), (2, 10));
        assert_eq!(c.after_key, vec![Some(Value::Float(120.5))]);
        for other in [
            vec![("id__gte", "4"), ("_sort", "-lon"), ("_cursor", token.as_str())],
            vec![("id__gte", "3"), ("_sort", "lon"), ("_cursor", token.as_str())],
            vec![("_cursor", token.as_str())],
        ] {
            assert_eq!(rows(&other).unwrap_err(), QueryError::InvalidCursor { param: "_cursor".into() });
        }
        // _limit and _fields may change between pages.
        assert!(rows(&[("id__gte", "3"), ("_sort", "-lon"), ("_cursor", &token), ("_limit", "5")]).is_ok());
        assert_eq!(
            rows(&[("id__gte", "3"), ("_sort", "-lon"), ("_cursor", &token), ("_offset", "5")]).unwrap_err().param(),
            Some("_cursor")
        );
    }
}
