//! The picture pipeline of one replica: after each snapshot, every picture without a ready copy
//! is claimed (once across replicas), downloaded, processed and stored, off the request path;
//! finished pictures are published to the feed; copies no snapshot shows expire.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, watch};
use utoipa::ToSchema;

use super::failure::{FailureKind, FailureRecord};
use super::fetch::{self, FetchError};
use super::hot::HotAssets;
use super::picture::{Images, PictureRecord, PictureSource, StoredCopy, Wanted};
use super::process::{Encoding, ProcessError, SourceLimits, process};
use super::storage::AssetStorage;
use crate::config::AssetSettings;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Finished pictures by source id (hash).
const PICTURES_KEY: &str = "assets:pictures";
/// Failed pictures by source id (hash).
const FAILURES_KEY: &str = "assets:failures";
/// When each picture no snapshot shows was first seen so (hash).
const ORPHANS_KEY: &str = "assets:orphans";
/// Bumped on every change of the hashes above: replicas reload them when it moves.
const VERSION_KEY: &str = "assets:version";
const JANITOR_LOCK: &str = "assets:janitor";
/// The records outlive any snapshot that shows them; the janitor renews this.
const RECORDS_TTL: Duration = Duration::from_secs(30 * 86_400);
const TTL_RENEWAL: Duration = Duration::from_secs(3600);
/// After losing a claim to another replica, look at that picture again after this.
const CLAIM_RECHECK: Duration = Duration::from_secs(2);
const SWEEP_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// What `/admin/status` says about re-hosted pictures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetStatus {
    /// `assets.enabled`: false means every `image` is null.
    pub enabled: bool,
    /// `memory`, `fs` or `s3`.
    pub store: &'static str,
    /// Pictures of the feed with their copies ready.
    pub ready: usize,
    /// Waiting for (or in) processing.
    pub pending: usize,
    /// Failed, retried with backoff (`POST /admin/assets/retry` retries them now).
    pub failed: usize,
    /// Bytes of every stored copy.
    pub bytes: u64,
}

#[derive(Default)]
struct State {
    wanted: Option<Arc<Vec<PictureSource>>>,
    /// Purges of the account's media seen: a job started before one must not record.
    purges: u64,
    records: HashMap<String, PictureRecord>,
    failures: HashMap<String, FailureRecord>,
    /// The store's version of the hashes last loaded (`None`: not loaded yet).
    version: Option<Option<Vec<u8>>>,
    running: HashSet<String>,
    claimed_elsewhere: HashMap<String, Instant>,
    ttl_renewed: Option<Instant>,
    swept: Option<Instant>,
}

/// How one attempt at a picture ended.
enum Attempt {
    Ready(PictureRecord),
    /// Another replica holds the claim.
    Busy,
    /// Another replica finished it meanwhile.
    Known(PictureRecord),
    /// Another replica failed it meanwhile; not due yet.
    Waiting(FailureRecord),
    Failed(FailureRecord),
    /// The account's media was purged while processing: nothing recorded.
    Discarded,
    /// The store (Redis) did not answer: try again later.
    StoreDown(StoreError),
}

pub struct Pipeline {
    store: Store,
    storage: AssetStorage,
    /// Deleted copies must stop being served from memory too.
    hot: Arc<HotAssets>,
    http: reqwest::Client,
    settings: AssetSettings,
    /// `<base>/`, in front of `<key>.webp`.
    url_base: String,
    poll: Duration,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
    images: watch::Sender<Arc<Images>>,
    wake: Notify,
}

