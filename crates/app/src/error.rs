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
            AppError::Unauthorized => ErrorKind::Unauthorized,
            AppError::Forbidden => ErrorKind::Forbidden,
            AppError::InvalidInput { code: "unsupported_media_type", .. } => ErrorKind::UnsupportedMediaType,
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
            AppError::Unauthorized | AppError::Forbidden | AppError::Internal(_) => None,
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
                "This operation needs the admin token: send `Authorization: Bearer <token>`.".to_string()
            }
            (AppError::Unauthorized, Lang::ZhTw) => {
                "此操作需要管理權杖：請送出 `Authorization: Bearer <權杖>`。".to_string()
            }
            (AppError::Forbidden, Lang::En) => "You are not allowed to do this.".to_string(),
            (AppError::Forbidden, Lang::ZhTw) => "您沒有執行此操作的權限。".to_string(),
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
    ("invalid_slug", ErrorKind::Invalid),
    ("unknown_license", ErrorKind::Invalid),
    ("invalid_frequency", ErrorKind::Invalid),
    ("invalid_metadata", ErrorKind::Invalid),
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
