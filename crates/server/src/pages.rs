//! The dataset page, `/datasets/{slug}`: what a person (or a search engine) finds at a dataset's address — title,
//! description, publisher, licence, columns with their descriptions, the quality score, stars and badge, and links to
//! the API and the standard exports — with the schema.org `Dataset` JSON-LD embedded for Google Dataset Search.
//!
//! Like every page it computes nothing the API does not return (its machine twin is `/api/v1/datasets/{slug}`), and
//! it is rendered for an anonymous visitor: the public view of a released dataset. It loads nothing from the
//! Internet. The full bilingual portal (search, previews, charts, sign-in) is a later piece of work; this page is
//! the part of it that metadata standards need now.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tapwater_app::{Actor, Lang, MetadataDocument, MetadataFormat, Tapwater};
use tapwater_types::{QualityReport, Severity, license_by_id};

use crate::extract::lang_of_headers;

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON inside `<script>`: a `</script>` (or any `</`) in a description must not end the element.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default().replace("</", "<\\/")
}

fn page(lang: Lang, title: &str, head: &str, body: &str) -> String {
    let html_lang = match lang {
        Lang::ZhTw => "zh-Hant-TW",
        Lang::En => "en",
    };
    format!(
        "<!doctype html>\n<html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title>\n{STYLE}\n{head}\
         </head><body>\n{body}\n<footer><a href=\"/\">tapwater</a> · <a href=\"/api/v1/docs\">API 文件 / API reference</a>\
         </footer></body></html>\n",
        title = escape(title),
    )
}

const STYLE: &str = "<style>\
body{font-family:system-ui,\"Noto Sans TC\",\"PingFang TC\",\"Microsoft JhengHei\",sans-serif;max-width:960px;\
margin:2rem auto;padding:0 1rem;color:#1b1f23;line-height:1.55}\
h1{font-size:1.6rem;margin-bottom:.2rem} .en{color:#57606a} h2{border-bottom:1px solid #ddd;padding-bottom:.2rem}\
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #eee;text-align:left;padding:.3rem .4rem;\
vertical-align:top;font-size:.94em} .score{font-size:2rem;font-weight:700} .stars{color:#bf8700;font-size:1.3rem}\
.badge{display:inline-block;border-radius:1rem;padding:.1rem .7rem;border:1px solid #d0d7de}\
.gold{background:#fff8c5}.silver{background:#eaeef2}.bronze{background:#ffe7d1}\
.error{color:#cf222e}.warning{color:#9a6700} code{background:#f6f8fa;border-radius:4px;padding:.1rem .3rem}\
footer{margin-top:3rem;color:#57606a;font-size:.9em}</style>";

fn not_found(lang: Lang, slug: &str) -> Response {
    let body = format!(
        "<h1>找不到資料集 / Dataset not found</h1><p><code>{}</code></p><p><a href=\"/api/v1/datasets\">所有資料集 / all datasets</a></p>",
        escape(slug)
    );
    let mut response = (StatusCode::NOT_FOUND, page(lang, "Not found / 找不到", "", &body)).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

fn badge_label(level: &str) -> &'static str {
    match level {
        "gold" => "金標章 / gold",
        "silver" => "銀標章 / silver",
        "bronze" => "銅標章 / bronze",
        _ => "尚無標章 / no badge",
    }
}

fn quality_section(report: &QualityReport) -> String {
    let stars: String = "★".repeat(usize::from(report.stars.stars)) + &"☆".repeat(5 - usize::from(report.stars.stars));
    let mut out = format!(
        "<h2 id=\"quality\">資料品質 / Quality</h2>\n<p><span class=\"score\">{score}</span>/100 · \
         <span class=\"stars\" title=\"{n}★\">{stars}</span> · <span class=\"badge {level}\">{badge}</span></p>\n\
         <p>{explanation}<br><span class=\"en\">{explanation_en}</span></p>\n",
        score = report.score,
        n = report.stars.stars,
        level = escape(&report.badge.level),
        badge = badge_label(&report.badge.level),
        explanation = escape(&report.stars.explanation_zh),
        explanation_en = escape(&report.stars.explanation),
    );
    if let (Some(next), Some(next_zh)) = (&report.stars.next, &report.stars.next_zh) {
        out.push_str(&format!(
            "<p>下一顆星 / next star: {}<br><span class=\"en\">{}</span></p>\n",
            escape(next_zh),
            escape(next)
        ));
    }
    let open: Vec<_> = report.findings.iter().filter(|f| f.severity != Severity::Info).collect();
    if open.is_empty() {
        out.push_str("<p>沒有待修正的問題 / nothing to fix.</p>\n");
    } else {
        out.push_str("<table><tr><th>檢查 / check</th><th>欄位 / column</th><th>說明 / finding</th></tr>\n");
        for finding in open {
            out.push_str(&format!(
                "<tr><td class=\"{severity}\"><code>{code}</code></td><td>{column}</td><td>{message}<br>\
                 <span class=\"en\">{message_en}</span></td></tr>\n",
                severity = finding.severity.as_str(),
                code = escape(&finding.code),
                column = escape(finding.column.as_deref().unwrap_or("")),
                message = escape(&finding.message_zh),
                message_en = escape(&finding.message),
            ));
        }
        out.push_str("</table>\n");
    }
    out
}