impl Pipeline {
    pub fn new(
        store: Store,
        storage: AssetStorage,
        hot: Arc<HotAssets>,
        settings: AssetSettings,
        url_base: &str,
        poll: Duration,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            storage,
            hot,
            http: fetch::client(settings.fetch_timeout),
            settings,
            url_base: format!("{}/", url_base.trim_end_matches('/')),
            poll,
            metrics,
            state: Mutex::new(State::default()),
            images: watch::Sender::new(Arc::new(Images::new())),
            wake: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The finished pictures, for the feed.
    pub fn images(&self) -> watch::Receiver<Arc<Images>> {
        self.images.subscribe()
    }

    /// Runs until `wanted`'s sender is gone. `purges` brings the ids of pictures whose
    /// account's media was deleted: their copies go at once, not after the retention.
    pub async fn run(
        self: Arc<Self>,
        mut wanted: watch::Receiver<Wanted>,
        mut purges: mpsc::UnboundedReceiver<Vec<String>>,
    ) {
        let mut tick = tokio::time::interval(self.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = wanted.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let current = wanted.borrow_and_update().clone();
                    self.take_wanted(current);
                }
                Some(ids) = purges.recv() => {
                    // The hub publishes what is shown before it sends a purge: take that
                    // first, or the purged pictures would be dispatched (fetched) again.
                    let current = wanted.borrow_and_update().clone();
                    self.take_wanted(current);
                    if let Err(e) = self.purge(&ids).await {
                        tracing::warn!(error = %e, "could not delete an account's pictures; retried by retention");
                    }
                }
                _ = tick.tick() => {
                    self.refresh().await;
                    self.janitor().await;
                }
                () = self.wake.notified() => {}
            }
            self.dispatch();
            self.update_gauges();
        }
    }

    fn take_wanted(&self, wanted: Wanted) {
        let mut state = self.state();
        state.wanted = wanted.sources;
        state.purges = wanted.purges;
    }

    /// Reloads the shared records when another replica (or this one) changed them.
    async fn refresh(&self) {
        let version = match self.store.get(VERSION_KEY).await {
            Ok(version) => version,
            Err(e) => {
                tracing::debug!(error = %e, "asset records: the store is not answering");
                return;
            }
        };
        if self.state().version.as_ref() == Some(&version) {
            return;
        }
        let (pictures, failures) = match tokio::try_join!(
            self.store.hash_get_all(PICTURES_KEY),
            self.store.hash_get_all(FAILURES_KEY)
        ) {
            Ok(both) => both,
            Err(e) => {
                tracing::debug!(error = %e, "asset records: the store is not answering");
                return;
            }
        };
        let records: HashMap<String, PictureRecord> = parse_all(pictures);
        let failures = parse_all(failures);
        let changed = {
            let mut state = self.state();
            state.version = Some(version);
            state.failures = failures;
            let changed = state.records != records;
            state.records = records;
            changed
        };
        if changed {
            self.publish();
        }
    }

    fn publish(&self) {
        let images: Images = self
            .state()
            .records
            .iter()
            .map(|(id, record)| (id.clone(), record.image(&self.url_base)))
            .collect();
        self.images.send_replace(Arc::new(images));
    }

    /// Starts a job for each picture that needs one, up to `assets.workers` at a time.
    fn dispatch(self: &Arc<Self>) {
        let now = Instant::now();
        let utc_now = Utc::now();
        let mut state = self.state();
        let Some(wanted) = state.wanted.clone() else {
            return;
        };
        state.claimed_elsewhere.retain(|_, until| *until > now);
        for source in wanted.iter() {
            if state.running.len() >= self.settings.workers {
                break;
            }
            let idle = !state.records.contains_key(&source.id)
                && !state.running.contains(&source.id)
                && !state.claimed_elsewhere.contains_key(&source.id)
                && state
                    .failures
                    .get(&source.id)
                    .is_none_or(|f| f.due(&source.url, utc_now));
            if idle {
                state.running.insert(source.id.clone());
                let purges = state.purges;
                tokio::spawn(self.clone().job(source.clone(), purges));
            }
        }
    }

    async fn job(self: Arc<Self>, source: PictureSource, purges: u64) {
        let started = Instant::now();
        let attempt = self.attempt(&source, purges).await;
        let mut publish = false;
        {
            let mut state = self.state();
            state.running.remove(&source.id);
            match attempt {
                Attempt::Ready(record) => {
                    self.metrics
                        .assets_processed
                        .with_label_values(&["ready"])
                        .inc();
                    self.metrics
                        .assets_processing
                        .observe(started.elapsed().as_secs_f64());
                    tracing::debug!(id = %source.id, "picture re-hosted");
                    state.failures.remove(&source.id);
                    state.records.insert(source.id.clone(), record);
                    publish = true;
                }
                Attempt::Known(record) => {
                    state.records.insert(source.id.clone(), record);
                    publish = true;
                }
                Attempt::Busy => {
                    state
                        .claimed_elsewhere
                        .insert(source.id.clone(), Instant::now() + CLAIM_RECHECK);
                }
                Attempt::Waiting(failure) => {
                    state.failures.insert(source.id.clone(), failure);
                }
                Attempt::Failed(failure) => {
                    self.metrics
                        .assets_processed
                        .with_label_values(&[failure.kind.label()])
                        .inc();
                    // Logged once per picture; the retries only count.
                    if failure.attempts == 1 {
                        tracing::warn!(
                            id = %source.id,
                            reason = %failure.message,
                            "picture not re-hosted; Instagram's URL is served meanwhile, retried with backoff"
                        );
                    } else {
                        tracing::debug!(id = %source.id, attempts = failure.attempts, reason = %failure.message, "picture failed again");
                    }
                    state.failures.insert(source.id.clone(), failure);
                }
                Attempt::Discarded => {}
                Attempt::StoreDown(e) => {
                    tracing::debug!(id = %source.id, error = %e, "asset job postponed: the store is not answering");
                    state
                        .claimed_elsewhere
                        .insert(source.id.clone(), Instant::now() + self.poll);
                }
            }
        }
        if publish {
            self.publish();
        }
        self.wake.notify_one();
    }

    async fn attempt(&self, source: &PictureSource, purges: u64) -> Attempt {
        let claim = format!("assets:claim:{}", source.id);
        let guard = match self.store.try_lock(&claim, self.settings.claim_ttl).await {
            Ok(Some(guard)) => guard,
            Ok(None) => return Attempt::Busy,
            Err(e) => return Attempt::StoreDown(e),
        };
        let attempt = match self.attempt_claimed(source, purges).await {
            Ok(attempt) => attempt,
            Err(e) => Attempt::StoreDown(e),
        };
        if let Err(e) = self.store.unlock(guard).await {
            tracing::debug!(error = %e, "asset claim left to expire");
        }
        attempt
    }

    async fn attempt_claimed(
        &self,
        source: &PictureSource,
        purges: u64,
    ) -> Result<Attempt, StoreError> {
        // Another replica may have finished or failed it since the last refresh.
        if let Some(record) = self.store.hash_get(PICTURES_KEY, &source.id).await?
            && let Ok(record) = serde_json::from_slice(&record)
        {
            return Ok(Attempt::Known(record));
        }
        let previous: Option<FailureRecord> = self
            .store
            .hash_get(FAILURES_KEY, &source.id)
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if let Some(previous) = &previous
            && !previous.due(&source.url, Utc::now())
        {
            return Ok(Attempt::Waiting(previous.clone()));
        }
        let made = self.make(source).await;
        if self.state().purges != purges {
            if let Ok(record) = &made {
                self.delete_copies(record, &HashSet::new()).await;
            }
            return Ok(Attempt::Discarded);
        }
        match made {
            Ok(record) => {
                let json = serde_json::to_vec(&record).unwrap_or_default();
                self.store
                    .hash_set(PICTURES_KEY, &source.id, &json, RECORDS_TTL)
                    .await?;
                self.store.hash_delete(FAILURES_KEY, &source.id).await?;
                self.store.incr(VERSION_KEY, RECORDS_TTL).await?;
                Ok(Attempt::Ready(record))
            }
            Err(e) => {
                let failure = FailureRecord::after(
                    previous.as_ref(),
                    e.kind,
                    e.message,
                    &source.url,
                    Utc::now(),
                    self.settings.retry_backoff,
                );
                let json = serde_json::to_vec(&failure).unwrap_or_default();
                self.store
                    .hash_set(FAILURES_KEY, &source.id, &json, RECORDS_TTL)
                    .await?;
                self.store.incr(VERSION_KEY, RECORDS_TTL).await?;
                Ok(Attempt::Failed(failure))
            }
        }
    }

    /// Download, process, store: the record of a finished picture.
    async fn make(&self, source: &PictureSource) -> Result<PictureRecord, FetchError> {
        let bytes = fetch::fetch(&self.http, &source.url, self.settings.max_source_bytes).await?;
        let limits = SourceLimits {
            max_bytes: usize::try_from(self.settings.max_source_bytes).unwrap_or(usize::MAX),
            max_pixels: self.settings.max_pixels,
        };
        let encoding = Encoding {
            widths: self.settings.widths.clone(),
            webp_quality: self.settings.webp_quality,
        };
        // CPU-bound: off the async workers.
        let processed = tokio::task::spawn_blocking(move || process(&bytes, limits, &encoding))
            .await
            .map_err(|_| FetchError::new(FailureKind::Corrupt, "processing the picture panicked"))?
            .map_err(|e| {
                let kind = match e {
                    ProcessError::TooManyBytes { .. } | ProcessError::TooManyPixels { .. } => {
                        FailureKind::TooLarge
                    }
                    ProcessError::NotAPicture => FailureKind::NotAPicture,
                    ProcessError::Corrupt(_) | ProcessError::Resize(_) => FailureKind::Corrupt,
                };
                FetchError::new(kind, e.to_string())
            })?;
        let mut copies = Vec::with_capacity(processed.copies.len());
        for copy in processed.copies {
            let stored = StoredCopy {
                width: copy.width,
                height: copy.height,
                key: copy.key,
                bytes: copy.bytes.len() as u64,
            };
            self.storage
                .put(&copy.key, Bytes::from(copy.bytes))
                .await
                .map_err(|e| FetchError::new(FailureKind::StoreError, e.to_string()))?;
            copies.push(stored);
        }
        Ok(PictureRecord {
            width: processed.width,
            height: processed.height,
            placeholder: processed.placeholder,
            color: processed.color,
            copies,
            created_at: Utc::now(),
        })
    }

    /// Deletes `record`'s copies, except keys in `keep` (shared with another picture).
    async fn delete_copies(&self, record: &PictureRecord, keep: &HashSet<super::AssetKey>) {
        for copy in &record.copies {
            if keep.contains(&copy.key) {
                continue;
            }
            if let Err(e) = self.storage.delete(&copy.key).await {
                tracing::warn!(error = %e, "could not delete a stored copy");
            }
            self.hot.forget(&copy.key);
        }
    }

    /// Deletes the pictures `ids` at once (an account deleted or disconnected by Meta), and
    /// with them every picture no account shows any more (they would go after the retention
    /// anyway; the purged account's older pictures are among them): their records and every
    /// copy no remaining picture uses.
    async fn purge(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut stored: HashMap<String, PictureRecord> =
            parse_all(self.store.hash_get_all(PICTURES_KEY).await?);
        let orphans = self.store.hash_get_all(ORPHANS_KEY).await?;
        let shown: Option<HashSet<String>> = self
            .state()
            .wanted
            .as_ref()
            .map(|w| w.iter().map(|s| s.id.clone()).collect());
        let mut targets: HashSet<String> = ids.iter().cloned().collect();
        targets.extend(orphans.into_iter().map(|(id, _)| id));
        if let Some(shown) = &shown {
            targets.extend(stored.keys().filter(|id| !shown.contains(*id)).cloned());
        }
        let ids: Vec<String> = targets.into_iter().collect();
        // Out of what this replica serves first, before the copies go (with the copies only
        // this replica has recorded so far).
        {
            let mut state = self.state();
            for id in &ids {
                if let Some(record) = state.records.remove(id) {
                    stored.entry(id.clone()).or_insert(record);
                }
                state.failures.remove(id);
            }
        }
        self.publish();
        let purged: Vec<PictureRecord> = ids.iter().filter_map(|id| stored.remove(id)).collect();
        // Copies are content-addressed: the same bytes may serve a picture of another account.
        let keep: HashSet<super::AssetKey> = stored
            .values()
            .flat_map(|r| r.copies.iter().map(|c| c.key))
            .collect();
        for record in &purged {
            self.delete_copies(record, &keep).await;
        }
        for id in &ids {
            self.store.hash_delete(PICTURES_KEY, id).await?;
            self.store.hash_delete(FAILURES_KEY, id).await?;
            self.store.hash_delete(ORPHANS_KEY, id).await?;
        }
        self.store.incr(VERSION_KEY, RECORDS_TTL).await?;
        tracing::info!(
            pictures = purged.len(),
            "deleted an account's re-hosted pictures"
        );
        Ok(())
    }

    /// Retention: pictures no snapshot shows are marked, then deleted `assets.retention` later
    /// (one replica at a time). Also renews the records' TTL.
    async fn janitor(&self) {
        let (unreferenced, renew) = {
            let state = self.state();
            let Some(wanted) = &state.wanted else {
                return;
            };
            let shown: HashSet<&str> = wanted.iter().map(|s| s.id.as_str()).collect();
            let unreferenced = state
                .records
                .keys()
                .chain(state.failures.keys())
                .any(|id| !shown.contains(id.as_str()));
            let renew = state.ttl_renewed.is_none_or(|t| t.elapsed() >= TTL_RENEWAL);
            // Often enough to keep the retention within a quarter of itself, at most once a
            // minute: the sweep reads every record.
            let every = (self.settings.retention / 4).clamp(self.poll, SWEEP_AT_MOST_EVERY);
            let sweep_due = state.swept.is_none_or(|t| t.elapsed() >= every);
            (sweep_due && unreferenced, renew)
        };
        if !unreferenced && !renew {
            return;
        }
        self.state().swept = Some(Instant::now());
        let Ok(Some(guard)) = self
            .store
            .try_lock(JANITOR_LOCK, self.settings.claim_ttl)
            .await
        else {
            return;
        };
        let swept = if unreferenced {
            self.sweep().await
        } else {
            Ok(())
        };
        if let Err(e) = swept {
            tracing::debug!(error = %e, "asset retention postponed: the store is not answering");
        } else if renew {
            let renewed = tokio::try_join!(
                self.store.expire(PICTURES_KEY, RECORDS_TTL),
                self.store.expire(FAILURES_KEY, RECORDS_TTL),
                self.store.expire(ORPHANS_KEY, RECORDS_TTL),
                self.store.expire(VERSION_KEY, RECORDS_TTL),
            );
            if renewed.is_ok() {
                self.state().ttl_renewed = Some(Instant::now());
            }
        }
        let _ = self.store.unlock(guard).await;
    }

    async fn sweep(&self) -> Result<(), StoreError> {
        let shown: HashSet<String> = {
            let state = self.state();
            let Some(wanted) = &state.wanted else {
                return Ok(());
            };
            wanted.iter().map(|s| s.id.clone()).collect()
        };
        let pictures: HashMap<String, PictureRecord> =
            parse_all(self.store.hash_get_all(PICTURES_KEY).await?);
        let failures: HashMap<String, FailureRecord> =
            parse_all(self.store.hash_get_all(FAILURES_KEY).await?);
        let orphans: HashMap<String, DateTime<Utc>> =
            parse_all(self.store.hash_get_all(ORPHANS_KEY).await?);
        let now = Utc::now();
        let retention = chrono::Duration::from_std(self.settings.retention).unwrap_or_default();
        let mut changed = false;
        for id in orphans.keys().filter(|id| shown.contains(*id)) {
            self.store.hash_delete(ORPHANS_KEY, id).await?;
        }
        for id in failures.keys().filter(|id| !shown.contains(*id)) {
            self.store.hash_delete(FAILURES_KEY, id).await?;
            changed = true;
        }
        let expired: Vec<&String> = pictures
            .keys()
            .filter(|id| !shown.contains(*id))
            .filter(|id| match orphans.get(*id) {
                Some(since) => now - *since >= retention,
                None => false,
            })
            .collect();
        for id in pictures.keys().filter(|id| !shown.contains(*id)) {
            if !orphans.contains_key(id) {
                let json = serde_json::to_vec(&now).unwrap_or_default();
                self.store
                    .hash_set(ORPHANS_KEY, id, &json, RECORDS_TTL)
                    .await?;
            }
        }
        if !expired.is_empty() {
            // A copy another kept picture also uses (identical pictures) stays.
            let keep: HashSet<super::AssetKey> = pictures
                .iter()
                .filter(|(id, _)| !expired.contains(id))
                .flat_map(|(_, r)| r.copies.iter().map(|c| c.key))
                .collect();
            for id in &expired {
                self.delete_copies(&pictures[*id], &keep).await;
                self.store.hash_delete(PICTURES_KEY, id).await?;
                self.store.hash_delete(ORPHANS_KEY, id).await?;
            }
            tracing::info!(
                pictures = expired.len(),
                "deleted re-hosted pictures no snapshot shows any more"
            );
            changed = true;
        }
        if changed {
            self.store.incr(VERSION_KEY, RECORDS_TTL).await?;
        }
        Ok(())
    }

    /// Failed pictures are tried again now; returns how many.
    pub async fn retry_failed(&self) -> Result<usize, StoreError> {
        let failed = self.store.hash_get_all(FAILURES_KEY).await?.len();
        self.store.delete(FAILURES_KEY).await?;
        self.store.incr(VERSION_KEY, RECORDS_TTL).await?;
        let local = {
            let mut state = self.state();
            let local = state.failures.len();
            state.failures.clear();
            local
        };
        self.wake.notify_one();
        Ok(failed.max(local))
    }

    pub fn status(&self) -> AssetStatus {
        let state = self.state();
        let (mut ready, mut pending, mut failed) = (0, 0, 0);
        if let Some(wanted) = &state.wanted {
            let mut seen = HashSet::new();
            for source in wanted.iter().filter(|s| seen.insert(s.id.as_str())) {
                if state.records.contains_key(&source.id) {
                    ready += 1;
                } else if state.failures.contains_key(&source.id)
                    && !state.running.contains(&source.id)
                {
                    failed += 1;
                } else {
                    pending += 1;
                }
            }
        }
        AssetStatus {
            enabled: true,
            store: self.storage.kind(),
            ready,
            pending,
            failed,
            bytes: state.records.values().map(PictureRecord::bytes).sum(),
        }
    }

    fn update_gauges(&self) {
        let status = self.status();
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.metrics.assets_pending.set(gauge(status.pending));
        self.metrics.assets_failed.set(gauge(status.failed));
        self.metrics
            .assets_bytes
            .set(i64::try_from(status.bytes).unwrap_or(i64::MAX));
    }
}

