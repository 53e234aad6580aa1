//! The read-only SQL sandbox behind the public `/sql` endpoint, on DataFusion.
//!
//! Anyone can send SQL here, so the rules are structural, never string inspection:
//!
//! 1. The text is parsed by DataFusion's own parser; exactly one statement, and it must be a query (`SELECT`,
//!    `WITH … SELECT`, `VALUES`). Everything else — DDL, DML, `COPY`, `CREATE EXTERNAL TABLE`, `SET`, `EXPLAIN`,
//!    `PREPARE`, `SHOW` … — is `sql_not_read_only`.
//! 2. The session has no catalog but one in-memory schema made for the request, holding exactly the tables the
//!    statement names, each resolved by the caller's [`TableResolver`] (which decides who may read what). No
//!    `information_schema`, no table functions (`read_csv`, `read_parquet` … do not exist here), no table factories
//!    or file formats, no object stores: nothing in the session can reach a file or the network.
//! 3. The logical plan is verified with `SQLOptions` forbidding DDL, DML and statements (defence in depth, e.g.
//!    `SELECT … INTO`).
//! 4. Planning and execution run under a time limit (cancelled by dropping the future, which aborts DataFusion's
//!    tasks), a row limit (`sql_max_rows`, reported as `truncated`) and a memory pool shared by all SQL queries,
//!    with spilling to disk disabled.
//! 5. DataFusion's error text is never shown: errors are mapped to tapwater's own messages (see [`map_error`]);
//!    anything unexpected is logged and reported as an internal error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemoryCatalogProviderList, MemorySchemaProvider};
use datafusion::catalog::{CatalogProviderList, SchemaProvider};
use datafusion::common::{SchemaError, TableReference};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateDefaults;
use datafusion::execution::context::{SQLOptions, SessionConfig};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::ParserError;
use futures::future::BoxFuture;

use crate::QueryError;
use crate::hot::HotTable;

/// Finds the tables a SQL statement names. Implemented by the application layer, which decides access.
pub trait TableResolver: Send + Sync {
    /// Resolves a table name used in the SQL (`data` = the dataset in the URL; other datasets by slug) to a hot
    /// table, or None if it does not exist or the caller may not read it. The app layer implements this.
    fn resolve<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<HotTable>>, QueryError>>;
}

/// The result of a SQL query.
#[derive(Debug, Clone)]
pub struct SqlOutput {
    /// The rows, at most `sql_max_rows` of them.
    pub batches: Vec<RecordBatch>,
    pub schema: SchemaRef,
    /// Rows in `batches`.
    pub row_count: usize,
    /// True when the query had more rows than `sql_max_rows` and the rest were dropped.
    pub truncated: bool,
    /// Time spent planning and running (not resolving tables).
    pub elapsed: Duration,
}

impl SqlOutput {
    /// All rows in one batch, e.g. for [`crate::encode::encode_page`].
    pub fn to_batch(&self) -> Result<RecordBatch, QueryError> {
        arrow::compute::concat_batches(&self.schema, &self.batches)
            .map_err(|e| QueryError::Internal(format!("cannot concatenate SQL result: {e}")))
    }
}

/// Limits of the sandbox (from [`crate::engine::QueryConfig`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqlLimits {
    pub timeout: Duration,
    pub max_rows: usize,
}

/// Memory all SQL queries of one engine may use together for their intermediate state (hash tables, sorts …). The
/// tables themselves are hot tables, accounted by the engine's LRU, not here.
const SQL_MEMORY_POOL_BYTES: usize = 512 * 1024 * 1024;
/// Two partitions: enough to use both cores of a small server, few enough that one query cannot take all of a
/// larger one.
const TARGET_PARTITIONS: usize = 2;
const BATCH_SIZE: usize = 8192;
/// Scalar functions left out because one call can build gigabytes from a few bytes of SQL (`range(1, 1e10)`,
/// `repeat('x', 2e9)`), memory DataFusion's pool does not account for: on a public endpoint that is a way to take
/// the server down. (`lpad`/`rpad` stay: padding codes is common; their output is capped by Arrow's 2 GiB offsets.)
const UNBOUNDED_OUTPUT_FUNCTIONS: &[&str] = &["range", "generate_series", "array_repeat", "array_resize", "repeat"];
/// The catalog and schema the request's tables are registered under (never visible: qualified names are refused).
const CATALOG: &str = "tapwater";
const SCHEMA: &str = "request";

