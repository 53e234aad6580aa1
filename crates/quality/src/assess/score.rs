//! The 0–100 score: every check that applies weighs its catalogue weight; a pass earns all of it, a warning half, a
//! failure nothing (metadata completeness earns in proportion to the members present).

use tapwater_types::CheckOutcome;

use super::{Judgement, Outcome};
use crate::codes::CHECKS;

/// Every check of the catalogue with its outcome and points, in catalogue order, and the score.
pub(super) fn tally(judged: &Judgement) -> (Vec<CheckOutcome>, u8) {
    let mut earned_total = 0.0;
    let mut denominator = 0u32;
    let checks: Vec<CheckOutcome> = CHECKS
        .iter()
        .map(|check| {
            let (outcome, share) = judged.get(check.code).map_or((Outcome::Skip, None), |j| (j.outcome, j.share));
            let weight = f64::from(check.weight);
            let earned = match (outcome, share) {
                (Outcome::Skip, _) => 0.0,
                (_, Some(share)) => weight * share.clamp(0.0, 1.0),
                (Outcome::Pass, None) => weight,
                (Outcome::Warn, None) => weight / 2.0,
                (Outcome::Fail, None) => 0.0,
            };
            if outcome != Outcome::Skip {
                denominator += check.weight;
                earned_total += earned;
            }
            CheckOutcome {
                code: check.code.to_string(),
                outcome: outcome.as_str().to_string(),
                weight: check.weight,
                earned,
            }
        })
        .collect();
    let score = if denominator == 0 {
        0
    } else {
        (100.0 * earned_total / f64::from(denominator)).round().clamp(0.0, 100.0) as u8
    };
    (checks, score)
}
