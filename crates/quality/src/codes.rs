//! The catalogue of checks: every stable code, its weight in the score and what a publisher should do about it.
//!
//! A check has one code; its findings carry the same code. The weights add up to the score's denominator (checks that
//! do not apply are left out of it), and docs/quality.md documents this table — a test keeps the two in step.

use tapwater_types::{Finding, Severity};

/// Which part of a dataset a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFamily {
    /// The six machine checks the national portal (data.gov.tw) runs on every dataset, under the same names.
    NationalPortal,
    /// The values of the table (run once per version, right after it is written).
    Table,
    /// The declared metadata (judged whenever the report is read, since metadata can change between versions).
    Metadata,
    /// Whether the dataset is kept up to date (judged against the clock).
    Timeliness,
}

/// One check of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub code: &'static str,
    pub family: CheckFamily,
    /// Points in the 0–100 score (before scaling by the weights of the checks that apply).
    pub weight: u32,
    pub title: &'static str,
    pub title_zh: &'static str,
    /// The usual fix, for a publisher; a finding may give a more precise one.
    pub fix: &'static str,
    pub fix_zh: &'static str,
}

/// Every check tapwater runs, in the order reports list them.
pub const CHECKS: &[Check] = &[
    // --- the national portal's six ---
    Check {
        code: "linkable",
        family: CheckFamily::NationalPortal,
        weight: 5,
        title: "The resource's address answers",
        title_zh: "資源網址可連結",
        fix: "Make the source URL answer with HTTP 200 (or a redirect to it); check the address, the server and its certificate.",
        fix_zh: "請確認來源網址可正常回應（HTTP 200 或轉址），並檢查網址、伺服器與憑證。",
    },
    Check {
        code: "downloadable",
        family: CheckFamily::NationalPortal,
        weight: 5,
        title: "The resource can be downloaded",
        title_zh: "資源可下載",
        fix: "Make the file at the source URL downloadable in full without a sign-in, a form or a script.",
        fix_zh: "請讓來源網址的檔案不需登入、表單或程式即可完整下載。",
    },
    Check {
        code: "structure",
        family: CheckFamily::NationalPortal,
        weight: 10,
        title: "Machine-readable structure",
        title_zh: "結構化（機器可讀）",
        fix: "Publish the table itself as CSV, JSON or XML rather than a web page or a document.",
        fix_zh: "請以 CSV、JSON 或 XML 提供表格本身，而非網頁或文件。",
    },
    Check {
        code: "encoding_match",
        family: CheckFamily::NationalPortal,
        weight: 5,
        title: "Real encoding matches the declared 編碼格式",
        title_zh: "實際編碼與宣告之編碼格式相符",
        fix: "Declare the encoding the files really use (metadata `encoding`), or publish the files in UTF-8 and declare UTF-8.",
        fix_zh: "請在詮釋資料 `encoding` 填寫檔案實際使用的編碼，或改以 UTF-8 發布並宣告 UTF-8。",
    },
    Check {
        code: "desc_match",
        family: CheckFamily::NationalPortal,
        weight: 10,
        title: "Real columns match the declared 主要欄位說明",
        title_zh: "實際欄位與主要欄位說明相符",
        fix: "List every column of the file, by its exact name, in the field descriptions (metadata `fields`), and remove columns the file no longer has.",
        fix_zh: "請在主要欄位說明（詮釋資料 `fields`）以檔案中的確切名稱列出每個欄位，並刪除檔案已無的欄位。",
    },
    Check {
        code: "csv",
        family: CheckFamily::NationalPortal,
        weight: 5,
        title: "A CSV is offered",
        title_zh: "提供 CSV 格式",
        fix: "Publish a version: tapwater then serves every table as CSV.",
        fix_zh: "請發布一個版本，tapwater 會以 CSV 提供每個表格。",
    },
    // --- the table ---
    Check {
        code: "format_match",
        family: CheckFamily::Table,
        weight: 5,
        title: "Real format matches the declared one",
        title_zh: "實際格式與宣告相符",
        fix: "Name and declare the file by its real format (an Excel file saved as .csv is not a CSV): export a real CSV, or declare the real format.",
        fix_zh: "請依實際格式命名與宣告檔案（另存為 .csv 的 Excel 檔並非 CSV）：請匯出真正的 CSV，或宣告實際格式。",
    },
    Check {
        code: "decode_errors",
        family: CheckFamily::Table,
        weight: 5,
        title: "Every byte decodes as text",
        title_zh: "所有位元組皆可解碼",
        fix: "Save the file again as UTF-8 from the program that made it; characters outside Big5 need UTF-8.",
        fix_zh: "請由產生檔案的程式重新以 UTF-8 儲存；Big5 以外的字元需使用 UTF-8。",
    },
    Check {
        code: "date_format",
        family: CheckFamily::Table,
        weight: 5,
        title: "Dates are ISO 8601",
        title_zh: "日期為 ISO 8601 格式",
        fix: "Write dates as YYYY-MM-DD (西元年), or in one ROC form throughout (e.g. 105/12/23) so tapwater can convert them.",
        fix_zh: "請以 YYYY-MM-DD（西元年）書寫日期，或全欄使用同一種民國日期寫法（如 105/12/23），以便 tapwater 轉換。",
    },
    Check {
        code: "mixed_types",
        family: CheckFamily::Table,
        weight: 5,
        title: "Each column holds one kind of value",
        title_zh: "每欄只含一種型別的值",
        fix: "Keep notes and codes out of number columns: leave a missing value empty, and put remarks in a column of their own.",
        fix_zh: "請勿在數值欄位中放入註記或代碼：缺值請留空，備註請另設欄位。",
    },
    Check {
        code: "empty_column",
        family: CheckFamily::Table,
        weight: 3,
        title: "No empty columns",
        title_zh: "沒有空白欄位",
        fix: "Fill the column or remove it from the file and from the field descriptions.",
        fix_zh: "請填入該欄資料，或自檔案與主要欄位說明中移除該欄。",
    },
    Check {
        code: "constant_column",
        family: CheckFamily::Table,
        weight: 1,
        title: "Columns carry information",
        title_zh: "欄位具有資訊量",
        fix: "A column with one value on every row can move to the dataset's description (e.g. the city it covers).",
        fix_zh: "每列皆相同的欄位可改寫在資料集描述中（例如涵蓋的縣市）。",
    },
    Check {
        code: "duplicate_rows",
        family: CheckFamily::Table,
        weight: 5,
        title: "No duplicate rows",
        title_zh: "沒有重複的資料列",
        fix: "Remove rows that repeat another row exactly, or add the column that tells them apart.",
        fix_zh: "請刪除完全重複的資料列，或加入可區分它們的欄位。",
    },
    Check {
        code: "primary_key",
        family: CheckFamily::Table,
        weight: 5,
        title: "The declared primary key identifies every row",
        title_zh: "宣告之主鍵可唯一識別每一列",
        fix: "Give every row a value of the key, and no two rows the same one; or declare the columns that really identify a row.",
        fix_zh: "請讓每列都有主鍵值且彼此不重複；或改宣告真正能識別資料列的欄位。",
    },
    Check {
        code: "numeric_outliers",
        family: CheckFamily::Table,
        weight: 2,
        title: "No implausible numbers",
        title_zh: "沒有不合理的數值",
        fix: "Check these values at the source: a typing error, a unit mix-up or a code such as 9999 for 'unknown' (declare it as a sentinel).",
        fix_zh: "請回到來源核對這些數值：可能是打字錯誤、單位混用，或以 9999 等代碼表示「不詳」（請宣告為 sentinel）。",
    },
    Check {
        code: "code_list",
        family: CheckFamily::Table,
        weight: 5,
        title: "Codes are in the declared code list",
        title_zh: "代碼皆屬宣告之代碼表",
        fix: "Correct the codes, or add the missing codes with their meaning to the code list.",
        fix_zh: "請更正代碼，或將缺少的代碼及其意義加入代碼表。",
    },
    Check {
        code: "constraints",
        family: CheckFamily::Table,
        weight: 5,
        title: "Values meet the declared constraints",
        title_zh: "數值符合宣告之限制",
        fix: "Correct the values, or change the constraint in the Table Schema if it was wrong.",
        fix_zh: "請更正數值；若限制本身有誤，請修改 Table Schema 中的限制。",
    },
    Check {
        code: "coordinates",
        family: CheckFamily::Table,
        weight: 5,
        title: "Coordinates lie in Taiwan",
        title_zh: "座標位於臺灣",
        fix: "Give longitude (about 119–122 for Taiwan) and latitude (about 21–26) in WGS84 degrees, in the right columns; state TWD97 metres as such.",
        fix_zh: "請以 WGS84 度數填寫經度（臺灣約 119–122）與緯度（約 21–26），並放在正確欄位；TWD97 公尺座標請註明。",
    },
    Check {
        code: "series_gaps",
        family: CheckFamily::Table,
        weight: 5,
        title: "Periodic series have no gaps",
        title_zh: "定期序列沒有缺漏",
        fix: "Publish the missing periods, or say in the description why they do not exist.",
        fix_zh: "請補上缺漏的期別，或在描述中說明其不存在的原因。",
    },
    // --- metadata ---
    Check {
        code: "field_descriptions",
        family: CheckFamily::Metadata,
        weight: 10,
        title: "Every column is described",
        title_zh: "每個欄位都有說明",
        fix: "Describe what each column means and its unit (metadata `fields`, or import a Table Schema).",
        fix_zh: "請說明每個欄位的意義與單位（詮釋資料 `fields`，或匯入 Table Schema）。",
    },
    Check {
        code: "license",
        family: CheckFamily::Metadata,
        weight: 5,
        title: "An open licence",
        title_zh: "採用開放授權",
        fix: "Release the data under the Open Government Data License (OGDL-Taiwan-1.0) or another open licence.",
        fix_zh: "請以政府資料開放授權條款（OGDL-Taiwan-1.0）或其他開放授權釋出資料。",
    },
    Check {
        code: "description",
        family: CheckFamily::Metadata,
        weight: 3,
        title: "A useful description",
        title_zh: "具參考價值的描述",
        fix: "Say what the data is, how it is collected and what a row stands for, in a few sentences.",
        fix_zh: "請以數句話說明資料內容、蒐集方式與每列代表的意義。",
    },
    Check {
        code: "metadata_completeness",
        family: CheckFamily::Metadata,
        weight: 10,
        title: "Metadata is complete",
        title_zh: "詮釋資料完整",
        fix: "Fill in the missing metadata fields listed.",
        fix_zh: "請填寫所列缺少的詮釋資料欄位。",
    },
    // --- timeliness ---
    Check {
        code: "timeliness",
        family: CheckFamily::Timeliness,
        weight: 10,
        title: "Updated as often as declared",
        title_zh: "依宣告頻率更新",
        fix: "Publish a new version, or change the declared update frequency to the real one.",
        fix_zh: "請發布新版本，或將宣告的更新頻率改為實際頻率。",
    },
];

