//! Handlers for dataset pipelines, transform logs and the dry run (`POST /api/v1/check`). Like every handler, they
//! translate HTTP to one application-layer call and back.
//!
//! The dry run needs the admin token, like publishing: it stores nothing, but it reads uploads up to the upload
//! limit and spends CPU on them, which anonymous callers could use to load the server.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use tapwater_app::{AppError, PipelineFormat, PipelineView, StagedUpload, Tapwater, VersionTransforms, parse_pipeline};
use tapwater_types::PipelineRevision;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Ctx, param, query_pairs};

/// Largest pipeline document accepted (a pipeline is a few KiB; code lists may make it larger).
const MAX_PIPELINE_BYTES: usize = 1 << 20;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> Router<Tapwater> {
    Router::new()
        .route("/datasets/{slug}/pipeline", get(get_pipeline).put(put_pipeline))
        .route("/datasets/{slug}/pipeline/revisions", get(list_pipeline_revisions))
        .route("/datasets/{slug}/transforms", get(current_transforms))
        .route("/datasets/{slug}/versions/{seq}/transforms", get(version_transforms))
        // Files are streamed to disk with their own limit (max_upload_bytes), as for publishing.
        .route("/check", post(check).layer(DefaultBodyLimit::disable()))
}

/// A dataset's current pipeline and its revision (`null` while it has never had one: the defaults apply).
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/pipeline", tag = "publishing",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = PipelineView), (status = 404, body = ErrorBody)))]
pub async fn get_pipeline(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<axum::Json<PipelineView>, ApiError> {
    Ok(axum::Json(app.pipeline(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?))
}

/// Set a dataset's pipeline: a JSON body, or TOML with `Content-Type: application/toml`. Every change makes a new
/// revision (an unchanged pipeline keeps its revision); the next publish uses it. Needs the admin token.
#[utoipa::path(put, path = "/api/v1/datasets/{slug}/pipeline", tag = "publishing",
    params(("slug" = String, Path, description = "Dataset slug")),
    request_body(content = tapwater_types::Pipeline, description = "The pipeline, as JSON or TOML (application/toml)"),
    security(("admin_token" = [])),
    responses((status = 200, body = PipelineRevision), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_pipeline(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<axum::Json<PipelineRevision>, ApiError> {
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let format = pipeline_format(&content_type).ok_or_else(|| {
        ctx.err(AppError::invalid(
            "unsupported_media_type",
            "Content-Type",
            "Send the pipeline as JSON (application/json) or TOML (application/toml).",
            "請以 JSON（application/json）或 TOML（application/toml）送出處理流程。",
        ))
    })?;
    let body = read_text(&ctx, request.into_body(), "body").await?;
    let pipeline = parse_pipeline(&body, format).map_err(|e| ctx.err(e))?;
    Ok(axum::Json(app.set_pipeline(&ctx.actor, &slug, pipeline).await.map_err(|e| ctx.err(e))?))
}

fn pipeline_format(content_type: &str) -> Option<PipelineFormat> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "" | "application/json" | "text/json" => Some(PipelineFormat::Json),
        "application/toml" | "text/toml" | "text/x-toml" => Some(PipelineFormat::Toml),
        _ => None,
    }
}

async fn read_text(ctx: &Ctx, body: Body, param: &str) -> Result<String, ApiError> {
    let bytes = to_bytes(body, MAX_PIPELINE_BYTES).await.map_err(|_| {
        ctx.err(AppError::invalid(
            "invalid_body",
            param,
            format!("The pipeline could not be read, or is larger than {MAX_PIPELINE_BYTES} bytes."),
            format!("無法讀取處理流程，或超過 {MAX_PIPELINE_BYTES} 位元組。"),
        ))
    })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        ctx.err(AppError::invalid(
            "invalid_body",
            param,
            "The pipeline must be UTF-8 text.",
            "處理流程必須是 UTF-8 文字。",
        ))
    })
}