/// A DataFusion session template without tables; each query gets a copy with its own tables.
pub(crate) struct SqlSandbox {
    base: SessionState,
}

impl std::fmt::Debug for SqlSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSandbox").finish_non_exhaustive()
    }
}

impl SqlSandbox {
    pub(crate) fn new() -> Result<Self, QueryError> {
        let config = SessionConfig::new()
            .with_target_partitions(TARGET_PARTITIONS)
            .with_batch_size(BATCH_SIZE)
            .with_information_schema(false)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(CATALOG, SCHEMA);
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(GreedyMemoryPool::new(SQL_MEMORY_POOL_BYTES)))
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled))
            .build_arc()
            .map_err(internal)?;
        // Only function families that compute on values: scalar, aggregate, window, higher-order and the operator
        // planners. Deliberately absent: table functions, table factories (CREATE EXTERNAL TABLE) and file formats.
        let base = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_scalar_functions(
                SessionStateDefaults::default_scalar_functions()
                    .into_iter()
                    .filter(|udf| !UNBOUNDED_OUTPUT_FUNCTIONS.contains(&udf.name()))
                    .collect(),
            )
            .with_aggregate_functions(SessionStateDefaults::default_aggregate_functions())
            .with_window_functions(SessionStateDefaults::default_window_functions())
            .with_higher_order_functions(SessionStateDefaults::default_higher_order_functions())
            .with_expr_planners(SessionStateDefaults::default_expr_planners())
            .with_catalog_list(Arc::new(MemoryCatalogProviderList::new()))
            .build();
        Ok(SqlSandbox { base })
    }

    /// Runs one read-only query. See the module documentation for the rules.
    pub(crate) async fn run(
        &self,
        sql: &str,
        tables: &dyn TableResolver,
        limits: SqlLimits,
    ) -> Result<SqlOutput, QueryError> {
        let statement = parse_single_query(sql)?;

        // The tables the statement reads (CTE names excluded), each looked up by the caller.
        let references = self.base.resolve_table_references(&statement).map_err(map_error)?;
        let schema = Arc::new(MemorySchemaProvider::new());
        for reference in references {
            let name = match &reference {
                TableReference::Bare { table } => table.as_ref(),
                // `other.data`, `catalog.schema.table`: there are no schemas to qualify with.
                _ => return Err(QueryError::UnknownTable { table: reference.to_string() }),
            };
            let Some(table) = tables.resolve(name).await? else {
                return Err(QueryError::UnknownTable { table: name.to_string() });
            };
            schema.register_table(name.to_string(), Arc::new(mem_table(&table)?)).map_err(internal)?;
        }
        let catalog = Arc::new(MemoryCatalogProvider::new());
        catalog.register_schema(SCHEMA, schema).map_err(internal)?;
        let catalogs = Arc::new(MemoryCatalogProviderList::new());
        catalogs.register_catalog(CATALOG.to_string(), catalog);
        let state = SessionStateBuilder::new_from_existing(self.base.clone()).with_catalog_list(catalogs).build();

        let started = Instant::now();
        let work = async {
            let plan = state.statement_to_plan(statement).await.map_err(map_error)?;
            SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false)
                .verify_plan(&plan)
                .map_err(|_| QueryError::SqlNotReadOnly)?;
            // One row more than allowed tells whether the result was cut.
            let fetch = limits.max_rows.saturating_add(1);
            let plan =
                LogicalPlanBuilder::from(plan).limit(0, Some(fetch)).and_then(|b| b.build()).map_err(map_error)?;
            let physical = state.create_physical_plan(&plan).await.map_err(map_error)?;
            let physical = deadline::guard(physical, started + limits.timeout).map_err(map_error)?;
            let schema = physical.schema();
            let batches = datafusion::physical_plan::collect(physical, state.task_ctx()).await.map_err(map_error)?;
            Ok::<_, QueryError>((schema, batches))
        };
        // Two mechanisms, because DataFusion's operators only yield to the runtime between batches: the
        // deadline checked between every pair of operators (see [`deadline`]) stops work that never yields, and the
        // timeout drops the future (aborting DataFusion's spawned tasks) when it is waiting.
        let timed_out = || {
            tracing::info!(timeout_s = limits.timeout.as_secs_f64(), "SQL query cancelled at its time limit");
            QueryError::SqlTimeout { seconds: limits.timeout.as_secs_f64() }
        };
        let (schema, batches) = match tokio::time::timeout(limits.timeout, work).await {
            Ok(Err(QueryError::SqlTimeout { .. })) | Err(_) => return Err(timed_out()),
            Ok(result) => result?,
        };
        let (batches, row_count, truncated) = cut_rows(batches, limits.max_rows);
        Ok(SqlOutput { batches, schema, row_count, truncated, elapsed: started.elapsed() })
    }
}

