//! The national portal's six machine checks (`linkable`, `downloadable`, `structure`, `encoding_match`,
//! `desc_match`, `csv`), and the two checks of how the files were read (`format_match`, `decode_errors`).

use tapwater_types::{Finding, Severity};

use super::{AssessInput, Judged, LinkCheck, SourceDesc, distinct, name_list, own_columns, plural, source_files};
use crate::codes::finding;

/// `linkable`: the source address answers (a URL source), or tapwater still holds the uploaded files.
pub(super) fn linkable(input: &AssessInput<'_>) -> Judged {
    if input.version.is_none() {
        return Judged::skip();
    }
    let Some(link) = input.links else { return stored_files("linkable", input) };
    match &link.linkable {
        Ok(status) if (200..400).contains(status) => Judged::pass(),
        Ok(status) => link_failure(
            "linkable",
            link,
            format!("The source address answered with HTTP status {status}, not a success."),
            format!("來源網址回應 HTTP 狀態碼 {status}，並非成功回應。"),
        ),
        Err(error) => {
            let error = error.trim().trim_end_matches('.');
            link_failure(
                "linkable",
                link,
                format!("The source address could not be reached: {error}."),
                format!("無法連線至來源網址：{error}。"),
            )
        }
    }
}

/// `downloadable`: the file at the source address downloads in full and is not empty.
pub(super) fn downloadable(input: &AssessInput<'_>) -> Judged {
    if input.version.is_none() {
        return Judged::skip();
    }
    let Some(link) = input.links else { return stored_files("downloadable", input) };
    match &link.downloadable {
        Ok(bytes) if *bytes > 0 => Judged::pass(),
        Ok(_) => link_failure(
            "downloadable",
            link,
            "The download from the source address was empty (0 bytes).".to_string(),
            "自來源網址下載的檔案是空的（0 位元組）。".to_string(),
        ),
        Err(error) => {
            let error = error.trim().trim_end_matches('.');
            link_failure(
                "downloadable",
                link,
                format!("The file at the source address could not be downloaded: {error}."),
                format!("無法下載來源網址的檔案：{error}。"),
            )
        }
    }
}

fn link_failure(code: &str, link: &LinkCheck, message: String, message_zh: String) -> Judged {
    let mut f = finding(code, Severity::Error, message, message_zh);
    f.count = 1;
    f.examples = vec![link.url.clone()];
    Judged::of(vec![f])
}

/// Uploaded files are served by tapwater itself: they answer as long as their bytes are in the store.
fn stored_files(code: &str, input: &AssessInput<'_>) -> Judged {
    if input.stored_files_present {
        return Judged::pass();
    }
    let f = finding(
        code,
        Severity::Error,
        "Some files of this version are missing from tapwater's store, so they cannot be served.".to_string(),
        "此版本部分檔案已不在 tapwater 的儲存空間中，無法提供下載。".to_string(),
    );
    Judged::of(vec![f])
}

/// How machine-readable a detected format is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readability {
    /// A table in a data format.
    Structured,
    /// A web page: tapwater can read its table, but it is not a data file.
    WebPage,
    /// Anything else.
    Unstructured,
}

const STRUCTURED: &[&str] = &["csv", "tsv", "json", "ndjson", "xml", "xlsx", "xls", "ods"];

fn readability(format: &str) -> Readability {
    let format = format.trim().to_ascii_lowercase();
    if STRUCTURED.contains(&format.as_str()) || format == "zip" {
        return Readability::Structured;
    }
    // A ZIP member may be named with its archive, e.g. `zip/csv` or `zip:xlsx`.
    if let Some(member) = format.strip_prefix("zip").and_then(|rest| rest.strip_prefix(['/', ':', '+', '>']))
        && STRUCTURED.contains(&member)
    {
        return Readability::Structured;
    }
    if format == "html" || format == "htm" { Readability::WebPage } else { Readability::Unstructured }
}

