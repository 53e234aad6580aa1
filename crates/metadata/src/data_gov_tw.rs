//! The national portal's dataset metadata (資料集詮釋資料) as JSON, for an agency to push a dataset to
//! data.gov.tw through its metadata API (機關發布開發指引, 異動資料集詮釋資料 API).
//!
//! Member names follow the portal's published examples: the v1 metadata API (`identifier`, `categoryCode`,
//! `publisher`, `publisherOID`, `publisherContactName` …, `license`, `licenseURL`, `cost`, `costURL`, `costLaw`,
//! `temporalCoverageFrom`/`To`, `spatial`, `issued`, `modified`, `numberOfData`, `notes`, `fieldDescription`,
//! `distribution[]` with `resourceID`, `resourceDescription`, `format`, `resourceModified`, `downloadURL`,
//! `characterSetCode`; <https://data.gov.tw/about/doc> 機關發布開發指引), and the current one's
//! `updateFrequency` object (`regularupdate`, `Frequency`, `unittime`) and per-resource `resourceField`
//! (`[{name, description}]`) (資料集詮釋資料 JSON 範例, <https://data.nat.gov.tw/about/doc?chapter=31&doc=5>).
//!
//! | member | 資料集詮釋資料 | from |
//! |---|---|---|
//! | `identifier` | 資料集識別碼 | `metadata.national_id` (absent before the portal assigns one) |
//! | `title` / `titleEn` | 資料集名稱 / 英文名稱 | `title` / `metadata.title_en` |
//! | `description` / `descriptionEn` | 資料集描述 | `description` / `metadata.description_en` |
//! | `category` / `categoryCode` | 服務分類 | `metadata.categories` (first; a code such as `I00` goes to `categoryCode`) |
//! | `type` | 資料集類型 | always `原始資料` (raw data) |
//! | `publisher` | 提供機關 | the publisher's name |
//! | `publisherOID` | 提供機關 OID | `metadata.publisher_oid` |
//! | `publisherContactName` / `Phone` / `Email` | 提供機關聯絡人姓名 / 電話 / 電子郵件 | `metadata.contact` |
//! | `updateFrequency` | 更新頻率 | `frequency`: `{regularupdate: "1", Frequency: "1", unittime: "月"}` |
//! | `keyword` | 關鍵字 | `tags` |
//! | `license` / `licenseURL` | 授權方式 / 授權說明網址 | the licence's Chinese name and URL |
//! | `cost` / `costURL` / `costLaw` | 計費方式（收費方式）/ 價格說明網址 / 收費法令依據 | `metadata.fee`: `免費` or `付費` |
//! | `temporalCoverageFrom` / `To` | 資料時間範圍（起／迄） | `metadata.temporal` |
//! | `spatial` | 資料空間範圍 | `metadata.spatial` |
//! | `language` | 資料語言 | `metadata.language`, default `zh-TW` |
//! | `landingPage` | 相關網址 | `metadata.landing_page` |
//! | `issued` / `modified` | 上架日期 / 詮釋資料更新時間 | dataset created / last changed, Asia/Taipei `YYYY-MM-DD HH:MM:SS` |
//! | `numberOfData` | 資料量 | the version's row count |
//! | `notes` | 備註 | `metadata.legal_basis` (法令依據) and `metadata.source` (資料來源) |
//! | `fieldDescription` | 主要欄位說明 | every column `名稱：說明（單位：…）`, joined with `；` |
//! | `distribution[].resourceID` | 資源識別碼 | `{identifier or slug}-001`, `-002` |
//! | `distribution[].resourceDescription` | 資源描述 | what the file is, with the version |
//! | `distribution[].format` | 檔案格式 | `CSV`, `JSON` |
//! | `distribution[].resourceModified` | 資源最後更新時間 | the version's publication |
//! | `distribution[].downloadURL` | 資料下載網址 | tapwater's download of the version |
//! | `distribution[].characterSetCode` | 編碼格式 | `UTF-8` |
//! | `distribution[].resourceField` | 主要欄位說明 | `[{name, description}]`: description and unit, else the name |
//!
//! `updateFrequency` of an irregular (or undeclared) frequency is `{regularupdate: "0", Frequency: "",
//! unittime: "不定期"}`; the units are `即時` (realtime), `日`, `週`, `月`, `季`, `年`. The portal's published example
//! shows only `{"regularupdate": "1", "Frequency": "1", "unittime": "日"}`; the other unit words follow the
//! portal's form labels and are not confirmed against its API.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use tapwater_types::{Dataset, FeeKind, Field, Frequency, Version, license_by_id};

use crate::{Site, field_description, field_unit, modified, non_empty, urls};

