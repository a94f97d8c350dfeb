//! Whether the store answers, checked in the background once a second so that readiness and
//! metrics read it instantly, even while Redis is frozen (a ping then takes the whole command
//! timeout).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Store, StoreError};
use crate::metrics::Metrics;

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

pub struct StoreHealth {
    store: Store,
    metrics: Arc<Metrics>,
    state: AtomicU8,
}

impl StoreHealth {
    pub fn new(store: Store, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            store,
            metrics,
            state: AtomicU8::new(UNKNOWN),
        })
    }

    pub fn kind(&self) -> &'static str {
        self.store.kind()
    }

    /// Does the store answer? The last background check, or a check now before the first.
    pub async fn is_up(&self) -> bool {
        match self.state.load(Ordering::Relaxed) {
            UP => true,
            DOWN => false,
            _ => self.check().await.is_ok(),
        }
    }

    /// Pings the store and records the result (gauge `igw_store_up` included).
    pub async fn check(&self) -> Result<(), StoreError> {
        let result = self.store.ping().await;
        let up = result.is_ok();
        let before = self
            .state
            .swap(if up { UP } else { DOWN }, Ordering::Relaxed);
        self.metrics.store_up.set(i64::from(up));
        match (before, &result) {
            (UP | UNKNOWN, Err(e)) => {
                tracing::warn!(store = self.store.kind(), error = %e, "the store is not answering; serving from memory");
            }
            (DOWN, Ok(())) => tracing::info!(store = self.store.kind(), "the store answers again"),
            _ => {}
        }
        result
    }

    /// Checks every `interval` while the application lives.
    pub fn spawn_monitor(self: &Arc<Self>, interval: Duration) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(health) = weak.upgrade() else { return };
                // A frozen store must not stall the loop beyond its command timeout.
                let _ = health.check().await;
                drop(health);
                tokio::time::sleep(interval).await;
            }
        });
    }
}