/// The check of a code.
pub fn check(code: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.code == code)
}

/// A finding of check `code` with its catalogue fix; callers fill in column, count, rows and examples.
///
/// # Panics
/// On a code not in [`CHECKS`]: a programming error, caught by the tests.
#[allow(clippy::panic)]
pub fn finding(code: &str, severity: Severity, message: String, message_zh: String) -> Finding {
    let Some(check) = check(code) else { panic!("quality check {code:?} is not in the catalogue") };
    Finding {
        code: check.code.to_string(),
        severity,
        column: None,
        count: 0,
        rows: Vec::new(),
        examples: Vec::new(),
        message,
        message_zh,
        fix: check.fix.to_string(),
        fix_zh: check.fix_zh.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for check in CHECKS {
            assert!(seen.insert(check.code), "{} listed twice", check.code);
            assert!(check.code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", check.code);
            assert!(check.weight > 0);
        }
    }

    /// docs/quality.md documents every check with its weight, and nothing else.
    #[test]
    fn every_check_is_documented_with_its_weight() {
        let docs = include_str!("../../../docs/quality.md");
        for check in CHECKS {
            let row = format!("| `{}` | {} |", check.code, check.weight);
            assert!(docs.contains(&row), "docs/quality.md lacks the row {row}");
        }
        let documented = docs
            .lines()
            .filter(|l| l.starts_with("| `") && l.split('|').nth(2).is_some_and(|w| w.trim().parse::<u32>().is_ok()))
            .count();
        assert_eq!(documented, CHECKS.len(), "docs/quality.md documents checks the catalogue does not have");
    }
}
