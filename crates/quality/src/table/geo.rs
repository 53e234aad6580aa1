//! WGS84 coordinates: values outside Taiwan and its islands, zeros standing for "no coordinate", and longitude and
//! latitude swapped (in every row, or in a few).
//!
//! A column is a coordinate when ingest gave it the role `longitude` / `latitude`, or when its name says so
//! (經度, 緯度, lon, lat …; X坐標 and the like need nine in ten) and half of its non-zero values lie in one of the two
//! ranges; TWD97 metre columns
//! (role `twd97_x` / `twd97_y`, or values beyond 1,000) are not degrees and are left alone. The axis a column is
//! *meant* to hold comes from its name (ingest's role follows the values, so a column named 經度 that holds
//! latitudes has the role `latitude`: that is the swap this check reports).

use std::ops::RangeInclusive;

use tapwater_types::{Field, Finding, Severity};

use super::{Sample, fmt_count};
use crate::codes::finding;

/// Longitudes of Taiwan with its outlying islands (Taiping Island 114.36° E … east of Orchid Island, Diaoyutai).
pub(super) const LONGITUDE: RangeInclusive<f64> = 114.0..=124.6;
/// Latitudes (Taiping Island 10.38° N … Matsu 26.4° N).
pub(super) const LATITUDE: RangeInclusive<f64> = 10.0..=26.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Axis {
    Longitude,
    Latitude,
}

impl Axis {
    fn range(self) -> RangeInclusive<f64> {
        match self {
            Axis::Longitude => LONGITUDE,
            Axis::Latitude => LATITUDE,
        }
    }
}

/// The axis a column's name says it holds (the names ingest recognises), and whether the name is unambiguous
/// (經度, latitude, lon …) rather than a bare axis letter (x, Y坐標, xcod), which charts and TWD97 use too.
pub(super) fn axis_of_name(name: &str) -> Option<(Axis, bool)> {
    let key: String = name
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '(' | ')' | '（' | '）' | '\u{3000}'))
        .collect();
    let is = |words: &[&str]| words.iter().any(|w| key == *w);
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if has(&["經度", "longitude"])
        || is(&["lon", "lng", "long", "wgs84lon"])
        || key.ends_with("lon")
        || key.ends_with("lng")
    {
        return Some((Axis::Longitude, true));
    }
    if has(&["緯度", "latitude"]) || is(&["lat", "wgs84lat"]) || key.ends_with("lat") {
        return Some((Axis::Latitude, true));
    }
    if has(&["橫坐標", "橫座標", "x坐標", "x座標", "坐標x", "座標x"])
        || is(&["x", "xcod", "xcoord", "posx", "coordx", "pointx", "wgs84x"])
    {
        return Some((Axis::Longitude, false));
    }
    if has(&["縱坐標", "縱座標", "y坐標", "y座標", "坐標y", "座標y"])
        || is(&["y", "ycod", "ycoord", "posy", "coordy", "pointy", "wgs84y"])
    {
        return Some((Axis::Latitude, false));
    }
    None
}

/// The axis a field is meant to hold, when it is a coordinate column at all, and how sure that is: 2 with a role,
/// 1 with an unambiguous name, 0 with an axis letter.
pub(super) fn axis_of(field: &Field) -> Option<(Axis, u8)> {
    let role = match field.role.as_deref() {
        Some("longitude") => Some(Axis::Longitude),
        Some("latitude") => Some(Axis::Latitude),
        Some(_) => return None, // TWD97 metres, source file
        None => None,
    };
    if role.is_none() && !field.field_type.is_numeric() {
        return None;
    }
    match (axis_of_name(&field.name), role) {
        (Some((named, _)), Some(_)) => Some((named, 2)),
        (Some((named, strong)), None) => Some((named, u8::from(strong))),
        (None, Some(role)) => Some((role, 2)),
        (None, None) => None,
    }
}

/// What one coordinate column held.
pub(super) struct CoordColumn {
    pub(super) index: usize,
    pub(super) name: String,
    pub(super) axis: Axis,
    /// 2: ingest gave the role; 1: named 經度, lat …; 0: named x, Y坐標 ….
    certainty: u8,
    values: u64,
    in_longitudes: u64,
    in_latitudes: u64,
    metres: u64,
    zero_values: u64,
    zeros: Sample,
    outside: Sample,
}

