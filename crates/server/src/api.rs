//! Handlers of `/api/v1`. Each translates HTTP to one application-layer call and back; none authorizes or
//! computes anything itself.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tapwater_app::{
    AppError, DatasetList, DatasetListQuery, Download, DownloadFormat, PublishInput, PublishOptions, Tapwater,
};
use tapwater_query::cache::CachedResponse;
use tapwater_query::encode::{OutputFormat, PageMeta, RowSet, encode_page, geo_columns, geo_columns_of};
use tapwater_types::{
    AccessLevel, Dataset, DatasetInput, DatasetPatch, Job, LICENSES, License, PublishMode, TableSchema, Version,
    VersionSummary,
};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Ctx, param, query_pairs};
use crate::gate::ROWS_HEADER;
use crate::negotiate::{
    cache_control, canonical_query, etag, http_date, not_modified, output_format, private_cache_control,
};

/// Responses larger than this are streamed to the client but not kept in the response cache.
const MAX_CACHED_BODY: usize = 4 * 1024 * 1024;

// ------------------------------------------------------------------------------------------------ catalog

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; the handler reads them from the raw query
pub struct ListParams {
    /// Words to find in title, description or tags (Chinese works).
    q: Option<String>,
    /// Publisher slug.
    publisher: Option<String>,
    /// Exact tag.
    tag: Option<String>,
    /// Page size, 1–1000 (default 50).
    limit: Option<String>,
    /// Datasets to skip.
    offset: Option<String>,
}

pub(crate) fn parse_number<T: std::str::FromStr>(value: Option<&str>, param: &str) -> Result<Option<T>, AppError> {
    match value {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(|_| {
            AppError::invalid(
                "invalid_parameter",
                param,
                format!("{param} must be a non-negative whole number, not \"{v}\"."),
                format!("{param} 必須是非負整數，而不是「{v}」。"),
            )
        }),
    }
}

/// A JSON answer whose validator is a hash of the body: metadata changes rarely, so clients and proxies revalidate
/// with `If-None-Match` and get 304.
fn json_with_etag<T: Serialize>(headers: &HeaderMap, value: &T) -> Response {
    let body = match serde_json::to_vec(value) {
        Ok(body) => body,
        Err(err) => return ApiError::new(AppError::Internal(err.to_string()), tapwater_app::Lang::En).into_response(),
    };
    let tag = etag(&hex::encode(sha2::Sha256::digest(&body)), "json", "", "");
    if not_modified(headers, &tag) {
        return not_modified_response(&tag, false);
    }
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    set(h, CONTENT_TYPE, "application/json");
    set(h, ETAG, &tag);
    h.insert(CACHE_CONTROL, cache_control(false));
    response
}

/// List and search datasets.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "catalog", params(ListParams),
    responses((status = 200, body = DatasetList), (status = 400, body = ErrorBody)))]
pub async fn list_datasets(
    State(app): State<Tapwater>,
    ctx: Ctx,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let query = DatasetListQuery {
        q: param(&pairs, "q").map(str::to_string),
        publisher: param(&pairs, "publisher").map(str::to_string),
        tag: param(&pairs, "tag").map(str::to_string),
        limit: parse_number(param(&pairs, "limit"), "limit").map_err(|e| ctx.err(e))?,
        offset: parse_number(param(&pairs, "offset"), "offset").map_err(|e| ctx.err(e))?,
    };
    Ok(json_with_etag(&headers, &app.list_datasets(&ctx.actor, query).await.map_err(|e| ctx.err(e))?))
}

/// Links to everything a client can do with a dataset.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DatasetLinks {
    #[serde(rename = "self")]
    this: String,
    rows: String,
    aggregate: String,
    sql: String,
    versions: String,
    /// Download URLs by format (csv, json, ndjson, parquet, original, and geojson when the table has coordinates).
    download: std::collections::BTreeMap<String, String>,
    /// The quality report (score, stars, badge, findings).
    quality: String,
    /// The metadata document (主要欄位說明, contact, coverage …).
    metadata: String,
    /// The dataset in standard forms: `datapackage` (once published), `dcat_jsonld`, `dcat_turtle`, `schema_org`,
    /// `data_gov_tw`.
    standards: std::collections::BTreeMap<String, String>,
    /// The dataset's page for people.
    page: String,
}