/// `GET /datasets/{slug}`: the dataset's page, with its schema.org JSON-LD.
pub async fn dataset_page(State(app): State<Tapwater>, headers: HeaderMap, Path(slug): Path<String>) -> Response {
    let lang = lang_of_headers(&headers);
    let actor = Actor::Anonymous;
    let Ok(detail) = app.dataset_detail(&actor, &slug).await else { return not_found(lang, &slug) };
    let dataset = &detail.dataset;
    let metadata = &dataset.metadata;
    let json_ld = match app.metadata_document(&actor, &slug, MetadataFormat::SchemaOrg, None).await {
        Ok(MetadataDocument::Json(value)) => {
            format!("<script type=\"application/ld+json\">\n{}\n</script>\n", script_json(&value))
        }
        _ => String::new(),
    };
    let api = format!("/api/v1/datasets/{slug}");
    let mut body = format!("<h1>{}</h1>\n", escape(&dataset.title));
    if let Some(en) = &metadata.title_en {
        body.push_str(&format!("<p class=\"en\">{}</p>\n", escape(en)));
    }
    body.push_str(&format!("<p>{}</p>\n", escape(&dataset.description)));
    if let Some(en) = &metadata.description_en {
        body.push_str(&format!("<p class=\"en\">{}</p>\n", escape(en)));
    }
    let licence = license_by_id(&dataset.license)
        .map(|l| format!("<a href=\"{}\">{} / {}</a>", escape(l.url), escape(l.name_zh), escape(l.name)))
        .unwrap_or_else(|| escape(&dataset.license));
    body.push_str("<table>\n");
    let mut row = |label: &str, value: String| {
        if !value.is_empty() {
            body.push_str(&format!("<tr><th>{label}</th><td>{value}</td></tr>\n"));
        }
    };
    row("提供機關 / publisher", dataset.publisher.as_ref().map(|p| escape(&p.name)).unwrap_or_default());
    row("授權 / licence", licence);
    row("更新頻率 / update frequency", dataset.frequency.map(|f| f.as_str().to_string()).unwrap_or_default());
    row("開放層級 / access", dataset.access.as_str().to_string());
    if let Some(version) = &detail.current {
        row(
            "目前版本 / current version",
            format!(
                "v{} · {} · {} 筆 / rows",
                version.seq,
                version.created_at.format("%Y-%m-%d %H:%M UTC"),
                version.row_count
            ),
        );
    }
    row("標籤 / tags", escape(&dataset.tags.join("、")));
    row("服務分類 / categories", escape(&metadata.categories.join("、")));
    row("資料來源 / source", escape(metadata.source.as_deref().unwrap_or("")));
    body.push_str("</table>\n");

    if let Some(version) = &detail.current {
        body.push_str(
            "<h2 id=\"fields\">主要欄位說明 / Fields</h2>\n<table><tr><th>欄位 / column</th><th>型別 / type</th>\
                       <th>說明 / description</th><th>單位 / unit</th></tr>\n",
        );
        for field in &version.schema.fields {
            let declared = metadata.fields.iter().find(|f| field.answers_to(&f.name));
            let description = declared.and_then(|d| d.description.clone()).or_else(|| field.description.clone());
            let unit = declared.and_then(|d| d.unit.clone()).or_else(|| field.unit.clone());
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&field.name),
                field.field_type.as_str(),
                escape(description.as_deref().unwrap_or("")),
                escape(unit.as_deref().unwrap_or(""))
            ));
        }
        body.push_str("</table>\n");
    }
    if let Ok(report) = app.quality_report(&actor, &slug, None).await {
        body.push_str(&quality_section(&report));
    }
    body.push_str(&format!(
        "<h2 id=\"api\">API 與下載 / API and downloads</h2>\n<ul>\
         <li><a href=\"{api}\">{api}</a> (JSON)</li>\
         <li><a href=\"{api}/rows\">{api}/rows</a></li>\
         <li><a href=\"{api}/download?format=csv&amp;bom=1\">CSV</a> · <a href=\"{api}/download?format=json\">JSON</a> · \
         <a href=\"{api}/download?format=parquet\">Parquet</a> · <a href=\"{api}/download?format=original\">原始檔 / original</a></li>\
         <li><a href=\"{api}/quality\">品質報告 / quality report</a></li>\
         <li><a href=\"{api}/datapackage.json\">datapackage.json</a> · <a href=\"{api}/dcat.jsonld\">DCAT-AP (JSON-LD)</a> · \
         <a href=\"{api}/dcat.ttl\">DCAT-AP (Turtle)</a> · <a href=\"{api}/data.gov.tw.json\">data.gov.tw</a></li></ul>\n"
    ));
    let mut response = page(lang, &dataset.title, &json_ld, &body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_cannot_break_out_of_their_elements() {
        assert_eq!(escape("<b>\"臺南\" & 'x'</b>"), "&lt;b&gt;&quot;臺南&quot; &amp; &#39;x&#39;&lt;/b&gt;");
        let value = serde_json::json!({"description": "end </script><script>alert(1)</script>"});
        let text = script_json(&value);
        assert!(!text.contains("</script"), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value, "still the same JSON");
    }
}
