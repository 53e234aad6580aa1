//! The checks of the declared metadata (`field_descriptions`, `license`, `description`, `metadata_completeness`)
//! and of timeliness against the clock.

use chrono::{DateTime, Utc};
use tapwater_types::{FeeKind, Frequency, Severity, license_by_id};

use super::{AssessInput, GRACE, Judged, Outcome, declared, filled, name_list, next_due, own_columns, plural};
use crate::codes::finding;

/// Descriptions shorter than this many characters (not bytes) say too little.
pub(super) const MIN_DESCRIPTION_CHARS: usize = 30;

/// `field_descriptions`: every column the publisher is answerable for says what it means.
pub(super) fn field_descriptions(input: &AssessInput<'_>) -> Judged {
    let Some(version) = input.version else { return Judged::skip() };
    let metadata = &input.dataset.metadata;
    let own: Vec<_> = own_columns(version).collect();
    let undescribed: Vec<String> = own
        .iter()
        .filter(|field| {
            let declared = declared(metadata, field).is_some_and(|m| filled(m.description.as_ref()));
            !declared && !filled(field.description.as_ref())
        })
        .map(|f| f.name.clone())
        .collect();
    if undescribed.is_empty() {
        return Judged::pass();
    }
    let none = undescribed.len() == own.len();
    let mut f = if none {
        finding(
            "field_descriptions",
            Severity::Error,
            format!("No column is described ({} in all).", plural(own.len(), "column")),
            format!("所有欄位（共 {} 個）皆無說明。", own.len()),
        )
    } else {
        finding(
            "field_descriptions",
            Severity::Warning,
            format!(
                "{} of {} {} no description: {}.",
                undescribed.len(),
                plural(own.len(), "column"),
                if undescribed.len() == 1 { "has" } else { "have" },
                name_list(&undescribed, ", ")
            ),
            format!("{} 個欄位中有 {} 個沒有說明：{}。", own.len(), undescribed.len(), name_list(&undescribed, "、")),
        )
    };
    f.count = undescribed.len() as u64;
    f.examples = undescribed;
    Judged::of(vec![f])
}

/// `license`: the dataset is under one of the open licences tapwater knows.
pub(super) fn license(input: &AssessInput<'_>) -> Judged {
    let id = input.dataset.license.trim();
    if license_by_id(id).is_some() {
        return Judged::pass();
    }
    let (message, message_zh) = if id.is_empty() {
        ("No licence is declared.".to_string(), "未宣告授權條款。".to_string())
    } else {
        (
            format!("The licence {id} is not one of the open licences tapwater knows."),
            format!("授權條款 {id} 不在 tapwater 認可的開放授權之列。"),
        )
    };
    Judged::of(vec![finding("license", Severity::Error, message, message_zh)])
}

/// `description`: the description says more than the title.
pub(super) fn description(input: &AssessInput<'_>) -> Judged {
    let text = input.dataset.description.trim();
    let chars = text.chars().count();
    let (message, message_zh) = if text.is_empty() {
        ("The dataset has no description.".to_string(), "資料集沒有描述。".to_string())
    } else if text == input.dataset.title.trim() {
        ("The description only repeats the title.".to_string(), "描述僅重複資料集名稱。".to_string())
    } else if chars < MIN_DESCRIPTION_CHARS {
        (
            format!("The description is only {} long; say more about the data.", plural(chars, "character")),
            format!("描述僅有 {chars} 個字元，請多加說明資料內容。"),
        )
    } else {
        return Judged::pass();
    };
    Judged::of(vec![finding("description", Severity::Warning, message, message_zh)])
}

/// One member of the metadata data.gov.tw asks for.
struct Member {
    key: &'static str,
    label: &'static str,
    label_zh: &'static str,
    present: bool,
}

