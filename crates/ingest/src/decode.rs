//! Text in any encoding agencies publish, decoded to UTF-8 as a stream.
//!
//! Placeholder until the decoding work lands: UTF-8 passes through with its BOM skipped.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use tapwater_types::TransformEntry;

use crate::{IngestError, TextEncoding};

/// What decoding did, shared with the reader that owns the decoder: filled while the file is read.
#[derive(Debug, Default, Clone)]
pub(crate) struct DecodeLog {
    pub entries: Vec<TransformEntry>,
}

/// Opens `path` as a UTF-8 byte stream, decoding `encoding` on the fly and skipping any byte-order mark.
/// `eudc` maps Big5 user-defined byte pairs (hex, `95CD`) to characters, ahead of the built-in table.
pub(crate) fn open_text(
    path: &Path,
    encoding: TextEncoding,
    _eudc: &BTreeMap<String, String>,
) -> Result<(Box<dyn Read + Send>, Arc<Mutex<DecodeLog>>), IngestError> {
    let mut file = BufReader::with_capacity(256 * 1024, File::open(path)?);
    if encoding == TextEncoding::Utf8Bom {
        let mut bom = [0u8; 3];
        file.read_exact(&mut bom)?;
    }
    Ok((Box::new(file), Arc::new(Mutex::new(DecodeLog::default()))))
}
