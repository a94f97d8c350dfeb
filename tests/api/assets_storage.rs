//! The asset store (`AssetStorage`) on each of its backends: memory, a directory, and S3 against
//! a real S3-compatible server (moto, see helpers/s3.rs), through the crate's public interface.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use instagram_gateway::assets::{AssetKey, AssetStorage, StorageError};
use instagram_gateway::config::AssetStoreSettings;
use url::Url;

use crate::helpers::*;

/// Bytes no other test writes (so a key collision between tests is impossible), `len` long.
fn payload(len: usize) -> Bytes {
    let seed = unique("");
    let mut bytes: Vec<u8> = seed.bytes().cycle().take(len).collect();
    // Not just the seed repeated: vary every byte with its position.
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = b.wrapping_add((i % 251) as u8);
    }
    Bytes::from(bytes)
}

/// A directory of the test's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("igw-assets-test-"));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                found.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(dir, dir, &mut found);
    found
}

fn memory(max_bytes: u64) -> AssetStorage {
    AssetStorage::new(&AssetStoreSettings::Memory { max_bytes }).unwrap()
}

fn fs(dir: &TempDir) -> AssetStorage {
    AssetStorage::new(&AssetStoreSettings::Fs {
        path: dir.0.clone(),
    })
    .unwrap()
}

fn s3(bucket: &S3Bucket) -> AssetStorage {
    AssetStorage::new(&AssetStoreSettings::S3(bucket.settings())).unwrap()
}

/// What every backend must do: keys name their bytes, unknown keys read as absent, deletes are
/// idempotent, a put of an existing key is harmless, and keys do not disturb each other.
async fn behaves_as_an_asset_store(store: &AssetStorage) {
    // Larger than one read buffer, so the whole body has to come back.
    let bytes = payload(300 * 1024);
    let key = AssetKey::of(&bytes);
    let other_bytes = payload(1000);
    let other = AssetKey::of(&other_bytes);

    store.check().await.expect("a live store passes check()");
    assert_eq!(store.get(&key).await.unwrap(), None, "unknown key");
    assert!(!store.exists(&key).await.unwrap(), "unknown key");

    store.put(&key, bytes.clone()).await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), Some(bytes.clone()));

    // The same key again (another replica made the same copy): fine, same bytes.
    store.put(&key, bytes.clone()).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Some(bytes.clone()));

    store.put(&other, other_bytes.clone()).await.unwrap();
    store.delete(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None, "deleted");
    assert!(!store.exists(&key).await.unwrap(), "deleted");
    assert_eq!(
        store.get(&other).await.unwrap(),
        Some(other_bytes),
        "a delete removes its own key only"
    );

    // Already gone: not an error.
    store.delete(&key).await.unwrap();
    store.delete(&other).await.unwrap();
    store.delete(&other).await.unwrap();
    store.check().await.expect("check() after the round trip");
}

#[tokio::test]
async fn the_memory_store_keeps_copies_by_key() {
    let store = memory(64 * 1024 * 1024);
    assert_eq!(store.kind(), "memory");
    behaves_as_an_asset_store(&store).await;
}

#[tokio::test]
async fn the_fs_store_keeps_copies_by_key() {
    let dir = TempDir::new();
    let store = fs(&dir);
    assert_eq!(store.kind(), "fs");
    behaves_as_an_asset_store(&store).await;
}

#[tokio::test]
async fn the_s3_store_keeps_copies_by_key() {
    let bucket = S3Bucket::create().await;
    let store = s3(&bucket);
    assert_eq!(store.kind(), "s3");
    behaves_as_an_asset_store(&store).await;
}

