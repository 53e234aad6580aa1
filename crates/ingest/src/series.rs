//! Header mapping for a yearly series: several files of one table whose column names drift from year to year
//! (`傷者人數` one year, `受傷人數` the next; `Latitude(緯度)` becoming `緯度座標`).
//!
//! [`propose_mapping`] reads the header of each file through the same shaping as an ingest (title rows skipped,
//! two-row headers merged, machine-name rows kept as aliases) and groups the columns of all files into one table.
//! The **newest file is the last one given** (inputs are passed oldest first, the order they are merged in), and
//! its names are the ones users will see. Each older file is matched against the group so far by, in order of
//! trust:
//!
//! 1. identical names (100);
//! 2. a shared machine name (`village` under both `村里` and `村里名稱`) (95);
//! 3. names equal once normalized: trimmed, full-width → ASCII, spaces and separators dropped, brackets dropped
//!    (their content kept), 臺 → 台, ASCII lower-cased (90);
//! 4. a small built-in synonym table of drifts seen in real agency files (80);
//! 5. one name inside the other (`緯度` in `緯度座標`, a bracketed part counting as a name) — only when exactly one
//!    candidate exists on both sides, so `博畢` is never matched to one of `博畢_男` / `博畢_女` (70);
//! 6. the same position with a similar name (character overlap ≥ 50 %) (60), or the same position in two files
//!    with the same number of columns (40) — a guess, shown as such.
//!
//! The result is a proposal with a confidence and a reason per column; [`renames_of`] turns it into a pipeline
//! `renames` map the publisher confirms (`tapwater check a.csv b.csv --write-pipeline series.toml`).
//!
//! What it does not do: look at the values (a column whose meaning changed under the same name is merged, as an
//! ingest would), or apply anything — the mapping is applied only once it is in the dataset's pipeline.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::{IngestError, IngestOptions, InputFile, open_table, prepare};

/// Rows read per file to learn its columns: a grid knows its header once shaped, but a JSON or XML source
/// discovers keys as it reads (sparse keys appear late), so a sample is read.
const SAMPLE_ROWS: usize = 1_000;

/// Confidence of each way of matching, 0–100 (see the module doc).
const IDENTICAL: u8 = 100;
const MACHINE_NAME: u8 = 95;
const NORMALIZED: u8 = 90;
const SYNONYM: u8 = 80;
const CONTAINED: u8 = 70;
const POSITION_SIMILAR: u8 = 60;
const POSITION_ONLY: u8 = 40;

/// Groups of names agencies use for the same column across years. Each pair was seen in real files (the
/// fixtures' PROVENANCE.md names them) or is a documented renaming; a group is kept small because a wrong synonym
/// merges two different columns.
const SYNONYMS: &[&[&str]] = &[
    // NPA accident statistics: 傷者人數 (older) / 受傷人數; 死者人數 / 死亡人數.
    &["受傷人數", "傷者人數", "受傷人數合計"],
    &["死亡人數", "死者人數", "死亡人數合計"],
    // MOI village statistics: 資料年度 (2013) / 統計年 (2015) / 統計年度; 統計年月 / 資料年月.
    &["資料年度", "統計年", "統計年度", "年度"],
    &["統計年月", "資料年月", "年月"],
    // Village names: 村里 / 村里名稱 / 村里別 / 里別.
    &["村里", "村里名稱", "村里別", "里別"],
    // Districts: 區別 (Tainan) / 行政區 / 區域別 / 鄉鎮市區.
    &["區別", "行政區", "行政區域", "鄉鎮市區"],
    // Coordinates: Latitude(緯度) / 緯度座標 / 緯度; Longitude(經度) / 經度座標 / 經度; TWD97 names.
    &["緯度", "緯度座標", "latitude", "lat", "wgs84緯度", "wgs84lat"],
    &["經度", "經度座標", "longitude", "lon", "lng", "wgs84經度", "wgs84lon"],
    // Addresses and phone numbers.
    &["地址", "住址", "地點地址"],
    &["電話", "聯絡電話", "連絡電話"],
    // Row numbers.
    &["編號", "序號", "項次"],
];