/// Parses `sql` into exactly one statement that is a query.
fn parse_single_query(sql: &str) -> Result<DfStatement, QueryError> {
    let dialect = GenericDialect {};
    let mut statements = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|error| match error {
            DataFusionError::SQL(parser_error, _) => syntax_error(&parser_error, sql),
            other => map_error(other),
        })?;
    if statements.iter().any(|s| !is_query(s)) {
        return Err(QueryError::SqlNotReadOnly);
    }
    match (statements.pop_front(), statements.is_empty()) {
        (Some(statement), true) => Ok(statement),
        (None, _) => Err(QueryError::InvalidSql {
            message: "the query is empty".to_string(),
            message_zh: "查詢是空的".to_string(),
        }),
        (Some(_), false) => Err(QueryError::InvalidSql {
            message: "send one statement at a time".to_string(),
            message_zh: "一次只能送出一個陳述式".to_string(),
        }),
    }
}

fn is_query(statement: &DfStatement) -> bool {
    matches!(statement, DfStatement::Statement(inner) if matches!(inner.as_ref(), SqlStatement::Query(_)))
}

/// The hot table as a DataFusion table, without copying: the batch is cut into slices of `BATCH_SIZE` rows spread
/// over `TARGET_PARTITIONS` contiguous partitions, so scans run in parallel and operators see normal-sized batches.
fn mem_table(table: &HotTable) -> Result<MemTable, QueryError> {
    let batch = table.batch();
    let rows = batch.num_rows();
    let per_partition = rows.div_ceil(TARGET_PARTITIONS).max(1);
    let mut partitions = Vec::with_capacity(TARGET_PARTITIONS);
    let mut start = 0;
    while start < rows {
        let end = (start + per_partition).min(rows);
        let mut slices = Vec::with_capacity((end - start).div_ceil(BATCH_SIZE));
        let mut offset = start;
        while offset < end {
            let len = BATCH_SIZE.min(end - offset);
            slices.push(batch.slice(offset, len));
            offset += len;
        }
        partitions.push(slices);
        start = end;
    }
    if partitions.is_empty() {
        partitions.push(Vec::new());
    }
    MemTable::try_new(batch.schema(), partitions).map_err(internal)
}

/// Keeps at most `max_rows` rows; returns (batches, rows kept, whether any were dropped).
fn cut_rows(batches: Vec<RecordBatch>, max_rows: usize) -> (Vec<RecordBatch>, usize, bool) {
    let mut kept = Vec::with_capacity(batches.len());
    let mut count = 0;
    let mut truncated = false;
    for batch in batches {
        if count + batch.num_rows() > max_rows {
            truncated = true;
            let room = max_rows - count;
            if room > 0 {
                kept.push(batch.slice(0, room));
                count += room;
            }
            break;
        }
        count += batch.num_rows();
        kept.push(batch);
    }
    (kept, count, truncated)
}

fn internal(error: impl std::fmt::Display) -> QueryError {
    QueryError::Internal(error.to_string())
}

fn invalid(message: impl Into<String>, message_zh: impl Into<String>) -> QueryError {
    QueryError::InvalidSql { message: message.into(), message_zh: message_zh.into() }
}

