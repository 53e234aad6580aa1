//! Why a file could not be ingested, with a stable code and a message in English and Traditional Chinese.

use tapwater_types::Lang;

/// Everything that can go wrong while reading a file and writing its Parquet.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file (or the Parquet output) could not be read or written.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The file holds no bytes, only whitespace, or no header row.
    #[error("the file is empty")]
    Empty,
    /// A format tapwater does not read (yet): `xlsx`, `xls`, `ods`, `zip`, `html`, `xml`, `pdf`, `gzip`, `binary`.
    #[error("unsupported format {detected}: {message}")]
    UnsupportedFormat { detected: String, message: String },
    /// A text encoding other than UTF-8: `Big5`, `UTF-16LE`, `UTF-16BE`, `UTF-32LE`, `UTF-32BE`, `unknown`.
    #[error("unsupported encoding {detected}: {message}")]
    UnsupportedEncoding { detected: String, message: String },
    /// The file is in a supported format but broken at `line` (1-based; the header is line 1).
    #[error("malformed file at line {line}{}: {message}", column.as_ref().map(|c| format!(", column {c:?}")).unwrap_or_default())]
    Malformed {
        line: u64,
        /// The column at fault, when one is.
        column: Option<String>,
        /// What is wrong, in English.
        message: String,
        /// What is wrong, for programs and translations.
        kind: MalformedKind,
    },
    /// More columns than [`crate::IngestOptions::max_columns`].
    #[error("the file has {count} columns, more than the limit of {max}")]
    TooManyColumns { count: usize, max: usize },
    /// The Parquet or Arrow writer failed (our side).
    #[error("parquet writer: {0}")]
    Parquet(String),
    /// The pipeline asked for a sheet, HTML table or ZIP member the file does not have.
    #[error("no table {requested:?} in the file (it has: {available:?})")]
    TableNotFound { requested: String, available: Vec<String> },
    /// An archive broke a safety limit (member count, unpacked size, compression ratio): a ZIP bomb or a file far
    /// larger than a table should be.
    #[error("archive refused: {message}")]
    ArchiveLimit { message: String, message_zh: String },
    /// An error in one of several files of a version (a yearly series, an append, a ZIP member).
    #[error("{file}: {error}")]
    InFile { file: String, error: Box<IngestError> },
}

/// The ways a file can be malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedKind {
    /// A row has more cells than the header has columns.
    TooManyCells { cells: usize, columns: usize },
    /// Bytes that are not UTF-8 after the first 64 KiB (which the sniffer checked).
    InvalidUtf8,
    /// A syntax error, e.g. in JSON (the message says which).
    Syntax,
    /// A JSON record that is not an object; `index` is 1-based.
    NotAnObject { index: u64 },
    /// JSON that is neither an array of objects nor an object holding one.
    NoRecords,
    /// The file changed between the inference pass and the conversion pass.
    ChangedDuringIngest,
    /// One cell holds more text than a table can (2 GiB).
    CellTooLarge,
    /// A line runs longer than the reader accepts without a line end (a file that is not a table, or one line of
    /// gigabytes): memory would not stay bounded.
    LineTooLong { max_bytes: u64 },
    /// A workbook or archive that cannot be opened: damaged, truncated, or protected by a password.
    Damaged { password: bool },
    /// An XML document type declaration that declares entities (never expanded: they can read files or URLs).
    EntityDeclaration,
    /// A spreadsheet, HTML page or XML record beyond what tapwater reads in memory (the message gives the limit).
    TooLarge,
}

impl IngestError {
    /// Names the file an error happened in (once: an error already naming a file keeps its name).
    pub fn in_file(self, file: &str) -> Self {
        match self {
            e @ IngestError::InFile { .. } => e,
            error => IngestError::InFile { file: file.to_string(), error: Box::new(error) },
        }
    }

    /// The error without the file it happened in.
    pub fn innermost(&self) -> &IngestError {
        match self {
            IngestError::InFile { error, .. } => error.innermost(),
            e => e,
        }
    }

    pub(crate) fn malformed(
        line: u64,
        column: Option<String>,
        kind: MalformedKind,
        message: impl Into<String>,
    ) -> Self {
        IngestError::Malformed { line, column, message: message.into(), kind }
    }

    pub(crate) fn too_many_cells(line: u64, cells: usize, columns: usize) -> Self {
        IngestError::malformed(
            line,
            None,
            MalformedKind::TooManyCells { cells, columns },
            format!("this row has {cells} cells but the header has {columns} columns"),
        )
    }

    pub(crate) fn changed(line: u64, column: Option<String>) -> Self {
        IngestError::malformed(
            line,
            column,
            MalformedKind::ChangedDuringIngest,
            "the file changed while it was being read; publish it again",
        )
    }

