//! Reading published data: rows, aggregates, SQL and downloads. Each checks access, resolves the version asked for
//! (current, `_version=N`, or the one a cursor was issued on) and hands the work to the query engine.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tapwater_query::QueryError;
use tapwater_query::aggregate::{AggregateOutput, aggregate};
use tapwater_query::encode::{ExportChunks, OutputFormat, export_chunks};
use tapwater_query::hot::HotTable;
use tapwater_query::params::{AggregateQuery, RowQuery, requested_version};
use tapwater_query::select::{RowPage, select_rows};
use tapwater_query::sql::{SqlOutput, TableResolver};
use tapwater_store::DatasetAccess;
use tapwater_types::{AccessLevel, Actor, Version};

use crate::access::DatasetAction;
use crate::{AppError, Tapwater};

pub struct RowsAnswer {
    pub version: Arc<Version>,
    pub table: Arc<HotTable>,
    pub page: RowPage,
}

pub struct AggregateAnswer {
    pub version: Arc<Version>,
    pub output: AggregateOutput,
}

pub struct SqlAnswer {
    pub version: Arc<Version>,
    pub output: SqlOutput,
    /// All result rows in one batch, ready to encode.
    pub batch: arrow::record_batch::RecordBatch,
    /// Whether every other dataset the query joined is public (so the answer may be cached by anyone).
    pub all_public: bool,
}

/// Formats a whole version can be downloaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadFormat {
    Csv,
    Json,
    Ndjson,
    Geojson,
    Parquet,
    Original,
}

impl DownloadFormat {
    pub fn name(self) -> &'static str {
        match self {
            DownloadFormat::Csv => "csv",
            DownloadFormat::Json => "json",
            DownloadFormat::Ndjson => "ndjson",
            DownloadFormat::Geojson => "geojson",
            DownloadFormat::Parquet => "parquet",
            DownloadFormat::Original => "original",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "csv" => DownloadFormat::Csv,
            "json" => DownloadFormat::Json,
            "ndjson" => DownloadFormat::Ndjson,
            "geojson" => DownloadFormat::Geojson,
            "parquet" => DownloadFormat::Parquet,
            "original" => DownloadFormat::Original,
            _ => return None,
        })
    }
}

/// A download, ready to stream.
pub enum Download {
    /// A stored file (the original or the Parquet data), streamed from the version store.
    Stored { size: u64, stream: BoxStream<'static, Result<Bytes, AppError>>, filename: String, media_type: String },
    /// The table encoded on the fly, chunk by chunk.
    Encoded { chunks: Box<ExportChunks>, format: OutputFormat, filename: String },
}

impl Tapwater {
    /// The version a read request is about: `_version=N`, else the version its `_cursor` was issued on, else the
    /// current one.
    ///
    /// Also returns the dataset's access level: answers about non-public data must not be kept by shared caches,
    /// and reads of `application`/`restricted` data skip the response cache so that every one is audited.
    pub async fn resolve_read(
        &self,
        actor: &Actor,
        slug: &str,
        params: &[(String, String)],
    ) -> Result<(Arc<Version>, AccessLevel), AppError> {
        let access = self.read_access(actor, slug).await?;
        let seq = requested_version(params)?;
        Ok((self.version(actor, slug, seq).await?, access.level))
    }

    /// [`DatasetAction::ReadRows`], with refusals of audited datasets written to the audit log.
    pub(crate) async fn read_access(&self, actor: &Actor, slug: &str) -> Result<Arc<DatasetAccess>, AppError> {
        match self.authorize_dataset(actor, slug, DatasetAction::ReadRows).await {
            Ok(access) => Ok(access),
            Err(err) => {
                if matches!(
                    err,
                    AppError::KeyRequired { .. }
                        | AppError::ApplicationRequired { .. }
                        | AppError::RestrictedDataset { .. }
                ) && let Ok(access) = self.dataset_access(slug).await
                {
                    self.audit_refusal(actor, &access, &err).await;
                }
                Err(err)
            }
        }
    }

