//! ZIP archives: one table per member, unpacked with limits on count, size and compression ratio.
//!
//! Placeholder until the archive work lands: archives are refused.

use std::path::Path;

use tapwater_types::TransformEntry;

use crate::{ArchiveLimits, IngestError, TableInfo};

/// A member unpacked to a scratch file.
pub(crate) struct Member {
    pub path: tempfile::TempPath,
    pub tables: Vec<TableInfo>,
    pub log: Vec<TransformEntry>,
}

pub(crate) fn list_members(_path: &Path, _limits: &ArchiveLimits) -> Result<Vec<TableInfo>, IngestError> {
    Err(IngestError::UnsupportedFormat { detected: "zip".into(), message: "ZIP archives are not read yet".into() })
}

pub(crate) fn extract_member(
    _path: &Path,
    _member: Option<&str>,
    _limits: &ArchiveLimits,
    _scratch: Option<&Path>,
) -> Result<Member, IngestError> {
    Err(IngestError::UnsupportedFormat { detected: "zip".into(), message: "ZIP archives are not read yet".into() })
}
