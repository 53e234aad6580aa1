//! The gate every `/api/v1` request passes: who is asking (API key, admin token or session cookie with its CSRF
//! token), whether their rate limit admits the request (`429` with `Retry-After` and `RateLimit-*` headers
//! otherwise), and — on the way out — how many bytes and rows a dataset read served, for the usage meters.
//!
//! The decisions are the application layer's (`Tapwater::authenticate`, `Tapwater::admit`, `Tapwater::meter`);
//! this module only finds the credentials in the request and the numbers in the response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tapwater_app::{Actor, AppError, Credentials, RateStatus, Tapwater};

use crate::error::ApiError;
use crate::extract::lang_of_headers;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tapwater_session";
/// Header with the rows a dataset read served (also useful to clients: rows in this answer).
pub const ROWS_HEADER: &str = "x-tapwater-rows";
const CSRF_HEADER: &str = "x-csrf-token";
const API_KEY_HEADER: &str = "x-api-key";

/// The value of cookie `name` in a `Cookie` header. By hand: the format (`a=1; b=2`, RFC 6265 §5.4) is one split,
/// and the cookie crates bring signing and jars tapwater does not need (its session token is an opaque random id).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Sign-in, sign-up and password reset do not look at an existing session: a stale cookie must not stop a person
/// from signing in again.
fn ignores_session(path: &str) -> bool {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    path.starts_with("/auth/sign") && path != "/auth/signout" || path.starts_with("/auth/password-reset")
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let text = value.to_str().map_err(|_| AppError::Unauthorized)?;
        return match text.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
            _ => Err(AppError::Unauthorized),
        };
    }
    match headers.get(API_KEY_HEADER) {
        Some(value) => value.to_str().map(|v| Some(v.trim())).map_err(|_| AppError::InvalidApiKey),
        None => Ok(None),
    }
}

/// The client's address: the connection's, or with `trust_forwarded_for` the first of `X-Forwarded-For`.
fn client_address(request: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(first) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return first.to_string();
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The dataset a metered read is about: `/datasets/{slug}/rows|aggregate|sql|download`.
fn metered_dataset(path: &str) -> Option<String> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let rest = path.strip_prefix("/datasets/")?;
    let (slug, endpoint) = rest.split_once('/')?;
    matches!(endpoint, "rows" | "aggregate" | "sql" | "download").then(|| slug.to_string())
}

fn rate_headers(headers: &mut HeaderMap, status: &RateStatus) {
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("ratelimit-limit", status.limit.to_string());
    put("ratelimit-remaining", status.remaining.to_string());
    put("ratelimit-reset", status.reset_secs.to_string());
    put("ratelimit-policy", format!("{};w={}", status.limit, status.window_secs));
}

/// The middleware.
pub async fn gate(State(app): State<Tapwater>, mut request: Request, next: Next) -> Response {
    let lang = lang_of_headers(request.headers());
    let path = request.uri().path().to_string();
    let state_changing = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let actor = {
        let headers = request.headers();
        let bearer = match bearer(headers) {
            Ok(bearer) => bearer,
            Err(err) => return ApiError::new(err, lang).into_response(),
        };
        let credentials = Credentials {
            bearer,
            session: if ignores_session(&path) { None } else { cookie(headers, SESSION_COOKIE) },
            csrf: headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()),
            state_changing,
        };
        match app.authenticate(credentials).await {
            Ok(actor) => actor,
            Err(err) => return ApiError::new(err, lang).into_response(),
        }
    };
    let client = client_address(&request, app.config().access.trust_forwarded_for);
    let status = match app.admit(&actor, &client).await {
        Ok(status) => status,
        Err(err) => {
            let refusal = match &err {
                AppError::RateLimited { limit, window_secs, retry_after_secs } => Some(RateStatus {
                    limit: *limit,
                    remaining: 0,
                    reset_secs: *retry_after_secs,
                    window_secs: *window_secs,
                }),
                _ => None,
            };
            let mut response = ApiError::new(err, lang).into_response();
            if let Some(refusal) = refusal {
                rate_headers(response.headers_mut(), &refusal);
            }
            return response;
        }
    };
    let metered = metered_dataset(&path).map(|slug| (slug, actor.clone()));
    request.extensions_mut().insert(actor);
    let mut response = next.run(request).await;
    if let Some(status) = &status {
        rate_headers(response.headers_mut(), status);
    }
    match metered {
        Some((slug, actor)) if response.status().is_success() => meter_body(app, actor, slug, response),
        _ => response,
    }
}

/// Counts the bytes of the body as it streams out; when the body ends (or the client goes away) the request is
/// added to the usage meters with those bytes and the rows the handler reported.
fn meter_body(app: Tapwater, actor: Actor, slug: String, response: Response) -> Response {
    let rows = response
        .headers()
        .get(ROWS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let (mut parts, body) = response.into_parts();
    // A body of known length keeps its Content-Length (the wrapped stream's length is not known to hyper).
    if let Some(length) = HttpBody::size_hint(&body).exact()
        && !parts.headers.contains_key(CONTENT_LENGTH)
    {
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    let guard = Arc::new(MeterOnDrop { app, actor, slug, rows, bytes: AtomicU64::new(0) });
    let stream = body
        .into_data_stream()
        .map(move |chunk| {
            if let Ok(bytes) = &chunk {
                guard.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            chunk
        })
        // Polled again after its end by the compression layer: fused, so it answers `None` again.
        .fuse();
    Response::from_parts(parts, Body::from_stream(stream))
}

struct MeterOnDrop {
    app: Tapwater,
    actor: Actor,
    slug: String,
    rows: u64,
    bytes: AtomicU64,
}

impl Drop for MeterOnDrop {
    fn drop(&mut self) {
        self.app.meter(&self.actor, &self.slug, self.rows, self.bytes.load(Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; tapwater_session=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn only_dataset_reads_are_metered() {
        assert_eq!(metered_dataset("/api/v1/datasets/aqi/rows").as_deref(), Some("aqi"));
        assert_eq!(metered_dataset("/datasets/aqi/download").as_deref(), Some("aqi"));
        assert_eq!(metered_dataset("/datasets/aqi"), None);
        assert_eq!(metered_dataset("/datasets/aqi/versions"), None);
    }

    #[test]
    fn sign_in_ignores_a_stale_session() {
        assert!(ignores_session("/auth/signin"));
        assert!(ignores_session("/api/v1/auth/signup"));
        assert!(ignores_session("/auth/password-reset/confirm"));
        assert!(!ignores_session("/auth/signout"));
        assert!(!ignores_session("/me"));
    }
}
