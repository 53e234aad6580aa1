//! Version files through `object_store`: a local directory by default, `memory://` for tests, S3 with a feature.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;
use url::Url;

use crate::StoreError;

/// Size of one part of a multipart upload. S3 wants at least 5 MiB per part (but the last); 8 MiB keeps the number
/// of requests low without much memory.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once; with [`PART_SIZE`] this bounds the memory of one upload to about 32 MiB.
const PARTS_IN_FLIGHT: usize = 4;
/// Bytes read from the local file at a time.
const READ_SIZE: usize = 1024 * 1024;

/// Where version files live. Cheap to clone: clones share one store.
///
/// Paths are `/`-separated object-store paths such as `versions/{version id}/data.parquet`; empty segments, `.` and
/// `..` are refused, so no path can leave the store's root directory.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    description: String,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("store", &self.description).finish()
    }
}

/// Parses a caller's path into an object-store path.
fn object_path(path: &str) -> Result<ObjectPath, StoreError> {
    ObjectPath::parse(path).map_err(|e| StoreError::Invalid(format!("file path {path:?}: {e}")))
}

/// Maps an object-store error, naming the object path rather than the store's (possibly local, internal) location.
fn blob_error(path: &str) -> impl Fn(object_store::Error) -> StoreError + '_ {
    move |error| match error {
        object_store::Error::NotFound { .. } => StoreError::NotFound { what: format!("file {path}") },
        other => StoreError::Blob(other.to_string()),
    }
}

impl Blobs {
    /// Opens the blob store named by `url`:
    ///
    /// * `None`: a local directory, `default_dir`, created if absent;
    /// * `file:///abs/dir`: that local directory, created if absent;
    /// * `memory://`: an in-memory store, empty at start, for tests;
    /// * `s3://bucket[/prefix]`: with the `s3` cargo feature, an S3-compatible store configured by the usual `AWS_*`
    ///   environment variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …). Without the feature, or for
    ///   any other scheme, `InvalidUrl`.
    pub fn open(url: Option<&str>, default_dir: &Path) -> Result<Blobs, StoreError> {
        let Some(raw) = url else { return Self::local(default_dir) };
        let url = Url::parse(raw).map_err(|e| StoreError::InvalidUrl(format!("blob store URL {raw:?}: {e}")))?;
        match url.scheme() {
            "file" => {
                let dir = url.to_file_path().map_err(|()| {
                    StoreError::InvalidUrl(format!("blob store URL {raw:?} is not an absolute local path"))
                })?;
                Self::local(&dir)
            }
            "memory" => Ok(Blobs { store: Arc::new(InMemory::new()), description: "memory://".to_string() }),
            _ => Self::remote(&url),
        }
    }

