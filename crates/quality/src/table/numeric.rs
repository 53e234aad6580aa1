//! Implausible numbers: codes for "unknown" (9999, -1 …) among measurements, and values far outside the rest.
//!
//! The rule is built not to fire on the skewed distributions government tables are full of (populations of
//! villages, amounts of money): a value is an outlier only when it is
//!
//! 1. beyond Q1 − 6·IQR or Q3 + 6·IQR, and more than 20 scaled MADs (1.4826·MAD) from the median;
//! 2. isolated: at least 3 times as far from the median as the next value on its side (a long tail has neighbours,
//!    a typing error or a unit mix-up does not);
//! 3. rare: such values are at most 0.5 % of the column (so a column needs 200 values before one can be flagged).
//!
//! A column whose middle half is one value (IQR or MAD 0: counts that are mostly zero) is not judged.

use tapwater_types::{Finding, Severity};

use super::{Sample, fmt_count};
use crate::codes::finding;

/// Values that often stand for "unknown" or "not applicable".
const SENTINELS: &[f64] = &[9_999.0, 99_999.0, 999_999.0, 9_999_999.0, -1.0, -9.0, -99.0, -999.0, -998.0, -9_999.0];

/// Fewest values for a column to be judged.
const MIN_VALUES: usize = 30;

/// Every value of a numeric column in row order (NaN for null), for quantiles at the end.
#[derive(Default)]
pub(super) struct Numbers {
    pub(super) values: Vec<f64>,
}

fn nth(v: &mut [f64], k: usize) -> f64 {
    let (_, x, _) = v.select_nth_unstable_by(k, f64::total_cmp);
    *x
}

fn is_sentinel(x: f64) -> bool {
    SENTINELS.contains(&x)
}

fn render(x: f64, integer: bool) -> String {
    if integer && x.fract() == 0.0 && x.abs() < 9.0e15 { format!("{}", x as i64) } else { format!("{x}") }
}

