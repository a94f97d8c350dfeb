//! The account registry: one unit (token service + feed) per account in the store, built and
//! dropped as operators add and delete accounts on any replica.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::error::AccountError;
use super::pictures::PictureHub;
use super::record::{ACCOUNTS_KEY, ACCOUNTS_VERSION_KEY, AccountRecord};
use super::slug::Slug;
use crate::assets::Images;
use crate::auth::{
    self, OAuthStates, TokenCipher, TokenRepository, TokenService, TokenServiceConfig,
};
use crate::config::FeedSettings;
use crate::feed::{Feed, FeedEvents, ResponseCache};
use crate::instagram::{InstagramClient, Login};
use crate::metrics::{AccountMetrics, Metrics};
use crate::store::{Inserted, Store, StoreError};
use crate::webhooks::Events;

/// Syncs the scheduler starts per second, at most.
const SYNC_STARTS_PER_TICK: usize = 4;

/// The version counter outlives any outage; it is only compared, never trusted as a count.
const VERSION_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// One connected (or to-be-connected) Instagram account.
pub struct Account {
    pub slug: Slug,
    /// As stored; the default account's is replaced by the stored one at the first reload.
    record: RwLock<AccountRecord>,
    pub tokens: Arc<TokenService>,
    pub feed: Arc<Feed>,
    /// Its series of the metrics with an `account` label.
    pub metrics: AccountMetrics,
    /// What its feed shows, told to the picture hub; stopped with the account.
    pictures_task: JoinHandle<()>,
    /// The token refresh, started once the store has been read (after the upgrade copy, so
    /// its first check finds the copied token); stopped with the account.
    refresher: Mutex<Option<JoinHandle<()>>>,
}

