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
use tapwater_types::{Actor, Version};

use crate::access::{Action, authorize};
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
    pub async fn resolve_read(
        &self,
        actor: &Actor,
        slug: &str,
        params: &[(String, String)],
    ) -> Result<Arc<Version>, AppError> {
        authorize(actor, Action::ReadDataset(slug))?;
        let seq = requested_version(params)?;
        self.version(actor, slug, seq).await
    }

    /// One page of rows of `version`, filtered, sorted and projected as `params` say.
    pub async fn rows(
        &self,
        actor: &Actor,
        slug: &str,
        version: Arc<Version>,
        params: &[(String, String)],
    ) -> Result<RowsAnswer, AppError> {
        authorize(actor, Action::ReadDataset(slug))?;
        let table = self.inner.engine.hot_table(&version).await?;
        let query = RowQuery::parse(params, table.schema())?;
        let page = select_rows(&table, &query)?;
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
        authorize(actor, Action::ReadDataset(slug))?;
        let table = self.inner.engine.hot_table(&version).await?;
        let query = AggregateQuery::parse(params, table.schema())?;
        let output = aggregate(&table, &query)?;
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
        authorize(actor, Action::ReadDataset(slug))?;
        if sql.trim().is_empty() {
            return Err(AppError::invalid(
                "invalid_parameter",
                "q",
                "Give the SQL query in the q parameter, e.g. q=SELECT * FROM data LIMIT 10.",
                "請以參數 q 提供 SQL 查詢，例如 q=SELECT * FROM data LIMIT 10。",
            ));
        }
        let resolver = Resolver { app: self, actor, slug, version: version.clone() };
        let output = self.inner.engine.sql(sql, &resolver).await?;
        let batch = arrow::compute::concat_batches(&output.schema, &output.batches)
            .map_err(|e| AppError::Internal(format!("concat SQL result: {e}")))?;
        Ok(SqlAnswer { version, output, batch })
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
        authorize(actor, Action::ReadDataset(slug))?;
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

/// Resolves SQL table names for one request: `data` is the dataset in the URL (at the requested version); any other
/// name is a dataset slug, at its current version, if the actor may read it.
struct Resolver<'a> {
    app: &'a Tapwater,
    actor: &'a Actor,
    slug: &'a str,
    version: Arc<Version>,
}

impl TableResolver for Resolver<'_> {
    fn resolve<'b>(&'b self, name: &'b str) -> BoxFuture<'b, Result<Option<Arc<HotTable>>, QueryError>> {
        Box::pin(async move {
            let version = if name == "data" || name == self.slug {
                self.version.clone()
            } else {
                if authorize(self.actor, Action::ReadDataset(name)).is_err() {
                    return Ok(None);
                }
                match self.app.current_version(name).await {
                    Ok(v) => v,
                    Err(AppError::DatasetNotFound { .. }) | Err(AppError::NoVersion { .. }) => return Ok(None),
                    Err(err) => return Err(QueryError::Internal(err.to_string())),
                }
            };
            self.app.inner.engine.hot_table(&version).await.map(Some)
        })
    }
}