/// The columns one file holds, as shaping found them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileHeader {
    /// The file's name as published.
    pub file: String,
    pub columns: Vec<String>,
    /// Other names of each column (the machine-name row), index-aligned with `columns`.
    pub aliases: Vec<Vec<String>>,
}

/// One column of the merged table and where it comes from in each file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnProposal {
    /// The column's name in the merged table: the newest file's name for it (or, for a column only older files
    /// have, the newest name it had).
    pub target: String,
    /// Per file, in input order, the name the column has there (`None`: the file does not have it).
    pub sources: Vec<Option<String>>,
    /// 0–100: how sure tapwater is that these names are one column (the weakest match of the group).
    pub confidence: u8,
    /// Why, in a few words (`identical`, `normalized`, `synonym`, `machine_name`, `contained`, `position` …).
    pub reason: String,
}

impl ColumnProposal {
    /// Whether every file that has the column calls it by the target name (nothing to rename).
    pub fn is_identity(&self) -> bool {
        self.sources.iter().flatten().all(|s| *s == self.target)
    }
}

/// Reads the header of each input (shaped exactly as an ingest would) and proposes how their columns line up.
/// Errors name the file.
pub fn propose_mapping(inputs: &[InputFile], options: &IngestOptions) -> Result<Vec<ColumnProposal>, IngestError> {
    let mut headers = Vec::with_capacity(inputs.len());
    for input in inputs {
        headers.push(read_header(input, options).map_err(|e| e.in_file(&input.name))?);
    }
    Ok(propose_from_headers(&headers))
}

/// The header of one file, after shaping, with a sample read so record sources know their keys.
pub fn read_header(input: &InputFile, options: &IngestOptions) -> Result<FileHeader, IngestError> {
    let prepared = prepare(input, options)?;
    let mut source = open_table(&prepared, options, true, None)?;
    for _ in 0..SAMPLE_ROWS {
        if source.next_row()?.is_none() {
            break;
        }
    }
    let columns = source.headers().to_vec();
    let mut aliases = source.aliases().to_vec();
    aliases.resize(columns.len(), Vec::new());
    Ok(FileHeader { file: input.name.clone(), columns, aliases })
}

/// The pipeline `renames` of a proposal: each older name → its target, for proposals at least `min_confidence`
/// sure. A name that is also a column of the newest file is never renamed (it would rename that column too: renames
/// apply to every file), and a name claimed by two groups keeps the surer one.
pub fn renames_of(proposals: &[ColumnProposal], min_confidence: u8) -> BTreeMap<String, String> {
    let newest: HashSet<&str> = proposals.iter().filter_map(|p| p.sources.last().and_then(|s| s.as_deref())).collect();
    let mut sorted: Vec<&ColumnProposal> = proposals.iter().filter(|p| p.confidence >= min_confidence).collect();
    sorted.sort_by_key(|p| std::cmp::Reverse(p.confidence));
    let mut renames = BTreeMap::new();
    for proposal in sorted {
        for source in proposal.sources.iter().flatten() {
            if *source != proposal.target && !newest.contains(source.as_str()) {
                renames.entry(source.clone()).or_insert_with(|| proposal.target.clone());
            }
        }
    }
    renames
}

/// A column of the merged table while it is being built: every name it is known by so far.
struct Group {
    target: String,
    sources: Vec<Option<String>>,
    /// Published names and machine names of its members.
    names: Vec<String>,
    /// Positions of its members in their files (for the position rules).
    positions: Vec<Option<usize>>,
    confidence: u8,
    reason: &'static str,
}

