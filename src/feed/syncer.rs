//! One sync's work, without locks, state or store: a token and a media source in, a snapshot
//! out. The coordinator (`sync.rs`) decides when it runs and what becomes of its result.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::profile::Profile;
use super::snapshot::{AccountRef, Snapshot};
use crate::auth::UsableToken;
use crate::instagram::{InstagramClient, Login, MediaBody, MediaPage, ProfileBody, UpstreamError};

/// Where an account's media and profile come from: Instagram, or a test's own pages.
pub trait MediaSource: Send + Sync {
    fn media_page<'a>(
        &'a self,
        token: &'a UsableToken,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<MediaPage, UpstreamError>>;

    fn profile<'a>(
        &'a self,
        token: &'a UsableToken,
    ) -> BoxFuture<'a, Result<ProfileBody, UpstreamError>>;
}

/// Instagram Login reads `/me/...` on graph.instagram.com; Facebook Login reads
/// `/{ig-user-id}/...` on graph.facebook.com. Same shapes, same snapshot.
impl MediaSource for InstagramClient {
    fn media_page<'a>(
        &'a self,
        token: &'a UsableToken,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<MediaPage, UpstreamError>> {
        match token.login {
            Login::Instagram => Box::pin(InstagramClient::media_page(
                self,
                &token.access_token,
                after,
                limit,
            )),
            Login::Facebook => Box::pin(self.facebook_media_page(
                &token.access_token,
                &token.user_id,
                after,
                limit,
            )),
        }
    }

    fn profile<'a>(
        &'a self,
        token: &'a UsableToken,
    ) -> BoxFuture<'a, Result<ProfileBody, UpstreamError>> {
        match token.login {
            Login::Instagram => Box::pin(InstagramClient::profile(self, &token.access_token)),
            Login::Facebook => Box::pin(self.facebook_profile(&token.access_token, &token.user_id)),
        }
    }
}

/// A new snapshot, and how many media objects it left out (unusable type, id or timestamp).
pub struct Synced {
    pub snapshot: Snapshot,
    pub skipped: usize,
}

pub struct Syncer {
    source: Arc<dyn MediaSource>,
    page_size: usize,
    max_items: usize,
}

impl Syncer {
    pub fn new(source: Arc<dyn MediaSource>, page_size: usize, max_items: usize) -> Self {
        Self {
            source,
            page_size,
            max_items,
        }
    }

    /// Every page of the account's media, then its profile. A failed profile read keeps
    /// `last_profile`: the media are what matters.
    pub async fn sync(
        &self,
        token: &UsableToken,
        last_profile: Option<Profile>,
        now: DateTime<Utc>,
    ) -> Result<Synced, UpstreamError> {
        let bodies = self.fetch_all(token).await?;
        let profile = match self.source.profile(token).await {
            Ok(body) => Some(Profile::from_body(body)),
            Err(e) => {
                tracing::info!(error = %e, "could not read the account's profile; keeping the last one");
                last_profile
            }
        };
        let account = AccountRef {
            user_id: token.user_id.clone(),
            username: token.username.clone(),
        };
        let (snapshot, skipped) = Snapshot::build(account, bodies, now);
        Ok(Synced {
            snapshot: snapshot.with_profile(profile),
            skipped,
        })
    }

    /// Every page, following the cursor, up to `max_items`.
    async fn fetch_all(&self, token: &UsableToken) -> Result<Vec<MediaBody>, UpstreamError> {
        let mut items: Vec<MediaBody> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let remaining = self.max_items - items.len();
            let page = self
                .source
                .media_page(token, after.as_deref(), remaining.min(self.page_size))
                .await?;
            let empty = page.items.is_empty();
            items.extend(page.items);
            match page.next_after {
                Some(next)
                    if !empty && items.len() < self.max_items && Some(&next) != after.as_ref() =>
                {
                    after = Some(next);
                }
                _ => break,
            }
        }
        items.truncate(self.max_items);
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    /// `pages` of `per_page` posts each, the cursor of page k being `p<k>`; `repeat` makes the
    /// last page point at itself. Records the `(after, limit)` of each call.
    struct Pages {
        pages: usize,
        per_page: usize,
        repeat: bool,
        /// The profile's username; `None`: the profile read fails.
        profile: Option<&'static str>,
        calls: Mutex<Vec<(Option<String>, usize)>>,
    }

