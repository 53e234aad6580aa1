//! ZIP archives: one table per member, unpacked with limits on count, size and compression ratio.
//!
//! Agencies zip what is too large to download otherwise (the Central Election Commission's `votedata.zip` holds one
//! folder per election with `elbase.csv`, `elcand.csv`, `elprof.csv` …). Each member is a table of its own:
//! [`list_members`] lists them for a publisher to choose, [`extract_member`] unpacks one (`Pipeline::table`: its
//! path, its file name, or `#N`; by default the only member in a table format, or the first of several, logged as
//! `table_choice`) to a scratch file that is then sniffed and read like an upload.
//!
//! Member names are bytes: with the UTF-8 flag (or as valid UTF-8 anyway, as macOS and Linux tools write them)
//! they are UTF-8; Windows in Taiwan writes them in Big5 (CP950) without a flag, so a name that is valid Big5 is
//! read as Big5; anything else is CP437 as the ZIP specification says. Directories, macOS resource forks
//! (`__MACOSX/`) and dotfiles (`.DS_Store`) are not tables and are skipped.
//!
//! Safety, per [`ArchiveLimits`]: more members than `max_members` refuses the archive before anything is unpacked;
//! a member's bytes are counted while inflating, never trusting the sizes in its header, and unpacking stops as
//! soon as they pass `max_member_bytes`, or `max_ratio` times the member's packed size (once past 1 MiB, so small
//! very repetitive files stay readable). A ZIP bomb therefore costs at most a little more than the limit in time and
//! disk, never memory: members are streamed to disk.
//!
//! Does not: unpack a ZIP inside a ZIP (listed, refused when chosen), read encrypted members, or merge several
//! members into one table (each is a table; a yearly series is several files given to `ingest_files`).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use tapwater_types::TransformEntry;
use zip::ZipArchive;
use zip::result::ZipError;

use crate::decode::{Big5Pair, TAIWAN_EUDC, classify_big5, decode_prefix};
use crate::{ArchiveLimits, IngestError, TableInfo, TextEncoding};

/// Below this many unpacked bytes the compression ratio is not checked.
const RATIO_FLOOR: u64 = 1 << 20;

/// Extensions of the formats tapwater reads as tables: a member with one of them is a table candidate.
const TABLE_EXTENSIONS: &[&str] =
    &["csv", "tsv", "tab", "txt", "json", "ndjson", "jsonl", "xlsx", "xls", "ods", "html", "htm", "xml"];

/// A member unpacked to a scratch file.
pub(crate) struct Member {
    pub path: tempfile::TempPath,
    /// The member's path in the archive.
    pub name: String,
    pub tables: Vec<TableInfo>,
    pub log: Vec<TransformEntry>,
}

/// One listed member: its index in the archive and its decoded path.
struct Entry {
    index: usize,
    name: String,
}

/// The members of the archive that may be tables, in archive order, `#1` … (directories, `__MACOSX/` and dotfiles
/// left out).
pub(crate) fn list_members(path: &Path, limits: &ArchiveLimits) -> Result<Vec<TableInfo>, IngestError> {
    let mut archive = open(path, limits)?;
    Ok(table_infos(&entries(&mut archive)?))
}

/// Unpacks the member `member` names (its path, its file name, or `#N`), or the default one, into a temporary file
/// in `scratch` (the system's temporary directory if `None`).
pub(crate) fn extract_member(
    path: &Path,
    member: Option<&str>,
    limits: &ArchiveLimits,
    scratch: Option<&Path>,
) -> Result<Member, IngestError> {
    let mut archive = open(path, limits)?;
    let entries = entries(&mut archive)?;
    let tables = table_infos(&entries);
    let mut log = Vec::new();
    let chosen = match member {
        Some(requested) => find(&entries, requested).ok_or_else(|| IngestError::TableNotFound {
            requested: requested.to_string(),
            available: entries.iter().map(|e| e.name.clone()).collect(),
        })?,
        None => default_member(&entries, &mut log)?,
    };
    let entry = &entries[chosen];
    let file = unpack(&mut archive, entry, limits, scratch)?;
    Ok(Member { path: file, name: entry.name.clone(), tables, log })
}