#[tokio::test]
async fn the_memory_store_refuses_copies_beyond_its_bound_until_one_is_deleted() {
    let first = payload(600);
    let second = payload(600);
    let (first_key, second_key) = (AssetKey::of(&first), AssetKey::of(&second));
    let store = memory(1000);

    store.put(&first_key, first.clone()).await.unwrap();
    // The same key again takes no more room.
    store.put(&first_key, first.clone()).await.unwrap();

    match store.put(&second_key, second.clone()).await {
        Err(StorageError::Full { max_bytes }) => assert_eq!(max_bytes, 1000),
        other => panic!("600 + 600 bytes in a 1000-byte store: {other:?}"),
    }
    assert!(!store.exists(&second_key).await.unwrap(), "a refused copy");
    assert_eq!(store.get(&first_key).await.unwrap(), Some(first), "intact");

    store.delete(&first_key).await.unwrap();
    store.put(&second_key, second.clone()).await.unwrap();
    assert_eq!(store.get(&second_key).await.unwrap(), Some(second));
    // A delete of a missing key frees nothing it did not hold.
    store.delete(&first_key).await.unwrap();
    match store.put(&first_key, payload(600)).await {
        Err(StorageError::Full { .. }) => {}
        other => panic!("still full: {other:?}"),
    }
}

#[tokio::test]
async fn the_fs_store_writes_under_its_directory_only() {
    let dir = TempDir::new();
    // A directory that does not exist yet is created.
    let root = TempDir(dir.0.join("nested/assets-root"));
    let store = AssetStorage::new(&AssetStoreSettings::Fs {
        path: root.0.clone(),
    })
    .unwrap();
    let bytes = payload(2048);
    let key = AssetKey::of(&bytes);

    store.put(&key, bytes.clone()).await.unwrap();
    let expected = format!("assets/{key}.webp");
    assert_eq!(
        files_under(&dir.0),
        BTreeSet::from([format!("nested/assets-root/{expected}")]),
        "one file, at <dir>/assets/<key>.webp"
    );
    assert_eq!(std::fs::read(root.0.join(&expected)).unwrap(), bytes);

    store.delete(&key).await.unwrap();
    assert!(!root.0.join(&expected).exists(), "deleted from the disk");
    assert!(
        files_under(&dir.0).is_empty(),
        "nothing left: {:?}",
        files_under(&dir.0)
    );
}

#[tokio::test]
async fn the_s3_store_writes_into_its_bucket_only() {
    let bucket = S3Bucket::create().await;
    let neighbour = S3Bucket::create().await;
    let store = s3(&bucket);
    let bytes = payload(4096);
    let key = AssetKey::of(&bytes);

    store.put(&key, bytes.clone()).await.unwrap();
    // As the server holds it, read with a client of the test's own.
    assert_eq!(
        bucket.objects().await,
        BTreeMap::from([(format!("assets/{key}.webp"), bytes)]),
        "one object, at assets/<key>.webp"
    );
    // Typed and cacheable, for a public bucket serving them directly.
    let attributes = bucket.attributes(&format!("assets/{key}.webp")).await;
    assert_eq!(
        attributes
            .get(&object_store::Attribute::ContentType)
            .map(|v| v.as_ref()),
        Some("image/webp")
    );
    assert_eq!(
        attributes
            .get(&object_store::Attribute::CacheControl)
            .map(|v| v.as_ref()),
        Some("public, max-age=31536000, immutable")
    );
    // Another bucket on the same server holds nothing of it.
    assert!(neighbour.objects().await.is_empty());
    assert_eq!(s3(&neighbour).get(&key).await.unwrap(), None);

    store.delete(&key).await.unwrap();
    assert!(bucket.objects().await.is_empty(), "deleted on the server");
}

#[tokio::test]
async fn check_fails_quickly_where_no_s3_server_listens() {
    // A port that was free a moment ago: connections are refused.
    let endpoint = Url::parse(&format!(
        "http://127.0.0.1:{}/",
        crate::processes::free_port()
    ))
    .unwrap();
    let store = AssetStorage::new(&AssetStoreSettings::S3(s3_settings(
        &endpoint,
        "igw-no-server",
    )))
    .unwrap();

    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), store.check())
        .await
        .expect("check() must give up on its own, not hang");
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(StorageError::Backend(_))),
        "{result:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "check() took {elapsed:?} to report a dead endpoint"
    );
}
