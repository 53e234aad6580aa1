//! Demo datasets: real files published by Taiwanese agencies, bundled in the binary (see `demo/PROVENANCE.md`),
//! so `tapwater serve --demo` shows something useful on a fresh machine.

use std::sync::Arc;

use tapwater_types::{Actor, DatasetInput};

use crate::{AppError, PublishOptions, Tapwater};

/// One bundled dataset.
pub struct DemoDataset {
    pub slug: &'static str,
    pub filename: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub publisher: &'static str,
    pub publisher_name: &'static str,
    pub frequency: &'static str,
    pub tags: &'static [&'static str],
    pub bytes: &'static [u8],
    /// The dataset's metadata document (field descriptions, coverage …), when the demo shows a well-described one.
    pub metadata: Option<&'static str>,
}

pub const DEMO_DATASETS: &[DemoDataset] = &[
    DemoDataset {
        slug: "tainan-dengue-spraying-2015-08",
        filename: "tainan_dengue_insecticide_spraying_2015-08.csv",
        title: "臺南市登革熱化學防治（噴藥）執行地點 2015年8月 / Tainan dengue insecticide spraying, August 2015",
        description: "臺南市政府公布之登革熱化學防治（噴藥）執行地點、日期、集合時間與座標。\
                      Where and when Tainan sprayed insecticide against dengue in August 2015, with WGS84 coordinates.",
        publisher: "tainan-city",
        publisher_name: "臺南市政府 Tainan City Government",
        frequency: "irregular",
        tags: &["登革熱", "dengue", "臺南市", "公共衛生"],
        bytes: include_bytes!("../demo/tainan_dengue_insecticide_spraying_2015-08.csv"),
        metadata: None,
    },
    DemoDataset {
        slug: "moi-village-vital-statistics-2024-10",
        filename: "moi_village_births_deaths_marriages_2024-10.csv",
        title: "村里別出生、死亡、結婚、離婚登記數 113年10月 / Births, deaths, marriages and divorces by village, October 2024",
        description: "內政部戶政司按村里別統計之出生、死亡、結婚（異性、同性）與離婚登記數。\
                      Registered births, deaths, marriages and divorces per village, from the Ministry of the Interior.",
        publisher: "moi-household-registration",
        publisher_name: "內政部戶政司 Department of Household Registration, MOI",
        frequency: "monthly",
        tags: &["人口", "population", "村里", "戶政"],
        bytes: include_bytes!("../demo/moi_village_births_deaths_marriages_2024-10.csv"),
        // Described in full, to show what a dataset that earns the gold badge looks like.
        metadata: Some(include_str!("../demo/moi_village_births_deaths_marriages_2024-10.metadata.json")),
    },
    DemoDataset {
        slug: "tainan-apartment-committees",
        filename: "tainan_apartment_management_committees_roc_slash_dates.csv",
        title: "臺南市公寓大廈管理組織報備資料 / Registered apartment management committees in Tainan",
        description: "臺南市政府工務局受理報備之公寓大廈管理委員會：核准文號、日期、地址、棟數與樓層。\
                      Apartment-building management committees registered with Tainan's Public Works Bureau.",
        publisher: "tainan-city",
        publisher_name: "臺南市政府 Tainan City Government",
        frequency: "irregular",
        tags: &["公寓大廈", "housing", "臺南市"],
        bytes: include_bytes!("../demo/tainan_apartment_management_committees_roc_slash_dates.csv"),
        metadata: None,
    },
];

impl Tapwater {
    /// Publishes every demo dataset that is not there yet. Returns the slugs published now.
    pub async fn publish_demo(&self, actor: &Actor) -> Result<Vec<String>, AppError> {
        let mut published = Vec::new();
        for demo in DEMO_DATASETS {
            if self.version(actor, demo.slug, None).await.is_ok() {
                continue;
            }
            let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(demo.bytes))]);
            let upload = self.stage_upload(demo.filename, body).await?;
            let input = DatasetInput {
                slug: demo.slug.to_string(),
                title: Some(demo.title.to_string()),
                description: Some(demo.description.to_string()),
                publisher: Some(demo.publisher.to_string()),
                publisher_name: Some(demo.publisher_name.to_string()),
                license: None,
                frequency: Some(demo.frequency.to_string()),
                tags: demo.tags.iter().map(|t| t.to_string()).collect(),
                access: None,
                draft: None,
            };
            let options = PublishOptions { create_if_missing: Some(input), ..PublishOptions::default() };
            self.publish_version(actor, demo.slug, upload, options, Arc::new(|_| {})).await?;
            if let Some(text) = demo.metadata {
                let metadata = serde_json::from_str(text)
                    .map_err(|e| AppError::Internal(format!("demo metadata of {}: {e}", demo.slug)))?;
                self.set_metadata(actor, demo.slug, metadata).await?;
            }
            published.push(demo.slug.to_string());
        }
        Ok(published)
    }
}