/// Every revision of a dataset's pipeline, newest first.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/pipeline/revisions", tag = "publishing",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = [PipelineRevision]), (status = 404, body = ErrorBody)))]
pub async fn list_pipeline_revisions(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<axum::Json<Vec<PipelineRevision>>, ApiError> {
    Ok(axum::Json(app.pipeline_revisions(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?))
}

/// The transform log of the current version: everything ingestion decided or changed, per file and column, with
/// examples; the source files and the pipeline revision used.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/transforms", tag = "catalog",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = VersionTransforms), (status = 404, body = ErrorBody)))]
pub async fn current_transforms(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<axum::Json<VersionTransforms>, ApiError> {
    Ok(axum::Json(app.transforms(&ctx.actor, &slug, None).await.map_err(|e| ctx.err(e))?))
}

/// The transform log of one version, with its source files and pipeline revision.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/versions/{seq}/transforms", tag = "catalog",
    params(("slug" = String, Path, description = "Dataset slug"), ("seq" = i64, Path, description = "Version number")),
    responses((status = 200, body = VersionTransforms), (status = 404, body = ErrorBody)))]
pub async fn version_transforms(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path((slug, seq)): Path<(String, String)>,
) -> Result<axum::Json<VersionTransforms>, ApiError> {
    let seq: i64 = seq.parse().map_err(|_| ctx.err(AppError::VersionNotFound { slug: slug.clone(), seq: 0 }))?;
    Ok(axum::Json(app.transforms(&ctx.actor, &slug, Some(seq)).await.map_err(|e| ctx.err(e))?))
}

/// What a multipart body held: the staged files, in order, and the text fields by name.
pub(crate) struct MultipartParts {
    pub files: Vec<StagedUpload>,
    pub fields: Vec<(String, String, String)>,
}

impl MultipartParts {
    /// The text of field `name` and its content type.
    pub fn field(&self, name: &str) -> Option<(&str, &str)> {
        self.fields.iter().find(|(n, _, _)| n == name).map(|(_, ct, v)| (ct.as_str(), v.as_str()))
    }
}

/// Streams every file part (a part named `file`, or any part with a file name) to staging and keeps the small
/// text fields (`pipeline`, `dataset` …).
pub(crate) async fn read_multipart(app: &Tapwater, ctx: &Ctx, request: Request) -> Result<MultipartParts, ApiError> {
    let malformed = |text: String| {
        ctx.err(AppError::invalid(
            "invalid_body",
            "file",
            format!("Malformed multipart body: {text}"),
            format!("multipart 內容格式錯誤：{text}"),
        ))
    };
    let mut multipart = Multipart::from_request(request, app).await.map_err(|e| malformed(e.body_text()))?;
    let mut parts = MultipartParts { files: Vec::new(), fields: Vec::new() };
    while let Some(field) = multipart.next_field().await.map_err(|e| malformed(e.body_text()))? {
        let name = field.name().unwrap_or("").to_string();
        if field.file_name().is_some() && name != "pipeline" || name == "file" {
            let filename = field.file_name().unwrap_or("upload").to_string();
            let stream = field.map(|r| r.map_err(|e| e.body_text()));
            parts.files.push(app.stage_upload(&filename, stream).await.map_err(|e| ctx.err(e))?);
        } else {
            let content_type = field.content_type().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|e| malformed(e.body_text()))?;
            if bytes.len() > MAX_PIPELINE_BYTES {
                return Err(malformed(format!("the part {name:?} is larger than {MAX_PIPELINE_BYTES} bytes")));
            }
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| malformed(format!("the part {name:?} is not UTF-8 text")))?;
            parts.fields.push((name, content_type, text));
        }
    }
    Ok(parts)
}

/// Dry run: what tapwater would make of one or more files, without publishing. `multipart/form-data` with one or
/// more `file` parts (several: a yearly series, merged as a publish would), an optional `pipeline` part (JSON, or
/// TOML with content type application/toml) and an optional `dataset` field (or `?dataset=`) to use that dataset's
/// pipeline. Answer: per-file format, encoding and confidence, tables; the schema; row count; the transform log and
/// its problems; the proposed header mapping (several files); the first 10 rows as served. Needs the admin token.
#[utoipa::path(post, path = "/api/v1/check", tag = "publishing",
    params(("dataset" = Option<String>, Query, description = "Use this dataset's pipeline")),
    request_body(content_type = "multipart/form-data", description = "`file` parts, optional `pipeline` and `dataset`"),
    security(("admin_token" = [])),
    responses((status = 200, description = "The check report (see docs/api.md, Check)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn check(
    State(app): State<Tapwater>,
    ctx: Ctx,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    // Refuse before reading the body: the same right as publishing.
    app.check_publish_right(&ctx.actor).map_err(|e| ctx.err(e))?;
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if !content_type.starts_with("multipart/form-data") {
        return Err(ctx.err(AppError::invalid(
            "unsupported_media_type",
            "Content-Type",
            "Send the files as multipart/form-data, one part named \"file\" per file.",
            "請以 multipart/form-data 送出檔案，每個檔案一個名為「file」的部分。",
        )));
    }
    let pairs = query_pairs(raw.as_deref());
    let parts = read_multipart(&app, &ctx, request).await?;
    let pipeline = match parts.field("pipeline") {
        Some((part_type, text)) => {
            let format = pipeline_format(part_type).unwrap_or(PipelineFormat::Json);
            Some(parse_pipeline(text, format).map_err(|e| ctx.err(e))?)
        }
        None => None,
    };
    let dataset =
        parts.field("dataset").map(|(_, v)| v.trim().to_string()).or(param(&pairs, "dataset").map(str::to_string));
    let report = app
        .check(&ctx.actor, parts.files, pipeline, dataset.as_deref().filter(|d| !d.is_empty()))
        .await
        .map_err(|e| ctx.err(e))?;
    Ok((StatusCode::OK, axum::Json(report)).into_response())
}
