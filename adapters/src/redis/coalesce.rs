//! One Redis request for many identical asks: during a reconnect storm,
//! thousands of clients resume after the same `Last-Event-ID`, and each
//! distinct (stream, ID) is read once.
//!
//! An answer is reused for a short while after it came (what a replay
//! reads after an ID only grows, and the replay goes on from where the
//! answer ends, so an answer a second old is still a correct start).

use core::future::Future;
use core::hash::Hash;
use core::time::Duration;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::hub::topic::lock;

/// One ask: the cell its answer goes in, and when the answer came.
type Ask<V> = (Arc<OnceCell<V>>, Option<Instant>);

/// Requests in flight, by what they ask.
pub(crate) struct Coalesce<K, V> {
    /// Each ask's cell, and when its answer came.
    inflight: Mutex<HashMap<K, Ask<V>>>,
    /// How long an answer is reused.
    reuse: Duration,
}

impl<K: Hash + Eq + Clone, V: Clone> Coalesce<K, V> {
    pub(crate) fn new(reuse: Duration) -> Coalesce<K, V> {
        Coalesce {
            inflight: Mutex::new(HashMap::new()),
            reuse,
        }
    }

    /// The answer to `key`: from the request in flight for it if there is
    /// one, else from `request`, which the others asking meanwhile share.
    /// (If the task running the request is dropped, one of the waiting
    /// tasks runs its own.)
    /// An answer that `reusable` refuses (an error) is not kept for the
    /// next asks.
    pub(crate) async fn run<F>(
        &self,
        key: K,
        reusable: impl Fn(&V) -> bool,
        request: impl FnOnce() -> F,
    ) -> V
    where
        F: Future<Output = V>,
    {
        let cell = {
            let mut inflight = lock(&self.inflight);
            let now = Instant::now();
            // Answers too old go, and asks every asker left (no holder but
            // the map, no answer yet).
            inflight.retain(|_, (cell, done)| match done {
                Some(_) => done.is_none_or_fresh(now, self.reuse),
                None => Arc::strong_count(cell) > 1 || cell.initialized(),
            });
            Arc::clone(&inflight.entry(key.clone()).or_default().0)
        };
        let value = cell.get_or_init(request).await.clone();
        let mut inflight = lock(&self.inflight);
        if let Some((c, done)) = inflight.get_mut(&key) {
            if Arc::ptr_eq(c, &cell) && done.is_none() {
                if reusable(&value) {
                    *done = Some(Instant::now());
                } else {
                    inflight.remove(&key);
                }
            }
        }
        value
    }
}

/// Whether an entry is still in flight or answered less than `reuse` ago.
trait Fresh {
    fn is_none_or_fresh(&self, now: Instant, reuse: Duration) -> bool;
}

impl Fresh for Option<Instant> {
    fn is_none_or_fresh(&self, now: Instant, reuse: Duration) -> bool {
        match self {
            None => true,
            Some(done) => now.saturating_duration_since(*done) < reuse,
        }
    }
}

#[cfg(test)]
mod tests {
    use core::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_asks_share_one_request_and_later_ones_ask_again() {
        let coalesce = Arc::new(Coalesce::<u32, u32>::new(Duration::from_millis(50)));
        let requests = Arc::new(AtomicUsize::new(0));
        let (release, wait) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (coalesce, requests, mut wait) =
                (Arc::clone(&coalesce), Arc::clone(&requests), wait.clone());
            tasks.push(tokio::spawn(async move {
                coalesce
                    .run(
                        7,
                        |_| true,
                        || async move {
                            requests.fetch_add(1, Ordering::SeqCst);
                            let _ = wait.wait_for(|go| *go).await;
                            42
                        },
                    )
                    .await
            }));
        }
        // Every task is waiting on the one cell (the map holds it too).
        loop {
            let waiting = lock(&coalesce.inflight)
                .get(&7)
                .map_or(0, |(c, _)| Arc::strong_count(c));
            if waiting == 101 {
                break;
            }
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 42);
        }
        assert_eq!(requests.load(Ordering::SeqCst), 1);
        assert_eq!(
            coalesce.run(7, |_| true, || async { 43 }).await,
            42,
            "an answer just given is reused"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            coalesce.run(7, |_| true, || async { 43 }).await,
            43,
            "an older one is not"
        );
        let refused = |v: &u32| *v != 0;
        assert_eq!(coalesce.run(8, refused, || async { 0 }).await, 0);
        assert_eq!(
            coalesce.run(8, refused, || async { 5 }).await,
            5,
            "an error is not reused"
        );
    }
}
