//! Handlers for dataset metadata, its standard exports (Data Package, DCAT-AP, schema.org, data.gov.tw), quality
//! reports and the publisher dashboard. Each translates HTTP to one application-layer call and back.

use axum::body::{Body, to_bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Serialize;
use tapwater_app::{
    Actor, AppError, MetadataDocument, MetadataFormat, PUBLISHER_QUALITY_CSV_HEADER, Tapwater, parse_metadata,
    publisher_quality_csv_record,
};
use tapwater_types::{
    Dataset, DatasetMetadata, PipelineRevision, PublisherQualityRow, QualityHistoryEntry, QualityReport,
};

use crate::api::parse_number;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Ctx, param, query_pairs};
use crate::negotiate::{cache_control, csv_attachment, private_cache_control};

/// Largest metadata or Table Schema document accepted.
const MAX_DOCUMENT_BYTES: usize = 4 << 20;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<Tapwater> {
    Router::new()
        .route("/datasets/{slug}/metadata", get(get_metadata).put(put_metadata))
        .route("/datasets/{slug}/schema", put(put_table_schema))
        .route("/datasets/{slug}/quality", get(quality))
        .route("/datasets/{slug}/quality/history", get(quality_history))
        .route("/datasets/{slug}/quality/recheck", axum::routing::post(recheck_quality))
        .route("/datasets/{slug}/datapackage.json", get(datapackage))
        .route("/datasets/{slug}/dcat.jsonld", get(dcat_jsonld))
        .route("/datasets/{slug}/dcat.ttl", get(dcat_turtle))
        .route("/datasets/{slug}/schema.org.jsonld", get(schema_org))
        .route("/datasets/{slug}/data.gov.tw.json", get(data_gov_tw))
        .route("/catalog/dcat.jsonld", get(catalog_jsonld))
        .route("/catalog/dcat.ttl", get(catalog_turtle))
        .route("/publishers/{slug}/quality", get(publisher_quality))
}

