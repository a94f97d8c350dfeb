//! Hashtag ids: static and global at Meta (`#bluebottle` is `17843857450040591` for every app
//! and user), so they are kept without expiry and shared by every replica and account. Knowing
//! an id spares no budget (Meta counts the search call), but spares the call.

use std::collections::HashMap;

use super::tag::Hashtag;
use crate::store::{Store, StoreError};

/// Hash: tag -> id.
const IDS_KEY: &str = "hashtags:ids";
/// Hash: id -> tag, to name the ids `recently_searched_hashtags` lists.
const NAMES_KEY: &str = "hashtags:names";

pub struct HashtagIds {
    store: Store,
}

impl HashtagIds {
    /// `store`: unscoped (ids are global).
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn get(&self, tag: &Hashtag) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .hash_get(IDS_KEY, tag.as_str())
            .await?
            .and_then(|id| String::from_utf8(id).ok()))
    }

    pub async fn put(&self, tag: &Hashtag, id: &str) -> Result<(), StoreError> {
        self.store
            .hash_put(IDS_KEY, tag.as_str(), id.as_bytes())
            .await?;
        self.store
            .hash_put(NAMES_KEY, id, tag.as_str().as_bytes())
            .await
    }

    /// The tags of those of `ids` this gateway has looked up.
    pub async fn names(&self, ids: &[String]) -> Result<HashMap<String, Hashtag>, StoreError> {
        let mut names = HashMap::new();
        for id in ids {
            if let Some(tag) = self.store.hash_get(NAMES_KEY, id).await?
                && let Some(tag) = String::from_utf8(tag)
                    .ok()
                    .and_then(|t| Hashtag::parse(&t).ok())
            {
                names.insert(id.clone(), tag);
            }
        }
        Ok(names)
    }
}
