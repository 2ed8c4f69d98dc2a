//! One topic: its window of frames, the subscribers waiting on it, and
//! the sweep that finds subscribers who stopped reading.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use core::task::Waker;
use core::time::Duration;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{HubConfig, SlowPolicy};
use super::history::History;
use super::id::Position;
use super::ring::{Retention, Ring};
use super::stats::Counters;

/// What every topic of a hub shares: the configuration, the counters, and
/// the external history when the hub is fed from Redis.
pub(crate) struct Common {
    pub(crate) config: HubConfig,
    pub(crate) counters: Counters,
    pub(crate) history: Option<Arc<dyn History>>,
    pub(crate) next_subscriber: AtomicU64,
}

impl Common {
    pub(crate) fn retention(&self) -> Retention {
        Retention {
            events: self.config.replay_events,
            bytes: self.config.replay_bytes,
            age: self.config.replay_age,
        }
    }
}

/// Locks, going on after a panic elsewhere: every critical section below
/// leaves the data consistent at each step, so a poisoned lock holds
/// nothing half-done.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a topic's IDs come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// The hub numbers the events: `<epoch>-<sequence>`.
    Local { epoch: u64 },
    /// An external log (Redis Streams) gives each event its position.
    External,
}

/// A subscriber as the topic sees it, for the sweep.
pub(crate) struct SubShared {
    /// The sequence number of the next entry it reads.
    pub(crate) cursor: AtomicU64,
    /// The topic's byte count and the time when it subscribed: what was
    /// published before is replay, not backlog.
    pub(crate) since_bytes: u64,
    pub(crate) since_at: Instant,
    /// Set when the sweep ended it.
    pub(crate) killed: AtomicBool,
    /// Cancelled with `killed`, for the server to drop the connection.
    pub(crate) token: CancellationToken,
}

impl SubShared {
    /// How far behind a subscriber at `cursor` is: bytes unread, and the
    /// age of the oldest unread event, both counted from when it
    /// subscribed. `None` when it fell out of the window.
    pub(crate) fn backlog(
        &self,
        ring: &Ring,
        cursor: u64,
        now: Instant,
    ) -> Option<(u64, Duration)> {
        let entry = ring.get(cursor)?;
        let bytes = ring.end_bytes() - entry.start.max(self.since_bytes).min(ring.end_bytes());
        let age = now.saturating_duration_since(entry.at.max(self.since_at));
        Some((bytes, age))
    }
}

/// The window and the subscriber registry, under one lock.
pub(crate) struct State {
    pub(crate) ring: Ring,
    pub(crate) subscribers: HashMap<u64, Arc<SubShared>>,
    last_sweep: Instant,
    /// Where frames are encoded: each is split off it, so frames share one
    /// allocation of [`ARENA`] bytes until it is full (a retained frame
    /// keeps its whole block alive, at most `ARENA` more than the window).
    arena: BytesMut,
}

/// The size of the blocks frames are encoded into.
pub(crate) const ARENA: usize = 16 * 1024;

struct Waiters {
    wakers: Vec<Waker>,
    spare: Vec<Waker>,
    /// Counts the times `wakers` was emptied: a subscriber whose waker went
    /// in at the current generation is still registered.
    generation: u64,
}

/// One topic.
pub(crate) struct Topic {
    pub(crate) name: Arc<str>,
    pub(crate) kind: Kind,
    pub(crate) common: Arc<Common>,
    pub(crate) state: Mutex<State>,
    /// `state.ring.head()`, readable without the lock.
    head: AtomicU64,
    waiters: Mutex<Waiters>,
    pub(crate) subscribers: AtomicUsize,
    /// The unread bytes of this topic's subscribers, as of the last sweep.
    pub(crate) backlog_bytes: AtomicU64,
}

impl Topic {
    pub(crate) fn new(name: Arc<str>, kind: Kind, base: Position, common: Arc<Common>) -> Topic {
        Topic {
            name,
            kind,
            common,
            state: Mutex::new(State {
                ring: Ring::new(base),
                subscribers: HashMap::new(),
                last_sweep: Instant::now(),
                arena: BytesMut::new(),
            }),
            head: AtomicU64::new(0),
            waiters: Mutex::new(Waiters {
                wakers: Vec::new(),
                spare: Vec::new(),
                generation: 0,
            }),
            subscribers: AtomicUsize::new(0),
            backlog_bytes: AtomicU64::new(0),
        }
    }

