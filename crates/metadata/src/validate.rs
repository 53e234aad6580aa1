//! Checks of a publisher's [`DatasetMetadata`] before it is stored.

use tapwater_types::{DatasetMetadata, FeeKind};

use crate::MetadataError;

fn err(param: impl Into<String>, message: impl Into<String>, message_zh: impl Into<String>) -> MetadataError {
    MetadataError::new(param, message, message_zh)
}

fn check_http_url(param: &str, value: &str) -> Result<(), MetadataError> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(err(
            param,
            format!("{param} must be an absolute http(s) URL, such as https://example.gov.tw/page"),
            format!("{param} 須為完整的 http(s) 網址，例如 https://example.gov.tw/page"),
        )),
    }
}

/// Whether `value` is an OID: numbers separated by dots, at least two (`2.16.886.101.20003.20065`).
fn is_oid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() >= 2 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks what can be checked without the data: e-mail and URL forms, the bounding box, the period, the OID, field
/// names, constraint bounds and the fee. The first problem is returned, naming the member (`contact.email`,
/// `fields[2].constraints.minimum` …) in English and Chinese.
pub fn validate_metadata(metadata: &DatasetMetadata) -> Result<(), MetadataError> {
    if let Some(email) = metadata.contact.as_ref().and_then(|c| c.email.as_deref())
        && !tapwater_types::is_email_address(email)
    {
        return Err(err(
            "contact.email",
            "contact.email is not an e-mail address (name@example.gov.tw)",
            "contact.email 不是有效的電子郵件地址（例如 name@example.gov.tw）",
        ));
    }
    if let Some(page) = &metadata.landing_page {
        check_http_url("landing_page", page)?;
    }
    if let Some(standard) = &metadata.conforms_to {
        check_http_url("conforms_to", standard)?;
    }
    for (i, related) in metadata.related.iter().enumerate() {
        check_http_url(&format!("related[{i}]"), related)?;
    }
    if let Some([west, south, east, north]) = metadata.spatial_bbox {
        let param = "spatial_bbox";
        if ![west, south, east, north].iter().all(|v| v.is_finite()) {
            return Err(err(param, "spatial_bbox holds numbers only", "spatial_bbox 只能是數值"));
        }
        if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) {
            return Err(err(
                param,
                "spatial_bbox longitudes (west, east) are between -180 and 180",
                "spatial_bbox 的經度（西、東）須介於 -180 與 180 之間",
            ));
        }
        if !(-90.0..=90.0).contains(&south) || !(-90.0..=90.0).contains(&north) {
            return Err(err(
                param,
                "spatial_bbox latitudes (south, north) are between -90 and 90",
                "spatial_bbox 的緯度（南、北）須介於 -90 與 90 之間",
            ));
        }
        if west >= east || south >= north {
            return Err(err(
                param,
                "spatial_bbox is [west, south, east, north] with west < east and south < north",
                "spatial_bbox 的順序為 [西, 南, 東, 北]，且西 < 東、南 < 北",
            ));
        }
    }
    if let Some(temporal) = &metadata.temporal
        && let (Some(start), Some(end)) = (temporal.start, temporal.end)
        && start > end
    {
        return Err(err(
            "temporal",
            format!("temporal.start ({start}) is after temporal.end ({end})"),
            format!("資料時間範圍的起日（{start}）晚於迄日（{end}）"),
        ));
    }
    if let Some(oid) = &metadata.publisher_oid
        && !is_oid(oid)
    {
        return Err(err(
            "publisher_oid",
            "publisher_oid is an OID: numbers separated by dots, such as 2.16.886.101.20003.20065",
            "publisher_oid 須為機關 OID：以點分隔的數字，例如 2.16.886.101.20003.20065",
        ));
    }
    for (i, field) in metadata.fields.iter().enumerate() {
        let at = |member: &str| format!("fields[{i}].{member}");
        if field.name.trim().is_empty() {
            return Err(err(at("name"), "a field needs a name", "欄位須有名稱"));
        }
        if metadata.fields[..i].iter().any(|f| f.name == field.name) {
            return Err(err(
                at("name"),
                format!("the field {:?} is described twice", field.name),
                format!("欄位「{}」重複描述", field.name),
            ));
        }
        if let Some(uri) = &field.uri {
            let absolute = url::Url::parse(uri).is_ok_and(|u| !u.cannot_be_a_base() || u.scheme() == "urn");
            if !absolute {
                return Err(err(
                    at("uri"),
                    format!("{} must be an absolute URI, such as http://schema.org/addressLocality", at("uri")),
                    format!("{} 須為完整的 URI，例如 http://schema.org/addressLocality", at("uri")),
                ));
            }
        }
        let c = &field.constraints;
        if let (Some(min), Some(max)) = (c.minimum, c.maximum)
            && min > max
        {
            return Err(err(
                at("constraints.minimum"),
                format!("minimum ({min}) is greater than maximum ({max})"),
                format!("最小值（{min}）大於最大值（{max}）"),
            ));
        }
        if let (Some(min), Some(max)) = (c.min_length, c.max_length)
            && min > max
        {
            return Err(err(
                at("constraints.min_length"),
                format!("min_length ({min}) is greater than max_length ({max})"),
                format!("最小長度（{min}）大於最大長度（{max}）"),
            ));
        }
    }
    if let Some(fee) = &metadata.fee
        && fee.kind == FeeKind::Paid
        && fee.description.as_deref().is_none_or(|d| d.trim().is_empty())
    {
        return Err(err(
            "fee.description",
            "a paid dataset says what is charged and under which rule (fee.description)",
            "付費資料集須說明收費內容與收費法令依據（fee.description）",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use tapwater_types::{Contact, Fee, FieldConstraints, FieldMetadata, TemporalCoverage};

    use super::*;

    fn param_of(metadata: DatasetMetadata) -> String {
        validate_metadata(&metadata).expect_err("should fail").param
    }

    #[test]
    fn accepts_the_fixture_and_an_empty_document() {
        validate_metadata(&crate::fixtures::dataset().metadata).unwrap();
        validate_metadata(&DatasetMetadata::default()).unwrap();
    }

    #[test]
    fn refuses_with_the_member_named() {
        let base = DatasetMetadata::default;
        let contact = |email: &str| Some(Contact { email: Some(email.into()), ..Contact::default() });
        for bad in ["wang", "@x.tw", "wang@", "a@b@c", "wang @x.tw"] {
            assert_eq!(param_of(DatasetMetadata { contact: contact(bad), ..base() }), "contact.email", "{bad}");
        }
        assert_eq!(param_of(DatasetMetadata { landing_page: Some("www.x.gov.tw".into()), ..base() }), "landing_page");
        assert_eq!(param_of(DatasetMetadata { conforms_to: Some("ftp://x.tw/a".into()), ..base() }), "conforms_to");
        assert_eq!(
            param_of(DatasetMetadata { related: vec!["https://x.tw".into(), "x".into()], ..base() }),
            "related[1]"
        );
        for bbox in [
            [121.0, 22.0, 120.0, 23.0],
            [120.0, 23.0, 121.0, 22.0],
            [120.0, 22.0, 190.0, 23.0],
            [120.0, -91.0, 121.0, 23.0],
        ] {
            assert_eq!(param_of(DatasetMetadata { spatial_bbox: Some(bbox), ..base() }), "spatial_bbox", "{bbox:?}");
        }
        let temporal =
            TemporalCoverage { start: NaiveDate::from_ymd_opt(2024, 2, 1), end: NaiveDate::from_ymd_opt(2024, 1, 1) };
        assert_eq!(param_of(DatasetMetadata { temporal: Some(temporal), ..base() }), "temporal");
        for oid in ["2", "2.16.", "2.a.3", "OID 2.16"] {
            assert_eq!(param_of(DatasetMetadata { publisher_oid: Some(oid.into()), ..base() }), "publisher_oid");
        }
        let field = |name: &str| FieldMetadata { name: name.into(), ..FieldMetadata::default() };
        assert_eq!(param_of(DatasetMetadata { fields: vec![field("a"), field(" ")], ..base() }), "fields[1].name");
        assert_eq!(param_of(DatasetMetadata { fields: vec![field("a"), field("a")], ..base() }), "fields[1].name");
        let with_uri = FieldMetadata { uri: Some("addressLocality".into()), ..field("b") };
        assert_eq!(param_of(DatasetMetadata { fields: vec![field("a"), with_uri], ..base() }), "fields[1].uri");
        let bounds = FieldMetadata {
            constraints: FieldConstraints { minimum: Some(5.0), maximum: Some(1.0), ..FieldConstraints::default() },
            ..field("a")
        };
        assert_eq!(param_of(DatasetMetadata { fields: vec![bounds], ..base() }), "fields[0].constraints.minimum");
        let lengths = FieldMetadata {
            constraints: FieldConstraints { min_length: Some(5), max_length: Some(1), ..FieldConstraints::default() },
            ..field("a")
        };
        assert_eq!(param_of(DatasetMetadata { fields: vec![lengths], ..base() }), "fields[0].constraints.min_length");
        let fee = Fee { kind: FeeKind::Paid, description: Some(" ".into()) };
        assert_eq!(param_of(DatasetMetadata { fee: Some(fee), ..base() }), "fee.description");
        let paid = Fee { kind: FeeKind::Paid, description: Some("依規費法每筆 10 元".into()) };
        validate_metadata(&DatasetMetadata { fee: Some(paid), ..base() }).unwrap();
        let error = validate_metadata(&DatasetMetadata { contact: contact("x"), ..base() }).unwrap_err();
        assert!(error.message_zh.contains("電子郵件"), "{error:?}");
    }
}