/// Groups the columns of several files (oldest first; the last is the newest) into one table.
pub fn propose_from_headers(headers: &[FileHeader]) -> Vec<ColumnProposal> {
    let files = headers.len();
    let Some(newest) = headers.last() else { return Vec::new() };
    let mut groups: Vec<Group> = newest
        .columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut sources = vec![None; files];
            sources[files - 1] = Some(name.clone());
            let mut positions = vec![None; files];
            positions[files - 1] = Some(i);
            let mut names = vec![name.clone()];
            names.extend(newest.aliases.get(i).into_iter().flatten().cloned());
            Group { target: name.clone(), sources, names, positions, confidence: IDENTICAL, reason: "identical" }
        })
        .collect();
    let newest_width = newest.columns.len();

    // Older files, newest first, so a name that drifted twice is found through the intermediate one.
    for (f, header) in headers.iter().enumerate().rev().skip(1) {
        let mut free: Vec<usize> = (0..header.columns.len()).collect();
        let open = |groups: &[Group], g: usize| groups[g].sources[f].is_none();
        let assign = |groups: &mut Vec<Group>, free: &mut Vec<usize>, g: usize, c: usize, conf: u8, why| {
            let group = &mut groups[g];
            group.sources[f] = Some(header.columns[c].clone());
            group.positions[f] = Some(c);
            group.names.push(header.columns[c].clone());
            group.names.extend(header.aliases.get(c).into_iter().flatten().cloned());
            if conf < group.confidence {
                group.confidence = conf;
                group.reason = why;
            }
            free.retain(|&x| x != c);
        };

        // Rules 1–4: one-to-one equalities, tried from the strictest.
        type Key = fn(&str) -> Vec<String>;
        let rules: [(u8, &'static str, Key); 4] = [
            (IDENTICAL, "identical", |s| vec![s.to_string()]),
            (MACHINE_NAME, "machine_name", |s| vec![s.to_string()]),
            (NORMALIZED, "normalized", |s| vec![normalize(s)]),
            (SYNONYM, "synonym", |s| synonym_keys(s)),
        ];
        for (conf, why, key) in rules {
            for c in free.clone() {
                let mut names = vec![header.columns[c].clone()];
                if why == "machine_name" {
                    names = header.aliases.get(c).cloned().unwrap_or_default();
                    names.push(header.columns[c].clone());
                }
                let keys: HashSet<String> = names.iter().flat_map(|n| key(n)).filter(|k| !k.is_empty()).collect();
                let found = (0..groups.len()).find(|&g| {
                    open(&groups, g)
                        && match why {
                            // Identical: the target or a member's published name, never an alias.
                            "identical" => groups[g].sources.iter().flatten().any(|s| keys.contains(s)),
                            "machine_name" => groups[g].names.iter().any(|n| keys.contains(n)),
                            _ => groups[g].names.iter().flat_map(|n| key(n)).any(|k| keys.contains(&k)),
                        }
                });
                if let Some(g) = found {
                    assign(&mut groups, &mut free, g, c, conf, why);
                }
            }
        }

        // Rule 5: containment, only when unambiguous on both sides.
        let contains = |a: &str, b: &str| {
            let (short, long) = if a.chars().count() <= b.chars().count() { (a, b) } else { (b, a) };
            let (s, l) = (short.chars().count(), long.chars().count());
            s >= 2 && 2 * s >= l && long.contains(short)
        };
        let related = |groups: &[Group], g: usize, c: usize| {
            let mine = name_parts(&header.columns[c]);
            groups[g].names.iter().flat_map(|n| name_parts(n)).any(|theirs| mine.iter().any(|m| contains(m, &theirs)))
        };
        for c in free.clone() {
            let candidates: Vec<usize> =
                (0..groups.len()).filter(|&g| open(&groups, g) && related(&groups, g, c)).collect();
            if let [g] = candidates[..] {
                let rivals = free.iter().filter(|&&other| related(&groups, g, other)).count();
                if rivals == 1 {
                    assign(&mut groups, &mut free, g, c, CONTAINED, "contained");
                }
            }
        }

        // Rule 6: same position (relative to the newest file's layout).
        for c in free.clone() {
            let Some(g) = (0..groups.len()).find(|&g| open(&groups, g) && groups[g].positions[files - 1] == Some(c))
            else {
                continue;
            };
            let similar = groups[g].names.iter().any(|n| overlap(&normalize(n), &normalize(&header.columns[c])) >= 0.5);
            if similar {
                assign(&mut groups, &mut free, g, c, POSITION_SIMILAR, "position_similar");
            } else if header.columns.len() == newest_width {
                assign(&mut groups, &mut free, g, c, POSITION_ONLY, "position");
            }
        }

        // Whatever is left is a column only older files have: a group of its own.
        for c in free {
            let mut sources = vec![None; files];
            sources[f] = Some(header.columns[c].clone());
            let mut positions = vec![None; files];
            positions[f] = Some(c);
            let mut names = vec![header.columns[c].clone()];
            names.extend(header.aliases.get(c).into_iter().flatten().cloned());
            groups.push(Group {
                target: header.columns[c].clone(),
                sources,
                names,
                positions,
                confidence: IDENTICAL,
                reason: "only_in_older_files",
            });
        }
    }

    groups
        .into_iter()
        .map(|g| {
            let reason = match g.reason {
                "identical" if g.sources.iter().filter(|s| s.is_some()).count() < files => "missing_in_some_files",
                other => other,
            };
            ColumnProposal { target: g.target, sources: g.sources, confidence: g.confidence, reason: reason.into() }
        })
        .collect()
}

