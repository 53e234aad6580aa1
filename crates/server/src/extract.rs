//! Request context: who is asking (from `Authorization: Bearer …`), in which language, with which query pairs.

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION};
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

pub fn lang_of(parts: &Parts) -> Lang {
    parts.headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(Lang::from_accept_language).unwrap_or_default()
}

impl FromRequestParts<Tapwater> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Tapwater) -> Result<Self, Self::Rejection> {
        let lang = lang_of(parts);
        let bearer = match parts.headers.get(AUTHORIZATION) {
            None => None,
            Some(value) => {
                let text = value.to_str().map_err(|_| ApiError::new(AppError::Unauthorized, lang))?;
                match text.split_once(' ') {
                    Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim().to_string()),
                    _ => return Err(ApiError::new(AppError::Unauthorized, lang)),
                }
            }
        };
        let actor = app.authenticate(bearer.as_deref()).map_err(|e| ApiError::new(e, lang))?;
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