/// A dataset's metadata document: English title, contact, coverage, field descriptions (主要欄位說明), declared
/// format and encoding, fee … (everything besides the title, description, licence, frequency and tags).
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/metadata", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = DatasetMetadata), (status = 404, body = ErrorBody)))]
pub async fn get_metadata(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Json<DatasetMetadata>, ApiError> {
    Ok(Json(app.dataset_metadata(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?))
}

/// Replace a dataset's metadata document (a JSON body; unknown members are refused). Editors of the dataset's
/// organisation.
#[utoipa::path(put, path = "/api/v1/datasets/{slug}/metadata", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug")),
    request_body = DatasetMetadata,
    security(("api_key" = []), ("admin_token" = [])),
    responses((status = 200, body = Dataset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_metadata(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Json<Dataset>, ApiError> {
    let bytes = read_body(&ctx, request.into_body()).await?;
    let metadata = parse_metadata(&bytes).map_err(|e| ctx.err(e))?;
    Ok(Json(app.set_metadata(&ctx.actor, &slug, metadata).await.map_err(|e| ctx.err(e))?))
}

/// What importing a Table Schema changed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SchemaImportBody {
    dataset: Dataset,
    /// The pipeline revision made to apply the declared types, key and missing values at the next publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline: Option<PipelineRevision>,
}

/// Import a Frictionless Table Schema: descriptions, units, `rdfType` URIs and constraints go to the metadata and
/// are checked on every version; types, `primaryKey` and `missingValues` go to the pipeline for the next publish.
#[utoipa::path(put, path = "/api/v1/datasets/{slug}/schema", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug")),
    request_body(content = Object, description = "A Frictionless Table Schema (JSON)"),
    security(("api_key" = []), ("admin_token" = [])),
    responses((status = 200, body = SchemaImportBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_table_schema(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Json<SchemaImportBody>, ApiError> {
    let bytes = read_body(&ctx, request.into_body()).await?;
    let schema: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ctx.err(AppError::invalid(
            "invalid_table_schema",
            "schema",
            format!("The Table Schema is not JSON: {e}."),
            format!("Table Schema 不是有效的 JSON：{e}。"),
        ))
    })?;
    let imported = app.import_table_schema(&ctx.actor, &slug, &schema).await.map_err(|e| ctx.err(e))?;
    Ok(Json(SchemaImportBody { dataset: imported.dataset, pipeline: imported.pipeline }))
}

async fn read_body(ctx: &Ctx, body: Body) -> Result<bytes::Bytes, ApiError> {
    to_bytes(body, MAX_DOCUMENT_BYTES).await.map_err(|_| {
        ctx.err(AppError::invalid(
            "invalid_body",
            "body",
            format!("The document could not be read, or is larger than {MAX_DOCUMENT_BYTES} bytes."),
            format!("無法讀取文件，或超過 {MAX_DOCUMENT_BYTES} 位元組。"),
        ))
    })
}

fn version_param(ctx: &Ctx, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    parse_number(param(&query_pairs(raw), "_version"), "_version").map_err(|e| ctx.err(e))
}

/// The quality report of the current version (or `_version=N`), assessed now: 0–100 score, five-star level with
/// the step to the next star, readiness badge, every check with its weight, and findings with `code`, `severity`,
/// `column`, `count`, `rows`, `examples` and a `fix`. `status` is `pending` until the checks of a new version have
/// run. Examples are values of the data: they are left out for callers who may not read the rows.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/quality", tag = "quality",
    params(("slug" = String, Path, description = "Dataset slug"),
        ("_version" = Option<i64>, Query, description = "A version number (default: the current version)")),
    responses((status = 200, body = QualityReport), (status = 404, body = ErrorBody)))]
pub async fn quality(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let seq = version_param(&ctx, raw.as_deref())?;
    let report = app.quality_report(&ctx.actor, &slug, seq).await.map_err(|e| ctx.err(e))?;
    let mut response = Json(report).into_response();
    // Judged against the clock: never cached as if fixed.
    response.headers_mut().insert(CACHE_CONTROL, private_cache_control());
    Ok(response)
}

/// Run the checks of the current version (or `_version=N`) again now — the table checks, and a URL source's address
/// tried anew (HEAD, then a full GET) — and answer the fresh report. Editors of the dataset's organisation.
#[utoipa::path(post, path = "/api/v1/datasets/{slug}/quality/recheck", tag = "quality",
    params(("slug" = String, Path, description = "Dataset slug"),
        ("_version" = Option<i64>, Query, description = "A version number (default: the current version)")),
    security(("api_key" = []), ("admin_token" = [])),
    responses((status = 200, body = QualityReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn recheck_quality(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let seq = version_param(&ctx, raw.as_deref())?;
    let report = app.recheck_quality(&ctx.actor, &slug, seq).await.map_err(|e| ctx.err(e))?;
    let mut response = Json(report).into_response();
    response.headers_mut().insert(CACHE_CONTROL, private_cache_control());
    Ok(response)
}

/// Every version's score, stars, badge and counts as assessed when its checks ran, newest first: the trend.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/quality/history", tag = "quality",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = [QualityHistoryEntry]), (status = 404, body = ErrorBody)))]
pub async fn quality_history(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Json<Vec<QualityHistoryEntry>>, ApiError> {
    Ok(Json(app.quality_history(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?))
}

fn document_response(actor: &Actor, document: MetadataDocument, media_type: &'static str, filename: &str) -> Response {
    let body = match document {
        MetadataDocument::Json(value) => serde_json::to_vec_pretty(&value).unwrap_or_default(),
        MetadataDocument::Turtle(text) => text.into_bytes(),
    };
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        h.insert(CONTENT_DISPOSITION, value);
    }
    // What an anonymous caller sees is the same for everyone; what a signed-in editor sees may include drafts.
    let cache = if matches!(actor, Actor::Anonymous) { cache_control(false) } else { private_cache_control() };
    h.insert(CACHE_CONTROL, cache);
    response
}

async fn export(
    app: &Tapwater,
    ctx: &Ctx,
    slug: &str,
    raw: Option<&str>,
    format: MetadataFormat,
) -> Result<MetadataDocument, ApiError> {
    let seq = version_param(ctx, raw)?;
    app.metadata_document(&ctx.actor, slug, format, seq).await.map_err(|e| ctx.err(e))
}

/// A Frictionless Data Package of the current version (or `_version=N`): the dataset's metadata and one tabular
/// resource, the version's CSV, with its Table Schema (types, descriptions, constraints, keys).
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/datapackage.json", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug"),
        ("_version" = Option<i64>, Query, description = "A version number (default: the current version)")),
    responses((status = 200, description = "datapackage.json", content_type = "application/json"),
        (status = 404, body = ErrorBody)))]
pub async fn datapackage(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let document = export(&app, &ctx, &slug, raw.as_deref(), MetadataFormat::DataPackage).await?;
    Ok(document_response(&ctx.actor, document, "application/json", "datapackage.json"))
}

/// The dataset as DCAT-AP 3 in JSON-LD (inline context): dcat:Dataset, its distributions and the rows API as a
/// dcat:DataService.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/dcat.jsonld", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, description = "DCAT-AP 3 JSON-LD", content_type = "application/ld+json"),
        (status = 404, body = ErrorBody)))]