    pub(crate) fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Appends a frame under the lock, with the frame made by `encode`
    /// from the entry's sequence number (so that a hub ID can name it),
    /// then wakes the waiting subscribers. `None` when `key` is not above
    /// the newest key (an external entry seen twice).
    pub(crate) fn push(
        &self,
        key: impl FnOnce(u64) -> Position,
        encode: impl FnOnce(Position, &mut BytesMut) -> Bytes,
        own_id: Option<Bytes>,
    ) -> Option<Position> {
        let now = Instant::now();
        let retention = self.common.retention();
        let position;
        {
            let mut state = lock(&self.state);
            let seq = state.ring.head();
            let key = key(seq);
            if key <= state.ring.last_key() {
                return None;
            }
            let frame = encode(key, &mut state.arena);
            Counters::add(&self.common.counters.published, 1);
            Counters::add(&self.common.counters.published_bytes, frame.len() as u64);
            state.ring.push(frame, key, own_id, now, retention);
            self.head.store(state.ring.head(), Ordering::Release);
            position = key;
            if now.saturating_duration_since(state.last_sweep) >= self.common.config.sweep_interval
            {
                state.last_sweep = now;
                self.sweep(&state, now);
            }
        }
        self.wake_all();
        Some(position)
    }

    /// Evicts what has aged out of the window, without a publish.
    pub(crate) fn expire(&self, now: Instant) {
        let mut state = lock(&self.state);
        let retention = self.common.retention();
        state.ring.evict(now, retention);
        self.sweep(&state, now);
        state.last_sweep = now;
    }

    /// Finds subscribers past their backlog bounds that are not reading
    /// (a reading one handles its own bounds) and, under
    /// [`SlowPolicy::Disconnect`], ends them and cancels their token. Also
    /// sums every subscriber's backlog for the stats.
    fn sweep(&self, state: &State, now: Instant) {
        let config = &self.common.config;
        let head = state.ring.head();
        let mut total = 0;
        for sub in state.subscribers.values() {
            let cursor = sub.cursor.load(Ordering::Relaxed);
            if cursor >= head {
                continue;
            }
            let over = match sub.backlog(&state.ring, cursor, now) {
                Some((bytes, age)) => {
                    total += bytes;
                    bytes > config.max_backlog_bytes || age > config.max_backlog_age
                }
                None => true,
            };
            if over && config.slow_policy == SlowPolicy::Disconnect {
                if !sub.killed.swap(true, Ordering::AcqRel) {
                    Counters::add(&self.common.counters.disconnected_stalled, 1);
                    Counters::add(&self.common.counters.disconnected_slow, 1);
                }
                // Also one that its own read ended and that is still here:
                // its `retry:` hint is stuck behind a client that stopped
                // reading since, and only the server can drop it.
                sub.token.cancel();
            }
        }
        self.backlog_bytes.store(total, Ordering::Relaxed);
    }

    /// Registers `waker` to be woken by the next push, unless `*registered`
    /// says the same waker is registered already. Returns whether an entry
    /// is there to read after all (then nothing needs to wait).
    pub(crate) fn register(
        &self,
        cursor: u64,
        waker: &Waker,
        registered: &mut Option<(u64, Waker)>,
    ) -> bool {
        let mut waiters = lock(&self.waiters);
        // Checked under the waiters' lock: a push stores the head before it
        // takes this lock to wake, so either this sees the new head or the
        // push sees this waker.
        if self.head() > cursor {
            return true;
        }
        let current = waiters.generation;
        let fresh = match registered {
            Some((generation, old)) => *generation != current || !old.will_wake(waker),
            None => true,
        };
        if fresh {
            waiters.wakers.push(waker.clone());
            *registered = Some((current, waker.clone()));
        }
        false
    }

    /// Takes back the waker a dropped subscription registered, so that a
    /// quiet topic's list does not grow with every connection that comes
    /// and goes.
    pub(crate) fn unregister(&self, registered: &Option<(u64, Waker)>) {
        let Some((generation, waker)) = registered else {
            return;
        };
        let mut waiters = lock(&self.waiters);
        if waiters.generation != *generation {
            return; // woken and emptied since
        }
        if let Some(index) = waiters.wakers.iter().position(|w| w.will_wake(waker)) {
            waiters.wakers.swap_remove(index);
        }
    }

    /// Ends every subscriber (their streams end with the retry hint, their
    /// tokens are cancelled): the topic lost events they would have
    /// needed, and their reconnection is answered with a gap. Returns how
    /// many.
    pub(crate) fn end_all(&self) -> u64 {
        let mut ended = 0;
        {
            let state = lock(&self.state);
            for sub in state.subscribers.values() {
                if !sub.killed.swap(true, Ordering::AcqRel) {
                    ended += 1;
                }
                sub.token.cancel();
            }
        }
        Counters::add(&self.common.counters.gaps_too_old, ended);
        self.wake_all();
        ended
    }

    /// Wakes every registered subscriber, reusing the list's storage.
    pub(crate) fn wake_all(&self) {
        let mut wakers = {
            let mut waiters = lock(&self.waiters);
            if waiters.wakers.is_empty() {
                return;
            }
            waiters.generation += 1;
            let spare = core::mem::take(&mut waiters.spare);
            core::mem::replace(&mut waiters.wakers, spare)
        };
        for waker in wakers.drain(..) {
            waker.wake();
        }
        let mut waiters = lock(&self.waiters);
        if waiters.spare.capacity() < wakers.capacity() {
            waiters.spare = wakers;
        }
    }
}
