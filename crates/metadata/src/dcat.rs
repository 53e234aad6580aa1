//! DCAT-AP 3.0 (<https://semiceu.github.io/DCAT-AP/releases/3.0.0/>) of a dataset and of the catalogue.
//!
//! The graph of a dataset:
//!
//! - `<{base}/api/v1/datasets/{slug}>` a `dcat:Dataset`: `dct:identifier` (that URL; the data.gov.tw id as an
//!   `adms:identifier`), `dct:title` and `dct:description` in `zh-TW` and `en`, `dcat:keyword` (tags and
//!   categories), `dct:publisher`, `dcat:contactPoint`, `dct:accrualPeriodicity` (EU frequency vocabulary),
//!   `dct:temporal`, `dct:spatial`, `dct:issued`, `dct:modified`, `dcat:landingPage`, `dct:conformsTo`,
//!   `dct:language`, `dct:accessRights` (EU access-right vocabulary), `dct:provenance` (the declared source),
//!   `dct:relation`, `dcat:version` and, with a version, `dcat:distribution`s;
//! - the publisher `<{base}/api/v1/publishers/{slug}>` a `foaf:Agent` with `foaf:name` and its OID as
//!   `dct:identifier`;
//! - per version, four `dcat:Distribution`s `<{version URL}#csv|json|parquet|original>`, each with `dcat:accessURL`
//!   and `dcat:downloadURL`, `dct:format` (EU file-type vocabulary), `dcat:mediaType` (IANA), `dct:license`,
//!   `dct:issued`; the original also `dcat:byteSize` and an `spdx:checksum` (SHA-256);
//! - the rows API `<{dataset URL}#rows-api>` a `dcat:DataService` with `dcat:endpointURL` and
//!   `dcat:servesDataset`.
//!
//! A catalogue `<{base}/api/v1/catalog/dcat.jsonld>` a `dcat:Catalog` adds its title, description, publisher,
//! homepage, language, `dcat:dataset` and `dcat:service` links and every dataset's graph.
//!
//! Categories are written as keywords, not `dcat:theme`: DCAT-AP wants theme concepts (IRIs of a vocabulary), and
//! data.gov.tw's service categories have none.

use serde_json::Value;
use tapwater_types::{AccessLevel, Dataset, Frequency, Version, license_by_id};

use crate::rdf::{Graph, Term};
use crate::{Site, keywords, modified, non_empty, rfc3339, urls};

const FREQUENCY: &str = "http://publications.europa.eu/resource/authority/frequency/";
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";
const LANGUAGE: &str = "http://publications.europa.eu/resource/authority/language/";
const ACCESS_RIGHT: &str = "http://publications.europa.eu/resource/authority/access-right/";
const MEDIA_TYPE: &str = "https://www.iana.org/assignments/media-types/";

/// The EU frequency vocabulary's code of a frequency.
pub(crate) fn frequency_code(frequency: Frequency) -> &'static str {
    match frequency {
        Frequency::Realtime => "CONT",
        Frequency::Daily => "DAILY",
        Frequency::Weekly => "WEEKLY",
        Frequency::Monthly => "MONTHLY",
        Frequency::Quarterly => "QUARTERLY",
        Frequency::Yearly => "ANNUAL",
        Frequency::Irregular => "IRREG",
    }
}

/// The EU access-right vocabulary's code of an access level: rows anyone may read are `PUBLIC`; rows behind a
/// sign-in or an approved application are `RESTRICTED`; rows nobody may read are `NON_PUBLIC`.
pub(crate) fn access_right_code(access: AccessLevel) -> &'static str {
    match access {
        AccessLevel::Public => "PUBLIC",
        AccessLevel::Registered | AccessLevel::Application => "RESTRICTED",
        AccessLevel::Restricted => "NON_PUBLIC",
    }
}