/// `structure`: every source file is structured data.
pub(super) fn structure(input: &AssessInput<'_>) -> Judged {
    if input.version.is_none() {
        return Judged::skip();
    }
    let files = source_files(input);
    let of = |kind: Readability| -> Vec<&SourceDesc<'_>> {
        files.iter().filter(|f| readability(f.format) == kind).collect()
    };
    let mut findings = Vec::new();
    let unstructured = of(Readability::Unstructured);
    if !unstructured.is_empty() {
        let formats = distinct(unstructured.iter().map(|f| f.format.to_ascii_lowercase()));
        let mut f = finding(
            "structure",
            Severity::Error,
            format!(
                "{} of this version {} not in a machine-readable data format ({}).",
                plural(unstructured.len(), "source file"),
                if unstructured.len() == 1 { "is" } else { "are" },
                name_list(&formats, ", ")
            ),
            format!(
                "此版本有 {} 個來源檔案不是機器可讀的資料格式（{}）。",
                unstructured.len(),
                name_list(&formats, "、")
            ),
        );
        f.count = unstructured.len() as u64;
        f.examples = unstructured.iter().map(|f| f.name.to_string()).collect();
        findings.push(f);
    }
    let pages = of(Readability::WebPage);
    if !pages.is_empty() {
        let mut f = finding(
            "structure",
            Severity::Warning,
            format!(
                "{} of this version {} a web page (HTML): tapwater can read its table, but it is not a data file.",
                plural(pages.len(), "source file"),
                if pages.len() == 1 { "is" } else { "are" },
            ),
            format!("此版本有 {} 個來源檔案是網頁（HTML）：tapwater 可讀取其中的表格，但網頁並非資料檔。", pages.len()),
        );
        f.count = pages.len() as u64;
        f.examples = pages.iter().map(|f| f.name.to_string()).collect();
        findings.push(f);
    }
    Judged::of(findings)
}

/// An encoding name reduced to its family: `UTF-8-BOM` and `utf8` are UTF-8, `CP950` and `Big5-HKSCS` are Big5.
pub(super) fn encoding_family(name: &str) -> String {
    let key: String = name.trim().to_ascii_lowercase().chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect();
    match key.as_str() {
        "utf8" | "utf8bom" | "utf8withbom" | "utf8sig" => "utf-8".to_string(),
        "big5" | "cp950" | "big5hkscs" | "ms950" | "windows950" | "xbig5" => "big5".to_string(),
        "utf16" | "utf16le" | "utf16be" => "utf-16".to_string(),
        _ => key,
    }
}

/// `encoding_match`: the text files are in the declared encoding (編碼格式).
pub(super) fn encoding_match(input: &AssessInput<'_>) -> Judged {
    if input.version.is_none() {
        return Judged::skip();
    }
    let text_files: Vec<SourceDesc<'_>> =
        source_files(input).into_iter().filter(|f| !f.encoding.trim().is_empty()).collect();
    if text_files.is_empty() {
        // Spreadsheets and other binary formats carry no text encoding.
        return Judged::skip();
    }
    let detected = distinct(text_files.iter().map(|f| f.encoding.trim().to_string()));
    let declared = input
        .dataset
        .metadata
        .encoding
        .as_deref()
        .or(input.pipeline.encoding.as_deref())
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let Some(declared) = declared else {
        let mut f = finding(
            "encoding_match",
            Severity::Warning,
            format!(
                "The encoding (編碼格式) is not declared; declare 編碼格式 as the files really are ({}).",
                name_list(&detected, ", ")
            ),
            format!("未宣告編碼格式；請依檔案實際編碼（{}）宣告編碼格式。", name_list(&detected, "、")),
        );
        f.count = text_files.len() as u64;
        f.examples = detected;
        return Judged::of(vec![f]);
    };
    let family = encoding_family(declared);
    let mismatched: Vec<&SourceDesc<'_>> =
        text_files.iter().filter(|f| encoding_family(f.encoding) != family).collect();
    let mut findings = Vec::new();
    if !mismatched.is_empty() {
        let real = distinct(mismatched.iter().map(|f| f.encoding.trim().to_string()));
        let mut f = finding(
            "encoding_match",
            Severity::Error,
            format!(
                "The declared encoding (編碼格式) is {declared}, but {} {} encoded as {}.",
                plural(mismatched.len(), "file"),
                if mismatched.len() == 1 { "is" } else { "are" },
                name_list(&real, ", ")
            ),
            format!(
                "宣告的編碼格式為 {declared}，但有 {} 個檔案的實際編碼為 {}。",
                mismatched.len(),
                name_list(&real, "、")
            ),
        );
        f.count = mismatched.len() as u64;
        f.examples = real;
        findings.push(f);
    } else if let Some(log) = input.transform_log {
        // The files agree with the declaration judged here, but ingestion compared them with the pipeline's.
        let entries: Vec<_> = log.of_rule("encoding_mismatch").collect();
        if !entries.is_empty() {
            let details = distinct(entries.iter().filter_map(|e| e.detail.clone()));
            let mut f = finding(
                "encoding_match",
                Severity::Error,
                format!(
                    "At ingestion the real encoding differed from the declared one{}.",
                    if details.is_empty() { String::new() } else { format!(" ({})", name_list(&details, "; ")) }
                ),
                "匯入時發現檔案實際編碼與宣告的編碼格式不符。".to_string(),
            );
            f.count = entries.len() as u64;
            f.examples = detected;
            findings.push(f);
        }
    }
    Judged::of(findings)
}

