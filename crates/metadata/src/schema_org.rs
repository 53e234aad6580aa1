//! schema.org `Dataset` (<https://schema.org/Dataset>) as JSON-LD, the form Google Dataset Search reads
//! (<https://developers.google.com/search/docs/appearance/structured-data/dataset>).

use serde_json::{Map, Value, json};
use tapwater_types::{Dataset, FeeKind, Version, license_by_id};

use crate::{Site, field_description, field_metadata, field_unit, keywords, modified, non_empty, rfc3339, urls};

/// The schema.org `Dataset` of a dataset; with a version, its downloads and measured variables.
pub fn schema_org(site: &Site, dataset: &Dataset, version: Option<&Version>) -> Value {
    let slug = dataset.slug.as_str();
    let metadata = &dataset.metadata;
    let url = urls::dataset(site, slug);
    let mut out = Map::new();
    out.insert("@context".into(), json!("https://schema.org"));
    out.insert("@type".into(), json!("Dataset"));
    out.insert("@id".into(), json!(url));
    out.insert("name".into(), json!(dataset.title));
    if let Some(title) = non_empty(metadata.title_en.as_ref()) {
        out.insert("alternateName".into(), json!(title));
    }
    // Google asks for a description of 50 to 5000 characters; the title stands in when there is none.
    let description = match (dataset.description.trim(), non_empty(metadata.description_en.as_ref())) {
        ("", None) => dataset.title.clone(),
        ("", Some(en)) => en.to_string(),
        (zh, _) => zh.to_string(),
    };
    out.insert("description".into(), json!(description));
    out.insert("url".into(), json!(urls::page(site, slug)));
    let mut identifiers = vec![json!(url)];
    if let Some(id) = non_empty(metadata.national_id.as_ref()) {
        identifiers.push(json!({
            "@type": "PropertyValue",
            "propertyID": "data.gov.tw",
            "value": id,
            "url": format!("https://data.gov.tw/dataset/{id}"),
        }));
    }
    out.insert("identifier".into(), Value::Array(identifiers));
    let words = keywords(dataset);
    if !words.is_empty() {
        out.insert("keywords".into(), json!(words));
    }
    if let Some(license) = license_by_id(&dataset.license) {
        out.insert("license".into(), json!(license.url));
    }
    let free = metadata.fee.as_ref().is_none_or(|fee| fee.kind == FeeKind::Free);
    out.insert("isAccessibleForFree".into(), json!(free));
    out.insert("inLanguage".into(), json!(metadata.language.as_deref().unwrap_or("zh-TW")));
    if let Some(publisher) = &dataset.publisher {
        let mut organization = json!({
            "@type": "Organization",
            "name": publisher.name,
            "url": urls::publisher(site, publisher.slug.as_str()),
        });
        if let Some(contact) = &metadata.contact {
            let mut point = Map::new();
            point.insert("@type".into(), json!("ContactPoint"));
            point.insert("contactType".into(), json!("data steward"));
            if let Some(name) = non_empty(contact.name.as_ref()) {
                point.insert("name".into(), json!(name));
            }
            if let Some(email) = non_empty(contact.email.as_ref()) {
                point.insert("email".into(), json!(email));
            }
            if let Some(phone) = non_empty(contact.phone.as_ref()) {
                point.insert("telephone".into(), json!(phone));
            }
            organization["contactPoint"] = Value::Object(point);
        }
        out.insert("creator".into(), organization.clone());
        out.insert("publisher".into(), organization);
    }
    out.insert("datePublished".into(), json!(rfc3339(dataset.created_at)));
    out.insert("dateModified".into(), json!(rfc3339(modified(dataset, version))));
    if let Some(temporal) = &metadata.temporal {
        let side = |d: Option<chrono::NaiveDate>| d.map_or("..".to_string(), |d| d.to_string());
        if temporal.start.is_some() || temporal.end.is_some() {
            out.insert("temporalCoverage".into(), json!(format!("{}/{}", side(temporal.start), side(temporal.end))));
        }
    }
    let spatial = non_empty(metadata.spatial.as_ref());
    if spatial.is_some() || metadata.spatial_bbox.is_some() {
        let mut place = Map::new();
        place.insert("@type".into(), json!("Place"));
        if let Some(name) = spatial {
            place.insert("name".into(), json!(name));
        }
        if let Some([w, s, e, n]) = metadata.spatial_bbox {
            // schema.org's GeoShape box is "south west north east" (lat lon lat lon).
            place.insert("geo".into(), json!({ "@type": "GeoShape", "box": format!("{s} {w} {n} {e}") }));
        }
        out.insert("spatialCoverage".into(), Value::Object(place));
    }
    if let Some(page) = non_empty(metadata.landing_page.as_ref()) {
        out.insert("sameAs".into(), json!(page));
    }
    if let Some(source) = non_empty(metadata.source.as_ref()) {
        out.insert("isBasedOn".into(), json!(source));
    }
    if let Some(version) = version {
        out.insert("version".into(), json!(version.seq.to_string()));
        let download = |format: &str, media: &str| {
            json!({
                "@type": "DataDownload",
                "encodingFormat": media,
                "contentUrl": urls::download(site, slug, version.seq, format),
            })
        };
        let mut original = download("original", &version.original.media_type);
        original["contentSize"] = json!(format!("{} B", version.original.bytes));
        original["name"] = json!(version.original.filename);
        out.insert(
            "distribution".into(),
            json!([
                download("csv", "text/csv"),
                download("json", "application/json"),
                download("parquet", "application/vnd.apache.parquet"),
                original,
            ]),
        );
        let variables: Vec<Value> = version
            .schema
            .fields
            .iter()
            .map(|field| {
                let mut variable = Map::new();
                variable.insert("@type".into(), json!("PropertyValue"));
                variable.insert("name".into(), json!(field.name));
                if let Some(description) = field_description(metadata, field) {
                    variable.insert("description".into(), json!(description));
                }
                if let Some(unit) = field_unit(metadata, field) {
                    variable.insert("unitText".into(), json!(unit));
                }
                if let Some(uri) = field_metadata(metadata, field).and_then(|m| non_empty(m.uri.as_ref())) {
                    variable.insert("propertyID".into(), json!(uri));
                }
                Value::Object(variable)
            })
            .collect();
        out.insert("variableMeasured".into(), Value::Array(variables));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn dataset_for_search_engines() {
        let doc = schema_org(&fixtures::site(), &fixtures::dataset(), Some(&fixtures::version()));
        assert_eq!(doc["@type"], "Dataset");
        assert_eq!(doc["alternateName"], "Population of Tainan City by district");
        assert_eq!(doc["temporalCoverage"], "2020-01-01/2024-02-29");
        assert_eq!(doc["spatialCoverage"]["geo"]["box"], "22.89 120.03 23.41 120.66");
        assert_eq!(doc["isAccessibleForFree"], true);
        assert_eq!(doc["license"], "https://data.gov.tw/license");
        assert_eq!(doc["distribution"][0]["encodingFormat"], "text/csv");
        assert_eq!(doc["variableMeasured"][4]["unitText"], "人");
        assert_eq!(doc["variableMeasured"][2]["description"], "行政區名稱");
        assert_eq!(doc["creator"]["name"], "臺南市政府民政局");
    }
}
