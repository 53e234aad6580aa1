//! Errors a query can end in. Each has a stable code (documented in `docs/errors.md`) and names the offending
//! parameter where there is one; messages come in English and Traditional Chinese.

use tapwater_types::{FieldType, Lang};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// A filter, `_sort`, `_fields`, `_group` … names a column the table does not have.
    #[error("unknown column {column:?} in parameter {param:?}")]
    UnknownColumn { param: String, column: String },
    /// `col__op=` with an operator that does not exist.
    #[error("unknown filter operator {op:?} in parameter {param:?}")]
    UnknownOperator { param: String, op: String },
    /// An operator that does not apply to the column's type (e.g. `contains` on an integer).
    #[error("operator {op:?} cannot be used on {field_type:?} column in parameter {param:?}")]
    OperatorNotApplicable { param: String, op: String, field_type: FieldType },
    /// A filter value that cannot be read as the column's type.
    #[error("value {value:?} in parameter {param:?} is not a valid {expected:?}")]
    InvalidFilterValue { param: String, value: String, expected: FieldType },
    /// A malformed reserved parameter (`_limit=abc`, `_limit=999999`, `_format=xml` …).
    #[error("invalid parameter {param:?}: {reason}")]
    InvalidParameter { param: String, reason: String, reason_zh: String },
    /// A `_cursor` that is not one tapwater issued for this query.
    #[error("invalid cursor in parameter {param:?}")]
    InvalidCursor { param: String },
    /// SQL that does not parse or plan; the message is tapwater's own, never the engine's text.
    #[error("invalid SQL: {message}")]
    InvalidSql { message: String, message_zh: String },
    /// SQL that tries to do something other than read (DDL, DML, SET …).
    #[error("only read-only queries (SELECT) are allowed")]
    SqlNotReadOnly,
    /// SQL names a table the caller may not read or that does not exist.
    #[error("unknown table {table:?}")]
    UnknownTable { table: String },
    /// SQL ran past its time limit and was cancelled.
    #[error("query cancelled after {seconds} s")]
    SqlTimeout { seconds: f64 },
    /// Something went wrong inside; details are logged, not shown.
    #[error("internal query error: {0}")]
    Internal(String),
}

