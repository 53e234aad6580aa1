//! tapwater's HTTP front door: the `/api/v1` routes, the OpenAPI document, the offline API reference page, and the
//! middleware around them (request ids, tracing, CORS for public reads, compression, graceful shutdown).
//!
//! Handlers only translate between HTTP and the application layer (`tapwater-app`); authorization, queries and
//! storage all live there. Errors become responses in exactly one place ([`error`]).

pub mod access_api;
pub mod api;
mod docs;
pub mod error;
mod extract;
pub mod gate;
mod negotiate;
pub mod openapi;
mod pages;
pub mod pipeline_api;
pub mod quality_api;
pub mod sources_api;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, IF_NONE_MATCH};
use axum::http::{HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use tapwater_app::{Lang, Tapwater};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::error_response;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// All routes of a tapwater server.
pub fn router(app: Tapwater) -> Router {
    let api = Router::new()
        .route("/datasets", get(api::list_datasets).post(api::create_dataset))
        .route("/datasets/{slug}", get(api::get_dataset).patch(api::update_dataset))
        .route(
            "/datasets/{slug}/versions",
            get(api::list_versions)
                .post(api::publish_version)
                // Uploads are streamed to disk with their own limit (max_upload_bytes); axum's 2 MB default is for
                // the JSON endpoints.
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/datasets/{slug}/versions/{seq}", get(api::get_version))
        .route("/datasets/{slug}/rows", get(api::rows))
        .route("/datasets/{slug}/aggregate", get(api::aggregate))
        .route("/datasets/{slug}/sql", get(api::sql))
        .route("/datasets/{slug}/download", get(api::download))
        .route("/jobs/{id}", get(api::get_job))
        .route("/licenses", get(api::list_licenses))
        .merge(pipeline_api::routes())
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/docs", get(docs::api_reference))
        .route("/", get(index))
        .merge(sources_api::routes())
        .merge(access_api::routes())
        .merge(quality_api::routes())
        // Every /api/v1 request: who is asking, rate limit, usage metering.
        .layer(axum::middleware::from_fn_with_state(app.clone(), gate::gate));

    // Public reads may be called from any web page (civic apps, notebooks); writes need the admin token and are not
    // opened to other origins.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([ACCEPT, CONTENT_TYPE, IF_NONE_MATCH, AUTHORIZATION, HeaderName::from_static("x-api-key")])
        .expose_headers([
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            HeaderName::from_static("ratelimit-policy"),
            HeaderName::from_static("retry-after"),
            HeaderName::from_static("x-tapwater-rows"),
            HeaderName::from_static("etag"),
            HeaderName::from_static("link"),
            HeaderName::from_static("x-total-count"),
            HeaderName::from_static("x-tapwater-version"),
            REQUEST_ID,
        ])
        .max_age(Duration::from_secs(3600));

    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/", get(docs::home))
        .route("/datasets/{slug}", get(pages::dataset_page))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        // A bug must not take the connection down or leak its message: log it, answer a plain internal_error.
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side; it has been logged. 伺服器發生錯誤，已記錄。".to_string(),
                None,
            )
        }))
        .layer(CompressionLayer::new())
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    app: Tapwater,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    app.spawn_housekeeping();
    let served = axum::serve(listener, router(app.clone()).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    // What was metered since the last flush.
    if let Err(err) = app.flush_usage().await {
        tracing::warn!(%err, "could not write the last usage counts");
    }
    served
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn healthz(State(app): State<Tapwater>) -> Response {
    match app.health().await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(err) => {
            tracing::error!(%err, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "unavailable"}))).into_response()
        }
    }
}

async fn index() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "name": "tapwater",
        "version": env!("CARGO_PKG_VERSION"),
        "links": {
            "datasets": "/api/v1/datasets",
            "licenses": "/api/v1/licenses",
            "openapi": "/api/v1/openapi.json",
            "docs": "/api/v1/docs",
        }
    }))
}

async fn not_found(request: Request) -> Response {
    let lang = lang_of_request(&request);
    let path = request.uri().path().to_string();
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        lang.pick(
            &format!("No such endpoint: {path}. See /api/v1/docs."),
            &format!("沒有這個端點：{path}。請見 /api/v1/docs。"),
        )
        .to_string(),
        None,
    )
}

async fn method_not_allowed(request: Request) -> Response {
    let lang = lang_of_request(&request);
    let method = request.method().to_string();
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        lang.pick(
            &format!("{method} is not allowed on this endpoint. See /api/v1/docs."),
            &format!("此端點不接受 {method}。請見 /api/v1/docs。"),
        )
        .to_string(),
        None,
    )
}

fn lang_of_request(request: &Request) -> Lang {
    request
        .headers()
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}