impl Numbers {
    /// The findings about this column: sentinel-like codes, then outliers.
    pub(super) fn finish(self, column: &str, integer: bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut present: Vec<f64> = self.values.iter().copied().filter(|x| !x.is_nan()).collect();
        let n = present.len();
        if n < MIN_VALUES {
            return findings;
        }

        // Sentinels: a code far from every other value of the column.
        let mut others: Vec<f64> = present.iter().copied().filter(|x| !is_sentinel(*x)).collect();
        let mut codes: Vec<f64> = Vec::new();
        if others.len() >= 20 && others.len() < n {
            let (min, max) = others.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
            let k = others.len();
            let spread = (nth(&mut others, k * 3 / 4) - nth(&mut others, k / 4)).max(1.0);
            for &s in SENTINELS {
                if !present.contains(&s) {
                    continue;
                }
                let far = if s > 0.0 {
                    max >= 0.0 && s > 3.0 * max.max(1.0) && s > max + 10.0 * spread
                } else {
                    min >= 0.0 || s < min - 10.0 * spread
                };
                if far {
                    codes.push(s);
                }
            }
        }
        if !codes.is_empty() {
            let mut sample = Sample::default();
            for (i, x) in self.values.iter().enumerate() {
                if codes.contains(x) {
                    sample.add_with(i as u64 + 1, || render(*x, integer));
                }
            }
            let f = finding(
                "numeric_outliers",
                Severity::Info,
                format!(
                    "{} of {} values of this column look like a code for a missing value, far from all the other values.",
                    fmt_count(sample.count),
                    fmt_count(n as u64)
                ),
                format!(
                    "此欄 {} 個值中有 {} 個看似代表缺值的代碼，與其他所有數值差距甚大。",
                    fmt_count(n as u64),
                    fmt_count(sample.count)
                ),
            );
            let mut f = sample.fill(f, column);
            f.fix = "If these values mean 'unknown' or 'not applicable', declare them as sentinels in the pipeline \
                     (`[sentinels]`) so they read as empty; otherwise check them at the source."
                .into();
            f.fix_zh =
                "若這些值代表「不詳」或「不適用」，請在處理流程中宣告為 sentinel（`[sentinels]`），使其讀為空值；\
                        否則請回到來源核對。"
                    .into();
            findings.push(f);
            present.retain(|x| !codes.contains(x));
        }

        // Outliers among the rest.
        let n = present.len();
        if n < MIN_VALUES {
            return findings;
        }
        let q1 = nth(&mut present, n / 4);
        let median = nth(&mut present, n / 2);
        let q3 = nth(&mut present, n * 3 / 4);
        let iqr = q3 - q1;
        let mut deviations: Vec<f64> = present.iter().map(|x| (x - median).abs()).collect();
        let mad = 1.4826 * nth(&mut deviations, n / 2);
        drop(deviations);
        if iqr <= 0.0 || mad <= 0.0 || !iqr.is_finite() {
            return findings;
        }
        let high_fence = (q3 + 6.0 * iqr).max(median + 20.0 * mad);
        let low_fence = (q1 - 6.0 * iqr).min(median - 20.0 * mad);
        let mut high: Vec<f64> = present.iter().copied().filter(|x| *x > high_fence).collect();
        let mut low: Vec<f64> = present.iter().copied().filter(|x| *x < low_fence).collect();
        let beyond = high.len() + low.len();
        if beyond == 0 || beyond * 200 > n {
            return findings;
        }
        // The largest value inside the fences on each side, then the first wide gap going outwards.
        let inner_max = present.iter().copied().filter(|x| *x <= high_fence).fold(median, f64::max);
        let inner_min = present.iter().copied().filter(|x| *x >= low_fence).fold(median, f64::min);
        high.sort_by(f64::total_cmp);
        low.sort_by(|a, b| b.total_cmp(a));
        let cut = |side: &[f64], inner: f64| {
            let mut previous = (inner - median).abs();
            for &x in side {
                let distance = (x - median).abs();
                if distance > 3.0 * previous {
                    return Some(x);
                }
                previous = distance;
            }
            None
        };
        let high_cut = cut(&high, inner_max);
        let low_cut = cut(&low, inner_min);
        if high_cut.is_none() && low_cut.is_none() {
            return findings;
        }
        let mut sample = Sample::default();
        for (i, x) in self.values.iter().enumerate() {
            if x.is_nan() || codes.contains(x) {
                continue;
            }
            if high_cut.is_some_and(|c| *x >= c) || low_cut.is_some_and(|c| *x <= c) {
                sample.add_with(i as u64 + 1, || render(*x, integer));
            }
        }
        let f = finding(
            "numeric_outliers",
            Severity::Info,
            format!(
                "{} of {} values of this column lie far outside the range of all the others.",
                fmt_count(sample.count),
                fmt_count(n as u64)
            ),
            format!("此欄 {} 個值中有 {} 個遠超出其餘所有數值的範圍。", fmt_count(n as u64), fmt_count(sample.count)),
        );
        findings.push(sample.fill(f, column));
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(values: &[f64]) -> Numbers {
        Numbers { values: values.to_vec() }
    }

    #[test]
    fn a_skewed_column_has_no_outliers() {
        // Village populations: a long tail, no gap.
        let values: Vec<f64> = (0..5_000).map(|i| 500.0 * (1.0 + f64::from(i) / 400.0).powf(2.2)).collect();
        assert!(numbers(&values).finish("人口數", true).is_empty());
    }

    #[test]
    fn a_typing_error_is_an_outlier() {
        let mut values: Vec<f64> = (0..1_000).map(|i| 100.0 + f64::from(i % 37)).collect();
        values[500] = 1_310_000.0;
        let f = numbers(&values).finish("金額", true);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].count, f[0].rows.clone(), f[0].examples.clone()), (1, vec![501], vec!["1310000".into()]));
    }

    #[test]
    fn mostly_zero_counts_are_not_judged() {
        let mut values = vec![0.0; 2_000];
        values[7] = 2.0;
        values[99] = 1.0;
        assert!(numbers(&values).finish("死亡數", true).is_empty());
    }
}
