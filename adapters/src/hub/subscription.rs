//! A subscriber: a position in its topic's window, read in batches, with
//! the slow-consumer policy applied as it reads.

use core::fmt;
use core::pin::Pin;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;
use sync_wrapper::SyncWrapper;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::SlowPolicy;
use super::history::HistoryFuture;
use super::id::Position;
use super::stats::Counters;
use super::topic::{lock, SubShared, Topic};
use crate::http::SseBody;

/// How many frames a subscriber takes from the window per lock.
const BATCH: usize = 32;

/// How many entries one read of an external history asks for.
pub(crate) const HISTORY_BATCH: usize = 1_000;

/// How a subscription's `Last-Event-ID` was matched, from
/// [`Subscription::resume`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resume {
    /// There was no `Last-Event-ID`: the stream starts where
    /// [`HubConfig::start`](super::HubConfig::start) says.
    Fresh,
    /// The stream resumes right after the event the `Last-Event-ID` names:
    /// every event after it, once, in order.
    Exact,
    /// The `Last-Event-ID` cannot be resumed exactly: the stream starts
    /// where [`HubConfig::start_after_gap`](super::HubConfig::start_after_gap)
    /// says, after [`HubConfig::gap_frame`](super::HubConfig::gap_frame)
    /// if there is one. Never a silent partial replay: the application
    /// sees this, and the hub counts it.
    Gap(GapReason),
}

/// Why a `Last-Event-ID` could not be resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GapReason {
    /// The events after it are no longer retained.
    TooOld,
    /// It belongs to an earlier epoch of the topic: the history it was part
    /// of is gone (the in-process hub restarted).
    OtherEpoch,
    /// It is not an ID of this topic (or one the publisher gave, no longer
    /// retained).
    Unknown,
}

impl fmt::Display for GapReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GapReason::TooOld => "the events after that id are no longer retained",
            GapReason::OtherEpoch => {
                "that id is from an earlier epoch of the topic, whose history is gone"
            }
            GapReason::Unknown => "that id is not one of this topic's",
        })
    }
}

pub(crate) enum Phase {
    Live,
    /// Reading the external history after `after`, until the window takes
    /// over.
    Fetching {
        after: Position,
        fut: Option<SyncWrapper<HistoryFuture>>,
    },
    /// The slow-consumer policy ended the stream: the `retry:` hint, then
    /// the end.
    Ending,
    Done,
}

enum Fill {
    Got,
    Empty,
    End,
}

/// One subscriber's stream of frames: the replay, then the live events.
///
/// A [`Stream`] of pre-encoded frames ([`Bytes`]), so it is the server
/// body's stream as it is: [`into_body`](Subscription::into_body) gives the
/// [`SseBody`], with heartbeats and the rest of the server side. Every
/// subscriber of a topic is handed the same `Bytes` of each frame, encoded
/// once at publish.
///
/// Dropping it (the server drops the body when the client leaves)
/// unsubscribes.
pub struct Subscription {
    pub(crate) topic: Arc<Topic>,
    pub(crate) shared: Arc<SubShared>,
    pub(crate) id: u64,
    pub(crate) cursor: u64,
    /// Entries with a key at or below are skipped: a `Last-Event-ID` ahead
    /// of what this node has read yet.
    pub(crate) skip_through: Option<Position>,
    pub(crate) batch: VecDeque<Bytes>,
    pub(crate) phase: Phase,
    pub(crate) registered: Option<(u64, Waker)>,
    pub(crate) resume: Resume,
}

impl Subscription {
    /// How the `Last-Event-ID` was matched.
    pub fn resume(&self) -> Resume {
        self.resume
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic.name
    }

    /// A token the hub cancels when it ends this subscriber for not reading
    /// at all ([`SlowPolicy::Disconnect`]). A stalled client's server does
    /// not poll its body (the socket is full), so only the server can act:
    /// drop the connection when the token is cancelled, and the client
    /// comes back with its `Last-Event-ID`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let hub = ssekit_adapters::hub::Hub::default();
    /// let subscription = hub.subscribe("news", None)?;
    /// let token = subscription.disconnect_token();
    /// // In the connection task:
    /// // tokio::select! { _ = connection => {}, _ = token.cancelled() => {} }
    /// # assert!(!token.is_cancelled());
    /// # Ok::<(), ssekit_adapters::hub::SubscribeError>(())
    /// # }).unwrap();
    /// ```
    pub fn disconnect_token(&self) -> CancellationToken {
        self.shared.token.clone()
    }