/// The EU file-type code of a format name tapwater detects (`csv`, `xlsx` …), when the vocabulary has one.
fn file_type_code(format: &str) -> Option<&'static str> {
    Some(match format.to_ascii_lowercase().as_str() {
        "csv" => "CSV",
        "tsv" => "TSV",
        "json" => "JSON",
        "geojson" => "GEOJSON",
        "parquet" => "PARQUET",
        "xls" => "XLS",
        "xlsx" => "XLSX",
        "ods" => "ODS",
        "xml" => "XML",
        "html" | "htm" => "HTML",
        "txt" | "text" => "TXT",
        "zip" => "ZIP",
        "pdf" => "PDF",
        "shp" => "SHP",
        "kml" => "KML",
        _ => return None,
    })
}

/// The EU language code of a BCP 47 tag, for the languages Taiwanese data comes in.
fn language_code(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    Some(match primary.as_str() {
        "zh" => "ZHO",
        "en" => "ENG",
        "ja" => "JPN",
        "ko" => "KOR",
        "vi" => "VIE",
        "id" => "IND",
        "th" => "THA",
        _ => return None,
    })
}

fn vocab(base: &str, code: &str) -> Term {
    Term::Iri(format!("{base}{code}"))
}

fn date_time(at: chrono::DateTime<chrono::Utc>) -> Term {
    Term::typed(rfc3339(at), "xsd:dateTime")
}

/// A `tel:` IRI from a phone number as agencies write it (`06-2991111#1234`, `(02)2380-0791 分機 123`).
fn tel_iri(phone: &str) -> Option<Term> {
    let (main, ext) = match phone.find(['#', '分', 'x', 'X', '轉']) {
        Some(i) => (&phone[..i], &phone[i..]),
        None => (phone, ""),
    };
    let number: String = main.chars().filter(|c| c.is_ascii_digit() || matches!(c, '+' | '-')).collect();
    let ext: String = ext.chars().filter(char::is_ascii_digit).collect();
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let iri = if ext.is_empty() { format!("tel:{number}") } else { format!("tel:{number};ext={ext}") };
    Some(Term::iri(&iri))
}