    /// The stable error code, as documented for the API.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Io(_) => "io_error",
            IngestError::Empty => "empty_file",
            IngestError::UnsupportedFormat { .. } => "unsupported_format",
            IngestError::UnsupportedEncoding { .. } => "unsupported_encoding",
            IngestError::Malformed { .. } => "malformed_file",
            IngestError::TooManyColumns { .. } => "too_many_columns",
            IngestError::Parquet(_) => "internal_error",
            IngestError::TableNotFound { .. } => "table_not_found",
            IngestError::ArchiveLimit { .. } => "archive_limit",
            IngestError::InFile { error, .. } => error.code(),
        }
    }

    /// A message a person understands: what is wrong and where. Internal details (I/O, writer errors) stay in the
    /// logs (`Display`), not here.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (IngestError::Io(_), Lang::En) => "The file could not be read or the table could not be stored.".into(),
            (IngestError::Io(_), Lang::ZhTw) => "無法讀取檔案或儲存資料表。".into(),
            (IngestError::Empty, Lang::En) => "The file is empty: it holds no header row and no records.".into(),
            (IngestError::Empty, Lang::ZhTw) => "檔案是空的：沒有標題列，也沒有資料。".into(),
            (IngestError::UnsupportedFormat { detected, .. }, Lang::En) => format!(
                "The file is {}, which is not a table tapwater reads. Publish CSV, TSV, JSON, NDJSON, an Excel or \
                 OpenDocument spreadsheet (XLSX, XLS, ODS), an HTML table, XML, or a ZIP of those.",
                format_names(detected).0
            ),
            (IngestError::UnsupportedFormat { detected, .. }, Lang::ZhTw) => format!(
                "此檔案為{}，不是 tapwater 可讀取的表格。請發布 CSV、TSV、JSON、NDJSON、Excel 或 OpenDocument 試算表\
                 （XLSX、XLS、ODS）、HTML 表格、XML，或上述檔案的 ZIP 壓縮檔。",
                format_names(detected).1
            ),
            (IngestError::UnsupportedEncoding { detected, .. }, Lang::En) if detected == "unknown" => {
                "The file is not text in any encoding tapwater recognises (UTF-8, Big5/CP950, UTF-16); save it as \
                 UTF-8."
                    .into()
            }
            (IngestError::UnsupportedEncoding { detected, .. }, Lang::ZhTw) if detected == "unknown" => {
                "此檔案的內容不是 tapwater 能辨識的文字編碼（UTF-8、Big5／CP950、UTF-16）；請另存為 UTF-8。".into()
            }
            (IngestError::UnsupportedEncoding { detected, .. }, Lang::En) => format!(
                "The file's text is encoded in {detected}, which tapwater cannot decode; save it as UTF-8 (Big5 and \
                 UTF-16 are read too)."
            ),
            (IngestError::UnsupportedEncoding { detected, .. }, Lang::ZhTw) => {
                format!("此檔案的文字編碼為 {detected}，tapwater 無法解碼；請另存為 UTF-8（亦可讀取 Big5 與 UTF-16）。")
            }
            (IngestError::Malformed { line: 0, column: None, message, .. }, Lang::En) => {
                format!("The file is malformed: {message}.")
            }
            (IngestError::Malformed { line, column, message, .. }, Lang::En) => {
                let column = column.as_ref().map(|c| format!(", column \"{c}\"")).unwrap_or_default();
                format!("The file is malformed at line {line}{column}: {message}.")
            }
            (IngestError::Malformed { line, column, message, kind }, Lang::ZhTw) => {
                let column = column.as_ref().map(|c| format!("欄位「{c}」")).unwrap_or_default();
                let what = match kind {
                    MalformedKind::TooManyCells { cells, columns } => {
                        format!("此列有 {cells} 個欄位值，但標題列只有 {columns} 欄")
                    }
                    MalformedKind::InvalidUtf8 => "含有不是 UTF-8 的位元組".to_string(),
                    MalformedKind::Syntax => format!("語法錯誤（{message}）"),
                    MalformedKind::NotAnObject { index } => format!("第 {index} 筆資料不是 JSON 物件"),
                    MalformedKind::NoRecords => "JSON 不是物件陣列，也不是包含物件陣列的物件".to_string(),
                    MalformedKind::ChangedDuringIngest => "讀取期間檔案被修改；請重新發布".to_string(),
                    MalformedKind::CellTooLarge => "此欄位值超過 2 GiB".to_string(),
                    MalformedKind::LineTooLong { max_bytes } => {
                        format!("此行超過 {} MiB 仍未換行", max_bytes >> 20)
                    }
                    MalformedKind::Damaged { password: true } => "活頁簿設有密碼；請移除密碼後重新發布".to_string(),
                    MalformedKind::Damaged { password: false } => "檔案已損毀或不完整，無法開啟".to_string(),
                    MalformedKind::EntityDeclaration => {
                        "XML 文件宣告了實體（<!ENTITY>）；實體可能讀取檔案或網址，基於安全不予展開".to_string()
                    }
                    MalformedKind::TooLarge => {
                        format!("超過 tapwater 以記憶體讀取此格式的上限，請改以 CSV 發布（{message}）")
                    }
                };
                if *line == 0 && column.is_empty() {
                    format!("檔案格式錯誤：{what}。")
                } else {
                    format!("檔案格式錯誤，位於第 {line} 行{column}：{what}。")
                }
            }
            (IngestError::TooManyColumns { count, max }, Lang::En) => {
                format!("The file has {count} columns; tapwater accepts at most {max}.")
            }
            (IngestError::TooManyColumns { count, max }, Lang::ZhTw) => {
                format!("檔案有 {count} 欄，超過上限 {max} 欄。")
            }
            (IngestError::Parquet(_), Lang::En) => "Something went wrong on our side while storing the table.".into(),
            (IngestError::Parquet(_), Lang::ZhTw) => "儲存資料表時伺服器發生錯誤。".into(),
            (IngestError::TableNotFound { requested, available }, Lang::En) => {
                format!("The file has no sheet or table called \"{requested}\"; it has: {}.", available.join(", "))
            }
            (IngestError::TableNotFound { requested, available }, Lang::ZhTw) => {
                format!("檔案中沒有名為「{requested}」的工作表或表格；檔案內有：{}。", available.join("、"))
            }
            (IngestError::ArchiveLimit { message, .. }, Lang::En) => format!("The archive was refused: {message}."),
            (IngestError::ArchiveLimit { message_zh, .. }, Lang::ZhTw) => format!("壓縮檔遭拒絕：{message_zh}。"),
            (IngestError::InFile { file, error }, Lang::En) => format!("In \"{file}\": {}", error.message(lang)),
            (IngestError::InFile { file, error }, Lang::ZhTw) => format!("檔案「{file}」：{}", error.message(lang)),
        }
    }
}