    fn local(dir: &Path) -> Result<Blobs, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
        let root = std::fs::canonicalize(dir).map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
        // Automatic cleanup removes directories emptied by a delete, so the directories of deleted versions do not
        // linger and come back from `list_dirs`.
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| StoreError::Blob(e.to_string()))?
            .with_automatic_cleanup(true);
        let description =
            Url::from_directory_path(&root).map(String::from).unwrap_or_else(|()| format!("file://{}", root.display()));
        Ok(Blobs { store: Arc::new(store), description })
    }

    #[cfg(feature = "s3")]
    fn remote(url: &Url) -> Result<Blobs, StoreError> {
        use object_store::prefix::PrefixStore;

        if !matches!(url.scheme(), "s3" | "s3a") {
            return Err(StoreError::InvalidUrl(format!(
                "blob store scheme {:?} is not supported; use file://, memory:// or s3://",
                url.scheme()
            )));
        }
        // object_store's builder reads keys such as `aws_access_key_id` (case-insensitively) and ignores others.
        let options = std::env::vars().filter(|(key, _)| key.starts_with("AWS_"));
        let (store, prefix) =
            object_store::parse_url_opts(url, options).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let store: Arc<dyn ObjectStore> =
            if prefix.as_ref().is_empty() { Arc::from(store) } else { Arc::new(PrefixStore::new(store, prefix)) };
        // Only scheme, bucket and prefix: credentials never sit in the URL, but keep the description safe anyway.
        let description = format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or_default(), url.path());
        Ok(Blobs { store, description })
    }

    #[cfg(not(feature = "s3"))]
    fn remote(url: &Url) -> Result<Blobs, StoreError> {
        let scheme = url.scheme();
        let hint = if matches!(scheme, "s3" | "s3a") {
            "S3 support needs tapwater built with the `s3` cargo feature"
        } else {
            "supported schemes are file://, memory:// and, with the `s3` cargo feature, s3://"
        };
        Err(StoreError::InvalidUrl(format!("blob store scheme {scheme:?} is not available: {hint}")))
    }

    /// The underlying store, for readers that work on `object_store` directly (Parquet, DataFusion).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// Where the files are, for logs and the operator: `file:///…/files/`, `memory://`, `s3://bucket/prefix`.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// Uploads a local file to `path` part by part (never holding more than a few parts in memory) and returns the
    /// number of bytes written. The file appears at `path` only once complete; a failed upload is aborted.
    pub async fn put_file(&self, path: &str, local: &Path) -> Result<u64, StoreError> {
        let location = object_path(path)?;
        let io_error = |source| StoreError::Io { path: local.to_path_buf(), source };
        let mut file = tokio::fs::File::open(local).await.map_err(io_error)?;
        let upload = self.store.put_multipart(&location).await.map_err(blob_error(path))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; READ_SIZE];
        let mut written = 0u64;
        let outcome: Result<(), StoreError> = async {
            loop {
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(blob_error(path))?;
                let read = file.read(&mut buffer).await.map_err(io_error)?;
                if read == 0 {
                    return Ok(());
                }
                writer.write(&buffer[..read]);
                written += read as u64;
            }
        }
        .await;
        match outcome {
            Ok(()) => {
                writer.finish().await.map_err(blob_error(path))?;
                Ok(written)
            }
            Err(error) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(path, error = %abort, "could not abort a failed upload");
                }
                Err(error)
            }
        }
    }

    /// Stores `bytes` at `path`, replacing what was there.
    pub async fn put_bytes(&self, path: &str, bytes: Bytes) -> Result<(), StoreError> {
        let location = object_path(path)?;
        self.store.put(&location, bytes.into()).await.map_err(blob_error(path))?;
        Ok(())
    }

    /// The whole file at `path`; `NotFound` if there is none.
    pub async fn get_bytes(&self, path: &str) -> Result<Bytes, StoreError> {
        let location = object_path(path)?;
        let result = self.store.get(&location).await.map_err(blob_error(path))?;
        result.bytes().await.map_err(blob_error(path))
    }

    /// The size of the file at `path` and a stream of its bytes, for streaming downloads; `NotFound` if there is none.
    pub async fn get_stream(
        &self,
        path: &str,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, StoreError>>), StoreError> {
        let location = object_path(path)?;
        let result = self.store.get(&location).await.map_err(blob_error(path))?;
        let size = result.meta.size;
        let owned_path = path.to_string();
        let stream = result.into_stream().map_err(move |e| blob_error(&owned_path)(e)).boxed();
        Ok((size, stream))
    }

    /// The size of the file at `path`, or `None` if there is none.
    pub async fn head(&self, path: &str) -> Result<Option<u64>, StoreError> {
        let location = object_path(path)?;
        match self.store.head(&location).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(other) => Err(blob_error(path)(other)),
        }
    }

    /// Deletes every file under `prefix` (whole path segments: `versions/ab` does not touch `versions/abc`), e.g. the
    /// files of a publish that did not finish. Deleting nothing is not an error; an empty prefix is refused.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StoreError> {
        let location = object_path(prefix)?;
        if location.as_ref().is_empty() {
            return Err(StoreError::Invalid("refusing to delete the whole blob store".to_string()));
        }
        let listed = self.store.list(Some(&location)).map_ok(|meta| meta.location).boxed();
        let mut deleted = self.store.delete_stream(listed);
        while let Some(result) = deleted.next().await {
            match result {
                // Someone else (another server's garbage collection) deleted it first: the goal is reached.
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(other) => return Err(blob_error(prefix)(other)),
            }
        }
        Ok(())
    }

    /// The names of the "directories" directly under `prefix`, sorted: `list_dirs("versions")` gives the version
    /// ids that have files. Empty if nothing is there.
    pub async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let location = object_path(prefix)?;
        let prefix_arg = if location.as_ref().is_empty() { None } else { Some(&location) };
        let listing = match self.store.list_with_delimiter(prefix_arg).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(other) => return Err(blob_error(prefix)(other)),
        };
        let mut names: Vec<String> =
            listing.common_prefixes.iter().filter_map(|dir| dir.filename().map(str::to_string)).collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Runs `check` on a fresh local-directory store and on a fresh in-memory one.
    async fn on_both_stores<F, Fut>(check: F)
    where
        F: Fn(Blobs) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let dir = tempfile::tempdir().unwrap();
        check(Blobs::open(None, &dir.path().join("files")).unwrap()).await;
        check(Blobs::open(Some("memory://"), dir.path()).unwrap()).await;
    }

    fn local_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        path
    }

    /// Deterministic, not-all-equal bytes, so a misplaced part would show.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ (i / 251 % 256) as u8).collect()
    }

    #[tokio::test]
    async fn put_file_round_trips_through_bytes_stream_and_head() {
        on_both_stores(|blobs| async move {
            let dir = tempfile::tempdir().unwrap();
            let content = pattern(100_000);
            let local = local_file(dir.path(), "original.csv", &content);
            let written = blobs.put_file("versions/v1/original.csv", &local).await.unwrap();
            assert_eq!(written, content.len() as u64);
            assert_eq!(blobs.head("versions/v1/original.csv").await.unwrap(), Some(content.len() as u64));
            assert_eq!(blobs.get_bytes("versions/v1/original.csv").await.unwrap(), content);
            let (size, stream) = blobs.get_stream("versions/v1/original.csv").await.unwrap();
            assert_eq!(size, content.len() as u64);
            let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
            assert_eq!(chunks.concat(), content);
        })
        .await;
    }

    #[tokio::test]
    async fn put_file_streams_a_20_mb_file_in_parts() {
        on_both_stores(|blobs| async move {
            let dir = tempfile::tempdir().unwrap();
            // More than two parts, and not a multiple of the part size.
            let content = pattern(20 * 1024 * 1024 + 12_345);
            let local = local_file(dir.path(), "big.csv", &content);
            let written = blobs.put_file("versions/big/original.csv", &local).await.unwrap();
            assert_eq!(written, content.len() as u64);
            assert_eq!(blobs.head("versions/big/original.csv").await.unwrap(), Some(content.len() as u64));
            let (size, stream) = blobs.get_stream("versions/big/original.csv").await.unwrap();
            assert_eq!(size, content.len() as u64);
            let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
            assert!(chunks.concat() == content, "20 MB file came back different");
        })
        .await;
    }

    #[tokio::test]
    async fn empty_file_round_trips() {
        on_both_stores(|blobs| async move {
            let dir = tempfile::tempdir().unwrap();
            let local = local_file(dir.path(), "empty.csv", b"");
            assert_eq!(blobs.put_file("versions/e/original.csv", &local).await.unwrap(), 0);
            assert_eq!(blobs.head("versions/e/original.csv").await.unwrap(), Some(0));
            assert!(blobs.get_bytes("versions/e/original.csv").await.unwrap().is_empty());
        })
        .await;
    }

    #[tokio::test]
    async fn missing_files_are_not_found() {
        on_both_stores(|blobs| async move {
            assert_eq!(blobs.head("versions/nope/data.parquet").await.unwrap(), None);
            let error = blobs.get_bytes("versions/nope/data.parquet").await.unwrap_err();
            assert!(matches!(&error, StoreError::NotFound { what } if what == "file versions/nope/data.parquet"));
            assert!(matches!(blobs.get_stream("versions/nope/data.parquet").await, Err(StoreError::NotFound { .. })));
            let missing_local = Path::new("/nonexistent/tapwater/file.csv");
            assert!(matches!(blobs.put_file("x/y", missing_local).await, Err(StoreError::Io { .. })));
            assert_eq!(blobs.head("x/y").await.unwrap(), None, "a failed upload leaves nothing behind");
        })
        .await;
    }

    #[tokio::test]
    async fn delete_prefix_removes_one_version_only() {
        on_both_stores(|blobs| async move {
            for path in ["versions/ab/data.parquet", "versions/ab/indexes/x.bin", "versions/abc/data.parquet"] {
                blobs.put_bytes(path, Bytes::from_static(b"x")).await.unwrap();
            }
            assert_eq!(blobs.list_dirs("versions").await.unwrap(), ["ab", "abc"]);
            // A trailing slash, as in `versions/{id}/`, means the same prefix.
            blobs.delete_prefix("versions/ab/").await.unwrap();
            assert_eq!(blobs.head("versions/ab/data.parquet").await.unwrap(), None);
            assert_eq!(blobs.head("versions/ab/indexes/x.bin").await.unwrap(), None);
            assert_eq!(blobs.head("versions/abc/data.parquet").await.unwrap(), Some(1));
            assert_eq!(blobs.list_dirs("versions").await.unwrap(), ["abc"]);
            // Deleting again, or something that never existed, is fine.
            blobs.delete_prefix("versions/ab").await.unwrap();
            blobs.delete_prefix("versions/never").await.unwrap();
            assert!(matches!(blobs.delete_prefix("").await, Err(StoreError::Invalid(_))));
        })
        .await;
    }

    #[tokio::test]
    async fn list_dirs_of_nothing_is_empty() {
        on_both_stores(|blobs| async move {
            assert!(blobs.list_dirs("versions").await.unwrap().is_empty());
            blobs.put_bytes("versions/v2/data.parquet", Bytes::from_static(b"p")).await.unwrap();
            blobs.put_bytes("versions/v1/data.parquet", Bytes::from_static(b"p")).await.unwrap();
            blobs.put_bytes("versions/loose-file", Bytes::from_static(b"p")).await.unwrap();
            assert_eq!(blobs.list_dirs("versions").await.unwrap(), ["v1", "v2"]);
            assert_eq!(blobs.list_dirs("versions/").await.unwrap(), ["v1", "v2"]);
            assert_eq!(blobs.list_dirs("").await.unwrap(), ["versions"]);
        })
        .await;
    }

    #[tokio::test]
    async fn put_bytes_replaces() {
        on_both_stores(|blobs| async move {
            blobs.put_bytes("a/b.json", Bytes::from_static(b"first")).await.unwrap();
            blobs.put_bytes("a/b.json", Bytes::from_static(b"second")).await.unwrap();
            assert_eq!(blobs.get_bytes("a/b.json").await.unwrap(), Bytes::from_static(b"second"));
        })
        .await;
    }

    #[test]
    fn paths_cannot_escape_the_store() {
        for bad in ["../etc/passwd", "a/../b", "a//b", "a/./b"] {
            assert!(matches!(object_path(bad), Err(StoreError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn open_understands_file_memory_and_explains_s3() {
        let dir = tempfile::tempdir().unwrap();
        let default = dir.path().join("default").join("files");
        let blobs = Blobs::open(None, &default).unwrap();
        assert!(default.is_dir(), "default directory is created");
        assert!(blobs.describe().starts_with("file:///") && blobs.describe().ends_with("/default/files/"));

        let explicit = dir.path().join("explicit");
        let url = Url::from_directory_path(&explicit).unwrap().to_string();
        let blobs = Blobs::open(Some(&url), &default).unwrap();
        assert!(explicit.is_dir());
        assert!(blobs.describe().ends_with("/explicit/"), "{}", blobs.describe());

        assert_eq!(Blobs::open(Some("memory://"), &default).unwrap().describe(), "memory://");
        assert!(matches!(Blobs::open(Some("ftp://example.org/x"), &default), Err(StoreError::InvalidUrl(_))));
        assert!(matches!(Blobs::open(Some("not a url"), &default), Err(StoreError::InvalidUrl(_))));
        if cfg!(feature = "s3") {
            // Building the client needs no network; credentials and endpoint come from AWS_* variables.
            let blobs = Blobs::open(Some("s3://bucket/prefix"), &default).unwrap();
            assert_eq!(blobs.describe(), "s3://bucket/prefix");
        } else {
            let error = Blobs::open(Some("s3://bucket/prefix"), &default).unwrap_err();
            assert!(error.to_string().contains("`s3` cargo feature"), "{error}");
        }
    }

    #[tokio::test]
    async fn local_files_land_under_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(None, dir.path()).unwrap();
        blobs.put_bytes("versions/v9/data.parquet", Bytes::from_static(b"PAR1")).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("versions/v9/data.parquet")).unwrap(), b"PAR1");
        blobs.delete_prefix("versions/v9").await.unwrap();
        assert!(!dir.path().join("versions/v9").exists(), "emptied directories are removed");
    }
}
