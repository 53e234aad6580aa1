//! Handlers of a dataset's source: `/api/v1/datasets/{slug}/source` (GET, PUT, DELETE), `…/source/run` (POST: run
//! now, 202 with a job) and `…/source/runs` (GET: the latest runs). Like every handler, each translates HTTP to one
//! application-layer call; authorization, validation and redaction of credentials happen there.

use axum::Json;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tapwater_app::Tapwater;
use tapwater_types::{Job, Source, SourceInput, SourceRun};

use crate::api::{json_body, parse_number};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Ctx, param, query_pairs};

/// Runs listed when `limit` is absent.
const DEFAULT_RUNS: u32 = 20;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> axum::Router<Tapwater> {
    axum::Router::new()
        .route("/datasets/{slug}/source", get(get_source).put(put_source).delete(delete_source))
        .route("/datasets/{slug}/source/run", post(run_source))
        .route("/datasets/{slug}/source/runs", get(list_runs))
}

/// The dataset's source: a URL or a SQL query (connection string redacted: `postgres://reader:***@db/hr`), its
/// schedule, next run and latest run.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/source", tag = "sources",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = Source), (status = 404, body = ErrorBody,
        description = "`dataset_not_found`, or `source_not_found` when the dataset has no source")))]
pub async fn get_source(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Json<Source>, ApiError> {
    Ok(Json(app.source(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?))
}

/// Set (or replace) the dataset's source. `kind = url` with `url` (http/https), or `kind = sql` with
/// `sql: {connection, query}` for PostgreSQL (`postgres://`) or MySQL/MariaDB (`mysql://`, `mariadb://`);
/// `connection = "env:NAME"` reads the connection string from the server's environment. `schedule` is a cron
/// expression in Asia/Taipei time (5 fields, or 6 with seconds); absent = manual runs only. Needs the admin token.
#[utoipa::path(put, path = "/api/v1/datasets/{slug}/source", tag = "sources", request_body = SourceInput,
    params(("slug" = String, Path, description = "Dataset slug")), security(("admin_token" = [])),
    responses((status = 200, body = Source), (status = 400, body = ErrorBody, description = "`invalid_source` …"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_source(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Json<Source>, ApiError> {
    let input: SourceInput = json_body(&ctx, request, &app).await?;
    Ok(Json(app.set_source(&ctx.actor, &slug, input).await.map_err(|e| ctx.err(e))?))
}

/// Remove the dataset's source (its runs stay on record). Needs the admin token.
#[utoipa::path(delete, path = "/api/v1/datasets/{slug}/source", tag = "sources",
    params(("slug" = String, Path, description = "Dataset slug")), security(("admin_token" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_source(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_source(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run the source now: answers 202 at once with the run's job (`Location: /api/v1/jobs/{id}`: stage, progress,
/// version or error). A run already queued or running is returned rather than started twice. Needs the admin token.
#[utoipa::path(post, path = "/api/v1/datasets/{slug}/source/run", tag = "sources",
    params(("slug" = String, Path, description = "Dataset slug")), security(("admin_token" = [])),
    responses((status = 202, body = Job), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn run_source(State(app): State<Tapwater>, ctx: Ctx, Path(slug): Path<String>) -> Result<Response, ApiError> {
    let job = app.start_source_run(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?;
    let location = format!("/api/v1/jobs/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, Json(job)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

/// The latest runs of the source, newest first: trigger, start and end, status (`new_version`, `unchanged`,
/// `failed`, or `queued`/`running`), HTTP status, bytes, version, error code and message, attempts.
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/source/runs", tag = "sources",
    params(("slug" = String, Path, description = "Dataset slug"),
        ("limit" = Option<u32>, Query, description = "Runs to return, 1–200 (default 20)")),
    responses((status = 200, body = [SourceRun]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_runs(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<SourceRun>>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let limit = parse_number::<u32>(param(&pairs, "limit"), "limit").map_err(|e| ctx.err(e))?.unwrap_or(DEFAULT_RUNS);
    Ok(Json(app.source_runs(&ctx.actor, &slug, limit).await.map_err(|e| ctx.err(e))?))
}
