//! Coordinates: which columns hold longitudes, latitudes or TWD97 metres, and TWD97 TM2 → WGS84.
//!
//! TWD97 TM2 (EPSG:3826) is a transverse Mercator projection of the GRS80 ellipsoid: central meridian 121°E, scale
//! 0.9999, false easting 250 000 m. TWD97 is realised on ITRF94 and differs from WGS84 by less than a metre, so the
//! geographic coordinates are given as WGS84 without a datum shift (as `proj` does for EPSG:3826 → EPSG:4326).
//! Penghu, Kinmen and Matsu use TM2 zone 119°E (EPSG:3825), which is not read here: its easting range overlaps
//! zone 121's, so only the values' names could tell them apart.
//!
//! The inverse projection is the Krüger series to the third power of the third flattening (Karney 2011, "Transverse
//! Mercator with an accuracy of a few nanometers", eq. 15–19; the same series as the `proj` `tmerc` default), written
//! out here because it is thirty lines and the `proj4rs` crate would bring a whole CRS engine for one projection.
//! Within Taiwan's ±1.5° of the central meridian it is accurate to well under a millimetre.

/// GRS80 semi-major axis (m).
const A: f64 = 6_378_137.0;
/// GRS80 flattening.
const F: f64 = 1.0 / 298.257_222_101;
const K0: f64 = 0.9999;
const FALSE_EASTING: f64 = 250_000.0;
const CENTRAL_MERIDIAN_DEG: f64 = 121.0;

/// TWD97 TM2 easting range of Taiwan and Penghu (m), as measured coordinates reach it.
pub(crate) const TWD97_X: std::ops::RangeInclusive<f64> = 140_000.0..=360_000.0;
/// TWD97 TM2 northing range of Taiwan and Penghu (m).
pub(crate) const TWD97_Y: std::ops::RangeInclusive<f64> = 2_400_000.0..=2_820_000.0;
/// Longitudes of Taiwan, Penghu, Kinmen and Matsu (degrees east).
pub(crate) const LONGITUDE: std::ops::RangeInclusive<f64> = 118.0..=123.0;
/// Latitudes of Taiwan, Penghu, Kinmen and Matsu (degrees north).
pub(crate) const LATITUDE: std::ops::RangeInclusive<f64> = 21.0..=27.0;

/// TWD97 TM2 metres → WGS84 (longitude, latitude) in degrees.
pub(crate) fn twd97_to_wgs84(x: f64, y: f64) -> (f64, f64) {
    let n = F / (2.0 - F);
    let (n2, n3) = (n * n, n * n * n);
    // Rectifying radius.
    let a_hat = A / (1.0 + n) * (1.0 + n2 / 4.0 + n2 * n2 / 64.0);
    let beta = [n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0, n2 / 48.0 + n3 / 15.0, 17.0 * n3 / 480.0];
    let delta = [2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3, 7.0 * n2 / 3.0 - 8.0 * n3 / 5.0, 56.0 * n3 / 15.0];
    let xi = y / (K0 * a_hat);
    let eta = (x - FALSE_EASTING) / (K0 * a_hat);
    let mut xi_p = xi;
    let mut eta_p = eta;
    for (j, b) in beta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi_p -= b * (k * xi).sin() * (k * eta).cosh();
        eta_p -= b * (k * xi).cos() * (k * eta).sinh();
    }
    let chi = (xi_p.sin() / eta_p.cosh()).asin();
    let mut phi = chi;
    for (j, d) in delta.iter().enumerate() {
        phi += d * (2.0 * (j as f64 + 1.0) * chi).sin();
    }
    let lambda = CENTRAL_MERIDIAN_DEG.to_radians() + eta_p.sinh().atan2(xi_p.cos());
    (lambda.to_degrees(), phi.to_degrees())
}

/// Which axis a column's name says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    /// `x`, `tw97x`, `X坐標`, `lon`, `經度` …: east–west.
    X,
    /// `y`, `tw97y`, `Y坐標`, `lat`, `緯度` …: north–south.
    Y,
}

/// The axis a column name says, if any. Names are matched after lower-casing and dropping spaces, `_`, `-` and
/// `()`: `tw97x`, `TWD97_X`, `X坐標`, `X座標`, `座標X`, `橫坐標`, `Longitude(經度)`, `經度座標`, `lng`, `Xcod`.
pub(crate) fn axis_of(name: &str) -> Option<Axis> {
    let key: String = name
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '(' | ')' | '（' | '）' | '\u{3000}'))
        .collect();
    let is = |words: &[&str]| words.iter().any(|w| key == *w);
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if has(&["經度", "longitude", "橫坐標", "橫座標"])
        || is(&["x", "lon", "lng", "long", "xcod", "xcoord", "posx", "coordx", "pointx", "wgs84x", "wgs84lon"])
        || twd97_axis(&key) == Some('x')
        || has(&["x坐標", "x座標", "坐標x", "座標x"])
    {
        return Some(Axis::X);
    }
    if has(&["緯度", "latitude", "縱坐標", "縱座標"])
        || is(&["y", "lat", "ycod", "ycoord", "posy", "coordy", "pointy", "wgs84y", "wgs84lat"])
        || twd97_axis(&key) == Some('y')
        || has(&["y坐標", "y座標", "坐標y", "座標y"])
    {
        return Some(Axis::Y);
    }
    None
}