/// `metadata_completeness`: the metadata members the national portal asks for are filled in; the weight is earned in
/// proportion to the members present.
pub(super) fn completeness(input: &AssessInput<'_>) -> Judged {
    let dataset = input.dataset;
    let m = &dataset.metadata;
    let member = |key, label, label_zh, present| Member { key, label, label_zh, present };
    let contact = m
        .contact
        .as_ref()
        .is_some_and(|c| filled(c.name.as_ref()) && (filled(c.email.as_ref()) || filled(c.phone.as_ref())));
    let members = [
        member("title_en", "English title", "英文名稱", filled(m.title_en.as_ref())),
        member("publisher", "publisher", "提供機關", dataset.publisher.is_some()),
        member("contact", "contact with an e-mail or phone", "聯絡人", contact),
        member("frequency", "update frequency", "更新頻率", dataset.frequency.is_some()),
        member(
            "temporal",
            "temporal coverage",
            "資料時間範圍",
            m.temporal.as_ref().is_some_and(|t| t.start.is_some() || t.end.is_some()),
        ),
        member("spatial", "spatial coverage", "空間範圍", filled(m.spatial.as_ref()) || m.spatial_bbox.is_some()),
        member("categories", "service categories", "服務分類", m.categories.iter().any(|c| !c.trim().is_empty())),
        member("tags", "tags", "標籤", dataset.tags.iter().any(|t| !t.trim().is_empty())),
        member("source", "data source", "資料來源", filled(m.source.as_ref())),
        member("publisher_oid", "agency OID", "機關OID", filled(m.publisher_oid.as_ref())),
        // Absent means free; a paid dataset must say what is charged and under which rule.
        member(
            "fee",
            "fee and its legal basis",
            "收費方式",
            m.fee.as_ref().is_none_or(|fee| fee.kind == FeeKind::Free || filled(fee.description.as_ref())),
        ),
    ];
    let missing: Vec<&Member> = members.iter().filter(|m| !m.present).collect();
    let share = (members.len() - missing.len()) as f64 / members.len() as f64;
    if missing.is_empty() {
        return Judged { outcome: Outcome::Pass, findings: Vec::new(), share: Some(share) };
    }
    let en: Vec<String> = missing.iter().map(|m| format!("{} ({})", m.label, m.label_zh)).collect();
    let zh: Vec<String> = missing.iter().map(|m| m.label_zh.to_string()).collect();
    let mut f = finding(
        "metadata_completeness",
        Severity::Warning,
        format!("The metadata lacks {} of {}: {}.", missing.len(), members.len(), en.join(", ")),
        format!("詮釋資料缺少 {} 項（共 {} 項）：{}。", missing.len(), members.len(), zh.join("、")),
    );
    f.count = missing.len() as u64;
    f.examples = missing.iter().map(|m| m.key.to_string()).collect();
    Judged { outcome: Outcome::Warn, findings: vec![f], share: Some(share) }
}

fn frequency_zh(frequency: Frequency) -> &'static str {
    match frequency {
        Frequency::Realtime => "即時",
        Frequency::Daily => "每日",
        Frequency::Weekly => "每週",
        Frequency::Monthly => "每月",
        Frequency::Quarterly => "每季",
        Frequency::Yearly => "每年",
        Frequency::Irregular => "不定期",
    }
}

/// A moment in a message: the date, with the time for a real-time dataset (UTC).
fn moment(at: DateTime<Utc>, frequency: Frequency) -> String {
    if frequency == Frequency::Realtime {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        at.format("%Y-%m-%d").to_string()
    }
}

/// `timeliness`: a new version (or a run finding the data unchanged) came as often as declared, with a day of grace.
pub(super) fn timeliness(input: &AssessInput<'_>) -> Judged {
    let (Some(frequency), Some(version)) = (input.dataset.frequency, input.version) else { return Judged::skip() };
    let last = input.last_refreshed.unwrap_or(version.created_at);
    let Some(due) = next_due(frequency, last) else { return Judged::pass() };
    if due.checked_add_signed(GRACE).is_none_or(|limit| input.now <= limit) {
        return Judged::pass();
    }
    let age = input.now - last;
    let days = age.num_days();
    let (ago, ago_zh) = if days >= 1 {
        (plural(days as usize, "day"), format!("{days} 天"))
    } else {
        let hours = age.num_hours();
        (plural(hours as usize, "hour"), format!("{hours} 小時"))
    };
    let mut f = finding(
        "timeliness",
        Severity::Error,
        format!(
            "Last updated {ago} ago, on {}; declared {}, so a new version was due by {}.",
            moment(last, frequency),
            frequency.as_str(),
            moment(due, frequency)
        ),
        format!(
            "最後更新於 {}（{ago_zh}前）；宣告更新頻率為{}，應於 {} 前更新。",
            moment(last, frequency),
            frequency_zh(frequency),
            moment(due, frequency)
        ),
    );
    f.count = days.max(0) as u64;
    Judged::of(vec![f])
}