/// The pipeline when re-hosting is on, for the admin endpoints.
#[derive(Clone)]
pub struct Assets {
    pipeline: Option<Arc<Pipeline>>,
    store: &'static str,
}

impl Assets {
    pub fn new(pipeline: Option<Arc<Pipeline>>, storage: &AssetStorage) -> Self {
        Self {
            pipeline,
            store: storage.kind(),
        }
    }

    pub fn status(&self) -> AssetStatus {
        self.pipeline.as_ref().map_or(
            AssetStatus {
                enabled: false,
                store: self.store,
                ready: 0,
                pending: 0,
                failed: 0,
                bytes: 0,
            },
            |p| p.status(),
        )
    }

    /// Failed pictures are tried again now; returns how many (0 when re-hosting is off).
    pub async fn retry_failed(&self) -> Result<usize, StoreError> {
        match &self.pipeline {
            Some(pipeline) => pipeline.retry_failed().await,
            None => Ok(0),
        }
    }
}

/// The readable entries of a hash; an unreadable one is skipped (rewritten when redone).
fn parse_all<T: serde::de::DeserializeOwned>(
    entries: Vec<(String, Vec<u8>)>,
) -> HashMap<String, T> {
    entries
        .into_iter()
        .filter_map(|(id, bytes)| Some((id, serde_json::from_slice(&bytes).ok()?)))
        .collect()
}