/// `desc_match`: the columns of the file are the columns declared in 主要欄位說明.
pub(super) fn desc_match(input: &AssessInput<'_>) -> Judged {
    let Some(version) = input.version else { return Judged::skip() };
    let declared = distinct(input.dataset.metadata.fields.iter().map(|m| m.name.clone()));
    let own: Vec<_> = own_columns(version).collect();
    if declared.is_empty() {
        let mut f = finding(
            "desc_match",
            Severity::Error,
            "主要欄位說明 is missing: the field descriptions declare no column of the file.".to_string(),
            "缺少主要欄位說明：欄位說明未宣告檔案中的任何欄位。".to_string(),
        );
        f.count = own.len() as u64;
        return Judged::of(vec![f]);
    }
    let mut findings = Vec::new();
    let undeclared: Vec<String> =
        own.iter().filter(|field| !declared.iter().any(|d| field.answers_to(d))).map(|f| f.name.clone()).collect();
    if !undeclared.is_empty() {
        let mut f = finding(
            "desc_match",
            Severity::Error,
            format!(
                "{} of the file {} not in 主要欄位說明: {}.",
                plural(undeclared.len(), "column"),
                if undeclared.len() == 1 { "is" } else { "are" },
                name_list(&undeclared, ", ")
            ),
            format!("檔案中有 {} 個欄位未列於主要欄位說明：{}。", undeclared.len(), name_list(&undeclared, "、")),
        );
        f.count = undeclared.len() as u64;
        f.examples = undeclared;
        findings.push(f);
    }
    let stale: Vec<String> =
        declared.iter().filter(|d| !version.schema.fields.iter().any(|field| field.answers_to(d))).cloned().collect();
    if !stale.is_empty() {
        let mut f = finding(
            "desc_match",
            Severity::Error,
            format!(
                "{} declared in 主要欄位說明 {} not in the file: {}.",
                plural(stale.len(), "column"),
                if stale.len() == 1 { "is" } else { "are" },
                name_list(&stale, ", ")
            ),
            format!("主要欄位說明中有 {} 個欄位不在檔案中：{}。", stale.len(), name_list(&stale, "、")),
        );
        f.count = stale.len() as u64;
        f.examples = stale;
        findings.push(f);
    }
    Judged::of(findings)
}

/// `csv`: tapwater serves every published table as CSV.
pub(super) fn csv(input: &AssessInput<'_>) -> Judged {
    if input.version.is_some() {
        return Judged::pass();
    }
    Judged::of(vec![finding(
        "csv",
        Severity::Error,
        "No version is published yet, so no CSV is offered.".to_string(),
        "尚未發布任何版本，因此未提供 CSV。".to_string(),
    )])
}