/// Maps a DataFusion error to tapwater's own words. The user's SQL is theirs to see (a column or function name they
/// wrote may be echoed); DataFusion's text, plans and internals are not.
fn map_error(error: DataFusionError) -> QueryError {
    let root = innermost(&error);
    if deadline::is_deadline_error(root) {
        // The duration is filled in by the caller.
        return QueryError::SqlTimeout { seconds: 0.0 };
    }
    match root {
        DataFusionError::SQL(parser_error, _) => syntax_error(parser_error, ""),
        DataFusionError::SchemaError(schema_error, _) => match schema_error.as_ref() {
            SchemaError::FieldNotFound { field, .. } => invalid(
                format!("there is no column named \"{}\"", field.name),
                format!("沒有名為「{}」的欄位", field.name),
            ),
            SchemaError::AmbiguousReference { field } => invalid(
                format!("the column name \"{}\" is ambiguous; prefix it with its table name", field.name),
                format!("欄位名稱「{}」不明確；請在前面加上資料表名稱", field.name),
            ),
            _ => plan_failed(),
        },
        DataFusionError::Plan(message) => match unknown_function(message) {
            Some((name, suggestion)) => {
                let (hint, hint_zh) = match suggestion {
                    Some(s) => (format!(" (did you mean {s}?)"), format!("（是否要用 {s}？）")),
                    None => (String::new(), String::new()),
                };
                invalid(format!("there is no function named {name}{hint}"), format!("沒有名為 {name} 的函式{hint_zh}"))
            }
            None => plan_failed(),
        },
        DataFusionError::NotImplemented(_) => {
            invalid("the query uses SQL that is not supported", "查詢使用了尚未支援的 SQL 語法")
        }
        DataFusionError::ResourcesExhausted(_) => invalid(
            "the query needs too much memory; filter or aggregate it further",
            "查詢需要的記憶體太多；請加上篩選或彙總條件",
        ),
        DataFusionError::ArrowError(arrow_error, _) => match arrow_error.as_ref() {
            arrow::error::ArrowError::DivideByZero => invalid("division by zero", "除以零"),
            arrow::error::ArrowError::CastError(_) | arrow::error::ArrowError::ParseError(_) => {
                invalid("a value could not be converted to the requested type", "有值無法轉換成指定的型別")
            }
            arrow::error::ArrowError::ArithmeticOverflow(_) => invalid("a calculation overflowed", "計算結果溢位"),
            arrow::error::ArrowError::ComputeError(_) | arrow::error::ArrowError::InvalidArgumentError(_) => {
                execution_failed()
            }
            _ => internal_logged(&error),
        },
        DataFusionError::Execution(_) => execution_failed(),
        _ => internal_logged(&error),
    }
}

/// Unwraps context, diagnostics, sharing and collections down to the error that says what happened.
fn innermost(error: &DataFusionError) -> &DataFusionError {
    let mut current = error.find_root();
    loop {
        current = match current {
            DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => inner.as_ref(),
            DataFusionError::Shared(inner) => inner.as_ref(),
            DataFusionError::Collection(errors) if !errors.is_empty() => &errors[0],
            DataFusionError::External(inner) => match inner.downcast_ref::<DataFusionError>() {
                Some(inner) => inner,
                None => return current,
            },
            _ => return current,
        };
    }
}

fn plan_failed() -> QueryError {
    invalid(
        "the query could not be planned; check table names, column names and types",
        "無法規劃此查詢；請檢查資料表名稱、欄位名稱與型別",
    )
}

fn execution_failed() -> QueryError {
    invalid(
        "the query failed while running (e.g. an invalid value for a function or a cast)",
        "查詢執行時失敗（例如函式或型別轉換遇到無效的值）",
    )
}

fn internal_logged(error: &DataFusionError) -> QueryError {
    tracing::warn!(error = %error, "SQL query failed inside DataFusion");
    QueryError::Internal("SQL execution failed".to_string())
}

/// `syntax error at line L, column C` from the parser's error, which ends in `… at Line: L, Column: C`, or names
/// the end of the query (`found: EOF`, which carries no position: the end of `sql` is where it is).
fn syntax_error(error: &ParserError, sql: &str) -> QueryError {
    let text = match error {
        ParserError::TokenizerError(text) | ParserError::ParserError(text) => text.as_str(),
        ParserError::RecursionLimitExceeded => {
            return invalid("the query is nested too deeply", "查詢的巢狀層次太深");
        }
    };
    let position =
        error_position(text).or_else(|| (text.ends_with("found: EOF") && !sql.is_empty()).then(|| end_of(sql)));
    match position {
        Some((line, column)) => invalid(
            format!("syntax error at line {line}, column {column}"),
            format!("第 {line} 行第 {column} 欄附近有語法錯誤"),
        ),
        None => invalid("syntax error", "語法錯誤"),
    }
}