    /// The server body of this subscription: heartbeats every 15 s, and
    /// everything else [`SseBody`] offers.
    pub fn into_body(self) -> SseBody<Subscription> {
        SseBody::new(self)
    }

    /// Takes up to [`BATCH`] frames from the window, applying the
    /// slow-consumer policy first.
    fn fill(&mut self) -> Fill {
        let now = Instant::now();
        let topic = Arc::clone(&self.topic);
        let common = &topic.common;
        let config = &common.config;
        let state = lock(&topic.state);
        if self.shared.killed.load(Ordering::Acquire) {
            return Fill::End;
        }
        let ring = &state.ring;
        let head = ring.head();
        if self.cursor >= head {
            return Fill::Empty;
        }
        let over = match self.shared.backlog(ring, self.cursor, now) {
            None => true,
            Some((bytes, age)) => bytes > config.max_backlog_bytes || age > config.max_backlog_age,
        };
        if over {
            let before = self.cursor;
            match config.slow_policy {
                SlowPolicy::Disconnect => {
                    // Marked, so that a sweep before this subscription is
                    // dropped does not count it a second time.
                    if !self.shared.killed.swap(true, Ordering::AcqRel) {
                        Counters::add(&common.counters.disconnected_slow, 1);
                    }
                    return Fill::End;
                }
                SlowPolicy::KeepLatest => self.cursor = head - 1,
                SlowPolicy::DropOldest => {
                    self.cursor = self.cursor.max(ring.first());
                    while self.cursor + 1 < head {
                        match self.shared.backlog(ring, self.cursor, now) {
                            Some((bytes, age))
                                if bytes > config.max_backlog_bytes
                                    || age > config.max_backlog_age => {}
                            _ => break,
                        }
                        self.cursor += 1;
                    }
                }
            }
            Counters::add(&common.counters.dropped, self.cursor.saturating_sub(before));
        }
        let end = head.min(self.cursor + BATCH as u64);
        self.batch.reserve((end - self.cursor) as usize);
        let mut taken = 0;
        if self.skip_through.is_none() {
            // The usual case: every entry in range, copied in one go.
            let before = self.batch.len();
            self.batch
                .extend(ring.range(self.cursor, end).map(|e| e.frame.clone()));
            taken = (self.batch.len() - before) as u64;
        }
        for seq in (self.cursor + taken)..end {
            let Some(entry) = ring.get(seq) else { break };
            if let Some(skip) = self.skip_through {
                if entry.key <= skip {
                    continue;
                }
                self.skip_through = None;
            }
            self.batch.push_back(entry.frame.clone());
            taken += 1;
        }
        self.cursor = end;
        self.shared.cursor.store(end, Ordering::Relaxed);
        drop(state);
        if taken == 0 {
            // Everything was at or below `skip_through`: look again.
            return Fill::Got;
        }
        Counters::add(&common.counters.delivered, taken);
        Fill::Got
    }

    /// Moves to the window at the first entry after `after`.
    /// Moves to the window at the first entry after `after`, if the window
    /// holds everything after it: checked and done under one lock, so that
    /// no eviction comes in between. Returns whether it did.
    fn enter_window(&mut self, after: Position) -> bool {
        let state = lock(&self.topic.state);
        if after < state.ring.base() {
            return false;
        }
        self.cursor = state.ring.seq_after_key(after);
        if after > state.ring.last_key() {
            self.skip_through = Some(after);
        }
        self.shared.cursor.store(self.cursor, Ordering::Relaxed);
        drop(state);
        self.phase = Phase::Live;
        true
    }