pub async fn dcat_jsonld(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let document = export(&app, &ctx, &slug, raw.as_deref(), MetadataFormat::DcatJsonLd).await?;
    Ok(document_response(&ctx.actor, document, "application/ld+json", &format!("{slug}.jsonld")))
}

/// The dataset as DCAT-AP 3 in Turtle (the same graph as the JSON-LD).
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/dcat.ttl", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, description = "DCAT-AP 3 Turtle", content_type = "text/turtle"),
        (status = 404, body = ErrorBody)))]
pub async fn dcat_turtle(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let document = export(&app, &ctx, &slug, raw.as_deref(), MetadataFormat::DcatTurtle).await?;
    Ok(document_response(&ctx.actor, document, "text/turtle; charset=utf-8", &format!("{slug}.ttl")))
}

/// The dataset as a schema.org `Dataset` (JSON-LD), the form search engines such as Google Dataset Search read.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/schema.org.jsonld", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, description = "schema.org Dataset", content_type = "application/ld+json"),
        (status = 404, body = ErrorBody)))]
pub async fn schema_org(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let document = export(&app, &ctx, &slug, raw.as_deref(), MetadataFormat::SchemaOrg).await?;
    Ok(document_response(&ctx.actor, document, "application/ld+json", &format!("{slug}.schema.org.jsonld")))
}

/// The dataset's metadata as the national portal (data.gov.tw) reads it: publisher OID, `updateFrequency`,
/// coverage, fee, and per distribution `resourceField` (主要欄位說明) — for an agency to push from tapwater.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/data.gov.tw.json", tag = "metadata",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, description = "data.gov.tw dataset metadata", content_type = "application/json"),
        (status = 404, body = ErrorBody)))]
pub async fn data_gov_tw(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let document = export(&app, &ctx, &slug, raw.as_deref(), MetadataFormat::DataGovTw).await?;
    Ok(document_response(&ctx.actor, document, "application/json", &format!("{slug}.data.gov.tw.json")))
}

/// The whole catalogue as DCAT-AP 3 JSON-LD, for harvesters (every dataset the caller can see).
#[utoipa::path(get, path = "/api/v1/catalog/dcat.jsonld", tag = "metadata",
    responses((status = 200, description = "DCAT-AP 3 catalogue", content_type = "application/ld+json")))]
pub async fn catalog_jsonld(State(app): State<Tapwater>, ctx: Ctx) -> Result<Response, ApiError> {
    let document = app.catalog_document(&ctx.actor, false).await.map_err(|e| ctx.err(e))?;
    Ok(document_response(&ctx.actor, document, "application/ld+json", "catalog.jsonld"))
}

/// The whole catalogue as DCAT-AP 3 Turtle.
#[utoipa::path(get, path = "/api/v1/catalog/dcat.ttl", tag = "metadata",
    responses((status = 200, description = "DCAT-AP 3 catalogue", content_type = "text/turtle")))]
pub async fn catalog_turtle(State(app): State<Tapwater>, ctx: Ctx) -> Result<Response, ApiError> {
    let document = app.catalog_document(&ctx.actor, true).await.map_err(|e| ctx.err(e))?;
    Ok(document_response(&ctx.actor, document, "text/turtle; charset=utf-8", "catalog.ttl"))
}

/// The publisher dashboard: every dataset of an organisation with its score, stars, badge, open findings and
/// whether an update is overdue, what to fix first at the top. `format=csv` (or `Accept: text/csv`) for the
/// agency's quarterly report.
#[utoipa::path(get, path = "/api/v1/publishers/{slug}/quality", tag = "quality",
    params(("slug" = String, Path, description = "Publisher (organisation) slug"),
        ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, body = [PublisherQualityRow]), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn publisher_quality(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let wants_csv = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"));
    let format = param(&pairs, "format").unwrap_or(if wants_csv { "csv" } else { "json" });
    if !matches!(format, "json" | "csv") {
        return Err(ctx.err(AppError::invalid(
            "invalid_format",
            "format",
            format!("format is json or csv, not \"{format}\"."),
            format!("format 只能是 json 或 csv，而不是「{format}」。"),
        )));
    }
    let rows = app.publisher_quality(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?;
    let mut response = if format == "csv" {
        // With a byte-order mark: the agency's quarterly report opens in Excel with its Chinese titles intact.
        let records = rows.iter().map(publisher_quality_csv_record);
        csv_attachment(PUBLISHER_QUALITY_CSV_HEADER, records, &format!("{slug}-quality.csv"), true)
            .map_err(|e| ctx.err(e))?
    } else {
        Json(rows).into_response()
    };
    response.headers_mut().insert(CACHE_CONTROL, private_cache_control());
    Ok(response)
}