impl QueryError {
    /// The stable error code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::UnknownColumn { .. } => "unknown_column",
            QueryError::UnknownOperator { .. } => "unknown_operator",
            QueryError::OperatorNotApplicable { .. } => "operator_not_applicable",
            QueryError::InvalidFilterValue { .. } => "invalid_filter_value",
            QueryError::InvalidParameter { .. } => "invalid_parameter",
            QueryError::InvalidCursor { .. } => "invalid_cursor",
            QueryError::InvalidSql { .. } => "invalid_sql",
            QueryError::SqlNotReadOnly => "sql_not_read_only",
            QueryError::UnknownTable { .. } => "unknown_table",
            QueryError::SqlTimeout { .. } => "query_timeout",
            QueryError::Internal(_) => "internal_error",
        }
    }

    /// The request parameter at fault, if any.
    pub fn param(&self) -> Option<&str> {
        match self {
            QueryError::UnknownColumn { param, .. }
            | QueryError::UnknownOperator { param, .. }
            | QueryError::OperatorNotApplicable { param, .. }
            | QueryError::InvalidFilterValue { param, .. }
            | QueryError::InvalidParameter { param, .. }
            | QueryError::InvalidCursor { param } => Some(param),
            QueryError::InvalidSql { .. } | QueryError::SqlNotReadOnly | QueryError::UnknownTable { .. } => Some("q"),
            QueryError::SqlTimeout { .. } | QueryError::Internal(_) => None,
        }
    }

    /// True when the caller is at fault (a 4xx), false for a server fault.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, QueryError::Internal(_))
    }

    /// A message a person understands, in the requested language.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (QueryError::UnknownColumn { column, param }, Lang::En) => {
                format!("The table has no column named \"{column}\" (parameter {param}).")
            }
            (QueryError::UnknownColumn { column, param }, Lang::ZhTw) => {
                format!("資料表沒有名為「{column}」的欄位（參數 {param}）。")
            }
            (QueryError::UnknownOperator { op, param }, Lang::En) => format!(
                "Unknown filter operator \"{op}\" in {param}; use one of eq ne gt gte lt lte in contains startswith isnull."
            ),
            (QueryError::UnknownOperator { op, param }, Lang::ZhTw) => format!(
                "參數 {param} 的篩選運算子「{op}」不存在；可用：eq ne gt gte lt lte in contains startswith isnull。"
            ),
            (QueryError::OperatorNotApplicable { op, param, field_type }, Lang::En) => {
                format!("Operator \"{op}\" cannot be used on a {} column (parameter {param}).", field_type.as_str())
            }
            (QueryError::OperatorNotApplicable { op, param, field_type }, Lang::ZhTw) => {
                format!("運算子「{op}」不能用於 {} 型別的欄位（參數 {param}）。", field_type.as_str())
            }
            (QueryError::InvalidFilterValue { value, param, expected }, Lang::En) => {
                format!("\"{value}\" is not a valid {} value for parameter {param}.", expected.as_str())
            }
            (QueryError::InvalidFilterValue { value, param, expected }, Lang::ZhTw) => {
                format!("參數 {param} 的值「{value}」不是有效的 {} 值。", expected.as_str())
            }
            (QueryError::InvalidParameter { param, reason, .. }, Lang::En) => format!("Invalid {param}: {reason}"),
            (QueryError::InvalidParameter { param, reason_zh, .. }, Lang::ZhTw) => {
                format!("參數 {param} 無效：{reason_zh}")
            }
            (QueryError::InvalidCursor { param }, Lang::En) => format!(
                "The {param} value is not a cursor issued for this query; start again without it and follow next_cursor."
            ),
            (QueryError::InvalidCursor { param }, Lang::ZhTw) => {
                format!("{param} 不是此查詢產生的游標；請不帶游標重新查詢，並沿用回應中的 next_cursor。")
            }
            (QueryError::InvalidSql { message, .. }, Lang::En) => format!("The SQL query is not valid: {message}"),
            (QueryError::InvalidSql { message_zh, .. }, Lang::ZhTw) => format!("SQL 查詢有誤：{message_zh}"),
            (QueryError::SqlNotReadOnly, Lang::En) => {
                "Only read-only queries (SELECT, WITH … SELECT) are allowed.".to_string()
            }
            (QueryError::SqlNotReadOnly, Lang::ZhTw) => "只允許唯讀查詢（SELECT、WITH … SELECT）。".to_string(),
            (QueryError::UnknownTable { table }, Lang::En) => format!(
                "There is no dataset \"{table}\" you can query; the current dataset is the table `data`, others by slug."
            ),
            (QueryError::UnknownTable { table }, Lang::ZhTw) => {
                format!("沒有可查詢的資料集「{table}」；目前的資料集是資料表 `data`，其他資料集以代稱（slug）指定。")
            }
            (QueryError::SqlTimeout { seconds }, Lang::En) => {
                format!("The query took longer than {seconds} s and was cancelled; narrow it down or add filters.")
            }
            (QueryError::SqlTimeout { seconds }, Lang::ZhTw) => {
                format!("查詢超過 {seconds} 秒已被取消；請縮小範圍或加上篩選條件。")
            }
            (QueryError::Internal(_), Lang::En) => "Something went wrong on our side; it has been logged.".to_string(),
            (QueryError::Internal(_), Lang::ZhTw) => "伺服器發生錯誤，已記錄。".to_string(),
        }
    }

    pub fn invalid_parameter(param: &str, reason: impl Into<String>, reason_zh: impl Into<String>) -> Self {
        QueryError::InvalidParameter { param: param.to_string(), reason: reason.into(), reason_zh: reason_zh.into() }
    }
}