/// A format name as compared with a declaration: lower case, TSV counted as CSV and NDJSON as JSON.
fn format_family(format: &str) -> String {
    let format = format.trim().trim_start_matches('.').to_ascii_lowercase();
    match format.as_str() {
        "tsv" | "tab" | "txt" => "csv".to_string(),
        "ndjson" | "jsonl" => "json".to_string(),
        "htm" => "html".to_string(),
        _ => format,
    }
}

/// `format_match`: the files are what their names and the declared 檔案格式 say.
pub(super) fn format_match(input: &AssessInput<'_>) -> Judged {
    if input.version.is_none() {
        return Judged::skip();
    }
    let mut findings: Vec<Finding> = Vec::new();
    if let Some(log) = input.transform_log {
        for entry in log.of_rule("format_mismatch") {
            let detail = entry.detail.as_deref().map(str::trim).filter(|d| !d.is_empty());
            let mut f = finding(
                "format_match",
                Severity::Error,
                match detail {
                    Some(detail) => format!("A source file's name disagrees with its bytes: {detail}."),
                    None => "A source file's name disagrees with its bytes.".to_string(),
                },
                match detail {
                    Some(detail) => format!("來源檔案的副檔名與實際內容不符（{detail}）。"),
                    None => "來源檔案的副檔名與實際內容不符。".to_string(),
                },
            );
            f.column = entry.column.clone();
            f.count = entry.count.max(1);
            f.examples = entry.file.iter().cloned().collect();
            findings.push(f);
        }
    }
    let declared_format = input.dataset.metadata.format.as_deref().map(str::trim).filter(|d| !d.is_empty());
    if let Some(declared_format) = declared_format {
        let declared: Vec<String> = declared_format
            .split([',', ';', '/', '、', '，', ' '])
            .filter(|t| !t.trim().is_empty())
            .map(format_family)
            .collect();
        let real = distinct(
            source_files(input)
                .iter()
                .filter(|f| !f.format.trim().is_empty())
                .map(|f| f.format.trim().to_ascii_lowercase()),
        );
        let differing: Vec<String> = real.into_iter().filter(|r| !declared.contains(&format_family(r))).collect();
        if !differing.is_empty() {
            let mut f = finding(
                "format_match",
                Severity::Error,
                format!(
                    "The declared format (檔案格式) is {declared_format}, but the data is {}.",
                    name_list(&differing, ", ")
                ),
                format!("宣告的檔案格式為 {declared_format}，但資料實際為 {}。", name_list(&differing, "、")),
            );
            f.count = differing.len() as u64;
            f.examples = differing;
            findings.push(f);
        }
    }
    Judged::of(findings)
}

/// `decode_errors`: every byte decoded as text in the detected encoding.
pub(super) fn decode_errors(input: &AssessInput<'_>) -> Judged {
    let (Some(_), Some(log)) = (input.version, input.transform_log) else { return Judged::skip() };
    let entries: Vec<_> = log.of_rule("decode_error").filter(|e| e.count > 0).collect();
    if entries.is_empty() {
        return Judged::pass();
    }
    let count: u64 = entries.iter().map(|e| e.count).sum();
    let columns = distinct(entries.iter().filter_map(|e| e.column.clone()));
    let mut f = finding(
        "decode_errors",
        Severity::Warning,
        format!(
            "{} could not be decoded as text and {} replaced by U+FFFD (�).",
            if count == 1 { "1 byte sequence".to_string() } else { format!("{count} byte sequences") },
            if count == 1 { "was" } else { "were" }
        ),
        format!("有 {count} 處位元組無法解碼為文字，已以 U+FFFD（�）取代。"),
    );
    f.count = count;
    if let [column] = columns.as_slice() {
        f.column = Some(column.clone());
    }
    // The files concerned (never the bytes or cells themselves).
    f.examples = distinct(entries.iter().filter_map(|e| e.file.clone()));
    Judged::of(vec![f])
}