fn open(path: &Path, limits: &ArchiveLimits) -> Result<ZipArchive<File>, IngestError> {
    let archive = ZipArchive::new(File::open(path)?).map_err(zip_error)?;
    if archive.len() > limits.max_members {
        return Err(IngestError::ArchiveLimit {
            message: format!("it lists {} files, more than the limit of {}", archive.len(), limits.max_members),
            message_zh: format!("壓縮檔內有 {} 個檔案，超過上限 {} 個", archive.len(), limits.max_members),
        });
    }
    Ok(archive)
}

fn zip_error(e: ZipError) -> IngestError {
    match e {
        // A file cut short is damaged, not an I/O failure of ours.
        ZipError::Io(e) if !matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData) => {
            IngestError::Io(e)
        }
        ZipError::UnsupportedArchive(what) => IngestError::ArchiveLimit {
            message: format!("it uses a ZIP feature tapwater does not read ({what})"),
            message_zh: format!("壓縮檔使用了 tapwater 不支援的 ZIP 功能（{what}）"),
        },
        other => IngestError::ArchiveLimit {
            message: format!("it is damaged or truncated ({other})"),
            message_zh: "壓縮檔已損壞或不完整".to_string(),
        },
    }
}

fn entries(archive: &mut ZipArchive<File>) -> Result<Vec<Entry>, IngestError> {
    let mut entries = Vec::new();
    for index in 0..archive.len() {
        // `by_index_raw` reads the header only: nothing is inflated to list.
        let file = archive.by_index_raw(index).map_err(zip_error)?;
        let name = member_name(file.name_raw(), file.name());
        if file.is_dir() || name.ends_with('/') || is_junk(&name) {
            continue;
        }
        entries.push(Entry { index, name });
    }
    Ok(entries)
}

fn table_infos(entries: &[Entry]) -> Vec<TableInfo> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| TableInfo { id: format!("#{}", i + 1), name: e.name.clone(), kind: "zip_member", rows: None })
        .collect()
}

/// A member's path as text: UTF-8 if it is valid UTF-8, else Big5 if every pair is a CP950 character, else what the
/// zip crate made of it (CP437, or the Unicode path extra field when there is one).
fn member_name(raw: &[u8], zip_name: &str) -> String {
    if let Ok(name) = std::str::from_utf8(raw) {
        return name.to_string();
    }
    if is_strict_big5(raw) {
        return decode_prefix(raw, TextEncoding::Big5);
    }
    zip_name.to_string()
}

/// Whether every non-ASCII byte of `raw` is in a standard CP950 pair (or a user-defined one tapwater knows).
fn is_strict_big5(raw: &[u8]) -> bool {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] < 0x80 {
            i += 1;
            continue;
        }
        let Some(&trail) = raw.get(i + 1) else { return false };
        let known = TAIWAN_EUDC.iter().any(|&(pair, _)| pair == u16::from_be_bytes([raw[i], trail]));
        match classify_big5(raw[i], trail) {
            Some(Big5Pair::Standard) => {}
            Some(Big5Pair::UserDefined) if known => {}
            _ => return false,
        }
        i += 2;
    }
    true
}

