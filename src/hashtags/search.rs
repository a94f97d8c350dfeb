//! Public hashtag search for accounts connected through Facebook Login: the budget checked
//! before Meta is called, each (account, tag, order) fetched once and served from memory like
//! the feed (coalesced, stale-while-revalidate, stale-if-error), shared through the store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};

use super::budget::{Admitted, Budget, BudgetError, BudgetUsage, Spender};
use super::error::HashtagError;
use super::ids::HashtagIds;
use super::results::{Outcome, PageSpec, TagResults};
use super::tag::Hashtag;
use crate::accounts::{Account, PictureHub};
use crate::assets::{Images, PictureSource};
use crate::auth::{AuthError, TokenService, UsableToken};
use crate::feed::{Freshness, Media, Rendered, Served};
use crate::instagram::{HashtagOrder, InstagramClient, Login, UpstreamError};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Meta pages hashtag media by 50 at most.
const PAGE_LIMIT: usize = 50;
/// Results are kept in the store this long: a week-old page beats an error (stale-if-error).
const RESULTS_TTL: Duration = Duration::from_secs(7 * 86_400);
/// One replica fetches a tag at a time; the others wait this long for its result.
const LOCK_TTL: Duration = Duration::from_secs(60);
const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_POLL: Duration = Duration::from_millis(100);
/// After a failed refresh, stale results are served this long before the next attempt.
const FAILURE_BACKOFF: Duration = Duration::from_secs(60);
/// Rendered pages of every tag together.
const PAGES_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// What [`PublicSearch`] reads from the configuration.
#[derive(Debug, Clone)]
pub struct PublicSearchSettings {
    pub weekly_budget: usize,
    pub operator_reserve: usize,
    /// Empty: any tag.
    pub allowed: Vec<Hashtag>,
    pub refresh: Duration,
    pub max_items: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ResultKey {
    slug: Box<str>,
    tag: Hashtag,
    order: HashtagOrder,
}

impl ResultKey {
    /// The results in the store, shared by replicas.
    fn store_key(&self) -> String {
        self.key("hashtags")
    }

    /// Held by the replica fetching them.
    fn lock_key(&self) -> String {
        self.key("lock:hashtags")
    }

    fn key(&self, kind: &str) -> String {
        format!(
            "acct:{}:{kind}:{}:{}",
            self.slug,
            self.order.as_str(),
            self.tag
        )
    }
}

/// What this replica holds for one key.
struct Held {
    results: Arc<TagResults>,
    /// The last refresh failed with this status; no new attempt before `retry_at`.
    failed: Option<(u16, Instant)>,
}

type Fetch = Shared<BoxFuture<'static, Result<Arc<TagResults>, Arc<HashtagError>>>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    key: ResultKey,
    fetched_at: i64,
    spec: PageSpec,
    /// Of the re-hosted pictures the page was rendered with.
    images: u64,
}

pub struct PublicSearch {
    store: Store,
    client: Arc<InstagramClient>,
    budget: Budget,
    ids: HashtagIds,
    settings: PublicSearchSettings,
    metrics: Arc<Metrics>,
    held: Mutex<HashMap<ResultKey, Held>>,
    inflight: Mutex<HashMap<ResultKey, Fetch>>,
    pages: moka::sync::Cache<PageKey, Rendered>,
    /// Told which pictures the held results show, to re-host them.
    pictures: Arc<PictureHub>,
    /// The pipeline's finished pictures, with a generation for the page cache's keys.
    images: RwLock<(u64, Arc<Images>)>,
}

/// What warming a tag did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Warmed {
    /// The tag, normalized.
    #[schema(example = "coffee")]
    pub tag: String,
    /// Posts now cached for `order=top`.
    pub top: usize,
    /// Posts now cached for `order=recent` (the last 24 hours).
    pub recent: usize,
    pub budget: BudgetUsage,
}