/// A dataset with its schema, current version and history.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DatasetView {
    #[serde(flatten)]
    dataset: Dataset,
    /// Columns of the current version.
    schema: Option<TableSchema>,
    current_version: Option<Version>,
    versions: Vec<VersionSummary>,
    links: DatasetLinks,
}

/// Whether a version's table has coordinate columns (so GeoJSON can be offered).
fn version_has_geo(version: &Version) -> bool {
    geo_columns_of(&version.schema).is_some()
}

fn links(slug: &str, version: Option<&Version>) -> DatasetLinks {
    let base = format!("/api/v1/datasets/{slug}");
    let mut download = std::collections::BTreeMap::new();
    if let Some(version) = version {
        let mut formats = vec!["csv", "json", "ndjson", "parquet", "original"];
        if version_has_geo(version) {
            formats.push("geojson");
        }
        for format in formats {
            download.insert(format.to_string(), format!("{base}/download?format={format}"));
        }
    }
    let mut standards = std::collections::BTreeMap::new();
    if version.is_some() {
        standards.insert("datapackage".to_string(), format!("{base}/datapackage.json"));
    }
    for (name, path) in [
        ("dcat_jsonld", "dcat.jsonld"),
        ("dcat_turtle", "dcat.ttl"),
        ("schema_org", "schema.org.jsonld"),
        ("data_gov_tw", "data.gov.tw.json"),
    ] {
        standards.insert(name.to_string(), format!("{base}/{path}"));
    }
    DatasetLinks {
        quality: format!("{base}/quality"),
        metadata: format!("{base}/metadata"),
        standards,
        page: format!("/datasets/{slug}"),
        rows: format!("{base}/rows"),
        aggregate: format!("{base}/aggregate"),
        sql: format!("{base}/sql"),
        versions: format!("{base}/versions"),
        this: base,
        download,
    }
}

/// One dataset: metadata, schema, versions and links.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}", tag = "catalog",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = DatasetView), (status = 404, body = ErrorBody)))]
pub async fn get_dataset(
    State(app): State<Tapwater>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let detail = app.dataset_detail(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?;
    let current = detail.current.as_deref().cloned();
    Ok(json_with_etag(
        &headers,
        &DatasetView {
            links: links(&slug, current.as_ref()),
            schema: current.as_ref().map(|v| v.schema.clone()),
            dataset: detail.dataset,
            current_version: current,
            versions: detail.versions,
        },
    ))
}

/// Reads a JSON body, turning extractor rejections into tapwater errors (415 for a wrong content type, 400 for
/// malformed JSON).
pub(crate) async fn json_body<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    request: Request,
    app: &Tapwater,
) -> Result<T, ApiError> {
    match Json::<T>::from_request(request, app).await {
        Ok(Json(value)) => Ok(value),
        Err(rejection) => {
            let status = rejection.status();
            let text = rejection.body_text();
            Err(ctx.err(if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                AppError::invalid(
                    "unsupported_media_type",
                    "Content-Type",
                    "Send the body as JSON with Content-Type: application/json.",
                    "請以 JSON 送出內容，並設定 Content-Type: application/json。",
                )
            } else {
                AppError::invalid(
                    "invalid_body",
                    "body",
                    format!("The JSON body is not valid: {text}"),
                    format!("JSON 內容無效：{text}"),
                )
            }))
        }
    }
}