/// Line and column (1-based, in characters) just after the last character of `sql`.
fn end_of(sql: &str) -> (u64, u64) {
    let trimmed = sql.trim_end();
    let line = trimmed.lines().count().max(1) as u64;
    let column = trimmed.rsplit('\n').next().map_or(0, |last| last.chars().count()) as u64 + 1;
    (line, column)
}

fn error_position(text: &str) -> Option<(u64, u64)> {
    let at = text.rfind("Line: ")?;
    let rest = &text[at + "Line: ".len()..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The function name (and DataFusion's suggestion) from its "Invalid function 'name'.\nDid you mean 'other'?".
fn unknown_function(message: &str) -> Option<(String, Option<String>)> {
    let rest = message.strip_prefix("Invalid function '")?;
    let (name, rest) = rest.split_once('\'')?;
    let suggestion = rest
        .split_once("Did you mean '")
        .and_then(|(_, tail)| tail.split_once('\''))
        .map(|(suggestion, _)| suggestion.to_string());
    Some((name.to_string(), suggestion))
}

/// A hard time limit for DataFusion plans.
///
/// DataFusion is cooperative: its operators yield to the Tokio runtime only between batches, and some loop for a
/// long time without producing one — a nested-loop join whose condition rarely matches works through
/// `left rows × right batch` pairs per step, which is minutes for two 100k-row tables. Dropping the query future
/// cannot interrupt that loop, so the CPU would stay busy long after the client got its timeout.
///
/// [`guard`] therefore wraps every operator of the physical plan in a [`DeadlineExec`] whose stream checks the
/// deadline each time a batch is asked for, and fails the query with a deadline error once it has passed; and it
/// cuts the probe side of nested-loop joins into small batches, so that operator asks often too. The cost is one
/// clock read per batch per operator.
mod deadline {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Instant;

    use arrow::datatypes::SchemaRef;
    use arrow::record_batch::RecordBatch;
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::error::{DataFusionError, Result};
    use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
    use datafusion::physical_expr::PhysicalExpr;
    use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
    use datafusion::physical_plan::joins::NestedLoopJoinExec;
    use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
    use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
    use futures::{Stream, StreamExt};

    /// Pairs of rows a nested-loop join may compare between two deadline checks.
    const PAIRS_PER_CHECK: usize = 1_000_000;
    /// Probe batch size when the build side's size is unknown.
    const DEFAULT_PROBE_ROWS: usize = 64;

    /// The error a guarded stream fails with once the deadline has passed.
    #[derive(Debug)]
    struct DeadlineExceeded;

    impl std::fmt::Display for DeadlineExceeded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("query deadline exceeded")
        }
    }

    impl std::error::Error for DeadlineExceeded {}

    pub(super) fn is_deadline_error(error: &DataFusionError) -> bool {
        matches!(error, DataFusionError::External(inner) if inner.downcast_ref::<DeadlineExceeded>().is_some())
    }

    /// Wraps every node of `plan` (see the module documentation).
    pub(super) fn guard(plan: Arc<dyn ExecutionPlan>, deadline: Instant) -> Result<Arc<dyn ExecutionPlan>> {
        wrap(plan, deadline, None)
    }

    fn wrap(plan: Arc<dyn ExecutionPlan>, deadline: Instant, slice: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let probe_rows = plan.downcast_ref::<NestedLoopJoinExec>().map(|join| {
            let left_rows = StatisticsContext::new()
                .compute(join.left().as_ref(), &StatisticsArgs::new())
                .ok()
                .and_then(|stats| stats.num_rows.get_value().copied())
                .filter(|&rows| rows > 0);
            match left_rows {
                Some(rows) => (PAIRS_PER_CHECK / rows).clamp(16, 8192),
                None => DEFAULT_PROBE_ROWS,
            }
        });
        let children = plan
            .children()
            .into_iter()
            .enumerate()
            // The right input is the probe side of DataFusion's nested-loop join.
            .map(|(i, child)| wrap(Arc::clone(child), deadline, if i == 1 { probe_rows } else { None }))
            .collect::<Result<Vec<_>>>()?;
        let plan = if children.is_empty() { plan } else { replace_children_if_necessary(plan, children)? };
        Ok(Arc::new(DeadlineExec::new(plan, deadline, slice)))
    }

    /// Passes its input through, checking the deadline before each batch and optionally cutting batches to at most
    /// `slice` rows (zero-copy slices).
    #[derive(Debug)]
    pub(super) struct DeadlineExec {
        input: Arc<dyn ExecutionPlan>,
        deadline: Instant,
        slice: Option<usize>,
        properties: Arc<PlanProperties>,
    }

    impl DeadlineExec {
        fn new(input: Arc<dyn ExecutionPlan>, deadline: Instant, slice: Option<usize>) -> Self {
            let properties = Arc::clone(input.properties());
            DeadlineExec { input, deadline, slice, properties }
        }
    }

    impl DisplayAs for DeadlineExec {
        fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "DeadlineExec")
        }
    }

    impl ExecutionPlan for DeadlineExec {
        fn name(&self) -> &str {
            "DeadlineExec"
        }

        fn properties(&self) -> &Arc<PlanProperties> {
            &self.properties
        }

        fn maintains_input_order(&self) -> Vec<bool> {
            vec![true]
        }

        fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
            vec![&self.input]
        }

        fn apply_expressions(
            &self,
            _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
        ) -> Result<TreeNodeRecursion> {
            Ok(TreeNodeRecursion::Continue)
        }

        fn with_new_children(
            self: Arc<Self>,
            mut children: Vec<Arc<dyn ExecutionPlan>>,
        ) -> Result<Arc<dyn ExecutionPlan>> {
            match (children.pop(), children.is_empty()) {
                (Some(input), true) => Ok(Arc::new(DeadlineExec::new(input, self.deadline, self.slice))),
                _ => Err(DataFusionError::Internal("DeadlineExec takes one child".to_string())),
            }
        }

        fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
            let input = self.input.execute(partition, context)?;
            Ok(Box::pin(DeadlineStream {
                schema: input.schema(),
                input,
                deadline: self.deadline,
                slice: self.slice,
                pending: None,
                failed: false,
            }))
        }
    }

    struct DeadlineStream {
        schema: SchemaRef,
        input: SendableRecordBatchStream,
        deadline: Instant,
        slice: Option<usize>,
        /// The rest of a batch being handed out in slices.
        pending: Option<RecordBatch>,
        failed: bool,
    }

    impl DeadlineStream {
        fn next_slice(&mut self, batch: RecordBatch) -> RecordBatch {
            match self.slice {
                Some(rows) if batch.num_rows() > rows => {
                    let rest = batch.slice(rows, batch.num_rows() - rows);
                    self.pending = Some(rest);
                    batch.slice(0, rows)
                }
                _ => batch,
            }
        }
    }

    impl Stream for DeadlineStream {
        type Item = Result<RecordBatch>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.failed {
                return Poll::Ready(None);
            }
            if Instant::now() >= self.deadline {
                self.failed = true;
                self.pending = None;
                return Poll::Ready(Some(Err(DataFusionError::External(Box::new(DeadlineExceeded)))));
            }
            if let Some(batch) = self.pending.take() {
                return Poll::Ready(Some(Ok(self.next_slice(batch))));
            }
            match self.input.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(batch))) => Poll::Ready(Some(Ok(self.next_slice(batch)))),
                other => other,
            }
        }
    }

    impl RecordBatchStream for DeadlineStream {
        fn schema(&self) -> SchemaRef {
            Arc::clone(&self.schema)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_positions_are_extracted() {
        assert_eq!(error_position("Expected: an expression, found: FROM at Line: 1, Column: 8"), Some((1, 8)));
        assert_eq!(error_position("Expected: end of statement"), None);
        assert_eq!(end_of("SELECT *\nFROM data WHERE "), (2, 16));
    }

    #[test]
    fn unknown_functions_are_named() {
        assert_eq!(
            unknown_function("Invalid function 'lenght'.\nDid you mean 'length'?"),
            Some(("lenght".to_string(), Some("length".to_string())))
        );
        assert_eq!(unknown_function("Something else"), None);
    }

    #[test]
    fn rows_are_cut_at_the_limit() {
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
            "a",
            arrow::datatypes::DataType::Int64,
            false,
        )]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(arrow::array::Int64Array::from_iter_values(0..10))]).unwrap();
        let (kept, count, truncated) = cut_rows(vec![batch.clone(), batch.clone()], 15);
        assert_eq!((kept.len(), count, truncated), (2, 15, true));
        let (_, count, truncated) = cut_rows(vec![batch.clone(), batch], 20);
        assert_eq!((count, truncated), (20, false));
    }
}
