//! Request context: who is asking (found by the gate, [`crate::gate`]), in which language, with which query pairs.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use tapwater_app::{Actor, AppError, Lang, Tapwater};

use crate::error::ApiError;

/// The actor and language of a request.
pub struct Ctx {
    pub actor: Actor,
    pub lang: Lang,
}

impl Ctx {
    pub fn err(&self, error: impl Into<AppError>) -> ApiError {
        ApiError::new(error, self.lang)
    }
}

pub fn lang_of_headers(headers: &HeaderMap) -> Lang {
    headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(Lang::from_accept_language).unwrap_or_default()
}

impl FromRequestParts<Tapwater> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _app: &Tapwater) -> Result<Self, Self::Rejection> {
        let lang = lang_of_headers(&parts.headers);
        // The gate authenticated the request; a route outside it (none today) would act anonymously.
        let actor = parts.extensions.get::<Actor>().cloned().unwrap_or(Actor::Anonymous);
        Ok(Ctx { actor, lang })
    }
}

/// Decodes a raw query string into ordered pairs (`+` is a space, `%XX` UTF-8 — Chinese column names arrive
/// percent-encoded and leave here as text).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    match raw {
        None => Vec::new(),
        Some(q) => url::form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
    }
}

/// The value of the first pair named `name`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}
