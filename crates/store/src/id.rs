//! Version ids: unique, and sortable by creation time.

use rand::Rng;

/// Crockford's base32 alphabet in lowercase: no `i`, `l`, `o`, `u`, so ids survive being read aloud or retyped.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const TIME_CHARS: usize = 13;
const RANDOM_CHARS: usize = 10;

/// A new version id: 13 base32 characters of the Unix time in milliseconds, then 10 random ones (50 bits), all
/// lowercase: 23 characters such as `00001m8aa4sm3` + `q7k2v9x0cd` (2026-11-25T21:35:17.123Z).
///
/// Like a ULID, ids sort by creation time (to the millisecond), which keeps object-store listings and garbage
/// collection in publish order; unlike a ULID the time part is 13 characters (65 bits), so it never overflows and
/// never needs the "first character at most 7" rule. Ids are safe in URLs and object-store paths.
pub fn new_version_id() -> String {
    // A clock before 1970 is a misconfigured machine; the id stays unique thanks to the random part.
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let mut id = String::with_capacity(TIME_CHARS + RANDOM_CHARS);
    for i in (0..TIME_CHARS).rev() {
        // 13 × 5 = 65 bits: the top character holds the single highest bit, so shifts stay below 64.
        let shift = 5 * i as u32;
        let digit = millis.checked_shr(shift).unwrap_or(0) & 31;
        id.push(ALPHABET[digit as usize] as char);
    }
    let mut rng = rand::rng();
    for _ in 0..RANDOM_CHARS {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    id
}

/// The creation time (Unix milliseconds) written into a version id, or `None` for something that is not an id.
/// Garbage collection uses it to leave alone the files of a publish that may still be running.
pub fn version_id_millis(id: &str) -> Option<u64> {
    if id.len() != TIME_CHARS + RANDOM_CHARS {
        return None;
    }
    let mut millis: u64 = 0;
    for byte in id.bytes().take(TIME_CHARS) {
        let digit = ALPHABET.iter().position(|&a| a == byte)? as u64;
        millis = millis.checked_mul(32)?.checked_add(digit)?;
    }
    Some(millis)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_time_in_an_id_reads_back() {
        let before = chrono::Utc::now().timestamp_millis() as u64;
        let id = new_version_id();
        let after = chrono::Utc::now().timestamp_millis() as u64;
        let millis = version_id_millis(&id).unwrap();
        assert!(before <= millis && millis <= after);
        assert_eq!(version_id_millis("not-an-id"), None);
    }

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_23_lowercase_base32_characters() {
        let id = new_version_id();
        assert_eq!(id.len(), TIME_CHARS + RANDOM_CHARS, "{id}");
        assert!(id.bytes().all(|b| ALPHABET.contains(&b)), "{id}");
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let first = new_version_id();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let second = new_version_id();
        assert!(first[..TIME_CHARS] < second[..TIME_CHARS], "{first} {second}");
        assert!(first < second);
    }

    #[test]
    fn ids_are_unique_within_one_millisecond() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_version_id()).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn time_part_encodes_the_milliseconds() {
        let before = chrono::Utc::now().timestamp_millis();
        let id = new_version_id();
        let after = chrono::Utc::now().timestamp_millis();
        let decoded = id[..TIME_CHARS].bytes().fold(0i64, |acc, b| {
            let digit = ALPHABET.iter().position(|&a| a == b).unwrap() as i64;
            acc * 32 + digit
        });
        assert!((before..=after).contains(&decoded), "{before} <= {decoded} <= {after}");
    }
}