/// macOS resource forks and dotfiles (`.DS_Store`, `._x.csv`), and Windows' thumbnail caches: never tables.
fn is_junk(name: &str) -> bool {
    name.split('/').any(|part| part == "__MACOSX" || part.starts_with('.'))
        || file_name(name).eq_ignore_ascii_case("thumbs.db")
        || file_name(name).eq_ignore_ascii_case("desktop.ini")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn extension(path: &str) -> String {
    let name = file_name(path);
    name.rfind('.').map(|i| name[i + 1..].to_ascii_lowercase()).unwrap_or_default()
}

fn is_table(name: &str) -> bool {
    TABLE_EXTENSIONS.contains(&extension(name).as_str())
}

/// `#N`, a member's full path, or its file name when only one member has it.
fn find(entries: &[Entry], requested: &str) -> Option<usize> {
    if let Some(n) = requested.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
        return (1..=entries.len()).contains(&n).then(|| n - 1);
    }
    let requested = requested.trim_start_matches('/');
    if let Some(i) = entries.iter().position(|e| e.name == requested) {
        return Some(i);
    }
    let mut by_file_name = entries.iter().enumerate().filter(|(_, e)| file_name(&e.name) == requested);
    match (by_file_name.next(), by_file_name.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// The only member in a table format, or the first of several (logged with the others' names).
fn default_member(entries: &[Entry], log: &mut Vec<TransformEntry>) -> Result<usize, IngestError> {
    let tables: Vec<usize> = (0..entries.len()).filter(|&i| is_table(&entries[i].name)).collect();
    // A `.txt` is as often a readme as a table: a member with a table's own extension is preferred.
    let preferred = tables.iter().copied().find(|&i| extension(&entries[i].name) != "txt");
    let Some(first) = preferred.or_else(|| tables.first().copied()) else {
        if entries.iter().any(|e| extension(&e.name) == "zip") {
            return Err(IngestError::ArchiveLimit {
                message: "it holds only other ZIP archives, and a ZIP inside a ZIP is not unpacked".into(),
                message_zh: "壓縮檔內只有其他壓縮檔，不解開壓縮檔內的壓縮檔".into(),
            });
        }
        // No table at all: the publisher sees what the archive holds.
        return Err(IngestError::TableNotFound {
            requested: String::new(),
            available: entries.iter().map(|e| e.name.clone()).collect(),
        });
    };
    if tables.len() > 1 {
        let others: Vec<&str> = tables.iter().filter(|&&i| i != first).map(|&i| entries[i].name.as_str()).collect();
        log.push(TransformEntry {
            rule: "table_choice".into(),
            count: tables.len() as u64,
            detail: Some(format!(
                "the archive holds {} tables; read {} (#{}), the first that is not a .txt; others: {} — choose one \
                 with the pipeline's `table` (a name or #N)",
                tables.len(),
                entries[first].name,
                first + 1,
                others.join(", ")
            )),
            ..TransformEntry::default()
        });
    }
    Ok(first)
}

/// Streams one member to a scratch file, counting the bytes it inflates to.
fn unpack(
    archive: &mut ZipArchive<File>,
    entry: &Entry,
    limits: &ArchiveLimits,
    scratch: Option<&Path>,
) -> Result<tempfile::TempPath, IngestError> {
    let too_large = |what: &str, what_zh: &str| IngestError::ArchiveLimit {
        message: format!("the member \"{}\" {what}", entry.name),
        message_zh: format!("壓縮檔內的「{}」{what_zh}", entry.name),
    };
    let mut member = archive.by_index(entry.index).map_err(|e| match e {
        ZipError::UnsupportedArchive(what) if what.contains("assword") || what.contains("ncrypt") => {
            IngestError::ArchiveLimit {
                message: format!("the member \"{}\" is encrypted", entry.name),
                message_zh: format!("壓縮檔內的「{}」已加密", entry.name),
            }
        }
        e => zip_error(e),
    })?;
    // The header's sizes can lie (that is the point of a bomb), but one that admits too much is refused at once.
    let max_bytes = limits.max_member_bytes;
    if member.size() > max_bytes {
        return Err(too_large(
            &format!("unpacks to {} bytes, more than the limit of {max_bytes}", member.size()),
            &format!("解壓縮後有 {} 位元組，超過上限 {max_bytes} 位元組", member.size()),
        ));
    }
    let max_by_ratio = member.compressed_size().max(1).saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
    let suffix = format!(".{}", extension(&entry.name));
    let mut builder = tempfile::Builder::new();
    builder.prefix("tapwater-member-").suffix(if suffix.len() > 1 && suffix.len() <= 8 { suffix.as_str() } else { "" });
    let mut out = match scratch {
        Some(dir) => builder.tempfile_in(dir)?,
        None => builder.tempfile()?,
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut written: u64 = 0;
    loop {
        let n = match member.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(IngestError::ArchiveLimit {
                    message: format!("the member \"{}\" is damaged ({e})", entry.name),
                    message_zh: format!("壓縮檔內的「{}」已損壞", entry.name),
                });
            }
        };
        written += n as u64;
        if written > max_bytes {
            return Err(too_large(
                &format!("unpacks to more than the limit of {max_bytes} bytes"),
                &format!("解壓縮後超過上限 {max_bytes} 位元組"),
            ));
        }
        if written > max_by_ratio {
            return Err(too_large(
                &format!(
                    "unpacks to more than {}× its packed size of {} bytes (a ZIP bomb?)",
                    limits.max_ratio,
                    member.compressed_size()
                ),
                &format!(
                    "解壓縮後超過壓縮大小（{} 位元組）的 {} 倍，疑為 ZIP 炸彈",
                    member.compressed_size(),
                    limits.max_ratio
                ),
            ));
        }
        out.write_all(&buf[..n])?;
    }
    out.flush()?;
    Ok(out.into_temp_path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    /// Writes a ZIP of `(name, bytes, deflated)` members.
    fn zip_of(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for &(name, bytes, deflated) in members {
            let method = if deflated { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
            if name.ends_with('/') {
                w.add_directory(name, SimpleFileOptions::default()).unwrap();
                continue;
            }
            w.start_file(name, SimpleFileOptions::default().compression_method(method).large_file(true)).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn archive_error(e: IngestError) -> (String, String) {
        match e {
            IngestError::ArchiveLimit { message, message_zh } => (message, message_zh),
            other => panic!("expected an archive limit, got {other:?}"),
        }
    }

    #[test]
    fn a_readme_before_the_data_is_not_taken_for_the_table() {
        let zip = zip_of(&[("readme.txt", "說明".as_bytes(), true), ("data/人口.csv", b"a,b\r\n1,2\r\n", true)]);
        let file = write_temp(&zip);
        let member = extract_member(file.path(), None, &ArchiveLimits::default(), None).unwrap();
        assert_eq!(member.name, "data/人口.csv");
        assert!(member.log[0].detail.as_deref().unwrap().contains("others: readme.txt"));
        // A .txt alone is still read: agencies do name their CSV files .txt.
        let zip = zip_of(&[("data.txt", b"a,b\n1,2\n", true)]);
        let file = write_temp(&zip);
        assert_eq!(extract_member(file.path(), None, &ArchiveLimits::default(), None).unwrap().name, "data.txt");
    }

    #[test]
    fn real_files_zipped_one_table_per_member() {
        let big5 = std::fs::read(fixture("cec_2020_polling_station_cross_village_big5.csv")).unwrap();
        let xlsx = std::fs::read(fixture("cec_2022_election_type_codes.xlsx")).unwrap();
        let zip = zip_of(&[
            ("2020/", b"", false),
            ("2020/cross_village.csv", &big5, true),
            ("__MACOSX/2020/._cross_village.csv", b"junk", false),
            ("2020/.DS_Store", b"junk", false),
            ("2020/types.xlsx", &xlsx, false),
            ("README.pdf", b"%PDF-1.4", true),
        ]);
        let file = write_temp(&zip);
        let tables = list_members(file.path(), &ArchiveLimits::default()).unwrap();
        let listed: Vec<_> = tables.iter().map(|t| (t.id.as_str(), t.name.as_str(), t.kind)).collect();
        assert_eq!(
            listed,
            [
                ("#1", "2020/cross_village.csv", "zip_member"),
                ("#2", "2020/types.xlsx", "zip_member"),
                ("#3", "README.pdf", "zip_member")
            ]
        );
        // By default the first table, with the choice logged.
        let member = extract_member(file.path(), None, &ArchiveLimits::default(), None).unwrap();
        assert_eq!(std::fs::read(&member.path).unwrap(), big5);
        assert_eq!(member.tables, tables);
        assert_eq!(member.log.len(), 1);
        assert_eq!(member.log[0].rule, "table_choice");
        let detail = member.log[0].detail.as_deref().unwrap();
        assert!(detail.contains("read 2020/cross_village.csv (#1)") && detail.contains("others: 2020/types.xlsx"));
        // By number, path and file name, into a scratch directory.
        let scratch = tempfile::tempdir().unwrap();
        for pick in ["#2", "2020/types.xlsx", "types.xlsx"] {
            let member =
                extract_member(file.path(), Some(pick), &ArchiveLimits::default(), Some(scratch.path())).unwrap();
            assert_eq!(std::fs::read(&member.path).unwrap(), xlsx, "{pick}");
            assert!(member.path.starts_with(scratch.path()));
            assert!(member.log.is_empty());
        }
        match extract_member(file.path(), Some("elbase.csv"), &ArchiveLimits::default(), None) {
            Err(IngestError::TableNotFound { requested, available }) => {
                assert_eq!(requested, "elbase.csv");
                assert_eq!(available.len(), 3);
            }
            other => panic!("expected table_not_found, got {:?}", other.err()),
        }
        assert!(matches!(
            extract_member(file.path(), Some("#4"), &ArchiveLimits::default(), None),
            Err(IngestError::TableNotFound { .. })
        ));
    }

    #[test]
    fn a_single_table_is_read_without_a_choice_to_log() {
        let zip = zip_of(&[("data.csv", b"a,b\n1,2\n", true), ("notes.pdf", b"%PDF", false)]);
        let file = write_temp(&zip);
        let member = extract_member(file.path(), None, &ArchiveLimits::default(), None).unwrap();
        assert_eq!(std::fs::read(&member.path).unwrap(), b"a,b\n1,2\n");
        assert!(member.log.is_empty());
    }

    /// A deflate stream of `len` zero bytes built by hand, as a zip bomb's member is: one dynamic-Huffman block
    /// where a literal 0 is followed by back-references of length 258 at distance 1, each coded in 2 bits (about
    /// 1030× compression, deflate's maximum). Writing 200 MB through a real compressor takes seconds in a debug
    /// build; this takes milliseconds.
    fn deflated_zeros(len: u64) -> Vec<u8> {
        struct Bits {
            out: Vec<u8>,
            acc: u64,
            n: u32,
        }
        impl Bits {
            /// `n` bits of `value`, least significant first (deflate's order for everything but Huffman codes).
            fn put(&mut self, value: u64, n: u32) {
                self.acc |= value << self.n;
                self.n += n;
                while self.n >= 8 {
                    self.out.push(self.acc as u8);
                    self.acc >>= 8;
                    self.n -= 8;
                }
            }
            /// A Huffman code, most significant bit first.
            fn code(&mut self, code: u64, n: u32) {
                let reversed = (0..n).fold(0, |r, i| r | (((code >> i) & 1) << (n - 1 - i)));
                self.put(reversed, n);
            }
        }
        let mut b = Bits { out: Vec::new(), acc: 0, n: 0 };
        b.put(1, 1); // final block
        b.put(2, 2); // dynamic Huffman
        b.put(29, 5); // HLIT: 286 literal/length codes
        b.put(0, 5); // HDIST: 1 distance code
        b.put(14, 4); // HCLEN: 18 code-length codes
        // Code-length code lengths in the order 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1: only 18 (1 bit),
        // 2 and 1 (2 bits each) are used. Canonical codes: 18 → 0, 1 → 10, 2 → 11.
        for symbol in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
            b.put(
                match symbol {
                    18 => 1,
                    1 | 2 => 2,
                    _ => 0,
                },
                3,
            );
        }
        let zeros = |b: &mut Bits, mut count: u64| {
            while count > 0 {
                let run = count.min(138);
                b.code(0, 1); // 18: repeat zero 11–138 times
                b.put(run - 11, 7);
                count -= run;
            }
        };
        // Literal/length lengths: 0 → 2 bits, 256 (end) → 2 bits, 285 (length 258) → 1 bit; all else unused.
        b.code(0b11, 2);
        zeros(&mut b, 255);
        b.code(0b11, 2);
        zeros(&mut b, 28);
        b.code(0b10, 2);
        b.code(0b10, 2); // distance code 0 (distance 1): 1 bit
        // Canonical codes: 285 → 0, 0 → 10, 256 → 11; distance 0 → 0.
        b.code(0b10, 2); // one literal zero
        let mut left = len - 1;
        while left >= 258 {
            b.code(0, 1);
            b.code(0, 1);
            left -= 258;
        }
        for _ in 0..left {
            b.code(0b10, 2);
        }
        b.code(0b11, 2); // end of block
        b.put(0, 7);
        b.out
    }

    /// A ZIP with one deflated member whose data is `deflated`; its header claims `claimed` unpacked bytes.
    fn zip_with_raw_member(name: &str, deflated: &[u8], claimed: u32) -> Vec<u8> {
        let header = |central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(if central { b"PK\x01\x02\x14\x00" } else { b"PK\x03\x04" });
            h.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0]); // version, flags, deflate, time, date
            h.extend_from_slice(&0u32.to_le_bytes()); // CRC-32: never reached, the bomb is stopped first
            h.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
            h.extend_from_slice(&claimed.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 10]); // comment length, disk, internal and external attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // local header offset
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        let mut zip = header(false);
        zip.extend_from_slice(deflated);
        let central_offset = zip.len() as u32;
        let central = header(true);
        zip.extend_from_slice(&central);
        zip.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        zip.extend_from_slice(&(central.len() as u32).to_le_bytes());
        zip.extend_from_slice(&central_offset.to_le_bytes());
        zip.extend_from_slice(&[0, 0]);
        zip
    }

    #[test]
    fn the_hand_made_deflate_stream_is_valid() {
        let zip = zip_with_raw_member("z.csv", &deflated_zeros(5000), 5000);
        let mut archive = ZipArchive::new(Cursor::new(zip)).unwrap();
        let mut out = Vec::new();
        let _ = archive.by_index(0).unwrap().read_to_end(&mut out); // the CRC is wrong on purpose
        assert_eq!(out.len(), 5000);
        assert!(out.iter().all(|&b| b == 0));
    }

    #[test]
    fn a_zip_bomb_is_stopped_while_inflating() {
        let started = std::time::Instant::now();
        // 200 MB of zeros in ~190 KB, honestly declared: refused by the ratio after a few MB.
        let bomb = deflated_zeros(200_000_000);
        assert!(bomb.len() < 250_000, "{}", bomb.len());
        let file = write_temp(&zip_with_raw_member("votes.csv", &bomb, 200_000_000));
        let scratch = tempfile::tempdir().unwrap();
        let e = extract_member(file.path(), None, &ArchiveLimits::default(), Some(scratch.path())).err().unwrap();
        let (message, message_zh) = archive_error(e);
        assert!(message.contains("votes.csv") && message.contains("200×"), "{message}");
        assert!(message_zh.contains("ZIP 炸彈"), "{message_zh}");
        // Nothing is left behind in the scratch directory.
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
        // The same bomb claiming 1,000 bytes in its header: counted while inflating, the lie does not help. With
        // the ratio check out of the way, the byte limit stops it.
        let file = write_temp(&zip_with_raw_member("votes.csv", &bomb, 1_000));
        let limits = ArchiveLimits { max_member_bytes: 10 << 20, max_ratio: u64::MAX, ..ArchiveLimits::default() };
        let (message, _) = archive_error(extract_member(file.path(), None, &limits, None).err().unwrap());
        assert!(message.contains("more than the limit of 10485760 bytes"), "{message}");
        // A header that admits too much is refused before inflating anything.
        let limits = ArchiveLimits { max_member_bytes: 1_000_000, ..ArchiveLimits::default() };
        let file = write_temp(&zip_with_raw_member("votes.csv", &bomb, 200_000_000));
        let (message, _) = archive_error(extract_member(file.path(), None, &limits, None).err().unwrap());
        assert!(message.contains("unpacks to 200000000 bytes"), "{message}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn too_many_members_are_refused_before_unpacking() {
        let names: Vec<String> = (0..11).map(|i| format!("{i}.csv")).collect();
        let members: Vec<(&str, &[u8], bool)> = names.iter().map(|n| (n.as_str(), &b"a\n1\n"[..], false)).collect();
        let file = write_temp(&zip_of(&members));
        let limits = ArchiveLimits { max_members: 10, ..ArchiveLimits::default() };
        let (message, message_zh) = archive_error(list_members(file.path(), &limits).err().unwrap());
        assert_eq!(message, "it lists 11 files, more than the limit of 10");
        assert_eq!(message_zh, "壓縮檔內有 11 個檔案，超過上限 10 個");
        assert!(extract_member(file.path(), None, &limits, None).is_err());
        let at_limit = ArchiveLimits { max_members: 11, ..ArchiveLimits::default() };
        assert_eq!(list_members(file.path(), &at_limit).unwrap().len(), 11);
    }

    #[test]
    fn a_zip_inside_a_zip_is_listed_not_unpacked() {
        let inner = zip_of(&[("data.csv", b"a,b\n1,2\n", true)]);
        let file = write_temp(&zip_of(&[("inner.zip", &inner, false)]));
        let tables = list_members(file.path(), &ArchiveLimits::default()).unwrap();
        assert_eq!(tables[0].name, "inner.zip");
        let (message, message_zh) =
            archive_error(extract_member(file.path(), None, &ArchiveLimits::default(), None).err().unwrap());
        assert!(message.contains("a ZIP inside a ZIP is not unpacked"));
        assert!(message_zh.contains("壓縮檔內的壓縮檔"));
        // Chosen explicitly it is unpacked; the caller sniffs it as ZIP and refuses it (see `prepare`).
        let member = extract_member(file.path(), Some("inner.zip"), &ArchiveLimits::default(), None).unwrap();
        assert!(std::fs::read(&member.path).unwrap().starts_with(b"PK\x03\x04"));
    }

    #[test]
    fn big5_member_names_without_the_utf8_flag() {
        // Windows in Taiwan writes names in Big5 without the UTF-8 flag, as the CEC's votedata.zip has them:
        // 選舉資料/臺南市.csv. Written with ASCII placeholders of the same length, then patched to the Big5 bytes.
        let big5_dir: &[u8] = b"\xBF\xEF\xC1\x7C\xB8\xEA\xAE\xC6"; // 選舉資料
        let big5_file: &[u8] = b"\xBB\x4F\xAB\x6E\xA5\xAB"; // 臺南市
        let mut zip = zip_of(&[("AAAAAAAA/BBBBBB.csv", b"a\n1\n", true), ("CCCCCC.csv", b"b\n2\n", false)]);
        for (placeholder, big5) in [(&b"AAAAAAAA"[..], big5_dir), (b"BBBBBB", big5_file), (b"CCCCCC", big5_file)] {
            while let Some(at) = memchr::memmem::find(&zip, placeholder) {
                zip[at..at + placeholder.len()].copy_from_slice(big5);
            }
        }
        let file = write_temp(&zip);
        let names: Vec<String> =
            list_members(file.path(), &ArchiveLimits::default()).unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["選舉資料/臺南市.csv", "臺南市.csv"]);
        let member = extract_member(file.path(), Some("選舉資料/臺南市.csv"), &ArchiveLimits::default(), None).unwrap();
        assert_eq!(std::fs::read(&member.path).unwrap(), b"a\n1\n");
        // A CP437 name that is not Big5 stays CP437 (é is 0x82 there, a user-defined lead byte in Big5).
        assert_eq!(member_name(b"caf\x82.csv", "café.csv"), "café.csv");
        assert_eq!(member_name("人口.csv".as_bytes(), "ignored"), "人口.csv");
    }

    #[test]
    fn damaged_archives_are_refused_clearly() {
        let zip = zip_of(&[("data.csv", b"a,b\n1,2\n", true)]);
        let file = write_temp(&zip[..zip.len() - 10]);
        let (message, message_zh) = archive_error(list_members(file.path(), &ArchiveLimits::default()).err().unwrap());
        assert!(message.contains("damaged or truncated"), "{message}");
        assert_eq!(message_zh, "壓縮檔已損壞或不完整");
        // No table at all.
        let file = write_temp(&zip_of(&[("photo.png", b"\x89PNG", false)]));
        match extract_member(file.path(), None, &ArchiveLimits::default(), None) {
            Err(IngestError::TableNotFound { requested, available }) => {
                assert_eq!((requested.as_str(), available), ("", vec!["photo.png".to_string()]));
            }
            other => panic!("expected table_not_found, got {:?}", other.err()),
        }
    }
}