/// What a detected format is called, in English and Chinese.
fn format_names(detected: &str) -> (String, String) {
    let (en, zh) = match detected {
        "xlsx" => ("an Excel workbook (XLSX)", "Excel 活頁簿（XLSX）"),
        "xls" => ("an Excel 97-2003 workbook (XLS)", "Excel 97-2003 活頁簿（XLS）"),
        "ods" => ("an OpenDocument spreadsheet (ODS)", "OpenDocument 試算表（ODS）"),
        "zip" => ("a ZIP archive", "ZIP 壓縮檔"),
        "gzip" => ("a gzip-compressed file", "gzip 壓縮檔"),
        "html" => ("an HTML page", "HTML 網頁"),
        "xml" => ("an XML document", "XML 文件"),
        "pdf" => ("a PDF document", "PDF 文件"),
        "binary" => ("a binary file", "二進位檔"),
        other => return (format!("in the {other} format"), format!("{other} 格式")),
    };
    (en.to_string(), zh.to_string())
}

impl From<parquet::errors::ParquetError> for IngestError {
    fn from(err: parquet::errors::ParquetError) -> Self {
        IngestError::Parquet(err.to_string())
    }
}

impl From<arrow::error::ArrowError> for IngestError {
    fn from(err: arrow::error::ArrowError) -> Self {
        IngestError::Parquet(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_code_and_messages_in_both_languages() {
        let errors = [
            IngestError::Io(std::io::Error::other("disk on fire")),
            IngestError::Empty,
            IngestError::UnsupportedFormat { detected: "xlsx".into(), message: String::new() },
            IngestError::UnsupportedEncoding { detected: "Big5".into(), message: String::new() },
            IngestError::too_many_cells(4, 5, 3),
            IngestError::TooManyColumns { count: 3000, max: 2000 },
            IngestError::Parquet("boom".into()),
        ];
        let codes: Vec<_> = errors.iter().map(IngestError::code).collect();
        assert_eq!(
            codes,
            [
                "io_error",
                "empty_file",
                "unsupported_format",
                "unsupported_encoding",
                "malformed_file",
                "too_many_columns",
                "internal_error"
            ]
        );
        for e in &errors {
            assert!(!e.message(Lang::En).is_empty());
            assert!(!e.message(Lang::ZhTw).is_empty());
        }
        // Internal details stay out of messages for people.
        assert!(!errors[0].message(Lang::En).contains("fire"));
        assert!(!errors[6].message(Lang::En).contains("boom"));
    }

    #[test]
    fn malformed_messages_say_where() {
        let e = IngestError::too_many_cells(4, 5, 3);
        assert_eq!(
            e.message(Lang::En),
            "The file is malformed at line 4: this row has 5 cells but the header has 3 columns."
        );
        assert_eq!(e.message(Lang::ZhTw), "檔案格式錯誤，位於第 4 行：此列有 5 個欄位值，但標題列只有 3 欄。");
        let e = IngestError::malformed(7, Some("地址".into()), MalformedKind::InvalidUtf8, "not UTF-8");
        assert!(e.message(Lang::En).contains("line 7, column \"地址\""));
        assert!(e.message(Lang::ZhTw).contains("第 7 行欄位「地址」"));
        assert!(e.to_string().contains("line 7"));
    }

    #[test]
    fn unsupported_formats_name_the_format() {
        let e = IngestError::UnsupportedFormat { detected: "xlsx".into(), message: String::new() };
        assert!(e.message(Lang::En).starts_with("The file is an Excel workbook (XLSX)"));
        assert!(e.message(Lang::ZhTw).contains("XLSX"));
    }
}
