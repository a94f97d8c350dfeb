//! What the asset pipeline hears from the accounts: the pictures every account's served
//! snapshot shows (one merged list), and the pictures of an account whose media was deleted.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};

use super::slug::Slug;
use crate::assets::{PictureSource, Wanted};

#[derive(Default)]
struct Shown {
    /// By slug: the merged list has a stable order.
    by_account: BTreeMap<Slug, Arc<Vec<PictureSource>>>,
    /// The public hashtag results each account holds, by slug: after every account's own.
    public: BTreeMap<String, Arc<Vec<PictureSource>>>,
    purges: u64,
}

pub struct PictureHub {
    /// Its pictures come first (each account's newest first): the pipeline works in this
    /// order, and `/images` is what most frontends show.
    first: Option<Slug>,
    shown: Mutex<Shown>,
    wanted: watch::Sender<Wanted>,
    purges: mpsc::UnboundedSender<Vec<String>>,
    purges_rx: Mutex<Option<mpsc::UnboundedReceiver<Vec<String>>>>,
}

impl PictureHub {
    pub fn new(first: Option<Slug>) -> Self {
        let (purges, purges_rx) = mpsc::unbounded_channel();
        Self {
            first,
            shown: Mutex::default(),
            wanted: watch::Sender::new(Wanted::default()),
            purges,
            purges_rx: Mutex::new(Some(purges_rx)),
        }
    }

    fn shown(&self) -> std::sync::MutexGuard<'_, Shown> {
        self.shown.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pipeline's inputs; the purge channel can be taken once.
    pub fn subscribe(
        &self,
    ) -> Option<(
        watch::Receiver<Wanted>,
        mpsc::UnboundedReceiver<Vec<String>>,
    )> {
        let purges = self
            .purges_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        Some((self.wanted.subscribe(), purges))
    }

    /// `slug`'s served snapshot shows `sources` (`None`: it holds no snapshot).
    pub fn show(&self, slug: &Slug, sources: Option<Arc<Vec<PictureSource>>>) {
        let mut shown = self.shown();
        match sources {
            Some(sources) => shown.by_account.insert(slug.clone(), sources),
            None => shown.by_account.remove(slug),
        };
        self.publish(&shown);
    }

    /// The pictures of the public hashtag results held for the account `slug` (`None`: none).
    /// Re-hosted after every account's own; the copies nobody shows any more expire with
    /// `assets.retention_days`.
    pub fn show_public(&self, slug: &str, sources: Option<Arc<Vec<PictureSource>>>) {
        let mut shown = self.shown();
        match sources {
            Some(sources) => shown.public.insert(slug.to_owned(), sources),
            None => shown.public.remove(slug),
        };
        self.publish(&shown);
    }

    /// `slug`'s media was deleted: its pictures that no other account shows go at once.
    pub fn purge(&self, slug: &Slug) {
        let mut shown = self.shown();
        let Some(sources) = shown.by_account.remove(slug) else {
            return;
        };
        let still_shown: HashSet<&str> = shown
            .by_account
            .values()
            .flat_map(|s| s.iter().map(|p| p.id.as_str()))
            .collect();
        let ids: Vec<String> = sources
            .iter()
            .filter(|p| !still_shown.contains(p.id.as_str()))
            .map(|p| p.id.clone())
            .collect();
        shown.purges += 1;
        self.publish(&shown);
        drop(shown);
        // No receiver when re-hosting is off: nothing to delete then.
        let _ = self.purges.send(ids);
    }

    /// Every account's pictures, once each; `None` until some account holds a snapshot.
    fn publish(&self, shown: &Shown) {
        let sources = (!shown.by_account.is_empty() || !shown.public.is_empty()).then(|| {
            let mut seen = HashSet::new();
            let first = self.first.as_ref().and_then(|f| shown.by_account.get(f));
            let others = shown
                .by_account
                .iter()
                .filter(|(slug, _)| Some(*slug) != self.first.as_ref())
                .map(|(_, s)| s);
            Arc::new(
                first
                    .into_iter()
                    .chain(others)
                    .chain(shown.public.values())
                    .flat_map(|s| s.iter())
                    .filter(|p| seen.insert(p.id.as_str()))
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        });
        let purges = shown.purges;
        self.wanted.send_replace(Wanted { sources, purges });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(ids: &[&str]) -> Option<Arc<Vec<PictureSource>>> {
        Some(Arc::new(
            ids.iter()
                .map(|id| PictureSource {
                    id: (*id).to_owned(),
                    url: format!("https://cdn.example/{id}.jpg"),
                })
                .collect(),
        ))
    }

    #[test]
    fn pictures_are_merged_and_a_purge_spares_what_others_show() {
        let (a, b) = (Slug::parse("a").unwrap(), Slug::parse("b").unwrap());
        let hub = PictureHub::new(Some(b.clone()));
        let (wanted, mut purges) = hub.subscribe().unwrap();
        assert!(hub.subscribe().is_none());
        hub.show(&a, sources(&["1", "2"]));
        hub.show(&b, sources(&["3", "2"]));
        let ids: Vec<String> = wanted
            .borrow()
            .sources
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.id.clone())
            .collect();
        assert_eq!(ids, ["3", "2", "1"], "the first account's first, once each");

        hub.purge(&a);
        assert_eq!(purges.try_recv().unwrap(), ["1"]);
        assert_eq!(wanted.borrow().purges, 1);
        assert_eq!(wanted.borrow().sources.as_ref().unwrap().len(), 2);
        // Nothing known of `a` any more: no second purge.
        hub.purge(&a);
        assert!(purges.try_recv().is_err());
        hub.show(&b, None);
        assert!(wanted.borrow().sources.is_none());
    }

    #[test]
    fn public_results_come_after_every_accounts_own_pictures() {
        let (a, b) = (Slug::parse("a").unwrap(), Slug::parse("b").unwrap());
        let hub = PictureHub::new(Some(a.clone()));
        let (wanted, _) = hub.subscribe().unwrap();
        hub.show_public("a", sources(&["9", "1"]));
        hub.show(&a, sources(&["1", "2"]));
        hub.show(&b, sources(&["3"]));
        let ids = || -> Vec<String> {
            wanted
                .borrow()
                .sources
                .as_ref()
                .map(|s| s.iter().map(|p| p.id.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(ids(), ["1", "2", "3", "9"]);
        hub.show(&a, None);
        hub.show(&b, None);
        assert_eq!(ids(), ["9", "1"], "public results alone still count");
        hub.show_public("a", None);
        assert!(wanted.borrow().sources.is_none());
    }
}