    impl Pages {
        fn new(pages: usize, per_page: usize) -> Self {
            Self {
                pages,
                per_page,
                repeat: false,
                profile: None,
                calls: Mutex::default(),
            }
        }
    }

    fn post(id: usize) -> MediaBody {
        serde_json::from_value(json!({
            "id": (17_900_000_000_000_000_u64 + id as u64).to_string(),
            "media_type": "IMAGE",
            "media_url": format!("https://cdn.example/{id}.jpg"),
            "timestamp": format!("2026-01-01T00:{:02}:{:02}+0000", id / 60 % 60, id % 60),
        }))
        .unwrap()
    }

    impl MediaSource for Pages {
        fn media_page<'a>(
            &'a self,
            _: &'a UsableToken,
            after: Option<&'a str>,
            limit: usize,
        ) -> BoxFuture<'a, Result<MediaPage, UpstreamError>> {
            self.calls
                .lock()
                .unwrap()
                .push((after.map(str::to_owned), limit));
            let k = after.map_or(0, |a| a[1..].parse::<usize>().unwrap());
            let items = (0..self.per_page.min(limit))
                .map(|i| post(k * self.per_page + i))
                .collect();
            let next_after = if k + 1 < self.pages {
                Some(format!("p{}", k + 1))
            } else if self.repeat {
                after.map(str::to_owned)
            } else {
                None
            };
            Box::pin(async move { Ok(MediaPage { items, next_after }) })
        }

        fn profile<'a>(
            &'a self,
            _: &'a UsableToken,
        ) -> BoxFuture<'a, Result<ProfileBody, UpstreamError>> {
            let result = match self.profile {
                Some(username) => Ok(serde_json::from_value(
                    json!({"user_id": "1", "username": username}),
                )
                .unwrap()),
                None => Err(UpstreamError::Transient {
                    status: 500,
                    message: "down".to_owned(),
                }),
            };
            Box::pin(async move { result })
        }
    }

    fn token() -> UsableToken {
        UsableToken {
            access_token: SecretString::from("tok"),
            user_id: "1".to_owned(),
            username: Some("acme".to_owned()),
            login: Login::Instagram,
        }
    }

    async fn run(source: Pages, page_size: usize, max_items: usize) -> (Synced, Arc<Pages>) {
        let source = Arc::new(source);
        let syncer = Syncer::new(source.clone(), page_size, max_items);
        let last = Profile::from_body(
            serde_json::from_value(json!({"user_id": "1", "username": "last"})).unwrap(),
        );
        let synced = syncer.sync(&token(), Some(last), Utc::now()).await.unwrap();
        (synced, source)
    }

    #[tokio::test]
    async fn every_page_is_read_up_to_max_items() {
        let (synced, source) = run(Pages::new(3, 10), 10, 100).await;
        assert_eq!(synced.snapshot.items.len(), 30);
        let calls = source.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            [(None, 10), (Some("p1".into()), 10), (Some("p2".into()), 10)]
        );

        let (synced, source) = run(Pages::new(5, 10), 10, 25).await;
        assert_eq!(synced.snapshot.items.len(), 25);
        assert_eq!(
            source.calls.lock().unwrap().last().unwrap().1,
            5,
            "asks for the rest only"
        );
    }

    #[tokio::test]
    async fn a_cursor_that_repeats_ends_the_sync() {
        let mut pages = Pages::new(2, 10);
        pages.repeat = true;
        let (synced, source) = run(pages, 10, 100).await;
        assert_eq!(synced.snapshot.items.len(), 20);
        assert_eq!(source.calls.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_failed_profile_read_keeps_the_last_profile() {
        let (synced, _) = run(Pages::new(1, 3), 10, 100).await;
        let profile = synced.snapshot.profile.unwrap();
        assert_eq!(profile.username.as_deref(), Some("last"));

        let mut pages = Pages::new(1, 3);
        pages.profile = Some("fresh");
        let (synced, _) = run(pages, 10, 100).await;
        assert_eq!(
            synced.snapshot.profile.unwrap().username.as_deref(),
            Some("fresh")
        );
    }
}