/// Adds the dataset's triples; returns the dataset node and, with a version, its data service node.
fn add_dataset(graph: &mut Graph, site: &Site, dataset: &Dataset, version: Option<&Version>) -> (Term, Option<Term>) {
    let slug = dataset.slug.as_str();
    let metadata = &dataset.metadata;
    let dataset_url = urls::dataset(site, slug);
    let node = Term::iri(&dataset_url);
    graph.add_type(&node, "dcat:Dataset");
    graph.add(&node, "dct:identifier", Term::plain(dataset_url.clone()));
    if let Some(id) = non_empty(metadata.national_id.as_ref()) {
        let identifier = graph.blank();
        graph.add(&node, "adms:identifier", identifier.clone());
        graph.add_type(&identifier, "adms:Identifier");
        graph.add(&identifier, "skos:notation", Term::plain(id));
        graph.add(&identifier, "dct:creator", Term::iri("https://data.gov.tw/"));
        graph.add(&node, "foaf:page", Term::iri(&format!("https://data.gov.tw/dataset/{id}")));
    }
    graph.add(&node, "dct:title", Term::lang(dataset.title.clone(), "zh-TW"));
    if let Some(title) = non_empty(metadata.title_en.as_ref()) {
        graph.add(&node, "dct:title", Term::lang(title, "en"));
    }
    if !dataset.description.trim().is_empty() {
        graph.add(&node, "dct:description", Term::lang(dataset.description.clone(), "zh-TW"));
    }
    if let Some(description) = non_empty(metadata.description_en.as_ref()) {
        graph.add(&node, "dct:description", Term::lang(description, "en"));
    }
    for word in keywords(dataset) {
        graph.add(&node, "dcat:keyword", Term::plain(word));
    }

    if let Some(publisher) = &dataset.publisher {
        let agent = Term::iri(&urls::publisher(site, publisher.slug.as_str()));
        graph.add(&node, "dct:publisher", agent.clone());
        graph.add_type(&agent, "foaf:Agent");
        graph.add(&agent, "foaf:name", Term::lang(publisher.name.clone(), "zh-TW"));
        if let Some(oid) = non_empty(metadata.publisher_oid.as_ref()) {
            graph.add(&agent, "dct:identifier", Term::plain(oid));
        }
    }
    if let Some(contact) = &metadata.contact {
        let name = non_empty(contact.name.as_ref());
        let email = non_empty(contact.email.as_ref()).and_then(|e| Term::checked_iri(&format!("mailto:{e}")));
        let phone = non_empty(contact.phone.as_ref()).and_then(tel_iri);
        if name.is_some() || email.is_some() || phone.is_some() {
            let kind = graph.blank();
            graph.add(&node, "dcat:contactPoint", kind.clone());
            graph.add_type(&kind, "vcard:Kind");
            let name = name.map(str::to_string).or_else(|| dataset.publisher.as_ref().map(|p| p.name.clone()));
            graph.add_opt(&kind, "vcard:fn", name.map(Term::plain));
            graph.add_opt(&kind, "vcard:hasEmail", email);
            graph.add_opt(&kind, "vcard:hasTelephone", phone);
        }
    }
    if let Some(frequency) = dataset.frequency {
        graph.add(&node, "dct:accrualPeriodicity", vocab(FREQUENCY, frequency_code(frequency)));
    }
    if let Some(temporal) = &metadata.temporal
        && (temporal.start.is_some() || temporal.end.is_some())
    {
        let period = graph.blank();
        graph.add(&node, "dct:temporal", period.clone());
        graph.add_type(&period, "dct:PeriodOfTime");
        graph.add_opt(&period, "dcat:startDate", temporal.start.map(|d| Term::typed(d.to_string(), "xsd:date")));
        graph.add_opt(&period, "dcat:endDate", temporal.end.map(|d| Term::typed(d.to_string(), "xsd:date")));
    }
    let spatial = non_empty(metadata.spatial.as_ref());
    if spatial.is_some() || metadata.spatial_bbox.is_some() {
        let location = graph.blank();
        graph.add(&node, "dct:spatial", location.clone());
        graph.add_type(&location, "dct:Location");
        if let Some([w, s, e, n]) = metadata.spatial_bbox {
            let wkt = format!("POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))");
            graph.add(&location, "dcat:bbox", Term::typed(wkt, "gsp:wktLiteral"));
        }
        graph.add_opt(&location, "skos:prefLabel", spatial.map(|s| Term::lang(s, "zh-TW")));
    }
    graph.add(&node, "dct:issued", date_time(dataset.created_at));
    graph.add(&node, "dct:modified", date_time(modified(dataset, version)));
    graph.add_opt(&node, "dcat:landingPage", metadata.landing_page.as_deref().and_then(Term::checked_iri));
    graph.add(&node, "dcat:landingPage", Term::iri(&urls::page(site, slug)));
    graph.add_opt(&node, "dct:conformsTo", metadata.conforms_to.as_deref().and_then(Term::checked_iri));
    let language = metadata.language.as_deref().map_or(Some("ZHO"), language_code);
    graph.add_opt(&node, "dct:language", language.map(|code| vocab(LANGUAGE, code)));
    graph.add(&node, "dct:accessRights", vocab(ACCESS_RIGHT, access_right_code(dataset.access)));
    if let Some(source) = non_empty(metadata.source.as_ref()) {
        let provenance = graph.blank();
        graph.add(&node, "dct:provenance", provenance.clone());
        graph.add_type(&provenance, "dct:ProvenanceStatement");
        graph.add(&provenance, "rdfs:label", Term::lang(source, "zh-TW"));
    }
    for related in &metadata.related {
        graph.add_opt(&node, "dct:relation", Term::checked_iri(related));
    }

    let Some(version) = version else {
        return (node, None);
    };
    graph.add(&node, "dcat:version", Term::plain(version.seq.to_string()));
    let license = license_by_id(&dataset.license).map(|l| Term::iri(l.url));
    let version_url = urls::version(site, slug, version.seq);
    let media = |media_type: &str| Term::iri(&format!("{MEDIA_TYPE}{media_type}"));
    let original = &version.original;
    let original_media = original.media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let distributions = [
        ("csv", "CSV", Some(media("text/csv")), Some("CSV")),
        ("json", "JSON", Some(media("application/json")), Some("JSON")),
        ("parquet", "Parquet", Some(media("application/vnd.apache.parquet")), Some("PARQUET")),
        (
            "original",
            "原始檔案 Original file",
            (original_media.contains('/')).then(|| media(&original_media)),
            file_type_code(&original.format),
        ),
    ];
    for (format, label, media_type, file_type) in distributions {
        let distribution = Term::iri(&format!("{version_url}#{format}"));
        let download = Term::iri(&urls::download(site, slug, version.seq, format));
        graph.add(&node, "dcat:distribution", distribution.clone());
        graph.add_type(&distribution, "dcat:Distribution");
        graph.add(&distribution, "dct:title", Term::plain(format!("{} ({label})", dataset.title)));
        graph.add(&distribution, "dcat:accessURL", download.clone());
        graph.add(&distribution, "dcat:downloadURL", download);
        graph.add_opt(&distribution, "dct:format", file_type.map(|code| vocab(FILE_TYPE, code)));
        graph.add_opt(&distribution, "dcat:mediaType", media_type);
        graph.add_opt(&distribution, "dct:license", license.clone());
        graph.add(&distribution, "dct:issued", date_time(version.created_at));
        if format == "original" {
            graph.add(
                &distribution,
                "dcat:byteSize",
                Term::typed(original.bytes.to_string(), "xsd:nonNegativeInteger"),
            );
            if !original.sha256.is_empty() {
                let checksum = graph.blank();
                graph.add(&distribution, "spdx:checksum", checksum.clone());
                graph.add_type(&checksum, "spdx:Checksum");
                graph.add(&checksum, "spdx:algorithm", Term::iri(&crate::rdf::ns("spdx:checksumAlgorithm_sha256")));
                graph.add(
                    &checksum,
                    "spdx:checksumValue",
                    Term::typed(original.sha256.to_ascii_lowercase(), "xsd:hexBinary"),
                );
            }
        }
    }
    let service = Term::iri(&format!("{dataset_url}#rows-api"));
    graph.add_type(&service, "dcat:DataService");
    graph.add(&service, "dct:title", Term::plain(format!("{} (rows API)", dataset.title)));
    graph.add(&service, "dcat:endpointURL", Term::iri(&urls::rows(site, slug)));
    graph.add(&service, "dcat:servesDataset", node.clone());
    graph.add_opt(&service, "dct:license", license);
    graph.add(&service, "dct:accessRights", vocab(ACCESS_RIGHT, access_right_code(dataset.access)));
    (node, Some(service))
}