impl CoordColumn {
    pub(super) fn new(index: usize, name: &str, axis: Axis, certainty: u8) -> CoordColumn {
        CoordColumn {
            index,
            name: name.to_string(),
            axis,
            certainty,
            values: 0,
            in_longitudes: 0,
            in_latitudes: 0,
            metres: 0,
            zero_values: 0,
            zeros: Sample::default(),
            outside: Sample::default(),
        }
    }

    /// Counts a value; `judge`: record it as outside or zero (not for a swapped row, or a zero the pair records).
    #[inline]
    fn count(&mut self, v: f64, row: u64, judge: bool) {
        self.values += 1;
        if v == 0.0 {
            self.zero_values += 1;
        } else if LONGITUDE.contains(&v) {
            self.in_longitudes += 1;
        } else if LATITUDE.contains(&v) {
            self.in_latitudes += 1;
        } else if v.abs() > 1_000.0 {
            self.metres += 1;
        }
        if judge {
            if v == 0.0 {
                self.zeros.add_with(row, || "0".into());
            } else if !self.axis.range().contains(&v) {
                self.outside.add_with(row, || v.to_string());
            }
        }
    }

    pub(super) fn push(&mut self, values: &[Option<f64>], first_row: u64) {
        for (r, v) in values.iter().enumerate() {
            if let Some(v) = v {
                self.count(*v, first_row + r as u64 + 1, true);
            }
        }
    }

    /// Whether the column holds degrees at all (not metres, not some other number under a coordinate-like name).
    fn holds_degrees(&self) -> bool {
        let nonzero = self.values - self.zero_values;
        if self.values == 0 || self.metres * 2 > self.values {
            return false;
        }
        // A column found by its name alone must hold degrees of one axis in half its values, or nine in ten when
        // the name is only an axis letter.
        let degrees = self.in_longitudes.max(self.in_latitudes);
        match self.certainty {
            2 => true,
            1 => degrees * 2 >= nonzero.max(1),
            _ => degrees * 10 >= nonzero.max(1) * 9,
        }
    }

    pub(super) fn finish(self, findings: &mut Vec<(usize, Finding)>) {
        if !self.holds_degrees() {
            return;
        }
        let n = self.values;
        if self.zeros.count > 0 {
            let f = finding(
                "coordinates",
                Severity::Error,
                format!(
                    "{} of {} values of this column are zero, which is no place in Taiwan.",
                    fmt_count(self.zeros.count),
                    fmt_count(n)
                ),
                format!("此欄 {} 個值中有 {} 個為零，並非臺灣的位置。", fmt_count(n), fmt_count(self.zeros.count)),
            );
            let mut f = self.zeros.fill(f, &self.name);
            zero_fix(&mut f);
            findings.push((self.index, f));
        }
        if self.outside.count > 0 {
            let (en, zh) = match self.axis {
                Axis::Longitude => ("longitudes", "經度"),
                Axis::Latitude => ("latitudes", "緯度"),
            };
            let f = finding(
                "coordinates",
                Severity::Error,
                format!(
                    "{} of {} {en} in this column lie outside Taiwan and its islands.",
                    fmt_count(self.outside.count),
                    fmt_count(n)
                ),
                format!(
                    "此欄 {} 個{zh}中有 {} 個位於臺灣及其離島範圍之外。",
                    fmt_count(n),
                    fmt_count(self.outside.count)
                ),
            );
            let mut f = self.outside.fill(f, &self.name);
            f.fix = "Check these coordinates at the source: WGS84 longitudes of Taiwan and its islands lie between \
                     114 and 124.6 degrees east, latitudes between 10 and 26.5 degrees north; TWD97 metres belong in \
                     columns of their own."
                .into();
            f.fix_zh = "請回到來源核對這些座標：臺灣及其離島的 WGS84 經度介於東經 114 至 124.6 度，緯度介於北緯 10 至 \
                        26.5 度；TWD97 公尺座標請放在另外的欄位。"
                .into();
            findings.push((self.index, f));
        }
    }
}

fn zero_fix(f: &mut Finding) {
    f.fix = "Leave a missing coordinate empty instead of writing 0.".into();
    f.fix_zh = "缺少座標時請留空，勿填 0。".into();
}

/// A longitude column and the latitude column beside it.
pub(super) struct CoordPair {
    pub(super) longitude: CoordColumn,
    pub(super) latitude: CoordColumn,
    /// Rows holding both.
    both: u64,
    swapped: Sample,
    zeros: Sample,
}