impl PublicSearch {
    /// `store`: unscoped.
    pub fn new(
        store: Store,
        client: Arc<InstagramClient>,
        settings: PublicSearchSettings,
        metrics: Arc<Metrics>,
        pictures: Arc<PictureHub>,
    ) -> Arc<Self> {
        Arc::new(Self {
            budget: Budget::new(
                store.clone(),
                super::budget::BudgetSettings {
                    weekly_budget: settings.weekly_budget,
                    operator_reserve: settings.operator_reserve,
                },
            ),
            ids: HashtagIds::new(store.clone()),
            store,
            client,
            settings,
            metrics,
            held: Mutex::default(),
            inflight: Mutex::default(),
            pages: moka::sync::Cache::builder()
                .max_capacity(PAGES_MAX_BYTES)
                .weigher(|_, value: &Rendered| {
                    u32::try_from(value.weight() + 256).unwrap_or(u32::MAX)
                })
                .build(),
            pictures,
            images: RwLock::new((0, Arc::new(Images::new()))),
        })
    }

    /// New finished pictures from the asset pipeline: pages rendered from now on show them.
    pub fn set_images(&self, images: Arc<Images>) {
        let mut current = self.images.write().unwrap_or_else(|p| p.into_inner());
        *current = (current.0 + 1, images);
    }

    pub fn max_items(&self) -> usize {
        self.settings.max_items
    }

    /// A visitor's search: the page `spec` of `tag`'s posts in `order`, for `account`.
    pub async fn search(
        self: &Arc<Self>,
        account: &Account,
        tag: &Hashtag,
        order: HashtagOrder,
        spec: PageSpec,
    ) -> Result<Served, HashtagError> {
        let result = self.search_inner(account, tag, order, spec).await;
        if let Err(e) = &result
            && let Some(reason) = e.refusal_reason()
        {
            self.metrics
                .hashtag_refusals
                .with_label_values(&[reason])
                .inc();
        }
        result
    }

    async fn search_inner(
        self: &Arc<Self>,
        account: &Account,
        tag: &Hashtag,
        order: HashtagOrder,
        spec: PageSpec,
    ) -> Result<Served, HashtagError> {
        if account.tokens.login() != Login::Facebook {
            return Err(HashtagError::NotFacebook(account.slug.to_string()));
        }
        if !self.settings.allowed.is_empty() && !self.settings.allowed.contains(tag) {
            return Err(HashtagError::NotAllowed(tag.to_string()));
        }
        let key = ResultKey {
            slug: account.slug.as_str().into(),
            tag: tag.clone(),
            order,
        };
        let (results, freshness, cache_miss) =
            self.results(account, &key, Spender::Visitor).await?;
        match &results.outcome {
            Outcome::Found { .. } => {}
            Outcome::NotFound => return Err(HashtagError::NotFound(tag.to_string())),
            Outcome::Refused => return Err(HashtagError::Refused(tag.to_string())),
        }
        let (generation, images) = self
            .images
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let page_key = PageKey {
            key,
            fetched_at: results.fetched_at.timestamp_millis(),
            spec,
            images: generation,
        };
        let rendered = self
            .pages
            .get_with(page_key, || results.render(&spec, &images));
        Ok(Served {
            rendered,
            freshness,
            cache_miss,
        })
    }

    /// The results of `key`: held and fresh; held but stale (a background refresh starts);
    /// or fetched now (coalesced with every other request for it).
    async fn results(
        self: &Arc<Self>,
        account: &Account,
        key: &ResultKey,
        spender: Spender,
    ) -> Result<(Arc<TagResults>, Freshness, bool), HashtagError> {
        let held = self.held(key).await;
        let now = Utc::now();
        if let Some((results, failed)) = held {
            let age = age(&results, now);
            if age < self.settings.refresh {
                return Ok((results, fresh(age), false));
            }
            let retry_due = failed.is_none_or(|(_, at)| at.elapsed() >= FAILURE_BACKOFF);
            if retry_due {
                // Stale-while-revalidate: this request is answered now.
                drop(self.fetch(account, key, spender, Some(results.fetched_at)));
            }
            return Ok((
                results,
                Freshness {
                    stale: true,
                    failed_status: failed.map(|(status, _)| status),
                    age_secs: age.as_secs(),
                },
                false,
            ));
        }
        let results = self
            .fetch(account, key, spender, None)
            .await
            .map_err(HashtagError::Fetch)?;
        let age = age(&results, Utc::now());
        Ok((results, fresh(age), true))
    }