/// Create a dataset (metadata only). Needs the admin token.
#[utoipa::path(post, path = "/api/v1/datasets", tag = "publishing", request_body = DatasetInput,
    security(("admin_token" = [])),
    responses((status = 201, body = Dataset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn create_dataset(State(app): State<Tapwater>, ctx: Ctx, request: Request) -> Result<Response, ApiError> {
    let input: DatasetInput = json_body(&ctx, request, &app).await?;
    let dataset = app.create_dataset(&ctx.actor, input).await.map_err(|e| ctx.err(e))?;
    let location = format!("/api/v1/datasets/{}", dataset.slug);
    let mut response = (StatusCode::CREATED, Json(dataset)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

/// Change a dataset's metadata; absent fields keep their value. Needs the admin token.
#[utoipa::path(patch, path = "/api/v1/datasets/{slug}", tag = "publishing", request_body = DatasetPatch,
    params(("slug" = String, Path, description = "Dataset slug")), security(("admin_token" = [])),
    responses((status = 200, body = Dataset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update_dataset(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Json<Dataset>, ApiError> {
    let patch: DatasetPatch = json_body(&ctx, request, &app).await?;
    Ok(Json(app.update_dataset(&ctx.actor, &slug, patch).await.map_err(|e| ctx.err(e))?))
}

/// A long-running job (an asynchronous publish): status, stage, progress, and the version or error it ended with.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "publishing",
    params(("id" = String, Path, description = "Job id from the 202 answer")),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody)))]
pub async fn get_job(State(app): State<Tapwater>, ctx: Ctx, Path(id): Path<String>) -> Result<Json<Job>, ApiError> {
    Ok(Json(app.job(&ctx.actor, &id).await.map_err(|e| ctx.err(e))?))
}

/// The licences a dataset can be published under.
#[utoipa::path(get, path = "/api/v1/licenses", tag = "catalog", responses((status = 200, body = [License])))]
pub async fn list_licenses() -> Json<&'static [License]> {
    Json(LICENSES)
}

/// A dataset's versions, newest first.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/versions", tag = "catalog",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = [VersionSummary]), (status = 404, body = ErrorBody)))]
pub async fn list_versions(
    State(app): State<Tapwater>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let detail = app.dataset_detail(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?;
    Ok(json_with_etag(&headers, &detail.versions))
}

/// One version: schema, statistics, original file, artefacts.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/versions/{seq}", tag = "catalog",
    params(("slug" = String, Path, description = "Dataset slug"), ("seq" = i64, Path, description = "Version number")),
    responses((status = 200, body = Version), (status = 404, body = ErrorBody)))]
pub async fn get_version(
    State(app): State<Tapwater>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((slug, seq)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let seq: i64 = seq.parse().map_err(|_| ctx.err(AppError::VersionNotFound { slug: slug.clone(), seq: 0 }))?;
    let version = app.version_info(&ctx.actor, &slug, seq).await.map_err(|e| ctx.err(e))?;
    Ok(json_with_etag(&headers, &version))
}

// ------------------------------------------------------------------------------------------------ publishing

/// Publish a new version: the file is the request body (any content type), or the `file` parts of a
/// `multipart/form-data` body (several parts: a yearly series merged into one version, with a source-file column). Streamed to storage; the version becomes current only once completely written.
/// Needs the admin token.
#[utoipa::path(post, path = "/api/v1/datasets/{slug}/versions", tag = "publishing",
    params(("slug" = String, Path, description = "Dataset slug"),
        ("filename" = Option<String>, Query, description = "Original file name, kept with the version"),
        ("async" = Option<String>, Query,
            description = "`1`: answer 202 at once with a job to follow at `/api/v1/jobs/{id}` (stage, progress, result)"),
        ("mode" = Option<String>, Query,
            description = "`replace` (default) or `append`: the new version is the previous version's files followed by this one, re-read through the same pipeline")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file: CSV/TSV (UTF-8), JSON array of objects, or NDJSON"),
    security(("admin_token" = [])),
    responses((status = 201, body = Version), (status = 202, body = Job, description = "Accepted (async=1)"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn publish_version(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    // Decide before reading a byte of the body: who may publish, and whether the dataset exists.
    app.check_publish(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?;
    let limit = app.config().max_upload_bytes;
    if let Some(length) = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && length > limit
    {
        return Err(ctx.err(AppError::PayloadTooLarge { limit }));
    }
    let pairs = query_pairs(raw.as_deref());
    let mode = match param(&pairs, "mode") {
        None | Some("") => PublishMode::Replace,
        Some(value) => PublishMode::parse(value).ok_or_else(|| {
            ctx.err(AppError::invalid(
                "invalid_parameter",
                "mode",
                format!("mode is replace or append, not \"{value}\"."),
                format!("mode 只能是 replace 或 append，而不是「{value}」。"),
            ))
        })?,
    };
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let uploads = if content_type.starts_with("multipart/form-data") {
        // Several `file` parts: a yearly series, merged into one version in the order sent.
        let parts = crate::pipeline_api::read_multipart(&app, &ctx, request).await?;
        if parts.files.is_empty() {
            return Err(ctx.err(AppError::invalid(
                "invalid_body",
                "file",
                "The multipart body has no file part.",
                "multipart 內容中沒有檔案。",
            )));
        }
        parts.files
    } else {
        let filename = param(&pairs, "filename").unwrap_or("upload").to_string();
        let stream = request.into_body().into_data_stream();
        vec![app.stage_upload(&filename, stream).await.map_err(|e| ctx.err(e))?]
    };
    let input = PublishInput { uploads, mode, pipeline: None };
    if matches!(param(&pairs, "async"), Some("1" | "true")) {
        let job = app.start_publish_job(&ctx.actor, &slug, input).await.map_err(|e| ctx.err(e))?;
        let location = format!("/api/v1/jobs/{}", job.id);
        let mut response = (StatusCode::ACCEPTED, Json(job)).into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(LOCATION, value);
        }
        return Ok(response);
    }
    let version = app
        .publish(&ctx.actor, &slug, input, PublishOptions::default(), Arc::new(|_| {}))
        .await
        .map_err(|e| ctx.err(e))?;
    let location = format!("/api/v1/datasets/{slug}/versions/{}", version.seq);
    let mut response = (StatusCode::CREATED, Json((*version).clone())).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

// ------------------------------------------------------------------------------------------------ reads

/// Parameters of the rows endpoint (column filters come in addition, see the description).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RowsParams {
    /// Sort: `col,-col2` (`-` = descending). File order when absent.
    _sort: Option<String>,
    /// Columns to return: `a,b`.
    _fields: Option<String>,
    /// Page size, 0–10000 (default 100).
    _limit: Option<u32>,
    /// Rows to skip (prefer `_cursor` for deep paging).
    _offset: Option<u64>,
    /// `next_cursor` of the previous page.
    _cursor: Option<String>,
    /// json | ndjson | csv | geojson (also chosen by `Accept`).
    _format: Option<String>,
    /// Version number; default the current version.
    _version: Option<i64>,
    /// Explicit filters as JSON: `[["col","op","value"], …]`, for names or values the plain form cannot express.
    _filters: Option<String>,
}

/// Parameters of the aggregate endpoint (column filters come in addition).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AggregateParams {
    /// Group-by columns: `col1,col2`.
    _group: Option<String>,
    /// `1` to count rows per group (the default measure).
    _count: Option<String>,
    /// Columns to sum (`sum_<col>` in the output).
    _sum: Option<String>,
    /// Columns to average (`avg_<col>`).
    _avg: Option<String>,
    /// Columns to take the minimum of (`min_<col>`).
    _min: Option<String>,
    /// Columns to take the maximum of (`max_<col>`).
    _max: Option<String>,
    /// Sort by output columns: `-count,district`.
    _sort: Option<String>,
    /// Groups per page, default 1000, max 10000.
    _limit: Option<u32>,
    _offset: Option<u64>,
    _format: Option<String>,
    _version: Option<i64>,
    _filters: Option<String>,
}

/// Rows of a dataset: filter, sort, project, page.
///
/// Filters: `col=value` (equality) or `col__op=value` with op one of `eq ne gt gte lt lte in contains startswith
/// isnull`; values compare by the column's type. Column names are used as published (Chinese names URL-encoded).
/// `in` takes `a,b,c`, or a JSON array when values contain commas: `col__in=["臺北市,大安區","x"]`. A column
/// whose name starts with `_` or contains `__` that the plain form cannot address is filtered with
/// `_filters=[["col","op","value"]]`. Paging: follow `next_cursor` (keyset, stays fast at any depth); `total` is
/// the number of matching rows. See docs/api.md.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/rows", tag = "data",
    params(("slug" = String, Path, description = "Dataset slug"), RowsParams),
    responses((status = 200, description = "`{\"rows\":[…],\"next_cursor\":…,\"total\":N}` (JSON), or NDJSON, CSV, GeoJSON"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rows(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let format = output_format(&pairs, &headers).map_err(|e| ctx.err(e))?;
    cached_read(&app, &ctx, &headers, &slug, "rows", &pairs, format, |version| {
        let (app, ctx, slug, pairs) = (app.clone(), &ctx, slug.clone(), pairs.clone());
        async move {
            let answer = app.rows(&ctx.actor, &slug, version, &pairs).await?;
            check_geo(format, answer.table.batch().schema_ref())?;
            let page = &answer.page;
            let body = encode_page(
                format,
                answer.table.batch(),
                RowSet::Ids(&page.row_ids),
                &page.columns,
                &PageMeta {
                    groups: None,
                    next_cursor: page.next_cursor.as_deref(),
                    total: Some(page.total),
                    truncated: None,
                },
            )?;
            let mut extra = vec![
                ("x-total-count".to_string(), page.total.to_string()),
                (ROWS_HEADER.to_string(), page.row_ids.len().to_string()),
            ];
            if let Some(cursor) = &page.next_cursor {
                extra.push(("link".to_string(), next_link(&slug, &pairs, cursor)));
            }
            Ok((body, extra))
        }
    })
    .await
}

/// Grouped counts, sums, averages, minima and maxima, with the same filters as rows.
///
/// Output rows hold the group columns, then `count`, `sum_<col>`, `avg_<col>`, `min_<col>`, `max_<col>`. Without
/// `_group`, one row over all matching rows.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/aggregate", tag = "data",
    params(("slug" = String, Path, description = "Dataset slug"), AggregateParams),
    responses((status = 200, description = "`{\"rows\":[…],\"groups\":G}`"),
        (status = 304, description = "Not modified"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn aggregate(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let format = output_format(&pairs, &headers).map_err(|e| ctx.err(e))?;
    cached_read(&app, &ctx, &headers, &slug, "aggregate", &pairs, format, |version| {
        let (app, ctx, slug, pairs) = (app.clone(), &ctx, slug.clone(), pairs.clone());
        async move {
            let answer = app.aggregate(&ctx.actor, &slug, version, &pairs).await?;
            let batch = &answer.output.batch;
            check_geo(format, batch.schema_ref())?;
            let columns: Vec<usize> = (0..batch.num_columns()).collect();
            let body = encode_page(
                format,
                batch,
                RowSet::All,
                &columns,
                &PageMeta { groups: Some(answer.output.total_groups), next_cursor: None, total: None, truncated: None },
            )?;
            Ok((
                body,
                vec![
                    ("x-total-count".to_string(), answer.output.total_groups.to_string()),
                    (ROWS_HEADER.to_string(), batch.num_rows().to_string()),
                ],
            ))
        }
    })
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SqlParams {
    /// A read-only SQL query; the dataset is table `data`, other datasets by slug (quote slugs with `-`).
    q: String,
    _format: Option<String>,
    _version: Option<i64>,
}

/// Read-only SQL (DataFusion dialect) with a time limit and a row limit; `truncated` says whether rows were cut.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/sql", tag = "data",
    params(("slug" = String, Path, description = "Dataset slug"), SqlParams),
    responses((status = 200, description = "`{\"rows\":[…],\"truncated\":false}`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn sql(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let format = output_format(&pairs, &headers).map_err(|e| ctx.err(e))?;
    let (version, access) = app.resolve_read(&ctx.actor, &slug, &pairs).await.map_err(|e| ctx.err(e))?;
    let query = param(&pairs, "q").unwrap_or("").to_string();
    let answer = app.sql(&ctx.actor, &slug, version.clone(), &query).await.map_err(|e| ctx.err(e))?;
    check_geo(format, answer.batch.schema_ref()).map_err(|e| ctx.err(e))?;
    let columns: Vec<usize> = (0..answer.batch.num_columns()).collect();
    let body = encode_page(
        format,
        &answer.batch,
        RowSet::All,
        &columns,
        &PageMeta { groups: None, next_cursor: None, total: None, truncated: Some(answer.output.truncated) },
    )
    .map_err(|e| ctx.err(e))?;
    // The answer may read other datasets too, so the validator is the body itself.
    let tag = etag(&hex::encode(sha2::Sha256::digest(&body)), "sql", "", format.name());
    // Public only when every dataset the query read is (the answer knows which it joined).
    let public = access == AccessLevel::Public && answer.all_public;
    if not_modified(&headers, &tag) {
        return Ok(not_modified_response(&tag, false));
    }
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    set(h, CONTENT_TYPE, format.media_type());
    set(h, ETAG, &tag);
    set(h, HeaderName::from_static(ROWS_HEADER), &answer.batch.num_rows().to_string());
    h.insert(LAST_MODIFIED, http_date(version.created_at));
    h.insert(CACHE_CONTROL, if public { cache_control(false) } else { private_cache_control() });
    h.insert(VARY, HeaderValue::from_static("Accept"));
    set(h, HeaderName::from_static("x-tapwater-version"), &version.seq.to_string());
    Ok(response)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DownloadParams {
    /// csv | json | ndjson | geojson | parquet | original (default csv).
    format: Option<String>,
    /// `1` puts a UTF-8 byte-order mark before CSV, so Excel in zh-TW opens it correctly.
    bom: Option<String>,
    _version: Option<i64>,
}

/// The whole version as a file, streamed in constant memory at any size.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/download", tag = "data",
    params(("slug" = String, Path, description = "Dataset slug"), DownloadParams),
    responses((status = 200, description = "The file"), (status = 304, description = "Not modified"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let format_name = param(&pairs, "format").unwrap_or("csv");
    let format = DownloadFormat::parse(format_name).ok_or_else(|| {
        ctx.err(AppError::invalid(
            "invalid_format",
            "format",
            format!("Unknown download format \"{format_name}\"; use csv, json, ndjson, geojson, parquet or original."),
            format!("未知的下載格式「{format_name}」；可用 csv、json、ndjson、geojson、parquet、original。"),
        ))
    })?;
    let bom = matches!(param(&pairs, "bom"), Some("1" | "true"));
    let (version, access) = app.resolve_read(&ctx.actor, &slug, &pairs).await.map_err(|e| ctx.err(e))?;
    let pinned = param(&pairs, "_version").is_some();
    let tag = etag(&version.id, "download", format_name, if bom { "bom" } else { "" });
    // Audited datasets answer every read in full, so each one is recorded.
    if !access.is_audited() && not_modified(&headers, &tag) {
        return Ok(not_modified_response(&tag, pinned));
    }
    if format == DownloadFormat::Geojson && !version_has_geo(&version) {
        return Err(ctx.err(geo_required("format")));
    }
    let download = app.download(&ctx.actor, &slug, version.clone(), format, bom).await.map_err(|e| ctx.err(e))?;
    let (body, filename, media_type, length) = match download {
        Download::Stored { size, stream, filename, media_type } => {
            (Body::from_stream(stream.map(|r| r.map_err(std::io::Error::other))), filename, media_type, Some(size))
        }
        Download::Encoded { chunks, format, filename } => {
            (stream_chunks(*chunks), filename, format.media_type().to_string(), None)
        }
    };
    let mut response = Response::new(body);
    let h = response.headers_mut();
    set(h, CONTENT_TYPE, &media_type);
    if let Some(length) = length {
        set(h, CONTENT_LENGTH, &length.to_string());
    }
    set(h, CONTENT_DISPOSITION, &content_disposition(&filename));
    set(h, ETAG, &tag);
    set(h, HeaderName::from_static(ROWS_HEADER), &version.row_count.to_string());
    h.insert(LAST_MODIFIED, http_date(version.created_at));
    h.insert(
        CACHE_CONTROL,
        if access == AccessLevel::Public { cache_control(pinned) } else { private_cache_control() },
    );
    set(h, HeaderName::from_static("x-tapwater-version"), &version.seq.to_string());
    Ok(response)
}

/// Encodes a table on a blocking thread, one chunk at a time, into a channel of two chunks: the client's reading
/// speed paces the encoder, so memory stays constant whatever the table size.
fn stream_chunks(chunks: tapwater_query::encode::ExportChunks) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    tokio::task::spawn_blocking(move || {
        for chunk in chunks {
            if tx.blocking_send(chunk).is_err() {
                break; // the client went away
            }
        }
    });
    // Fused: a compression layer polls its body once more after the end, which a bare `unfold` forbids (a panic
    // that cut gzip downloads short).
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<Bytes, std::io::Error>(chunk), rx))
    })
    .fuse();
    Body::from_stream(stream)
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266), so Chinese names survive.
fn content_disposition(filename: &str) -> String {
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded = percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn geo_required(param: &str) -> AppError {
    AppError::invalid(
        "invalid_format",
        param,
        "GeoJSON needs longitude and latitude columns (lon/lat, longitude/latitude, 經度/緯度) in the result.",
        "GeoJSON 需要結果中有經度與緯度欄位（lon/lat、longitude/latitude、經度/緯度）。",
    )
}

fn check_geo(format: OutputFormat, schema: &arrow::datatypes::Schema) -> Result<(), AppError> {
    if format == OutputFormat::Geojson && geo_columns(schema).is_none() {
        return Err(geo_required("_format"));
    }
    Ok(())
}

fn next_link(slug: &str, pairs: &[(String, String)], cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "_cursor" && k != "_offset") {
        query.append_pair(k, v);
    }
    query.append_pair("_cursor", cursor);
    format!("</api/v1/datasets/{slug}/rows?{}>; rel=\"next\"", query.finish())
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn not_modified_response(tag: &str, pinned: bool) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    let h = response.headers_mut();
    set(h, ETAG, tag);
    h.insert(CACHE_CONTROL, cache_control(pinned));
    h.insert(VARY, HeaderValue::from_static("Accept"));
    response
}

/// The common path of cacheable reads: resolve the version, answer 304 when the client has it, serve from the
/// response cache when we have it, else compute, cache and send.
#[allow(clippy::too_many_arguments)]
async fn cached_read<F, Fut>(
    app: &Tapwater,
    ctx: &Ctx,
    headers: &HeaderMap,
    slug: &str,
    endpoint: &str,
    pairs: &[(String, String)],
    format: OutputFormat,
    compute: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Arc<Version>) -> Fut,
    Fut: std::future::Future<Output = Result<(Bytes, Vec<(String, String)>), AppError>>,
{
    let (version, access) = app.resolve_read(&ctx.actor, slug, pairs).await.map_err(|e| ctx.err(e))?;
    let pinned = pairs.iter().any(|(k, _)| k == "_version" || k == "_cursor");
    let canonical = canonical_query(pairs);
    let tag = etag(&version.id, endpoint, &canonical, format.name());
    // Reads of audited datasets are computed every time (no 304, no response cache), so every one is recorded.
    let audited = access.is_audited();
    if !audited && not_modified(headers, &tag) {
        return Ok(not_modified_response(&tag, pinned));
    }
    let cache = app.engine().response_cache();
    let key = format!("{}\u{1}{endpoint}\u{1}{canonical}\u{1}{}", version.id, format.name());
    let cached = match cache.get(&key).filter(|_| !audited) {
        Some(hit) => hit,
        None => {
            let (body, extra) = compute(version.clone()).await.map_err(|e| ctx.err(e))?;
            let entry = CachedResponse { body, content_type: format.media_type().to_string(), headers: extra };
            if entry.body.len() <= MAX_CACHED_BODY && !audited {
                cache.insert(key, entry.clone());
            }
            entry
        }
    };
    let mut response = Response::new(Body::from(cached.body));
    let h = response.headers_mut();
    set(h, CONTENT_TYPE, &cached.content_type);
    set(h, ETAG, &tag);
    h.insert(LAST_MODIFIED, http_date(version.created_at));
    h.insert(
        CACHE_CONTROL,
        if access == AccessLevel::Public { cache_control(pinned) } else { private_cache_control() },
    );
    h.insert(VARY, HeaderValue::from_static("Accept"));
    set(h, HeaderName::from_static("x-tapwater-version"), &version.seq.to_string());
    for (name, value) in &cached.headers {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            set(h, name, value);
        }
    }
    Ok(response)
}

use sha2::Digest as _;
