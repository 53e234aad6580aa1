//! The five-star deployment scheme (5stardata.info): ★ open licence on the web, ★★ structured, ★★★ an open format,
//! ★★★★ URIs say what things are, ★★★★★ linked to other data.

use tapwater_types::{StarLevel, license_by_id};

use super::{AssessInput, declared, distinct, filled, own_columns, source_files};

/// Formats only one vendor's software reads in full: the third star needs something else.
const PROPRIETARY: &[&str] = &["xls", "xlsx"];

/// The star level of a dataset's version, with the reason and the step to the next star.
pub(super) fn level(input: &AssessInput<'_>) -> StarLevel {
    let dataset = input.dataset;
    let Some(version) = input.version else {
        return star(
            0,
            "No version is published yet, so the data is not on the web.",
            "尚未發布任何版本，資料尚未上網。",
            Some(("Publish a version under an open licence to reach 3★.", "以開放授權發布版本即可達到 3★。")),
        );
    };
    if license_by_id(dataset.license.trim()).is_none() {
        return star(
            0,
            "The licence is not open, so the data earns no star.",
            "授權條款並非開放授權，因此無法獲得星等。",
            Some((
                "Release the data under an open licence such as OGDL-Taiwan-1.0 to reach 3★.",
                "以政府資料開放授權條款（OGDL-Taiwan-1.0）等開放授權釋出資料即可達到 3★。",
            )),
        );
    }
    // On the web under an open licence (1★), as a table (2★), served as CSV and JSON (3★).
    let proprietary = distinct(
        source_files(input)
            .iter()
            .map(|f| f.format.trim().to_ascii_lowercase())
            .filter(|f| PROPRIETARY.contains(&f.as_str())),
    );
    let (three, three_zh) = if proprietary.is_empty() {
        let originals = distinct(source_files(input).iter().map(|f| f.format.trim().to_ascii_uppercase()));
        let originals = originals.join(", ");
        (
            format!(
                "Open licence, on the web, structured and in an open format: the original ({originals}) is not \
                 proprietary, and tapwater serves the table as CSV and JSON."
            ),
            format!(
                "開放授權、已上網、結構化且為開放格式：原始檔（{originals}）並非專有格式，tapwater 並以 CSV 與 JSON 提供此表格。"
            ),
        )
    } else {
        let formats = proprietary.iter().map(|f| f.to_ascii_uppercase()).collect::<Vec<_>>().join(", ");
        (
            format!(
                "Open licence, on the web and structured; the original is {formats}, a proprietary format, but \
                 tapwater serves the table as CSV and JSON, which are open."
            ),
            format!(
                "開放授權、已上網且結構化；原始檔為專有格式 {formats}，但 tapwater 以開放的 CSV 與 JSON 格式提供此表格。"
            ),
        )
    };

    let metadata = &dataset.metadata;
    let own: Vec<_> = own_columns(version).collect();
    let field_uris =
        !own.is_empty() && own.iter().all(|f| declared(metadata, f).is_some_and(|m| filled(m.uri.as_ref())));
    let schema = filled(metadata.conforms_to.as_ref());
    if !field_uris && !schema {
        return StarLevel {
            stars: 3,
            explanation: three,
            explanation_zh: three_zh,
            next: Some(
                "Publish field URIs or a schema (conforms_to, or import a Table Schema with rdfType) to reach 4★."
                    .to_string(),
            ),
            next_zh: Some("發布欄位 URI 或結構描述以達到 4★。".to_string()),
        };
    }
    let (four, four_zh) = if field_uris {
        ("every column is identified by a URI", "每個欄位皆以 URI 標示其意義")
    } else {
        ("the data conforms to a published schema", "資料符合已發布的結構描述")
    };
    let linked = !metadata.foreign_keys.is_empty() || metadata.related.iter().any(|r| !r.trim().is_empty());
    if !linked {
        return StarLevel {
            stars: 4,
            explanation: format!("{} Also, {four}.", three),
            explanation_zh: format!("{three_zh}此外，{four_zh}。"),
            next: Some("Link the data to other datasets (foreign keys or related resources) to reach 5★.".to_string()),
            next_zh: Some("連結其他資料集（外來鍵或相關資源）以達到 5★。".to_string()),
        };
    }
    StarLevel {
        stars: 5,
        explanation: format!("{three} Also, {four}, and the data links to other datasets."),
        explanation_zh: format!("{three_zh}此外，{four_zh}，並連結至其他資料集。"),
        next: None,
        next_zh: None,
    }
}

fn star(stars: u8, explanation: &str, explanation_zh: &str, next: Option<(&str, &str)>) -> StarLevel {
    StarLevel {
        stars,
        explanation: explanation.to_string(),
        explanation_zh: explanation_zh.to_string(),
        next: next.map(|(en, _)| en.to_string()),
        next_zh: next.map(|(_, zh)| zh.to_string()),
    }
}