    /// What this replica holds for `key`, else what the store has (another replica's fetch).
    async fn held(&self, key: &ResultKey) -> Option<(Arc<TagResults>, Option<(u16, Instant)>)> {
        if let Some(held) = self.held.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Some((held.results.clone(), held.failed));
        }
        let stored = self.load(key).await.ok().flatten()?;
        let results = Arc::new(stored);
        self.hold(key, results.clone());
        Some((results, None))
    }

    fn hold(&self, key: &ResultKey, results: Arc<TagResults>) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.insert(
            key.clone(),
            Held {
                results,
                failed: None,
            },
        );
        self.publish_pictures(&held, &key.slug);
    }

    /// Tells the picture hub what the results held for `slug` show.
    fn publish_pictures(&self, held: &HashMap<ResultKey, Held>, slug: &str) {
        let mut seen = HashSet::new();
        let sources: Vec<PictureSource> = held
            .iter()
            .filter(|(key, _)| &*key.slug == slug)
            .flat_map(|(_, h)| h.results.picture_sources())
            .filter(|p| seen.insert(p.id.clone()))
            .collect();
        self.pictures
            .show_public(slug, (!sources.is_empty()).then(|| Arc::new(sources)));
    }

    async fn load(&self, key: &ResultKey) -> Result<Option<TagResults>, StoreError> {
        Ok(self
            .store
            .get(&key.store_key())
            .await?
            .and_then(|json| serde_json::from_slice(&json).ok()))
    }

    /// The one fetch of `key` in flight on this replica (started if none is); it runs to the
    /// end even if every caller goes away.
    fn fetch(
        self: &Arc<Self>,
        account: &Account,
        key: &ResultKey,
        spender: Spender,
        had: Option<DateTime<Utc>>,
    ) -> Fetch {
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(fetch) = inflight.get(key) {
            return fetch.clone();
        }
        let this = self.clone();
        let tokens = account.tokens.clone();
        let slug = account.slug.to_string();
        let owned_key = key.clone();
        let fetch = async move {
            let result = this
                .fetch_now(&tokens, &slug, &owned_key, spender, had)
                .await;
            match &result {
                Ok(results) => this.hold(&owned_key, results.clone()),
                Err(e) => {
                    // A refusal (budget, unknown tag) is the answer, not a failure.
                    if e.refusal_reason().is_some() {
                        tracing::debug!(account = %slug, tag = %owned_key.tag, error = %e, "hashtag search refused");
                    } else {
                        tracing::info!(account = %slug, tag = %owned_key.tag, error = %e, "hashtag fetch failed");
                    }
                    if let Some(held) = this
                        .held
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_mut(&owned_key)
                    {
                        held.failed = Some((failed_status(e), Instant::now()));
                    }
                }
            }
            this.inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&owned_key);
            result.map_err(Arc::new)
        }
        .boxed()
        .shared();
        inflight.insert(key.clone(), fetch.clone());
        drop(inflight);
        tokio::spawn(fetch.clone());
        fetch
    }

    /// Under the store lock of `key`: the store's results if another replica just fetched
    /// them, else the budget, the hashtag id and the media walk, saved for every replica.
    async fn fetch_now(
        &self,
        tokens: &TokenService,
        slug: &str,
        key: &ResultKey,
        spender: Spender,
        had: Option<DateTime<Utc>>,
    ) -> Result<Arc<TagResults>, HashtagError> {
        let newer = |results: &TagResults| had.is_none_or(|h| results.fetched_at > h);
        let guard = match self.store.try_lock(&key.lock_key(), LOCK_TTL).await? {
            Some(guard) => guard,
            None => {
                let deadline = tokio::time::Instant::now() + LOCK_WAIT;
                while tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(LOCK_POLL).await;
                    if let Some(results) = self.load(key).await?.filter(|r| newer(r)) {
                        return Ok(Arc::new(results));
                    }
                }
                return Err(HashtagError::Busy(key.tag.to_string()));
            }
        };
        let result = async {
            if let Some(results) = self.load(key).await?
                && newer(&results)
                && age(&results, Utc::now()) < self.settings.refresh
            {
                return Ok(Arc::new(results));
            }
            let token = tokens.usable_token().await?;
            let results = self
                .fetch_upstream(tokens, slug, key, &token, spender)
                .await?;
            let json = serde_json::to_vec(&results).unwrap_or_default();
            let store_key = key.store_key();
            self.store.set(&store_key, &json, Some(RESULTS_TTL)).await?;
            // Listed, so that deleting the account deletes them.
            self.store
                .hash_put(&index_key(&key.slug), &store_key, b"")
                .await?;
            self.store
                .expire(&index_key(&key.slug), RESULTS_TTL)
                .await?;
            Ok(Arc::new(results))
        }
        .await;
        if let Err(e) = self.store.unlock(guard).await {
            tracing::debug!(error = %e, "could not release a hashtag lock; it expires on its own");
        }
        result
    }

    async fn fetch_upstream(
        &self,
        tokens: &TokenService,
        slug: &str,
        key: &ResultKey,
        token: &UsableToken,
        spender: Spender,
    ) -> Result<TagResults, HashtagError> {
        let ig_user = token.user_id.as_str();
        let admitted = self.admit(slug, ig_user, &key.tag, spender).await?;
        let outcome = match self.ids.get(&key.tag).await? {
            Some(id) => Outcome::Found { hashtag_id: id },
            None => match self
                .client
                .hashtag_id(&token.access_token, ig_user, key.tag.as_str())
                .await
            {
                Ok(Some(id)) => {
                    self.ids.put(&key.tag, &id).await?;
                    Outcome::Found { hashtag_id: id }
                }
                Ok(None) => Outcome::NotFound,
                Err(e) if is_limit_reached(&e) => {
                    return Err(self.limit_reached(slug, token, &key.tag, admitted).await);
                }
                Err(UpstreamError::Rejected { .. }) => Outcome::Refused,
                Err(e) => {
                    if matches!(admitted, Admitted::NewlyCounted)
                        && not_searched(&e)
                        && let Err(e) = self.budget.release(&token.user_id, &key.tag).await
                    {
                        tracing::warn!(account = %slug, error = %e, "could not give back a hashtag slot");
                    }
                    return Err(self.upstream_failed(tokens, token, e).await);
                }
            },
        };
        let items = match &outcome {
            Outcome::Found { hashtag_id } => match self.walk(token, hashtag_id, key.order).await {
                Ok(items) => items,
                Err(e) if is_limit_reached(&e) => {
                    return Err(self.limit_reached(slug, token, &key.tag, admitted).await);
                }
                Err(e) => return Err(self.upstream_failed(tokens, token, e).await),
            },
            Outcome::NotFound | Outcome::Refused => Vec::new(),
        };
        Ok(TagResults {
            tag: key.tag.to_string(),
            order: key.order,
            outcome,
            fetched_at: Utc::now(),
            items,
        })
    }

    /// Counts `tag` against the account's budget, or refuses it without calling Meta.
    async fn admit(
        &self,
        slug: &str,
        ig_user: &str,
        tag: &Hashtag,
        spender: Spender,
    ) -> Result<Admitted, HashtagError> {
        let admitted = self
            .budget
            .admit(ig_user, tag, spender, Utc::now())
            .await
            .map_err(|e| match e {
                BudgetError::Exhausted {
                    retry_at,
                    used,
                    limit,
                    ..
                } => HashtagError::Exhausted {
                    tag: tag.to_string(),
                    used,
                    limit,
                    retry_at,
                },
                BudgetError::Store(e) => HashtagError::Store(e),
            });
        if let Ok(usage) = self.budget.usage(ig_user, Utc::now()).await {
            self.set_gauge(slug, &usage);
        }
        admitted
    }

    /// Every page of the tag's media in `order`, up to `hashtags.max_items`.
    async fn walk(
        &self,
        token: &UsableToken,
        hashtag_id: &str,
        order: HashtagOrder,
    ) -> Result<Vec<Media>, UpstreamError> {
        let mut items: Vec<Media> = Vec::new();
        let mut after: Option<String> = None;
        let mut skipped = 0;
        while items.len() < self.settings.max_items {
            let page = self
                .client
                .hashtag_media_page(
                    &token.access_token,
                    &token.user_id,
                    hashtag_id,
                    order,
                    after.as_deref(),
                    PAGE_LIMIT,
                )
                .await?;
            let empty = page.items.is_empty();
            for body in page.items {
                match Media::from_body(body) {
                    Some(media) if !items.iter().any(|m| m.id == media.id) => items.push(media),
                    Some(_) => {}
                    None => skipped += 1,
                }
            }
            // Meta's `recent_media` repeats the same `after` on every page: a cursor seen
            // before, or no new post, ends the walk.
            match page.next_after {
                Some(next) if !empty && Some(&next) != after.as_ref() => after = Some(next),
                _ => break,
            }
        }
        if skipped > 0 {
            tracing::debug!(
                skipped,
                "hashtag media without a usable type, id or timestamp"
            );
        }
        items.truncate(self.settings.max_items);
        Ok(items)
    }

    /// Meta says the account's limit is reached although the budget admitted the tag: Meta
    /// did not count it, so neither do we; what Meta counts is read back.
    async fn limit_reached(
        &self,
        slug: &str,
        token: &UsableToken,
        tag: &Hashtag,
        admitted: Admitted,
    ) -> HashtagError {
        tracing::warn!(account = %slug, %tag, "Meta reports the hashtag limit reached; reconciling the budget");
        if matches!(admitted, Admitted::NewlyCounted)
            && let Err(e) = self.budget.release(&token.user_id, tag).await
        {
            return e.into();
        }
        if let Err(e) = self.reconcile_with(slug, token).await {
            tracing::warn!(account = %slug, error = %e, "could not reconcile the hashtag budget");
        }
        let usage = self.budget.usage(&token.user_id, Utc::now()).await;
        let (used, retry_at) = match &usage {
            Ok(usage) => (
                usage.used,
                usage
                    .tags
                    .iter()
                    .map(|t| t.expires_at)
                    .min()
                    .unwrap_or_else(|| Utc::now() + chrono::Duration::hours(1)),
            ),
            Err(_) => (
                self.settings.weekly_budget,
                Utc::now() + chrono::Duration::hours(1),
            ),
        };
        HashtagError::Exhausted {
            tag: tag.to_string(),
            used,
            limit: self.settings.weekly_budget,
            retry_at,
        }
    }

    /// An upstream failure; error 190 marks the account's token invalid.
    async fn upstream_failed(
        &self,
        tokens: &TokenService,
        token: &UsableToken,
        e: UpstreamError,
    ) -> HashtagError {
        if matches!(e, UpstreamError::TokenInvalid { .. })
            && let Err(store) = tokens.mark_invalid(&token.access_token, &e).await
        {
            tracing::debug!(error = %store, "could not mark the token invalid");
        }
        HashtagError::Upstream(e)
    }

    /// Counts what Meta counts (`recently_searched_hashtags`): on connect, and when Meta
    /// reports the limit. Returns how many tags were added.
    pub async fn reconcile(&self, account: &Account) -> Result<usize, HashtagError> {
        if account.tokens.login() != Login::Facebook {
            return Err(HashtagError::NotFacebook(account.slug.to_string()));
        }
        let token = account.tokens.usable_token().await?;
        self.reconcile_with(account.slug.as_str(), &token).await
    }

    async fn reconcile_with(&self, slug: &str, token: &UsableToken) -> Result<usize, HashtagError> {
        let ids = self
            .client
            .recently_searched_hashtags(&token.access_token, &token.user_id)
            .await?;
        let names = self.ids.names(&ids).await?;
        let added = self
            .budget
            .reconcile(&token.user_id, &ids, &names, Utc::now())
            .await?;
        if let Ok(usage) = self.budget.usage(&token.user_id, Utc::now()).await {
            self.set_gauge(slug, &usage);
        }
        if added > 0 {
            tracing::info!(account = %slug, added, "hashtags Meta counts were added to the budget");
        }
        Ok(added)
    }

    /// The account's budget: used, left, and each counted tag with its expiry.
    pub async fn usage(&self, account: &Account) -> Result<BudgetUsage, HashtagError> {
        if account.tokens.login() != Login::Facebook {
            return Err(HashtagError::NotFacebook(account.slug.to_string()));
        }
        let status = account.tokens.status().await?;
        let Some(user_id) = status.user_id else {
            return Err(AuthError::NoToken.into());
        };
        let mut usage = self.budget.usage(&user_id, Utc::now()).await?;
        self.set_gauge(account.slug.as_str(), &usage);
        for counted in &mut usage.tags {
            if counted.hashtag_id.is_none()
                && let Some(tag) = counted.tag.as_deref().and_then(|t| Hashtag::parse(t).ok())
            {
                counted.hashtag_id = self.ids.get(&tag).await?;
            }
        }
        Ok(usage)
    }

    /// An operator's search of `tag` (both orders), on the whole budget (the reserve
    /// included) and whatever `hashtags.allowed` says.
    pub async fn warm(
        self: &Arc<Self>,
        account: &Account,
        tag: &Hashtag,
    ) -> Result<Warmed, HashtagError> {
        if account.tokens.login() != Login::Facebook {
            return Err(HashtagError::NotFacebook(account.slug.to_string()));
        }
        let mut counts = [0usize; 2];
        for (count, order) in counts
            .iter_mut()
            .zip([HashtagOrder::Top, HashtagOrder::Recent])
        {
            let key = ResultKey {
                slug: account.slug.as_str().into(),
                tag: tag.clone(),
                order,
            };
            let (results, _, _) = self.results(account, &key, Spender::Operator).await?;
            match results.outcome {
                Outcome::Found { .. } => *count = results.items.len(),
                Outcome::NotFound => return Err(HashtagError::NotFound(tag.to_string())),
                Outcome::Refused => return Err(HashtagError::Refused(tag.to_string())),
            }
        }
        Ok(Warmed {
            tag: tag.to_string(),
            top: counts[0],
            recent: counts[1],
            budget: self.usage(account).await?,
        })
    }

    fn set_gauge(&self, slug: &str, usage: &BudgetUsage) {
        self.metrics
            .hashtag_budget_used
            .with_label_values(&[slug])
            .set(i64::try_from(usage.used).unwrap_or(i64::MAX));
    }

    /// Deletes the account's results from the store (every replica's) and what this replica
    /// holds: the account was deleted, or Meta asked to forget its user.
    pub async fn purge(&self, slug: &str) -> Result<(), StoreError> {
        self.forget(slug);
        let index = index_key(slug);
        for (key, _) in self.store.hash_get_all(&index).await? {
            self.store.delete(&key).await?;
        }
        self.store.delete(&index).await
    }

    /// Drops what this replica holds for a deleted account.
    fn forget(&self, slug: &str) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|key, _| &*key.slug != slug);
        self.publish_pictures(&held, slug);
        drop(held);
        let _ = self
            .metrics
            .hashtag_budget_used
            .remove_label_values(&[slug]);
    }
}