    /// One page of rows of `version`, filtered, sorted and projected as `params` say.
    pub async fn rows(
        &self,
        actor: &Actor,
        slug: &str,
        version: Arc<Version>,
        params: &[(String, String)],
    ) -> Result<RowsAnswer, AppError> {
        let access = self.read_access(actor, slug).await?;
        let table = self.inner.engine.hot_table(&version).await?;
        let query = RowQuery::parse(params, table.schema())?;
        let page = select_rows(&table, &query)?;
        self.audit_read(actor, &access, "read.rows", version.seq, query_text(params), page.row_ids.len() as u64)
            .await?;
        Ok(RowsAnswer { version, table, page })
    }

    /// Grouped counts, sums, averages, minima and maxima.
    pub async fn aggregate(
        &self,
        actor: &Actor,
        slug: &str,
        version: Arc<Version>,
        params: &[(String, String)],
    ) -> Result<AggregateAnswer, AppError> {
        let access = self.read_access(actor, slug).await?;
        let table = self.inner.engine.hot_table(&version).await?;
        let query = AggregateQuery::parse(params, table.schema())?;
        let output = aggregate(&table, &query)?;
        let groups = output.batch.num_rows() as u64;
        self.audit_read(actor, &access, "read.aggregate", version.seq, query_text(params), groups).await?;
        Ok(AggregateAnswer { version, output })
    }

    /// Read-only SQL over `version` as table `data` and, by slug, the current version of any other dataset the
    /// actor may read.
    pub async fn sql(
        &self,
        actor: &Actor,
        slug: &str,
        version: Arc<Version>,
        sql: &str,
    ) -> Result<SqlAnswer, AppError> {
        let access = self.read_access(actor, slug).await?;
        if sql.trim().is_empty() {
            return Err(AppError::invalid(
                "invalid_parameter",
                "q",
                "Give the SQL query in the q parameter, e.g. q=SELECT * FROM data LIMIT 10.",
                "請以參數 q 提供 SQL 查詢，例如 q=SELECT * FROM data LIMIT 10。",
            ));
        }
        let resolver = Resolver {
            app: self,
            actor,
            slug,
            version: version.clone(),
            refused: std::sync::Mutex::new(None),
            joined: std::sync::Mutex::new(Vec::new()),
        };
        let result = self.inner.engine.sql(sql, &resolver).await;
        // A table the actor may not read was named: say so plainly rather than "unknown table".
        if let Ok(mut refused) = resolver.refused.lock()
            && let Some(err) = refused.take()
        {
            return Err(err);
        }
        let output = result?;
        let batch = arrow::compute::concat_batches(&output.schema, &output.batches)
            .map_err(|e| AppError::Internal(format!("concat SQL result: {e}")))?;
        let rows = batch.num_rows() as u64;
        self.audit_read(actor, &access, "read.sql", version.seq, sql.to_string(), rows).await?;
        let mut joined = resolver.joined.lock().map(|j| j.clone()).unwrap_or_default();
        joined.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
        joined.dedup_by(|a, b| a.0.slug == b.0.slug);
        let all_public = joined.iter().all(|(other, _)| other.level == AccessLevel::Public);
        for (other, other_version) in joined {
            let query = format!("{sql} (joined from {slug})");
            self.audit_read(actor, &other, "read.sql", other_version, query, rows).await?;
        }
        Ok(SqlAnswer { version, output, batch, all_public })
    }

