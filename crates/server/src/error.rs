//! The one place where application errors become HTTP responses:
//! `{"error":{"code":"unknown_column","message":"…","param":"…","docs":"/api/v1/docs#error-unknown_column"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tapwater_app::{AppError, ErrorKind, Lang};

/// An application error with the language of the person who will read it.
#[derive(Debug)]
pub struct ApiError {
    pub error: AppError,
    pub lang: Lang,
}

impl ApiError {
    pub fn new(error: impl Into<AppError>, lang: Lang) -> Self {
        ApiError { error: error.into(), lang }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, documented code (see docs/errors.md).
    pub code: String,
    /// A message for people, in zh-TW or English according to `Accept-Language`.
    pub message: String,
    /// The request parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Where the code is documented.
    pub docs: String,
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Builds an error response from its parts (also used for errors that are not application errors: 404, 405).
pub fn error_response(status: StatusCode, code: &str, message: String, param: Option<String>) -> Response {
    let body = ErrorBody {
        error: ErrorDetail { code: code.to_string(), message, param, docs: format!("/api/v1/docs#error-{code}") },
    };
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.error.kind());
        if status.is_server_error() {
            // The detail goes to the log only: no file path, SQL or engine text reaches a client.
            tracing::error!(error = %self.error, "request failed");
        }
        let mut response = error_response(status, self.error.code(), self.error.message(self.lang), self.error.param());
        if let Some(seconds) = self.error.retry_after() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        response
    }
}