fn dataset_graph(site: &Site, dataset: &Dataset, version: Option<&Version>) -> Graph {
    let mut graph = Graph::default();
    add_dataset(&mut graph, site, dataset, version);
    graph
}

fn catalog_graph(site: &Site, datasets: &[(Dataset, Option<Version>)]) -> Graph {
    let mut graph = Graph::default();
    let catalog = Term::iri(&urls::catalog(site));
    graph.add_type(&catalog, "dcat:Catalog");
    graph.add(&catalog, "dct:title", Term::lang(site.title, "zh-TW"));
    if !site.title_en.trim().is_empty() {
        graph.add(&catalog, "dct:title", Term::lang(site.title_en, "en"));
    }
    graph.add(&catalog, "dct:description", Term::lang(format!("{}的開放資料目錄", site.title), "zh-TW"));
    if !site.title_en.trim().is_empty() {
        graph.add(&catalog, "dct:description", Term::lang(format!("Open data catalogue of {}", site.title_en), "en"));
    }
    let publisher = graph.blank();
    graph.add(&catalog, "dct:publisher", publisher.clone());
    graph.add_type(&publisher, "foaf:Agent");
    graph.add(&publisher, "foaf:name", Term::lang(site.publisher_name.unwrap_or(site.title), "zh-TW"));
    graph.add(&catalog, "foaf:homepage", Term::iri(&urls::home(site)));
    graph.add(&catalog, "dct:language", vocab(LANGUAGE, "ZHO"));
    if let Some(latest) = datasets.iter().map(|(d, v)| modified(d, v.as_ref())).max() {
        graph.add(&catalog, "dct:modified", date_time(latest));
    }
    for (dataset, version) in datasets {
        let (node, service) = add_dataset(&mut graph, site, dataset, version.as_ref());
        graph.add(&catalog, "dcat:dataset", node);
        if let Some(service) = service {
            graph.add(&catalog, "dcat:service", service);
        }
    }
    graph
}