/// A name made comparable: trimmed, full-width forms → ASCII, whitespace and separators (`-`, `_`, `/`, `・`)
/// dropped, bracket characters dropped (content kept), 臺 → 台 (both are official; agencies switch), ASCII
/// lower-cased.
pub fn normalize(name: &str) -> String {
    name.chars()
        .map(fullwidth_to_ascii)
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(c, '-' | '_' | '/' | '・' | '·' | '.' | '(' | ')' | '[' | ']' | '{' | '}' | '【' | '】')
                && !matches!(c, '「' | '」' | '〔' | '〕' | '〈' | '〉' | '《' | '》' | '—' | '–')
        })
        .map(|c| if c == '臺' { '台' } else { c.to_ascii_lowercase() })
        .collect()
}

/// The name and, when it has a bracketed part (`Latitude(緯度)`), the part outside and the part inside, each
/// normalized: agencies often write one language outside the brackets and the other inside.
fn name_parts(name: &str) -> Vec<String> {
    let ascii: String = name.chars().map(fullwidth_to_ascii).collect();
    let mut parts = vec![normalize(&ascii)];
    if let (Some(open), Some(close)) = (ascii.find(['(', '[']), ascii.rfind([')', ']']))
        && open < close
    {
        let inside = normalize(&ascii[open + 1..close]);
        let outside = normalize(&format!("{}{}", &ascii[..open], &ascii[close + 1..]));
        parts.extend([inside, outside].into_iter().filter(|p| !p.is_empty()));
    }
    parts
}

/// Keys under which a name is found in the synonym table: the group's index for each part of the name that is a
/// member.
fn synonym_keys(name: &str) -> Vec<String> {
    let parts = name_parts(name);
    SYNONYMS
        .iter()
        .enumerate()
        .filter(|(_, group)| group.iter().any(|member| parts.iter().any(|p| p == &normalize(member))))
        .map(|(i, _)| format!("synonym#{i}"))
        .collect()
}

/// Share of distinct characters two names have in common (Jaccard index of their character sets).
fn overlap(a: &str, b: &str) -> f64 {
    let a: HashSet<char> = a.chars().collect();
    let b: HashSet<char> = b.chars().collect();
    let union = a.union(&b).count();
    if union == 0 { 0.0 } else { a.intersection(&b).count() as f64 / union as f64 }
}