/// `tw97x`, `twd97_x` (key without `_`), `twd97tm2x`, `x97`, `97x` → `x`; the same for `y`.
fn twd97_axis(key: &str) -> Option<char> {
    let last = key.chars().last()?;
    let first = key.chars().next()?;
    let named = (key.starts_with("tw97") || key.starts_with("twd97")) && matches!(last, 'x' | 'y');
    if named {
        return Some(last);
    }
    match key {
        "x97" | "y97" => Some(first),
        "97x" | "97y" => Some(last),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres on the ground between two WGS84 points close together (equirectangular approximation).
    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        let lat = a.1.to_radians();
        let dx = (a.0 - b.0).to_radians() * lat.cos() * 6_371_000.0;
        let dy = (a.1 - b.1).to_radians() * 6_371_000.0;
        (dx * dx + dy * dy).sqrt()
    }

    #[test]
    fn the_projection_origin_and_central_meridian() {
        let (lon, lat) = twd97_to_wgs84(250_000.0, 0.0);
        assert!((lon - 121.0).abs() < 1e-12 && lat.abs() < 1e-12, "{lon} {lat}");
        let (lon, lat) = twd97_to_wgs84(250_000.0, 2_599_651.349);
        assert!((lon - 121.0).abs() < 1e-12);
        assert!(metres((lon, lat), (121.0, 23.5)) < 0.01, "{lat}");
    }

    #[test]
    fn known_points_to_within_a_metre() {
        // TWD97 metres of WGS84 points computed with Snyder's transverse Mercator series (USGS Professional Paper
        // 1395, eq. 8-9 and 8-10: a different derivation from the Krüger series used here) on GRS80. No PROJ was at
        // hand to check against; the two derivations agree to a millimetre. Note: the often-quoted "Taipei 101 ≈
        // (306 829, 2 769 869)" is some 250 m off; Taipei 101 (121.564467°E, 25.033976°N) is (306 962, 2 769 660).
        let cases = [
            ((306_962.213, 2_769_659.551), (121.564_467, 25.033_976)), // Taipei 101
            ((166_419.061, 2_543_651.687), (120.184_74, 22.992_20)),   // Tainan, 0.8° west of the meridian
            ((224_186.985, 2_433_578.194), (120.75, 22.0)),            // Hengchun peninsula
            ((324_618.146, 2_780_381.367), (121.74, 25.13)),           // Keelung
        ];
        for ((x, y), (lon, lat)) in cases {
            let got = twd97_to_wgs84(x, y);
            assert!(metres(got, (lon, lat)) < 0.01, "({x}, {y}) → {got:?}, want ({lon}, {lat})");
        }
    }

    /// The forward Krüger series (Karney 2011 eq. 6–11), written independently of the inverse above.
    fn forward(lon: f64, lat: f64) -> (f64, f64) {
        let n = F / (2.0 - F);
        let (n2, n3) = (n * n, n * n * n);
        let a_hat = A / (1.0 + n) * (1.0 + n2 / 4.0 + n2 * n2 / 64.0);
        let alpha = [n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0, 13.0 * n2 / 48.0 - 3.0 * n3 / 5.0, 61.0 * n3 / 240.0];
        let e = (F * (2.0 - F)).sqrt();
        let phi = lat.to_radians();
        let lam = (lon - CENTRAL_MERIDIAN_DEG).to_radians();
        let t = (phi.sin().atanh() - e * (e * phi.sin()).atanh()).sinh();
        let xi_p = t.atan2(lam.cos());
        let eta_p = (lam.sin() / (1.0 + t * t).sqrt()).atanh();
        let mut xi = xi_p;
        let mut eta = eta_p;
        for (j, a) in alpha.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            xi += a * (k * xi_p).sin() * (k * eta_p).cosh();
            eta += a * (k * xi_p).cos() * (k * eta_p).sinh();
        }
        (FALSE_EASTING + K0 * a_hat * eta, K0 * a_hat * xi)
    }

    #[test]
    fn inverse_undoes_an_independent_forward_series_over_taiwan() {
        let mut lat = 21.5;
        while lat <= 26.5 {
            let mut lon = 119.3;
            while lon <= 122.1 {
                let (x, y) = forward(lon, lat);
                let back = twd97_to_wgs84(x, y);
                assert!(metres(back, (lon, lat)) < 0.001, "({lon}, {lat}) → ({x}, {y}) → {back:?}");
                lon += 0.1;
            }
            lat += 0.25;
        }
    }

    #[test]
    fn axes_from_names() {
        for name in
            ["tw97x", "TWD97X", "twd97_x", "X坐標", "x座標", "Longitude(經度)", "經度", "經度座標", "lng", "Xcod"]
        {
            assert_eq!(axis_of(name), Some(Axis::X), "{name}");
        }
        for name in ["tw97y", "TWD97Y", "Y坐標", "Latitude(緯度)", "緯度", "緯度座標", "lat", "LATITUDE", "Ycod"]
        {
            assert_eq!(axis_of(name), Some(Axis::Y), "{name}");
        }
        for name in ["name", "地址", "totalcar", "TEXT", "y1997", "yx97"] {
            assert_eq!(axis_of(name), None, "{name}");
        }
    }
}
