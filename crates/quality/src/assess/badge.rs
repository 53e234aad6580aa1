//! The readiness badge, modelled on the national portal's quality mark: five criteria, gold with all met, silver
//! with four, bronze with three.

use tapwater_types::{Badge, BadgeCriterion};

use super::{AssessInput, Judgement, Outcome};

/// The badge of an assessed dataset.
pub(super) fn badge(input: &AssessInput<'_>, judged: &Judgement) -> Badge {
    let published = input.version.is_some();
    let pass = |code: &str| published && judged.outcome(code) == Outcome::Pass;
    let criteria = vec![
        criterion("machine_readable", "Machine-readable", "機器可讀", pass("structure")),
        criterion(
            "correct_encoding",
            "Correct encoding",
            "編碼正確",
            // Skipped only because every file is a binary format (a spreadsheet): nothing to get wrong.
            pass("encoding_match") || (published && judged.outcome("encoding_match") == Outcome::Skip),
        ),
        criterion(
            "field_descriptions",
            "Fields described",
            "欄位皆有說明",
            pass("desc_match") && pass("field_descriptions"),
        ),
        // A frequency never declared is not met: nothing says the data is kept up.
        criterion("updated_on_time", "Updated on time", "準時更新", pass("timeliness")),
        criterion("links_valid", "Links valid", "連結有效", pass("linkable") && pass("downloadable")),
    ];
    let met = criteria.iter().filter(|c| c.met).count();
    let level = match (published, met) {
        (false, _) => "none",
        (true, 5) => "gold",
        (true, 4) => "silver",
        (true, 3) => "bronze",
        _ => "none",
    };
    Badge { level: level.to_string(), criteria }
}

fn criterion(name: &str, label: &str, label_zh: &str, met: bool) -> BadgeCriterion {
    BadgeCriterion { name: name.to_string(), label: label.to_string(), label_zh: label_zh.to_string(), met }
}