/// Taiwan's offset (no daylight saving since 1979): the portal's dates are local, without an offset.
fn taipei(at: DateTime<Utc>) -> String {
    (at.naive_utc() + TimeDelta::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The portal's 更新頻率 object of a frequency.
pub(crate) fn update_frequency(frequency: Option<Frequency>) -> Value {
    let regular = |unit: &str| json!({ "regularupdate": "1", "Frequency": "1", "unittime": unit });
    match frequency {
        Some(Frequency::Realtime) => regular("即時"),
        Some(Frequency::Daily) => regular("日"),
        Some(Frequency::Weekly) => regular("週"),
        Some(Frequency::Monthly) => regular("月"),
        Some(Frequency::Quarterly) => regular("季"),
        Some(Frequency::Yearly) => regular("年"),
        Some(Frequency::Irregular) | None => json!({ "regularupdate": "0", "Frequency": "", "unittime": "不定期" }),
    }
}

/// A column's line of 主要欄位說明: its description (with the unit), else its name.
fn resource_field_description(dataset: &Dataset, field: &Field) -> String {
    let description = field_description(&dataset.metadata, field).unwrap_or_else(|| field.name.clone());
    match field_unit(&dataset.metadata, field) {
        Some(unit) => format!("{description}（單位：{unit}）"),
        None => description,
    }
}

/// A data.gov.tw service category code (`I00`): a capital letter and two digits.
fn is_category_code(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 3 && bytes[0].is_ascii_uppercase() && bytes[1].is_ascii_digit() && bytes[2].is_ascii_digit()
}

/// The data.gov.tw metadata of a dataset (see the module's table); with a version, its CSV and JSON downloads as
/// the distributions and its row count as 資料量.
pub fn data_gov_tw(site: &Site, dataset: &Dataset, version: Option<&Version>) -> Value {
    let slug = dataset.slug.as_str();
    let metadata = &dataset.metadata;
    let text = |value: Option<&String>| json!(non_empty(value).unwrap_or(""));
    let mut out = Map::new();
    if let Some(id) = non_empty(metadata.national_id.as_ref()) {
        out.insert("identifier".into(), json!(id));
    }
    out.insert("title".into(), json!(dataset.title));
    if let Some(title) = non_empty(metadata.title_en.as_ref()) {
        out.insert("titleEn".into(), json!(title));
    }
    out.insert("description".into(), json!(dataset.description));
    if let Some(description) = non_empty(metadata.description_en.as_ref()) {
        out.insert("descriptionEn".into(), json!(description));
    }
    let code = metadata.categories.iter().find(|c| is_category_code(c));
    let name = metadata.categories.iter().find(|c| !is_category_code(c));
    out.insert("categoryCode".into(), text(code));
    out.insert("category".into(), text(name));
    out.insert("type".into(), json!("原始資料"));
    out.insert("publisher".into(), json!(dataset.publisher.as_ref().map_or("", |p| p.name.as_str())));
    out.insert("publisherOID".into(), text(metadata.publisher_oid.as_ref()));
    let contact = metadata.contact.clone().unwrap_or_default();
    out.insert("publisherContactName".into(), text(contact.name.as_ref()));
    out.insert("publisherContactPhone".into(), text(contact.phone.as_ref()));
    out.insert("publisherContactEmail".into(), text(contact.email.as_ref()));
    out.insert("updateFrequency".into(), update_frequency(dataset.frequency));
    out.insert("keyword".into(), json!(dataset.tags));
    match license_by_id(&dataset.license) {
        Some(license) => {
            out.insert("license".into(), json!(license.name_zh));
            out.insert("licenseURL".into(), json!(license.url));
        }
        None => {
            out.insert("license".into(), json!(dataset.license));
            out.insert("licenseURL".into(), json!(""));
        }
    }
    let paid = metadata.fee.as_ref().is_some_and(|fee| fee.kind == FeeKind::Paid);
    out.insert("cost".into(), json!(if paid { "付費" } else { "免費" }));
    out.insert(
        "costURL".into(),
        json!(if paid { non_empty(metadata.landing_page.as_ref()).unwrap_or("") } else { "" }),
    );
    out.insert("costLaw".into(), text(metadata.fee.as_ref().and_then(|f| f.description.as_ref())));
    let temporal = metadata.temporal.clone().unwrap_or_default();
    out.insert("temporalCoverageFrom".into(), json!(temporal.start.map(|d| d.to_string()).unwrap_or_default()));
    out.insert("temporalCoverageTo".into(), json!(temporal.end.map(|d| d.to_string()).unwrap_or_default()));
    out.insert("spatial".into(), text(metadata.spatial.as_ref()));
    out.insert("language".into(), json!(non_empty(metadata.language.as_ref()).unwrap_or("zh-TW")));
    out.insert("landingPage".into(), text(metadata.landing_page.as_ref()));
    out.insert("issued".into(), json!(taipei(dataset.created_at)));
    out.insert("modified".into(), json!(taipei(modified(dataset, version))));
    out.insert("numberOfData".into(), json!(version.map(|v| v.row_count.to_string()).unwrap_or_default()));
    let mut notes = Vec::new();
    if let Some(law) = non_empty(metadata.legal_basis.as_ref()) {
        notes.push(format!("法令依據：{law}"));
    }
    if let Some(source) = non_empty(metadata.source.as_ref()) {
        notes.push(format!("資料來源：{source}"));
    }
    out.insert("notes".into(), json!(notes.join("；")));

    let mut distributions = Vec::new();
    if let Some(version) = version {
        let fields: Vec<Value> = version
            .schema
            .fields
            .iter()
            .map(|f| json!({ "name": f.name, "description": resource_field_description(dataset, f) }))
            .collect();
        let summary: Vec<String> = version
            .schema
            .fields
            .iter()
            .map(|f| format!("{}：{}", f.name, resource_field_description(dataset, f)))
            .collect();
        out.insert("fieldDescription".into(), json!(summary.join("；")));
        let id_base = non_empty(metadata.national_id.as_ref()).unwrap_or(slug).to_string();
        for (i, (format, label)) in [("csv", "CSV"), ("json", "JSON")].into_iter().enumerate() {
            distributions.push(json!({
                "resourceID": format!("{id_base}-{:03}", i + 1),
                "resourceDescription":
                    format!("{}（{label}，第 {} 版，{} 筆）", dataset.title, version.seq, version.row_count),
                "format": label,
                "resourceModified": taipei(version.created_at),
                "downloadURL": urls::download(site, slug, version.seq, format),
                "characterSetCode": "UTF-8",
                "resourceField": fields,
            }));
        }
    }
    out.insert("distribution".into(), Value::Array(distributions));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn resource_fields_reflect_field_descriptions() {
        let doc = data_gov_tw(&fixtures::site(), &fixtures::dataset(), Some(&fixtures::version()));
        let fields = doc["distribution"][0]["resourceField"].as_array().unwrap();
        assert_eq!(fields.len(), 9);
        assert_eq!(fields[0], json!({"name": "代碼", "description": "行政區代碼"}));
        // Declared for the alias `district`.
        assert_eq!(fields[2], json!({"name": "行政區", "description": "行政區名稱"}));
        assert_eq!(fields[4], json!({"name": "人口數", "description": "月底戶籍登記人口（單位：人）"}));
        assert_eq!(fields[5], json!({"name": "性比例", "description": "每百女子所當男子數"}));
        // Nothing declared: the column name.
        assert_eq!(fields[6], json!({"name": "原鄉", "description": "原鄉"}));
        assert_eq!(doc["distribution"][1]["format"], "JSON");
        assert!(doc["fieldDescription"].as_str().unwrap().starts_with("代碼：行政區代碼；上層代碼：上層代碼；"));
    }

    #[test]
    fn portal_members() {
        let doc = data_gov_tw(&fixtures::site(), &fixtures::dataset(), Some(&fixtures::version()));
        assert_eq!(doc["identifier"], "6247");
        assert_eq!(doc["publisherOID"], "2.16.886.101.20003.20065");
        assert_eq!(doc["publisher"], "臺南市政府民政局");
        assert_eq!(doc["publisherContactEmail"], "wang@example.gov.tw");
        assert_eq!(doc["updateFrequency"], json!({"regularupdate": "1", "Frequency": "1", "unittime": "月"}));
        assert_eq!(doc["license"], "政府資料開放授權條款－第1版");
        assert_eq!(doc["licenseURL"], "https://data.gov.tw/license");
        assert_eq!(doc["cost"], "免費");
        assert_eq!(doc["temporalCoverageFrom"], "2020-01-01");
        assert_eq!(doc["numberOfData"], "3");
        assert_eq!(doc["issued"], "2023-01-05 10:00:00", "Taipei time");
        assert_eq!(doc["category"], "人口及住宅");
        assert_eq!(doc["notes"], "法令依據：戶籍法；資料來源：戶役政資訊系統");
        let dist = &doc["distribution"][0];
        assert_eq!(dist["resourceID"], "6247-001");
        assert_eq!(dist["characterSetCode"], "UTF-8");
        assert_eq!(
            dist["downloadURL"],
            "https://data.example.gov.tw/api/v1/datasets/tainan-population/download?format=csv&_version=3"
        );
        let none = data_gov_tw(&fixtures::site(), &fixtures::dataset(), None);
        assert_eq!(none["distribution"], json!([]));
        assert_eq!(update_frequency(None)["regularupdate"], "0");
    }
}
