//! Application errors: one enum, each variant with a stable code, a category the front doors map to a status, the
//! parameter at fault and a message in English and Traditional Chinese.

use tapwater_ingest::IngestError;
use tapwater_query::QueryError;
use tapwater_store::StoreError;
use tapwater_types::Lang;

/// What kind of failure an error is; the HTTP layer maps each to exactly one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or names something that does not exist in the table (400).
    Invalid,
    /// No credentials, or wrong ones (401).
    Unauthorized,
    /// Credentials are fine but the actor may not do this (403).
    Forbidden,
    /// The thing asked for does not exist (404).
    NotFound,
    /// It already exists (409).
    Conflict,
    /// The upload is bigger than allowed (413).
    TooLarge,
    /// The file is in a format or encoding tapwater does not read yet (415).
    UnsupportedMediaType,
    /// The file is in a supported format but broken (422).
    Unprocessable,
    /// Too many requests, or too many failed sign-ins (429, with `Retry-After`).
    TooManyRequests,
    /// Our fault (500).
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("dataset {slug:?} not found")]
    DatasetNotFound { slug: String },
    #[error("dataset {slug:?} has no version {seq}")]
    VersionNotFound { slug: String, seq: i64 },
    #[error("dataset {slug:?} has no published version yet")]
    NoVersion { slug: String },
    #[error("job {id:?} not found")]
    JobNotFound { id: String },
    #[error("dataset {slug:?} has no source")]
    SourceNotFound { slug: String },
    /// A run of a source failed (`source_unreachable`, `source_http_error`, `source_query_failed`,
    /// `source_interrupted`). The messages never hold a password: they are built from redacted text.
    #[error("{message}")]
    SourceFailed { code: &'static str, message: String, message_zh: String },
    #[error("dataset {slug:?} already exists")]
    DatasetExists { slug: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("dataset {slug:?} needs an API key or a signed-in user")]
    KeyRequired { slug: String },
    #[error("dataset {slug:?} needs an approved access application")]
    ApplicationRequired { slug: String },
    #[error("dataset {slug:?} is restricted: rows are never read or downloaded")]
    RestrictedDataset { slug: String },
    #[error("the API key's scope does not allow writes")]
    InsufficientScope,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("unknown or revoked API key")]
    InvalidApiKey,
    #[error("session expired or unknown")]
    InvalidSession,
    #[error("missing or wrong CSRF token")]
    CsrfFailed,
    #[error("sign-in locked for {retry_after_secs} s after repeated failures")]
    AccountLocked { retry_after_secs: u64 },
    #[error("rate limit of {limit} requests per {window_secs} s exceeded")]
    RateLimited { limit: u32, window_secs: u64, retry_after_secs: u64 },
    #[error("user {email:?} not found")]
    UserNotFound { email: String },
    #[error("a user {email:?} already exists")]
    UserExists { email: String },
    #[error("organisation {slug:?} not found")]
    OrganisationNotFound { slug: String },
    #[error("organisation {slug:?} already exists")]
    OrganisationExists { slug: String },
    #[error("API key {id:?} not found")]
    KeyNotFound { id: String },
    #[error("access application {id:?} not found")]
    ApplicationNotFound { id: String },
    #[error("access application {id:?} is {status}, not {expected}")]
    ApplicationState { id: String, status: String, expected: String },
    #[error("invalid {param}: {message}")]
    InvalidInput { code: &'static str, param: String, message: String, message_zh: String },
    #[error("upload larger than {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        // The store names what it did not find ("dataset aqi", "file versions/…"); only a missing or taken dataset is
        // the caller's business, anything else is an inconsistency on our side.
        match err {
            StoreError::NotFound { what } if what.starts_with("publisher ") => {
                AppError::OrganisationNotFound { slug: what.trim_start_matches("publisher ").to_string() }
            }
            StoreError::Conflict { what } if what.starts_with("user ") => {
                AppError::UserExists { email: what.trim_start_matches("user ").to_string() }
            }
            StoreError::NotFound { what } if what.starts_with("dataset ") => {
                AppError::DatasetNotFound { slug: what.trim_start_matches("dataset ").to_string() }
            }
            StoreError::Conflict { what } if what.starts_with("dataset ") => {
                AppError::DatasetExists { slug: what.trim_start_matches("dataset ").to_string() }
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(err: std::io::Error) -> Self {
        AppError::Internal(format!("i/o: {err}"))
    }
}

impl AppError {
    /// Seconds a client should wait before trying again (the `Retry-After` header), for 429s.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::AccountLocked { retry_after_secs } | AppError::RateLimited { retry_after_secs, .. } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    pub fn invalid(
        code: &'static str,
        param: impl Into<String>,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> Self {
        AppError::InvalidInput { code, param: param.into(), message: message.into(), message_zh: message_zh.into() }
    }

    /// The stable error code clients match on (documented in docs/errors.md).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::DatasetNotFound { .. } => "dataset_not_found",
            AppError::VersionNotFound { .. } => "version_not_found",
            AppError::NoVersion { .. } => "no_version",
            AppError::JobNotFound { .. } => "job_not_found",
            AppError::SourceNotFound { .. } => "source_not_found",
            AppError::SourceFailed { code, .. } => code,
            AppError::DatasetExists { .. } => "dataset_exists",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::KeyRequired { .. } => "key_required",
            AppError::ApplicationRequired { .. } => "application_required",
            AppError::RestrictedDataset { .. } => "restricted_dataset",
            AppError::InsufficientScope => "insufficient_scope",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidApiKey => "invalid_api_key",
            AppError::InvalidSession => "invalid_session",
            AppError::CsrfFailed => "csrf_failed",
            AppError::AccountLocked { .. } => "account_locked",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::UserNotFound { .. } => "user_not_found",
            AppError::UserExists { .. } => "user_exists",
            AppError::OrganisationNotFound { .. } => "organisation_not_found",
            AppError::OrganisationExists { .. } => "organisation_exists",
            AppError::KeyNotFound { .. } => "key_not_found",
            AppError::ApplicationNotFound { .. } => "application_not_found",
            AppError::ApplicationState { .. } => "application_decided",
            AppError::InvalidInput { code, .. } => code,
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::Ingest(e) => e.code(),
            AppError::Query(e) => e.code(),
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::DatasetNotFound { .. }
            | AppError::VersionNotFound { .. }
            | AppError::NoVersion { .. }
            | AppError::JobNotFound { .. }
            | AppError::SourceNotFound { .. } => ErrorKind::NotFound,
            AppError::SourceFailed { .. } => ErrorKind::Unprocessable,
            AppError::DatasetExists { .. } => ErrorKind::Conflict,
            AppError::Unauthorized
            | AppError::KeyRequired { .. }
            | AppError::InvalidCredentials
            | AppError::InvalidApiKey
            | AppError::InvalidSession => ErrorKind::Unauthorized,
            AppError::Forbidden
            | AppError::ApplicationRequired { .. }
            | AppError::RestrictedDataset { .. }
            | AppError::InsufficientScope
            | AppError::CsrfFailed => ErrorKind::Forbidden,
            AppError::AccountLocked { .. } | AppError::RateLimited { .. } => ErrorKind::TooManyRequests,
            AppError::UserNotFound { .. }
            | AppError::OrganisationNotFound { .. }
            | AppError::KeyNotFound { .. }
            | AppError::ApplicationNotFound { .. } => ErrorKind::NotFound,
            AppError::UserExists { .. } | AppError::OrganisationExists { .. } | AppError::ApplicationState { .. } => {
                ErrorKind::Conflict
            }
            AppError::InvalidInput { code: "unsupported_media_type", .. } => ErrorKind::UnsupportedMediaType,
            AppError::InvalidInput { code: "quality_errors", .. } => ErrorKind::Unprocessable,
            AppError::InvalidInput { .. } => ErrorKind::Invalid,
            AppError::PayloadTooLarge { .. } => ErrorKind::TooLarge,
            AppError::Ingest(e) => match e.innermost() {
                IngestError::UnsupportedFormat { .. } | IngestError::UnsupportedEncoding { .. } => {
                    ErrorKind::UnsupportedMediaType
                }
                IngestError::Io(_) | IngestError::Parquet(_) => ErrorKind::Internal,
                _ => ErrorKind::Unprocessable,
            },
            AppError::Query(e) if e.is_client_error() => ErrorKind::Invalid,
            AppError::Query(_) | AppError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The request parameter at fault, if any.
    pub fn param(&self) -> Option<String> {
        match self {
            AppError::DatasetNotFound { .. }
            | AppError::NoVersion { .. }
            | AppError::DatasetExists { .. }
            | AppError::SourceNotFound { .. } => Some("slug".into()),
            AppError::SourceFailed { .. } => Some("source".into()),
            AppError::VersionNotFound { .. } => Some("_version".into()),
            AppError::JobNotFound { .. } => Some("id".into()),
            AppError::InvalidInput { param, .. } => Some(param.clone()),
            AppError::Ingest(e) if matches!(e.innermost(), IngestError::TableNotFound { .. }) => Some("table".into()),
            AppError::PayloadTooLarge { .. } | AppError::Ingest(_) => Some("file".into()),
            AppError::Query(e) => e.param().map(str::to_string),
            AppError::KeyRequired { .. } | AppError::InvalidApiKey => Some("Authorization".into()),
            AppError::ApplicationRequired { .. } | AppError::RestrictedDataset { .. } => Some("slug".into()),
            AppError::InvalidCredentials => Some("password".into()),
            AppError::InvalidSession => Some("Cookie".into()),
            AppError::CsrfFailed => Some("X-CSRF-Token".into()),
            AppError::AccountLocked { .. } | AppError::UserNotFound { .. } | AppError::UserExists { .. } => {
                Some("email".into())
            }
            AppError::OrganisationNotFound { .. } | AppError::OrganisationExists { .. } => Some("organisation".into()),
            AppError::KeyNotFound { .. } | AppError::ApplicationNotFound { .. } | AppError::ApplicationState { .. } => {
                Some("id".into())
            }
            AppError::Unauthorized
            | AppError::Forbidden
            | AppError::InsufficientScope
            | AppError::RateLimited { .. }
            | AppError::Internal(_) => None,
        }
    }

    /// A message a person understands, in the requested language. Internal details never appear here.
    pub fn message(&self, lang: Lang) -> String {
        if self.kind() == ErrorKind::Internal {
            // Server faults (storage I/O, engine failures) may carry paths or engine text: people get a plain
            // sentence, the log gets the detail.
            return lang
                .pick("Something went wrong on our side; it has been logged.", "伺服器發生錯誤，已記錄。")
                .to_string();
        }
        match (self, lang) {
            (AppError::DatasetNotFound { slug }, Lang::En) => format!("There is no dataset \"{slug}\"."),
            (AppError::DatasetNotFound { slug }, Lang::ZhTw) => format!("找不到資料集「{slug}」。"),
            (AppError::VersionNotFound { slug, seq }, Lang::En) => {
                format!("Dataset \"{slug}\" has no version {seq}; see its versions list.")
            }
            (AppError::VersionNotFound { slug, seq }, Lang::ZhTw) => {
                format!("資料集「{slug}」沒有第 {seq} 版；請查看版本清單。")
            }
            (AppError::NoVersion { slug }, Lang::En) => {
                format!("Dataset \"{slug}\" exists but no version has been published yet.")
            }
            (AppError::NoVersion { slug }, Lang::ZhTw) => format!("資料集「{slug}」已建立，但尚未發布任何版本。"),
            (AppError::JobNotFound { id }, Lang::En) => format!("There is no job \"{id}\"."),
            (AppError::JobNotFound { id }, Lang::ZhTw) => format!("找不到工作「{id}」。"),
            (AppError::SourceNotFound { slug }, Lang::En) => {
                format!("Dataset \"{slug}\" has no source; set one with PUT /api/v1/datasets/{slug}/source.")
            }
            (AppError::SourceNotFound { slug }, Lang::ZhTw) => {
                format!("資料集「{slug}」尚未設定來源；請以 PUT /api/v1/datasets/{slug}/source 設定。")
            }
            (AppError::SourceFailed { message, .. }, Lang::En) => message.clone(),
            (AppError::SourceFailed { message_zh, .. }, Lang::ZhTw) => message_zh.clone(),
            (AppError::DatasetExists { slug }, Lang::En) => {
                format!("A dataset \"{slug}\" already exists; update it with PATCH or publish a new version.")
            }
            (AppError::DatasetExists { slug }, Lang::ZhTw) => {
                format!("資料集「{slug}」已存在；請以 PATCH 更新，或發布新版本。")
            }
            (AppError::Unauthorized, Lang::En) => {
                "Sign in, or send an API key (`Authorization: Bearer <key>` or `X-Api-Key`), to do this.".to_string()
            }
            (AppError::Unauthorized, Lang::ZhTw) => {
                "請先登入，或送出 API 金鑰（`Authorization: Bearer <金鑰>` 或 `X-Api-Key`）後再執行此操作。".to_string()
            }
            (AppError::Forbidden, Lang::En) => {
                "You are not allowed to do this: your role in the organisation does not include it.".to_string()
            }
            (AppError::Forbidden, Lang::ZhTw) => "您沒有執行此操作的權限：您在該機關的角色不包含此操作。".to_string(),
            (AppError::KeyRequired { slug }, Lang::En) => format!(
                "Dataset \"{slug}\" is for registered users: sign in or send an API key (create one at \
                 POST /api/v1/me/keys)."
            ),
            (AppError::KeyRequired { slug }, Lang::ZhTw) => {
                format!("資料集「{slug}」僅供註冊使用者使用：請登入或送出 API 金鑰（可於 POST /api/v1/me/keys 建立）。")
            }
            (AppError::ApplicationRequired { slug }, Lang::En) => format!(
                "Dataset \"{slug}\" is released to approved applications only: apply with your purpose at \
                 POST /api/v1/datasets/{slug}/applications."
            ),
            (AppError::ApplicationRequired { slug }, Lang::ZhTw) => format!(
                "資料集「{slug}」僅提供給申請核准者：請以 POST /api/v1/datasets/{slug}/applications 說明用途提出申請。"
            ),
            (AppError::RestrictedDataset { slug }, Lang::En) => format!(
                "Dataset \"{slug}\" is restricted: its rows cannot be read or downloaded, only its description is public."
            ),
            (AppError::RestrictedDataset { slug }, Lang::ZhTw) => {
                format!("資料集「{slug}」為限制級：不能讀取或下載資料列，僅公開其說明資料。")
            }
            (AppError::InsufficientScope, Lang::En) => {
                "This API key has the read scope; create a key with the publish scope to make changes.".to_string()
            }
            (AppError::InsufficientScope, Lang::ZhTw) => {
                "此 API 金鑰僅有讀取權限；若要修改，請建立具 publish 範圍的金鑰。".to_string()
            }
            (AppError::InvalidCredentials, Lang::En) => "Wrong email or password.".to_string(),
            (AppError::InvalidCredentials, Lang::ZhTw) => "電子郵件或密碼錯誤。".to_string(),
            (AppError::InvalidApiKey, Lang::En) => {
                "This API key is unknown or has been revoked; check it or create a new one.".to_string()
            }
            (AppError::InvalidApiKey, Lang::ZhTw) => "此 API 金鑰不存在或已被撤銷；請檢查或建立新的金鑰。".to_string(),
            (AppError::InvalidSession, Lang::En) => "Your session has expired; sign in again.".to_string(),
            (AppError::InvalidSession, Lang::ZhTw) => "您的登入已逾期，請重新登入。".to_string(),
            (AppError::CsrfFailed, Lang::En) => {
                "This form is missing its security token (X-CSRF-Token) or it is stale; reload the page and try again."
                    .to_string()
            }
            (AppError::CsrfFailed, Lang::ZhTw) => {
                "此表單缺少安全權杖（X-CSRF-Token）或權杖已失效；請重新載入頁面再試一次。".to_string()
            }
            (AppError::AccountLocked { retry_after_secs }, Lang::En) => format!(
                "Too many failed sign-ins: this account is locked for {} more minute(s), or reset the password.",
                retry_after_secs.div_ceil(60)
            ),
            (AppError::AccountLocked { retry_after_secs }, Lang::ZhTw) => {
                format!("登入失敗次數過多：此帳號將再鎖定 {} 分鐘，或請重設密碼。", retry_after_secs.div_ceil(60))
            }
            (AppError::RateLimited { limit, window_secs, retry_after_secs }, Lang::En) => format!(
                "Rate limit reached ({limit} requests per {window_secs} s); try again in {retry_after_secs} s, or \
                 use an API key for a higher limit."
            ),
            (AppError::RateLimited { limit, window_secs, retry_after_secs }, Lang::ZhTw) => format!(
                "已達請求上限（每 {window_secs} 秒 {limit} 次）；請於 {retry_after_secs} 秒後再試，或使用 API 金鑰以取得較高上限。"
            ),
            (AppError::UserNotFound { email }, Lang::En) => format!("There is no user \"{email}\"."),
            (AppError::UserNotFound { email }, Lang::ZhTw) => format!("找不到使用者「{email}」。"),
            (AppError::UserExists { email }, Lang::En) => format!("An account for \"{email}\" already exists."),
            (AppError::UserExists { email }, Lang::ZhTw) => format!("「{email}」的帳號已存在。"),
            (AppError::OrganisationNotFound { slug }, Lang::En) => format!("There is no organisation \"{slug}\"."),
            (AppError::OrganisationNotFound { slug }, Lang::ZhTw) => format!("找不到機關「{slug}」。"),
            (AppError::OrganisationExists { slug }, Lang::En) => {
                format!("An organisation \"{slug}\" already exists.")
            }
            (AppError::OrganisationExists { slug }, Lang::ZhTw) => format!("機關「{slug}」已存在。"),
            (AppError::KeyNotFound { id }, Lang::En) => format!("You have no API key \"{id}\"."),
            (AppError::KeyNotFound { id }, Lang::ZhTw) => format!("您沒有代碼為「{id}」的 API 金鑰。"),
            (AppError::ApplicationNotFound { id }, Lang::En) => format!("There is no access application \"{id}\"."),
            (AppError::ApplicationNotFound { id }, Lang::ZhTw) => format!("找不到資料使用申請「{id}」。"),
            (AppError::ApplicationState { id, status, expected }, Lang::En) => {
                format!(
                    "Access application \"{id}\" is {status}; only a {expected} application can be changed this way."
                )
            }
            (AppError::ApplicationState { id, status, expected }, Lang::ZhTw) => {
                format!("資料使用申請「{id}」目前為 {status}；只有 {expected} 的申請能這樣變更。")
            }
            (AppError::InvalidInput { message, .. }, Lang::En) => message.clone(),
            (AppError::InvalidInput { message_zh, .. }, Lang::ZhTw) => message_zh.clone(),
            (AppError::PayloadTooLarge { limit }, Lang::En) => {
                format!("The file is larger than the {limit}-byte limit of this server.")
            }
            (AppError::PayloadTooLarge { limit }, Lang::ZhTw) => format!("檔案超過本伺服器 {limit} 位元組的上限。"),
            (AppError::Ingest(e), lang) => e.message(lang),
            (AppError::Query(e), lang) => e.message(lang),
            (AppError::Internal(_), Lang::En) => "Something went wrong on our side; it has been logged.".to_string(),
            (AppError::Internal(_), Lang::ZhTw) => "伺服器發生錯誤，已記錄。".to_string(),
        }
    }
}

/// Every error code the application can return, with its category, for the documentation test and the OpenAPI
/// description. Adding a code means adding it here and to docs/errors.md.
pub const ERROR_CODES: &[(&str, ErrorKind)] = &[
    ("dataset_not_found", ErrorKind::NotFound),
    ("version_not_found", ErrorKind::NotFound),
    ("no_version", ErrorKind::NotFound),
    ("job_not_found", ErrorKind::NotFound),
    ("source_not_found", ErrorKind::NotFound),
    ("invalid_source", ErrorKind::Invalid),
    ("source_unreachable", ErrorKind::Unprocessable),
    ("source_http_error", ErrorKind::Unprocessable),
    ("source_query_failed", ErrorKind::Unprocessable),
    ("source_interrupted", ErrorKind::Unprocessable),
    ("dataset_exists", ErrorKind::Conflict),
    ("unauthorized", ErrorKind::Unauthorized),
    ("forbidden", ErrorKind::Forbidden),
    ("key_required", ErrorKind::Unauthorized),
    ("application_required", ErrorKind::Forbidden),
    ("restricted_dataset", ErrorKind::Forbidden),
    ("insufficient_scope", ErrorKind::Forbidden),
    ("invalid_credentials", ErrorKind::Unauthorized),
    ("invalid_api_key", ErrorKind::Unauthorized),
    ("invalid_session", ErrorKind::Unauthorized),
    ("csrf_failed", ErrorKind::Forbidden),
    ("account_locked", ErrorKind::TooManyRequests),
    ("rate_limited", ErrorKind::TooManyRequests),
    ("user_not_found", ErrorKind::NotFound),
    ("user_exists", ErrorKind::Conflict),
    ("organisation_not_found", ErrorKind::NotFound),
    ("organisation_exists", ErrorKind::Conflict),
    ("key_not_found", ErrorKind::NotFound),
    ("application_not_found", ErrorKind::NotFound),
    ("application_decided", ErrorKind::Conflict),
    ("invalid_password", ErrorKind::Invalid),
    ("invalid_email", ErrorKind::Invalid),
    ("invalid_token", ErrorKind::Invalid),
    ("signup_closed", ErrorKind::Forbidden),
    ("audit_chain_broken", ErrorKind::Invalid),
    ("invalid_slug", ErrorKind::Invalid),
    ("unknown_license", ErrorKind::Invalid),
    ("invalid_frequency", ErrorKind::Invalid),
    ("invalid_metadata", ErrorKind::Invalid),
    ("invalid_table_schema", ErrorKind::Invalid),
    ("quality_errors", ErrorKind::Unprocessable),
    ("invalid_pipeline", ErrorKind::Invalid),
    ("invalid_body", ErrorKind::Invalid),
    ("invalid_format", ErrorKind::Invalid),
    ("payload_too_large", ErrorKind::TooLarge),
    ("unsupported_format", ErrorKind::UnsupportedMediaType),
    ("unsupported_encoding", ErrorKind::UnsupportedMediaType),
    ("unsupported_media_type", ErrorKind::UnsupportedMediaType),
    ("empty_file", ErrorKind::Unprocessable),
    ("malformed_file", ErrorKind::Unprocessable),
    ("too_many_columns", ErrorKind::Unprocessable),
    ("table_not_found", ErrorKind::Unprocessable),
    ("archive_limit", ErrorKind::Unprocessable),
    ("unknown_column", ErrorKind::Invalid),
    ("unknown_operator", ErrorKind::Invalid),
    ("operator_not_applicable", ErrorKind::Invalid),
    ("invalid_filter_value", ErrorKind::Invalid),
    ("invalid_parameter", ErrorKind::Invalid),
    ("invalid_cursor", ErrorKind::Invalid),
    ("invalid_sql", ErrorKind::Invalid),
    ("sql_not_read_only", ErrorKind::Invalid),
    ("unknown_table", ErrorKind::Invalid),
    ("query_timeout", ErrorKind::Invalid),
    // Answered by the HTTP router itself (no such route: 404; wrong method: 405), listed so they are documented.
    ("not_found", ErrorKind::NotFound),
    ("method_not_allowed", ErrorKind::Invalid),
    ("internal_error", ErrorKind::Internal),
    ("io_error", ErrorKind::Internal),
];