/// Hash of the store keys of an account's results.
fn index_key(slug: &str) -> String {
    format!("acct:{slug}:hashtags:index")
}

fn age(results: &TagResults, now: DateTime<Utc>) -> Duration {
    (now - results.fetched_at).to_std().unwrap_or_default()
}

fn fresh(age: Duration) -> Freshness {
    Freshness {
        stale: false,
        failed_status: None,
        age_secs: age.as_secs(),
    }
}

fn failed_status(e: &HashtagError) -> u16 {
    match e {
        HashtagError::Upstream(e) => e.forward_status(),
        HashtagError::Exhausted { .. } => 429,
        HashtagError::Auth(_) => 401,
        HashtagError::Fetch(e) => failed_status(e),
        _ => 502,
    }
}

/// Meta refused the call before searching (throttled, bad token, missing permission): it did
/// not count the tag, so the budget gives the slot back. Transient failures keep it counted:
/// Meta may have searched before failing.
fn not_searched(e: &UpstreamError) -> bool {
    matches!(
        e,
        UpstreamError::Throttled { .. }
            | UpstreamError::TokenInvalid { .. }
            | UpstreamError::Permission { .. }
    )
}

/// Meta's answer when the account has queried 30 hashtags in 7 days. Undocumented: code 24
/// (subcode 2207034) as observed, or a message about the hashtag limit.
fn is_limit_reached(e: &UpstreamError) -> bool {
    match e {
        UpstreamError::Rejected { code, message, .. } => {
            let message = message.to_lowercase();
            *code == Some(24)
                || (message.contains("hashtag")
                    && (message.contains("limit") || message.contains("maximum")))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_recognized_by_code_or_words() {
        let rejected = |code, message: &str| UpstreamError::Rejected {
            status: 400,
            code,
            message: message.to_owned(),
        };
        assert!(is_limit_reached(&rejected(Some(24), "(#24) whatever")));
        assert!(is_limit_reached(&rejected(
            Some(9),
            "You have reached the maximum number of hashtags"
        )));
        assert!(!is_limit_reached(&rejected(Some(100), "Invalid parameter")));
        assert!(!is_limit_reached(&UpstreamError::Throttled {
            code: Some(4),
            retry_after: None
        }));
    }
}