impl Account {
    fn start_refresher(&self, interval: Duration) {
        let mut slot = self.refresher.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(auth::spawn_refresher(self.tokens.clone(), interval));
        }
    }

    pub fn record(&self) -> AccountRecord {
        self.record
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        self.pictures_task.abort();
        if let Some(task) = self
            .refresher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

/// What every account's unit is built from.
pub struct AccountParts {
    pub store: Store,
    pub cipher: Arc<TokenCipher>,
    pub client: Arc<InstagramClient>,
    pub states: Arc<OAuthStates>,
    pub token_config: TokenServiceConfig,
    pub token_check_interval: Duration,
    pub feed: FeedSettings,
    pub metrics: Arc<Metrics>,
    /// Every account's ready responses, bounded together.
    pub cache: ResponseCache,
    /// Webhook events: the feeds and token services emit theirs.
    pub events: Events,
    /// `webhooks.sync_failing_after_secs`.
    pub sync_failing_after: Duration,
}

type Units = BTreeMap<Slug, Arc<Account>>;

pub struct Accounts {
    parts: AccountParts,
    default: Slug,
    max: usize,
    units: RwLock<Arc<Units>>,
    /// The default account's unit: built first and never replaced (a reload keeps it), so the
    /// single-account routes reach it without the lock and the map.
    default_unit: OnceLock<Arc<Account>>,
    /// [`ACCOUNTS_VERSION_KEY`] as last read (`None`: never read).
    seen_version: Mutex<Option<Option<Vec<u8>>>>,
    /// Where the scheduler's next round starts.
    schedule_round: AtomicUsize,
    /// Serializes reloads, so two never build the same account twice.
    reloading: tokio::sync::Mutex<()>,
    pictures: Arc<PictureHub>,
    /// The asset pipeline's finished pictures, for feeds built later.
    images: watch::Sender<Arc<Images>>,
}

impl Accounts {
    /// The default account is there from the start, before the store has been read (and
    /// whatever it holds): the single-account routes always have an account to serve.
    pub fn new(parts: AccountParts, default: Slug, max: usize) -> Arc<Self> {
        let pictures = Arc::new(PictureHub::new(Some(default.clone())));
        let accounts = Arc::new(Self {
            parts,
            default,
            max,
            units: RwLock::default(),
            default_unit: OnceLock::new(),
            seen_version: Mutex::default(),
            schedule_round: AtomicUsize::new(0),
            reloading: tokio::sync::Mutex::const_new(()),
            pictures,
            images: watch::Sender::new(Arc::new(Images::new())),
        });
        let unit = accounts.build(
            accounts.default.clone(),
            AccountRecord {
                label: None,
                created_at: Utc::now(),
                login: Login::Instagram,
            },
        );
        *accounts.units.write().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(Units::from([(accounts.default.clone(), unit.clone())]));
        let _ = accounts.default_unit.set(unit);
        accounts
    }

    fn units(&self) -> Arc<Units> {
        self.units.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn default_slug(&self) -> &Slug {
        &self.default
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// The account `slug`; the hot path of every feed read (a read lock and a map lookup).
    pub fn get(&self, slug: &str) -> Option<Arc<Account>> {
        let units = self.units.read().unwrap_or_else(|p| p.into_inner());
        units.get(slug).cloned()
    }

    pub fn find(&self, slug: &str) -> Result<Arc<Account>, AccountError> {
        self.get(slug)
            .ok_or_else(|| AccountError::NotFound(slug.to_owned()))
    }

    /// The account the single-account routes (`/images`, `/admin/status`, ...) serve.
    pub fn default_account(&self) -> Result<Arc<Account>, AccountError> {
        self.default_unit
            .get()
            .cloned()
            .ok_or_else(|| AccountError::NotFound(self.default.to_string()))
    }

    /// Every account, by slug.
    pub fn all(&self) -> Vec<Arc<Account>> {
        self.units().values().cloned().collect()
    }

    /// Every account's ready responses.
    pub fn response_cache(&self) -> &ResponseCache {
        &self.parts.cache
    }

    pub fn pictures(&self) -> &Arc<PictureHub> {
        &self.pictures
    }

    /// New finished pictures from the asset pipeline: every feed shows them.
    pub fn set_images(&self, images: Arc<Images>) {
        self.images.send_replace(images.clone());
        for account in self.units().values() {
            account.feed.set_images(images.clone());
        }
    }

    /// Registers the default account if it is not (every start: `/images` always has one).
    pub async fn ensure_default(&self) -> Result<(), StoreError> {
        let record = AccountRecord {
            label: None,
            created_at: Utc::now(),
            login: Login::Instagram,
        };
        let json = serde_json::to_vec(&record).unwrap_or_default();
        let inserted = self
            .parts
            .store
            .hash_insert_bounded(ACCOUNTS_KEY, self.default.as_str(), &json, usize::MAX)
            .await?;
        if inserted == Inserted::Inserted {
            self.bump_version().await?;
        }
        Ok(())
    }

    /// Adds an account (not connected yet) that connects through `login`.
    pub async fn create(
        &self,
        slug: Slug,
        label: Option<String>,
        login: Login,
    ) -> Result<Arc<Account>, AccountError> {
        if login == Login::Facebook && self.parts.client.facebook().is_none() {
            return Err(crate::auth::AuthError::FacebookNotConfigured.into());
        }
        let record = AccountRecord {
            label,
            created_at: Utc::now(),
            login,
        };
        let json = serde_json::to_vec(&record).unwrap_or_default();
        match self
            .parts
            .store
            .hash_insert_bounded(ACCOUNTS_KEY, slug.as_str(), &json, self.max)
            .await?
        {
            Inserted::Inserted => {}
            Inserted::Exists => return Err(AccountError::Exists(slug.to_string())),
            Inserted::Full => return Err(AccountError::Full(self.max)),
        }
        self.bump_version().await?;
        self.reload().await?;
        self.find(slug.as_str())
    }

    /// Removes `slug` from the registry (its data is purged by the caller first).
    pub async fn remove(&self, slug: &Slug) -> Result<(), StoreError> {
        self.parts
            .store
            .hash_delete(ACCOUNTS_KEY, slug.as_str())
            .await?;
        self.bump_version().await?;
        self.reload().await
    }

    async fn bump_version(&self) -> Result<(), StoreError> {
        self.parts
            .store
            .incr(ACCOUNTS_VERSION_KEY, VERSION_TTL)
            .await
            .map(drop)
    }

    /// Makes the units match the store's accounts: builds the new ones, drops the deleted.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reloading.lock().await;
        let stored = self.parts.store.hash_get_all(ACCOUNTS_KEY).await?;
        let current = self.units();
        let mut next = Units::new();
        for (slug, json) in stored {
            let Ok(slug) = Slug::parse(&slug) else {
                tracing::warn!(slug, "ignoring a stored account with an invalid slug");
                continue;
            };
            let record = serde_json::from_slice::<AccountRecord>(&json).unwrap_or(AccountRecord {
                label: None,
                created_at: DateTime::<Utc>::UNIX_EPOCH,
                login: Login::Instagram,
            });
            let unit = match current.get(&slug) {
                Some(unit) => {
                    *unit.record.write().unwrap_or_else(|p| p.into_inner()) = record;
                    unit.clone()
                }
                None => self.build(slug.clone(), record),
            };
            next.insert(slug, unit);
        }
        if !next.contains_key(&self.default)
            && let Some(unit) = current.get(&self.default)
        {
            next.insert(self.default.clone(), unit.clone());
        }
        for unit in next.values() {
            unit.start_refresher(self.parts.token_check_interval);
        }
        for slug in current.keys().filter(|s| !next.contains_key(*s)) {
            tracing::info!(account = %slug, "account deleted; its background work stops");
            self.parts.metrics.forget_account(slug.as_str());
            self.pictures.show(slug, None);
        }
        *self.units.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(())
    }

    fn build(&self, slug: Slug, record: AccountRecord) -> Arc<Account> {
        let p = &self.parts;
        let store = p.store.scoped(&slug.scope());
        let tokens = Arc::new(TokenService::new(
            slug.clone(),
            record.login,
            TokenRepository::new(store.clone(), p.cipher.clone()),
            p.states.clone(),
            p.client.clone(),
            store.clone(),
            p.token_config.clone(),
            p.events.clone(),
        ));
        let metrics = p.metrics.account(slug.as_str());
        let feed = Feed::new(
            store,
            tokens.clone(),
            p.client.clone(),
            p.feed.clone(),
            metrics.clone(),
            p.cache.clone(),
            FeedEvents::new(slug.clone(), p.events.clone(), p.sync_failing_after),
        );
        feed.set_images(self.images.borrow().clone());
        let pictures_task = tokio::spawn(follow_pictures(
            slug.clone(),
            feed.wanted(),
            self.pictures.clone(),
        ));
        tracing::debug!(account = %slug, "account loaded");
        Arc::new(Account {
            slug,
            record: RwLock::new(record),
            tokens,
            feed,
            metrics,
            pictures_task,
            refresher: Mutex::new(None),
        })
    }

    /// The version poll, for every account in one store round trip: the accounts' version,
    /// each feed's meta and each curation's revision. The accounts are reloaded when their version moved; each feed reads
    /// its snapshot only when its meta says it changed.
    pub async fn poll(&self) -> Result<(), StoreError> {
        let units = self.units();
        let mut keys = Vec::with_capacity(2 * units.len() + 1);
        keys.push(ACCOUNTS_VERSION_KEY.to_owned());
        for slug in units.keys() {
            keys.push(format!("{}{}", slug.scope(), crate::feed::META_KEY));
            keys.push(format!("{}{}", slug.scope(), crate::curation::REVISION_KEY));
        }
        let mut values = self.parts.store.get_many(&keys).await?.into_iter();
        let version = values.next().flatten();
        let moved = {
            let mut seen = self.seen_version.lock().unwrap_or_else(|p| p.into_inner());
            let moved = seen.as_ref() != Some(&version);
            *seen = Some(version);
            moved
        };
        for account in units.values() {
            let (meta, curation) = (values.next().flatten(), values.next().flatten());
            // The curation first: a new snapshot is installed with the current one.
            if let Err(e) = account.feed.take_curation_revision(curation).await {
                tracing::debug!(account = %account.slug, error = %e, "version poll could not read a curation");
            }
            if let Err(e) = account.feed.take_meta(meta).await {
                tracing::debug!(account = %account.slug, error = %e, "version poll could not read a snapshot");
            }
        }
        if moved {
            self.reload().await?;
        }
        Ok(())
    }

    /// Starts the syncs that are due (once a second), at most [`SYNC_STARTS_PER_TICK`] at a
    /// time: after an outage or a restart, a hundred due accounts are synced over half a
    /// minute rather than all at once, and stay spread out afterwards (each is due an interval
    /// after its own last sync). Each tick starts the round one account further, so none waits
    /// behind the others for long.
    pub async fn schedule(&self) {
        let units = self.units();
        if units.is_empty() {
            return;
        }
        let offset = self.schedule_round.fetch_add(1, Ordering::Relaxed) % units.len();
        let mut started = 0;
        for account in units.values().cycle().skip(offset).take(units.len()) {
            if account.feed.sync_if_due().await {
                started += 1;
                if started == SYNC_STARTS_PER_TICK {
                    break;
                }
            }
        }
    }
}

/// Tells the picture hub what `slug`'s feed shows, and when its media was purged.
async fn follow_pictures(
    slug: Slug,
    mut wanted: watch::Receiver<crate::assets::Wanted>,
    hub: Arc<PictureHub>,
) {
    let mut purges = wanted.borrow().purges;
    loop {
        let current = wanted.borrow_and_update().clone();
        if current.purges > purges {
            purges = current.purges;
            hub.purge(&slug);
        }
        hub.show(&slug, current.sources);
        if wanted.changed().await.is_err() {
            return;
        }
    }
}

/// The registry's loops: the version poll (every `feed.version_poll_ms`) and the sync
/// scheduler (every second), each one task for all accounts.
pub fn spawn_account_tasks(accounts: Arc<Accounts>, version_poll: Duration) {
    let poller = accounts.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(version_poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = poller.poll().await {
                tracing::debug!(error = %e, "version poll could not reach the store");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            accounts.schedule().await;
        }
    });
}