    fn poll_fetch(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let (after, pending) = match &self.phase {
            Phase::Fetching { after, fut } => (*after, fut.is_some()),
            _ => return Poll::Ready(()),
        };
        if !pending {
            if self.enter_window(after) {
                return Poll::Ready(());
            }
            let Some(history) = self.topic.common.history.clone() else {
                // Below the window of a hub without history: cannot happen
                // (local subscriptions never fetch); end rather than skip.
                self.phase = Phase::Ending;
                return Poll::Ready(());
            };
            let read = history.after(&self.topic.name, after, HISTORY_BATCH);
            self.phase = Phase::Fetching {
                after,
                fut: Some(SyncWrapper::new(read)),
            };
        }
        let Phase::Fetching {
            fut: Some(future), ..
        } = &mut self.phase
        else {
            return Poll::Ready(());
        };
        let result = match future.get_mut().as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        self.phase = Phase::Fetching { after, fut: None };
        let topic = Arc::clone(&self.topic);
        let counters = &topic.common.counters;
        match result {
            // The history lost entries after `after` (trimmed while this
            // replay went on), or has nothing more while the window starts
            // later: the replay would have a gap. The stream ends with the
            // retry hint, and the client's reconnection is answered with
            // `Resume::Gap`.
            Ok(read) if read.gap => {
                Counters::add(&counters.gaps_too_old, 1);
                self.phase = Phase::Ending;
            }
            Ok(read) if read.entries.is_empty() => {
                if !self.enter_window(after) {
                    Counters::add(&counters.gaps_too_old, 1);
                    self.phase = Phase::Ending;
                }
            }
            Ok(read) => {
                let mut last = after;
                let mut count = 0;
                for (key, frame) in read.entries {
                    if key > last {
                        last = key;
                        // An entry that could not become an event still
                        // moves the replay on, with no frame.
                        if !frame.is_empty() {
                            self.batch.push_back(frame);
                            count += 1;
                        }
                    }
                }
                Counters::add(&counters.history_fetched, count);
                Counters::add(&counters.delivered, count);
                self.phase = Phase::Fetching {
                    after: last,
                    fut: None,
                };
            }
            Err(_) => {
                Counters::add(&counters.history_errors, 1);
                self.phase = Phase::Ending;
            }
        }
        Poll::Ready(())
    }

    fn retry_frame(&self) -> Bytes {
        let ms = self.topic.common.config.slow_retry.as_millis();
        Bytes::from(std::format!("retry: {ms}\n\n"))
    }
}

impl Stream for Subscription {
    type Item = Bytes;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        // The frames taken at the last lock: a small function of its own,
        // so that each frame does not pay for the large one below.
        if let Some(frame) = this.batch.pop_front() {
            return Poll::Ready(Some(frame));
        }
        this.poll_window(cx)
    }
}

impl Subscription {
    /// `poll_next` when the batch is empty: takes the next frames from
    /// the window, or waits.
    #[inline(never)]
    fn poll_window(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self;
        loop {
            if let Some(frame) = this.batch.pop_front() {
                return Poll::Ready(Some(frame));
            }
            match this.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::Ending => {
                    this.phase = Phase::Done;
                    return Poll::Ready(Some(this.retry_frame()));
                }
                Phase::Fetching { .. } => {
                    if this.poll_fetch(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                Phase::Live => match this.fill() {
                    Fill::Got => {}
                    Fill::End => this.phase = Phase::Ending,
                    Fill::Empty => {
                        if !this
                            .topic
                            .register(this.cursor, cx.waker(), &mut this.registered)
                        {
                            return Poll::Pending;
                        }
                    }
                },
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.topic.unregister(&self.registered);
        let mut state = lock(&self.topic.state);
        state.subscribers.remove(&self.id);
        drop(state);
        self.topic.subscribers.fetch_sub(1, Ordering::AcqRel);
        self.topic
            .common
            .counters
            .subscribers
            .fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic.name)
            .field("cursor", &self.cursor)
            .field("queued", &self.batch.len())
            .field("resume", &self.resume)
            .field("head", &self.topic.head())
            .field("skip_through", &self.skip_through)
            .field("fetching", &matches!(self.phase, Phase::Fetching { .. }))
            .finish_non_exhaustive()
    }
}

/// Frames a subscription starts with: the gap frame, or history read
/// before it was made.
pub(crate) fn preload(frames: impl IntoIterator<Item = Bytes>) -> VecDeque<Bytes> {
    // Allocated at the first frame, not before: an idle subscriber holds
    // no batch.
    let mut batch = VecDeque::new();
    batch.extend(frames);
    batch
}

/// The body needs its stream to be all three, whatever the features.
const _: () = {
    const fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<Subscription>();
};