impl CoordPair {
    pub(super) fn new(longitude: CoordColumn, latitude: CoordColumn) -> CoordPair {
        CoordPair { longitude, latitude, both: 0, swapped: Sample::default(), zeros: Sample::default() }
    }

    pub(super) fn push(&mut self, lon: &[Option<f64>], lat: &[Option<f64>], first_row: u64) {
        for (r, (x, y)) in lon.iter().zip(lat).enumerate() {
            let row = first_row + r as u64 + 1;
            match (*x, *y) {
                (Some(x), Some(y)) => {
                    self.both += 1;
                    if x == 0.0 || y == 0.0 {
                        self.zeros.add_with(row, || format!("{x}, {y}"));
                        self.longitude.count(x, row, false);
                        self.latitude.count(y, row, false);
                    } else if LATITUDE.contains(&x) && LONGITUDE.contains(&y) {
                        self.swapped.add_with(row, || format!("{x}, {y}"));
                        self.longitude.count(x, row, false);
                        self.latitude.count(y, row, false);
                    } else {
                        self.longitude.count(x, row, true);
                        self.latitude.count(y, row, true);
                    }
                }
                (Some(x), None) => self.longitude.count(x, row, true),
                (None, Some(y)) => self.latitude.count(y, row, true),
                (None, None) => {}
            }
        }
    }

    pub(super) fn finish(self, findings: &mut Vec<(usize, Finding)>) {
        let CoordPair { longitude, latitude, both, swapped, zeros } = self;
        if !longitude.holds_degrees() || !latitude.holds_degrees() {
            // Not a pair of degrees: judge whichever is one on its own.
            longitude.finish(findings);
            latitude.finish(findings);
            return;
        }
        let (a, b) = (longitude.name.clone(), latitude.name.clone());
        let index = longitude.index.min(latitude.index);
        if zeros.count > 0 {
            let f = finding(
                "coordinates",
                Severity::Error,
                format!(
                    "{} of {} rows have zero as a coordinate in {a} or {b}, which is no place in Taiwan.",
                    fmt_count(zeros.count),
                    fmt_count(both)
                ),
                format!(
                    "{} 列中有 {} 列的座標（{a} 或 {b}）為零，並非臺灣的位置。",
                    fmt_count(both),
                    fmt_count(zeros.count)
                ),
            );
            let mut f = zeros.fill(f, &a);
            zero_fix(&mut f);
            findings.push((index, f));
        }
        if swapped.count > 0 {
            let whole = swapped.count * 5 >= both * 4;
            let f = if whole {
                let mut f = finding(
                    "coordinates",
                    Severity::Error,
                    format!(
                        "Columns {a} and {b} look swapped: {a} holds latitudes and {b} longitudes in {} of {} rows.",
                        fmt_count(swapped.count),
                        fmt_count(both)
                    ),
                    format!(
                        "欄位 {a} 與 {b} 似乎對調：{} 列中有 {} 列的 {a} 為緯度、{b} 為經度。",
                        fmt_count(both),
                        fmt_count(swapped.count)
                    ),
                );
                f.fix = format!(
                    "Swap the two columns (or their names): the longitude (about 119–122 for Taiwan) belongs in {a}, \
                     the latitude (about 21–26) in {b}."
                );
                f.fix_zh =
                    format!("請對調這兩欄（或其名稱）：經度（臺灣約 119–122）應在 {a}，緯度（約 21–26）應在 {b}。");
                f
            } else {
                let mut f = finding(
                    "coordinates",
                    Severity::Error,
                    format!(
                        "In {} of {} rows, {a} holds a latitude and {b} a longitude: the pair is swapped in those rows.",
                        fmt_count(swapped.count),
                        fmt_count(both)
                    ),
                    format!(
                        "{} 列中有 {} 列的 {a} 為緯度、{b} 為經度，這些列的座標對調了。",
                        fmt_count(both),
                        fmt_count(swapped.count)
                    ),
                );
                f.fix =
                    format!("Swap the two values in these rows: the longitude belongs in {a}, the latitude in {b}.");
                f.fix_zh = format!("請對調這些列的兩個值：經度應在 {a}，緯度應在 {b}。");
                f
            };
            findings.push((index, swapped.fill(f, &a)));
        }
        // Zeros and values outside in rows where the other coordinate is missing.
        longitude.finish(findings);
        latitude.finish(findings);
    }
}