/// Full-width ASCII variants (U+FF01–U+FF5E) → ASCII; the ideographic space → a space.
fn fullwidth_to_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(file: &str, columns: &[&str]) -> FileHeader {
        FileHeader {
            file: file.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            aliases: vec![Vec::new(); columns.len()],
        }
    }

    fn find<'a>(proposals: &'a [ColumnProposal], target: &str) -> &'a ColumnProposal {
        proposals.iter().find(|p| p.target == target).unwrap_or_else(|| panic!("no {target} in {proposals:#?}"))
    }

    #[test]
    fn normalize_folds_width_spaces_brackets_and_tai() {
        assert_eq!(normalize(" 臺北市（人口） "), "台北市人口");
        assert_eq!(normalize("ＰＭ２．５"), "pm25");
        assert_eq!(normalize("出生數-男"), normalize("出生數_男"));
        assert_eq!(normalize("北　區"), "北區");
    }

    #[test]
    fn name_parts_split_bracketed_translations() {
        assert_eq!(name_parts("Latitude(緯度)"), vec!["latitude緯度", "緯度", "latitude"]);
        assert_eq!(name_parts("人數"), vec!["人數"]);
    }

    #[test]
    fn synonyms_and_identical_names_group_across_years() {
        let proposals = propose_from_headers(&[
            header("102.csv", &["發生時間", "傷者人數", "死者人數"]),
            header("105.csv", &["發生時間", "受傷人數", "死亡人數"]),
        ]);
        assert_eq!(proposals.len(), 3);
        let injured = find(&proposals, "受傷人數");
        assert_eq!(injured.sources, vec![Some("傷者人數".to_string()), Some("受傷人數".to_string())]);
        assert_eq!(injured.reason, "synonym");
        assert_eq!(injured.confidence, SYNONYM);
        assert_eq!(find(&proposals, "發生時間").confidence, 100);
        let renames = renames_of(&proposals, 0);
        assert_eq!(renames.get("傷者人數").map(String::as_str), Some("受傷人數"));
        assert_eq!(renames.get("死者人數").map(String::as_str), Some("死亡人數"));
        assert!(!renames.contains_key("發生時間"));
    }

    #[test]
    fn tainan_dengue_drift_is_proposed_with_honest_confidence() {
        // The two releases' headers as published (Big5 files, decoded).
        let proposals = propose_from_headers(&[
            header("1040826.csv", &["編號", "發病日", "區別", "里別", "道路名稱", "Latitude(緯度)", "Longitude(經度)"]),
            header("0829.csv", &["編號", "確診日期", "區別", "里別", "道路名稱", "緯度座標", "經度座標"]),
        ]);
        assert_eq!(proposals.len(), 7, "{proposals:#?}");
        let latitude = find(&proposals, "緯度座標");
        assert_eq!(latitude.sources[0].as_deref(), Some("Latitude(緯度)"));
        assert!(latitude.confidence >= CONTAINED, "{latitude:?}");
        assert_eq!(find(&proposals, "經度座標").sources[0].as_deref(), Some("Longitude(經度)"));
        // Onset date vs confirmation date: only the position says so — proposed, but as a guess.
        let date = find(&proposals, "確診日期");
        assert_eq!(date.sources[0].as_deref(), Some("發病日"));
        assert_eq!(date.confidence, POSITION_ONLY);
        assert_eq!(date.reason, "position");
        let renames = renames_of(&proposals, 0);
        assert_eq!(renames.len(), 3, "{renames:?}");
        assert!(!renames_of(&proposals, 50).contains_key("發病日"));
    }

    #[test]
    fn containment_is_refused_when_ambiguous() {
        // 2013 has totals per level (博畢); 2015 splits them by sex (博畢_男, 博畢_女): not the same column.
        let proposals = propose_from_headers(&[
            header("102.csv", &["資料年度", "村里名稱", "博畢"]),
            header("104.csv", &["統計年", "村里名稱", "總計", "博畢_男", "博畢_女"]),
        ]);
        assert_eq!(find(&proposals, "統計年").sources[0].as_deref(), Some("資料年度"));
        assert_eq!(find(&proposals, "博畢_男").sources[0], None);
        let total = find(&proposals, "博畢");
        assert_eq!(total.reason, "only_in_older_files");
        assert_eq!(total.sources, vec![Some("博畢".to_string()), None]);
        assert_eq!(proposals.len(), 6);
    }

    #[test]
    fn machine_names_link_renamed_columns_through_an_intermediate_file() {
        let mut y2016 = header("2016.csv", &["統計年月", "村里"]);
        y2016.aliases = vec![vec!["statistic_yyymm".into()], vec!["village".into()]];
        let mut y2020 = header("2020.csv", &["統計年月", "村里名稱"]);
        y2020.aliases = vec![vec!["statistic_yyymm".into()], vec!["village".into()]];
        let y2024 = header("2024.csv", &["統計年月", "村里名稱"]);
        let proposals = propose_from_headers(&[y2016, y2020, y2024]);
        let village = find(&proposals, "村里名稱");
        assert_eq!(village.sources[0].as_deref(), Some("村里"));
        assert_eq!(proposals.len(), 2);
    }

    // ---------------------------------------------------------------------------------------------- real files

    fn fixture(name: &str) -> InputFile {
        InputFile::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name))
    }

    #[test]
    fn real_npa_series_groups_the_shared_columns() {
        let inputs =
            ["roc102_2013", "roc105_2016", "2018"].map(|y| fixture(&format!("npa_a1_traffic_accidents_{y}.csv")));
        let proposals = propose_mapping(&inputs, &IngestOptions::default()).unwrap();
        // 2013 and 2016 share their 4 columns; 2018 keeps 3 of them among its 50 and drops 車種.
        let place = find(&proposals, "發生地點");
        assert_eq!(place.sources.iter().flatten().count(), 3);
        assert_eq!(place.confidence, 100);
        let vehicles = find(&proposals, "車種");
        assert_eq!(vehicles.sources[2], None);
        assert_eq!(vehicles.sources[0].as_deref(), Some("車種"));
        assert!(proposals.len() >= 51, "{}", proposals.len());
        assert!(renames_of(&proposals, 0).is_empty(), "nothing to rename: {:?}", renames_of(&proposals, 0));
    }

    #[test]
    fn real_moi_village_series_maps_village_names() {
        let inputs = ["2014-04", "2016-04", "2020-10", "2024-10"]
            .map(|m| fixture(&format!("moi_village_births_deaths_marriages_{m}.csv")));
        let proposals = propose_mapping(&inputs, &IngestOptions::default()).unwrap();
        let village = find(&proposals, "村里名稱");
        assert_eq!(village.sources[0].as_deref(), Some("村里"), "{village:?}");
        assert_eq!(village.sources[3].as_deref(), Some("村里名稱"));
        assert_eq!(find(&proposals, "統計年月").confidence, 100);
        let renames = renames_of(&proposals, 50);
        assert_eq!(renames.get("村里").map(String::as_str), Some("村里名稱"));
    }

    #[test]
    fn real_tainan_dengue_releases_map_drifting_headers() {
        let inputs = [fixture("tainan_dengue_cases_roc1040826_big5.csv"), fixture("tainan_dengue_cases_0829_big5.csv")];
        let proposals = propose_mapping(&inputs, &IngestOptions::default()).unwrap();
        let renames = renames_of(&proposals, 0);
        assert_eq!(renames.get("發病日").map(String::as_str), Some("確診日期"), "{proposals:#?}");
        assert_eq!(renames.get("Latitude(緯度)").map(String::as_str), Some("緯度座標"));
        assert_eq!(renames.get("Longitude(經度)").map(String::as_str), Some("經度座標"));
    }
}