/// DCAT-AP of one dataset (with its version's distributions when `version` is given) as JSON-LD with an inline
/// `@context`.
pub fn dcat_dataset_jsonld(site: &Site, dataset: &Dataset, version: Option<&Version>) -> Value {
    dataset_graph(site, dataset, version).to_jsonld()
}

/// The same graph as [`dcat_dataset_jsonld`], in Turtle.
pub fn dcat_dataset_turtle(site: &Site, dataset: &Dataset, version: Option<&Version>) -> String {
    dataset_graph(site, dataset, version).to_turtle()
}

/// The DCAT-AP catalogue of `datasets` (each with the version to describe the distributions of) as JSON-LD.
pub fn dcat_catalog_jsonld(site: &Site, datasets: &[(Dataset, Option<Version>)]) -> Value {
    catalog_graph(site, datasets).to_jsonld()
}

/// The same graph as [`dcat_catalog_jsonld`], in Turtle.
pub fn dcat_catalog_turtle(site: &Site, datasets: &[(Dataset, Option<Version>)]) -> String {
    catalog_graph(site, datasets).to_turtle()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::rdf::type_counts;

    #[test]
    fn access_levels_map_to_access_rights() {
        assert_eq!(access_right_code(AccessLevel::Public), "PUBLIC");
        assert_eq!(access_right_code(AccessLevel::Registered), "RESTRICTED");
        assert_eq!(access_right_code(AccessLevel::Application), "RESTRICTED");
        assert_eq!(access_right_code(AccessLevel::Restricted), "NON_PUBLIC");
        let mut dataset = fixtures::dataset();
        dataset.access = AccessLevel::Application;
        let ttl = dcat_dataset_turtle(&fixtures::site(), &dataset, None);
        assert!(
            ttl.contains("dct:accessRights <http://publications.europa.eu/resource/authority/access-right/RESTRICTED>"),
            "{ttl}"
        );
    }

    #[test]
    fn frequencies_map_to_the_eu_vocabulary() {
        let codes: Vec<&str> = Frequency::ALL.into_iter().map(frequency_code).collect();
        assert_eq!(codes, ["CONT", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL", "IRREG"]);
    }

    #[test]
    fn dataset_graph_has_what_dcat_ap_asks() {
        let (site, dataset, version) = (fixtures::site(), fixtures::dataset(), fixtures::version());
        let graph = dataset_graph(&site, &dataset, Some(&version));
        let counts = type_counts(&graph);
        assert_eq!(counts["dcat:Dataset"], 1);
        assert_eq!(counts["dcat:Distribution"], 4);
        assert_eq!(counts["dcat:DataService"], 1);
        let ttl = graph.to_turtle();
        for expected in [
            "<https://data.example.gov.tw/api/v1/datasets/tainan-population> a dcat:Dataset",
            "dct:title \"臺南市各區人口統計\"@zh-TW,\n        \"Population of Tainan City by district\"@en",
            "dct:description \"臺南市各行政區每月人口數，含 \\\"原鄉\\\" 註記。\\n第二行說明。\"@zh-TW",
            "dct:accrualPeriodicity <http://publications.europa.eu/resource/authority/frequency/MONTHLY>",
            "dcat:startDate \"2020-01-01\"^^xsd:date",
            "dcat:bbox \"POLYGON((120.03 22.89, 120.66 22.89, 120.66 23.41, 120.03 23.41, 120.03 22.89))\"^^gsp:wktLiteral",
            "vcard:hasEmail <mailto:wang@example.gov.tw>",
            "vcard:hasTelephone <tel:06-2991111;ext=1234>",
            "dct:identifier \"2.16.886.101.20003.20065\"",
            "dcat:downloadURL <https://data.example.gov.tw/api/v1/datasets/tainan-population/download?format=csv&_version=3>",
            "dct:format <http://publications.europa.eu/resource/authority/file-type/PARQUET>",
            "dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv>",
            "dct:license <https://data.gov.tw/license>",
            "dcat:byteSize \"1234\"^^xsd:nonNegativeInteger",
            "spdx:algorithm spdx:checksumAlgorithm_sha256",
            "dcat:endpointURL <https://data.example.gov.tw/api/v1/datasets/tainan-population/rows>",
            "dct:language <http://publications.europa.eu/resource/authority/language/ZHO>",
            "dct:issued \"2023-01-05T02:00:00Z\"^^xsd:dateTime",
            "dct:modified \"2024-03-02T01:00:00Z\"^^xsd:dateTime",
        ] {
            assert!(ttl.contains(expected), "missing {expected:?} in\n{ttl}");
        }
        let doc = graph.to_jsonld();
        assert_eq!(doc["@context"]["dcat"], "http://www.w3.org/ns/dcat#");
        let node = &doc["@graph"][0];
        assert_eq!(node["@type"][0], "dcat:Dataset");
        assert_eq!(node["dct:title"][0]["@language"], "zh-TW");
    }

    #[test]
    fn no_version_no_distributions() {
        let graph = dataset_graph(&fixtures::site(), &fixtures::dataset(), None);
        let counts = type_counts(&graph);
        assert!(!counts.contains_key("dcat:Distribution"));
        assert!(!counts.contains_key("dcat:DataService"));
    }

    #[test]
    fn catalog_links_every_dataset() {
        let mut other = fixtures::dataset();
        other.slug = tapwater_types::Slug::parse("tainan-districts").unwrap();
        let datasets = vec![(fixtures::dataset(), Some(fixtures::version())), (other, None)];
        let graph = catalog_graph(&fixtures::site(), &datasets);
        let counts = type_counts(&graph);
        assert_eq!(counts["dcat:Catalog"], 1);
        assert_eq!(counts["dcat:Dataset"], 2);
        assert_eq!(counts["dcat:Distribution"], 4);
        let ttl = graph.to_turtle();
        assert!(ttl.contains("<https://data.example.gov.tw/api/v1/catalog/dcat.jsonld> a dcat:Catalog"), "{ttl}");
        assert!(ttl.contains("foaf:homepage <https://data.example.gov.tw/>"), "{ttl}");
        assert!(ttl.contains("dcat:service <https://data.example.gov.tw/api/v1/datasets/tainan-population#rows-api>"));
    }

    #[test]
    fn phones_become_tel_iris() {
        assert_eq!(tel_iri("(02)2380-0791 分機 123"), Some(Term::Iri("tel:022380-0791;ext=123".into())));
        assert_eq!(tel_iri("+886-6-2991111"), Some(Term::Iri("tel:+886-6-2991111".into())));
        assert_eq!(tel_iri("請洽總機"), None);
    }
}