    /// A whole version as a file.
    pub async fn download(
        &self,
        actor: &Actor,
        slug: &str,
        version: Arc<Version>,
        format: DownloadFormat,
        bom: bool,
    ) -> Result<Download, AppError> {
        let access = self.read_access(actor, slug).await?;
        let query = format!("format={}{}", format.name(), if bom { "&bom=1" } else { "" });
        self.audit_read(actor, &access, "read.download", version.seq, query, version.row_count).await?;
        let base = format!("{slug}-v{}", version.seq);
        let stored = |path: String, filename: String, media_type: String| async move {
            let (size, stream) = self.inner.blobs.get_stream(&path).await?;
            let stream: BoxStream<'static, Result<Bytes, AppError>> =
                Box::pin(futures::StreamExt::map(stream, |r| r.map_err(AppError::from)));
            Ok::<Download, AppError>(Download::Stored { size, stream, filename, media_type })
        };
        match format {
            DownloadFormat::Original => {
                let ext = std::path::Path::new(&version.original.filename)
                    .extension()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_else(|| version.original.format.clone());
                stored(
                    version.original_path.clone(),
                    format!("{base}-original.{ext}"),
                    version.original.media_type.clone(),
                )
                .await
            }
            DownloadFormat::Parquet => {
                stored(
                    version.data_path.clone(),
                    format!("{base}.parquet"),
                    "application/vnd.apache.parquet".to_string(),
                )
                .await
            }
            DownloadFormat::Csv | DownloadFormat::Json | DownloadFormat::Ndjson | DownloadFormat::Geojson => {
                let format = match format {
                    DownloadFormat::Csv => OutputFormat::Csv,
                    DownloadFormat::Json => OutputFormat::Json,
                    DownloadFormat::Ndjson => OutputFormat::Ndjson,
                    _ => OutputFormat::Geojson,
                };
                let table = self.inner.engine.hot_table(&version).await?;
                let chunks = export_chunks(table, format, bom)?;
                Ok(Download::Encoded {
                    chunks: Box::new(chunks),
                    format,
                    filename: format!("{base}.{}", format.extension()),
                })
            }
        }
    }
}

/// The query parameters as the audit log keeps them: `k=v&k=v`, in the order given.
fn query_text(params: &[(String, String)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        out.append_pair(k, v);
    }
    out.finish()
}

/// Resolves SQL table names for one request: `data` is the dataset in the URL (at the requested version); any other
/// name is a dataset slug, at its current version, if the actor may read its rows — checked here for every table a
/// query names, in joins, subqueries and CTEs alike, because this is the only way the engine reaches a table.
struct Resolver<'a> {
    app: &'a Tapwater,
    actor: &'a Actor,
    slug: &'a str,
    version: Arc<Version>,
    /// The refusal of a named dataset, reported instead of the engine's "unknown table".
    refused: std::sync::Mutex<Option<AppError>>,
    /// Other datasets the query read, for the audit log.
    joined: std::sync::Mutex<Vec<(Arc<DatasetAccess>, i64)>>,
}

impl TableResolver for Resolver<'_> {
    fn resolve<'b>(&'b self, name: &'b str) -> BoxFuture<'b, Result<Option<Arc<HotTable>>, QueryError>> {
        Box::pin(async move {
            let version = if name == "data" || name == self.slug {
                self.version.clone()
            } else {
                let access = match self.app.read_access(self.actor, name).await {
                    Ok(access) => access,
                    Err(AppError::DatasetNotFound { .. }) => return Ok(None),
                    Err(err) => {
                        let message = err.to_string();
                        if let Ok(mut refused) = self.refused.lock() {
                            refused.get_or_insert(err);
                        }
                        return Err(QueryError::Internal(message));
                    }
                };
                let version = match self.app.current_version(name).await {
                    Ok(v) => v,
                    Err(AppError::DatasetNotFound { .. }) | Err(AppError::NoVersion { .. }) => return Ok(None),
                    Err(err) => return Err(QueryError::Internal(err.to_string())),
                };
                if let Ok(mut joined) = self.joined.lock() {
                    joined.push((access, version.seq));
                }
                version
            };
            self.app.inner.engine.hot_table(&version).await.map(Some)
        })
    }
}
