//! Licences a dataset can be published under.

use serde::Serialize;

/// An open licence, identified by a stable id (SPDX where SPDX has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct License {
    /// Stable id used in the API and the CLI, e.g. `OGDL-Taiwan-1.0`.
    pub id: &'static str,
    /// English name.
    pub name: &'static str,
    /// Name in Traditional Chinese.
    pub name_zh: &'static str,
    /// Where the licence text lives.
    pub url: &'static str,
}

/// The licence Taiwanese government open data is released under by default (政府資料開放授權條款－第1版).
pub const DEFAULT_LICENSE: &str = "OGDL-Taiwan-1.0";

/// Every licence tapwater accepts. Ids are matched exactly.
pub const LICENSES: &[License] = &[
    License {
        id: "OGDL-Taiwan-1.0",
        name: "Open Government Data License, version 1.0",
        name_zh: "政府資料開放授權條款－第1版",
        url: "https://data.gov.tw/license",
    },
    License {
        id: "CC-BY-4.0",
        name: "Creative Commons Attribution 4.0 International",
        name_zh: "創用CC 姓名標示 4.0 國際",
        url: "https://creativecommons.org/licenses/by/4.0/",
    },
    License {
        id: "CC-BY-SA-4.0",
        name: "Creative Commons Attribution-ShareAlike 4.0 International",
        name_zh: "創用CC 姓名標示-相同方式分享 4.0 國際",
        url: "https://creativecommons.org/licenses/by-sa/4.0/",
    },
    License {
        id: "CC0-1.0",
        name: "Creative Commons Zero 1.0 Universal (public domain dedication)",
        name_zh: "創用CC 零 1.0 通用（公眾領域貢獻宣告）",
        url: "https://creativecommons.org/publicdomain/zero/1.0/",
    },
    License {
        id: "ODC-BY-1.0",
        name: "Open Data Commons Attribution License 1.0",
        name_zh: "開放資料共享姓名標示授權條款 1.0",
        url: "https://opendatacommons.org/licenses/by/1-0/",
    },
    License {
        id: "ODbL-1.0",
        name: "Open Data Commons Open Database License 1.0",
        name_zh: "開放資料共享資料庫授權條款 1.0",
        url: "https://opendatacommons.org/licenses/odbl/1-0/",
    },
    License {
        id: "PDDL-1.0",
        name: "Open Data Commons Public Domain Dedication and License 1.0",
        name_zh: "開放資料共享公眾領域貢獻與授權條款 1.0",
        url: "https://opendatacommons.org/licenses/pddl/1-0/",
    },
];

/// Looks a licence up by its exact id.
pub fn license_by_id(id: &str) -> Option<&'static License> {
    LICENSES.iter().find(|l| l.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_license_is_listed() {
        assert_eq!(license_by_id(DEFAULT_LICENSE).map(|l| l.id), Some(DEFAULT_LICENSE));
        assert!(license_by_id("ogdl-taiwan-1.0").is_none(), "ids are exact");
    }
}
